"""What every use case checks of its arguments before it runs.

Front ends hand use cases whatever a request carried. Two kinds of input used to
travel far before anything refused them, and then not as a ``ContactBookError``:

* a value of the wrong type (``note=None``, a number for a name) failed deep inside
  with ``AttributeError`` or ``TypeError``;
* a NUL byte or another control character in an id, a filter or a login name
  reached the database, where PostgreSQL refuses NUL in text with a driver error.

So each argument is checked against the use case's own type hints — and the
fields of the input forms against theirs — and every string in it is checked for
control characters, before the use case runs. A refusal is a ``ValidationError``
whose ``fields`` name the argument (``note``, ``title``, ``attachments[0].filename``):
``invalid_type`` for a wrong type, ``text_control_characters`` for NUL, ESC, DEL,
the C1 controls or a lone surrogate, wherever in the arguments they are (a roster
row with a NUL refuses the import). Newlines, tabs and bidirectional overrides pass
here: the field's own text rule (one line or several, :mod:`contactbook.domain.text`)
decides about them, line by line in a roster.

The checks are what the hints say, nothing guessed from names: ``str`` takes only
``str``; ``int`` no ``bool``; an enum its members or their values as text (use
cases parse those and answer ``invalid_value``); ``BinaryIO`` anything with
``read``; a principal parameter anything (see :func:`_principal`); iterables are
checked item by item when they are collections (a generator is left to the use
case, which must not be handed a consumed one).
"""

from __future__ import annotations

import enum
import inspect
import types
import typing
from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any, BinaryIO

import attrs

from contactbook.domain.text import has_control_characters
from contactbook.errors import ValidationError
from contactbook.usecases.principals import FamilyPrincipal, StaffPrincipal

__all__ = ["ArgumentCheck", "argument_check"]

ArgumentCheck = Callable[[tuple[Any, ...], Mapping[str, Any]], None]
"""Checks the positional and keyword arguments of one call (``self`` left out)."""

_Check = Callable[[Any, str], None]
_LINE_BREAKS_AND_TABS = frozenset("\n\r\t")
"""What passes here: a browser sends a textarea's lines with CRLF; the text rules
normalise it to LF."""
_PRINCIPALS = (FamilyPrincipal, StaffPrincipal)


class _Refused(Exception):
    def __init__(self, path: str, code: str) -> None:
        self.path = path
        self.code = code


