"""Rows ⇄ frozen domain entities, through one private cattrs ``Converter``.

SQLAlchemy's ORM cannot map frozen, slotted attrs classes, and the domain must
not know about tables anyway, so each table has a :class:`RowMapper`: the
converter unstructures an entity into plain values (identifier value objects
become their normalised text, enums their value, sets sorted lists), the mapper
flattens nested parts into columns and adds the derived columns that unique
rules and filters need; reading reverses that and lets the converter build the
entity, whose own validation runs again (except the identifiers' syntax checks:
stored text was validated when written, and email-validator per read row is the
dearest part of a list page).
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime
from types import UnionType
from typing import TYPE_CHECKING, Any, Generic, TypeVar, Union, get_origin

import cattrs

if TYPE_CHECKING:
    from sqlalchemy.engine import Result

from contactbook.domain.account import FamilyMember, OneTimeToken
from contactbook.domain.application import Grant, ServiceApplication
from contactbook.domain.audit import AuditEvent
from contactbook.domain.facility import Facility
from contactbook.domain.identifiers import (
    CallNumber,
    EmailAddress,
    MobileNumber,
    NationalId,
    PhoneNumber,
)
from contactbook.domain.inmate import Inmate
from contactbook.domain.message import Message
from contactbook.domain.notice import AgencyNotice
from contactbook.domain.post import FamilyPost
from contactbook.domain.staff import StaffMember

__all__ = [
    "ACCOUNTS",
    "APPLICATIONS",
    "AUDIT",
    "FACILITIES",
    "GRANTS",
    "INMATES",
    "MESSAGES",
    "NOTICES",
    "POSTS",
    "STAFF",
    "TOKENS",
    "RowMapper",
    "current_call_key",
    "make_converter",
    "username_key",
]

E = TypeVar("E")

_Identifier = TypeVar(
    "_Identifier", CallNumber, EmailAddress, MobileNumber, NationalId, PhoneNumber
)

_IDENTIFIERS: tuple[type[Any], ...] = (
    CallNumber,
    EmailAddress,
    MobileNumber,
    NationalId,
    PhoneNumber,
)


def _aware(value: Any, _: Any) -> datetime:
    if value.__class__ is datetime and value.tzinfo is UTC:
        return value  # as the column types hand it back: nothing to convert
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None:
        raise ValueError("naive datetime read from the database")
    return value.astimezone(UTC)


def _day(value: Any, _: Any) -> date:
    if isinstance(value, datetime):  # some drivers hand back midnight datetimes
        return value.date()
    if not isinstance(value, date):
        raise TypeError(f"expected a date, got {type(value).__name__}")
    return value


def _stored_identifier(value: Any, cls: type[_Identifier]) -> _Identifier:
    """An identifier read back as written: it was validated when the entity was made,
    so reading a page of accounts does not run email-validator once per address."""
    if not isinstance(value, str):
        raise TypeError(f"expected text for {cls.__name__}, got {type(value).__name__}")
    identifier = object.__new__(cls)
    object.__setattr__(identifier, "value", value)
    return identifier


def make_converter() -> cattrs.Converter:
    """The converter the mappers use; built once, private to this adapter."""
    converter = cattrs.Converter(detailed_validation=False)
    for identifier in _IDENTIFIERS:
        converter.register_unstructure_hook(identifier, lambda value: value.value)
        converter.register_structure_hook(identifier, _stored_identifier)
    converter.register_unstructure_hook(datetime, lambda value: value)
    converter.register_structure_hook(datetime, _aware)
    converter.register_unstructure_hook(date, lambda value: value)
    converter.register_structure_hook(date, _day)
    # StrEnum before str in the MRO: stored as the plain value, not the member.
    for base in (enum.Enum, enum.StrEnum):
        converter.register_unstructure_hook(base, lambda value: value.value)

    def sorted_list(value: frozenset[Any]) -> list[Any]:
        return sorted(converter.unstructure(item) for item in value)

    def plain_list(value: tuple[Any, ...]) -> list[Any]:
        return [converter.unstructure(item) for item in value]

    def is_frozenset(cls: Any) -> bool:
        return get_origin(cls) is frozenset or cls is frozenset

    def is_tuple(cls: Any) -> bool:
        return get_origin(cls) is tuple or cls is tuple

    converter.register_unstructure_hook_func(is_frozenset, sorted_list)
    converter.register_unstructure_hook_func(is_tuple, plain_list)
    converter.register_structure_hook_factory(_is_homogeneous_tuple, _tuple_structurer(converter))
    converter.register_structure_hook_factory(_is_optional, _optional_structurer(converter))
    return converter


def _is_optional(cls: Any) -> bool:
    arguments: tuple[Any, ...] = getattr(cls, "__args__", ())
    return get_origin(cls) in (Union, UnionType) and len(arguments) == 2 and type(None) in arguments


def _optional_structurer(
    converter: cattrs.Converter,
) -> Callable[[Any], Callable[[Any, Any], Any]]:
    """``X | None`` with the hook for ``X`` looked up once per type; cattrs' own hook
    dispatches on every value (most columns of a post or a notice are optional)."""

    def factory(cls: Any) -> Callable[[Any, Any], Any]:
        inner = next(argument for argument in cls.__args__ if argument is not type(None))
        structure_inner = converter.get_structure_hook(inner)

        def structure(value: Any, _: Any) -> Any:
            return None if value is None else structure_inner(value, inner)

        return structure

    return factory


def _is_homogeneous_tuple(cls: Any) -> bool:
    arguments: tuple[Any, ...] = getattr(cls, "__args__", ())
    return get_origin(cls) is tuple and len(arguments) == 2 and arguments[1] is Ellipsis


def _tuple_structurer(
    converter: cattrs.Converter,
) -> Callable[[Any], Callable[[Any, Any], tuple[Any, ...]]]:
    """``tuple[X, ...]`` with the hook for ``X`` looked up once per type, not per item
    and per read as cattrs' generic tuple hook does (a post's attachments, read on
    every list row)."""

    def factory(cls: Any) -> Callable[[Any, Any], tuple[Any, ...]]:
        item_type = cls.__args__[0]
        structure_item = converter.get_structure_hook(item_type)

        def structure(value: Any, _: Any) -> tuple[Any, ...]:
            return tuple([structure_item(item, item_type) for item in value])

        return structure

    return factory


_converter = make_converter()


class RowMapper(Generic[E]):
    """How one entity type becomes one row of its table and back.

    ``write`` turns the converter's plain dict into column values (flattening,
    adding derived columns) given the entity; ``read`` turns column values back
    into the dict the converter structures (nesting, dropping derived columns).
    """

    def __init__(
        self,
        entity_type: type[E],
        *,
        write: Callable[[E, dict[str, Any]], dict[str, Any]] | None = None,
        read: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
    ) -> None:
        self.entity_type = entity_type
        self._write = write
        self._read = read

    @functools.cached_property
    def _unstructure_entity(self) -> Callable[[E], dict[str, Any]]:
        """The converter's hook for the entity type, looked up once (not per write)."""
        hook: Callable[[E], dict[str, Any]] = _converter.get_unstructure_hook(self.entity_type)
        return hook

    @functools.cached_property
    def _structure_entity(self) -> Callable[[dict[str, Any], type[E]], E]:
        """The converter's hook for the entity type, looked up once (not per row)."""
        hook: Callable[[dict[str, Any], type[E]], E] = _converter.get_structure_hook(
            self.entity_type
        )
        return hook

    def to_row(self, entity: E) -> dict[str, Any]:
        data = self._unstructure_entity(entity)
        return self._write(entity, data) if self._write else data

    def from_row(self, row: Mapping[Any, Any]) -> E:
        return self._structure(dict(row))

    def _structure(self, data: dict[str, Any]) -> E:
        if self._read:
            data = self._read(data)
        return self._structure_entity(data, self.entity_type)

    def entity(self, keys: tuple[str, ...], values: Sequence[Any]) -> E:
        """One row's values, in the order of ``keys``, as an entity."""
        return self._structure(dict(zip(keys, values, strict=True)))

    def first(self, result: Result[Any], keys: tuple[str, ...] | None = None) -> E | None:
        """The first row of ``result`` as an entity, or None. ``keys``: the result's
        column names when the caller knows them (a prebuilt ``select(table)``), so
        they are not gathered from the row again."""
        row = result.first()
        if row is None:
            return None
        return self._structure(dict(zip(keys or row._fields, row, strict=True)))

    def every(self, result: Result[Any]) -> list[E]:
        """Every row of ``result``, with the column names read once, not per row
        (``dict(row._mapping)`` builds a key view for each row: ~4 µs of a list's rows)."""
        keys = tuple(result.keys())
        return [self._structure(dict(zip(keys, row, strict=True))) for row in result.all()]


