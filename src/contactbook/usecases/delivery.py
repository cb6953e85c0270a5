"""交由收容人查閱: approved posts handed to the inmate, and the time it happened."""

from __future__ import annotations

from typing import ClassVar

from contactbook.domain.message import MessageCause
from contactbook.domain.pagination import Page
from contactbook.domain.staff import Role
from contactbook.errors import NotFound
from contactbook.usecases._support import access
from contactbook.usecases._support.context import Context
from contactbook.usecases._support.lookups import Lookups
from contactbook.usecases._support.notifications import queue_mail
from contactbook.usecases._support.paging import after_cursor, check_limit, page_of
from contactbook.usecases._support.recording import record
from contactbook.usecases._support.use_case import use_case
from contactbook.usecases._support.views import PostView, post_view
from contactbook.usecases.principals import StaffPrincipal

__all__ = ["Delivery"]


class Delivery:
    group: ClassVar[str] = "delivery"

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    @use_case(acts_for="staff")
    def pending(
        self,
        staff: StaffPrincipal,
        facility: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[PostView]:
        """Approved posts not yet handed over, oldest decision first."""
        check_limit(limit)
        with self._ctx.uow() as uow:
            member = access.staff_with_role(uow, staff, Role.REVIEWER)
            codes = access.scope_codes(member, facility)
            rows = uow.posts.approved_undelivered(
                codes, after=after_cursor(cursor), limit=limit + 1
            )
            lookups = Lookups(uow, (post.inmate_id for post in rows[:limit]))
            return page_of(
                rows,
                limit,
                lambda p: (p.decided_at or p.submitted_at, p.id),
                lambda p: post_view(
                    p, lookups.inmate(p.inmate_id), lookups.facility(p.facility_code)
                ),
            )

    @use_case(acts_for="staff", target=("post", "post_id"))
    def mark_delivered(self, staff: StaffPrincipal, post_id: str) -> PostView:
        ctx = self._ctx
        now = ctx.now()
        with ctx.uow() as uow:
            member = access.staff_with_role(uow, staff, Role.REVIEWER)
            post = uow.posts.get(post_id)
            if post is None:
                raise NotFound()
            access.require_scope(member, post.facility_code)
            after = post.deliver(by=member.id, at=now)
            uow.posts.replace(post, after)
            author = uow.accounts.get(post.author_id)
            if author is not None and author.notify_delivery:
                queue_mail(
                    ctx,
                    uow,
                    MessageCause.POST_DELIVERED,
                    to=author.email.value,
                    account=author,
                    facility_code=post.facility_code,
                    title=post.title,
                )
            record(
                ctx, uow, member, "post.deliver", "post", post.id, facility_code=post.facility_code
            )
            uow.commit()
            return post_view(
                after, uow.inmates.get(post.inmate_id), uow.facilities.get(post.facility_code)
            )
