"""Login throttling per account (not per address): bounded, growing locks.

The rule, for family and staff accounts alike (``Settings.failures_before_lock``
and ``Settings.max_lock``):

* failures 1 … 9 in a row: no delay;
* the 10th consecutive failure locks the account for 1 minute, the 11th for 2,
  then 4, 8 … minutes — but never longer than ``max_lock`` (15 minutes by
  default), so an attacker cannot lock a victim out for long;
* while locked, every login is refused with ``AccountLocked`` (showing the end of
  the lock) without checking the password, and the refusal does not extend it;
* a wrong TOTP or recovery code counts as a failure like a wrong password;
* a successful login (and a password reset) sets the count back to 0.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from contactbook.domain.time import format_datetime
from contactbook.errors import AccountLocked
from contactbook.usecases.settings import Settings

__all__ = ["after_failure", "refuse_if_locked"]


def refuse_if_locked(locked_until: datetime | None, now: datetime) -> None:
    """``AccountLocked(until=…)`` (Taiwan time) while the lock lasts."""
    if locked_until is not None and now < locked_until:
        raise AccountLocked(until=format_datetime(locked_until))


def after_failure(failures: int, settings: Settings, now: datetime) -> datetime | None:
    """The lock end after the ``failures``-th consecutive failure: none before
    ``settings.failures_before_lock``, then 1, 2, 4 … minutes, at most
    ``settings.max_lock``."""
    excess = failures - settings.failures_before_lock
    if excess < 0:
        return None
    return now + min(timedelta(minutes=2 ** min(excess, 16)), settings.max_lock)
