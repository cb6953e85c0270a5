"""Transactions: snapshot isolation under one lock per storage.

A unit of work holds its storage's lock from ``__enter__`` to ``__exit__`` (so units
of work run one after another, i.e. serialisably), works on a copy of the committed
tables, and publishes its copy on ``commit()``. Entities are frozen, so a copy is
one new ``dict`` per table. Nothing here knows the repositories.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Self

from contactbook.adapters.storage.memory.tables import Tables

__all__ = ["CommittedTables", "Transaction"]


class CommittedTables:
    """The tables as last committed, shared by every unit of work of one storage.

    The lock is re-entrant so that a unit of work opened inside another on the
    same thread does not deadlock; should both write, the outer commit fails
    rather than silently overwrite the inner one's changes.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self._committed = Tables()
        self._generation = 0

    def snapshot(self) -> tuple[Tables, int]:
        """A private copy of the committed tables and the generation it was taken at."""
        with self.lock:
            return self._committed.copy(), self._generation

    def publish(self, tables: Tables, *, read_generation: int) -> None:
        """Make ``tables`` the committed ones, unless another commit came after the
        snapshot they were made from."""
        with self.lock:
            if self._generation != read_generation:
                raise RuntimeError(
                    "another unit of work committed while this one was open on the same "
                    "thread; nested units of work must not both write"
                )
            self._committed = tables
            self._generation += 1


class Transaction:
    """One transaction over a private copy of the committed tables: the part of a
    unit of work that repositories rely on (:meth:`working_tables`, :meth:`mark_written`)."""

    def __init__(self, committed: CommittedTables) -> None:
        self._shared = committed
        self._tables: Tables | None = None
        self._read_generation = 0
        self._written = False
        self._callbacks: list[Callable[[], None]] = []

    def working_tables(self) -> Tables:
        """The tables this transaction reads and writes; only inside ``with``."""
        if self._tables is None:
            raise RuntimeError(
                "this unit of work is not open: use it as `with storage.unit_of_work() as uow: ...`"
            )
        return self._tables

    def mark_written(self) -> None:
        """Note that there is something to publish (reads alone publish nothing)."""
        self._written = True

    def _start(self) -> None:
        self._tables, self._read_generation = self._shared.snapshot()
        self._written = False

    def __enter__(self) -> Self:
        if self._tables is not None:
            raise RuntimeError("this unit of work is already open; ask the storage for another")
        self._shared.lock.acquire()
        try:
            self._start()
        except BaseException:
            self._shared.lock.release()
            raise
        self._callbacks = []
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Release the storage's lock, after the rollback, to let the next unit of work in."""
        try:
            self.rollback()
        finally:
            self._tables = None
            self._shared.lock.release()

    def commit(self) -> None:
        """Publish this transaction's tables; the unit of work stays usable."""
        tables = self.working_tables()
        if self._written:
            self._shared.publish(tables, read_generation=self._read_generation)
        self._callbacks.clear()
        self._start()

    def rollback(self) -> None:
        """Discard uncommitted changes and run the ``on_rollback`` callbacks once."""
        self.working_tables()
        self._start()
        callbacks, self._callbacks = self._callbacks, []
        _run_all(callbacks)

    def on_rollback(self, callback: Callable[[], None]) -> None:
        self.working_tables()
        self._callbacks.append(callback)


def _run_all(callbacks: Sequence[Callable[[], None]]) -> None:
    """Run every callback even if some fail (each undoes something of its own),
    then raise the first failure."""
    failures: list[Exception] = []
    for callback in callbacks:
        try:
            callback()
        except Exception as exc:
            failures.append(exc)
    if failures:
        raise failures[0]
