"""Every public use case declares whom it acts for and what it acts on.

A use case method is written as::

    @use_case(acts_for="staff", target=("post", "post_id"))
    def approve(self, staff: StaffPrincipal, post_id: str, version: int) -> PostView: ...

and the declaration, not the parameter names, decides what happens around the call:

* its arguments are checked before it runs (:mod:`.boundary`: types, control
  characters), a refusal audited as ``input.rejected``;
* the origin a front end gave on the principal (``acts_for``) is recorded with every
  audit event of the call, and a principal the call returns carries it on;
* a refusal by the access checks becomes one ``authorization.denied`` event naming the
  use case, the error code and the declared target (kind and id); an upload refused
  by inspection one ``upload.rejected`` event.

Calls nested inside a use case (one use case calling another) are neither checked
nor audited again. A test enumerates every public method of every group and fails
when one has no declaration; a declaration naming a parameter the method does not
have fails at import.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from typing import Any, ClassVar, Protocol, TypeVar

import attrs

from contactbook.domain.text import has_control_characters
from contactbook.errors import ContactBookError, UploadRejected, ValidationError
from contactbook.usecases._support.boundary import ArgumentCheck, argument_check
from contactbook.usecases._support.context import Context
from contactbook.usecases._support.recording import (
    clean_origin,
    current_origin,
    is_refusal,
    record_refusal,
    requests_from,
)
from contactbook.usecases.principals import FamilyPrincipal, StaffPrincipal

__all__ = ["UseCaseDeclaration", "UseCaseGroup", "declaration_of", "use_case"]

_log = logging.getLogger(__name__)
_depth: ContextVar[int] = ContextVar("contactbook_use_case_depth", default=0)

F = TypeVar("F", bound=Callable[..., Any])


class UseCaseGroup(Protocol):
    """A group of use cases on ``ContactBook`` (``book.posts`` …): its name, and the
    context its calls run in."""

    group: ClassVar[str]
    _ctx: Context


@attrs.frozen
class UseCaseDeclaration:
    """What a use case acts for (the parameter holding the principal, None for calls
    without one: registration, login, workers) and on (the kind of object and the
    parameter naming it, None when it acts on no one object)."""

    acts_for: str | None
    target: tuple[str, str] | None


def declaration_of(method: Callable[..., Any]) -> UseCaseDeclaration | None:
    """The declaration of a use-case method, or None when it has none."""
    found = getattr(method, "__use_case__", None)
    return found if isinstance(found, UseCaseDeclaration) else None


def use_case(
    *, acts_for: str | None = None, target: tuple[str, str] | None = None
) -> Callable[[F], F]:
    """Declare a use case (see the module docstring)."""
    declaration = UseCaseDeclaration(acts_for, target)

    def decorate(function: F) -> F:
        parameters = list(inspect.signature(function).parameters)[1:]  # without self
        if acts_for is not None and parameters[:1] != [acts_for]:
            raise TypeError(f"{function.__qualname__}: the principal {acts_for!r} comes first")
        if target is not None and target[1] not in parameters:
            raise TypeError(f"{function.__qualname__} has no parameter {target[1]!r}")
        return _declared(function, declaration, parameters)

    return decorate


def _declared(function: F, declaration: UseCaseDeclaration, parameters: list[str]) -> F:
    checks: list[ArgumentCheck] = []  # built on the first call: hints may name later types
    position = {name: index for index, name in enumerate(parameters)}

    def argument(args: tuple[Any, ...], kwargs: Mapping[str, Any], name: str | None) -> Any:
        if name is None:
            return None
        index = position[name]
        return args[index] if index < len(args) else kwargs.get(name)

    @functools.wraps(function)
    def call(self: UseCaseGroup, *args: Any, **kwargs: Any) -> Any:
        depth = _depth.get()
        if depth > 0:  # inside another use case: that one checks and audits
            return function(self, *args, **kwargs)
        ctx = self._ctx
        name = f"{self.group}.{function.__name__}"
        principal = argument(args, kwargs, declaration.acts_for)
        if not checks:
            checks.append(argument_check(function))
        try:
            checks[0](args, kwargs)
        except ValidationError as refused:
            _audit_bad_input(ctx, name, principal, refused)
            raise
        given = clean_origin(getattr(principal, "origin", "") or "")
        depth_token = _depth.set(depth + 1)
        try:
            with requests_from(given) if given else contextlib.nullcontext():
                result = function(self, *args, **kwargs)
            origin = given or current_origin()
        except ContactBookError as error:
            _audit_refusal(ctx, name, declaration, principal, args, kwargs, argument, error)
            raise
        finally:
            _depth.reset(depth_token)
        if origin and isinstance(result, FamilyPrincipal | StaffPrincipal) and not result.origin:
            result = attrs.evolve(result, origin=origin)
        return result

    call.__use_case__ = declaration  # type: ignore[attr-defined]
    return call  # type: ignore[return-value]


def _audit_refusal(
    ctx: Context,
    name: str,
    declaration: UseCaseDeclaration,
    principal: object,
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    argument: Callable[[tuple[Any, ...], Mapping[str, Any], str | None], Any],
    error: ContactBookError,
) -> None:
    """Record a refused upload, or an access check's refusal of a call for a principal."""
    target_kind, target_id = "use_case", None
    if declaration.target is not None:
        value = argument(args, kwargs, declaration.target[1])
        if isinstance(value, str):
            target_kind, target_id = declaration.target[0], value[:64]
    try:
        if isinstance(error, UploadRejected):
            details = {"use_case": name, "reason": error.reason, "filename": error.filename}
            record_refusal(ctx, principal, "upload.rejected", target_kind, target_id, details)
        elif declaration.acts_for is not None and is_refusal(error):
            details = {"use_case": name, "code": error.code}
            record_refusal(ctx, principal, "authorization.denied", target_kind, target_id, details)
    except Exception as failure:  # the caller must still see the refusal itself
        _log.warning("could not audit a refused call of %s: %s", name, type(failure).__name__)


def _audit_bad_input(ctx: Context, name: str, principal: object, error: ValidationError) -> None:
    """One ``input.rejected`` event for arguments refused before the use case ran (a
    login name with a NUL byte is a failed login like any other: it leaves a trace).
    The event names the field and the problem, never the value."""
    fields = ",".join(sorted(error.fields))[:200]
    own_id = getattr(principal, "account_id", getattr(principal, "staff_id", None))
    if not isinstance(own_id, str) or has_control_characters(own_id):
        principal = None  # a malformed principal names nobody to look up
    details = {"use_case": name, "code": error.code, "fields": fields}
    try:
        record_refusal(ctx, principal, "input.rejected", "use_case", None, details)
    except Exception as failure:  # the caller must still see the refusal itself
        _log.warning("could not audit refused input of %s: %s", name, type(failure).__name__)
