"""Family logins: throttling per account (bounded, growing locks, reset on success),
a lock that answers like an unknown account and is told to the owner by mail,
unverified accounts, and an audit event for every attempt."""

from __future__ import annotations

import contextlib
import re
from datetime import timedelta

import attrs
import pytest

import contactbook
from contactbook.domain.lockout import LockoutRule
from contactbook.domain.time import format_datetime
from contactbook.errors import AuthenticationFailed, PermissionDenied
from contactbook.usecases.settings import Settings
from tests.security.conftest import (
    EMAIL,
    OTHER_EMAIL,
    OTHER_NATIONAL_ID,
    PASSWORD,
    START,
    BookFactory,
    audit_events,
    clock,
    mails_to,
    register,
)
from tests.security.test_enumeration import CountingHasher

WRONG = "not-the-password-at-all"


def _fail(book: contactbook.ContactBook, times: int, email: str = EMAIL) -> None:
    for _ in range(times):
        with pytest.raises(AuthenticationFailed):
            book.accounts.authenticate(email, WRONG)


def _refusal(book: contactbook.ContactBook, email: str, password: str) -> tuple[object, ...]:
    """What a person sees of a refused login: type, code, messages, parameters."""
    with pytest.raises(contactbook.errors.ContactBookError) as caught:
        book.accounts.authenticate(email, password)
    error = caught.value
    return type(error), error.code, error.message_zh, error.message_en, error.params


def _locked_until(book: contactbook.ContactBook) -> str:
    """Checks the right password is refused exactly as an unknown address is, and
    returns the lock's end as the mail to the owner gives it."""
    locked = _refusal(book, EMAIL, PASSWORD)
    assert locked == _refusal(book, "nobody@example.com", PASSWORD)
    assert locked[:2] == (AuthenticationFailed, "authentication_failed")
    mails = [m for m in mails_to(book, EMAIL) if "帳號暫時鎖定通知" in m.subject]
    assert mails, "the owner was not told of the lock"
    found = re.search(r"暫時鎖定至 (\d{4}/\d\d/\d\d \d\d:\d\d:\d\d)", mails[-1].body)
    assert found is not None
    return found.group(1)


@pytest.mark.parametrize(
    ("failures", "minutes"),
    [(10, 1), (11, 2), (12, 4), (13, 8), (14, 15), (15, 15), (100, 15), (10_000, 15)],
)
def test_the_lock_grows_and_is_bounded(failures: int, minutes: int) -> None:
    rule = Settings().lockout
    assert rule.lock_end(failures, START) == START + timedelta(minutes=minutes)


def test_no_lock_before_ten_failures() -> None:
    assert all(LockoutRule().lock_end(n, START) is None for n in range(10))


def test_ten_failures_lock_with_the_time_shown(book: contactbook.ContactBook) -> None:
    register(book)
    _fail(book, 10)
    assert _locked_until(book) == format_datetime(START + timedelta(minutes=1))
    assert _locked_until(book) == "2020/10/07 11:01:00"  # Taiwan time
    clock(book).advance(minutes=1)
    book.accounts.authenticate(EMAIL, PASSWORD)


def test_attempts_while_locked_do_not_extend_the_lock(book: contactbook.ContactBook) -> None:
    register(book)
    _fail(book, 10)
    for _ in range(20):
        clock(book).advance(seconds=2)
        with pytest.raises(AuthenticationFailed):
            book.accounts.authenticate(EMAIL, WRONG)
    with book.storage.unit_of_work() as uow:
        account = uow.accounts.by_email(EMAIL)
    assert account is not None and account.locked_until == START + timedelta(minutes=1)
    assert _locked_until(book) == "2020/10/07 11:01:00"


def test_an_attacker_cannot_lock_a_victim_out_for_longer_than_15_minutes(
    book: contactbook.ContactBook,
) -> None:
    register(book)
    longest = timedelta(0)
    for _ in range(40):  # an attacker retrying as soon as every lock ends
        with contextlib.suppress(AuthenticationFailed):
            book.accounts.authenticate(EMAIL, WRONG)
        with book.storage.unit_of_work() as uow:
            account = uow.accounts.by_email(EMAIL)
        assert account is not None
        if account.locked_until and account.locked_until > book.context.now():
            longest = max(longest, account.locked_until - book.context.now())
            clock(book).set(account.locked_until)
    assert longest == timedelta(minutes=15)
    book.accounts.authenticate(EMAIL, PASSWORD)  # the owner gets in once a lock ends


