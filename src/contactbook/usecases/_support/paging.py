"""Keyset cursors for use-case lists: (sort time, id) of the last row shown."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from contactbook.domain.pagination import Page, decode_cursor, encode_cursor
from contactbook.errors import ValidationError
from contactbook.ports.storage import After

__all__ = ["MAX_LIMIT", "after_cursor", "check_limit", "page_of"]

T = TypeVar("T")
V = TypeVar("V")
MAX_LIMIT = 200


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_LIMIT:
        raise ValidationError("invalid_limit", fields={"limit": "invalid_limit"}, max=MAX_LIMIT)
    return limit


def after_cursor(cursor: str | None) -> After:
    key = decode_cursor(cursor)
    if key is None:
        return None
    try:
        moment, row_id = key
        return datetime.fromisoformat(str(moment)), str(row_id)
    except ValueError:
        raise ValidationError("invalid_cursor", fields={"cursor": "invalid_cursor"}) from None


def page_of(
    rows: Sequence[T],
    limit: int,
    key: Callable[[T], tuple[datetime, str]],
    view: Callable[[T], V],
) -> Page[V]:
    """``rows`` was fetched with ``limit + 1``: the extra row only says a next page exists."""
    shown = list(rows[:limit])
    next_cursor = None
    if len(rows) > limit and shown:
        moment, row_id = key(shown[-1])
        next_cursor = encode_cursor(moment.isoformat(), row_id)
    return Page([view(row) for row in shown], next_cursor)
