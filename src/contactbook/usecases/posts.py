"""發佈家庭聯絡簿: a family member's posts to an inmate they hold a grant for."""

from __future__ import annotations

from datetime import timedelta
from typing import ClassVar

import attrs

from contactbook.domain.account import FamilyMember
from contactbook.domain.application import Grant
from contactbook.domain.facility import Facility
from contactbook.domain.inmate import Inmate
from contactbook.domain.pagination import Page
from contactbook.domain.post import FamilyPost, PostStatus
from contactbook.domain.text import clean_line, clean_text, matched_keywords
from contactbook.domain.time import format_datetime
from contactbook.errors import NotFound, PostingSuspended, QuotaExceeded
from contactbook.ports.reads import AuthorFilter
from contactbook.ports.storage import UnitOfWork
from contactbook.usecases._support import access
from contactbook.usecases._support.context import Context, new_id
from contactbook.usecases._support.eligibility import require_unrestricted
from contactbook.usecases._support.lookups import Lookups
from contactbook.usecases._support.paging import after_cursor, check_limit, page_of
from contactbook.usecases._support.recording import record
from contactbook.usecases._support.use_case import use_case
from contactbook.usecases._support.views import PostView, author_row_view, post_view
from contactbook.usecases.forms import PostDraft
from contactbook.usecases.principals import FamilyPrincipal
from contactbook.usecases.uploads import Download, open_download, store_uploads

__all__ = ["PostTarget", "Posts"]


@attrs.frozen
class PostTarget:
    """An inmate the family may post to (呼號：0609 李○○)."""

    inmate_id: str
    label: str
    facility_code: str
    facility_name: str


