"""Mail and SMS messages: written with the change that causes them, sent later."""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

from contactbook.domain.versioning import next_version

__all__ = ["Channel", "Message", "MessageCause", "MessageStatus"]


class Channel(enum.StrEnum):
    EMAIL = "email"  # 電子郵件
    SMS = "sms"  # 簡訊


class MessageStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class MessageCause(enum.StrEnum):
    REGISTRATION_VERIFICATION = "registration_verification"
    REGISTRATION_ATTEMPT = "registration_attempt"
    PASSWORD_RESET = "password_reset"
    PASSWORD_CHANGED = "password_changed"
    ACCOUNT_LOCKED = "account_locked"
    ACCOUNT_ALREADY_VERIFIED = "account_already_verified"
    VERIFY_BEFORE_RESET = "verify_before_reset"
    STAFF_PASSWORD_RESET = "staff_password_reset"
    STAFF_TOTP_CLEARED = "staff_totp_cleared"
    STAFF_ACCOUNT_LOCKED = "staff_account_locked"
    APPLICATION_APPROVED = "application_approved"
    APPLICATION_PARTLY_APPROVED = "application_partly_approved"
    APPLICATION_REJECTED = "application_rejected"
    POST_APPROVED = "post_approved"
    POST_REJECTED = "post_rejected"
    POST_EXPIRED = "post_expired"
    POST_DELIVERED = "post_delivered"
    NEW_NOTICE = "new_notice"


@attrs.frozen
class Message:
    """One mail or SMS to one family member (or an address with no account)."""

    id: str
    channel: Channel
    destination: str
    subject: str
    body: str
    cause: MessageCause
    created_at: datetime
    account_id: str | None = None
    facility_code: str | None = None
    status: MessageStatus = MessageStatus.PENDING
    attempts: int = 0
    next_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    last_error: str = ""
    version: int = 1
    log_body: str = ""
    """The body as the log, an export or a staff view shows it: one-time links (a
    verification or reset token) replaced by 「連結已隱藏」/"link hidden". Empty when
    the body holds nothing secret. A log must not be a second way into the account:
    :attr:`readable_body` is the only body a read path may return, and once the
    message is sent the live body is dropped from the store."""

    @property
    def readable_body(self) -> str:
        """The body with its secrets hidden: what every read path returns."""
        return self.log_body or self.body

    def leased(self, until: datetime) -> Message:
        """Claimed by one dispatcher: no other sees it as due before ``until``."""
        return attrs.evolve(self, next_attempt_at=until, version=self.version + 1)

    def sent(self, at: datetime) -> Message:
        """Delivered: the secrets leave the store with it (the body kept is the log's)."""
        return attrs.evolve(
            self,
            body=self.readable_body,
            log_body="",
            status=MessageStatus.SENT,
            sent_at=at,
            next_attempt_at=None,
            attempts=self.attempts + 1,
            last_error="",
            version=self.version + 1,
        )

    def requeued(self) -> Message:
        """A failed message put back in the queue (an admin's retry)."""
        return next_version(self, status=MessageStatus.PENDING, next_attempt_at=None)

    def lease_released(self, next_attempt_at: datetime | None) -> Message:
        """Given back by a dispatcher that did not get to it: due as it was before."""
        return next_version(self, next_attempt_at=next_attempt_at)

    def abandoned(self, reason: str) -> Message:
        """Never to be sent (its account closed): failed, with ``reason``."""
        return next_version(
            self, status=MessageStatus.FAILED, next_attempt_at=None, last_error=reason
        )

    def erased(self, masked_destination: str) -> Message:
        """Its personal data erased: the destination masked, nothing of the text kept
        (the log body included)."""
        return next_version(self, destination=masked_destination, subject="", body="", log_body="")

    def attempt_failed(self, error: str, *, retry_at: datetime | None) -> Message:
        """Record a failed attempt: retry later, or fail for good when ``retry_at`` is None.
        A failed message keeps its live body (it was never delivered, and an admin may
        retry it); read paths show :attr:`readable_body` all the same."""
        return attrs.evolve(
            self,
            status=MessageStatus.PENDING if retry_at else MessageStatus.FAILED,
            attempts=self.attempts + 1,
            next_attempt_at=retry_at,
            last_error=error[:500],
            version=self.version + 1,
        )
