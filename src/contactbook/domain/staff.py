"""Staff members (機關人員) of a facility or of the whole Agency."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import attrs

__all__ = ["Role", "StaffMember"]


class Role(enum.StrEnum):
    REVIEWER = "reviewer"  # applications and posts
    PUBLISHER = "publisher"  # notices
    ADMIN = "admin"  # staff accounts, facility settings, inmate roster


@attrs.frozen
class StaffMember:
    """``facility_code`` None means Agency staff, whose scope is every facility."""

    id: str
    username: str
    name: str
    facility_code: str | None
    roles: frozenset[Role]
    password_hash: str
    created_at: datetime
    active: bool = True
    failed_logins: int = 0
    locked_until: datetime | None = None
    version: int = 1

    @property
    def is_agency(self) -> bool:
        return self.facility_code is None

    def covers(self, facility_code: str) -> bool:
        """Whether this member's scope includes ``facility_code``."""
        return self.is_agency or self.facility_code == facility_code

    def changed(self, **changes: Any) -> StaffMember:
        return attrs.evolve(self, version=self.version + 1, **changes)
