"""The storage port on SQLAlchemy Core: SQLite, PostgreSQL (psycopg 3), MariaDB/MySQL.

A unit of work is one connection and one transaction on it, on an engine set up
per backend by :func:`~contactbook.adapters.storage.sqlalchemy.engine.create_storage_engine`.
On PostgreSQL and MariaDB/MySQL, writers of the audit chain lock its one-row
head (``SELECT … FOR UPDATE``) and so append in turn, as SQLite's writers do
(``BEGIN IMMEDIATE``). An in-memory SQLite database is migrated on open.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError

from contactbook.adapters.storage.sqlalchemy import schema
from contactbook.adapters.storage.sqlalchemy.columns import MYSQL_DIALECTS
from contactbook.adapters.storage.sqlalchemy.engine import (
    SQLITE_BUSY_TIMEOUT_MS,
    create_storage_engine,
    is_memory_sqlite,
    safe_url,
    sqlite_file,
)
from contactbook.adapters.storage.sqlalchemy.errors import DatabaseUnavailable, SchemaNotCurrent
from contactbook.adapters.storage.sqlalchemy.execution import THROUGH_SQLALCHEMY, Statements
from contactbook.adapters.storage.sqlalchemy.fast_path import fast_path_enabled, statements_for
from contactbook.adapters.storage.sqlalchemy.repositories import (
    SqlAccountRepository,
    SqlApplicationRepository,
    SqlAuditRepository,
    SqlFacilityRepository,
    SqlGrantRepository,
    SqlInmateRepository,
    SqlMessageRepository,
    SqlNoticeRepository,
    SqlPostRepository,
    SqlStaffRepository,
    SqlStoredFiles,
    SqlTokenRepository,
)
from contactbook.domain.files import StoredFile
from contactbook.ports.storage import StoredFileOwner

if TYPE_CHECKING:
    from contactbook.ports.storage import Storage, UnitOfWork

__all__ = [
    "SQLITE_BUSY_TIMEOUT_MS",
    "SqlAlchemyStorage",
    "SqlAlchemyUnitOfWork",
    "create_storage_engine",
    "safe_url",
]

_ROW_LOCKING_DIALECTS = ("postgresql", *MYSQL_DIALECTS)
"""Dialects with ``SELECT … FOR UPDATE [SKIP LOCKED]`` (SQLite locks the whole database)."""


class SqlAlchemyUnitOfWork:
    """One connection, one transaction: nothing is visible to others until ``commit()``.

    The transaction begins with the first statement and a new one begins after
    each ``commit()`` or ``rollback()``, so the unit of work stays usable inside
    its ``with`` block, as the port requires.
    """

    def __init__(self, storage: SqlAlchemyStorage) -> None:
        self._storage = storage
        self._connection: Connection | None = None
        self._callbacks: list[Callable[[], None]] = []
        self.statements: Statements = THROUGH_SQLALCHEMY
        """How the repositories run their prebuilt statements, chosen on entry."""

    # Repositories are built on first use: a use case touches three to six of the
    # eleven, and building them all was a fifth of opening a unit of work. Each
    # repository class takes the unit of work as its one argument.
    accounts = functools.cached_property(SqlAccountRepository)
    tokens = functools.cached_property(SqlTokenRepository)
    facilities = functools.cached_property(SqlFacilityRepository)
    inmates = functools.cached_property(SqlInmateRepository)
    applications = functools.cached_property(SqlApplicationRepository)
    grants = functools.cached_property(SqlGrantRepository)
    posts = functools.cached_property(SqlPostRepository)
    notices = functools.cached_property(SqlNoticeRepository)
    messages = functools.cached_property(SqlMessageRepository)
    staff = functools.cached_property(SqlStaffRepository)
    audit = functools.cached_property(SqlAuditRepository)

    @property
    def row_locking(self) -> bool:
        """Whether the backend locks rows (``SELECT … FOR UPDATE [SKIP LOCKED]``);
        SQLite locks the whole database instead."""
        return self._storage.engine.dialect.name in _ROW_LOCKING_DIALECTS

    @property
    def runs_on_driver(self) -> bool:
        """Whether prebuilt statements bypass SQLAlchemy's execution layer (fast path)."""
        return self.statements is not THROUGH_SQLALCHEMY

    @property
    def connection(self) -> Connection:
        """This unit of work's connection (RuntimeError outside its ``with`` block)."""
        if self._connection is None:
            raise RuntimeError(
                "this unit of work is not open: use it as `with storage.unit_of_work() as uow: ...`"
            )
        return self._connection

    def __enter__(self) -> Self:
        if self._connection is not None:
            raise RuntimeError("this unit of work is already open; ask the storage for another")
        self._connection = self._storage.connect()
        self._callbacks = []
        self.statements = (
            statements_for(self._connection) if self._storage.fast_path else THROUGH_SQLALCHEMY
        )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Also gives the connection back to the pool."""
        try:
            self.rollback()
        finally:
            connection, self._connection = self._connection, None
            if connection is not None:
                connection.close()

    def commit(self) -> None:
        self.connection.commit()
        self._callbacks.clear()

    def rollback(self) -> None:
        """The ``on_rollback`` callbacks run once, even when the rollback itself fails."""
        connection = self.connection
        callbacks, self._callbacks = self._callbacks, []
        try:
            connection.rollback()
        finally:
            _run_all(callbacks)

    def on_rollback(self, callback: Callable[[], None]) -> None:
        self.connection  # noqa: B018 - only inside the with block
        self._callbacks.append(callback)

    def stored_files(self) -> Iterator[tuple[StoredFileOwner, str, StoredFile]]:
        """Read as ``(id, JSON column)`` pairs in keyset chunks, never whole rows."""
        self.connection  # noqa: B018 - only inside the with block
        return iter(SqlStoredFiles(self))


def _run_all(callbacks: Sequence[Callable[[], None]]) -> None:
    """Run every callback even if some fail, then raise the first failure."""
    failures: list[Exception] = []
    for callback in callbacks:
        try:
            callback()
        except Exception as exc:
            failures.append(exc)
    if failures:
        raise failures[0]


class SqlAlchemyStorage:
    """The storage port on one SQLAlchemy engine.

    ``SqlAlchemyStorage(engine_or_url)`` only builds the engine (no I/O);
    :meth:`from_url` also checks that the schema is at this version's revision
    (or migrates it with ``migrate=True``), which is what ``contactbook.open()``
    uses. An engine passed in stays the caller's: :meth:`close` leaves it open;
    make it with :func:`create_storage_engine` to keep the settings above (without
    them SQLite neither queues writers nor supports SAVEPOINTs properly).

    ``fast_path`` switches the shortcuts built on SQLAlchemy's internals on or off
    (:mod:`~contactbook.adapters.storage.sqlalchemy.fast_path`; default: on unless
    ``CONTACTBOOK_SQL_FAST_PATH=0``); the results are the same either way. An engine
    passed in keeps the ``BEGIN`` its :func:`create_storage_engine` call chose.
    """

    def __init__(
        self,
        engine_or_url: Engine | str | URL,
        *,
        fast_path: bool | None = None,
        **engine_options: Any,
    ) -> None:
        self.fast_path = fast_path_enabled(fast_path)
        if isinstance(engine_or_url, Engine):
            if engine_options:
                raise TypeError("engine options apply only when a URL is given")
            self.engine = engine_or_url
            self._owns_engine = False
        else:
            self.engine = create_storage_engine(
                engine_or_url, fast_path=self.fast_path, **engine_options
            )
            self._owns_engine = True

    @classmethod
    def from_url(
        cls,
        url: str | URL,
        *,
        migrate: bool = False,
        fast_path: bool | None = None,
        **engine_options: Any,
    ) -> SqlAlchemyStorage:
        """A storage on ``url`` whose schema is current.

        With ``migrate=False`` (the default) a database that is missing, empty or
        at another revision raises :class:`SchemaNotCurrent` saying what to run;
        with ``migrate=True`` it is upgraded to the current revision first
        (creating the tables in an empty database). An in-memory SQLite database
        is always migrated. A database that cannot be reached raises
        :class:`DatabaseUnavailable`. Neither message shows the password.
        """
        parsed = make_url(url)
        storage = cls(parsed, fast_path=fast_path, **engine_options)
        try:
            if migrate or is_memory_sqlite(parsed):
                storage._make_sqlite_folder()
                storage.migrate()
            else:
                storage.require_current_schema()
        except BaseException:
            storage.close()
            raise
        return storage

    @property
    def safe_url(self) -> str:
        """The database URL without its password."""
        return safe_url(self.engine.url)

    def connect(self) -> Connection:
        """A new connection, or :class:`DatabaseUnavailable` naming the URL."""
        try:
            return self.engine.connect()
        except DBAPIError as error:
            raise DatabaseUnavailable(
                f"cannot connect to the contactbook database {self.safe_url}: "
                f"{_first_line(error.orig)}",
                url=self.safe_url,
            ) from error

    def unit_of_work(self) -> SqlAlchemyUnitOfWork:
        return SqlAlchemyUnitOfWork(self)

    def close(self) -> None:
        """Close the pooled connections (unless the engine was handed in)."""
        if self._owns_engine:
            self.engine.dispose()

    # --- Schema -------------------------------------------------------------------

    def schema_revision(self) -> str | None:
        """The database's schema revision (None: no contactbook tables yet)."""
        with self.connect() as connection:
            return schema.current_revision(connection)

    def require_current_schema(self) -> None:
        """Raise :class:`SchemaNotCurrent` unless the schema is at this version's revision."""
        expected = schema.head_revision()
        database = sqlite_file(self.engine.url)
        if database is not None and not database.exists():
            self._schema_not_current(None, expected, "the database file does not exist")
        current = self.schema_revision()
        if current == expected:
            return
        if current is None:
            self._schema_not_current(current, expected, "it has no contactbook tables")
        known = {script.revision for script in schema.script_directory().walk_revisions()}
        if current in known:
            self._schema_not_current(
                current, expected, f"its schema is at revision {current}, older than {expected}"
            )
        raise SchemaNotCurrent(
            f"the contactbook database {self.safe_url} has schema revision {current}, which "
            f"this version of contactbook does not know (it needs {expected}): the database "
            "was migrated by a newer contactbook; upgrade contactbook",
            url=self.safe_url,
            current=current,
            expected=expected,
        )

    def _schema_not_current(self, current: str | None, expected: str, why: str) -> None:
        raise SchemaNotCurrent(
            f"the contactbook database {self.safe_url} is not ready: {why}. "
            "Create or upgrade its tables with `contactbook db upgrade` "
            "(or `book.migrate()` in Python), or open it with migrate=True",
            url=self.safe_url,
            current=current,
            expected=expected,
        )

    def _make_sqlite_folder(self) -> None:
        """Create the folder of a SQLite file about to be created."""
        database = sqlite_file(self.engine.url)
        if database is None:
            return
        try:
            database.parent.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise DatabaseUnavailable(
                f"cannot create the folder of the contactbook database {self.safe_url}: {error}",
                url=self.safe_url,
            ) from error

    def migrate(self, revision: str = "head") -> None:
        """Upgrade the schema to ``revision`` (default: this version's), creating the
        tables in an empty database. Safe to run again: a current schema is left as is."""
        with self.connect() as connection, connection.begin():
            schema.upgrade(connection, revision)


def _first_line(error: BaseException | None) -> str:
    text = str(error).strip() if error is not None else ""
    return text.splitlines()[0] if text else type(error).__name__


if TYPE_CHECKING:

    def _conforms_to_the_port(storage: SqlAlchemyStorage, uow: SqlAlchemyUnitOfWork) -> Storage:
        """Checked by mypy only: the classes satisfy the protocols structurally."""
        _: UnitOfWork = uow
        return storage
