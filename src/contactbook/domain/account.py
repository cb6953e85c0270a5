"""Family member accounts (家屬帳號) and their one-time tokens."""

from __future__ import annotations

import enum
from datetime import date, datetime

import attrs

from contactbook.domain.identifiers import EmailAddress, MobileNumber, NationalId, PhoneNumber
from contactbook.domain.lockout import Lockable
from contactbook.domain.versioning import next_version

__all__ = [
    "UNCHANGED",
    "AccountStatus",
    "Consent",
    "FamilyMember",
    "OneTimeToken",
    "TokenPurpose",
    "Unchanged",
]


@attrs.frozen
class Unchanged:
    """A field left as it is (where None means "cleared")."""


UNCHANGED = Unchanged()


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
        return next_version(self, status=AccountStatus.ACTIVE, verified_at=at)

    def needs_consent(self, current_notice_version: str) -> bool:
        """Whether the notice changed since this account accepted one (ask again)."""
        return self.consent.notice_version != current_notice_version

    def posting_suspended(self, now: datetime) -> bool:
        return self.posting_suspended_until is not None and now < self.posting_suspended_until

    def signed_in(self, *, rehashed: str | None = None) -> FamilyMember:
        """A successful login: the failure count starts again; ``rehashed`` replaces the
        password hash when the hasher's parameters changed."""
        return next_version(
            self,
            failed_logins=0,
            locked_until=None,
            password_hash=rehashed or self.password_hash,
        )

    def consented(self, notice_version: str, at: datetime) -> FamilyMember:
        return next_version(self, consent=Consent(notice_version, at))

    def password_set(self, password_hash: str) -> FamilyMember:
        """A new password: every other session ends, the failure count starts again."""
        return next_version(
            self,
            password_hash=password_hash,
            session_version=self.session_version + 1,
            failed_logins=0,
            locked_until=None,
        )

    def with_profile(
        self,
        *,
        name: str | None = None,
        mobile: MobileNumber | Unchanged | None = UNCHANGED,
        phone: PhoneNumber | Unchanged | None = UNCHANGED,
        notify_delivery: bool | None = None,
        notify_notices: bool | None = None,
    ) -> FamilyMember:
        """The profile a family member may correct (個資更正); None or UNCHANGED keeps."""
        return next_version(
            self,
            name=self.name if name is None else name,
            mobile=self.mobile if isinstance(mobile, Unchanged) else mobile,
            phone=self.phone if isinstance(phone, Unchanged) else phone,
            notify_delivery=self.notify_delivery if notify_delivery is None else notify_delivery,
            notify_notices=self.notify_notices if notify_notices is None else notify_notices,
        )

    def post_rejected(
        self, *, rejections_before_suspension: int, suspended_until: datetime
    ) -> FamilyMember:
        """One more rejected post; the one that reaches the facility's count suspends
        posting until ``suspended_until`` and starts the count again."""
        rejections = self.rejected_posts + 1
        if rejections >= rejections_before_suspension:
            return next_version(self, rejected_posts=0, posting_suspended_until=suspended_until)
        return next_version(self, rejected_posts=rejections)

    def deletion_requested(self, at: datetime) -> FamilyMember:
        return next_version(self, deletion_requested_at=at)

    def closed(self) -> FamilyMember:
        """Closed (a deletion or stop-processing request completed): every session
        ends and no mail is sent any more."""
        return next_version(
            self,
            status=AccountStatus.CLOSED,
            session_version=self.session_version + 1,
            notify_delivery=False,
            notify_notices=False,
        )

    def erased(
        self, *, masked_name: str, national_id: NationalId, email: EmailAddress, birth_date: date
    ) -> FamilyMember:
        """Identifying data replaced by stand-ins (unique, never anyone's real value);
        the password can no longer match."""
        return next_version(
            self,
            name=masked_name,
            national_id=national_id,
            email=email,
            birth_date=birth_date,
            phone=None,
            mobile=None,
            password_hash="",
            failed_logins=0,
            locked_until=None,
        )


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

    def used(self, at: datetime) -> OneTimeToken:
        return attrs.evolve(self, used_at=at)
