"""Staff members (機關人員) of a facility or of the whole Agency."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from contactbook.domain.identifiers import EmailAddress
from contactbook.domain.lockout import Lockable
from contactbook.domain.versioning import next_version

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

    def signed_in(
        self, *, totp: TotpFactor | None = None, rehashed: str | None = None
    ) -> StaffMember:
        """A successful login: the failure count starts again; ``totp`` is the factor
        after the code it accepted (its step, or a recovery code spent), ``rehashed``
        the password hash when the hasher's parameters changed."""
        return next_version(
            self,
            failed_logins=0,
            locked_until=None,
            totp=totp or self.totp,
            password_hash=rehashed or self.password_hash,
        )

    def with_roles(self, roles: frozenset[Role]) -> StaffMember:
        return next_version(self, roles=roles)

    def deactivated(self) -> StaffMember:
        """Closed (the person left): sessions end, a started reset is cancelled."""
        return next_version(
            self,
            active=False,
            session_version=self.session_version + 1,
            reset_token_hash=None,
            reset_expires_at=None,
        )

    def reactivated(self) -> StaffMember:
        return next_version(self, active=True)

    def touched(self) -> StaffMember:
        """The same member, its version moved on: written alongside another member's
        change so that two concurrent changes relying on it conflict."""
        return next_version(self)

    def enrolling(self, factor: TotpFactor) -> StaffMember:
        """A new factor pending until a code of it is confirmed; the confirmed one
        stays in force meanwhile."""
        return next_version(self, totp_pending=factor)

    def factor_confirmed(self, step: int) -> StaffMember:
        """The pending factor confirmed at ``step``; replacing a confirmed one ends the
        member's other sessions."""
        if self.totp_pending is None:
            raise ValueError("no factor pending")
        return next_version(
            self,
            totp=attrs.evolve(self.totp_pending, last_step=step),
            totp_pending=None,
            session_version=self.session_version + (1 if self.totp is not None else 0),
        )

    def factor_cleared(self) -> StaffMember:
        """No second factor any more (lost): sessions end, the member enrolls again."""
        return next_version(
            self, totp=None, totp_pending=None, session_version=self.session_version + 1
        )

    def reset_started(self, token_hash: str, expires_at: datetime) -> StaffMember:
        return next_version(self, reset_token_hash=token_hash, reset_expires_at=expires_at)

    def password_reset(self, password_hash: str) -> StaffMember:
        """The member chose a new password with a reset token: the token is spent,
        the failure count starts again and every other session ends."""
        return next_version(
            self,
            password_hash=password_hash,
            reset_token_hash=None,
            reset_expires_at=None,
            failed_logins=0,
            locked_until=None,
            session_version=self.session_version + 1,
        )
