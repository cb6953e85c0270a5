"""What follows when an inmate leaves the facility (DOMAIN.md §3)."""

from __future__ import annotations

from datetime import datetime

from contactbook.domain.inmate import Inmate
from contactbook.domain.message import MessageCause
from contactbook.domain.post import FamilyPost
from contactbook.ports.storage import UnitOfWork
from contactbook.usecases._support.context import Context
from contactbook.usecases._support.notifications import queue_mail
from contactbook.usecases._support.recording import record

__all__ = ["expire_post", "inmate_left"]


def expire_post(ctx: Context, uow: UnitOfWork, post: FamilyPost, now: datetime) -> None:
    """Expire a pending post, free its slot and tell the family."""
    uow.posts.replace(post, post.expire(now))
    author = uow.accounts.get(post.author_id)
    if author is not None:
        queue_mail(
            ctx,
            uow,
            MessageCause.POST_EXPIRED,
            to=author.email.value,
            account=author,
            facility_code=post.facility_code,
            title=post.title,
        )
    record(
        ctx,
        uow,
        None,
        "post.expire",
        "post",
        post.id,
        actor_kind="system",
        facility_code=post.facility_code,
    )


def inmate_left(ctx: Context, uow: UnitOfWork, inmate: Inmate, now: datetime) -> None:
    """Mark the inmate as gone: grants end, pending posts expire."""
    uow.inmates.replace(inmate, inmate.left(now))
    for grant in uow.grants.active_for_inmate(inmate.id):
        uow.grants.replace(grant, grant.end("inmate_left", now))
    for post in uow.posts.pending_for_inmate(inmate.id):
        expire_post(ctx, uow, post, now)
