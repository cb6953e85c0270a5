"""Deletion and stop-processing requests, kept in the audit trail (append-only,
hash-chained): neither lost nor backdated without ``audit.verify()`` noticing."""

from __future__ import annotations

import enum
from datetime import date, datetime, timedelta

import attrs

from contactbook.domain.audit import AuditEvent
from contactbook.domain.masking import mask_email, mask_name
from contactbook.domain.time import format_date, in_taipei
from contactbook.ports.storage import UnitOfWork
from contactbook.usecases._support import access
from contactbook.usecases._support.context import Context
from contactbook.usecases._support.recording import record
from contactbook.usecases.personal_data.rows import events_where
from contactbook.usecases.principals import FamilyPrincipal

REQUEST_ACTION = "personal_data.request"
COMPLETE_ACTION = "personal_data.complete"


class RequestKind(enum.StrEnum):
    DELETION = "deletion"  # 刪除
    STOP_PROCESSING = "stop_processing"  # 停止蒐集、處理或利用


@attrs.frozen
class DataRequest:
    """A deletion or stop-processing request, as an administrator handles it."""

    account_id: str
    kind: RequestKind
    requested_at: datetime
    requested_on: str
    due_on: date
    """The Art. 13 deadline, a Taiwan calendar day."""
    name: str
    """The account's name, masked (李○○)."""
    email: str
    """The account's e-mail, masked (ty*****)."""
    completed_at: datetime | None = None

    @property
    def is_open(self) -> bool:
        return self.completed_at is None


def due_date(ctx: Context, requested_at: datetime) -> date:
    """The Art. 13 deadline of a request made at ``requested_at`` (Taiwan days)."""
    return in_taipei(requested_at).date() + timedelta(days=ctx.settings.deletion_deadline_days)


def request_of(ctx: Context, uow: UnitOfWork, event: AuditEvent) -> DataRequest | None:
    details = dict(event.details)
    try:
        kind = RequestKind(details.get("kind", ""))
    except ValueError:
        return None
    if event.target_id is None:
        return None
    account = uow.accounts.get(event.target_id)
    return DataRequest(
        account_id=event.target_id,
        kind=kind,
        requested_at=event.at,
        requested_on=format_date(event.at),
        due_on=due_date(ctx, event.at),
        name=mask_name(account.name) if account else "",
        email=mask_email(account.email.value) if account else "",
    )


def requests_of(ctx: Context, uow: UnitOfWork, account_id: str | None = None) -> list[DataRequest]:
    """Every request (of one account, or of all), oldest first, with its completion."""
    requests = events_where(uow, action=REQUEST_ACTION, target_id=account_id)
    completions = events_where(uow, action=COMPLETE_ACTION, target_id=account_id)
    done: dict[tuple[str | None, str], list[AuditEvent]] = {}
    for event in sorted(completions, key=lambda e: e.seq):
        done.setdefault((event.target_id, dict(event.details).get("kind", "")), []).append(event)
    found: list[DataRequest] = []
    for event in sorted(requests, key=lambda e: e.seq):
        request = request_of(ctx, uow, event)
        if request is None:
            continue
        later = [
            c for c in done.get((event.target_id, request.kind.value), []) if c.seq > event.seq
        ]
        if later:
            request = attrs.evolve(request, completed_at=later[0].at)
        found.append(request)
    return found


def open_request(
    ctx: Context, uow: UnitOfWork, account_id: str, kind: RequestKind
) -> DataRequest | None:
    for request in requests_of(ctx, uow, account_id):
        if request.kind is kind and request.is_open:
            return request
    return None


def file_request(ctx: Context, principal: FamilyPrincipal, kind: RequestKind) -> DataRequest:
    """Record the caller's request with its date and deadline; asking again while it
    is open answers the first request (same date, same deadline)."""
    now = ctx.now()
    with ctx.uow() as uow:
        account = access.family(uow, principal)
        existing = open_request(ctx, uow, account.id, kind)
        if existing is not None:
            return existing
        due = due_date(ctx, now)
        if kind is RequestKind.DELETION and account.deletion_requested_at is None:
            uow.accounts.replace(account, account.deletion_requested(now))
        record(
            ctx,
            uow,
            account,
            REQUEST_ACTION,
            "account",
            account.id,
            details={"kind": kind.value, "due_on": due.isoformat()},
        )
        uow.commit()
    return DataRequest(
        account_id=account.id,
        kind=kind,
        requested_at=now,
        requested_on=format_date(now),
        due_on=due,
        name=mask_name(account.name),
        email=mask_email(account.email.value),
    )


# --- Export -------------------------------------------------------------------------
