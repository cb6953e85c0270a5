"""The outbox of mail and SMS messages."""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Executable, Select, bindparam, or_, select, tuple_

from contactbook.adapters.storage.sqlalchemy import converter as mappers
from contactbook.adapters.storage.sqlalchemy import tables
from contactbook.adapters.storage.sqlalchemy.repositories.base import TableRepository
from contactbook.adapters.storage.sqlalchemy.repositories.conflicts import conflict_on_lost_race
from contactbook.adapters.storage.sqlalchemy.repositories.queries import require_limit
from contactbook.domain.message import Message, MessageStatus
from contactbook.errors import Conflict
from contactbook.ports.storage import After

if TYPE_CHECKING:
    from contactbook.adapters.storage.sqlalchemy.storage import SqlAlchemyUnitOfWork

__all__ = ["SqlMessageRepository"]


class SqlMessageRepository(
    TableRepository[Message], table=tables.messages, mapper=mappers.MESSAGES
):
    """The outbox of mail and SMS messages."""

    _LEASE_CHUNK = 500  # ids per statement: well below every driver's bound-parameter limit

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

    def __init__(self, uow: SqlAlchemyUnitOfWork) -> None:
        super().__init__(uow)
        self._skip_locked = uow.row_locking

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

    def lease(self, messages: Sequence[Message], until: datetime) -> None:
        """One UPDATE per few hundred messages, compare-and-set on every (id, version)."""
        keys = [(message.id, message.version) for message in messages]
        if len({key for key, _ in keys}) != len(keys):
            raise ValueError("lease() takes each message once")
        matched = 0
        for start in range(0, len(keys), self._LEASE_CHUNK):
            with conflict_on_lost_race:
                matched += self._rows.connection.execute(
                    self._lease_statement(),
                    {"keys": keys[start : start + self._LEASE_CHUNK], "until": until},
                ).rowcount
        if matched != len(keys):
            # The caller's unit of work ends without a commit: nothing stays leased.
            raise Conflict("stale_version")

    def claim_due(self, now: datetime, *, limit: int) -> Sequence[Message]:
        """``FOR UPDATE SKIP LOCKED`` on PostgreSQL and MariaDB/MySQL (``row_locking``);
        SQLite has no row locks, its ``BEGIN IMMEDIATE`` serialises dispatchers instead."""
        require_limit(limit)
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
        return self._rows.page(statement, c.sent_at, after, limit, newest_first=True)

    def list_for_facility(
        self, facility_code: str | None, *, after: After, limit: int
    ) -> Sequence[Message]:
        c = tables.messages.c
        statement = self._rows.select()
        if facility_code is not None:
            statement = statement.where(c.facility_code == facility_code)
        return self._rows.page(statement, c.created_at, after, limit, newest_first=True)

    def list_by_account(self, account_id: str, *, after: After, limit: int) -> Sequence[Message]:
        c = tables.messages.c
        statement = self._rows.select().where(c.account_id == account_id)
        return self._rows.page(statement, c.created_at, after, limit, newest_first=True)

    def finished_before(self, before: datetime, *, limit: int) -> Sequence[Message]:
        require_limit(limit)
        c = tables.messages.c
        finished = sorted((MessageStatus.SENT.value, MessageStatus.FAILED.value))
        return self._rows.all(
            self._rows.select()
            .where(c.status.in_(finished), c.created_at < before)
            .order_by(c.created_at, c.id)
            .limit(limit)
        )
