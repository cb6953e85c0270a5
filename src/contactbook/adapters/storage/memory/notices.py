"""Agency and facility notices."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from contactbook.adapters.storage.memory.repository import VersionedRepository, within
from contactbook.domain.notice import AgencyNotice, AudienceScope
from contactbook.ports.storage import After, NoticeCardRow


def _reaches_family(
    notice: AgencyNotice, facility_codes: frozenset[str], inmate_ids: frozenset[str]
) -> bool:
    """Whether a family whose inmates are ``inmate_ids`` in ``facility_codes`` may read it."""
    audience = notice.audience
    if audience.scope is AudienceScope.EVERYONE:
        return True
    if audience.scope is AudienceScope.FACILITY:
        return audience.facility_code in facility_codes
    return audience.inmate_id in inmate_ids


def _published_at(notice: AgencyNotice) -> datetime:
    return notice.published_at


class MemoryNoticeRepository(VersionedRepository[AgencyNotice]):
    """Agency and facility notices; deleted ones are kept but never listed."""

    def list_admin(
        self,
        *,
        facility_codes: frozenset[str] | None,
        published_from: datetime | None,
        published_to: datetime | None,
        after: After,
        limit: int,
    ) -> Sequence[AgencyNotice]:
        return self._newest(
            lambda notice: (
                not notice.is_deleted
                and (facility_codes is None or notice.publisher_facility in facility_codes)
                and within(notice.published_at, published_from, published_to)
            ),
            _published_at,
            after=after,
            limit=limit,
        )

    def family_cards(
        self,
        *,
        facility_codes: frozenset[str],
        inmate_ids: frozenset[str],
        month: str | None,
        after: After,
        limit: int,
    ) -> Sequence[NoticeCardRow]:
        notices = self.list_for_family(
            facility_codes=facility_codes,
            inmate_ids=inmate_ids,
            month=month,
            after=after,
            limit=limit,
        )
        return [
            NoticeCardRow(
                id=notice.id,
                published_at=notice.published_at,
                published_month=notice.published_month,
                title=notice.title,
                publisher_name=notice.publisher_name,
                body=notice.body,
                attachments=notice.attachments,
            )
            for notice in notices
        ]

    def list_for_family(
        self,
        *,
        facility_codes: frozenset[str],
        inmate_ids: frozenset[str],
        month: str | None,
        after: After,
        limit: int,
    ) -> Sequence[AgencyNotice]:
        return self._newest(
            lambda notice: (
                not notice.is_deleted
                and _reaches_family(notice, facility_codes, inmate_ids)
                and (month is None or notice.published_month == month)
            ),
            _published_at,
            after=after,
            limit=limit,
        )

    def months_for_family(
        self, *, facility_codes: frozenset[str], inmate_ids: frozenset[str]
    ) -> Sequence[str]:
        readable = self._where(
            lambda notice: (
                not notice.is_deleted and _reaches_family(notice, facility_codes, inmate_ids)
            )
        )
        return sorted({notice.published_month for notice in readable}, reverse=True)
