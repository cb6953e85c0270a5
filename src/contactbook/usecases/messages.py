"""簡訊電子郵件紀錄 and the outbox dispatcher."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import ClassVar

import attrs

from contactbook.domain.masking import mask_email, mask_mobile
from contactbook.domain.message import Channel, Message, MessageStatus
from contactbook.domain.pagination import Page
from contactbook.domain.staff import Role
from contactbook.domain.time import format_datetime
from contactbook.errors import Conflict, NotFound
from contactbook.ports.delivery import (
    DeliveryServiceUnavailable,
    OutgoingMail,
    OutgoingSms,
    PermanentDeliveryFailure,
    TemporaryDeliveryFailure,
)
from contactbook.ports.storage import UnitOfWork
from contactbook.usecases._support import access
from contactbook.usecases._support.context import Context
from contactbook.usecases._support.paging import after_cursor, check_limit, page_of
from contactbook.usecases._support.recording import record
from contactbook.usecases._support.use_case import use_case
from contactbook.usecases.labels import label
from contactbook.usecases.principals import FamilyPrincipal, StaffPrincipal

__all__ = ["DispatchReport", "MessageLogEntry", "MessageStatusEntry", "Messages"]


@attrs.frozen
class MessageLogEntry:
    """One row of 簡訊電子郵件紀錄: 分類, 傳送時間, 傳送目的, 主旨, 內文."""

    id: str
    category: str
    sent_at: datetime
    sent_time: str
    destination: str
    subject: str
    body: str


@attrs.frozen
class MessageStatusEntry:
    """Delivery status of one message, for staff of its facility."""

    id: str
    category: str
    destination: str
    subject: str
    status: MessageStatus
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    last_error: str


@attrs.frozen
class DispatchReport:
    sent: int
    retrying: int
    failed: int


def _describe(exc: Exception) -> str:
    return str(exc) or type(exc).__name__


def _masked(message: Message) -> str:
    if message.channel is Channel.SMS:
        return mask_mobile(message.destination)
    return mask_email(message.destination)


_CONFIRM_AHEAD = 16
"""How many claimed messages one read confirms unchanged before they are sent."""
_CONFIRMATION_AGE = timedelta(seconds=1)
"""How long such a confirmation is trusted (never past the lease)."""


class _Confirmations:
    """Claimed messages last read unchanged, and when: what may be sent without a read."""

    def __init__(self, lease_end: datetime) -> None:
        self._lease_end = lease_end
        self._rows: dict[str, tuple[Message, datetime]] = {}

    def add(self, messages: list[Message], read_at: datetime) -> None:
        trusted_until = min(read_at + _CONFIRMATION_AGE, self._lease_end)
        for message in messages:
            self._rows[message.id] = (message, trusted_until)

    def get(self, claimed: Message, now: datetime) -> Message | None:
        """The confirmed row of ``claimed`` if it is still trusted at ``now``."""
        found = self._rows.get(claimed.id)
        if found is None:
            return None
        message, trusted_until = found
        if now >= trusted_until or message.version != claimed.version:
            return None
        return message


class Messages:
    group: ClassVar[str] = "messages"

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    @use_case(acts_for="principal")
    def log_for(
        self, principal: FamilyPrincipal, cursor: str | None = None, limit: int = 20
    ) -> Page[MessageLogEntry]:
        """Every mail and SMS sent to the caller, newest first, destination masked."""
        check_limit(limit)
        with self._ctx.uow() as uow:
            account = access.family(uow, principal)
            rows = uow.messages.log_for(account.id, after=after_cursor(cursor), limit=limit + 1)
        return page_of(
            rows,
            limit,
            lambda m: (m.sent_at or m.created_at, m.id),
            lambda m: MessageLogEntry(
                id=m.id,
                category=label(m.channel),
                sent_at=m.sent_at or m.created_at,
                sent_time=format_datetime(m.sent_at or m.created_at),
                destination=_masked(m),
                subject=m.subject,
                body=m.readable_body,
            ),
        )

    @use_case(acts_for="staff")
    def for_staff(
        self,
        staff: StaffPrincipal,
        facility: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[MessageStatusEntry]:
        """Delivery status of the messages about the staff member's facility."""
        check_limit(limit)
        with self._ctx.uow() as uow:
            member = access.staff_with_role(uow, staff, Role.REVIEWER)
            codes = access.scope_codes(member, facility)
            code = next(iter(codes)) if codes else None
            rows = uow.messages.list_for_facility(code, after=after_cursor(cursor), limit=limit + 1)
        return page_of(
            rows,
            limit,
            lambda m: (m.created_at, m.id),
            lambda m: MessageStatusEntry(
                id=m.id,
                category=label(m.channel),
                destination=_masked(m),
                subject=m.subject,
                status=m.status,
                attempts=m.attempts,
                created_at=m.created_at,
                sent_at=m.sent_at,
                last_error=m.last_error,
            ),
        )

    @use_case(acts_for="admin", target=("message", "message_id"))
    def retry(self, admin: StaffPrincipal, message_id: str) -> None:
        """Put a failed message back in the queue."""
        ctx = self._ctx
        with ctx.uow() as uow:
            member = access.staff_with_role(uow, admin, Role.ADMIN)
            message = uow.messages.get(message_id)
            if message is None:
                raise NotFound()
            access.require_scope(member, message.facility_code) if message.facility_code else None
            if message.status is not MessageStatus.FAILED:
                raise Conflict("not_failed")
            uow.messages.replace(
                message,
                message.requeued(),
            )
            record(ctx, uow, member, "message.retry", "message", message.id)
            uow.commit()

    @use_case()
    def dispatch(self, limit: int = 100) -> DispatchReport:
        """Send due messages; several dispatchers may run at once.

        Claiming leases the messages (one write, committed at once), so no other
        dispatcher sends them; each outcome is committed right after its send, in a
        short transaction of its own (none is open while the mail server is talked
        to). A dispatcher that dies mid-batch leaves its lease to expire, and the
        message in flight may go out again with the same Message-ID, which the
        receiver can recognise.

        Before a message is sent, its row is confirmed unchanged since the claim (an
        account closed meanwhile, or a lease that ran out and another dispatcher
        took): the claim confirms the first few; later ones are read a few at a time
        after the previous outcome is committed, and a confirmation is trusted for a
        second at most, never past the lease. A row that changed anyway by the time
        its outcome is written (an account closed within that second) keeps its new
        state, and the batch goes on.
        """
        ctx = self._ctx
        sent = retrying = failed = 0
        with ctx.uow() as uow:
            now = ctx.now()
            lease_end = now + ctx.settings.dispatch_lease
            claimed = list(uow.messages.claim_due(now, limit=limit))
            uow.messages.lease(claimed, lease_end)
            uow.commit()
        due = [(message, message.leased(lease_end)) for message in claimed]
        confirmed = _Confirmations(lease_end)
        confirmed.add([leased for _, leased in due[:_CONFIRM_AHEAD]], now)
        done = 0
        try:
            for index, (_, claimed_message) in enumerate(due):
                done = index + 1
                message = confirmed.get(claimed_message, ctx.now())
                if message is None:
                    with ctx.uow() as uow:
                        message = self._confirm(uow, due, index, confirmed)
                if message is None:
                    continue  # changed since the claim (the lease ran out, the account closed)
                unavailable = False
                try:
                    self._send(message)
                except TemporaryDeliveryFailure as exc:
                    unavailable = isinstance(exc, DeliveryServiceUnavailable)
                    after = self._failed(message, _describe(exc), temporary=True)
                except PermanentDeliveryFailure as exc:
                    after = self._failed(message, _describe(exc), temporary=False)
                else:
                    after = message.sent(ctx.now())
                try:
                    with ctx.uow() as uow:
                        uow.messages.replace(message, after)
                        uow.commit()
                except Conflict:
                    # The row changed since it was confirmed (its account closed and
                    # failed its messages): it stays as it now is; the batch goes on.
                    continue
                # The outcome is committed first: a failing read ahead must not undo it.
                if not unavailable and done < len(due):
                    upcoming = due[done][1]
                    if confirmed.get(upcoming, ctx.now()) is None:
                        with ctx.uow() as uow:
                            self._confirm(uow, due, done, confirmed)
                if after.status is MessageStatus.SENT:
                    sent += 1
                elif after.status is MessageStatus.FAILED:
                    failed += 1
                else:
                    retrying += 1
                if unavailable:
                    break  # the server is down: the rest of the batch waits for the next run
        finally:
            self._release(due[done:])
            for channel in (ctx.mailer, ctx.sms):
                close = getattr(channel, "close", None)
                if callable(close):
                    close()
        return DispatchReport(sent, retrying, failed)

    def _confirm(
        self,
        uow: UnitOfWork,
        due: list[tuple[Message, Message]],
        start: int,
        confirmed: _Confirmations,
    ) -> Message | None:
        """Read the rows of the next few claimed messages; return the one at ``start``
        if it is still as this dispatcher claimed it."""
        upcoming = [leased for _, leased in due[start : start + _CONFIRM_AHEAD]]
        read_at = self._ctx.now()
        current = uow.messages.get_many([leased.id for leased in upcoming])
        confirmed.add(
            [
                row
                for leased in upcoming
                if (row := current.get(leased.id)) is not None and row.version == leased.version
            ],
            read_at,
        )
        return confirmed.get(upcoming[0], read_at)

    def _release(self, unsent: list[tuple[Message, Message]]) -> None:
        """Give back the leases of messages this batch did not get to."""
        if not unsent:
            return
        with self._ctx.uow() as uow:
            current = uow.messages.get_many([claimed.id for _, claimed in unsent])
            for original, claimed in unsent:
                row = current.get(claimed.id)
                if row is not None and row.version == claimed.version:
                    uow.messages.replace(
                        row,
                        row.lease_released(original.next_attempt_at),
                    )
            uow.commit()

    def _send(self, message: Message) -> None:
        if message.channel is Channel.SMS:
            self._ctx.sms.send(OutgoingSms(message.id, message.destination, message.body))
        else:
            self._ctx.mailer.send(
                OutgoingMail(message.id, message.destination, message.subject, message.body)
            )

    def _failed(self, message: Message, error: str, *, temporary: bool) -> Message:
        settings = self._ctx.settings
        attempts = message.attempts + 1
        if temporary and attempts < settings.dispatch_max_attempts:
            delay = settings.dispatch_backoff * (2 ** (attempts - 1))
            return message.attempt_failed(error, retry_at=self._ctx.now() + delay)
        return message.attempt_failed(error, retry_at=None)
