"""Service applications and the grants their approval gives."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from contactbook.adapters.storage.memory.repository import VersionedRepository
from contactbook.domain.application import ApplicationStatus, Grant, ServiceApplication
from contactbook.ports.storage import After


def _submitted_at(application: ServiceApplication) -> datetime:
    return application.submitted_at


class MemoryApplicationRepository(VersionedRepository[ServiceApplication]):
    """Service applications."""

    def pending_for(self, applicant_id: str, inmate_id: str) -> ServiceApplication | None:
        """The oldest one, should there be several."""
        found = self._oldest(
            lambda application: (
                application.status is ApplicationStatus.PENDING
                and application.applicant_id == applicant_id
                and application.inmate_id == inmate_id
            ),
            _submitted_at,
            limit=1,
        )
        return found[0] if found else None

    def list_by_applicant(
        self, applicant_id: str, *, after: After, limit: int
    ) -> Sequence[ServiceApplication]:
        return self._newest(
            lambda application: application.applicant_id == applicant_id,
            _submitted_at,
            after=after,
            limit=limit,
        )

    def queue(
        self,
        *,
        facility_codes: frozenset[str] | None,
        status: ApplicationStatus | None,
        after: After,
        limit: int,
    ) -> Sequence[ServiceApplication]:
        return self._oldest(
            lambda application: (
                (facility_codes is None or application.facility_code in facility_codes)
                and (status is None or application.status is status)
            ),
            _submitted_at,
            after=after,
            limit=limit,
        )


class MemoryGrantRepository(VersionedRepository[Grant]):
    """Grants; active ones are those not ended."""

    def _active(self, predicate: Callable[[Grant], bool]) -> list[Grant]:
        """Active grants matching ``predicate``, oldest first."""
        return sorted(
            self._where(lambda grant: grant.is_active and predicate(grant)),
            key=lambda grant: (grant.granted_at, grant.id),
        )

    def active_for(self, account_id: str, inmate_id: str) -> Grant | None:
        found = self._active(
            lambda grant: grant.account_id == account_id and grant.inmate_id == inmate_id
        )
        return found[0] if found else None

    def active_for_account(self, account_id: str) -> Sequence[Grant]:
        return self._active(lambda grant: grant.account_id == account_id)

    def active_for_inmate(self, inmate_id: str) -> Sequence[Grant]:
        return self._active(lambda grant: grant.inmate_id == inmate_id)
