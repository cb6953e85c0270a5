"""Facilities and their inmates."""

from __future__ import annotations

from collections.abc import Collection, Hashable, Mapping, Sequence

from contactbook.adapters.storage.memory.repository import Repository, VersionedRepository
from contactbook.domain.facility import Facility
from contactbook.domain.inmate import Inmate


class MemoryFacilityRepository(Repository[Facility]):
    """Facilities, keyed by their code."""

    def _key(self, facility: Facility) -> str:
        return facility.code

    def _unchanged(self, stored: Facility, old: Facility) -> bool:
        return stored.version == old.version

    def list(self) -> Sequence[Facility]:
        """By code: a stable order for menus."""
        return sorted(self._rows.values(), key=self._key)


def _current_call_number(inmate: Inmate) -> tuple[str, str] | None:
    """A call number is unique among the current inmates of one facility only:
    numbers are reused after people leave."""
    if inmate.left_at is not None:
        return None
    return inmate.facility_code, inmate.call_number.value


class MemoryInmateRepository(VersionedRepository[Inmate]):
    """Inmates; a call number names one current inmate per facility."""

    def _unique(self, inmate: Inmate) -> tuple[Hashable | None, ...]:
        return (_current_call_number(inmate),)

    def get_many(self, inmate_ids: Collection[str]) -> Mapping[str, Inmate]:
        rows = self._rows
        return {inmate_id: rows[inmate_id] for inmate_id in set(inmate_ids) if inmate_id in rows}

    def current_by_call_number(self, facility_code: str, call_number: str) -> Inmate | None:
        return self._one(
            lambda inmate: _current_call_number(inmate) == (facility_code, call_number)
        )

    def list_current(self, facility_code: str) -> Sequence[Inmate]:
        """By call number."""
        current = self._where(
            lambda inmate: inmate.is_current and inmate.facility_code == facility_code
        )
        return sorted(current, key=lambda inmate: (inmate.call_number.value, inmate.id))
