"""Keyset pages: lists never use OFFSET, so deep pages cost what page 1 costs."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator, Sequence
from typing import Generic, TypeVar

import attrs

from contactbook.errors import ValidationError

__all__ = ["Page", "decode_cursor", "encode_cursor"]

T = TypeVar("T")


@attrs.frozen
class Page(Generic[T]):
    """One page of a list; pass ``next_cursor`` back to get the next one."""

    items: Sequence[T]
    next_cursor: str | None = None

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)


def encode_cursor(*key: str | int) -> str:
    """An opaque cursor holding the sort key of the last row shown."""
    raw = json.dumps(list(key), separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str | None) -> tuple[str | int, ...] | None:
    if cursor is None:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError) as exc:
        raise ValidationError("invalid_cursor", fields={"cursor": "invalid_cursor"}) from exc
    if not isinstance(values, list) or not all(isinstance(v, str | int) for v in values):
        raise ValidationError("invalid_cursor", fields={"cursor": "invalid_cursor"})
    return tuple(values)
