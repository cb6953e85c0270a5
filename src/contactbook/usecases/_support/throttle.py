"""Login throttling per account (not per address): bounded, growing locks.

The rule, for family and staff accounts alike (``Settings.failures_before_lock``
and ``Settings.max_lock``):

* failures 1 … 9 in a row: no delay;
* the 10th consecutive failure locks the account for 1 minute, the 11th for 2,
  then 4, 8 … minutes — but never longer than ``max_lock`` (15 minutes by
  default), so an attacker cannot lock a victim out for long;
* while locked, every login is refused without the password deciding anything, and
  the refusal does not extend the lock;
* a wrong TOTP or recovery code counts as a failure like a wrong password;
* a successful login (and a password reset) sets the count back to 0.

A locked refusal must not tell that the account exists (DOMAIN §5): it answers
``AuthenticationFailed`` exactly as for an unknown e-mail or username — same type,
code and message, and as slow, since one password verification is made anyway.
The owner learns of the lock by mail instead, once, when it starts: the only
person who reads that mail is the one the account belongs to.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from contactbook.usecases.settings import Settings

__all__ = ["after_failure", "is_locked", "lock_starts"]


def is_locked(locked_until: datetime | None, now: datetime) -> bool:
    """Whether a lock ending at ``locked_until`` still holds at ``now``."""
    return locked_until is not None and now < locked_until


def after_failure(failures: int, settings: Settings, now: datetime) -> datetime | None:
    """The lock end after the ``failures``-th consecutive failure: none before
    ``settings.failures_before_lock``, then 1, 2, 4 … minutes, at most
    ``settings.max_lock``."""
    excess = failures - settings.failures_before_lock
    if excess < 0:
        return None
    return now + min(timedelta(minutes=2 ** min(excess, 16)), settings.max_lock)


def lock_starts(failures: int, settings: Settings) -> bool:
    """Whether the ``failures``-th consecutive failure is the one that first locks the
    account (the owner is told then — not at every longer lock after it, which an
    attacker guessing once per lock could otherwise turn into a mail flood)."""
    return failures == settings.failures_before_lock
