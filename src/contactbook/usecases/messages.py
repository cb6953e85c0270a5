"""簡訊電子郵件紀錄 and the outbox dispatcher."""

from __future__ import annotations

from datetime import datetime

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
from contactbook.usecases import access
from contactbook.usecases.audit_trail import record
from contactbook.usecases.context import Context
from contactbook.usecases.labels import label
from contactbook.usecases.paging import after_cursor, check_limit, page_of
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


class Messages:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

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
                body=m.body,
            ),
        )

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
                attrs.evolve(
                    message,
                    status=MessageStatus.PENDING,
                    next_attempt_at=None,
                    version=message.version + 1,
                ),
            )
            record(ctx, uow, member, "message.retry", "message", message.id)
            uow.commit()

    def dispatch(self, limit: int = 100) -> DispatchReport:
        """Send due messages; several dispatchers may run at once.

        Claiming leases the messages (committed at once), so no other dispatcher
        sends them; each outcome is committed right after its send. A dispatcher
        that dies mid-batch leaves its lease to expire, and the message in flight
        may go out again with the same Message-ID, which the receiver can recognise.
        """
        ctx = self._ctx
        sent = retrying = failed = 0
        with ctx.uow() as uow:
            lease_end = ctx.now() + ctx.settings.dispatch_lease
            due: list[tuple[Message, Message]] = []
            for message in uow.messages.claim_due(ctx.now(), limit=limit):
                leased = message.leased(lease_end)
                uow.messages.replace(message, leased)
                due.append((message, leased))
            uow.commit()
        done = 0
        try:
            for _, claimed in due:
                done += 1
                with ctx.uow() as uow:
                    current = uow.messages.get(claimed.id)
                    if current is None or current.version != claimed.version:
                        continue  # the lease ran out and another dispatcher took it
                    message = current
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
                    uow.messages.replace(message, after)
                    uow.commit()
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

    def _release(self, unsent: list[tuple[Message, Message]]) -> None:
        """Give back the leases of messages this batch did not get to."""
        if not unsent:
            return
        with self._ctx.uow() as uow:
            for original, claimed in unsent:
                current = uow.messages.get(claimed.id)
                if current is not None and current.version == claimed.version:
                    uow.messages.replace(
                        current,
                        attrs.evolve(
                            current,
                            next_attempt_at=original.next_attempt_at,
                            version=current.version + 1,
                        ),
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
