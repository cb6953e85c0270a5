"""The audit trail."""

from __future__ import annotations

from collections.abc import Hashable, Iterator, Sequence
from datetime import datetime

from contactbook.adapters.storage.memory.repository import Table, within
from contactbook.domain.audit import AuditEvent
from contactbook.ports.storage import After


class MemoryAuditRepository(Table[AuditEvent]):
    """The append-only audit trail, unique by ``seq`` (the hash chain's order)."""

    def _key(self, event: AuditEvent) -> str:
        return event.id

    def _unique(self, event: AuditEvent) -> tuple[Hashable | None, ...]:
        return (event.seq,)

    def append(self, event: AuditEvent) -> None:
        self._insert(event)

    def last(self) -> AuditEvent | None:
        events = self._rows.values()
        return max(events, key=lambda event: event.seq) if events else None

    def last_link(self) -> tuple[int, str] | None:
        newest = self.last()
        return (newest.seq, newest.hash) if newest else None

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
        return self._newest(
            lambda event: (
                (actor_id is None or event.actor_id == actor_id)
                and (target_id is None or event.target_id == target_id)
                and (action is None or event.action == action)
                and within(event.at, since, until)
            ),
            lambda event: event.at,
            after=after,
            limit=limit,
        )

    def in_order(self) -> Iterator[AuditEvent]:
        """Sorted when called: later appends are not seen."""
        return iter(sorted(self._rows.values(), key=lambda event: event.seq))

    def head(self) -> tuple[int, str] | None:
        """The newest event's ``(seq, hash)``: memory keeps no head apart from the events."""
        return self.last_link()
