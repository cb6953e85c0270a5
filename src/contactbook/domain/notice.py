"""Notices from facilities and the Agency (機關聯絡簿) to families."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from contactbook.domain.files import StoredFile
from contactbook.domain.time import in_taipei
from contactbook.domain.versioning import require_version
from contactbook.errors import Conflict, NotFound, ValidationError

__all__ = ["MAX_NOTICE_ATTACHMENTS", "AgencyNotice", "Audience", "AudienceScope", "NoticeKind"]

MAX_NOTICE_ATTACHMENTS = 3


class NoticeKind(enum.StrEnum):
    """發佈類型; the seed shows only 公告, the type stays open for more."""

    ANNOUNCEMENT = "announcement"  # 公告


class AudienceScope(enum.StrEnum):
    EVERYONE = "everyone"  # every family (Agency only)
    FACILITY = "facility"  # the families of one facility
    INMATE = "inmate"  # the family of one inmate


@attrs.frozen
class Audience:
    """發佈對象: who may read a notice."""

    scope: AudienceScope
    facility_code: str | None = None
    inmate_id: str | None = None

    @classmethod
    def everyone(cls) -> Audience:
        return cls(AudienceScope.EVERYONE)

    @classmethod
    def facility(cls, code: str) -> Audience:
        return cls(AudienceScope.FACILITY, facility_code=code)

    @classmethod
    def inmate(cls, facility_code: str, inmate_id: str) -> Audience:
        return cls(AudienceScope.INMATE, facility_code=facility_code, inmate_id=inmate_id)


def check_attachment_count(count: int) -> None:
    if count > MAX_NOTICE_ATTACHMENTS:
        raise ValidationError(
            "too_many_attachments",
            fields={"attachments": "too_many_attachments"},
            limit=MAX_NOTICE_ATTACHMENTS,
        )


@attrs.frozen
class AgencyNotice:
    """A notice; ``publisher_facility`` is None when the Agency itself published it."""

    id: str
    publisher_facility: str | None
    publisher_name: str
    author_id: str
    kind: NoticeKind
    audience: Audience
    title: str
    body: str
    published_at: datetime
    attachments: tuple[StoredFile, ...] = ()
    updated_at: datetime | None = None
    deleted_at: datetime | None = None
    version: int = 1

    def __attrs_post_init__(self) -> None:
        check_attachment_count(len(self.attachments))

    @property
    def published_month(self) -> str:
        """``YYYY-MM`` of publication in Taiwan time (發佈年月)."""
        return in_taipei(self.published_at).strftime("%Y-%m")

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def _require_live(self, version: int | None) -> None:
        if self.is_deleted:
            raise NotFound()
        if version is not None:
            require_version(self, version)

    def edited(
        self,
        *,
        title: str,
        body: str,
        audience: Audience,
        kind: NoticeKind,
        attachments: tuple[StoredFile, ...],
        at: datetime,
        version: int,
    ) -> AgencyNotice:
        self._require_live(version)
        check_attachment_count(len(attachments))
        return attrs.evolve(
            self,
            title=title,
            body=body,
            audience=audience,
            kind=kind,
            attachments=attachments,
            updated_at=at,
            version=self.version + 1,
        )

    def deleted(self, at: datetime) -> AgencyNotice:
        if self.is_deleted:
            raise Conflict("already_deleted")
        return attrs.evolve(self, deleted_at=at, version=self.version + 1)
