"""What front ends hand to use cases. Build them directly or with ``book.structure``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import attrs

from contactbook.domain.facility import Restriction
from contactbook.domain.notice import Audience, NoticeKind
from contactbook.domain.relationship import Relationship, Service
from contactbook.usecases.uploads import Upload

__all__ = [
    "ApplicationForm",
    "NoticeChanges",
    "NoticeDraft",
    "PostDraft",
    "ProfileChanges",
    "RegistrationForm",
    "RosterRow",
]


@attrs.frozen
class RegistrationForm:
    """註冊帳號: ``consent`` is the 個資聲明 checkbox and must be ticked."""

    consent: bool
    name: str
    birth_date: date
    national_id: str
    email: str
    password: str
    mobile: str = ""
    phone: str = ""
    notify_delivery: bool = False
    notify_notices: bool = False


@attrs.frozen
class ProfileChanges:
    name: str | None = None
    mobile: str | None = None
    phone: str | None = None
    notify_delivery: bool | None = None
    notify_notices: bool | None = None


@attrs.frozen
class ApplicationForm:
    """服務項目申請: the inmate by facility and call number, relationship, services, evidence."""

    facility_code: str
    call_number: str
    relationship: Relationship
    services: frozenset[Service]
    id_document: Upload | None = None
    relationship_proof: Upload | None = None
    frontal_photo: Upload | None = None
    kinship_degree: int | None = None


@attrs.frozen
class PostDraft:
    """發佈家庭聯絡簿: to one inmate the family holds a grant for."""

    inmate_id: str
    title: str
    body: str
    attachments: Sequence[Upload] = ()


@attrs.frozen
class NoticeDraft:
    """發佈機關聯絡簿. ``audience`` None: the publisher's facility (or everyone for Agency)."""

    title: str
    body: str
    audience: Audience | None = None
    kind: NoticeKind = NoticeKind.ANNOUNCEMENT
    attachments: Sequence[Upload] = ()


@attrs.frozen
class NoticeChanges:
    """機關聯絡簿修改: fields left None stay; attachments removed by id, others added."""

    title: str | None = None
    body: str | None = None
    audience: Audience | None = None
    kind: NoticeKind | None = None
    remove_attachments: Sequence[str] = ()
    add_attachments: Sequence[Upload] = ()


@attrs.frozen
class RosterRow:
    """One inmate of a facility's roster (import file row)."""

    call_number: str
    name: str
    gender: str = ""
    birth_date: date | None = None
    education_grade: int | None = None
    admitted_on: date | None = None
    admitted_here_on: date | None = None
    custody_type: str = ""
    is_juvenile: bool = False
    has_minor_children: bool = False
    restrictions: frozenset[Restriction] = frozenset()
