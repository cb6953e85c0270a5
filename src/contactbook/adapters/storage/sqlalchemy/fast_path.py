"""Everything in the SQL storage that relies on SQLAlchemy's internals, behind one switch.

Two shortcuts, on unless switched off:

* **Prebuilt statements on the driver.** SQLAlchemy's work around each execution
  (the compiled-cache lookup, an execution context, parameter and result objects)
  costs 20–60 µs per statement: as much as SQLite itself needs for a keyed read,
  an insert or a compare-and-set update, and most of the client's CPU in a short
  list page on PostgreSQL. The unit of work's hottest statements are built once
  (``functools.cache`` in the repositories), so they are also *compiled* once here,
  per dialect and set of given values, with SQLAlchemy's own compiler and the column
  types' own bind and result processors; each execution is then the processors and
  one ``execute`` on the connection SQLAlchemy manages (its documented DBAPI
  connection), inside the transaction SQLAlchemy began. Only where nothing else is
  lost: SQLite and PostgreSQL through psycopg, and only while the engine has no
  cursor-execute or error event listeners, does not log SQL (``echo``) and has no
  execution options: tracing, SQL logging and ``handle_error`` hooks see every
  statement exactly as before. Driver errors are raised as SQLAlchemy's exception
  classes (``IntegrityError`` …), wrapped the way SQLAlchemy wraps them, parameters
  hidden as the engine says; a lost server connection is invalidated as SQLAlchemy
  would, so the pool never hands it out again.
* **SQLite's BEGIN IMMEDIATE in the dialect's begin step** (``dialect.do_begin``,
  a no-op for pysqlite, replaced on the engine's own dialect) rather than the
  documented ``"begin"`` event: any connection event makes SQLAlchemy dispatch its
  execution events around every statement, a tenth of a short read.

The switch: ``SqlAlchemyStorage(url, fast_path=False)`` (also
:meth:`~contactbook.adapters.storage.sqlalchemy.SqlAlchemyStorage.from_url` and
:func:`~contactbook.adapters.storage.sqlalchemy.create_storage_engine`), or
``CONTACTBOOK_SQL_FAST_PATH=0`` in the environment when the argument is not given.
Off, the storage uses SQLAlchemy's documented API only (``Connection.execute``,
the ``"begin"`` event) with the same results: the storage contract runs both ways.
What is used here (compiler attributes, ``do_begin``, ``DBAPIError.instance``) may
change in any SQLAlchemy release; the pin in ``pyproject.toml`` names the releases
the contract passed on.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.sql import ClauseElement, Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.selectable import Select

from contactbook.adapters.storage.sqlalchemy.execution import THROUGH_SQLALCHEMY, Run, Statements

__all__ = [
    "ON_THE_DRIVER",
    "SWITCH_VARIABLE",
    "Prepared",
    "all_rows",
    "begin_immediate_in_the_dialect",
    "fast_path_enabled",
    "first_row",
    "prepared",
    "row_count",
    "runs_on_driver",
    "statements_for",
]

R = TypeVar("R")

SWITCH_VARIABLE = "CONTACTBOOK_SQL_FAST_PATH"
"""The environment variable that switches the fast path off (``0``) when no
``fast_path`` argument is given."""

_OFF = frozenset({"0", "false", "no", "off"})


def fast_path_enabled(fast_path: bool | None = None) -> bool:
    """``fast_path`` when given, else on unless ``CONTACTBOOK_SQL_FAST_PATH`` is
    ``0``, ``false``, ``no`` or ``off`` (read now, not at import)."""
    if fast_path is not None:
        return fast_path
    return os.environ.get(SWITCH_VARIABLE, "").strip().lower() not in _OFF


def begin_immediate_in_the_dialect(engine: Engine) -> None:
    """Open every transaction of this SQLite engine with ``BEGIN IMMEDIATE`` from the
    dialect's begin step (see the module doc); the engine's connect event has taken
    transaction control away from the sqlite3 module."""

    def _begin_immediate(dbapi_connection: Any) -> None:
        dbapi_connection.execute("BEGIN IMMEDIATE")

    engine.dialect.do_begin = _begin_immediate  # type: ignore[method-assign]


_Processor = Callable[[Any], Any] | None


class Prepared:
    """One statement compiled for one dialect: its SQL text, each parameter's value
    name, processor, built-in value and place (its position, or its name in the SQL
    for a named paramstyle such as psycopg's), and the result columns' processors
    (``None`` for statements that return no rows)."""

    __slots__ = ("binds", "named", "results", "sql")

    def __init__(
        self,
        sql: str,
        binds: tuple[tuple[str, _Processor, Any, bool, str], ...],
        results: tuple[_Processor, ...] | None,
        *,
        named: bool = False,
    ) -> None:
        self.sql = sql
        self.binds = binds
        self.results = results
        self.named = named

    def parameters(self, values: Mapping[str, Any]) -> list[Any] | dict[str, Any]:
        arguments = []
        for name, process, default, required, _place in self.binds:
            if name in values:
                value = values[name]
            elif required:
                raise ArgumentError(f"a value is required for bind parameter {name!r}")
            else:
                value = default
            arguments.append(value if process is None or value is None else process(value))
        if self.named:
            return {bind[4]: value for bind, value in zip(self.binds, arguments, strict=True)}
        return arguments


def runs_on_driver(connection: Connection) -> bool:
    """Whether prebuilt statements may bypass SQLAlchemy's execution layer on
    ``connection`` (see the module docstring)."""
    dialect = connection.dialect
    return (
        (dialect.name == "sqlite" or (dialect.name, dialect.driver) == ("postgresql", "psycopg"))
        and not connection.dispatch.before_cursor_execute
        and not connection.dispatch.after_cursor_execute
        and not dialect.dispatch.handle_error
        and not connection.engine.logger.isEnabledFor(logging.INFO)
        # Execution options (a schema_translate_map above all) change what a statement
        # means; the SQL compiled here would not honour them.
        and not connection.get_execution_options()
    )


@functools.lru_cache(maxsize=512)
def prepared(statement: Executable, dialect: Dialect, keys: tuple[str, ...]) -> Prepared | None:
    """``statement`` compiled for ``dialect`` and the given value names, or None when it
    needs SQLAlchemy at execution (parameters expanded or rendered per call, column
    defaults computed in Python)."""
    if not isinstance(statement, ClauseElement):
        return None
    compiled = statement.compile(dialect=dialect, column_keys=sorted(keys))
    if not isinstance(compiled, SQLCompiler):
        return None
    named = not compiled.positional  # psycopg: %(name)s
    places = list(compiled.binds) if named else getattr(compiled, "positiontup", None)
    if (
        places is None
        or (named and compiled.escaped_bind_names)
        or compiled.post_compile_params
        or compiled.literal_execute_params
        or compiled.insert_prefetch  # column defaults computed in Python at execution
        or compiled.update_prefetch
    ):
        return None
    binds = []
    for place in places:
        bind = compiled.binds[place]
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        binds.append((bind.key, process, bind.value, bool(bind.required), place))
    results: tuple[_Processor, ...] | None = None
    if isinstance(statement, Select):
        results = tuple(
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in statement.selected_columns
        )
    return Prepared(compiled.string, tuple(binds), results, named=named)


def _run(connection: Connection, statement: Prepared, values: Mapping[str, Any]) -> Any:
    if not connection.in_transaction():
        connection.begin()  # SQLite: BEGIN IMMEDIATE (see the engine module)
    arguments = statement.parameters(values)
    dialect = connection.dialect
    driver = connection.connection.driver_connection
    assert driver is not None
    try:
        return driver.execute(statement.sql, arguments)
    except dialect.loaded_dbapi.Error as error:
        # As SQLAlchemy's own execution does: a lost server connection is thrown away
        # (and the pool told), never handed to the next unit of work.
        invalidated = dialect.is_disconnect(error, driver, None)
        if invalidated:
            connection.invalidate(error)
            # As SQLAlchemy retires the pool on a disconnect: every pooled connection
            # opened before it is likely dead too (a server restart), so none is
            # handed out again (those checked out stay with their units of work).
            connection.engine.dispose(close=False)
        raise DBAPIError.instance(
            statement.sql,
            arguments,
            error,
            dialect.loaded_dbapi.Error,
            hide_parameters=connection.engine.hide_parameters,
            connection_invalidated=invalidated,
            dialect=dialect,
            ismulti=False,
        ) from error
    except BaseException as error:
        if not isinstance(error, Exception):
            # Interrupted mid-statement (KeyboardInterrupt, a cancelled task …): the
            # connection's state is unknown, so it is never reused, as in SQLAlchemy.
            connection.invalidate()
        raise


def first_row(
    connection: Connection, statement: Prepared, values: Mapping[str, Any]
) -> tuple[Any, ...] | None:
    """The first row of a prepared SELECT, its values processed as SQLAlchemy would."""
    cursor = _run(connection, statement, values)
    try:
        row = cursor.fetchone()
    finally:
        cursor.close()
    if row is None:
        return None
    assert statement.results is not None
    return tuple(
        value if process is None else process(value)
        for process, value in zip(statement.results, row, strict=True)
    )


def all_rows(
    connection: Connection, statement: Prepared, values: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """Every row of a prepared SELECT (a list page), processed as SQLAlchemy would."""
    cursor = _run(connection, statement, values)
    try:
        rows: list[tuple[Any, ...]] = cursor.fetchall()
    finally:
        cursor.close()
    assert statement.results is not None
    processors = [(index, process) for index, process in enumerate(statement.results) if process]
    if not processors:
        return rows
    processed = []
    for row in rows:
        values_of_row = list(row)
        for index, process in processors:
            if values_of_row[index] is not None:
                values_of_row[index] = process(values_of_row[index])
        processed.append(tuple(values_of_row))
    return processed


def row_count(connection: Connection, statement: Prepared, values: Mapping[str, Any]) -> int:
    """Run a prepared INSERT or UPDATE; the number of rows it matched."""
    cursor = _run(connection, statement, values)
    try:
        return int(cursor.rowcount)
    finally:
        cursor.close()


def _on_the_driver(
    run: Callable[[Connection, Prepared, Mapping[str, Any]], R],
    otherwise: Run[R],
) -> Run[R]:
    """``run`` on the statement compiled by :func:`prepared`, or ``otherwise`` (through
    SQLAlchemy) when it cannot be compiled (expanding parameters, Python-side defaults)."""

    def execute(connection: Connection, statement: Executable, values: Mapping[str, Any]) -> R:
        compiled = prepared(statement, connection.dialect, tuple(values))
        if compiled is None:
            return otherwise(connection, statement, values)
        return run(connection, compiled, values)

    return execute


ON_THE_DRIVER = Statements(
    first_row=_on_the_driver(first_row, THROUGH_SQLALCHEMY.first_row),
    all_rows=_on_the_driver(all_rows, THROUGH_SQLALCHEMY.all_rows),
    row_count=_on_the_driver(row_count, THROUGH_SQLALCHEMY.row_count),
)
"""Prebuilt statements on the DBAPI connection (see the module doc)."""


def statements_for(connection: Connection) -> Statements:
    """How a unit of work with the fast path on runs its prebuilt statements on
    ``connection``: on the driver where :func:`runs_on_driver` allows it."""
    return ON_THE_DRIVER if runs_on_driver(connection) else THROUGH_SQLALCHEMY
