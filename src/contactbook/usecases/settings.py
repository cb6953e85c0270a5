"""Settings an embedding system chooses; defaults suit the demo."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import attrs

from contactbook.domain.lockout import LockoutRule

AUDIT_KEY_MIN_BYTES = 32

__all__ = ["Settings"]


@attrs.frozen
class Settings:
    base_url: str = "http://localhost:8000"
    """Links in mail are built from this, never from a request's Host header."""
    consent_notice_version: str = "2020-10"
    mail_template_dir: str | None = None
    """A folder of ``<cause>.<locale>.txt`` templates replacing the shipped ones."""
    verification_token_ttl: timedelta = timedelta(hours=24)
    reset_token_ttl: timedelta = timedelta(hours=1)
    family_password_min: int = 12
    staff_password_min: int = 15
    password_max: int = 128
    failures_before_lock: int = 10
    max_lock: timedelta = timedelta(minutes=15)
    require_staff_totp: bool = False
    """Staff must give a TOTP code (or a recovery code) at login; a staff member who
    has not enrolled yet may only enroll. Staff who enrolled need a code anyway."""
    totp_issuer: str = "contactbook"
    """The issuer shown by authenticator apps for staff TOTP entries."""
    dispatch_max_attempts: int = 5
    dispatch_backoff: timedelta = timedelta(minutes=1)
    dispatch_lease: timedelta = timedelta(minutes=5)
    """How long a claimed message is hidden from other dispatchers; a dispatcher that
    dies mid-batch leaves its messages to be sent again after this."""
    deletion_deadline_days: int = 30
    """PDPA Art. 13: deletion, stop-processing (and correction) requests are answered
    within this many days of the request (Taiwan calendar days)."""
    retain_delivered_posts: timedelta | None = timedelta(days=365)
    """Retention (``maintenance.apply_retention``): a post handed to the inmate, with
    its files, is deleted this long after delivery. None keeps them."""
    retain_rejected_posts: timedelta | None = timedelta(days=180)
    """… a rejected post, counted from the decision."""
    retain_expired_posts: timedelta | None = timedelta(days=180)
    """… an expired post, counted from its expiry."""
    retain_withdrawn_posts: timedelta | None = timedelta(days=180)
    """… a post its author withdrew, counted from the withdrawal."""
    retain_messages: timedelta | None = timedelta(days=365)
    """… a sent or failed mail/SMS, counted from its creation."""
    audit_keys: Mapping[str, bytes] = attrs.field(
        factory=dict, converter=dict, repr=False, hash=False
    )
    """Keys of the audit chain by key id, each at least 32 random bytes, kept out of the
    database (a secret store, the environment). Empty: the chain is unkeyed SHA-256,
    which shows careless edits but not a rewrite (see README, Security). Keep every key
    that sealed events still stored: verification needs it."""
    audit_key_id: str | None = None
    """The key of ``audit_keys`` that seals new events; to rotate, add a new key and
    name it here, keeping the old one in ``audit_keys``."""
    audit_unkeyed_through: int = 0
    """With a key: the last ``seq`` written before keying began. Unkeyed events after it
    fail verification, so a rewrite cannot fall back to plain SHA-256."""
    retain_closed_accounts: timedelta | None = timedelta(days=365)
    """… a closed account with everything still held about it (applications and their
    evidence, posts, grants, messages, tokens), counted from its closing. Audit events
    stay: they name the account by id only."""

    def __attrs_post_init__(self) -> None:
        if self.audit_key_id is not None and self.audit_key_id not in self.audit_keys:
            raise ValueError(f"audit_key_id {self.audit_key_id!r} is not in audit_keys")
        for key_id, key in self.audit_keys.items():
            if not key_id or len(key_id) > 64:
                raise ValueError("an audit key id has 1 to 64 characters")
            if len(key) < AUDIT_KEY_MIN_BYTES:
                raise ValueError(
                    f"audit key {key_id!r} is shorter than {AUDIT_KEY_MIN_BYTES} bytes"
                )

    @property
    def lockout(self) -> LockoutRule:
        """The login throttle's rule (:mod:`contactbook.domain.lockout`)."""
        return LockoutRule(self.failures_before_lock, self.max_lock)

    @property
    def audit_key(self) -> tuple[str, bytes] | None:
        """The id and key sealing new events, or None for an unkeyed chain."""
        if self.audit_key_id is None:
            return None
        return self.audit_key_id, self.audit_keys[self.audit_key_id]
