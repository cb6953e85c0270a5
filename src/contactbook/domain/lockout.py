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

A locked refusal must not tell that the account exists (DOMAIN §5): it answers as
for an unknown e-mail or username — same type, code and message, and as slow. The
owner learns of the lock by mail instead, once, when it starts: the only person who
reads that mail is the one the account belongs to.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Self

import attrs

__all__ = ["Lockable", "LockoutRule"]


@attrs.frozen
class LockoutRule:
    failures_before_lock: int = 10
    max_lock: timedelta = timedelta(minutes=15)

    def lock_end(self, failures: int, now: datetime) -> datetime | None:
        """The lock end after the ``failures``-th consecutive failure: none before
        ``failures_before_lock``, then 1, 2, 4 … minutes, at most ``max_lock``."""
        excess = failures - self.failures_before_lock
        if excess < 0:
            return None
        return now + min(timedelta(minutes=2 ** min(excess, 16)), self.max_lock)

    def starts_lock(self, failures: int) -> bool:
        """Whether the ``failures``-th consecutive failure is the one that first locks
        the account (the owner is told then — not at every longer lock after it, which
        an attacker guessing once per lock could otherwise turn into a mail flood)."""
        return failures == self.failures_before_lock


class Lockable:
    """The login throttle's transitions, for an entity with ``failed_logins``,
    ``locked_until`` and ``version`` (family members and staff members)."""

    __slots__ = ()
    failed_logins: int
    locked_until: datetime | None
    version: int

    def is_locked(self, now: datetime) -> bool:
        """Whether a lock still holds at ``now`` (it ends at ``locked_until`` exactly)."""
        return self.locked_until is not None and now < self.locked_until

    def login_failed(self, rule: LockoutRule, now: datetime) -> Self:
        """One more consecutive failure, and the lock it brings under ``rule``."""
        failures = self.failed_logins + 1
        return attrs.evolve(
            self,  # type: ignore[misc]  # the entities using this are attrs classes
            failed_logins=failures,
            locked_until=rule.lock_end(failures, now),
            version=self.version + 1,
        )
