"""Staff members."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, func, select

from contactbook.adapters.storage.sqlalchemy import converter as mappers
from contactbook.adapters.storage.sqlalchemy import tables
from contactbook.adapters.storage.sqlalchemy.converter import username_key
from contactbook.adapters.storage.sqlalchemy.repositories.base import TableRepository
from contactbook.domain.staff import StaffMember

__all__ = ["SqlStaffRepository"]


class SqlStaffRepository(TableRepository[StaffMember], table=tables.staff, mapper=mappers.STAFF):
    """Staff members, unique by username (case-insensitive)."""

    def by_username(self, username: str) -> StaffMember | None:
        return self._rows.first_where(tables.staff.c.username_key == username_key(username))

    def count(self) -> int:
        total = self._rows.connection.execute(
            select(func.count()).select_from(tables.staff)
        ).scalar_one()
        return int(total)

    def list(self, facility_code: str | None = None) -> Sequence[StaffMember]:
        key: ColumnElement[str] = tables.staff.c.username_key
        if self._rows.connection.dialect.name == "postgresql":
            key = key.collate("C")  # by code point, as the other stores sort
        statement = self._rows.select().order_by(key)
        if facility_code is not None:
            statement = statement.where(tables.staff.c.facility_code == facility_code)
        return self._rows.all(statement)
