"""Agency and facility notices, and who may read each."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, or_, select

from contactbook.adapters.storage.sqlalchemy import converter as mappers
from contactbook.adapters.storage.sqlalchemy import tables
from contactbook.adapters.storage.sqlalchemy.repositories.base import TableRepository
from contactbook.adapters.storage.sqlalchemy.repositories.queries import (
    among,
    among_bound,
    bound_keyset_page,
    files_in,
    numbered_values,
    page_values,
    require_limit,
    within,
)
from contactbook.domain.notice import AgencyNotice, AudienceScope
from contactbook.ports.reads import After, FamilyNoticeFilter, NoticeCardRow

__all__ = ["SqlNoticeRepository"]


def _reaches_family(
    facility_codes: frozenset[str], inmate_ids: frozenset[str]
) -> ColumnElement[bool]:
    """Notices a family whose inmates are ``inmate_ids`` in ``facility_codes`` may read."""
    c = tables.notices.c
    return _audience_reaching(
        among(c.audience_facility_code, facility_codes), among(c.audience_inmate_id, inmate_ids)
    )


def _audience_reaching(
    to_facility: ColumnElement[bool], to_inmate: ColumnElement[bool]
) -> ColumnElement[bool]:
    """Notices to everyone, or to a facility or an inmate the given conditions accept."""
    c = tables.notices.c
    return or_(
        c.audience_scope == AudienceScope.EVERYONE.value,
        and_(c.audience_scope == AudienceScope.FACILITY.value, to_facility),
        and_(c.audience_scope == AudienceScope.INMATE.value, to_inmate),
    )


_CARD_COLUMNS = ("id", "published_at", "published_month", "title", "publisher_name", "body")


@functools.lru_cache(maxsize=256)
def _family_notices_statement(
    facilities: int, inmates: int, month: bool, after: bool
) -> Select[Any]:
    """The family's notice cards for this many facilities and inmates, built once."""
    c = tables.notices.c
    statement = select(*(c[name] for name in _CARD_COLUMNS), c.attachments).where(
        c.deleted_at.is_(None),
        _audience_reaching(
            among_bound(c.audience_facility_code, "facility", facilities),
            among_bound(c.audience_inmate_id, "inmate", inmates),
        ),
    )
    if month:
        statement = statement.where(c.published_month == bindparam("month"))
    return bound_keyset_page(statement, c.published_at, c.id, after=after, newest_first=True)


def _family_notices(
    where: FamilyNoticeFilter, after: After, limit: int
) -> tuple[Select[Any], dict[str, Any]]:
    require_limit(limit)
    statement = _family_notices_statement(
        len(where.facility_codes),
        len(where.inmate_ids),
        where.month is not None,
        after is not None,
    )
    values = page_values(
        after,
        limit,
        **numbered_values("facility", where.facility_codes),
        **numbered_values("inmate", where.inmate_ids),
    )
    if where.month is not None:
        values["month"] = where.month
    return statement, values


class SqlNoticeRepository(
    TableRepository[AgencyNotice], table=tables.notices, mapper=mappers.NOTICES
):
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
        c = tables.notices.c
        statement = self._rows.select().where(
            c.deleted_at.is_(None),
            among(c.publisher_facility, facility_codes),
            within(c.published_at, published_from, published_to),
        )
        return self._rows.page(statement, c.published_at, after, limit, newest_first=True)

    def family_cards(
        self, where: FamilyNoticeFilter, *, after: After, limit: int
    ) -> Sequence[NoticeCardRow]:
        statement, values = _family_notices(where, after, limit)
        return [
            NoticeCardRow(row[0], row[1], row[2], row[3], row[4], row[5], files_in(row[6]))
            for row in self._rows.rows_of(statement, values)
        ]

    def months_for_family(
        self, *, facility_codes: frozenset[str], inmate_ids: frozenset[str]
    ) -> Sequence[str]:
        c = tables.notices.c
        months = self._rows.connection.execute(
            select(c.published_month)
            .where(c.deleted_at.is_(None), _reaches_family(facility_codes, inmate_ids))
            .distinct()
            .order_by(c.published_month.desc())
        ).scalars()
        return [str(month) for month in months]
