"""Reading everything held about one person, a keyset page at a time."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from contactbook.domain.application import (
    ServiceApplication,
)
from contactbook.domain.audit import AuditEvent
from contactbook.domain.message import Message
from contactbook.domain.post import FamilyPost, PostStatus
from contactbook.ports.storage import After, UnitOfWork

T = TypeVar("T")


PAGE = 200
"""Rows asked for at a time when walking a whole keyset list (see ``every_row``)."""


def every_row(
    fetch: Callable[[After], Sequence[T]], key: Callable[[T], tuple[datetime, str]]
) -> list[T]:
    """Every row of a keyset list, page after page; ``fetch(after)`` asks for ``PAGE``
    rows after ``after`` (a shorter page is the last)."""
    rows: list[T] = []
    after: After = None
    while True:
        page = fetch(after)
        rows.extend(page)
        if len(page) < PAGE:
            return rows
        after = key(page[-1])


def events_where(uow: UnitOfWork, **filters: Any) -> list[AuditEvent]:
    search: dict[str, Any] = {"actor_id": None, "target_id": None, "since": None, "until": None}
    search.update(filters)
    return every_row(
        lambda after: uow.audit.search(after=after, limit=PAGE, **search),
        lambda event: (event.at, event.id),
    )


def applications_of(uow: UnitOfWork, account_id: str) -> list[ServiceApplication]:
    """Every application of the account, newest first."""
    return every_row(
        lambda after: uow.applications.list_by_applicant(account_id, after=after, limit=PAGE),
        lambda a: (a.submitted_at, a.id),
    )


def posts_of(
    uow: UnitOfWork, account_id: str, status: PostStatus | None = None
) -> list[FamilyPost]:
    """Every post of the account (of one status), newest first."""
    return every_row(
        lambda after: uow.posts.list_by_author(account_id, status=status, after=after, limit=PAGE),
        lambda p: (p.submitted_at, p.id),
    )


def messages_of(uow: UnitOfWork, account_id: str) -> list[Message]:
    """Every message of the account, whatever its status, newest first."""
    return every_row(
        lambda after: uow.messages.list_by_account(account_id, after=after, limit=PAGE),
        lambda m: (m.created_at, m.id),
    )
