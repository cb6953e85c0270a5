"""The audit trail for administrators, and verification of its hash chain."""

from __future__ import annotations

import hmac
from datetime import date, timedelta
from typing import ClassVar

import attrs

from contactbook.domain.audit import GENESIS_HASH, AuditEvent, chain_hash
from contactbook.domain.pagination import Page
from contactbook.domain.staff import Role
from contactbook.domain.time import taipei_day_start
from contactbook.errors import PermissionDenied
from contactbook.usecases._support import access
from contactbook.usecases._support.context import Context
from contactbook.usecases._support.paging import after_cursor, check_limit, page_of
from contactbook.usecases._support.use_case import use_case
from contactbook.usecases.principals import StaffPrincipal

__all__ = ["Audit", "AuditVerification"]


@attrs.frozen
class AuditVerification:
    """The outcome of :meth:`Audit.verify`.

    ``last_hash`` is the hash of the newest intact event: an embedding system that
    copies it somewhere the database's writers cannot reach (a signed log, a
    notary, a printout) can later tell that the chain it verifies still ends
    there, which an unkeyed chain alone cannot prove against someone rewriting all
    of it. ``problem`` says what broke at ``first_broken_seq``: ``hash`` (an edited,
    inserted or removed event, or one sealed with another key), ``unknown_key``
    (sealed with a key the settings do not hold), ``unkeyed`` (a plain SHA-256 event
    where a keyed one belongs) or ``missing_newest`` (events after the last one
    found are gone).
    """

    ok: bool
    checked: int
    first_broken_seq: int | None = None
    last_hash: str = GENESIS_HASH
    keyed: bool = False
    """Whether the chain was verified with a key (a rewrite needs the key)."""
    problem: str | None = None


class Audit:
    group: ClassVar[str] = "audit"

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    @use_case(acts_for="admin")
    def events(
        self,
        admin: StaffPrincipal,
        actor_id: str | None = None,
        target_id: str | None = None,
        since: date | None = None,
        until: date | None = None,
        cursor: str | None = None,
        limit: int = 50,
        action: str | None = None,
    ) -> Page[AuditEvent]:
        """Events newest first, for Agency administrators: by actor, target, period
        (Taiwan days, ``until`` included) and action (e.g. ``authorization.denied``)."""
        check_limit(limit)
        with self._ctx.uow() as uow:
            member = access.staff_with_role(uow, admin, Role.ADMIN)
            if not member.is_agency:
                raise PermissionDenied("agency_only")
            rows = uow.audit.search(
                actor_id=actor_id,
                target_id=target_id,
                since=taipei_day_start(since) if since else None,
                until=taipei_day_start(until + timedelta(days=1)) if until else None,
                after=after_cursor(cursor),
                limit=limit + 1,
                action=action,
            )
        return page_of(rows, limit, lambda e: (e.at, e.id), lambda e: e)

    @use_case()
    def verify(self) -> AuditVerification:
        """Recompute the chain: any edited, removed or inserted event breaks it.

        Where the store records the newest event apart from the events (SQL's
        ``audit_head``), the chain must also reach that event, so removing the newest
        events is noticed too. The head is read first: events appended meanwhile are
        checked like the others.

        With ``Settings.audit_keys`` each event is checked with the key it names, and
        events after ``Settings.audit_unkeyed_through`` must be keyed: without the
        key, no rewrite verifies.
        """
        settings = self._ctx.settings
        keyed = settings.audit_key is not None
        checked = 0
        previous_hash = GENESIS_HASH
        expected_seq = 1

        def broken(seq: int, problem: str) -> AuditVerification:
            return AuditVerification(False, checked, seq, previous_hash, keyed, problem)

        with self._ctx.uow() as uow:
            head = uow.audit.head()
            for event in uow.audit.in_order():
                key = settings.audit_keys.get(event.key_id) if event.key_id else None
                if event.key_id and key is None:
                    return broken(event.seq, "unknown_key")
                if keyed and not event.key_id and event.seq > settings.audit_unkeyed_through:
                    return broken(event.seq, "unkeyed")
                if (
                    event.seq != expected_seq
                    or event.prev_hash != previous_hash
                    or not hmac.compare_digest(chain_hash(event, key), event.hash)
                    or (head is not None and event.seq == head[0] and event.hash != head[1])
                ):
                    return broken(event.seq, "hash")
                checked += 1
                previous_hash = event.hash
                expected_seq += 1
        if head is not None and head[0] >= expected_seq:  # the newest events are gone
            return broken(expected_seq, "missing_newest")
        return AuditVerification(True, checked, None, previous_hash, keyed)
