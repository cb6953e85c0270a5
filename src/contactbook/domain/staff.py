"""Staff members (機關人員) of a facility or of the whole Agency."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import attrs

from contactbook.domain.identifiers import EmailAddress
from contactbook.domain.lockout import Lockable

__all__ = ["Role", "StaffMember", "TotpFactor"]


class Role(enum.StrEnum):
    REVIEWER = "reviewer"  # applications and posts
    PUBLISHER = "publisher"  # notices
    ADMIN = "admin"  # staff accounts, facility settings, inmate roster


@attrs.frozen
class TotpFactor:
    """A TOTP second factor (RFC 6238) and its single-use recovery codes.

    ``secret`` is the shared base32 secret: it must be readable to check codes, so
    it is stored as is (protect the database like the password hashes).
    ``recovery_code_hashes`` are password hashes of the unused recovery codes; a
    used code is removed. ``last_step`` is the 30-second time step of the newest
    code accepted: a code of that step or an earlier one is refused (no replay).
    """

    secret: str
    recovery_code_hashes: tuple[str, ...] = ()
    last_step: int = 0


@attrs.frozen
class StaffMember(Lockable):
    """``facility_code`` None means Agency staff, whose scope is every facility.

    ``totp`` is the confirmed second factor (None: not enrolled); ``totp_pending``
    one being enrolled, which replaces it once a code from it is confirmed.
    ``reset_token_hash`` / ``reset_expires_at``: a password reset an admin started,
    stored only as the token's digest, single use. ``session_version`` goes up when
    the password is reset or the second factor cleared: front ends end the sessions
    begun under an older one (``version`` goes up on every change, logins too).
    """

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
    email: EmailAddress | None = None
    totp: TotpFactor | None = None
    totp_pending: TotpFactor | None = None
    reset_token_hash: str | None = None
    reset_expires_at: datetime | None = None
    session_version: int = 1
    version: int = 1

    @property
    def is_agency(self) -> bool:
        return self.facility_code is None

    @property
    def has_totp(self) -> bool:
        return self.totp is not None

    def covers(self, facility_code: str) -> bool:
        """Whether this member's scope includes ``facility_code``."""
        return self.is_agency or self.facility_code == facility_code

    def changed(self, **changes: Any) -> StaffMember:
        return attrs.evolve(self, version=self.version + 1, **changes)