class Posts:
    group: ClassVar[str] = "posts"

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    @use_case(acts_for="principal")
    def targets(self, principal: FamilyPrincipal) -> list[PostTarget]:
        """The inmates this family member holds an active contact-book grant for."""
        from contactbook.usecases._support.views import inmate_label

        with self._ctx.uow() as uow:
            account = access.active_family(uow, principal)
            targets = []
            for grant in uow.grants.active_for_account(account.id):
                inmate = uow.inmates.get(grant.inmate_id)
                facility = uow.facilities.get(grant.facility_code)
                if inmate is None or facility is None:
                    continue
                targets.append(
                    PostTarget(inmate.id, inmate_label(inmate, " "), facility.code, facility.name)
                )
        return targets

    @use_case(acts_for="principal")
    def publish(self, principal: FamilyPrincipal, draft: PostDraft) -> PostView:
        """Submit a post for review. Nothing is stored or sent unless every rule holds."""
        return self._submit(principal, draft, revision_of=None)

    @use_case(acts_for="principal", target=("post", "rejected_id"))
    def revise(self, principal: FamilyPrincipal, rejected_id: str, draft: PostDraft) -> PostView:
        """Submit a rejected post again, changed, as a new post linked to the old one."""
        with self._ctx.uow() as uow:
            account = access.active_family(uow, principal)
            old = uow.posts.get(rejected_id)
            if old is None or old.author_id != account.id:
                raise NotFound()
            if old.status is not PostStatus.REJECTED:
                from contactbook.errors import Conflict

                raise Conflict("not_rejected")
        return self._submit(
            principal, attrs.evolve(draft, inmate_id=old.inmate_id), revision_of=old.id
        )

    def _submit(
        self, principal: FamilyPrincipal, draft: PostDraft, *, revision_of: str | None
    ) -> PostView:
        ctx = self._ctx
        now = ctx.now()
        with ctx.uow() as uow:
            account = access.active_family(uow, principal)
            grant, inmate, facility = _target(uow, account, draft.inmate_id)
            policy = facility.policy
            require_unrestricted(policy, inmate)
            if account.posting_suspended(now):
                assert account.posting_suspended_until is not None
                raise PostingSuspended(until=format_datetime(account.posting_suspended_until))
            title = clean_line(draft.title, field="title", max_chars=policy.title_max_chars)
            body = clean_text(draft.body, field="body", max_chars=policy.body_max_chars)
            last = uow.posts.latest_counting(account.id, inmate.id)
            interval = timedelta(days=policy.post_interval_days(inmate.is_juvenile))
            if last is not None and now < last.submitted_at + interval:
                raise QuotaExceeded(
                    next_allowed=format_datetime(last.submitted_at + interval),
                    days=interval.days,
                )
            profile = policy.attachment_profile
            files = store_uploads(
                ctx,
                uow,
                list(draft.attachments),
                context=profile.context,
                max_files=profile.max_files,
                max_total_bytes=profile.max_total_bytes,
                prefix=f"posts/{facility.code}",
            )
            # Bumping the grant's version serialises racing posts: only one passes.
            uow.grants.replace(grant, grant.touched())
            post = FamilyPost(
                id=new_id(),
                author_id=account.id,
                inmate_id=inmate.id,
                facility_code=facility.code,
                grant_id=grant.id,
                title=title,
                body=body,
                attachments=files,
                submitted_at=now,
                review_deadline=now + timedelta(days=policy.review_deadline_days),
                flagged_keywords=matched_keywords(f"{title}\n{body}", policy.watch_keywords),
                revision_of=revision_of,
            )
            uow.posts.add(post)
            record(
                ctx,
                uow,
                account,
                "post.publish",
                "post",
                post.id,
                facility_code=facility.code,
                details={"revision_of": revision_of} if revision_of else None,
            )
            uow.commit()
        return post_view(post, inmate, facility)

    @use_case(acts_for="principal")
    def list_mine(
        self,
        principal: FamilyPrincipal,
        status: PostStatus | None = None,
        cursor: str | None = None,
        limit: int = 20,
    ) -> Page[PostView]:
        """My posts, newest first, filtered by 審核狀態 (None: 全部)."""
        check_limit(limit)
        with self._ctx.uow() as uow:
            account = access.family(uow, principal)
            rows = uow.posts.author_rows(
                AuthorFilter(account.id, status), after=after_cursor(cursor), limit=limit + 1
            )
        return page_of(rows, limit, lambda row: (row.submitted_at, row.id), author_row_view)

    def _own(self, uow: UnitOfWork, principal: FamilyPrincipal, post_id: str) -> FamilyPost:
        account = access.family(uow, principal)
        post = uow.posts.get(post_id)
        if post is None or post.author_id != account.id:
            raise NotFound()
        return post

    @use_case(acts_for="principal", target=("post", "post_id"))
    def get(self, principal: FamilyPrincipal, post_id: str) -> PostView:
        with self._ctx.uow() as uow:
            return _view(Lookups(uow), self._own(uow, principal, post_id))

    @use_case(acts_for="principal", target=("post", "post_id"))
    def withdraw(self, principal: FamilyPrincipal, post_id: str) -> PostView:
        """Take back a pending post; it no longer uses up the frequency period."""
        ctx = self._ctx
        with ctx.uow() as uow:
            post = self._own(uow, principal, post_id)
            after = post.withdraw(ctx.now())
            uow.posts.replace(post, after)
            account = uow.accounts.get(post.author_id)
            record(
                ctx,
                uow,
                account,
                "post.withdraw",
                "post",
                post.id,
                facility_code=post.facility_code,
            )
            uow.commit()
            return _view(Lookups(uow), after)

    @use_case(acts_for="principal", target=("post", "post_id"))
    def attachment(self, principal: FamilyPrincipal, post_id: str, attachment_id: str) -> Download:
        with self._ctx.uow() as uow:
            post = self._own(uow, principal, post_id)
        return open_download(self._ctx, post.attachments, attachment_id)

    @use_case(acts_for="principal", target=("post", "post_id"))
    def thumbnail(self, principal: FamilyPrincipal, post_id: str, attachment_id: str) -> Download:
        with self._ctx.uow() as uow:
            post = self._own(uow, principal, post_id)
        return open_download(self._ctx, post.attachments, attachment_id, thumbnail=True)


def _target(
    uow: UnitOfWork, account: FamilyMember, inmate_id: str
) -> tuple[Grant, Inmate, Facility]:
    """The grant, inmate and facility a post goes to; ``NotFound`` without a grant."""
    grant = uow.grants.active_for(account.id, inmate_id)
    inmate = uow.inmates.get(inmate_id)
    if grant is None or inmate is None or not inmate.is_current:
        raise NotFound()
    facility = uow.facilities.get(inmate.facility_code)
    if facility is None:
        raise NotFound()
    return grant, inmate, facility


def _view(lookups: Lookups, post: FamilyPost) -> PostView:
    return post_view(post, lookups.inmate(post.inmate_id), lookups.facility(post.facility_code))
