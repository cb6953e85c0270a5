"""The audit trail and the head row its writers take turns on."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Executable, Select, bindparam, select
from sqlalchemy.dialects import mysql, postgresql, sqlite

from contactbook.adapters.storage.sqlalchemy import converter as mappers
from contactbook.adapters.storage.sqlalchemy import tables
from contactbook.adapters.storage.sqlalchemy.columns import MYSQL_DIALECTS
from contactbook.adapters.storage.sqlalchemy.repositories.conflicts import conflict_on_lost_race
from contactbook.adapters.storage.sqlalchemy.repositories.queries import within
from contactbook.adapters.storage.sqlalchemy.repositories.rows import Rows
from contactbook.domain.audit import GENESIS_HASH, AuditEvent
from contactbook.errors import Conflict
from contactbook.ports.storage import After

if TYPE_CHECKING:
    from contactbook.adapters.storage.sqlalchemy.storage import SqlAlchemyUnitOfWork

__all__ = ["SqlAuditRepository"]

_AUDIT_CHUNK = 500


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
    ``row_locking``; SQLite's ``BEGIN IMMEDIATE`` already lets one writer in at a
    time) until the unit of work ends. A second writer waits in :meth:`last_link`
    until the first commits or rolls back, then reads the head as it was left.
    Audited writes are thus serialised from their ``last_link()`` to their commit;
    everything they do before it still runs side by side. An append is three
    statements: the locked head read, the INSERT, the head's UPDATE.
    """

    def __init__(self, uow: SqlAlchemyUnitOfWork) -> None:
        self._rows = Rows(uow, tables.audit, mappers.AUDIT)
        self._read_head = _head_statement(lock=uow.row_locking)
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
        with conflict_on_lost_race:  # a deadlock through another row, given up on us
            row = self._rows.first_row_of(self._read_head, {})
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
        statement = self._rows.select().where(within(c.at, since, until))
        if actor_id is not None:
            statement = statement.where(c.actor_id == actor_id)
        if target_id is not None:
            statement = statement.where(c.target_id == target_id)
        if action is not None:
            statement = statement.where(c.action == action)
        return self._rows.page(statement, c.at, after, limit, newest_first=True)

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