def _nest(prefix: str, data: dict[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    data[prefix] = {field: data.pop(f"{prefix}_{field}") for field in fields}
    return data


def _flatten(prefix: str, data: dict[str, Any]) -> dict[str, Any]:
    for field, value in data.pop(prefix).items():
        data[f"{prefix}_{field}"] = value
    return data


def _drop(*columns: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def read(data: dict[str, Any]) -> dict[str, Any]:
        for column in columns:
            data.pop(column, None)
        return data

    return read


# --- Accounts -----------------------------------------------------------------------


def _write_account(account: FamilyMember, data: dict[str, Any]) -> dict[str, Any]:
    data["email_canonical"] = account.email.canonical
    return _flatten("consent", data)


def _read_account(data: dict[str, Any]) -> dict[str, Any]:
    data.pop("email_canonical", None)
    return _nest("consent", data, ("notice_version", "accepted_at"))


ACCOUNTS = RowMapper(FamilyMember, write=_write_account, read=_read_account)
TOKENS = RowMapper(OneTimeToken)
FACILITIES = RowMapper(Facility)

# --- Staff --------------------------------------------------------------------------


def username_key(username: str) -> str:
    """Usernames are unique and looked up without regard to case."""
    return username.casefold()


def _write_staff(member: StaffMember, data: dict[str, Any]) -> dict[str, Any]:
    data["username_key"] = username_key(member.username)
    return data


STAFF = RowMapper(StaffMember, write=_write_staff, read=_drop("username_key"))

# --- Inmates ------------------------------------------------------------------------


def current_call_key(facility_code: str, call_number: str) -> str:
    """The value of ``inmates.current_call_key`` for a current inmate."""
    return f"{facility_code}/{call_number}"


def _write_inmate(inmate: Inmate, data: dict[str, Any]) -> dict[str, Any]:
    data["current_call_key"] = (
        current_call_key(inmate.facility_code, inmate.call_number.value)
        if inmate.is_current
        else None
    )
    return data


INMATES = RowMapper(Inmate, write=_write_inmate, read=_drop("current_call_key"))
APPLICATIONS = RowMapper(ServiceApplication)
GRANTS = RowMapper(Grant)
POSTS = RowMapper(FamilyPost)

# --- Notices ------------------------------------------------------------------------


def _write_notice(notice: AgencyNotice, data: dict[str, Any]) -> dict[str, Any]:
    data["published_month"] = notice.published_month
    audience = data.pop("audience")
    data["audience_scope"] = audience["scope"]
    data["audience_facility_code"] = audience["facility_code"]
    data["audience_inmate_id"] = audience["inmate_id"]
    return data


def _read_notice(data: dict[str, Any]) -> dict[str, Any]:
    data.pop("published_month", None)
    return _nest("audience", data, ("scope", "facility_code", "inmate_id"))


NOTICES = RowMapper(AgencyNotice, write=_write_notice, read=_read_notice)
MESSAGES = RowMapper(Message)
AUDIT = RowMapper(AuditEvent)
