"""Staff members."""

from __future__ import annotations

from collections.abc import Hashable, Sequence

from contactbook.adapters.storage.memory.repository import VersionedRepository
from contactbook.domain.staff import StaffMember


def _username_key(member: StaffMember) -> str:
    """Usernames are unique and looked up without regard to case."""
    return member.username.casefold()


class MemoryStaffRepository(VersionedRepository[StaffMember]):
    """Staff members, unique by username (case-insensitive)."""

    def _unique(self, member: StaffMember) -> tuple[Hashable | None, ...]:
        return (_username_key(member),)

    def by_username(self, username: str) -> StaffMember | None:
        wanted = username.casefold()
        return self._one(lambda member: _username_key(member) == wanted)

    def count(self) -> int:
        return len(self._rows)

    def list(self, facility_code: str | None = None) -> Sequence[StaffMember]:
        found = self._where(
            lambda member: facility_code is None or member.facility_code == facility_code
        )
        return sorted(found, key=_username_key)
