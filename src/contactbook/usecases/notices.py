"""機關聯絡簿: notices published by facilities (or the Agency) and read by families."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import ClassVar

import attrs

from contactbook.domain.facility import MB
from contactbook.domain.files import InspectionContext, StoredFile
from contactbook.domain.message import MessageCause
from contactbook.domain.notice import (
    MAX_NOTICE_ATTACHMENTS,
    AgencyNotice,
    Audience,
    AudienceScope,
    NoticeKind,
)
from contactbook.domain.pagination import Page
from contactbook.domain.staff import Role, StaffMember
from contactbook.domain.text import clean_line, clean_text
from contactbook.domain.time import format_date, taipei_day_start
from contactbook.errors import NotFound, PermissionDenied, ValidationError
from contactbook.i18n import translate
from contactbook.ports.reads import FamilyNoticeFilter, NoticeCardRow
from contactbook.ports.storage import UnitOfWork
from contactbook.usecases._support import access
from contactbook.usecases._support.context import Context, new_id
from contactbook.usecases._support.notifications import queue_mail
from contactbook.usecases._support.paging import after_cursor, check_limit, page_of
from contactbook.usecases._support.recording import record
from contactbook.usecases._support.use_case import use_case
from contactbook.usecases._support.views import (
    AttachmentView,
    attachment_views,
    first_photo,
    inmate_label,
)
from contactbook.usecases.forms import NoticeChanges, NoticeDraft
from contactbook.usecases.labels import label
from contactbook.usecases.principals import FamilyPrincipal, StaffPrincipal
from contactbook.usecases.uploads import Download, Upload, open_download, store_uploads

__all__ = ["MonthLabel", "NoticeAdminItem", "NoticeCard", "NoticeDetail", "Notices"]

NOTICE_TITLE_MAX = 50
NOTICE_BODY_MAX = 2000
NOTICE_MAX_TOTAL_BYTES = 20 * MB
EXCERPT_CHARS = 30


@attrs.frozen
class MonthLabel:
    """發佈年月: ``2020-07`` shown as 2020年7月."""

    month: str
    label: str


@functools.lru_cache(maxsize=1024)
def month_label(month: str) -> MonthLabel:
    year, number = month.split("-")
    return MonthLabel(month, f"{int(year)}年{int(number)}月")


@attrs.frozen
class NoticeCard:
    """A notice in the family's list: photo, date, title, From, excerpt, 詳細內容→."""

    id: str
    month: MonthLabel
    published_on: str
    title: str
    publisher: str
    excerpt: str
    photo: AttachmentView | None


@attrs.frozen
class NoticeDetail:
    """查看機關聯絡簿: 發佈日期, 發佈對象, 發佈內容 and 附件下載."""

    id: str
    title: str
    published_on: str
    publisher: str
    audience: str
    kind_label: str
    body: str
    attachments: tuple[AttachmentView, ...]


@attrs.frozen
class NoticeAdminItem:
    """A row of the back office list (照片, 矯正機關, 內容 TO/標題/內文, 發佈日期)."""

    id: str
    version: int
    facility_name: str
    to: str
    title: str
    body: str
    kind: NoticeKind
    kind_label: str
    audience: Audience
    published_on: str
    attachments: tuple[AttachmentView, ...]


def _excerpt(text: str, limit: int = EXCERPT_CHARS) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "..."


