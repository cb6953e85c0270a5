"""Facilities and their live rules (DOMAIN.md §4), each a per-facility setting."""

from __future__ import annotations

import enum

import attrs

from contactbook.domain.files import InspectionContext
from contactbook.domain.versioning import next_version

__all__ = [
    "DOCUMENTS_PROFILE",
    "SINGLE_PHOTO_PROFILE",
    "AttachmentProfile",
    "Facility",
    "FacilityPolicy",
    "Restriction",
]

MB = 1024 * 1024


class Restriction(enum.StrEnum):
    """The four situations that close the contact book to an inmate (rule 2)."""

    COMMUNICATION_BAN = "communication_ban"  # 禁止接見通信
    DISCIPLINARY_PUNISHMENT = "disciplinary_punishment"  # 違規懲罰中
    ISOLATION = "isolation"  # 隔離（調查、保護、保護室）
    MEDICAL_ISOLATION = "medical_isolation"  # 因病隔離


@attrs.frozen
class AttachmentProfile:
    """How many files of which context, and how many bytes together (rule 4)."""

    name: str
    max_files: int
    max_total_bytes: int
    context: InspectionContext


SINGLE_PHOTO_PROFILE = AttachmentProfile(
    name="single_photo", max_files=1, max_total_bytes=20 * MB, context=InspectionContext.PHOTO
)
"""The published rule: one photo or picture up to 20 MB."""

DOCUMENTS_PROFILE = AttachmentProfile(
    name="documents", max_files=3, max_total_bytes=20 * MB, context=InspectionContext.DOCUMENT
)
"""The seed's screen: PDF/JPG/JPEG/PNG, several files up to 20 MB together."""


@attrs.frozen
class FacilityPolicy:
    """Every rule of DOMAIN.md §4 as data, defaulting to the published profile."""

    adult_post_interval_days: int = 30
    juvenile_post_interval_days: int = 7
    title_max_chars: int = 30
    body_max_chars: int = 100
    attachment_profile: AttachmentProfile = SINGLE_PHOTO_PROFILE
    rejections_before_suspension: int = 3
    suspension_months: int = 1
    review_deadline_days: int = 14
    adult_requires_minor_children: bool = True
    juvenile_max_kinship_degree: int = 3
    excluded_restrictions: frozenset[Restriction] = frozenset(Restriction)
    watch_keywords: tuple[str, ...] = ()

    def post_interval_days(self, juvenile: bool) -> int:
        return self.juvenile_post_interval_days if juvenile else self.adult_post_interval_days


@attrs.frozen
class Facility:
    """A correctional facility (矯正機關)."""

    code: str
    name: str
    is_juvenile: bool = False
    policy: FacilityPolicy = FacilityPolicy()
    version: int = 1

    def with_policy(self, policy: FacilityPolicy) -> Facility:
        return next_version(self, policy=policy)
