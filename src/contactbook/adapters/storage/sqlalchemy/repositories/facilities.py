"""Facilities and their inmates."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from contactbook.adapters.storage.sqlalchemy import converter as mappers
from contactbook.adapters.storage.sqlalchemy import tables
from contactbook.adapters.storage.sqlalchemy.repositories.base import TableRepository
from contactbook.domain.facility import Facility
from contactbook.domain.inmate import Inmate

__all__ = ["SqlFacilityRepository", "SqlInmateRepository"]


class SqlFacilityRepository(
    TableRepository[Facility], table=tables.facilities, mapper=mappers.FACILITIES, key="code"
):
    """Facilities, keyed by their code."""

    def list(self) -> Sequence[Facility]:
        """Every facility, by code."""
        return self._rows.all(self._rows.select().order_by(tables.facilities.c.code))


class SqlInmateRepository(TableRepository[Inmate], table=tables.inmates, mapper=mappers.INMATES):
    """Inmates; a call number names one current inmate per facility."""

    def get_many(self, inmate_ids: Collection[str]) -> Mapping[str, Inmate]:
        wanted = sorted(set(inmate_ids))
        if not wanted:
            return {}
        statement = self._rows.select().where(tables.inmates.c.id.in_(wanted))
        return {inmate.id: inmate for inmate in self._rows.all(statement)}

    def current_by_call_number(self, facility_code: str, call_number: str) -> Inmate | None:
        c = tables.inmates.c
        return self._rows.first_where(
            c.facility_code == facility_code, c.call_number == call_number, c.left_at.is_(None)
        )

    def list_current(self, facility_code: str) -> Sequence[Inmate]:
        """Current inmates of the facility, by call number."""
        c = tables.inmates.c
        return self._rows.all(
            self._rows.select()
            .where(c.facility_code == facility_code, c.left_at.is_(None))
            .order_by(c.call_number, c.id)
        )
