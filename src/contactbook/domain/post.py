"""Family posts (家庭聯絡簿) and their review states."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from contactbook.domain.application import require_reason_note
from contactbook.domain.files import StoredFile
from contactbook.domain.versioning import next_version, require_version
from contactbook.errors import Conflict

__all__ = ["COUNTING_STATUSES", "FamilyPost", "PostRejectionReason", "PostStatus"]


class PostStatus(enum.StrEnum):
    PENDING = "pending"  # 待審核
    APPROVED = "approved"  # 審核通過
    REJECTED = "rejected"  # 審核未通過
    EXPIRED = "expired"  # 已過期
    WITHDRAWN = "withdrawn"  # 已撤回


COUNTING_STATUSES = frozenset({PostStatus.PENDING, PostStatus.APPROVED})
"""Posts that use up the frequency period; rejected, withdrawn and expired ones free it."""


class PostRejectionReason(enum.StrEnum):
    """Rule 5: posts must be about caring for children or supporting the family."""

    UNRELATED_CONTENT = "unrelated_content"  # 內容非關懷子女或支持家庭
    OFFICIAL_BUSINESS = "official_business"  # 涉及公務申辦（接見申請、在監證明、喪假等）
    INAPPROPRIATE = "inappropriate"  # 內容不當
    ATTACHMENT_UNSUITABLE = "attachment_unsuitable"  # 附件不符規定
    OTHER = "other"  # 其他（請說明）


@attrs.frozen
class FamilyPost:
    """A post from a family member to one inmate, waiting for or past review."""

    id: str
    author_id: str
    inmate_id: str
    facility_code: str
    grant_id: str
    title: str
    body: str
    submitted_at: datetime
    review_deadline: datetime
    attachments: tuple[StoredFile, ...] = ()
    status: PostStatus = PostStatus.PENDING
    flagged_keywords: tuple[str, ...] = ()
    decided_at: datetime | None = None
    reviewer_id: str | None = None
    rejection_reason: PostRejectionReason | None = None
    rejection_note: str = ""
    delivered_at: datetime | None = None
    delivered_by: str | None = None
    withdrawn_at: datetime | None = None
    expired_at: datetime | None = None
    revision_of: str | None = None
    version: int = 1

    @property
    def is_flagged(self) -> bool:
        return bool(self.flagged_keywords)

    def _require_pending(self, version: int) -> None:
        require_version(self, version)
        if self.status is not PostStatus.PENDING:
            raise Conflict("already_decided")

    def approve(self, *, by: str, at: datetime, version: int) -> FamilyPost:
        self._require_pending(version)
        return attrs.evolve(
            self,
            status=PostStatus.APPROVED,
            decided_at=at,
            reviewer_id=by,
            version=self.version + 1,
        )

    def erased(self) -> FamilyPost:
        """Its personal data erased: no text, no attachments; status and dates stay."""
        return next_version(
            self, title="", body="", attachments=(), flagged_keywords=(), rejection_note=""
        )

    def reject(
        self, reason: PostRejectionReason, note: str, *, by: str, at: datetime, version: int
    ) -> FamilyPost:
        self._require_pending(version)
        return attrs.evolve(
            self,
            status=PostStatus.REJECTED,
            rejection_reason=reason,
            rejection_note=require_reason_note(reason, note),
            decided_at=at,
            reviewer_id=by,
            version=self.version + 1,
        )

    def withdraw(self, at: datetime) -> FamilyPost:
        if self.status is not PostStatus.PENDING:
            raise Conflict("already_decided")
        return attrs.evolve(
            self, status=PostStatus.WITHDRAWN, withdrawn_at=at, version=self.version + 1
        )

    def expire(self, at: datetime) -> FamilyPost:
        if self.status is not PostStatus.PENDING:
            raise Conflict("already_decided")
        return attrs.evolve(
            self, status=PostStatus.EXPIRED, expired_at=at, version=self.version + 1
        )

    def deliver(self, *, by: str, at: datetime) -> FamilyPost:
        if self.status is not PostStatus.APPROVED or self.delivered_at is not None:
            raise Conflict("not_deliverable")
        return attrs.evolve(self, delivered_at=at, delivered_by=by, version=self.version + 1)
