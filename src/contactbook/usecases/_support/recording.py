"""Writing audit events into the hash chain, inside the caller's unit of work.

Besides :func:`record`, used by every use case for what it did, this module
audits what use cases *refused*, centrally: :func:`guard_group` wraps every
public method of a use-case group (``ContactBook`` does it for each group) so
that

* the request origin a front end gives (``FamilyPrincipal.origin``,
  ``StaffPrincipal.origin`` or :func:`requests_from`) is recorded with every
  event of the call;
* a refusal by the access checks — ``PermissionDenied``, or the plain
  ``NotFound`` that answers for another tenant's object — becomes one
  ``authorization.denied`` event (outcome ``failure``) naming the use case, the
  error code and the target id the call asked for;
* an upload refused by inspection becomes one ``upload.rejected`` event with the
  reason and the file's display name;
* arguments refused before the call ran (:mod:`contactbook.usecases._support.boundary`: a
  wrong type, a control character) become one ``input.rejected`` event naming the
  use case, the code and the fields.

The refused use case's own unit of work has rolled back by then, so these events
are written in a unit of work of their own. Details never hold secrets: ids,
codes and reasons only.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any, TypeVar

import attrs

from contactbook.domain.account import FamilyMember
from contactbook.domain.audit import GENESIS_HASH, AuditEvent, chain_hash
from contactbook.domain.staff import StaffMember
from contactbook.domain.text import has_control_characters
from contactbook.errors import (
    ContactBookError,
    NotFound,
    PermissionDenied,
    UploadRejected,
    ValidationError,
)
from contactbook.ports.storage import UnitOfWork
from contactbook.usecases._support.boundary import argument_check
from contactbook.usecases._support.context import Context
from contactbook.usecases.principals import FamilyPrincipal, StaffPrincipal

__all__ = [
    "ORIGIN_MAX_CHARS",
    "Actor",
    "current_origin",
    "guard_group",
    "record",
    "record_refusal",
    "requests_from",
]

Actor = FamilyMember | StaffMember | None
Principal = FamilyPrincipal | StaffPrincipal

ORIGIN_MAX_CHARS = 255
"""The ``audit.origin`` column's length; longer origins are cut."""

_log = logging.getLogger(__name__)
_origin: ContextVar[str] = ContextVar("contactbook_request_origin", default="")
_depth: ContextVar[int] = ContextVar("contactbook_use_case_depth", default=0)

F = TypeVar("F", bound=Callable[..., Any])

_PRINCIPAL_PARAMETERS = frozenset({"principal", "staff", "admin"})
"""Names the use cases give the acting principal (always their first parameter)."""

_TARGET_PARAMETERS = {
    "post_id": "post",
    "rejected_id": "post",
    "application_id": "application",
    "notice_id": "notice",
    "message_id": "message",
    "account_id": "account",
    "staff_id": "staff",
    "code": "facility",
}
"""Parameters naming the object a call acts on, and that object's kind."""


def _describe(actor: Actor) -> tuple[str, str | None, str, str | None]:
    if isinstance(actor, FamilyMember):
        return "family", actor.id, "family", None
    if isinstance(actor, StaffMember):
        roles = ",".join(sorted(role.value for role in actor.roles))
        return "staff", actor.id, roles, actor.facility_code
    return "anonymous", None, "", None


def clean_origin(raw: object) -> str:
    """An origin as stored: no control characters, surrounding spaces stripped, cut."""
    text = "".join(c for c in str(raw) if unicodedata.category(c)[0] != "C").strip()
    return text[:ORIGIN_MAX_CHARS]


def current_origin() -> str:
    """The origin of the request being served (empty when the front end gave none)."""
    return _origin.get()


@contextlib.contextmanager
def requests_from(origin: str) -> Iterator[None]:
    """Record ``origin`` with every audit event written inside the ``with`` block
    (for calls that take no principal: registration, login, password reset …)."""
    token = _origin.set(clean_origin(origin))
    try:
        yield
    finally:
        _origin.reset(token)


def record(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    action: str,
    target_kind: str,
    target_id: str | None,
    *,
    outcome: str = "success",
    facility_code: str | None = None,
    details: Mapping[str, str] | None = None,
    actor_kind: str | None = None,
) -> AuditEvent:
    """Append one event after the current last one. Never put secrets in ``details``."""
    kind, actor_id, role, actor_facility = _describe(actor)
    link = uow.audit.last_link()
    seq, prev_hash = (link[0] + 1, link[1]) if link else (1, GENESIS_HASH)
    event = AuditEvent(
        id=f"{seq:016d}",  # sorts like seq, so events of the same instant list in order
        seq=seq,
        at=ctx.now(),
        actor_kind=actor_kind or kind,
        actor_id=actor_id,
        role=role,
        facility_code=facility_code or actor_facility,
        action=action,
        target_kind=target_kind,
        target_id=target_id,
        outcome=outcome,
        origin=_origin.get(),
        details=tuple(sorted((details or {}).items())),
        prev_hash=prev_hash,
    )
    key = ctx.settings.audit_key
    if key is not None:
        event = attrs.evolve(event, key_id=key[0])
    sealed = attrs.evolve(event, hash=chain_hash(event, key[1] if key else None))
    uow.audit.append(sealed)
    return sealed


def _actor_of(uow: UnitOfWork, principal: object) -> tuple[Actor, str | None]:
    """The entity behind ``principal`` (None when unknown) and the kind to record."""
    if isinstance(principal, FamilyPrincipal):
        return uow.accounts.get(principal.account_id), "family"
    if isinstance(principal, StaffPrincipal):
        return uow.staff.get(principal.staff_id), "staff"
    return None, None


