"""Retention: what is kept, and for how long (``maintenance.apply_retention``).

Each period is a :class:`~contactbook.usecases.settings.Settings` field (None keeps
that kind of data for good):

==========================  ===============================  ======================
data                        counted from                     setting
==========================  ===============================  ======================
delivered posts + files     delivery to the inmate           ``retain_delivered_posts``
rejected posts + files      the decision                     ``retain_rejected_posts``
expired posts + files       the expiry                       ``retain_expired_posts``
withdrawn posts + files     the withdrawal                   ``retain_withdrawn_posts``
sent or failed mail / SMS   its creation                     ``retain_messages``
closed accounts             the closing (request completed)  ``retain_closed_accounts``
==========================  ===============================  ======================

A closed account goes with everything still held about it: applications and their
evidence files, grants, posts and their files, messages and tokens. Rows are
deleted first and committed, then their files: a file that cannot be deleted is
left for ``maintenance.sweep_orphan_files``, never a row without its file. Audit
events are kept (they name people by id only); each run that removed something
records one ``retention.apply`` event with the counts, and every removed account
its own ``retention.account_removed``.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from contactbook.domain.account import AccountStatus
from contactbook.domain.post import PostStatus
from contactbook.ports.storage import UnitOfWork
from contactbook.usecases._support.context import Context
from contactbook.usecases._support.recording import record
from contactbook.usecases.personal_data.erasure import delete_files, stored_keys
from contactbook.usecases.personal_data.requests import COMPLETE_ACTION
from contactbook.usecases.personal_data.rows import applications_of, events_where, posts_of

__all__ = ["RetentionReport", "apply_retention"]


@attrs.frozen
class RetentionReport:
    delivered_posts: int = 0
    rejected_posts: int = 0
    expired_posts: int = 0
    withdrawn_posts: int = 0
    messages: int = 0
    closed_accounts: int = 0
    files: int = 0

    @property
    def removed(self) -> int:
        """Rows removed (files not counted)."""
        return (
            self.delivered_posts
            + self.rejected_posts
            + self.expired_posts
            + self.withdrawn_posts
            + self.messages
            + self.closed_accounts
        )


def _cutoff(now: datetime, period: timedelta | None) -> datetime | None:
    return None if period is None else now - period


def _posts(ctx: Context, status: PostStatus, before: datetime, batch: int) -> tuple[int, int]:
    """Remove the posts that ended in ``status`` before ``before``; (posts, files)."""
    removed = files = 0
    while True:
        keys: list[str] = []
        with ctx.uow() as uow:
            due = list(uow.posts.ended_before(status, before, limit=batch))
            for post in due:
                current = uow.posts.get(post.id)  # a removed original moves its revision on
                if current is None:
                    continue
                keys.extend(stored_keys(current.attachments))
                uow.posts.remove(current)
            uow.commit()
        removed += len(due)
        files += delete_files(ctx, keys)
        if len(due) < batch:
            return removed, files


def _messages(ctx: Context, before: datetime, batch: int) -> int:
    removed = 0
    while True:
        with ctx.uow() as uow:
            due = list(uow.messages.finished_before(before, limit=batch))
            for message in due:
                uow.messages.remove(message)
            uow.commit()
        removed += len(due)
        if len(due) < batch:
            return removed


def _account_files(uow: UnitOfWork, account_id: str) -> list[str]:
    """The storage keys of every file the account's applications and posts hold."""
    keys: list[str] = []
    for application in applications_of(uow, account_id):
        keys.extend(stored_keys(application.evidence))
    for post in posts_of(uow, account_id):
        keys.extend(stored_keys(post.attachments))
    return keys


def _closed_accounts(ctx: Context, before: datetime) -> tuple[int, int]:
    """Remove accounts closed (their request completed) before ``before``."""
    removed = files = 0
    with ctx.uow() as uow:
        closings = events_where(uow, action=COMPLETE_ACTION, until=before)
    for account_id in dict.fromkeys(e.target_id for e in closings if e.target_id):
        with ctx.uow() as uow:
            account = uow.accounts.get(account_id)
            if account is None or account.status is not AccountStatus.CLOSED:
                continue
            keys = _account_files(uow, account.id)
            uow.accounts.remove(account)
            record(
                ctx,
                uow,
                None,
                "retention.account_removed",
                "account",
                account.id,
                actor_kind="system",
            )
            uow.commit()
        removed += 1
        files += delete_files(ctx, keys)
    return removed, files


def apply_retention(ctx: Context, batch: int = 500) -> RetentionReport:
    """Delete what has outlived its retention period (see the module doc)."""
    settings = ctx.settings
    now = ctx.now()
    counts: dict[str, int] = {}
    files = 0
    periods: list[tuple[str, PostStatus, timedelta | None]] = [
        ("delivered_posts", PostStatus.APPROVED, settings.retain_delivered_posts),
        ("rejected_posts", PostStatus.REJECTED, settings.retain_rejected_posts),
        ("expired_posts", PostStatus.EXPIRED, settings.retain_expired_posts),
        ("withdrawn_posts", PostStatus.WITHDRAWN, settings.retain_withdrawn_posts),
    ]
    for name, status, period in periods:
        before = _cutoff(now, period)
        if before is not None:
            counts[name], removed_files = _posts(ctx, status, before, batch)
            files += removed_files
    before = _cutoff(now, settings.retain_messages)
    if before is not None:
        counts["messages"] = _messages(ctx, before, batch)
    before = _cutoff(now, settings.retain_closed_accounts)
    if before is not None:
        counts["closed_accounts"], removed_files = _closed_accounts(ctx, before)
        files += removed_files
    report = RetentionReport(files=files, **counts)
    if report.removed:
        _record_run(ctx, report)
    return report


def _record_run(ctx: Context, report: RetentionReport) -> None:
    details = {key: str(value) for key, value in attrs.asdict(report).items()}
    with ctx.uow() as uow:
        record(
            ctx,
            uow,
            None,
            "retention.apply",
            "retention",
            None,
            actor_kind="system",
            details=details,
        )
        uow.commit()
