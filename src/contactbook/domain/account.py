"""Family member accounts (家屬帳號) and their one-time tokens."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import attrs

from contactbook.domain.identifiers import EmailAddress, MobileNumber, NationalId, PhoneNumber
from contactbook.domain.lockout import Lockable

__all__ = ["AccountStatus", "Consent", "FamilyMember", "OneTimeToken", "TokenPurpose"]


class AccountStatus(enum.StrEnum):
    UNVERIFIED = "unverified"
    ACTIVE = "active"
    LOCKED = "locked"
    CLOSED = "closed"


@attrs.frozen
class Consent:
    """Which version of the collection notice (個資聲明) was accepted, and when."""

    notice_version: str
    accepted_at: datetime


@attrs.frozen
class FamilyMember(Lockable):
    """A portal user. Email and national ID are unique in their normalised forms."""

    id: str
    name: str
    birth_date: date
    national_id: NationalId
    email: EmailAddress
    password_hash: str
    consent: Consent
    created_at: datetime
    phone: PhoneNumber | None = None
    mobile: MobileNumber | None = None
    status: AccountStatus = AccountStatus.UNVERIFIED
    verified_at: datetime | None = None
    failed_logins: int = 0
    locked_until: datetime | None = None
    rejected_posts: int = 0
    posting_suspended_until: datetime | None = None
    session_version: int = 1
    notify_delivery: bool = False
    notify_notices: bool = False
    deletion_requested_at: datetime | None = None
    version: int = 1

    @property
    def is_active(self) -> bool:
        return self.status is AccountStatus.ACTIVE

    def verified(self, at: datetime) -> FamilyMember:
        return attrs.evolve(
            self, status=AccountStatus.ACTIVE, verified_at=at, version=self.version + 1
        )

    def needs_consent(self, current_notice_version: str) -> bool:
        """Whether the notice changed since this account accepted one (ask again)."""
        return self.consent.notice_version != current_notice_version

    def posting_suspended(self, now: datetime) -> bool:
        return self.posting_suspended_until is not None and now < self.posting_suspended_until

    def changed(self, **changes: Any) -> FamilyMember:
        return attrs.evolve(self, version=self.version + 1, **changes)


class TokenPurpose(enum.StrEnum):
    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"


@attrs.frozen
class OneTimeToken:
    """A token stored only as its hash, bound to one account and one purpose."""

    id: str
    account_id: str
    purpose: TokenPurpose
    token_hash: str
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        return self.used_at is None and now < self.expires_at
