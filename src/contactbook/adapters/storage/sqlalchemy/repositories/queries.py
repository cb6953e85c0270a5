"""Pieces the aggregates' queries share: keyset pages, IN lists, time ranges and
the files a row keeps in a JSON column."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BindParameter, ColumnElement, Select, and_, bindparam, false, or_, true

from contactbook.adapters.storage.sqlalchemy import converter as mappers
from contactbook.domain.files import StoredFile
from contactbook.ports.storage import After

__all__ = [
    "among",
    "among_bound",
    "bound_keyset_page",
    "files_in",
    "keyset_after",
    "keyset_page",
    "numbered_values",
    "page_values",
    "require_limit",
    "within",
]


def require_limit(limit: int) -> None:
    if limit < 0:
        raise ValueError(f"limit must not be negative, got {limit}")


def keyset_after(
    sort: ColumnElement[Any],
    key: ColumnElement[Any],
    after: tuple[Any, Any] | None,
    *,
    newest_first: bool,
) -> ColumnElement[bool]:
    """Rows strictly after ``after`` in ``(sort, key)`` order (descending if newest first);
    ``after`` holds values, or bound parameters (:func:`_bound_position`)."""
    if after is None:
        return true()
    when, last_key = after
    if newest_first:
        return and_(sort <= when, or_(sort < when, key < last_key))
    return and_(sort >= when, or_(sort > when, key > last_key))


def _bound_position(sort: ColumnElement[Any]) -> tuple[BindParameter[Any], BindParameter[Any]]:
    """A keyset position given at execution (``after_at``, ``after_id``), for statements
    built once."""
    return bindparam("after_at", type_=sort.type), bindparam("after_id")


def keyset_page(
    statement: Select[Any],
    sort: ColumnElement[Any],
    key: ColumnElement[Any],
    *,
    after: After,
    newest_first: bool,
    limit: int,
) -> Select[Any]:
    """``statement`` narrowed to one keyset page; rows without a sort time never show."""
    require_limit(limit)
    order = (sort.desc(), key.desc()) if newest_first else (sort.asc(), key.asc())
    return (
        statement.where(
            sort.is_not(None), keyset_after(sort, key, after, newest_first=newest_first)
        )
        .order_by(*order)
        .limit(limit)
    )


def bound_keyset_page(
    statement: Select[Any],
    sort: ColumnElement[Any],
    key: ColumnElement[Any],
    *,
    after: bool,
    newest_first: bool,
) -> Select[Any]:
    """:func:`keyset_page` for a statement built once: the position (``after_at``,
    ``after_id``, when ``after``) and ``limit`` are bound at execution
    (:func:`page_values`)."""
    if after:
        statement = statement.where(
            keyset_after(sort, key, _bound_position(sort), newest_first=newest_first)
        )
    order = (sort.desc(), key.desc()) if newest_first else (sort, key)
    return statement.order_by(*order).limit(bindparam("limit"))


def page_values(after: After, limit: int, **values: Any) -> dict[str, Any]:
    """``values`` with what :func:`bound_keyset_page` binds: ``limit`` and the position."""
    values["limit"] = limit
    if after is not None:
        values["after_at"], values["after_id"] = after
    return values


def among(column: ColumnElement[Any], values: frozenset[str] | None) -> ColumnElement[bool]:
    """``column IN values``; None means no restriction, an empty set matches nothing."""
    if values is None:
        return true()
    if not values:
        return false()
    if len(values) == 1:
        return column == next(iter(values))
    return column.in_(sorted(values))


def within(
    column: ColumnElement[Any], start: datetime | None, end: datetime | None
) -> ColumnElement[bool]:
    """``start`` inclusive, ``end`` exclusive; None leaves that side open."""
    conditions: list[ColumnElement[bool]] = []
    if start is not None:
        conditions.append(column >= start)
    if end is not None:
        conditions.append(column < end)
    return and_(true(), *conditions)


def among_bound(column: ColumnElement[Any], name: str, count: int) -> ColumnElement[bool]:
    """``column IN (:name_0, …)``: one plain parameter per value, so a statement built
    for ``count`` values is reused as is (an expanding IN renders its SQL per call)."""
    if count == 0:
        return false()
    return column.in_([bindparam(f"{name}_{n}") for n in range(count)])


def numbered_values(name: str, values: frozenset[str]) -> dict[str, str]:
    return {f"{name}_{n}": value for n, value in enumerate(sorted(values))}


_FILES = mappers.make_converter()


def files_in(value: Any) -> tuple[StoredFile, ...]:
    return tuple(_FILES.structure(value, tuple[StoredFile, ...])) if value else ()
