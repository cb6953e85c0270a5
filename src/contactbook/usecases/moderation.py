"""家庭聯絡簿審查: the review queue and the decision on each post."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import ClassVar

import attrs

from contactbook.domain.application import Grant
from contactbook.domain.masking import mask_email, mask_mobile, mask_name, mask_national_id
from contactbook.domain.message import MessageCause
from contactbook.domain.pagination import Page
from contactbook.domain.post import FamilyPost, PostRejectionReason, PostStatus
from contactbook.domain.staff import Role, StaffMember
from contactbook.domain.time import add_months, format_date, format_datetime, taipei_day_start
from contactbook.errors import NotFound, ValidationError
from contactbook.ports.reads import QueueFilter, QueueRow
from contactbook.ports.storage import UnitOfWork
from contactbook.usecases._support import access
from contactbook.usecases._support.context import Context
from contactbook.usecases._support.eligibility import require_unrestricted
from contactbook.usecases._support.notifications import queue_mail
from contactbook.usecases._support.paging import after_cursor, check_limit, page_of
from contactbook.usecases._support.recording import record
from contactbook.usecases._support.use_case import use_case
from contactbook.usecases._support.views import (
    AttachmentView,
    PostView,
    addressee,
    first_photo,
    post_view,
)
from contactbook.usecases.labels import label
from contactbook.usecases.principals import StaffPrincipal
from contactbook.usecases.uploads import Download, open_download

__all__ = ["REVEALABLE_FIELDS", "Moderation", "QueueItem", "ReviewSheet"]

EXCERPT_CHARS = 10
REVEALABLE_FIELDS = frozenset(
    {
        "inmate_name",
        "inmate_national_id",
        "inmate_birth_date",
        "applicant_name",
        "applicant_national_id",
        "applicant_birth_date",
        "applicant_email",
        "applicant_mobile",
        "applicant_phone",
    }
)


@attrs.frozen
class QueueItem:
    """One row of 家庭聯絡簿審查: 照片, 矯正機關, 內容 (TO / 標題 / 內文), 發佈日期, 狀態."""

    post_id: str
    version: int
    facility_code: str
    facility_name: str
    to: str
    title: str
    excerpt: str
    submitted_at: datetime
    submitted_on: str
    status: PostStatus
    status_label: str
    flagged_keywords: tuple[str, ...]
    photo: AttachmentView | None

    @property
    def content(self) -> str:
        return f"TO : {self.to} 標題 : {self.title} 內文 : {self.excerpt}"


@attrs.frozen
class ReviewSheet:
    """The review page: 收容人資訊, 家屬資訊 (masked), 聯絡簿內容, and the decision."""

    post: PostView
    flagged_keywords: tuple[str, ...]
    inmate: dict[str, str]
    family: dict[str, str]
    rejection_reasons: tuple[tuple[str, str], ...]


def _rejection_reason(reason: object) -> PostRejectionReason:
    """The chosen 不通過原因; none chosen (請選擇) or an unknown one is a field error."""
    if reason is None or not str(reason).strip():
        raise ValidationError(
            "rejection_reason_required", fields={"reason": "rejection_reason_required"}
        )
    try:
        return PostRejectionReason(str(reason).strip())
    except ValueError:
        raise ValidationError("invalid_value", fields={"reason": "invalid_value"}) from None


def _queue_item(row: QueueRow) -> QueueItem:
    return QueueItem(
        post_id=row.post_id,
        version=row.version,
        facility_code=row.facility_code,
        facility_name=row.facility_name,
        to=addressee(row.call_number, row.inmate_name),
        title=_excerpt(row.title),
        excerpt=_excerpt(row.body),
        submitted_at=row.submitted_at,
        submitted_on=format_date(row.submitted_at),
        status=row.status,
        status_label=label(row.status),
        flagged_keywords=row.flagged_keywords,
        photo=first_photo(row.attachments),
    )


def _excerpt(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= EXCERPT_CHARS else flat[:EXCERPT_CHARS] + "..."


class Moderation:
    group: ClassVar[str] = "moderation"

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    @use_case(acts_for="staff")
    def queue(
        self,
        staff: StaffPrincipal,
        facility: str | None = None,
        status: PostStatus | None = PostStatus.PENDING,
        submitted_from: date | None = None,
        submitted_to: date | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[QueueItem]:
        """Posts of the reviewer's scope, oldest first; dates are Taiwan days, inclusive."""
        check_limit(limit)
        with self._ctx.uow() as uow:
            member = access.staff_with_role(uow, staff, Role.REVIEWER)
            codes = access.scope_codes(member, facility)
            where = QueueFilter(
                facility_codes=codes,
                status=status,
                submitted_from=taipei_day_start(submitted_from) if submitted_from else None,
                submitted_to=taipei_day_start(submitted_to + timedelta(days=1))
                if submitted_to
                else None,
            )
            rows = uow.posts.queue_rows(
                where,
                after=after_cursor(cursor),
                limit=limit + 1,
            )
        return page_of(rows, limit, lambda r: (r.submitted_at, r.post_id), _queue_item)

    def _load(
        self, uow: UnitOfWork, staff: StaffPrincipal, post_id: str
    ) -> tuple[StaffMember, FamilyPost]:
        member = access.staff_with_role(uow, staff, Role.REVIEWER)
        post = uow.posts.get(post_id)
        if post is None:
            raise NotFound()
        access.require_scope(member, post.facility_code)
        return member, post

    @use_case(acts_for="staff", target=("post", "post_id"))
    def open(self, staff: StaffPrincipal, post_id: str) -> ReviewSheet:
        """The review sheet. Personal data is masked; ``reveal`` shows one value, audited."""
        ctx = self._ctx
        with ctx.uow() as uow:
            member, post = self._load(uow, staff, post_id)
            inmate = uow.inmates.get(post.inmate_id)
            author = uow.accounts.get(post.author_id)
            grant = uow.grants.get(post.grant_id)
            facility = uow.facilities.get(post.facility_code)
            if inmate is None or author is None:
                raise NotFound()
            record(ctx, uow, member, "post.open", "post", post.id, facility_code=post.facility_code)
            uow.commit()
        return ReviewSheet(
            post=post_view(post, inmate, facility),
            flagged_keywords=post.flagged_keywords,
            inmate={
                "call_number": inmate.call_number.value,
                "name": mask_name(inmate.name),
                "gender": inmate.gender,
                "birth_date": str(inmate.birth_date.year) if inmate.birth_date else "",
                "national_id": mask_national_id(inmate.national_id) if inmate.national_id else "",
                "education_grade": str(inmate.education_grade or ""),
                "admitted_on": format_date(inmate.admitted_on) if inmate.admitted_on else "",
                "admitted_here_on": (
                    format_date(inmate.admitted_here_on) if inmate.admitted_here_on else ""
                ),
                "custody_type": inmate.custody_type,
            },
            family={
                "name": mask_name(author.name),
                "birth_date": str(author.birth_date.year),
                "national_id": mask_national_id(author.national_id.value),
                "relationship": label(grant.relationship) if isinstance(grant, Grant) else "",
                "phone": mask_mobile(author.phone.value) if author.phone else "",
                "mobile": mask_mobile(author.mobile.value) if author.mobile else "",
                "email": mask_email(author.email.value),
            },
            rejection_reasons=tuple((r.value, label(r)) for r in PostRejectionReason),
        )

    @use_case(acts_for="staff", target=("post", "post_id"))
    def reveal(self, staff: StaffPrincipal, post_id: str, field: str) -> str:
        """One unmasked value of the review sheet; every look is audited."""
        if field not in REVEALABLE_FIELDS:
            raise ValidationError("unknown_field", fields={"field": "unknown_field"})
        ctx = self._ctx
        with ctx.uow() as uow:
            member, post = self._load(uow, staff, post_id)
            inmate = uow.inmates.get(post.inmate_id)
            author = uow.accounts.get(post.author_id)
            if inmate is None or author is None:
                raise NotFound()
            values = {
                "inmate_name": inmate.name,
                "inmate_national_id": inmate.national_id or "",
                "inmate_birth_date": format_date(inmate.birth_date) if inmate.birth_date else "",
                "applicant_name": author.name,
                "applicant_national_id": author.national_id.value,
                "applicant_birth_date": format_date(author.birth_date),
                "applicant_email": author.email.value,
                "applicant_mobile": author.mobile.value if author.mobile else "",
                "applicant_phone": author.phone.value if author.phone else "",
            }
            record(
                ctx,
                uow,
                member,
                "personal_data.reveal",
                "post",
                post.id,
                facility_code=post.facility_code,
                details={"field": field},
            )
            uow.commit()
        return values[field]

    @use_case(acts_for="staff", target=("post", "post_id"))
    def attachment(self, staff: StaffPrincipal, post_id: str, attachment_id: str) -> Download:
        with self._ctx.uow() as uow:
            _, post = self._load(uow, staff, post_id)
        return open_download(self._ctx, post.attachments, attachment_id)

    @use_case(acts_for="staff", target=("post", "post_id"))
    def thumbnail(self, staff: StaffPrincipal, post_id: str, attachment_id: str) -> Download:
        """The small JPEG of an image attachment, for the queue's 照片 column."""
        with self._ctx.uow() as uow:
            _, post = self._load(uow, staff, post_id)
        return open_download(self._ctx, post.attachments, attachment_id, thumbnail=True)

    @use_case(acts_for="staff", target=("post", "post_id"))
    def approve(self, staff: StaffPrincipal, post_id: str, version: int) -> PostView:
        """審核通過: the post may be handed to the inmate."""
        ctx = self._ctx
        now = ctx.now()
        with ctx.uow() as uow:
            member, post = self._load(uow, staff, post_id)
            inmate = uow.inmates.get(post.inmate_id)
            facility = uow.facilities.get(post.facility_code)
            assert inmate is not None and facility is not None
            after = post.approve(by=member.id, at=now, version=version)
            require_unrestricted(facility.policy, inmate)  # pending posts wait
            uow.posts.replace(post, after)
            author = uow.accounts.get(post.author_id)
            if author is not None:
                queue_mail(
                    ctx,
                    uow,
                    MessageCause.POST_APPROVED,
                    to=author.email.value,
                    account=author,
                    facility_code=post.facility_code,
                    title=post.title,
                )
            record(
                ctx, uow, member, "post.approve", "post", post.id, facility_code=post.facility_code
            )
            uow.commit()
        return post_view(after, inmate, facility)

    @use_case(acts_for="staff", target=("post", "post_id"))
    def reject(
        self,
        staff: StaffPrincipal,
        post_id: str,
        reason: PostRejectionReason | None,
        note: str,
        version: int,
    ) -> PostView:
        """審核未通過 with a reason; the 3rd rejection suspends posting for a month."""
        ctx = self._ctx
        chosen = _rejection_reason(reason)
        now = ctx.now()
        with ctx.uow() as uow:
            member, post = self._load(uow, staff, post_id)
            inmate = uow.inmates.get(post.inmate_id)
            facility = uow.facilities.get(post.facility_code)
            assert inmate is not None and facility is not None
            after = post.reject(chosen, note, by=member.id, at=now, version=version)
            uow.posts.replace(post, after)
            author = uow.accounts.get(post.author_id)
            if author is not None:
                policy = facility.policy
                counted = author.post_rejected(
                    rejections_before_suspension=policy.rejections_before_suspension,
                    suspended_until=add_months(now, policy.suspension_months),
                )
                uow.accounts.replace(author, counted)
                until = counted.posting_suspended_until
                suspended = until is not None and until != author.posting_suspended_until
                queue_mail(
                    ctx,
                    uow,
                    MessageCause.POST_REJECTED,
                    to=author.email.value,
                    account=author,
                    facility_code=post.facility_code,
                    title=post.title,
                    reason=label(after.rejection_reason) if after.rejection_reason else "",
                    note=after.rejection_note or "-",
                )
                if suspended and until is not None:
                    record(
                        ctx,
                        uow,
                        None,
                        "account.posting_suspended",
                        "account",
                        author.id,
                        actor_kind="system",
                        facility_code=post.facility_code,
                        details={"until": format_datetime(until)},
                    )
            record(
                ctx,
                uow,
                member,
                "post.reject",
                "post",
                post.id,
                facility_code=post.facility_code,
                details={"reason": after.rejection_reason.value if after.rejection_reason else ""},
            )
            uow.commit()
        return post_view(after, inmate, facility)
