"""One repository per aggregate, each a thin layer of Core statements.

Shared rules (see :mod:`contactbook.ports.storage`):

* ``add`` inserts inside a SAVEPOINT, so a broken unique rule becomes
  ``Conflict("duplicate")`` and the transaction stays usable. A write that loses
  a deadlock or a serialization check is ``Conflict("stale_version")`` too.
* ``replace(old, new)`` is ``UPDATE … WHERE id = :id AND version = :old_version``
  (tokens: ``used_at`` unchanged) and checks that exactly one row matched;
  otherwise ``NotFound`` when the row is absent, else ``Conflict("stale_version")``.
* Lists are keyset pages: ``ORDER BY t, id`` (both descending for "newest
  first") and, after a position ``(t0, id0)``, ``t >= t0 AND (t > t0 OR id > id0)``
  (mirrored when descending), which every backend turns into an index range.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Executable,
    Select,
    Table,
    and_,
    bindparam,
    false,
    func,
    literal,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.dialects import mysql, postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, IntegrityError

from contactbook.adapters.storage.sqlalchemy import converter as mappers
from contactbook.adapters.storage.sqlalchemy import tables
from contactbook.adapters.storage.sqlalchemy.columns import MYSQL_DIALECTS
from contactbook.adapters.storage.sqlalchemy.converter import (
    RowMapper,
    make_converter,
    username_key,
)
from contactbook.adapters.storage.sqlalchemy.prepared import (
    all_rows,
    first_row,
    prepared,
    row_count,
)
from contactbook.domain.account import FamilyMember, OneTimeToken, TokenPurpose
from contactbook.domain.application import ApplicationStatus, Grant, ServiceApplication
from contactbook.domain.audit import GENESIS_HASH, AuditEvent
from contactbook.domain.facility import Facility
from contactbook.domain.files import StoredFile
from contactbook.domain.inmate import Inmate
from contactbook.domain.message import Message, MessageStatus
from contactbook.domain.notice import AgencyNotice, AudienceScope
from contactbook.domain.post import (
    COUNTING_STATUSES,
    FamilyPost,
    PostRejectionReason,
    PostStatus,
)
from contactbook.domain.staff import StaffMember
from contactbook.errors import Conflict, NotFound
from contactbook.ports.storage import After, AuthorRow, NoticeCardRow, QueueRow, StoredFileOwner

if TYPE_CHECKING:
    from contactbook.adapters.storage.sqlalchemy.storage import SqlAlchemyUnitOfWork

__all__ = [
    "SqlAccountRepository",
    "SqlApplicationRepository",
    "SqlAuditRepository",
    "SqlFacilityRepository",
    "SqlGrantRepository",
    "SqlInmateRepository",
    "SqlMessageRepository",
    "SqlNoticeRepository",
    "SqlPostRepository",
    "SqlStaffRepository",
    "SqlStoredFiles",
    "SqlTokenRepository",
    "post_queue_statement",
]

E = TypeVar("E")

_UNIQUE_SQLSTATE = "23505"
_MYSQL_DUPLICATE_ERRNOS = frozenset({1022, 1062, 1586})
_SQLITE_UNIQUE_CODES = frozenset({1555, 2067})  # SQLITE_CONSTRAINT_PRIMARYKEY, _UNIQUE
_LOST_RACE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock
_MYSQL_LOST_RACE_ERRNOS = frozenset({1213})  # ER_LOCK_DEADLOCK
_AUDIT_CHUNK = 500
_STORED_FILES_CHUNK = 500


def is_unique_violation(error: DBAPIError) -> bool:
    """Whether a driver error says a unique rule (or the primary key) was broken."""
    orig = error.orig
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int):  # MySQL drivers: (errno, message)
        return args[0] in _MYSQL_DUPLICATE_ERRNOS
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code in _SQLITE_UNIQUE_CODES
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if isinstance(sqlstate, str):
        return sqlstate == _UNIQUE_SQLSTATE
    text = str(orig).lower()
    return "unique" in text or "duplicate" in text


def is_lost_race(error: DBAPIError) -> bool:
    """Whether the database gave up on this transaction for another one's sake
    (deadlock, serialization failure): another writer won, as with a stale version."""
    orig = error.orig
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int):
        return args[0] in _MYSQL_LOST_RACE_ERRNOS
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return isinstance(sqlstate, str) and sqlstate in _LOST_RACE_SQLSTATES


def _require_limit(limit: int) -> None:
    if limit < 0:
        raise ValueError(f"limit must not be negative, got {limit}")


def keyset_after(
    sort: ColumnElement[Any],
    key: ColumnElement[Any],
    after: tuple[Any, Any] | None,
    *,
    newest_first: bool,
) -> ColumnElement[bool]:
    """Rows strictly after ``after`` in ``(sort, key)`` order (descending if newest first);
    ``after`` holds values, or bound parameters (:func:`_bound_position`)."""
    if after is None:
        return true()
    when, last_key = after
    if newest_first:
        return and_(sort <= when, or_(sort < when, key < last_key))
    return and_(sort >= when, or_(sort > when, key > last_key))


def _bound_position(sort: ColumnElement[Any]) -> tuple[BindParameter[Any], BindParameter[Any]]:
    """A keyset position given at execution (``after_at``, ``after_id``), for statements
    built once."""
    return bindparam("after_at", type_=sort.type), bindparam("after_id")


def keyset_page(
    statement: Select[Any],
    sort: ColumnElement[Any],
    key: ColumnElement[Any],
    *,
    after: After,
    newest_first: bool,
    limit: int,
) -> Select[Any]:
    """``statement`` narrowed to one keyset page; rows without a sort time never show."""
    _require_limit(limit)
    order = (sort.desc(), key.desc()) if newest_first else (sort.asc(), key.asc())
    return (
        statement.where(
            sort.is_not(None), keyset_after(sort, key, after, newest_first=newest_first)
        )
        .order_by(*order)
        .limit(limit)
    )


def _among(column: ColumnElement[Any], values: frozenset[str] | None) -> ColumnElement[bool]:
    """``column IN values``; None means no restriction, an empty set matches nothing."""
    if values is None:
        return true()
    if not values:
        return false()
    if len(values) == 1:
        return column == next(iter(values))
    return column.in_(sorted(values))


def _within(
    column: ColumnElement[Any], start: datetime | None, end: datetime | None
) -> ColumnElement[bool]:
    """``start`` inclusive, ``end`` exclusive; None leaves that side open."""
    conditions: list[ColumnElement[bool]] = []
    if start is not None:
        conditions.append(column >= start)
    if end is not None:
        conditions.append(column < end)
    return and_(true(), *conditions)


@functools.cache
def _get_statement(table: Table, key: str) -> Select[Any]:
    """``SELECT * FROM table WHERE key = :key``, built once (its cache key is memoised)."""
    return select(table).where(table.c[key] == bindparam("key"))


@functools.cache
def _insert_statement(table: Table, dialect: str) -> Executable:
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


class _Rows(Generic[E]):
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
        connection = self.connection
        if self._uow.runs_on_driver:
            compiled = prepared(statement, connection.dialect, tuple(values))
            if compiled is not None:
                row = first_row(connection, compiled, values)
                return None if row is None else self.mapper.entity(self.column_keys, row)
        return self.mapper.first(connection.execute(statement, values), self.column_keys)

    def first_row_of(
        self, statement: Select[Any], values: Mapping[str, Any]
    ) -> tuple[Any, ...] | None:
        """The first row of a prebuilt SELECT as plain values, or None."""
        connection = self.connection
        if self._uow.runs_on_driver:
            compiled = prepared(statement, connection.dialect, tuple(values))
            if compiled is not None:
                return first_row(connection, compiled, values)
        row = connection.execute(statement, values).first()
        return None if row is None else tuple(row)

    def rows_of(self, statement: Select[Any], values: Mapping[str, Any]) -> Sequence[Any]:
        """Every row of a prebuilt SELECT as plain values (a list page's read model)."""
        connection = self.connection
        if self._uow.runs_on_driver:
            compiled = prepared(statement, connection.dialect, tuple(values))
            if compiled is not None:
                return all_rows(connection, compiled, values)
        return connection.execute(statement, values).all()

    def every_of(self, statement: Select[Any], values: Mapping[str, Any]) -> list[E]:
        """Every row of a prebuilt ``select(table)`` as entities."""
        connection = self.connection
        if self._uow.runs_on_driver:
            compiled = prepared(statement, connection.dialect, tuple(values))
            if compiled is not None:
                keys = self.column_keys
                return [
                    self.mapper.entity(keys, row) for row in all_rows(connection, compiled, values)
                ]
        return self.mapper.every(connection.execute(statement, values))

    def run(self, statement: Executable, values: Mapping[str, Any]) -> int:
        """Run a prebuilt INSERT or UPDATE with ``values`` bound; its row count."""
        connection = self.connection
        if self._uow.runs_on_driver:
            compiled = prepared(statement, connection.dialect, tuple(values))
            if compiled is not None:
                return row_count(connection, compiled, values)
        return int(connection.execute(statement, values).rowcount)

    def first_where(self, *conditions: ColumnElement[bool]) -> E | None:
        return self.one(self.select().where(*conditions).order_by(self.key).limit(1))

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

    def _write_plain(self, statement: Executable, values: Mapping[str, Any] | None = None) -> int:
        try:
            if values is None:  # a statement built for this call, its values in it
                return self.connection.execute(statement).rowcount
            return self.run(statement, values)
        except DBAPIError as error:
            if is_lost_race(error):
                raise Conflict("stale_version") from error
            raise

    def add(self, entity: E) -> None:
        values = self.mapper.to_row(entity)
        connection = self.connection
        dialect = connection.dialect.name
        statement = _insert_statement(self.table, dialect)
        if dialect not in ("postgresql", "sqlite"):
            self.write(statement, values)
            return
        # INSERT … ON CONFLICT DO NOTHING: a duplicate inserts no row (PostgreSQL's
        # RETURNING returns none, SQLite's rowcount is 0) and leaves the transaction
        # usable, with no SAVEPOINT and RELEASE around every insert. The statement is
        # built once; the values are bound, not baked into it.
        try:
            if dialect == "postgresql":
                inserted = connection.execute(statement, values).first() is not None
            else:
                inserted = self.run(statement, values) == 1
        except DBAPIError as error:
            if is_lost_race(error):
                raise Conflict("stale_version") from error
            raise
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

    def _check_replaced(self, matched: int, old_key: Any) -> None:
        if matched == 1:
            return
        exists = self.connection.execute(select(self.key).where(self.key == old_key)).first()
        if exists is None:
            raise NotFound()
        raise Conflict("stale_version")

    def replace(self, old: E, new: E, guard: ColumnElement[bool]) -> None:
        """Write ``new`` over the row of ``old`` if ``guard`` still holds for it."""
        old_key, changes = self._changes(old, new)
        update = self.table.update().where(self.key == old_key, guard).values(changes)
        # A table without a unique rule beyond its key needs no SAVEPOINT round trips.
        write = self.write if self._guarded_updates else self._write_plain
        self._check_replaced(write(update), old_key)

    def replace_version(self, old: E, new: E) -> None:
        """The usual compare-and-set: the row still has the version ``old`` was read at.

        The UPDATE is built once per table (the changed columns are bound at execution),
        so no statement is constructed or cache-keyed per call."""
        version: int = getattr(old, "version")  # noqa: B009 - every versioned entity
        old_key, changes = self._changes(old, new)
        values = {**changes, "old_key": old_key, "old_version": version}
        update = _versioned_update_statement(self.table, self.key.name)
        write = self.write if self._guarded_updates else self._write_plain
        self._check_replaced(write(update, values), old_key)

    def remove_version(self, entity: E) -> None:
        """Delete the row of ``entity`` if it still has the version ``entity`` was read at."""
        key = self.mapper.to_row(entity)[self.key.name]
        version: int = getattr(entity, "version")  # noqa: B009 - every versioned entity
        matched = self.write(
            self.table.delete().where(self.key == key, self.table.c.version == version)
        )
        if matched == 1:
            return
        exists = self.connection.execute(select(self.key).where(self.key == key)).first()
        if exists is None:
            raise NotFound()
        raise Conflict("stale_version")


# --- Accounts and tokens --------------------------------------------------------------


class SqlAccountRepository:
    """Accounts, unique by canonical e-mail and by national ID."""

    def __init__(self, uow: SqlAlchemyUnitOfWork) -> None:
        self._rows = _Rows(uow, tables.accounts, mappers.ACCOUNTS)

    def add(self, account: FamilyMember) -> None:
        self._rows.add(account)

    def get(self, account_id: str) -> FamilyMember | None:
        return self._rows.get(account_id)

    def by_email(self, canonical_email: str) -> FamilyMember | None:
        return self._rows.first_where(tables.accounts.c.email_canonical == canonical_email)

    def by_national_id(self, national_id: str) -> FamilyMember | None:
        return self._rows.first_where(tables.accounts.c.national_id == national_id)

    def replace(self, old: FamilyMember, new: FamilyMember) -> None:
        self._rows.replace_version(old, new)

    def remove(self, account: FamilyMember) -> None:
        """Children first (foreign keys), in one SAVEPOINT: a stale version leaves every
        row in place."""
        connection = self._rows.connection
        posts = tables.posts.c
        with connection.begin_nested():
            connection.execute(
                tables.tokens.delete().where(tables.tokens.c.account_id == account.id)
            )
            connection.execute(
                tables.messages.delete().where(tables.messages.c.account_id == account.id)
            )
            # Revisions point at the same author's posts: unlink them first (MySQL checks
            # a self-referencing key row by row).
            connection.execute(
                tables.posts.update()
                .where(posts.author_id == account.id, posts.revision_of.is_not(None))
                .values(revision_of=None)
            )
            connection.execute(tables.posts.delete().where(posts.author_id == account.id))
            connection.execute(
                tables.grants.delete().where(tables.grants.c.account_id == account.id)
            )
            connection.execute(
                tables.applications.delete().where(tables.applications.c.applicant_id == account.id)
            )
            self._rows.remove_version(account)


class SqlTokenRepository:
    """One-time tokens, unique by hash; replaced only while ``used_at`` is unchanged."""

    def __init__(self, uow: SqlAlchemyUnitOfWork) -> None:
        self._rows = _Rows(uow, tables.tokens, mappers.TOKENS)

    def add(self, token: OneTimeToken) -> None:
        self._rows.add(token)

    def by_hash(self, token_hash: str) -> OneTimeToken | None:
        return self._rows.first_where(tables.tokens.c.token_hash == token_hash)

    def replace(self, old: OneTimeToken, new: OneTimeToken) -> None:
        used_at = tables.tokens.c.used_at
        guard = used_at.is_(None) if old.used_at is None else used_at == old.used_at
        self._rows.replace(old, new, guard)

    def revoke_unused(self, account_id: str, purpose: TokenPurpose, at: datetime) -> int:
        c = tables.tokens.c
        revoke = (
            tables.tokens.update()
            .where(c.account_id == account_id, c.purpose == purpose.value, c.used_at.is_(None))
            .values(used_at=at)
        )
        return int(self._rows.connection.execute(revoke).rowcount)


# --- Facilities, staff, inmates -------------------------------------------------------


class SqlFacilityRepository:
    """Facilities, keyed by their code."""

    def __init__(self, uow: SqlAlchemyUnitOfWork) -> None:
        self._rows = _Rows(uow, tables.facilities, mappers.FACILITIES, key="code")

    def add(self, facility: Facility) -> None:
        self._rows.add(facility)

    def get(self, code: str) -> Facility | None:
        return self._rows.get(code)

    def list(self) -> Sequence[Facility]:
        """Every facility, by code."""
        return self._rows.all(self._rows.select().order_by(tables.facilities.c.code))

    def replace(self, old: Facility, new: Facility) -> None:
        self._rows.replace_version(old, new)


class SqlStaffRepository:
    """Staff members, unique by username (case-insensitive)."""

    def __init__(self, uow: SqlAlchemyUnitOfWork) -> None:
        self._rows = _Rows(uow, tables.staff, mappers.STAFF)

    def add(self, member: StaffMember) -> None:
        self._rows.add(member)

    def get(self, staff_id: str) -> StaffMember | None:
        return self._rows.get(staff_id)

    def by_username(self, username: str) -> StaffMember | None:
        return self._rows.first_where(tables.staff.c.username_key == username_key(username))

    def replace(self, old: StaffMember, new: StaffMember) -> None:
        self._rows.replace_version(old, new)

    def count(self) -> int:
        total = self._rows.connection.execute(
            select(func.count()).select_from(tables.staff)
        ).scalar_one()
        return int(total)

    def list(self, facility_code: str | None = None) -> Sequence[StaffMember]:
        key: ColumnElement[str] = tables.staff.c.username_key
        if self._rows.connection.dialect.name == "postgresql":
            key = key.collate("C")  # by code point, as the other stores sort
        statement = self._rows.select().order_by(key)
        if facility_code is not None:
            statement = statement.where(tables.staff.c.facility_code == facility_code)
        return self._rows.all(statement)


class SqlInmateRepository:
    """Inmates; a call number names one current inmate per facility."""

    def __init__(self, uow: SqlAlchemyUnitOfWork) -> None:
        self._rows = _Rows(uow, tables.inmates, mappers.INMATES)

    def add(self, inmate: Inmate) -> None:
        self._rows.add(inmate)

    def get(self, inmate_id: str) -> Inmate | None:
        return self._rows.get(inmate_id)

    def get_many(self, inmate_ids: Collection[str]) -> Mapping[str, Inmate]:
        wanted = sorted(set(inmate_ids))
        if not wanted:
            return {}
        statement = self._rows.select().where(tables.inmates.c.id.in_(wanted))
        return {inmate.id: inmate for inmate in self._rows.all(statement)}

    def current_by_call_number(self, facility_code: str, call_number: str) -> Inmate | None:
        c = tables.inmates.c
        return self._rows.first_where(
            c.facility_code == facility_code, c.call_number == call_number, c.left_at.is_(None)
        )

    def list_current(self, facility_code: str) -> Sequence[Inmate]:
        """Current inmates of the facility, by call number."""
        c = tables.inmates.c
        return self._rows.all(
            self._rows.select()
            .where(c.facility_code == facility_code, c.left_at.is_(None))
            .order_by(c.call_number, c.id)
        )

    def replace(self, old: Inmate, new: Inmate) -> None:
        self._rows.replace_version(old, new)


# --- Applications and grants ----------------------------------------------------------


class SqlApplicationRepository:
    """Service applications, listed by ``submitted_at``."""

    def __init__(self, uow: SqlAlchemyUnitOfWork) -> None:
        self._rows = _Rows(uow, tables.applications, mappers.APPLICATIONS)

    def add(self, application: ServiceApplication) -> None:
        self._rows.add(application)

    def get(self, application_id: str) -> ServiceApplication | None:
        return self._rows.get(application_id)

    def replace(self, old: ServiceApplication, new: ServiceApplication) -> None:
        self._rows.replace_version(old, new)

    def pending_for(self, applicant_id: str, inmate_id: str) -> ServiceApplication | None:
        """The oldest pending application of this applicant for this inmate."""
        c = tables.applications.c
        return self._rows.one(
            self._rows.select()
            .where(
                c.applicant_id == applicant_id,
                c.inmate_id == inmate_id,
                c.status == ApplicationStatus.PENDING.value,
            )
            .order_by(c.submitted_at, c.id)
            .limit(1)
        )

    def list_by_applicant(
        self, applicant_id: str, *, after: After, limit: int
    ) -> Sequence[ServiceApplication]:
        c = tables.applications.c
        return self._rows.all(
            keyset_page(
                self._rows.select().where(c.applicant_id == applicant_id),
                c.submitted_at,
                c.id,
                after=after,
                newest_first=True,
                limit=limit,
            )
        )

    def queue(
        self,
        *,
        facility_codes: frozenset[str] | None,
        status: ApplicationStatus | None,
        after: After,
        limit: int,
    ) -> Sequence[ServiceApplication]:
        c = tables.applications.c
        statement = self._rows.select().where(_among(c.facility_code, facility_codes))
        if status is not None:
            statement = statement.where(c.status == status.value)
        return self._rows.all(
            keyset_page(
                statement, c.submitted_at, c.id, after=after, newest_first=False, limit=limit
            )
        )


@functools.cache
def _grants_of_account() -> Select[Any]:
    """An account's active grants (read by every family page), built once."""
    c = tables.grants.c
    return (
        select(tables.grants)
        .where(c.ended_at.is_(None), c.account_id == bindparam("account"))
        .order_by(c.granted_at, c.id)
    )


@functools.cache
def _active_grant_statement() -> Select[Any]:
    """The oldest active grant of one account for one inmate, built once."""
    c = tables.grants.c
    return (
        select(tables.grants)
        .where(
            c.ended_at.is_(None),
            c.account_id == bindparam("account"),
            c.inmate_id == bindparam("inmate"),
        )
        .order_by(c.granted_at, c.id)
        .limit(1)
    )


class SqlGrantRepository:
    """Grants; active ones are those not ended, listed oldest first."""

    def __init__(self, uow: SqlAlchemyUnitOfWork) -> None:
        self._rows = _Rows(uow, tables.grants, mappers.GRANTS)

    def add(self, grant: Grant) -> None:
        self._rows.add(grant)

    def get(self, grant_id: str) -> Grant | None:
        return self._rows.get(grant_id)

    def replace(self, old: Grant, new: Grant) -> None:
        self._rows.replace_version(old, new)

    def _active(self, *conditions: ColumnElement[bool]) -> list[Grant]:
        c = tables.grants.c
        return self._rows.all(
            self._rows.select()
            .where(c.ended_at.is_(None), *conditions)
            .order_by(c.granted_at, c.id)
        )

    def active_for(self, account_id: str, inmate_id: str) -> Grant | None:
        return self._rows.first_of(
            _active_grant_statement(), {"account": account_id, "inmate": inmate_id}
        )

    def active_for_account(self, account_id: str) -> Sequence[Grant]:
        return self._rows.every_of(_grants_of_account(), {"account": account_id})

    def active_for_inmate(self, inmate_id: str) -> Sequence[Grant]:
        return self._active(tables.grants.c.inmate_id == inmate_id)


# --- Posts ------------------------------------------------------------------------------


def _one_lower_bound(start: datetime | None, after: After) -> datetime | None:
    """Drop a range start that the keyset position already passed.

    With both ``t >= start`` and ``t >= t0`` SQLite seeks the index with the first
    and filters with the second, so a deep page scans every row before the cursor;
    one lower bound lets it seek straight to the position.
    """
    if after is not None and start is not None and after[0] >= start:
        return None
    return start


def post_queue_statement(
    *,
    facility_codes: frozenset[str] | None,
    status: PostStatus | None,
    submitted_from: datetime | None,
    submitted_to: datetime | None,
    after: After,
    limit: int,
) -> Select[Any]:
    """The moderation queue's statement (public so a test can EXPLAIN it)."""
    submitted_from = _one_lower_bound(submitted_from, after)
    c = tables.posts.c
    statement = select(tables.posts).where(
        _among(c.facility_code, facility_codes),
        _within(c.submitted_at, submitted_from, submitted_to),
    )
    if status is not None:
        statement = statement.where(c.status == status.value)
    return keyset_page(
        statement, c.submitted_at, c.id, after=after, newest_first=False, limit=limit
    )


@functools.cache
def _queue_rows_statement(
    facilities: int | None, status: bool, since: bool, until: bool, after: bool
) -> Select[Any]:
    """The queue's list rows in one joined statement, built once per shape (how many
    facilities, which filters) with its values bound by name, so it is compiled once."""
    p, f, i = tables.posts.c, tables.facilities.c, tables.inmates.c
    statement = select(
        p.id,
        p.version,
        p.facility_code,
        f.name,
        i.call_number,
        i.name,
        p.title,
        p.body,
        p.submitted_at,
        p.status,
        p.flagged_keywords,
        p.attachments,
    ).select_from(
        tables.posts.join(tables.facilities, f.code == p.facility_code).join(
            tables.inmates, i.id == p.inmate_id
        )
    )
    if facilities is not None:
        statement = statement.where(_among_bound(p.facility_code, "facility", facilities))
    if status:
        statement = statement.where(p.status == bindparam("status"))
    if since:
        statement = statement.where(p.submitted_at >= bindparam("since", type_=p.submitted_at.type))
    if until:
        statement = statement.where(p.submitted_at < bindparam("until", type_=p.submitted_at.type))
    if after:
        statement = statement.where(
            keyset_after(p.submitted_at, p.id, _bound_position(p.submitted_at), newest_first=False)
        )
    return statement.order_by(p.submitted_at, p.id).limit(bindparam("limit"))


_FILES = mappers.make_converter()


@functools.cache
def _author_rows_statement(status: bool, after: bool) -> Select[Any]:
    """A family's own list rows in one joined statement, built once per shape."""
    p, f, i = tables.posts.c, tables.facilities.c, tables.inmates.c
    statement = (
        select(
            p.id,
            p.version,
            p.inmate_id,
            i.call_number,
            i.name,
            p.facility_code,
            f.name,
            p.title,
            p.body,
            p.status,
            p.submitted_at,
            p.attachments,
            p.rejection_reason,
            p.rejection_note,
            p.decided_at,
            p.delivered_at,
            p.revision_of,
        )
        .select_from(
            tables.posts.join(tables.inmates, i.id == p.inmate_id).join(
                tables.facilities, f.code == p.facility_code
            )
        )
        .where(p.author_id == bindparam("author"))
    )
    if status:
        statement = statement.where(p.status == bindparam("status"))
    if after:
        statement = statement.where(
            keyset_after(p.submitted_at, p.id, _bound_position(p.submitted_at), newest_first=True)
        )
    return statement.order_by(p.submitted_at.desc(), p.id.desc()).limit(bindparam("limit"))


def _stored_files(value: Any) -> tuple[StoredFile, ...]:
    return tuple(_FILES.structure(value, tuple[StoredFile, ...])) if value else ()


@functools.cache
def _latest_counting_statement() -> Select[Any]:
    """Built once with bound parameters: no statement construction or cache-key
    computation per call (about half of SQLAlchemy's cost for a one-row read).

    The statuses are one bound parameter each (``IN (?, ?)``), not a list expanded
    at execution: expanding rewrites the compiled SQL text on every call."""
    c = tables.posts.c
    statuses = sorted(status.value for status in COUNTING_STATUSES)
    return (
        select(tables.posts)
        .where(
            c.author_id == bindparam("author"),
            c.inmate_id == bindparam("inmate"),
            c.status.in_([literal(status, c.status.type) for status in statuses]),
        )
        .order_by(c.submitted_at.desc(), c.id.desc())
        .limit(1)
    )


class SqlPostRepository:
    """Family posts: the author's list, the review queue and the delivery list."""

    def __init__(self, uow: SqlAlchemyUnitOfWork) -> None:
        self._rows = _Rows(uow, tables.posts, mappers.POSTS)

    def add(self, post: FamilyPost) -> None:
        self._rows.add(post)

    def get(self, post_id: str) -> FamilyPost | None:
        return self._rows.get(post_id)

    def replace(self, old: FamilyPost, new: FamilyPost) -> None:
        self._rows.replace_version(old, new)

    def list_by_author(
        self, author_id: str, *, status: PostStatus | None, after: After, limit: int
    ) -> Sequence[FamilyPost]:
        c = tables.posts.c
        statement = self._rows.select().where(c.author_id == author_id)
        if status is not None:
            statement = statement.where(c.status == status.value)
        return self._rows.all(
            keyset_page(
                statement, c.submitted_at, c.id, after=after, newest_first=True, limit=limit
            )
        )

    def author_rows(
        self, author_id: str, *, status: PostStatus | None, after: After, limit: int
    ) -> Sequence[AuthorRow]:
        _require_limit(limit)
        values: dict[str, Any] = {"author": author_id, "limit": limit}
        if status is not None:
            values["status"] = status.value
        if after is not None:
            values["after_at"], values["after_id"] = after
        statement = _author_rows_statement(status is not None, after is not None)
        return [
            AuthorRow(
                id=row[0],
                version=row[1],
                inmate_id=row[2],
                call_number=row[3],
                inmate_name=row[4],
                facility_code=row[5],
                facility_name=row[6],
                title=row[7],
                body=row[8],
                status=PostStatus(row[9]),
                submitted_at=row[10],
                attachments=_stored_files(row[11]),
                rejection_reason=PostRejectionReason(row[12]) if row[12] else None,
                rejection_note=row[13],
                decided_at=row[14],
                delivered_at=row[15],
                revision_of=row[16],
            )
            for row in self._rows.rows_of(statement, values)
        ]

    def queue(
        self,
        *,
        facility_codes: frozenset[str] | None,
        status: PostStatus | None,
        submitted_from: datetime | None,
        submitted_to: datetime | None,
        after: After,
        limit: int,
    ) -> Sequence[FamilyPost]:
        return self._rows.all(
            post_queue_statement(
                facility_codes=facility_codes,
                status=status,
                submitted_from=submitted_from,
                submitted_to=submitted_to,
                after=after,
                limit=limit,
            )
        )

    def queue_rows(
        self,
        *,
        facility_codes: frozenset[str] | None,
        status: PostStatus | None,
        submitted_from: datetime | None,
        submitted_to: datetime | None,
        after: After,
        limit: int,
    ) -> Sequence[QueueRow]:
        _require_limit(limit)
        if facility_codes is not None and not facility_codes:
            return []
        submitted_from = _one_lower_bound(submitted_from, after)
        statement = _queue_rows_statement(
            None if facility_codes is None else len(facility_codes),
            status is not None,
            submitted_from is not None,
            submitted_to is not None,
            after is not None,
        )
        values: dict[str, Any] = {"limit": limit}
        if facility_codes is not None:
            values.update(_numbered_values("facility", facility_codes))
        if status is not None:
            values["status"] = status.value
        if submitted_from is not None:
            values["since"] = submitted_from
        if submitted_to is not None:
            values["until"] = submitted_to
        if after is not None:
            values["after_at"], values["after_id"] = after
        rows = self._rows.rows_of(statement, values)
        return [
            QueueRow(
                row[0],
                row[1],
                row[2],
                row[3],
                row[4],
                row[5],
                row[6],
                row[7],
                row[8],
                PostStatus(row[9]),
                tuple(row[10]),
                _stored_files(row[11]),
            )
            for row in rows
        ]

    def latest_counting(self, author_id: str, inmate_id: str) -> FamilyPost | None:
        return self._rows.first_of(
            _latest_counting_statement(), {"author": author_id, "inmate": inmate_id}
        )

    def pending_due(self, now: datetime, *, limit: int) -> Sequence[FamilyPost]:
        """Earliest deadline first, as ``ix_posts_due`` reads them."""
        _require_limit(limit)
        c = tables.posts.c
        return self._rows.all(
            self._rows.select()
            .where(c.status == PostStatus.PENDING.value, c.review_deadline <= now)
            .order_by(c.review_deadline, c.id)
            .limit(limit)
        )

    def pending_for_inmate(self, inmate_id: str) -> Sequence[FamilyPost]:
        """PENDING posts to this inmate, oldest first."""
        c = tables.posts.c
        return self._rows.all(
            self._rows.select()
            .where(c.inmate_id == inmate_id, c.status == PostStatus.PENDING.value)
            .order_by(c.submitted_at, c.id)
        )

    def approved_undelivered(
        self, facility_codes: frozenset[str] | None, *, after: After, limit: int
    ) -> Sequence[FamilyPost]:
        c = tables.posts.c
        statement = self._rows.select().where(
            c.status == PostStatus.APPROVED.value,
            c.delivered_at.is_(None),
            _among(c.facility_code, facility_codes),
        )
        return self._rows.all(
            keyset_page(statement, c.decided_at, c.id, after=after, newest_first=False, limit=limit)
        )

    def ended_before(
        self, status: PostStatus, before: datetime, *, limit: int
    ) -> Sequence[FamilyPost]:
        _require_limit(limit)
        column = _POST_END_COLUMNS.get(status)
        if column is None:
            return []
        c = tables.posts.c
        end = c[column]
        return self._rows.all(
            self._rows.select()
            .where(c.status == status.value, end.is_not(None), end < before)
            .order_by(end, c.id)
            .limit(limit)
        )

    def remove(self, post: FamilyPost) -> None:
        """The revision is unlinked and the post deleted in one SAVEPOINT: a stale
        version leaves both as they were."""
        c = tables.posts.c
        connection = self._rows.connection
        with connection.begin_nested():
            connection.execute(
                tables.posts.update()
                .where(c.revision_of == post.id)
                .values(revision_of=None, version=c.version + 1)
            )
            self._rows.remove_version(post)


_POST_END_COLUMNS = {
    PostStatus.APPROVED: "delivered_at",
    PostStatus.REJECTED: "decided_at",
    PostStatus.EXPIRED: "expired_at",
    PostStatus.WITHDRAWN: "withdrawn_at",
}
"""The column holding when a post reached its end in each final status (retention)."""


# --- Notices ----------------------------------------------------------------------------


def _reaches_family(
    facility_codes: frozenset[str], inmate_ids: frozenset[str]
) -> ColumnElement[bool]:
    """Notices a family whose inmates are ``inmate_ids`` in ``facility_codes`` may read."""
    c = tables.notices.c
    return _audience_reaching(
        _among(c.audience_facility_code, facility_codes), _among(c.audience_inmate_id, inmate_ids)
    )


def _audience_reaching(
    to_facility: ColumnElement[bool], to_inmate: ColumnElement[bool]
) -> ColumnElement[bool]:
    """Notices to everyone, or to a facility or an inmate the given conditions accept."""
    c = tables.notices.c
    return or_(
        c.audience_scope == AudienceScope.EVERYONE.value,
        and_(c.audience_scope == AudienceScope.FACILITY.value, to_facility),
        and_(c.audience_scope == AudienceScope.INMATE.value, to_inmate),
    )


def _among_bound(column: ColumnElement[Any], name: str, count: int) -> ColumnElement[bool]:
    """``column IN (:name_0, …)``: one plain parameter per value, so a statement built
    for ``count`` values is reused as is (an expanding IN renders its SQL per call)."""
    if count == 0:
        return false()
    return column.in_([bindparam(f"{name}_{n}") for n in range(count)])


def _numbered_values(name: str, values: frozenset[str]) -> dict[str, str]:
    return {f"{name}_{n}": value for n, value in enumerate(sorted(values))}


_CARD_COLUMNS = ("id", "published_at", "published_month", "title", "publisher_name", "body")


@functools.lru_cache(maxsize=256)
def _family_notices_statement(
    facilities: int, inmates: int, month: bool, after: bool, *, cards: bool = False
) -> Select[Any]:
    """The family's notice list for this many facilities and inmates, built once;
    whole rows, or only what a card shows (``cards``)."""
    c = tables.notices.c
    shown = (*(c[name] for name in _CARD_COLUMNS), c.attachments) if cards else (tables.notices,)
    statement = select(*shown).where(
        c.deleted_at.is_(None),
        _audience_reaching(
            _among_bound(c.audience_facility_code, "facility", facilities),
            _among_bound(c.audience_inmate_id, "inmate", inmates),
        ),
    )
    if month:
        statement = statement.where(c.published_month == bindparam("month"))
    if after:
        statement = statement.where(
            keyset_after(c.published_at, c.id, _bound_position(c.published_at), newest_first=True)
        )
    return statement.order_by(c.published_at.desc(), c.id.desc()).limit(bindparam("limit"))


def _family_notices(
    facility_codes: frozenset[str],
    inmate_ids: frozenset[str],
    month: str | None,
    after: After,
    limit: int,
    *,
    cards: bool = False,
) -> tuple[Select[Any], dict[str, Any]]:
    _require_limit(limit)
    statement = _family_notices_statement(
        len(facility_codes), len(inmate_ids), month is not None, after is not None, cards=cards
    )
    values: dict[str, Any] = {
        **_numbered_values("facility", facility_codes),
        **_numbered_values("inmate", inmate_ids),
        "limit": limit,
    }
    if month is not None:
        values["month"] = month
    if after is not None:
        values["after_at"], values["after_id"] = after
    return statement, values


class SqlNoticeRepository:
    """Agency and facility notices; deleted ones are kept but never listed."""

    def __init__(self, uow: SqlAlchemyUnitOfWork) -> None:
        self._rows = _Rows(uow, tables.notices, mappers.NOTICES)

    def add(self, notice: AgencyNotice) -> None:
        self._rows.add(notice)

    def get(self, notice_id: str) -> AgencyNotice | None:
        return self._rows.get(notice_id)

    def replace(self, old: AgencyNotice, new: AgencyNotice) -> None:
        self._rows.replace_version(old, new)

    def list_admin(
        self,
        *,
        facility_codes: frozenset[str] | None,
        published_from: datetime | None,
        published_to: datetime | None,
        after: After,
        limit: int,
    ) -> Sequence[AgencyNotice]:
        c = tables.notices.c
        statement = self._rows.select().where(
            c.deleted_at.is_(None),
            _among(c.publisher_facility, facility_codes),
            _within(c.published_at, published_from, published_to),
        )
        return self._rows.all(
            keyset_page(
                statement, c.published_at, c.id, after=after, newest_first=True, limit=limit
            )
        )

    def list_for_family(
        self,
        *,
        facility_codes: frozenset[str],
        inmate_ids: frozenset[str],
        month: str | None,
        after: After,
        limit: int,
    ) -> Sequence[AgencyNotice]:
        statement, values = _family_notices(facility_codes, inmate_ids, month, after, limit)
        return self._rows.every_of(statement, values)

    def family_cards(
        self,
        *,
        facility_codes: frozenset[str],
        inmate_ids: frozenset[str],
        month: str | None,
        after: After,
        limit: int,
    ) -> Sequence[NoticeCardRow]:
        statement, values = _family_notices(
            facility_codes, inmate_ids, month, after, limit, cards=True
        )
        return [
            NoticeCardRow(row[0], row[1], row[2], row[3], row[4], row[5], _stored_files(row[6]))
            for row in self._rows.rows_of(statement, values)
        ]

    def months_for_family(
        self, *, facility_codes: frozenset[str], inmate_ids: frozenset[str]
    ) -> Sequence[str]:
        c = tables.notices.c
        months = self._rows.connection.execute(
            select(c.published_month)
            .where(c.deleted_at.is_(None), _reaches_family(facility_codes, inmate_ids))
            .distinct()
            .order_by(c.published_month.desc())
        ).scalars()
        return [str(month) for month in months]


# --- Messages ---------------------------------------------------------------------------


class SqlMessageRepository:
    """The outbox of mail and SMS messages."""

    _LEASE_CHUNK = 500  # ids per statement: well below every driver's bound-parameter limit

    @staticmethod
    @functools.cache
    def _update(columns: tuple[str, ...]) -> Executable:
        """``UPDATE messages SET <columns> WHERE id = :_key AND version = :_version``,
        built once per set of columns (its cache key is memoised: no new compile)."""
        c = tables.messages.c
        return (
            tables.messages.update()
            .where(c.id == bindparam("_key"), c.version == bindparam("_version"))
            .values({name: bindparam(name) for name in columns})
        )

    @staticmethod
    @functools.cache
    def _lease_statement() -> Executable:
        c = tables.messages.c
        return (
            tables.messages.update()
            .where(tuple_(c.id, c.version).in_(bindparam("keys", expanding=True)))
            .values(next_attempt_at=bindparam("until"), version=c.version + 1)
        )

    @staticmethod
    @functools.cache
    def _by_ids() -> Select[Any]:
        return select(tables.messages).where(
            tables.messages.c.id.in_(bindparam("ids", expanding=True))
        )

    def __init__(self, uow: SqlAlchemyUnitOfWork, *, skip_locked: bool) -> None:
        self._rows = _Rows(uow, tables.messages, mappers.MESSAGES)
        self._skip_locked = skip_locked

    def add(self, message: Message) -> None:
        self._rows.add(message)

    def get(self, message_id: str) -> Message | None:
        return self._rows.get(message_id)

    def get_many(self, message_ids: Collection[str]) -> Mapping[str, Message]:
        wanted = sorted(set(message_ids))
        found: dict[str, Message] = {}
        for start in range(0, len(wanted), self._LEASE_CHUNK):
            rows = self._rows.connection.execute(
                self._by_ids(), {"ids": wanted[start : start + self._LEASE_CHUNK]}
            )
            for row in rows:
                message = self._rows.mapper.from_row(row._mapping)
                found[message.id] = message
        return found

    def replace(self, old: Message, new: Message) -> None:
        """Compare-and-set on the version, with one prebuilt UPDATE per set of changed
        columns (the dispatcher writes the same few columns for every message)."""
        mapper = self._rows.mapper
        old_row = mapper.to_row(old)
        row = mapper.to_row(new)
        if row["id"] != old_row["id"]:
            self._rows.replace_version(old, new)  # raises ValueError: the key is kept
            return
        changed = {
            name: value
            for name, value in row.items()
            if name != "id" and old_row.get(name) != value
        }
        if not changed:
            self._rows.replace_version(old, new)
            return
        statement = self._update(tuple(sorted(changed)))
        try:
            matched = self._rows.connection.execute(
                statement, {**changed, "_key": old.id, "_version": old.version}
            ).rowcount
        except DBAPIError as error:
            if is_lost_race(error):
                raise Conflict("stale_version") from error
            raise
        if matched == 1:
            return
        if self._rows.get(old.id) is None:
            raise NotFound()
        raise Conflict("stale_version")

    def lease(self, messages: Sequence[Message], until: datetime) -> None:
        """One UPDATE per few hundred messages, compare-and-set on every (id, version)."""
        keys = [(message.id, message.version) for message in messages]
        if len({key for key, _ in keys}) != len(keys):
            raise ValueError("lease() takes each message once")
        matched = 0
        for start in range(0, len(keys), self._LEASE_CHUNK):
            try:
                matched += self._rows.connection.execute(
                    self._lease_statement(),
                    {"keys": keys[start : start + self._LEASE_CHUNK], "until": until},
                ).rowcount
            except DBAPIError as error:
                if is_lost_race(error):
                    raise Conflict("stale_version") from error
                raise
        if matched != len(keys):
            # The caller's unit of work ends without a commit: nothing stays leased.
            raise Conflict("stale_version")

    def claim_due(self, now: datetime, *, limit: int) -> Sequence[Message]:
        """``FOR UPDATE SKIP LOCKED`` on PostgreSQL and MariaDB/MySQL (``skip_locked``);
        SQLite has no row locks, its ``BEGIN IMMEDIATE`` serialises dispatchers instead."""
        _require_limit(limit)
        c = tables.messages.c
        statement = (
            self._rows.select()
            .where(
                c.status == MessageStatus.PENDING.value,
                or_(c.next_attempt_at.is_(None), c.next_attempt_at <= now),
            )
            .order_by(c.created_at, c.id)
            .limit(limit)
        )
        if self._skip_locked:
            statement = statement.with_for_update(skip_locked=True)
        return self._rows.all(statement)

    def log_for(self, account_id: str, *, after: After, limit: int) -> Sequence[Message]:
        c = tables.messages.c
        statement = self._rows.select().where(
            c.account_id == account_id, c.status == MessageStatus.SENT.value
        )
        return self._rows.all(
            keyset_page(statement, c.sent_at, c.id, after=after, newest_first=True, limit=limit)
        )

    def list_for_facility(
        self, facility_code: str | None, *, after: After, limit: int
    ) -> Sequence[Message]:
        c = tables.messages.c
        statement = self._rows.select()
        if facility_code is not None:
            statement = statement.where(c.facility_code == facility_code)
        return self._rows.all(
            keyset_page(statement, c.created_at, c.id, after=after, newest_first=True, limit=limit)
        )

    def list_by_account(self, account_id: str, *, after: After, limit: int) -> Sequence[Message]:
        c = tables.messages.c
        statement = self._rows.select().where(c.account_id == account_id)
        return self._rows.all(
            keyset_page(statement, c.created_at, c.id, after=after, newest_first=True, limit=limit)
        )

    def finished_before(self, before: datetime, *, limit: int) -> Sequence[Message]:
        _require_limit(limit)
        c = tables.messages.c
        finished = sorted((MessageStatus.SENT.value, MessageStatus.FAILED.value))
        return self._rows.all(
            self._rows.select()
            .where(c.status.in_(finished), c.created_at < before)
            .order_by(c.created_at, c.id)
            .limit(limit)
        )

    def remove(self, message: Message) -> None:
        self._rows.remove_version(message)


# --- Audit ------------------------------------------------------------------------------


@functools.cache
def _head_statement(*, lock: bool) -> Select[Any]:
    """``SELECT seq, hash FROM audit_head WHERE id = 1 [FOR UPDATE]``, built once."""
    h = tables.audit_head.c
    statement = select(h.seq, h.hash).where(h.id == tables.AUDIT_HEAD_ID)
    return statement.with_for_update() if lock else statement


@functools.cache
def _move_head_statement() -> Executable:
    """The head moved to a new event, its values bound at execution (built once)."""
    h = tables.audit_head.c
    return (
        tables.audit_head.update()
        .where(h.id == tables.AUDIT_HEAD_ID)
        .values(seq=bindparam("new_seq"), hash=bindparam("new_hash"))
    )


class SqlAuditRepository:
    """The append-only audit trail, unique by ``seq`` (the hash chain's order).

    Every writer extends the one chain: it reads the newest event and appends the
    next ``seq``. So that concurrent units of work take turns instead of racing
    for one ``seq``, the one-row table ``audit_head`` names the newest event (its
    ``seq`` and hash) and :meth:`last_link`, :meth:`last` and :meth:`append` lock
    that row (``SELECT … FOR UPDATE`` on PostgreSQL and MariaDB/MySQL,
    ``lock_head``; SQLite's ``BEGIN IMMEDIATE`` already lets one writer in at a
    time) until the unit of work ends. A second writer waits in :meth:`last_link`
    until the first commits or rolls back, then reads the head as it was left.
    Audited writes are thus serialised from their ``last_link()`` to their commit;
    everything they do before it still runs side by side. An append is three
    statements: the locked head read, the INSERT, the head's UPDATE.
    """

    def __init__(self, uow: SqlAlchemyUnitOfWork, *, lock_head: bool) -> None:
        self._rows = _Rows(uow, tables.audit, mappers.AUDIT)
        self._read_head = _head_statement(lock=lock_head)
        self._locked: tuple[object, int] | None = None
        """The transaction that read (and locked) the head, and the ``seq`` it read."""

    def append(self, event: AuditEvent) -> None:
        """Insert the event and move the head to it.

        The head only moves forward, so events added out of order (seeding, copying)
        still leave it at the highest ``seq``. Right after :meth:`last_link` (or
        :meth:`last`) in the same transaction the head is locked and known already,
        so it is not read again: INSERT and UPDATE are all the append costs."""
        head_seq = self._known_head_seq()
        if head_seq is None:
            head_seq = self._head_seq()[0]
        self._locked = None
        self._rows.add(event)
        if event.seq > head_seq:
            self._rows.run(_move_head_statement(), {"new_seq": event.seq, "new_hash": event.hash})

    def last(self) -> AuditEvent | None:
        """The newest event, the head locked until this unit of work ends (see above).

        The event is the one the head names, read after the lock is held: under
        READ COMMITTED each statement sees what was committed before it began, so a
        writer that waited sees the event its predecessor added with the head."""
        head_seq = self._head_seq()[0]
        if head_seq == 0:
            return None
        c = tables.audit.c
        event = self._rows.one(self._rows.select().where(c.seq == head_seq))
        if event is None:  # events removed behind the head's back: the newest left
            return self._newest()
        return event

    def last_link(self) -> tuple[int, str] | None:
        """The head's ``(seq, hash)``, locked (see above): one statement, where
        :meth:`last` needs two. None while the chain is empty."""
        seq, hash_ = self._head_seq()
        return None if seq == 0 else (seq, hash_)

    def _known_head_seq(self) -> int | None:
        """The head's ``seq`` if this transaction read and locked it and has not moved it."""
        locked = self._locked
        if locked is None or locked[0] is not self._rows.connection.get_transaction():
            return None
        return locked[1]

    def _newest(self) -> AuditEvent | None:
        c = tables.audit.c
        return self._rows.one(self._rows.select().order_by(c.seq.desc()).limit(1))

    def _head_seq(self) -> tuple[int, str]:
        """The head's ``seq`` and hash, its row locked; the row is put back first if missing."""
        head = self._read_head_row()
        if head is None:
            self._restore_head()
            head = self._read_head_row()
            if head is None:  # pragma: no cover - the row was just inserted or found
                raise RuntimeError("the audit_head row is missing")
        self._locked = (self._rows.connection.get_transaction(), head[0])
        return head

    def _read_head_row(self) -> tuple[int, str] | None:
        try:
            row = self._rows.first_row_of(self._read_head, {})
        except DBAPIError as error:
            if is_lost_race(error):  # a deadlock through another row, given up on us
                raise Conflict("stale_version") from error
            raise
        return None if row is None else (int(row[0]), str(row[1]))

    def _restore_head(self) -> None:
        """Insert the head row at the newest event, unless another writer just did.

        The migrations create the row; it is only missing when its table was
        emptied (as tests do between cases). Writers that find it missing at the
        same time queue on the insert of the row's key; all but the first leave
        it as the first one wrote it."""
        newest = self._newest()
        values = {
            "id": tables.AUDIT_HEAD_ID,
            "seq": newest.seq if newest else 0,
            "hash": newest.hash if newest else GENESIS_HASH,
        }
        connection = self._rows.connection
        dialect = connection.dialect.name
        if dialect == "postgresql":
            connection.execute(
                postgresql.insert(tables.audit_head).values(values).on_conflict_do_nothing()
            )
        elif dialect in MYSQL_DIALECTS:
            insert = mysql.insert(tables.audit_head).values(values)
            connection.execute(insert.on_duplicate_key_update(id=insert.inserted.id))
        elif dialect == "sqlite":
            connection.execute(
                sqlite.insert(tables.audit_head).values(values).on_conflict_do_nothing()
            )
        else:  # pragma: no cover - the backends above are the supported ones
            with contextlib.suppress(Conflict):
                self._rows.write(tables.audit_head.insert().values(values))

    def search(
        self,
        *,
        actor_id: str | None,
        target_id: str | None,
        since: datetime | None,
        until: datetime | None,
        after: After,
        limit: int,
        action: str | None = None,
    ) -> Sequence[AuditEvent]:
        c = tables.audit.c
        statement = self._rows.select().where(_within(c.at, since, until))
        if actor_id is not None:
            statement = statement.where(c.actor_id == actor_id)
        if target_id is not None:
            statement = statement.where(c.target_id == target_id)
        if action is not None:
            statement = statement.where(c.action == action)
        return self._rows.all(
            keyset_page(statement, c.at, c.id, after=after, newest_first=True, limit=limit)
        )

    def in_order(self) -> Iterator[AuditEvent]:
        """Read in keyset chunks of ``_AUDIT_CHUNK`` events, never the whole table at once."""
        c = tables.audit.c
        last_seq: int | None = None
        while True:
            statement = self._rows.select().order_by(c.seq).limit(_AUDIT_CHUNK)
            if last_seq is not None:
                statement = statement.where(c.seq > last_seq)
            chunk = self._rows.all(statement)
            yield from chunk
            if len(chunk) < _AUDIT_CHUNK:
                return
            last_seq = chunk[-1].seq

    def head(self) -> tuple[int, str] | None:
        """The ``audit_head`` row, read without locking it."""
        h = tables.audit_head.c
        row = self._rows.connection.execute(
            select(h.seq, h.hash).where(h.id == tables.AUDIT_HEAD_ID)
        ).first()
        if row is None or int(row.seq) == 0:
            return None
        return int(row.seq), str(row.hash)


# --- Stored files -----------------------------------------------------------------------

_files_converter = make_converter()

_FILE_COLUMNS: tuple[tuple[StoredFileOwner, Table, str], ...] = (
    ("application", tables.applications, "evidence"),
    ("post", tables.posts, "attachments"),
    ("notice", tables.notices, "attachments"),
)
"""Where rows keep their files: owner kind, table and JSON column, in listing order."""


class SqlStoredFiles:
    """Every file a row points to, read as ``(id, JSON column)`` pairs in keyset chunks,
    so neither whole rows nor a whole table are ever held at once."""

    def __init__(self, uow: SqlAlchemyUnitOfWork) -> None:
        self._uow = uow

    def __iter__(self) -> Iterator[tuple[StoredFileOwner, str, StoredFile]]:
        for kind, table, column_name in _FILE_COLUMNS:
            for owner_id, files in self._rows(table, column_name):
                for stored in files:
                    yield kind, owner_id, stored

    def _rows(self, table: Table, column_name: str) -> Iterator[tuple[str, list[StoredFile]]]:
        key, column = table.c.id, table.c[column_name]
        last_id: str | None = None
        while True:
            statement = select(key, column).order_by(key).limit(_STORED_FILES_CHUNK)
            if last_id is not None:
                statement = statement.where(key > last_id)
            chunk = self._uow.connection.execute(statement).all()
            for owner_id, value in chunk:
                yield str(owner_id), _files_converter.structure(value or [], list[StoredFile])
            if len(chunk) < _STORED_FILES_CHUNK:
                return
            last_id = str(chunk[-1][0])
