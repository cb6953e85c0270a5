"""Service applications and the grants they lead to."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, select

from contactbook.adapters.storage.sqlalchemy import converter as mappers
from contactbook.adapters.storage.sqlalchemy import tables
from contactbook.adapters.storage.sqlalchemy.repositories.base import TableRepository
from contactbook.adapters.storage.sqlalchemy.repositories.queries import among
from contactbook.domain.application import ApplicationStatus, Grant, ServiceApplication
from contactbook.ports.storage import After

__all__ = ["SqlApplicationRepository", "SqlGrantRepository"]


class SqlApplicationRepository(
    TableRepository[ServiceApplication], table=tables.applications, mapper=mappers.APPLICATIONS
):
    """Service applications, listed by ``submitted_at``."""

    def pending_for(self, applicant_id: str, inmate_id: str) -> ServiceApplication | None:
        """The oldest pending application of this applicant for this inmate."""
        c = tables.applications.c
        return self._rows.one(
            self._rows.select()
            .where(
                c.applicant_id == applicant_id,
                c.inmate_id == inmate_id,
                c.status == ApplicationStatus.PENDING.value,
            )
            .order_by(c.submitted_at, c.id)
            .limit(1)
        )

    def list_by_applicant(
        self, applicant_id: str, *, after: After, limit: int
    ) -> Sequence[ServiceApplication]:
        c = tables.applications.c
        statement = self._rows.select().where(c.applicant_id == applicant_id)
        return self._rows.page(statement, c.submitted_at, after, limit, newest_first=True)

    def queue(
        self,
        *,
        facility_codes: frozenset[str] | None,
        status: ApplicationStatus | None,
        after: After,
        limit: int,
    ) -> Sequence[ServiceApplication]:
        c = tables.applications.c
        statement = self._rows.select().where(among(c.facility_code, facility_codes))
        if status is not None:
            statement = statement.where(c.status == status.value)
        return self._rows.page(statement, c.submitted_at, after, limit, newest_first=False)


@functools.cache
def _grants_of_account() -> Select[Any]:
    """An account's active grants (read by every family page), built once."""
    c = tables.grants.c
    return (
        select(tables.grants)
        .where(c.ended_at.is_(None), c.account_id == bindparam("account"))
        .order_by(c.granted_at, c.id)
    )


@functools.cache
def _active_grant_statement() -> Select[Any]:
    """The oldest active grant of one account for one inmate, built once."""
    c = tables.grants.c
    return (
        select(tables.grants)
        .where(
            c.ended_at.is_(None),
            c.account_id == bindparam("account"),
            c.inmate_id == bindparam("inmate"),
        )
        .order_by(c.granted_at, c.id)
        .limit(1)
    )


class SqlGrantRepository(TableRepository[Grant], table=tables.grants, mapper=mappers.GRANTS):
    """Grants; active ones are those not ended, listed oldest first."""

    def _active(self, *conditions: ColumnElement[bool]) -> list[Grant]:
        c = tables.grants.c
        return self._rows.all(
            self._rows.select()
            .where(c.ended_at.is_(None), *conditions)
            .order_by(c.granted_at, c.id)
        )

    def active_for(self, account_id: str, inmate_id: str) -> Grant | None:
        return self._rows.first_of(
            _active_grant_statement(), {"account": account_id, "inmate": inmate_id}
        )

    def active_for_account(self, account_id: str) -> Sequence[Grant]:
        return self._rows.every_of(_grants_of_account(), {"account": account_id})

    def active_for_inmate(self, inmate_id: str) -> Sequence[Grant]:
        return self._active(tables.grants.c.inmate_id == inmate_id)
