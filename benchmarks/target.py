"""The database under test, and the raw DBAPI side the baselines use.

* SQLite: a fresh file ``<work>/bench.db`` (the default work folder is
  ``var/bench/sqlite``), removed first if left over.
* PostgreSQL: given any URL on the server (e.g. ``…/test``), the run creates a
  database ``bench`` next to it, works only there and drops it at the end
  (``--keep`` leaves it). The given database itself is never touched.

:class:`RawDb` is one DBAPI connection of the same engine setup as the library's
(``create_storage_engine``: WAL, ``synchronous=NORMAL`` and a busy timeout on
SQLite) used with hand-written SQL: ``?`` placeholders (turned into ``%s`` for
psycopg), explicit transactions, and datetimes converted the way the adapter's
``UtcDateTime`` stores them (naive UTC; text on SQLite).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import URL, Engine, make_url

from contactbook.adapters.storage.sqlalchemy import SqlAlchemyStorage
from contactbook.adapters.storage.sqlalchemy.storage import create_storage_engine

__all__ = ["BENCH_DATABASE", "RawDb", "Target"]

BENCH_DATABASE = os.environ.get("CONTACTBOOK_BENCH_DATABASE", "bench")
"""The scratch database on the server; set the variable to run two benchmarks at once."""


@dataclass
class Target:
    """Where this run's data lives; :meth:`create` makes it empty and migrated."""

    backend: str
    url: URL
    admin_url: URL | None
    work: Path

    @classmethod
    def from_option(cls, database: str | None, work: Path) -> Target:
        if database is None:
            work = work / "sqlite"
            return cls("sqlite", make_url(f"sqlite:///{work / 'bench.db'}"), None, work)
        given = make_url(database)
        backend = given.get_backend_name()
        if backend == "sqlite":
            path = Path(given.database or "")
            if not given.database or given.database == ":memory:":
                raise SystemExit("--database: give a SQLite file, not an in-memory database")
            return cls("sqlite", given, None, path.parent)
        if backend != "postgresql":
            raise SystemExit(f"--database: SQLite or PostgreSQL, not {backend}")
        return cls(backend, given.set(database=BENCH_DATABASE), given, work / backend)

    @property
    def files(self) -> Path:
        return self.work / "files"

    @property
    def url_text(self) -> str:
        return self.url.render_as_string(hide_password=False)

    def create(self) -> None:
        """An empty, migrated database and an empty file store."""
        self.work.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(self.files, ignore_errors=True)
        self.files.mkdir(parents=True)
        if self.backend == "sqlite":
            path = Path(self.url.database or "")
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        else:
            self._admin(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")
            self._admin(f"CREATE DATABASE {BENCH_DATABASE}")
        storage = SqlAlchemyStorage(self.url)
        try:
            storage.migrate()
        finally:
            storage.close()

    def drop(self) -> None:
        if self.backend == "postgresql":
            self._admin(f"DROP DATABASE IF EXISTS {BENCH_DATABASE} WITH (FORCE)")
        else:
            path = Path(self.url.database or "")
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        shutil.rmtree(self.files, ignore_errors=True)

    def _admin(self, statement: str) -> None:
        assert self.admin_url is not None
        from sqlalchemy import create_engine

        engine = create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(statement))
        finally:
            engine.dispose()

    def engine(self) -> Engine:
        """An engine set up exactly as the library sets up its own."""
        return create_storage_engine(self.url)

    def loader_engine(self) -> Engine:
        """:meth:`engine` plus bulk-load settings on SQLite: a large page cache and no
        automatic WAL checkpoints (the loader checkpoints after each table)."""
        engine = self.engine()
        if self.backend == "sqlite":

            @event.listens_for(engine, "connect")
            def _bulk(dbapi_connection: Any, record: Any) -> None:
                cursor = dbapi_connection.cursor()
                try:
                    cursor.execute("PRAGMA cache_size = -512000")
                    cursor.execute("PRAGMA wal_autocheckpoint = 0")
                finally:
                    cursor.close()

        return engine

    def server_version(self) -> str:
        if self.backend == "sqlite":
            return sqlite3.sqlite_version
        engine = self.engine()
        try:
            with engine.connect() as connection:
                return str(connection.execute(text("SHOW server_version")).scalar_one())
        finally:
            engine.dispose()


class RawDb:
    """One DBAPI connection and hand-written SQL (see the module docstring)."""

    def __init__(self, engine: Engine) -> None:
        self._proxy = engine.raw_connection()
        self.connection: Any = self._proxy.driver_connection
        assert self.connection is not None
        self.sqlite = engine.dialect.name == "sqlite"
        self._sql: dict[str, str] = {}
        if not self.sqlite:
            self.connection.autocommit = False

    def close(self) -> None:
        self._proxy.close()

    def sql(self, statement: str) -> str:
        """``statement`` with this driver's placeholders (cached)."""
        converted = self._sql.get(statement)
        if converted is None:
            converted = statement if self.sqlite else statement.replace("?", "%s")
            self._sql[statement] = converted
        return converted

    def begin(self, *, write: bool = False) -> None:
        if self.sqlite:
            self.connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        # psycopg opens a transaction with the first statement

    def commit(self) -> None:
        if self.sqlite:
            self.connection.execute("COMMIT")
        else:
            self.connection.commit()

    def rollback(self) -> None:
        if self.sqlite:
            if self.connection.in_transaction:
                self.connection.execute("ROLLBACK")
        else:
            self.connection.rollback()

    def all(self, statement: str, params: Sequence[Any] = ()) -> list[Any]:
        cursor = self.connection.execute(self.sql(statement), params)
        return list(cursor.fetchall())

    def one(self, statement: str, params: Sequence[Any] = ()) -> Any:
        cursor = self.connection.execute(self.sql(statement), params)
        return cursor.fetchone()

    def run(self, statement: str, params: Sequence[Any] = ()) -> int:
        cursor = self.connection.execute(self.sql(statement), params)
        return int(cursor.rowcount)

    def dt(self, moment: datetime | None) -> Any:
        """An aware datetime as the adapter stores it (naive UTC; text on SQLite)."""
        if moment is None:
            return None
        naive = moment.astimezone(UTC).replace(tzinfo=None)
        return naive.strftime("%Y-%m-%d %H:%M:%S.%f") if self.sqlite else naive

    @staticmethod
    def read_dt(value: Any) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)

    def lock_suffix(self) -> str:
        """`` FOR UPDATE`` where rows can be locked (SQLite locks the whole file)."""
        return "" if self.sqlite else " FOR UPDATE"

    def skip_locked_suffix(self) -> str:
        """`` FOR UPDATE SKIP LOCKED`` where rows can be locked (SQLite: the whole file)."""
        return "" if self.sqlite else " FOR UPDATE SKIP LOCKED"
