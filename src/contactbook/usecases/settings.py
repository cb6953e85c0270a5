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
    dispatch_max_attempts: int = 5
    dispatch_backoff: timedelta = timedelta(minutes=1)
    dispatch_lease: timedelta = timedelta(minutes=5)
    """How long a claimed message is hidden from other dispatchers; a dispatcher that
    dies mid-batch leaves its messages to be sent again after this."""
    deletion_deadline_days: int = 30