def argument_check(function: Callable[..., Any]) -> ArgumentCheck:
    """The check of ``function``'s arguments (a method: its first parameter is skipped)."""
    hints = typing.get_type_hints(function)
    parameters = list(inspect.signature(function).parameters.values())[1:]
    names = [parameter.name for parameter in parameters]
    checks = {name: _check_for(hints.get(name, Any)) for name in names}
    # A form's fields are reported by their own names (``title``, not ``draft.title``),
    # as the form's own validation and ``book.structure`` report them.
    forms = {name for name in names if _is_form(hints.get(name))}

    def check(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> None:
        name = ""
        try:
            for name, value in zip(names, args, strict=False):
                checks[name](value, name)
            for name, value in kwargs.items():
                if name in checks:
                    checks[name](value, name)
        except _Refused as refused:
            path = refused.path
            if name in forms and path.startswith(f"{name}."):
                path = path.removeprefix(f"{name}.")
            raise ValidationError(refused.code, fields={path: refused.code}) from None

    return check


def _is_form(hint: Any) -> bool:
    return isinstance(hint, type) and attrs.has(hint)


def _check_for(hint: Any) -> _Check:
    """A check of one value against ``hint``, built once per parameter."""
    if hint is Any or hint is object:
        return _any_value
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        return _union(typing.get_args(hint))
    if hint is type(None):
        return _none
    if origin is not None:
        return _generic(origin, typing.get_args(hint))
    if hint is str:
        return _text
    if hint is bool:
        return _instance(bool)
    if hint is int:
        return _integer
    if hint is BinaryIO:
        return _stream
    if isinstance(hint, type) and issubclass(hint, enum.Enum):
        return _enum(hint)
    if hint in _PRINCIPALS:
        return _principal(hint)
    if _is_form(hint):
        return _form(hint)
    if isinstance(hint, type):
        return _instance(hint)
    return _any_value


def _refuse(path: str) -> typing.NoReturn:
    raise _Refused(path, "invalid_type")


def _text(value: Any, path: str) -> None:
    if not isinstance(value, str):
        _refuse(path)
    if has_control_characters(value, _LINE_BREAKS_AND_TABS):
        raise _Refused(path, "text_control_characters")


def _any_value(value: Any, path: str) -> None:
    """Values of any type: only the text in them is checked."""
    if isinstance(value, str):
        _text(value, path)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _any_value(key, path)
            _any_value(item, f"{path}.{key}")
    elif isinstance(value, list | tuple | set | frozenset):
        for index, item in enumerate(value):
            _any_value(item, f"{path}[{index}]")


def _none(value: Any, path: str) -> None:
    if value is not None:
        _refuse(path)


def _integer(value: Any, path: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        _refuse(path)


def _stream(value: Any, path: str) -> None:
    if not callable(getattr(value, "read", None)):
        _refuse(path)


def _instance(kind: type) -> _Check:
    def check(value: Any, path: str) -> None:
        if not isinstance(value, kind):
            _refuse(path)

    return check


def _enum(kind: type[enum.Enum]) -> _Check:
    def check(value: Any, path: str) -> None:
        if isinstance(value, kind):
            return
        _text(value, path)  # a value as text: the use case parses it

    return check


def _principal(kind: type) -> _Check:
    """A principal's ids are checked like text; anything else given as a principal
    (``None``, another kind) is nobody, which the access check answers with
    ``NotFound`` like any caller without access — not as malformed input."""
    fields = _form(kind)

    def check(value: Any, path: str) -> None:
        if isinstance(value, kind):
            fields(value, path)

    return check


def _union(members: tuple[Any, ...]) -> _Check:
    checks = [_check_for(member) for member in members]

    def check(value: Any, path: str) -> None:
        refusals = []
        for member_check in checks:
            try:
                member_check(value, path)
            except _Refused as refused:
                refusals.append(refused)
            else:
                return
        # Text of the right type but with control characters says so, not "wrong type".
        raise next((r for r in refusals if r.code != "invalid_type"), refusals[0])

    return check


def _generic(origin: Any, arguments: tuple[Any, ...]) -> _Check:
    if isinstance(origin, type) and issubclass(origin, Mapping):
        key_check, value_check = (_check_for(a) for a in (arguments or (Any, Any)))

        def check_mapping(value: Any, path: str) -> None:
            if not isinstance(value, Mapping):
                _refuse(path)
            for key, item in value.items():
                key_check(key, path)
                value_check(item, f"{path}.{key}")

        return check_mapping
    if isinstance(origin, type) and issubclass(origin, Iterable):
        item_check = _check_for(arguments[0] if arguments else Any)
        if origin is tuple and arguments[1:] != (Ellipsis,):  # tuple[X, Y]: not in use cases
            item_check = _any_value

        def check_items(value: Any, path: str) -> None:
            if not isinstance(value, origin) or isinstance(value, str | bytes):
                _refuse(path)
            if isinstance(value, Collection):
                for index, item in enumerate(value):
                    item_check(item, f"{path}[{index}]")

        return check_items
    return _instance(origin) if isinstance(origin, type) else _any_value


def _form(kind: type) -> _Check:
    """An input form (an attrs class): the instance, then each field by its own hint."""
    checks: dict[str, _Check] | None = None

    def check(value: Any, path: str) -> None:
        nonlocal checks
        if not isinstance(value, kind):
            _refuse(path)
        if checks is None:  # built on first use: forms may refer to one another
            hints = typing.get_type_hints(kind)
            checks = {f.name: _check_for(hints.get(f.name, Any)) for f in attrs.fields(kind)}
        for name, field_check in checks.items():
            field_check(getattr(value, name), f"{path}.{name}")

    return check
