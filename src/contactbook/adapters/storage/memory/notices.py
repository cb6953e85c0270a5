"""Agency and facility notices."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from contactbook.adapters.storage.memory.repository import VersionedRepository, within
from contactbook.domain.notice import AgencyNotice, AudienceScope
from contactbook.ports.reads import After, FamilyNoticeFilter, NoticeCardRow


def _reaches_family(
    facility_codes: frozenset[str], inmate_ids: frozenset[str]
) -> Callable[[AgencyNotice], bool]:
    """Whether a family whose inmates are ``inmate_ids`` in ``facility_codes`` may read
    a notice."""

    def reaches(notice: AgencyNotice) -> bool:
        audience = notice.audience
        if audience.scope is AudienceScope.EVERYONE:
            return True
        if audience.scope is AudienceScope.FACILITY:
            return audience.facility_code in facility_codes
        return audience.inmate_id in inmate_ids

    return reaches


def _published_at(notice: AgencyNotice) -> datetime:
    return notice.published_at


class MemoryNoticeRepository(VersionedRepository[AgencyNotice]):
    """Agency and facility notices; deleted ones are kept but never listed."""

    def _live(
        self, where: Callable[[AgencyNotice], bool], *, after: After, limit: int
    ) -> list[AgencyNotice]:
        """Every list of notices: those not deleted, newest published first."""
        return self._newest(
            lambda notice: not notice.is_deleted and where(notice),
            _published_at,
            after=after,
            limit=limit,
        )

    def list_admin(
        self,
        *,
        facility_codes: frozenset[str] | None,
        published_from: datetime | None,
        published_to: datetime | None,
        after: After,
        limit: int,
    ) -> Sequence[AgencyNotice]:
        return self._live(
            lambda notice: (
                (facility_codes is None or notice.publisher_facility in facility_codes)
                and within(notice.published_at, published_from, published_to)
            ),
            after=after,
            limit=limit,
        )

    def _card(self, notice: AgencyNotice) -> NoticeCardRow:
        return NoticeCardRow(
            id=notice.id,
            published_at=notice.published_at,
            published_month=notice.published_month,
            title=notice.title,
            publisher_name=notice.publisher_name,
            body=notice.body,
            attachments=notice.attachments,
        )

    def family_cards(
        self, where: FamilyNoticeFilter, *, after: After, limit: int
    ) -> list[NoticeCardRow]:
        reaches = _reaches_family(where.facility_codes, where.inmate_ids)
        notices = self._live(
            lambda notice: (
                reaches(notice) and (where.month is None or notice.published_month == where.month)
            ),
            after=after,
            limit=limit,
        )
        return [self._card(notice) for notice in notices]

    def months_for_family(
        self, *, facility_codes: frozenset[str], inmate_ids: frozenset[str]
    ) -> Sequence[str]:
        reaches = _reaches_family(facility_codes, inmate_ids)
        readable = self._where(lambda notice: not notice.is_deleted and reaches(notice))
        return sorted({notice.published_month for notice in readable}, reverse=True)
