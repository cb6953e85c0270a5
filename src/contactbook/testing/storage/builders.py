"""The fictional world every storage test builds on, public for adapter-specific tests.

The world is consistent — every id an entity refers to exists — so adapters with
foreign keys pass too. Names and texts are Chinese (with an emoji here and there)
because that is what the stores must keep intact.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from typing import Any

import attrs

from contactbook.domain.account import (
    AccountStatus,
    Consent,
    FamilyMember,
    OneTimeToken,
    TokenPurpose,
)
from contactbook.domain.application import ApplicationStatus, Grant, ServiceApplication
from contactbook.domain.audit import AuditEvent, chain_hash
from contactbook.domain.facility import Facility
from contactbook.domain.files import EvidenceKind, StoredFile
from contactbook.domain.identifiers import CallNumber, EmailAddress, NationalId
from contactbook.domain.inmate import Inmate
from contactbook.domain.message import Channel, Message, MessageCause
from contactbook.domain.notice import AgencyNotice, Audience, NoticeKind
from contactbook.domain.post import FamilyPost
from contactbook.domain.relationship import Relationship, Service
from contactbook.domain.staff import Role, StaffMember
from contactbook.ports.storage import Storage, UnitOfWork

__all__ = [
    "ACCOUNT",
    "AGENCY_STAFF",
    "APPLICATION",
    "FACILITY",
    "GRANT",
    "INMATE",
    "OTHER_ACCOUNT",
    "OTHER_APPLICATION",
    "OTHER_FACILITY",
    "OTHER_GRANT",
    "OTHER_INMATE",
    "OTHER_POST",
    "STAFF",
    "T0",
    "at",
    "make_account",
    "make_application",
    "make_audit_event",
    "make_facility",
    "make_grant",
    "make_inmate",
    "make_message",
    "make_notice",
    "make_other_account",
    "make_post",
    "make_staff",
    "make_stored_file",
    "make_token",
    "seed",
    "seed_world",
    "sha256",
]

# --- Time -------------------------------------------------------------------------

T0 = datetime(2024, 3, 4, 1, 30, tzinfo=UTC)
"""Monday 4 March 2024, 09:30 in Taipei: the suite's "now"."""


def at(hours: float) -> datetime:
    """``hours`` after (or before) :data:`T0`."""
    return T0 + timedelta(hours=hours)


# --- The fictional world ------------------------------------------------------------

FACILITY = "F01"
OTHER_FACILITY = "F02"
STAFF = "staff-chen"  # reviewer and publisher of FACILITY
AGENCY_STAFF = "staff-agency"  # Agency admin: facility_code None
ACCOUNT = "acc-wang"  # 王小明
OTHER_ACCOUNT = "acc-lee"  # 李大華
INMATE = "inm-wang"  # in FACILITY, call number 0609
OTHER_INMATE = "inm-lee"  # in OTHER_FACILITY, also call number 0609
APPLICATION = "app-wang"  # ACCOUNT for INMATE, approved
OTHER_APPLICATION = "app-lee"  # OTHER_ACCOUNT for OTHER_INMATE, approved
GRANT = "grant-wang"  # from APPLICATION
OTHER_GRANT = "grant-lee"  # from OTHER_APPLICATION

OTHER_POST: dict[str, Any] = {
    "author_id": OTHER_ACCOUNT,
    "inmate_id": OTHER_INMATE,
    "facility_code": OTHER_FACILITY,
    "grant_id": OTHER_GRANT,
}
"""Fields of a post by OTHER_ACCOUNT to OTHER_INMATE (spread into ``make_post``)."""


