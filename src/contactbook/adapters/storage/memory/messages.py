"""Outbox messages: the claims of the dispatcher and the lists of what was sent."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from contactbook.adapters.storage.memory.repository import VersionedRepository
from contactbook.domain.message import Message, MessageStatus
from contactbook.ports.storage import After


def _created_at(message: Message) -> datetime:
    return message.created_at


class MemoryMessageRepository(VersionedRepository[Message]):
    """The outbox of mail and SMS messages."""

    def get_many(self, message_ids: Collection[str]) -> Mapping[str, Message]:
        rows = self._rows
        return {key: rows[key] for key in set(message_ids) if key in rows}

    def lease(self, messages: Sequence[Message], until: datetime) -> None:
        for message in messages:
            self._require_unchanged(message)
        for message in messages:
            self.replace(message, message.leased(until))

    def claim_due(self, now: datetime, *, limit: int) -> Sequence[Message]:
        """Nothing to lock: the unit of work holds the storage's lock, which already
        keeps other dispatchers out."""
        return self._oldest(
            lambda message: (
                message.status is MessageStatus.PENDING
                and (message.next_attempt_at is None or message.next_attempt_at <= now)
            ),
            _created_at,
            limit=limit,
        )

    def log_for(self, account_id: str, *, after: After, limit: int) -> Sequence[Message]:
        return self._newest(
            lambda message: (
                message.account_id == account_id and message.status is MessageStatus.SENT
            ),
            lambda message: message.sent_at,
            after=after,
            limit=limit,
        )

    def list_for_facility(
        self, facility_code: str | None, *, after: After, limit: int
    ) -> Sequence[Message]:
        return self._newest(
            lambda message: facility_code is None or message.facility_code == facility_code,
            _created_at,
            after=after,
            limit=limit,
        )

    def list_by_account(self, account_id: str, *, after: After, limit: int) -> Sequence[Message]:
        return self._newest(
            lambda message: message.account_id == account_id,
            _created_at,
            after=after,
            limit=limit,
        )

    def finished_before(self, before: datetime, *, limit: int) -> Sequence[Message]:
        return self._oldest(
            lambda message: message.status in _FINISHED_MESSAGES and message.created_at < before,
            _created_at,
            limit=limit,
        )

    def remove(self, message: Message) -> None:
        self._delete(message)


_FINISHED_MESSAGES = frozenset({MessageStatus.SENT, MessageStatus.FAILED})
