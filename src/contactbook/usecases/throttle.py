"""Login throttling per account: bounded, growing locks after repeated failures."""

from __future__ import annotations

from datetime import datetime, timedelta

from contactbook.domain.time import format_datetime
from contactbook.errors import AccountLocked
from contactbook.usecases.settings import Settings

__all__ = ["after_failure", "refuse_if_locked"]


def refuse_if_locked(locked_until: datetime | None, now: datetime) -> None:
    if locked_until is not None and now < locked_until:
        raise AccountLocked(until=format_datetime(locked_until))


def after_failure(failures: int, settings: Settings, now: datetime) -> datetime | None:
    """The lock end after the ``failures``-th consecutive failure: 1, 2, 4 … minutes,
    at most ``settings.max_lock``, so an attacker cannot lock a victim out for long."""
    excess = failures - settings.failures_before_lock
    if excess < 0:
        return None
    return now + min(timedelta(minutes=2 ** min(excess, 16)), settings.max_lock)