def test_a_success_resets_the_count(book: contactbook.ContactBook) -> None:
    register(book)
    _fail(book, 9)
    book.accounts.authenticate(EMAIL, PASSWORD)
    _fail(book, 9)
    book.accounts.authenticate(EMAIL, PASSWORD)  # 18 failures, but never 10 in a row


def test_throttling_is_per_account(book: contactbook.ContactBook) -> None:
    register(book)
    register(book, OTHER_EMAIL, OTHER_NATIONAL_ID, name="李大華")
    _fail(book, 10)
    book.accounts.authenticate(OTHER_EMAIL, PASSWORD)


def test_the_lock_is_configurable(make_book: BookFactory) -> None:
    book = make_book(settings=Settings(failures_before_lock=3, max_lock=timedelta(minutes=5)))
    register(book)
    _fail(book, 3)
    assert _locked_until(book) == "2020/10/07 11:01:00"


def test_locked_only_while_the_lock_lasts(book: contactbook.ContactBook) -> None:
    register(book)
    with book.storage.unit_of_work() as uow:
        account = uow.accounts.by_email(EMAIL)
    assert account is not None and not account.is_locked(START)
    assert not attrs.evolve(account, locked_until=START).is_locked(START)  # ends then
    assert attrs.evolve(account, locked_until=START + timedelta(seconds=1)).is_locked(START)


def test_the_owner_is_mailed_once_when_the_lock_starts(book: contactbook.ContactBook) -> None:
    register(book)
    _fail(book, 10)
    clock(book).advance(minutes=1)
    _fail(book, 1)  # the 11th: a longer lock, no second mail
    clock(book).advance(minutes=2)
    _fail(book, 1)
    mails = [m for m in mails_to(book, EMAIL) if "帳號暫時鎖定通知" in m.subject]
    assert len(mails) == 1
    assert "連續 10 次登入失敗" in mails[0].body and "10 failed logins" in mails[0].body
    assert "2020/10/07 11:01:00" in mails[0].body


def test_a_locked_refusal_does_the_work_of_any_other(make_book: BookFactory) -> None:
    """Time told the lock apart (0.1 ms locked, 22 ms unknown with argon2): now every
    refusal verifies one password, so both cost one argon2 verification."""
    hasher = CountingHasher()
    book = make_book(hasher=hasher)
    register(book)
    _fail(book, 10)
    for email in (EMAIL, "nobody@example.com", "not an address"):
        before = hasher.verifies
        with pytest.raises(AuthenticationFailed):
            book.accounts.authenticate(email, PASSWORD)
        assert hasher.verifies - before == 1, email


def test_unverified_accounts_cannot_log_in(book: contactbook.ContactBook) -> None:
    register(book, verify=False)
    with pytest.raises(PermissionDenied) as caught:
        book.accounts.authenticate(EMAIL, PASSWORD)
    assert caught.value.code == "account_not_verified"
    with pytest.raises(AuthenticationFailed):  # a wrong password says nothing more
        book.accounts.authenticate(EMAIL, WRONG)


def test_every_login_is_audited(book: contactbook.ContactBook) -> None:
    register(book, verify=False)
    attempts = [
        ("nobody@example.com", PASSWORD),
        ("not an address", PASSWORD),
        (EMAIL, PASSWORD),  # unverified
    ]
    for email, password in attempts:
        with contextlib.suppress(AuthenticationFailed, PermissionDenied):
            book.accounts.authenticate(email, password)
    register(book, OTHER_EMAIL, OTHER_NATIONAL_ID, name="李大華")
    _fail(book, 10, OTHER_EMAIL)
    with pytest.raises(AuthenticationFailed):
        book.accounts.authenticate(OTHER_EMAIL, PASSWORD)
    clock(book).advance(minutes=1)
    book.accounts.authenticate(OTHER_EMAIL, PASSWORD)
    outcomes = [e.outcome for e in audit_events(book, "account.login")]
    assert outcomes == ["failure", "failure", "unverified", *["failure"] * 10, "locked", "success"]
    for event in audit_events(book):
        assert PASSWORD not in repr(event) and WRONG not in repr(event)
