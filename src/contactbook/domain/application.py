"""Service applications (服務項目申請) and the contact-book grants they give."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from contactbook.domain.files import StoredFile
from contactbook.domain.relationship import Relationship, Service
from contactbook.domain.text import clean_text
from contactbook.domain.versioning import next_version, require_version
from contactbook.errors import Conflict, ValidationError

__all__ = [
    "ApplicationRejectionReason",
    "ApplicationStatus",
    "Grant",
    "ServiceApplication",
]


class ApplicationStatus(enum.StrEnum):
    PENDING = "pending"  # 未審核
    APPROVED = "approved"  # 審核通過
    REJECTED = "rejected"  # 審核未通過


class ApplicationRejectionReason(enum.StrEnum):
    EVIDENCE_UNCLEAR = "evidence_unclear"  # 佐證資料不清晰
    RELATIONSHIP_UNPROVEN = "relationship_unproven"  # 無法證明關係
    NOT_ELIGIBLE = "not_eligible"  # 不符申請資格
    PHOTO_UNSUITABLE = "photo_unsuitable"  # 照片不符規定
    OTHER = "other"  # 其他


REJECTION_NOTE_MAX_CHARS = 500
"""A rejection note is read by the family: a few sentences, not a letter."""


def require_reason_note(reason: enum.Enum, note: str) -> str:
    """``OTHER`` needs a free note; other reasons may carry one. The note follows the
    text rules of family text (no control characters, at most 500 characters)."""
    text = clean_text(note, field="note", max_chars=REJECTION_NOTE_MAX_CHARS, required=False)
    if reason.value == "other" and not text:
        raise ValidationError("rejection_note_required", fields={"note": "rejection_note_required"})
    return text


@attrs.frozen
class ServiceApplication:
    """One family member's request for services for one inmate, with evidence."""

    id: str
    applicant_id: str
    inmate_id: str
    facility_code: str
    relationship: Relationship
    services: frozenset[Service]
    evidence: tuple[StoredFile, ...]
    submitted_at: datetime
    kinship_degree: int | None = None
    status: ApplicationStatus = ApplicationStatus.PENDING
    approved_services: frozenset[Service] = frozenset()
    reviewed_at: datetime | None = None
    reviewer_id: str | None = None
    rejection_reason: ApplicationRejectionReason | None = None
    rejection_note: str = ""
    version: int = 1

    def _require_pending(self, version: int) -> None:
        require_version(self, version)
        if self.status is not ApplicationStatus.PENDING:
            raise Conflict("already_decided")

    def approve(
        self, services: frozenset[Service], *, by: str, at: datetime, version: int
    ) -> ServiceApplication:
        """Approve all or a subset of the requested services."""
        self._require_pending(version)
        if not services:
            raise ValidationError("services_required", fields={"services": "services_required"})
        if not services <= self.services:
            raise ValidationError(
                "service_not_requested", fields={"services": "service_not_requested"}
            )
        return attrs.evolve(
            self,
            status=ApplicationStatus.APPROVED,
            approved_services=services,
            reviewed_at=at,
            reviewer_id=by,
            version=self.version + 1,
        )

    def erased(self) -> ServiceApplication:
        """Its personal data erased: no evidence, no note; status and dates stay."""
        return next_version(self, evidence=(), rejection_note="")

    def reject(
        self, reason: ApplicationRejectionReason, note: str, *, by: str, at: datetime, version: int
    ) -> ServiceApplication:
        self._require_pending(version)
        return attrs.evolve(
            self,
            status=ApplicationStatus.REJECTED,
            rejection_reason=reason,
            rejection_note=require_reason_note(reason, note),
            reviewed_at=at,
            reviewer_id=by,
            version=self.version + 1,
        )

    @property
    def is_partial(self) -> bool:
        return self.status is ApplicationStatus.APPROVED and self.approved_services != self.services


@attrs.frozen
class Grant:
    """The right of one family member to post to one inmate (approved 家庭聯絡簿).

    Its version is bumped by every post, so two racing posts cannot both pass
    the frequency rule.
    """

    id: str
    account_id: str
    inmate_id: str
    facility_code: str
    application_id: str
    relationship: Relationship
    granted_at: datetime
    ended_at: datetime | None = None
    end_reason: str = ""
    version: int = 1

    @property
    def is_active(self) -> bool:
        return self.ended_at is None

    def end(self, reason: str, at: datetime) -> Grant:
        return attrs.evolve(self, ended_at=at, end_reason=reason, version=self.version + 1)

    def touched(self) -> Grant:
        return attrs.evolve(self, version=self.version + 1)
