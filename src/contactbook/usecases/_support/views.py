"""Read models handed to front ends: masked where a list shows them."""

from __future__ import annotations

from datetime import datetime

import attrs

from contactbook.domain.application import ApplicationStatus, ServiceApplication
from contactbook.domain.facility import Facility
from contactbook.domain.files import StoredFile
from contactbook.domain.inmate import Inmate
from contactbook.domain.masking import mask_name
from contactbook.domain.post import FamilyPost, PostStatus
from contactbook.domain.relationship import Service
from contactbook.domain.time import format_date
from contactbook.ports.reads import AuthorRow
from contactbook.usecases.labels import label

__all__ = [
    "AttachmentView",
    "PostView",
    "addressee",
    "author_row_view",
    "first_photo",
    "inmate_label",
    "post_view",
]


def inmate_label(inmate: Inmate | None, separator: str = "-") -> str:
    """``0609-李○○`` as the seed's lists show the addressee."""
    if inmate is None:
        return "-"
    return addressee(inmate.call_number.value, inmate.name, separator)


def addressee(call_number: str, name: str, separator: str = "-") -> str:
    """:func:`inmate_label` from a read model's call number and name ("" when none)."""
    if not call_number:
        return "-"
    return f"{call_number}{separator}{mask_name(name)}"


@attrs.frozen
class AttachmentView:
    id: str
    filename: str
    content_type: str
    size: int
    has_thumbnail: bool


@attrs.frozen
class PostView:
    """A post as its author sees it (家庭聯絡簿 list and detail)."""

    id: str
    version: int
    inmate_id: str
    to: str
    facility_code: str
    facility_name: str
    title: str
    body: str
    status: PostStatus
    status_label: str
    submitted_at: datetime
    submitted_on: str
    attachments: tuple[AttachmentView, ...]
    rejection_reason: str | None
    rejection_reason_label: str
    rejection_note: str
    decided_at: datetime | None
    delivered_at: datetime | None
    delivered_on: str
    revision_of: str | None
    can_withdraw: bool
    can_revise: bool


def first_photo(files: tuple[StoredFile, ...]) -> AttachmentView | None:
    """The first image among ``files``, as a list row shows it (照片), or None."""
    photo = next((f for f in files if f.content_type.startswith("image/")), None)
    return attachment_views((photo,))[0] if photo else None


def attachment_views(files: tuple[StoredFile, ...]) -> tuple[AttachmentView, ...]:
    return tuple(
        AttachmentView(f.id, f.display_name, f.content_type, f.size, f.thumbnail_key is not None)
        for f in files
    )


def post_view(post: FamilyPost, inmate: Inmate | None, facility: Facility | None) -> PostView:
    return _post_view(post, inmate_label(inmate), facility.name if facility else post.facility_code)


def author_row_view(row: AuthorRow) -> PostView:
    """A row of :meth:`AuthorPosts.author_rows` as its author sees it."""
    return _post_view(row, addressee(row.call_number, row.inmate_name), row.facility_name)


def _post_view(post: FamilyPost | AuthorRow, to: str, facility_name: str) -> PostView:
    return PostView(
        id=post.id,
        version=post.version,
        inmate_id=post.inmate_id,
        to=to,
        facility_code=post.facility_code,
        facility_name=facility_name,
        title=post.title,
        body=post.body,
        status=post.status,
        status_label=label(post.status),
        submitted_at=post.submitted_at,
        submitted_on=format_date(post.submitted_at),
        attachments=attachment_views(post.attachments),
        rejection_reason=post.rejection_reason.value if post.rejection_reason else None,
        rejection_reason_label=label(post.rejection_reason) if post.rejection_reason else "",
        rejection_note=post.rejection_note,
        decided_at=post.decided_at,
        delivered_at=post.delivered_at,
        delivered_on=format_date(post.delivered_at) if post.delivered_at else "",
        revision_of=post.revision_of,
        can_withdraw=post.status is PostStatus.PENDING,
        can_revise=post.status is PostStatus.REJECTED,
    )


@attrs.frozen
class ApplicationView:
    """服務項目狀態查詢: one row of the family's table."""

    id: str
    version: int
    facility_code: str
    facility_name: str
    inmate: str
    relationship: str
    services: tuple[str, ...]
    services_label: str
    approved_services: tuple[str, ...]
    approved_services_label: str
    status: ApplicationStatus
    status_label: str
    submitted_on: str
    reviewed_on: str
    rejection_reason_label: str
    rejection_note: str


def application_view(
    application: ServiceApplication, inmate: Inmate | None, facility: Facility | None
) -> ApplicationView:
    ordered = [s for s in Service if s in application.services]
    approved = [s for s in Service if s in application.approved_services]
    return ApplicationView(
        id=application.id,
        version=application.version,
        facility_code=application.facility_code,
        facility_name=facility.name if facility else application.facility_code,
        inmate=inmate_label(inmate, separator=" "),
        relationship=label(application.relationship),
        services=tuple(s.value for s in ordered),
        services_label="、".join(label(s) for s in ordered),
        approved_services=tuple(s.value for s in approved),
        approved_services_label="、".join(label(s) for s in approved),
        status=application.status,
        status_label=label(application.status),
        submitted_on=format_date(application.submitted_at),
        reviewed_on=format_date(application.reviewed_at) if application.reviewed_at else "",
        rejection_reason_label=(
            label(application.rejection_reason) if application.rejection_reason else ""
        ),
        rejection_note=application.rejection_note,
    )