def sha256(text: str) -> str:
    """Hex SHA-256, for hashes that must look real but derive from a readable name."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def make_stored_file(file_id: str = "file-1", **changes: Any) -> StoredFile:
    """A JPEG photo as the upload inspector accepted it."""
    stored = StoredFile(
        id=file_id,
        storage_key=f"objects/{sha256(file_id)[:32]}",
        display_name="全家福.jpg",
        content_type="image/jpeg",
        size=482_133,
        sha256=sha256(f"bytes of {file_id}"),
    )
    return attrs.evolve(stored, **changes)


def make_facility(code: str = FACILITY, **changes: Any) -> Facility:
    names = {FACILITY: "北區示範監獄", OTHER_FACILITY: "南區示範看守所"}
    facility = Facility(code=code, name=names.get(code, f"示範矯正機關 {code}"))
    return attrs.evolve(facility, **changes)


def make_staff(staff_id: str = STAFF, **changes: Any) -> StaffMember:
    """A reviewer and publisher of FACILITY; the username is the id without ``staff-``."""
    member = StaffMember(
        id=staff_id,
        username=staff_id.removeprefix("staff-"),
        name="陳美玲",
        facility_code=FACILITY,
        roles=frozenset({Role.REVIEWER, Role.PUBLISHER}),
        password_hash="$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$ZmljdGlvbmFsaGFzaA",
        created_at=at(-24 * 90),
    )
    return attrs.evolve(member, **changes)


def make_account(account_id: str = ACCOUNT, **changes: Any) -> FamilyMember:
    """王小明, an active family member (pass other identifiers for other people)."""
    account = FamilyMember(
        id=account_id,
        name="王小明",
        birth_date=date(1988, 7, 15),
        national_id=NationalId.parse("A123456789"),
        email=EmailAddress.parse("wang.xiaoming@example.com.tw"),
        password_hash="$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$ZmFtaWx5aGFzaA",
        consent=Consent(notice_version="2024-01", accepted_at=at(-24 * 60)),
        created_at=at(-24 * 60),
        status=AccountStatus.ACTIVE,
        verified_at=at(-24 * 60 + 1),
    )
    return attrs.evolve(account, **changes)


def make_other_account() -> FamilyMember:
    """李大華, the account OTHER_ACCOUNT of the world (other unique values than 王小明's)."""
    return make_account(
        OTHER_ACCOUNT,
        name="李大華",
        national_id=NationalId.parse("B223456782"),
        email=EmailAddress.parse("lee.dahua@example.com.tw"),
    )


def make_token(token_id: str = "tok-1", **changes: Any) -> OneTimeToken:
    """An unused e-mail verification token of ACCOUNT; its hash derives from its id."""
    token = OneTimeToken(
        id=token_id,
        account_id=ACCOUNT,
        purpose=TokenPurpose.VERIFY_EMAIL,
        token_hash=sha256(f"secret of {token_id}"),
        created_at=at(0),
        expires_at=at(24),
    )
    return attrs.evolve(token, **changes)


def make_inmate(inmate_id: str = INMATE, **changes: Any) -> Inmate:
    """A current inmate of FACILITY with call number 0609."""
    inmate = Inmate(
        id=inmate_id,
        facility_code=FACILITY,
        call_number=CallNumber.parse("0609"),
        name="王大明",
        gender="男",
        birth_date=date(1985, 6, 9),
        admitted_on=date(2022, 1, 5),
        admitted_here_on=date(2022, 3, 1),
        custody_type="受刑人",
        has_minor_children=True,
    )
    return attrs.evolve(inmate, **changes)


def make_application(application_id: str = APPLICATION, **changes: Any) -> ServiceApplication:
    """A pending application of ACCOUNT for INMATE, with three evidence files."""
    application = ServiceApplication(
        id=application_id,
        applicant_id=ACCOUNT,
        inmate_id=INMATE,
        facility_code=FACILITY,
        relationship=Relationship.SPOUSE,
        services=frozenset({Service.CONTACT_BOOK, Service.REMOTE_VISIT}),
        evidence=(
            make_stored_file(
                f"{application_id}-id",
                display_name="身分證影本.pdf",
                content_type="application/pdf",
                kind=EvidenceKind.ID_DOCUMENT,
            ),
            make_stored_file(
                f"{application_id}-proof",
                display_name="戶籍謄本.pdf",
                content_type="application/pdf",
                kind=EvidenceKind.RELATIONSHIP_PROOF,
            ),
            make_stored_file(
                f"{application_id}-photo",
                display_name="正面照.png",
                content_type="image/png",
                kind=EvidenceKind.FRONTAL_PHOTO,
                thumbnail_key=f"thumbnails/{application_id}-photo",
            ),
        ),
        submitted_at=at(0),
    )
    return attrs.evolve(application, **changes)


def make_grant(grant_id: str = GRANT, **changes: Any) -> Grant:
    """An active grant of ACCOUNT for INMATE from APPLICATION."""
    grant = Grant(
        id=grant_id,
        account_id=ACCOUNT,
        inmate_id=INMATE,
        facility_code=FACILITY,
        application_id=APPLICATION,
        relationship=Relationship.SPOUSE,
        granted_at=at(-24 * 30),
    )
    return attrs.evolve(grant, **changes)


def make_post(post_id: str = "post-1", **changes: Any) -> FamilyPost:
    """A pending post of ACCOUNT to INMATE, in Chinese with an emoji and one photo."""
    submitted_at = changes.pop("submitted_at", at(0))
    post = FamilyPost(
        id=post_id,
        author_id=ACCOUNT,
        inmate_id=INMATE,
        facility_code=FACILITY,
        grant_id=GRANT,
        title="家裡一切都好",
        body="今天弟弟考了一百分 🎉，全家都很想你，要保重身體。",
        submitted_at=submitted_at,
        review_deadline=submitted_at + timedelta(days=14),
        attachments=(make_stored_file(f"{post_id}-photo"),),
    )
    return attrs.evolve(post, **changes)


def make_notice(notice_id: str = "notice-1", **changes: Any) -> AgencyNotice:
    """A notice of FACILITY to its families."""
    notice = AgencyNotice(
        id=notice_id,
        publisher_facility=FACILITY,
        publisher_name="北區示範監獄",
        author_id=STAFF,
        kind=NoticeKind.ANNOUNCEMENT,
        audience=Audience.facility(FACILITY),
        title="春節懇親活動報名",
        body="本監將於二月舉辦懇親活動，請於一月底前報名。",
        published_at=at(0),
    )
    return attrs.evolve(notice, **changes)


def make_message(message_id: str = "msg-1", **changes: Any) -> Message:
    """A pending e-mail to ACCOUNT about a post of FACILITY."""
    message = Message(
        id=message_id,
        channel=Channel.EMAIL,
        destination="wang.xiaoming@example.com.tw",
        subject="家庭聯絡簿審核通過",
        body="王小明 您好：您於 2024/03/04 送出的聯絡簿已審核通過。",
        cause=MessageCause.POST_APPROVED,
        created_at=at(0),
        account_id=ACCOUNT,
        facility_code=FACILITY,
    )
    return attrs.evolve(message, **changes)


def make_audit_event(seq: int = 1, **changes: Any) -> AuditEvent:
    """STAFF approving post-1, at ``at(seq)``; the hash is computed unless given."""
    event = AuditEvent(
        id=f"audit-{seq}",
        seq=seq,
        at=at(seq),
        actor_kind="staff",
        actor_id=STAFF,
        action="post.approve",
        target_kind="post",
        target_id="post-1",
        role="publisher,reviewer",
        facility_code=FACILITY,
    )
    event = attrs.evolve(event, **changes)
    return event if "hash" in changes else attrs.evolve(event, hash=chain_hash(event))


def seed(storage: Storage, *entities: object) -> None:
    """Add ``entities``, in order, each to its repository, in one committed unit of work."""
    with storage.unit_of_work() as uow:
        for entity in entities:
            _add_any(uow, entity)
        uow.commit()


def _add_any(uow: UnitOfWork, entity: object) -> None:
    if isinstance(entity, Facility):
        uow.facilities.add(entity)
    elif isinstance(entity, StaffMember):
        uow.staff.add(entity)
    elif isinstance(entity, FamilyMember):
        uow.accounts.add(entity)
    elif isinstance(entity, OneTimeToken):
        uow.tokens.add(entity)
    elif isinstance(entity, Inmate):
        uow.inmates.add(entity)
    elif isinstance(entity, ServiceApplication):
        uow.applications.add(entity)
    elif isinstance(entity, Grant):
        uow.grants.add(entity)
    elif isinstance(entity, FamilyPost):
        uow.posts.add(entity)
    elif isinstance(entity, AgencyNotice):
        uow.notices.add(entity)
    elif isinstance(entity, Message):
        uow.messages.add(entity)
    elif isinstance(entity, AuditEvent):
        uow.audit.append(entity)
    else:
        raise TypeError(f"no repository stores {type(entity).__name__}")


def seed_world(storage: Storage) -> None:
    """Two facilities, their staff, two families with one approved grant each."""
    approved = {
        "status": ApplicationStatus.APPROVED,
        "approved_services": frozenset({Service.CONTACT_BOOK}),
        "reviewed_at": at(-24 * 30),
        "reviewer_id": STAFF,
        "submitted_at": at(-24 * 31),
    }
    seed(
        storage,
        make_facility(FACILITY),
        make_facility(OTHER_FACILITY),
        make_staff(STAFF),
        make_staff(AGENCY_STAFF, name="林志豪", facility_code=None, roles=frozenset({Role.ADMIN})),
        make_account(ACCOUNT),
        make_other_account(),
        make_inmate(INMATE),
        make_inmate(OTHER_INMATE, facility_code=OTHER_FACILITY, name="李小龍"),
        make_application(APPLICATION, **approved),
        make_application(
            OTHER_APPLICATION,
            applicant_id=OTHER_ACCOUNT,
            inmate_id=OTHER_INMATE,
            facility_code=OTHER_FACILITY,
            relationship=Relationship.PARENT,
            **approved,
        ),
        make_grant(GRANT),
        make_grant(
            OTHER_GRANT,
            account_id=OTHER_ACCOUNT,
            inmate_id=OTHER_INMATE,
            facility_code=OTHER_FACILITY,
            application_id=OTHER_APPLICATION,
            relationship=Relationship.PARENT,
        ),
    )
