"""What family and staff sign-in share: the lock (:mod:`contactbook.domain.lockout`)
and refusals that take as long as any other, so neither answer nor time tells an
account that exists from one that does not (DOMAIN §5)."""

from __future__ import annotations

import weakref
from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from contactbook.domain.account import FamilyMember
from contactbook.domain.staff import StaffMember
from contactbook.errors import AuthenticationFailed
from contactbook.ports.security import PasswordHasher
from contactbook.ports.storage import UnitOfWork
from contactbook.usecases._support.context import Context
from contactbook.usecases._support.recording import record

__all__ = ["count_failed_login", "refuse_while_locked", "verify_nothing"]

_DUMMY_PASSWORD = "timing-equaliser-not-a-password"
_dummy_hashes: weakref.WeakKeyDictionary[PasswordHasher, str] = weakref.WeakKeyDictionary()

Member = TypeVar("Member", FamilyMember, StaffMember)


def verify_nothing(hasher: PasswordHasher, password: str) -> None:
    """The work of checking a password, for a refusal with no password to check:
    one verification against a dummy hash (made once per hasher)."""
    dummy = _dummy_hashes.get(hasher)
    if dummy is None:
        dummy = _dummy_hashes[hasher] = hasher.hash(_DUMMY_PASSWORD)
    hasher.verify(dummy, password)


def refuse_while_locked(
    ctx: Context, uow: UnitOfWork, member: Member, password: str, *, action: str, kind: str
) -> None:
    """While ``member`` is locked: do a password's work, record the attempt
    (``locked``), and answer ``AuthenticationFailed`` — as for an unknown account."""
    if not member.is_locked(ctx.now()):
        return
    verify_nothing(ctx.hasher, password)
    record(ctx, uow, member, action, kind, member.id, outcome="locked")
    uow.commit()
    raise AuthenticationFailed()


def count_failed_login(
    ctx: Context,
    uow: UnitOfWork,
    replace: Callable[[Member, Member], None],
    member: Member,
    *,
    action: str,
    kind: str,
    outcome: str = "failure",
) -> datetime | None:
    """Write one more failure of ``member`` (with its repository's ``replace``) and
    record it; the end of the lock when
    this failure is the one that starts it (the caller tells the owner), else None."""
    rule = ctx.settings.lockout
    after = member.login_failed(rule, ctx.now())
    replace(member, after)
    record(ctx, uow, member, action, kind, member.id, outcome=outcome)
    return after.locked_until if rule.starts_lock(after.failed_logins) else None
