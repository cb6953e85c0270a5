"""Settings an embedding system chooses; defaults suit the demo."""

from __future__ import annotations

from datetime import timedelta

import attrs

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
    retain_closed_accounts: timedelta | None = timedelta(days=365)
    """… a closed account with everything still held about it (applications and their
    evidence, posts, grants, messages, tokens), counted from its closing. Audit events
    stay: they name the account by id only."""