class Notices:
    group: ClassVar[str] = "notices"

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    # -- back office ---------------------------------------------------------

    def _audience(
        self, uow: UnitOfWork, member: StaffMember, audience: Audience | None
    ) -> Audience:
        """The publisher's own facility by default; EVERYONE only for Agency staff."""
        if audience is None:
            if member.is_agency:
                return Audience.everyone()
            assert member.facility_code is not None
            return Audience.facility(member.facility_code)
        if audience.scope is AudienceScope.EVERYONE:
            if not member.is_agency:
                raise PermissionDenied("agency_only")
            return Audience.everyone()
        if audience.facility_code is None or uow.facilities.get(audience.facility_code) is None:
            raise NotFound("facility_not_found")
        access.require_scope(member, audience.facility_code)
        if audience.scope is AudienceScope.INMATE:
            inmate = uow.inmates.get(audience.inmate_id or "")
            if inmate is None or inmate.facility_code != audience.facility_code:
                raise NotFound("inmate_not_found")
            return Audience.inmate(audience.facility_code, inmate.id)
        return Audience.facility(audience.facility_code)

    def _load(
        self, uow: UnitOfWork, staff: StaffPrincipal, notice_id: str
    ) -> tuple[StaffMember, AgencyNotice]:
        member = access.staff_with_role(uow, staff, Role.PUBLISHER)
        notice = uow.notices.get(notice_id)
        if notice is None or notice.is_deleted:
            raise NotFound()
        access.require_scope(member, notice.publisher_facility)
        return member, notice

    def _store(
        self, uow: UnitOfWork, uploads: Sequence[Upload], existing: tuple[StoredFile, ...]
    ) -> tuple[StoredFile, ...]:
        if len(existing) + len(uploads) > MAX_NOTICE_ATTACHMENTS:
            raise ValidationError(
                "too_many_attachments",
                fields={"attachments": "too_many_attachments"},
                limit=MAX_NOTICE_ATTACHMENTS,
            )
        added = store_uploads(
            self._ctx,
            uow,
            uploads,
            context=InspectionContext.DOCUMENT,
            max_files=MAX_NOTICE_ATTACHMENTS - len(existing),
            max_total_bytes=NOTICE_MAX_TOTAL_BYTES - sum(f.size for f in existing),
            prefix="notices",
        )
        return existing + added

    @use_case(acts_for="staff")
    def publish(self, staff: StaffPrincipal, draft: NoticeDraft) -> NoticeAdminItem:
        """新增機關聯絡簿 (機關聯絡簿已新增成功)."""
        ctx = self._ctx
        title = clean_line(draft.title, field="title", max_chars=NOTICE_TITLE_MAX)
        body = clean_text(draft.body, field="body", max_chars=NOTICE_BODY_MAX)
        now = ctx.now()
        with ctx.uow() as uow:
            member = access.staff_with_role(uow, staff, Role.PUBLISHER)
            audience = self._audience(uow, member, draft.audience)
            files = self._store(uow, draft.attachments, ())
            facility = uow.facilities.get(member.facility_code) if member.facility_code else None
            notice = AgencyNotice(
                id=new_id(),
                publisher_facility=member.facility_code,
                publisher_name=facility.name if facility else translate("agency.name"),
                author_id=member.id,
                kind=NoticeKind(draft.kind),
                audience=audience,
                title=title,
                body=body,
                attachments=files,
                published_at=now,
            )
            uow.notices.add(notice)
            self._notify_families(uow, notice)
            record(
                ctx,
                uow,
                member,
                "notice.publish",
                "notice",
                notice.id,
                facility_code=member.facility_code,
            )
            uow.commit()
            return self._admin_item(uow, notice)

    def _notify_families(self, uow: UnitOfWork, notice: AgencyNotice) -> None:
        """Mail families who opted in, for notices to one facility or one inmate."""
        audience = notice.audience
        if audience.scope is AudienceScope.INMATE and audience.inmate_id:
            inmate_ids = [audience.inmate_id]
        elif audience.scope is AudienceScope.FACILITY and audience.facility_code:
            inmate_ids = [i.id for i in uow.inmates.list_current(audience.facility_code)]
        else:
            return
        told: set[str] = set()
        for inmate_id in inmate_ids:
            for grant in uow.grants.active_for_inmate(inmate_id):
                if grant.account_id in told:
                    continue
                told.add(grant.account_id)
                account = uow.accounts.get(grant.account_id)
                if account is not None and account.is_active and account.notify_notices:
                    queue_mail(
                        self._ctx,
                        uow,
                        MessageCause.NEW_NOTICE,
                        to=account.email.value,
                        account=account,
                        facility_code=notice.publisher_facility,
                        title=notice.title,
                        publisher=notice.publisher_name,
                    )

    @use_case(acts_for="staff", target=("notice", "notice_id"))
    def edit(
        self, staff: StaffPrincipal, notice_id: str, changes: NoticeChanges, version: int
    ) -> NoticeAdminItem:
        """機關聯絡簿修改: fields, attachments removed (刪除) and added (機關聯絡簿已修改)."""
        ctx = self._ctx
        with ctx.uow() as uow:
            member, notice = self._load(uow, staff, notice_id)
            unknown = set(changes.remove_attachments) - {f.id for f in notice.attachments}
            if unknown:
                raise NotFound("attachment_not_found")
            kept = tuple(
                f for f in notice.attachments if f.id not in set(changes.remove_attachments)
            )
            files = self._store(uow, changes.add_attachments, kept)
            after = notice.edited(
                title=clean_line(changes.title, field="title", max_chars=NOTICE_TITLE_MAX)
                if changes.title is not None
                else notice.title,
                body=clean_text(changes.body, field="body", max_chars=NOTICE_BODY_MAX)
                if changes.body is not None
                else notice.body,
                audience=self._audience(uow, member, changes.audience)
                if changes.audience is not None
                else notice.audience,
                kind=NoticeKind(changes.kind) if changes.kind is not None else notice.kind,
                attachments=files,
                at=ctx.now(),
                version=version,
            )
            uow.notices.replace(notice, after)
            record(
                ctx,
                uow,
                member,
                "notice.edit",
                "notice",
                notice.id,
                facility_code=notice.publisher_facility,
            )
            uow.commit()
            return self._admin_item(uow, after)

    @use_case(acts_for="staff", target=("notice", "notice_id"))
    def delete(self, staff: StaffPrincipal, notice_id: str) -> None:
        """刪除 (確認刪除? answered by the front end): 機關聯絡簿已刪除."""
        ctx = self._ctx
        with ctx.uow() as uow:
            member, notice = self._load(uow, staff, notice_id)
            uow.notices.replace(notice, notice.deleted(ctx.now()))
            record(
                ctx,
                uow,
                member,
                "notice.delete",
                "notice",
                notice.id,
                facility_code=notice.publisher_facility,
            )
            uow.commit()

    @use_case(acts_for="staff", target=("notice", "notice_id"))
    def get_admin(self, staff: StaffPrincipal, notice_id: str) -> NoticeAdminItem:
        with self._ctx.uow() as uow:
            _, notice = self._load(uow, staff, notice_id)
            return self._admin_item(uow, notice)

    @use_case(acts_for="staff")
    def list_admin(
        self,
        staff: StaffPrincipal,
        facility: str | None = None,
        published_from: date | None = None,
        published_to: date | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> Page[NoticeAdminItem]:
        """The back office list (機關名稱, 申請日期 range), newest first."""
        check_limit(limit)
        with self._ctx.uow() as uow:
            member = access.staff_with_role(uow, staff, Role.PUBLISHER)
            codes = access.scope_codes(member, facility)
            rows = uow.notices.list_admin(
                facility_codes=codes,
                published_from=taipei_day_start(published_from) if published_from else None,
                published_to=taipei_day_start(published_to + timedelta(days=1))
                if published_to
                else None,
                after=after_cursor(cursor),
                limit=limit + 1,
            )
            return page_of(
                rows, limit, lambda n: (n.published_at, n.id), lambda n: self._admin_item(uow, n)
            )

    def _audience_label(self, uow: UnitOfWork, audience: Audience) -> str:
        if audience.scope is AudienceScope.INMATE:
            return inmate_label(uow.inmates.get(audience.inmate_id or ""))
        return "-"

    def _admin_item(self, uow: UnitOfWork, notice: AgencyNotice) -> NoticeAdminItem:
        return NoticeAdminItem(
            id=notice.id,
            version=notice.version,
            facility_name=notice.publisher_name,
            to=self._audience_label(uow, notice.audience),
            title=notice.title,
            body=notice.body,
            kind=notice.kind,
            kind_label=label(notice.kind),
            audience=notice.audience,
            published_on=format_date(notice.published_at),
            attachments=attachment_views(notice.attachments),
        )

    # -- families --------------------------------------------------------------

    def _family_scope(
        self, uow: UnitOfWork, principal: FamilyPrincipal
    ) -> tuple[frozenset[str], frozenset[str]]:
        account = access.active_family(uow, principal)
        grants = uow.grants.active_for_account(account.id)
        return frozenset(g.facility_code for g in grants), frozenset(g.inmate_id for g in grants)

    @use_case(acts_for="principal")
    def months_for_family(self, principal: FamilyPrincipal) -> list[MonthLabel]:
        """發佈年月 with notices for this family, newest first."""
        with self._ctx.uow() as uow:
            facilities, inmates = self._family_scope(uow, principal)
            months = uow.notices.months_for_family(facility_codes=facilities, inmate_ids=inmates)
        return [month_label(m) for m in months]

    @use_case(acts_for="principal")
    def list_for_family(
        self,
        principal: FamilyPrincipal,
        month: str | None = None,
        cursor: str | None = None,
        limit: int = 20,
    ) -> Page[NoticeCard]:
        """Notices to everyone, to the family's facilities and inmates; newest first."""
        check_limit(limit)
        _check_month(month)
        with self._ctx.uow() as uow:
            facilities, inmates = self._family_scope(uow, principal)
            rows = uow.notices.family_cards(
                FamilyNoticeFilter(facilities, inmates, month),
                after=after_cursor(cursor),
                limit=limit + 1,
            )
        return page_of(rows, limit, lambda n: (n.published_at, n.id), _card)

    def _visible(self, uow: UnitOfWork, principal: FamilyPrincipal, notice_id: str) -> AgencyNotice:
        facilities, inmates = self._family_scope(uow, principal)
        notice = uow.notices.get(notice_id)
        if notice is None or notice.is_deleted:
            raise NotFound()
        audience = notice.audience
        visible = (
            audience.scope is AudienceScope.EVERYONE
            or (audience.scope is AudienceScope.FACILITY and audience.facility_code in facilities)
            or (audience.scope is AudienceScope.INMATE and audience.inmate_id in inmates)
        )
        if not visible:
            raise NotFound()
        return notice

    @use_case(acts_for="principal", target=("notice", "notice_id"))
    def get_for_family(self, principal: FamilyPrincipal, notice_id: str) -> NoticeDetail:
        with self._ctx.uow() as uow:
            notice = self._visible(uow, principal, notice_id)
            audience = (
                notice.publisher_name
                if notice.audience.scope is not AudienceScope.INMATE
                else self._audience_label(uow, notice.audience)
            )
        return NoticeDetail(
            id=notice.id,
            title=notice.title,
            published_on=format_date(notice.published_at),
            publisher=notice.publisher_name,
            audience=audience,
            kind_label=label(notice.kind),
            body=notice.body,
            attachments=attachment_views(notice.attachments),
        )

    @use_case(acts_for="principal", target=("notice", "notice_id"))
    def attachment(
        self, principal: FamilyPrincipal, notice_id: str, attachment_id: str
    ) -> Download:
        with self._ctx.uow() as uow:
            notice = self._visible(uow, principal, notice_id)
        return open_download(self._ctx, notice.attachments, attachment_id)

    @use_case(acts_for="principal", target=("notice", "notice_id"))
    def thumbnail(self, principal: FamilyPrincipal, notice_id: str, attachment_id: str) -> Download:
        with self._ctx.uow() as uow:
            notice = self._visible(uow, principal, notice_id)
        return open_download(self._ctx, notice.attachments, attachment_id, thumbnail=True)

    @use_case(acts_for="staff", target=("notice", "notice_id"))
    def attachment_admin(
        self, staff: StaffPrincipal, notice_id: str, attachment_id: str, *, thumbnail: bool = False
    ) -> Download:
        """An attachment (or its thumbnail) of a notice in the publisher's scope."""
        with self._ctx.uow() as uow:
            _, notice = self._load(uow, staff, notice_id)
        return open_download(self._ctx, notice.attachments, attachment_id, thumbnail=thumbnail)

    @use_case()
    def list_public(
        self, month: str | None = None, cursor: str | None = None, limit: int = 20
    ) -> Page[NoticeCard]:
        """Notices addressed to every family (訊息公告 on the home page), no login needed."""
        check_limit(limit)
        _check_month(month)
        with self._ctx.uow() as uow:
            rows = uow.notices.family_cards(
                FamilyNoticeFilter(month=month),  # to everyone only
                after=after_cursor(cursor),
                limit=limit + 1,
            )
        return page_of(rows, limit, lambda n: (n.published_at, n.id), _card)


def _check_month(month: str | None) -> None:
    if month is None:
        return
    try:
        datetime.strptime(month, "%Y-%m")
    except ValueError:
        raise ValidationError("invalid_month", fields={"month": "invalid_month"}) from None


def _card(notice: NoticeCardRow) -> NoticeCard:
    return NoticeCard(
        id=notice.id,
        month=month_label(notice.published_month),
        published_on=format_date(notice.published_at),
        title=notice.title,
        publisher=notice.publisher_name,
        excerpt=_excerpt(notice.body),
        photo=first_photo(notice.attachments),
    )
