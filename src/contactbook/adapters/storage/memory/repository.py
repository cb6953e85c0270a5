"""The generic table every repository builds on.

Whatever all tables share is here once: a key and unique rules checked as a
database would, ``Conflict("duplicate")`` when one is broken, compare-and-set
(``NotFound``, ``Conflict("stale_version")``) on replace and delete, and keyset
pages. A repository extends :class:`Table`, :class:`Repository` or (most often)
:class:`VersionedRepository` and states only what is particular to it: its key
and unique rules where they differ, its look-ups and its lists.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Generic, Protocol, TypeVar

from contactbook.adapters.storage.memory.tables import Tables
from contactbook.adapters.storage.memory.transaction import Transaction
from contactbook.errors import Conflict, NotFound
from contactbook.ports.storage import After

__all__ = ["Repository", "Table", "VersionedRepository", "within"]

E = TypeVar("E")

Where = Callable[[E], bool]
"""Which rows a look-up or list keeps."""
By = Callable[[E], datetime | None]
"""The time a list sorts rows by (None: the row has no place in the list)."""


class Table(abc.ABC, Generic[E]):
    """One table as a transaction sees it. A subclass gives :meth:`_key` (abstract: a
    table without one cannot be built) and, where
    they differ from these, :meth:`_unchanged` and :meth:`_unique`; its look-ups
    and lists use the protected helpers."""

    def __init__(self, transaction: Transaction, rows: Callable[[Tables], dict[str, E]]) -> None:
        self._transaction = transaction
        self._select = rows

    @abc.abstractmethod
    def _key(self, entity: E) -> str:
        """The row's primary key in this table."""

    def _unchanged(self, stored: E, old: E) -> bool:
        """Whether the stored row is still as ``old`` was read; without a version to
        compare, it must be exactly ``old``."""
        return stored == old

    def _unique(self, entity: E) -> tuple[Hashable | None, ...]:
        """The entity's value under each unique rule, or None where a rule does not
        apply to it (e.g. an inmate who has left). Two entities clash when a rule
        gives both the same non-None value. The key itself is always unique."""
        return ()

    @property
    def _tables(self) -> Tables:
        """This transaction's tables (RuntimeError outside its ``with`` block)."""
        return self._transaction.working_tables()

    @property
    def _rows(self) -> dict[str, E]:
        """This transaction's rows of the table."""
        return self._select(self._tables)

    def _where(self, predicate: Where[E]) -> list[E]:
        return [row for row in self._rows.values() if predicate(row)]

    def _one(self, predicate: Where[E]) -> E | None:
        """The row a look-up on a unique rule finds, if any."""
        return next((row for row in self._rows.values() if predicate(row)), None)

    def _require_unique(self, entity: E, *, ignoring: str | None = None) -> None:
        values = self._unique(entity)
        for key, other in self._rows.items():
            if key != ignoring and any(
                value is not None and value == theirs
                for value, theirs in zip(values, self._unique(other), strict=True)
            ):
                raise Conflict("duplicate")

    def _require_unchanged(self, entity: E) -> None:
        """``NotFound`` if the row of ``entity`` is gone, ``Conflict`` if it changed."""
        stored = self._rows.get(self._key(entity))
        if stored is None:
            raise NotFound()
        if not self._unchanged(stored, entity):
            raise Conflict("stale_version")

    def _insert(self, entity: E) -> None:
        key = self._key(entity)
        if key in self._rows:
            raise Conflict("duplicate")
        self._require_unique(entity)
        self._rows[key] = entity
        self._transaction.mark_written()

    def _compare_and_set(self, old: E, new: E) -> None:
        """Unique rules hold for the new state too, as in a database."""
        key = self._key(old)
        if self._key(new) != key:
            raise ValueError(f"replace() keeps the key: {key!r} cannot become {self._key(new)!r}")
        self._require_unchanged(old)
        self._require_unique(new, ignoring=key)
        self._rows[key] = new
        self._transaction.mark_written()

    def _delete(self, entity: E) -> None:
        self._require_unchanged(entity)
        del self._rows[self._key(entity)]
        self._transaction.mark_written()

    def _newest(self, where: Where[E], by: By[E], *, after: After = None, limit: int) -> list[E]:
        """A keyset page in descending ``(by(row), key)`` order: see :meth:`_page`."""
        return self._page(where, by, newest_first=True, after=after, limit=limit)

    def _oldest(self, where: Where[E], by: By[E], *, after: After = None, limit: int) -> list[E]:
        """A keyset page in ascending ``(by(row), key)`` order: see :meth:`_page`."""
        return self._page(where, by, newest_first=False, after=after, limit=limit)

    def _page(
        self, where: Where[E], by: By[E], *, newest_first: bool, after: After, limit: int
    ) -> list[E]:
        """Matching rows ordered by ``(by(row), key)``, strictly after ``after``.

        Ties on the time are broken by the key in the same direction, so
        ``after`` (the last row shown) names one exact position. A row whose
        sort time is None has no position and is never listed.
        """
        if limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        positioned: list[tuple[tuple[datetime, str], E]] = []
        for row in self._where(where):
            when = by(row)
            if when is not None:
                positioned.append(((when, self._key(row)), row))
        positioned.sort(key=lambda item: item[0], reverse=newest_first)
        if after is not None:
            positioned = [
                item
                for item in positioned
                if (item[0] < after if newest_first else item[0] > after)
            ]
        return [row for _, row in positioned[:limit]]


class Repository(Table[E]):
    """``add``, ``get`` and ``replace``, which every repository but the audit trail's has."""

    def add(self, entity: E) -> None:
        self._insert(entity)

    def get(self, key: str) -> E | None:
        return self._rows.get(key)

    def replace(self, old: E, new: E) -> None:
        self._compare_and_set(old, new)


class _Row(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def version(self) -> int: ...


R = TypeVar("R", bound=_Row)


class VersionedRepository(Repository[R]):
    """The usual table: keyed by ``id``, compare-and-set on ``version``."""

    def _key(self, entity: R) -> str:
        return entity.id

    def _unchanged(self, stored: R, old: R) -> bool:
        return stored.version == old.version


def within(moment: datetime, start: datetime | None, end: datetime | None) -> bool:
    """``start`` inclusive, ``end`` exclusive; None leaves that side open."""
    return (start is None or start <= moment) and (end is None or moment < end)