def record_refusal(
    ctx: Context,
    principal: object,
    action: str,
    target_kind: str,
    target_id: str | None,
    details: Mapping[str, str],
) -> None:
    """One failed-outcome event in a unit of work of its own (the refused call's
    unit of work has rolled back). The actor is the principal's account or staff
    member when it exists; an unknown principal is recorded by kind only."""
    with ctx.uow() as uow:
        actor, kind = _actor_of(uow, principal)
        facility = actor.facility_code if isinstance(actor, StaffMember) else None
        record(
            ctx,
            uow,
            actor,
            action,
            target_kind,
            target_id,
            outcome="failure",
            facility_code=facility,
            details=details,
            actor_kind=kind if actor is None and kind else None,
        )
        uow.commit()


def is_refusal(error: ContactBookError) -> bool:
    """Whether an access check refused: ``PermissionDenied``, or the plain ``NotFound``
    (another tenant's object, or none). Specific look-up misses (``inmate_not_found``,
    ``facility_not_found`` …) are answers, not refusals."""
    if isinstance(error, PermissionDenied):
        return True
    return isinstance(error, NotFound) and error.code == NotFound.default_code


def _target(arguments: Mapping[str, Any]) -> tuple[str, str | None]:
    for name, kind in _TARGET_PARAMETERS.items():
        value = arguments.get(name)
        if isinstance(value, str):
            return kind, value[:64]
    return "use_case", None


def _guarded(ctx: Context, use_case: str, method: F, function: Callable[..., Any]) -> F:
    signature = inspect.signature(function)
    check_arguments = argument_check(function)
    parameters = list(signature.parameters)[1:]  # without self
    principal_parameter = (
        parameters[0] if parameters and parameters[0] in _PRINCIPAL_PARAMETERS else None
    )

    def bound(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Mapping[str, Any]:
        try:
            return signature.bind_partial(None, *args, **kwargs).arguments
        except TypeError:
            return {}

    @functools.wraps(method)
    def call(*args: Any, **kwargs: Any) -> Any:
        # The principal is the first parameter: read it directly, and bind the whole
        # signature only when a refusal is audited (binding costs more than most reads).
        principal = None
        if principal_parameter is not None:
            principal = args[0] if args else kwargs.get(principal_parameter)
        given = clean_origin(getattr(principal, "origin", "") or "")
        origin_token = _origin.set(given) if given else None
        depth = _depth.get()
        if depth == 0:
            try:
                check_arguments(args, kwargs)
            except ValidationError as refused:
                _audit_bad_input(ctx, use_case, principal, refused)
                raise
        depth_token = _depth.set(depth + 1)
        try:
            result = method(*args, **kwargs)
        except ContactBookError as error:
            if depth == 0:
                arguments = bound(args, kwargs)
                _audit_refusal(ctx, use_case, principal_parameter, principal, arguments, error)
            raise
        finally:
            _depth.reset(depth_token)
            if origin_token is not None:
                _origin.reset(origin_token)
        origin = given or _origin.get()
        if origin and isinstance(result, FamilyPrincipal | StaffPrincipal) and not result.origin:
            result = attrs.evolve(result, origin=origin)
        return result

    return call  # type: ignore[return-value]


def _audit_refusal(
    ctx: Context,
    use_case: str,
    principal_parameter: str | None,
    principal: object,
    arguments: Mapping[str, Any],
    error: ContactBookError,
) -> None:
    """Record a refused upload, or an access check's refusal of a call for a principal."""
    target_kind, target_id = _target(arguments)
    try:
        if isinstance(error, UploadRejected):
            record_refusal(
                ctx,
                principal,
                "upload.rejected",
                target_kind,
                target_id,
                {"use_case": use_case, "reason": error.reason, "filename": error.filename},
            )
        elif principal_parameter is not None and is_refusal(error):
            record_refusal(
                ctx,
                principal,
                "authorization.denied",
                target_kind,
                target_id,
                {"use_case": use_case, "code": error.code},
            )
    except Exception as failure:  # the caller must still see the refusal itself
        _log.warning("could not audit a refused call of %s: %s", use_case, type(failure).__name__)


def _audit_bad_input(
    ctx: Context, use_case: str, principal: object, error: ValidationError
) -> None:
    """One ``input.rejected`` event for arguments refused before the use case ran (a
    login name with a NUL byte is a failed login like any other: it leaves a trace).
    The event names the field and the problem, never the value."""
    fields = ",".join(sorted(error.fields))[:200]
    own_id = getattr(principal, "account_id", getattr(principal, "staff_id", None))
    if not isinstance(own_id, str) or has_control_characters(own_id):
        principal = None  # a malformed principal names nobody to look up
    try:
        record_refusal(
            ctx,
            principal,
            "input.rejected",
            "use_case",
            None,
            {"use_case": use_case, "code": error.code, "fields": fields},
        )
    except Exception as failure:  # the caller must still see the refusal itself
        _log.warning("could not audit refused input of %s: %s", use_case, type(failure).__name__)


def guard_group(ctx: Context, name: str, group: object) -> None:
    """Wrap every public method of ``group`` (see the module docstring). Calls nested
    inside a guarded call are not audited again."""
    for method_name, function in inspect.getmembers(type(group), inspect.isfunction):
        if method_name.startswith("_"):
            continue
        method = getattr(group, method_name)
        setattr(group, method_name, _guarded(ctx, f"{name}.{method_name}", method, function))
