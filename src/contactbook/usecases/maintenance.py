"""Scheduled work: expiring posts nobody reviewed in time."""

from __future__ import annotations

import attrs

from contactbook.usecases.context import Context
from contactbook.usecases.retirement import expire_post

__all__ = ["Maintenance", "MaintenanceReport"]


@attrs.frozen
class MaintenanceReport:
    expired_posts: int


class Maintenance:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def expire_overdue(self, batch: int = 500) -> MaintenanceReport:
        """Pending posts past their review deadline become 已過期; the family is told
        and the frequency slot is freed."""
        ctx = self._ctx
        total = 0
        while True:
            now = ctx.now()
            with ctx.uow() as uow:
                due = list(uow.posts.pending_due(now, limit=batch))
                for post in due:
                    expire_post(ctx, uow, post, now)
                uow.commit()
            total += len(due)
            if len(due) < batch:
                return MaintenanceReport(expired_posts=total)
