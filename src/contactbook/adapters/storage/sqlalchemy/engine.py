"""Engines set up per backend, as the SQL storage relies on them.

* SQLite: WAL journal, ``foreign_keys=ON``, a busy timeout, and every transaction
  opened with ``BEGIN IMMEDIATE``, read-only ones too (SQLAlchemy's pysqlite recipe:
  the driver's own transaction handling is switched off and SQLAlchemy emits BEGIN),
  so two writers queue for the lock instead of one failing half-way; SAVEPOINTs work.
  An in-memory database (``sqlite://``) is one shared connection.
* PostgreSQL: READ COMMITTED (the default); compare-and-set ``UPDATE``s wait for a
  competing writer and then see its version.
* MariaDB/MySQL: ``utf8mb4``, READ COMMITTED (like PostgreSQL, and without the
  gap locks that would block the outbox while a dispatcher holds its claim).

A pooled connection is checked with a ping before use when it sat idle in the
pool for ``PING_AFTER_IDLE_S`` seconds or more (a server restart or an idle
timeout shows there); one given back moments ago is used as it is, so a worker
running one short transaction after another (the outbox dispatcher) pays no
extra round trip per transaction. Statement parameters and result rows never
reach the logs.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from sqlalchemy import create_engine, event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.pool import ConnectionPoolEntry, StaticPool

from contactbook.adapters.storage.sqlalchemy.columns import MYSQL_DIALECTS
from contactbook.adapters.storage.sqlalchemy.fast_path import (
    begin_immediate_in_the_dialect,
    fast_path_enabled,
)

__all__ = [
    "ENGINE_LOGGING_NAME",
    "PING_AFTER_IDLE_S",
    "SQLITE_BUSY_TIMEOUT_MS",
    "create_storage_engine",
    "is_memory_sqlite",
    "safe_url",
    "sqlite_file",
]

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for another one before giving up."""

_CONNECT_TIMEOUT_S = 10
ENGINE_LOGGING_NAME = "contactbook"
"""Engines log as ``sqlalchemy.engine.Engine.contactbook`` (rows filtered, see below)."""


def safe_url(url: str | URL) -> str:
    """``url`` for messages and logs: the password replaced by ``***``."""
    try:
        parsed = make_url(url)
    except Exception:
        return "<unparseable database URL>"
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite":  # a file path: show it as typed
        return unquote(shown)
    return shown


def is_memory_sqlite(url: URL) -> bool:
    database = url.database or ""
    return url.get_backend_name() == "sqlite" and (
        database in ("", ":memory:") or "mode=memory" in database
    )


def sqlite_file(url: URL) -> Path | None:
    """The file of a SQLite URL (None for memory databases and ``file:`` URIs)."""
    if url.get_backend_name() != "sqlite" or is_memory_sqlite(url):
        return None
    database = url.database or ""
    if database.startswith("file:"):
        return None
    return Path(database)


def _sqlite_events(engine: Engine, *, memory: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        # Take transaction control away from the sqlite3 module (see the module doc).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if not memory:
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()


def _begin_immediate(engine: Engine, *, fast_path: bool) -> None:
    """Every SQLite transaction opens with ``BEGIN IMMEDIATE``: from the dialect's begin
    step on the fast path, from SQLAlchemy's documented ``"begin"`` event off it."""
    if fast_path:
        begin_immediate_in_the_dialect(engine)
        return

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


class _HiddenRows(logging.Filter):
    """SQLAlchemy logs every result row at DEBUG: national IDs, birth dates, hashes.
    Keep the line (so the trace still reads), drop the values."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.msg == "Row %r":
            record.msg, record.args = "Row (values hidden)", ()
        return True


def _hide_personal_data_in_logs(options: dict[str, Any]) -> None:
    """Personal data never reaches logs (DOMAIN.md §5), even with SQL echo or DEBUG on:
    statement parameters are hidden (in exceptions too) and rows are filtered."""
    options.setdefault("hide_parameters", True)
    options.setdefault("logging_name", ENGINE_LOGGING_NAME)
    logger = logging.getLogger(f"sqlalchemy.engine.Engine.{options['logging_name']}")
    if not any(isinstance(f, _HiddenRows) for f in logger.filters):
        logger.addFilter(_HiddenRows())


PING_AFTER_IDLE_S = 5.0
"""A pooled connection idle at least this long is pinged before it is handed out."""


def _ping_idle_connections(engine: Engine) -> None:
    """``pool_pre_ping``, but only for connections that sat idle in the pool.

    A failed ping raises ``DisconnectionError``, on which the pool throws the
    connection away and hands out a new one (SQLAlchemy's documented checkout
    recipe); a freshly opened connection is not pinged.
    """
    dialect = engine.dialect

    @event.listens_for(engine, "checkin")
    def _on_checkin(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["returned_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: ConnectionPoolEntry, proxy: Any) -> None:
        returned_at = record.info.get("returned_at")
        if returned_at is None or time.monotonic() - returned_at < PING_AFTER_IDLE_S:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            if dialect.is_disconnect(error, dbapi_connection, None):
                raise DisconnectionError() from error
            raise


def create_storage_engine(
    url: str | URL, *, fast_path: bool | None = None, **options: Any
) -> Engine:
    """An engine for ``url`` with the settings this storage relies on (see module doc).

    ``fast_path`` (default: the ``CONTACTBOOK_SQL_FAST_PATH`` environment variable, on
    unless ``0``) says how SQLite's ``BEGIN IMMEDIATE`` is issued (see
    :mod:`~contactbook.adapters.storage.sqlalchemy.fast_path`); ``options`` go to
    :func:`sqlalchemy.create_engine`."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    _hide_personal_data_in_logs(options)
    if backend == "sqlite":
        memory = is_memory_sqlite(parsed)
        if memory:
            options.setdefault("poolclass", StaticPool)
            options.setdefault("connect_args", {"check_same_thread": False})
        engine = create_engine(parsed, **options)
        _sqlite_events(engine, memory=memory)
        _begin_immediate(engine, fast_path=fast_path_enabled(fast_path))
        return engine
    if backend == "postgresql":
        options.setdefault("connect_args", {"connect_timeout": _CONNECT_TIMEOUT_S})
    elif backend in MYSQL_DIALECTS:
        if "charset" not in parsed.query:
            parsed = parsed.update_query_dict({"charset": "utf8mb4"})
        options.setdefault("isolation_level", "READ COMMITTED")
        options.setdefault("pool_recycle", 3600)
        options.setdefault("connect_args", {"connect_timeout": _CONNECT_TIMEOUT_S})
    engine = create_engine(parsed, **options)
    if not options.get("pool_pre_ping"):  # pool_pre_ping=True: a ping at every checkout
        _ping_idle_connections(engine)
    return engine
