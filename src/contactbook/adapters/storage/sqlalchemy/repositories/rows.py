"""One table seen from a unit of work: fetching, inserting and compare-and-set,
with the prebuilt statements every aggregate's table shares."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Executable, Select, Table, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

from contactbook.adapters.storage.sqlalchemy.converter import RowMapper
from contactbook.adapters.storage.sqlalchemy.repositories.conflicts import (
    conflict_on_lost_race,
    is_lost_race,
    is_unique_violation,
)
from contactbook.adapters.storage.sqlalchemy.repositories.queries import keyset_page
from contactbook.errors import Conflict, NotFound
from contactbook.ports.storage import After

if TYPE_CHECKING:
    from contactbook.adapters.storage.sqlalchemy.storage import SqlAlchemyUnitOfWork

__all__ = ["Rows", "insert_statement"]

E = TypeVar("E")


@functools.cache
def _get_statement(table: Table, key: str) -> Select[Any]:
    """``SELECT * FROM table WHERE key = :key``, built once (its cache key is memoised)."""
    return select(table).where(table.c[key] == bindparam("key"))


@functools.cache
def insert_statement(table: Table, dialect: str) -> Executable:
    """The INSERT of one row of ``table``, its values bound at execution (built once).

    PostgreSQL: ``INSERT … ON CONFLICT DO NOTHING RETURNING key`` (psycopg reports no
    rowcount for it). SQLite: ``INSERT … ON CONFLICT DO NOTHING``, whose rowcount
    says whether a row went in: a RETURNING clause costs SQLite several times the
    insert itself."""
    if dialect == "postgresql":
        key = table.primary_key.columns.values()[0]
        return postgresql.insert(table).on_conflict_do_nothing().returning(key)
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing()
    return table.insert()


@functools.cache
def _versioned_update_statement(table: Table, key: str) -> Executable:
    """``UPDATE table SET … WHERE key = :old_key AND version = :old_version``; the SET
    columns are the ones given at execution (built once, compiled once per column set)."""
    return table.update().where(
        table.c[key] == bindparam("old_key"), table.c.version == bindparam("old_version")
    )


@functools.cache
def _has_unique_rule(table: Table) -> bool:
    """Whether an UPDATE of ``table`` can break a unique rule other than its key."""
    return any(c.unique for c in table.columns if not c.primary_key) or any(
        index.unique for index in table.indexes
    )


@functools.cache
def _column_keys(table: Table) -> tuple[str, ...]:
    """The result keys of ``select(table)``, in order."""
    return tuple(column.key for column in table.columns)


@functools.cache
def _table_facts(
    table: Table, key: str
) -> tuple[ColumnElement[Any], Select[Any], bool, tuple[str, ...]]:
    return table.c[key], _get_statement(table, key), _has_unique_rule(table), _column_keys(table)


class Rows(Generic[E]):
    """One table seen from a unit of work: fetching, inserting and compare-and-set."""

    def __init__(
        self, uow: SqlAlchemyUnitOfWork, table: Table, mapper: RowMapper[E], key: str = "id"
    ) -> None:
        self._uow = uow
        self.table = table
        self.mapper = mapper
        # Eleven of these are made per unit of work: what depends on the table only
        # is worked out once.
        self.key, self._get, self._guarded_updates, self.column_keys = _table_facts(table, key)

    @property
    def connection(self) -> Connection:
        return self._uow.connection

    def select(self) -> Select[Any]:
        return select(self.table)

    def one(self, statement: Select[Any]) -> E | None:
        return self.mapper.first(self.connection.execute(statement))

    def all(self, statement: Select[Any]) -> list[E]:
        return self.mapper.every(self.connection.execute(statement))

    def get(self, key: str) -> E | None:
        return self.first_of(self._get, {"key": key})

    def first_of(self, statement: Select[Any], values: Mapping[str, Any]) -> E | None:
        """The first row of a prebuilt ``select(table)`` as an entity, or None."""
        row = self._uow.statements.first_row(self.connection, statement, values)
        return None if row is None else self.mapper.entity(self.column_keys, row)

    def first_row_of(
        self, statement: Select[Any], values: Mapping[str, Any]
    ) -> Sequence[Any] | None:
        """The first row of a prebuilt SELECT as plain values, or None."""
        return self._uow.statements.first_row(self.connection, statement, values)

    def rows_of(self, statement: Select[Any], values: Mapping[str, Any]) -> Sequence[Sequence[Any]]:
        """Every row of a prebuilt SELECT as plain values (a list page's read model)."""
        return self._uow.statements.all_rows(self.connection, statement, values)

    def every_of(self, statement: Select[Any], values: Mapping[str, Any]) -> list[E]:
        """Every row of a prebuilt ``select(table)`` as entities."""
        keys, entity = self.column_keys, self.mapper.entity
        rows = self._uow.statements.all_rows(self.connection, statement, values)
        return [entity(keys, row) for row in rows]

    def run(self, statement: Executable, values: Mapping[str, Any]) -> int:
        """Run a prebuilt INSERT or UPDATE with ``values`` bound; its row count."""
        return self._uow.statements.row_count(self.connection, statement, values)

    def first_where(self, *conditions: ColumnElement[bool]) -> E | None:
        return self.one(self.select().where(*conditions).order_by(self.key).limit(1))

    def page(
        self,
        statement: Select[Any],
        sort: ColumnElement[Any],
        after: After,
        limit: int,
        *,
        newest_first: bool,
    ) -> list[E]:
        """One keyset page of ``statement`` by ``(sort, key)``."""
        return self.all(
            keyset_page(
                statement, sort, self.key, after=after, newest_first=newest_first, limit=limit
            )
        )

    def write(self, statement: Executable, values: Mapping[str, Any] | None = None) -> int:
        """Run one INSERT or UPDATE inside a SAVEPOINT and return its row count.

        A broken unique rule becomes ``Conflict("duplicate")`` with the transaction
        still usable; losing a deadlock or a serialization check becomes
        ``Conflict("stale_version")`` (the database has then given up the whole
        transaction, which the caller ends by leaving the unit of work).
        """
        savepoint = self.connection.begin_nested()
        try:
            count = self.connection.execute(statement, values).rowcount
        except DBAPIError as error:
            if is_lost_race(error):
                with contextlib.suppress(DBAPIError):
                    savepoint.rollback()
                raise Conflict("stale_version") from error
            savepoint.rollback()
            if isinstance(error, IntegrityError) and is_unique_violation(error):
                raise Conflict("duplicate") from None
            raise
        savepoint.commit()
        return count

    def _write_unguarded(
        self, statement: Executable, values: Mapping[str, Any] | None = None
    ) -> int:
        """Run one UPDATE that can break no unique rule: no SAVEPOINT round trips."""
        with conflict_on_lost_race:
            if values is None:  # a statement built for this call, its values in it
                return int(self.connection.execute(statement).rowcount)
            return self.run(statement, values)

    def add(self, entity: E) -> None:
        values = self.mapper.to_row(entity)
        connection = self.connection
        dialect = connection.dialect.name
        statement = insert_statement(self.table, dialect)
        if dialect not in ("postgresql", "sqlite"):
            self.write(statement, values)
            return
        # INSERT … ON CONFLICT DO NOTHING: a duplicate inserts no row (PostgreSQL's
        # RETURNING returns none, SQLite's rowcount is 0) and leaves the transaction
        # usable, with no SAVEPOINT and RELEASE around every insert. The statement is
        # built once; the values are bound, not baked into it.
        with conflict_on_lost_race:
            if dialect == "postgresql":
                inserted = connection.execute(statement, values).first() is not None
            else:
                inserted = self.run(statement, values) == 1
        if not inserted:
            raise Conflict("duplicate")

    def _changes(self, old: E, new: E) -> tuple[Any, dict[str, Any]]:
        """The key of ``old`` and the columns ``new`` changes (all of them if none)."""
        old_row = self.mapper.to_row(old)
        old_key = old_row[self.key.name]
        row = self.mapper.to_row(new)
        if row[self.key.name] != old_key:
            raise ValueError(
                f"replace() keeps the key: {old_key!r} cannot become {row[self.key.name]!r}"
            )
        del row[self.key.name]
        # SET only what changed: every indexed or foreign-key column in SET costs index
        # maintenance and a foreign-key check even when its value stays the same.
        changed = {name: value for name, value in row.items() if old_row.get(name) != value}
        return old_key, changed or row

    def _check_matched(self, matched: int, key: Any) -> None:
        """After a compare-and-set on the row of ``key``: ``NotFound`` when it matched no
        row because the row is gone, ``Conflict("stale_version")`` when it changed."""
        if matched == 1:
            return
        exists = self.connection.execute(select(self.key).where(self.key == key)).first()
        if exists is None:
            raise NotFound()
        raise Conflict("stale_version")

    def replace(self, old: E, new: E, guard: ColumnElement[bool]) -> None:
        """Write ``new`` over the row of ``old`` if ``guard`` still holds for it."""
        old_key, changes = self._changes(old, new)
        update = self.table.update().where(self.key == old_key, guard).values(changes)
        # A table without a unique rule beyond its key needs no SAVEPOINT round trips.
        write = self.write if self._guarded_updates else self._write_unguarded
        self._check_matched(write(update), old_key)

    def replace_version(self, old: E, new: E) -> None:
        """The usual compare-and-set: the row still has the version ``old`` was read at.

        The UPDATE is built once per table (the changed columns are bound at execution),
        so no statement is constructed or cache-keyed per call."""
        version: int = getattr(old, "version")  # noqa: B009 - every versioned entity
        old_key, changes = self._changes(old, new)
        values = {**changes, "old_key": old_key, "old_version": version}
        update = _versioned_update_statement(self.table, self.key.name)
        write = self.write if self._guarded_updates else self._write_unguarded
        self._check_matched(write(update, values), old_key)

    def remove_version(self, entity: E) -> None:
        """Delete the row of ``entity`` if it still has the version ``entity`` was read at."""
        key = self.mapper.to_row(entity)[self.key.name]
        version: int = getattr(entity, "version")  # noqa: B009 - every versioned entity
        delete = self.table.delete().where(self.key == key, self.table.c.version == version)
        self._check_matched(self.write(delete), key)
