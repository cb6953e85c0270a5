"""What the mixins assert with: field coverage, keyset walks and the seven rows of
every list test, kept in one place so each list is checked the same way."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Protocol, TypeVar

import attrs

from contactbook.domain.application import ServiceApplication
from contactbook.domain.post import FamilyPost
from contactbook.ports.storage import After
from contactbook.testing.storage.builders import at

__all__ = [
    "ASCENDING",
    "DESCENDING",
    "SEVEN_TIMES",
    "assert_every_field_set",
    "ids",
    "numbered",
    "seven",
    "submitted",
    "walk",
]

E = TypeVar("E")


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


def ids(rows: Iterable[_Identified]) -> list[str]:
    return [row.id for row in rows]


def assert_every_field_set(entity: attrs.AttrsInstance) -> None:
    """Fail if a field still holds its default, so a round trip exercises every column
    (and a field added to an entity later fails here until the suite covers it)."""
    unset = [
        field.name
        for field in attrs.fields(type(entity))
        if field.default is not attrs.NOTHING and getattr(entity, field.name) == field.default
    ]
    assert not unset, f"{type(entity).__name__} round trip leaves defaults in {unset}"


def walk(
    fetch: Callable[[After, int], Sequence[E]],
    position: Callable[[E], tuple[datetime, str]],
    *,
    limit: int = 3,
) -> list[E]:
    """Every row of a keyset list, fetched page by page as a front end would."""
    rows: list[E] = []
    after: After = None
    for _ in range(100):
        page = list(fetch(after, limit))
        assert len(page) <= limit, f"a page of {len(page)} rows for limit {limit}"
        rows.extend(page)
        if len(page) < limit:
            positions = [position(row) for row in rows]
            assert len(set(positions)) == len(positions), f"a row came twice: {positions}"
            return rows
        after = position(page[-1])
    raise AssertionError("the list never ended")


SEVEN_TIMES = (at(0), at(1), at(2), at(2), at(2), at(3), at(3))
"""Sort times of rows 1–7. Ties straddle the page boundaries of ``limit=3`` in both
directions (3|4 and 6|7 ascending, 5|4 descending), so ``after`` must use the id."""

_INSERTION_ORDER = (5, 2, 7, 1, 6, 3, 4)

ASCENDING = range(1, 8)
DESCENDING = range(7, 0, -1)


def seven(build: Callable[[int, datetime], E]) -> list[E]:
    """Rows 1–7 built with their sort time, in an order matching no listing."""
    return [build(n, SEVEN_TIMES[n - 1]) for n in _INSERTION_ORDER]


def numbered(prefix: str, numbers: Iterable[int]) -> list[str]:
    return [f"{prefix}-{n}" for n in numbers]


def submitted(row: FamilyPost | ServiceApplication) -> tuple[datetime, str]:
    """The keyset position of posts and applications."""
    return row.submitted_at, row.id
