"""Family logins: throttling per account (bounded, growing locks, reset on success),
unverified accounts, and an audit event for every attempt."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest

import contactbook
from contactbook.domain.time import format_datetime
from contactbook.errors import AccountLocked, AuthenticationFailed, PermissionDenied
from contactbook.usecases.settings import Settings
from contactbook.usecases.throttle import after_failure, refuse_if_locked
from tests.security.conftest import (
    EMAIL,
    OTHER_EMAIL,
    OTHER_NATIONAL_ID,
    PASSWORD,
    START,
    BookFactory,
    audit_events,
    clock,
    register,
)

WRONG = "not-the-password-at-all"


def _fail(book: contactbook.ContactBook, times: int, email: str = EMAIL) -> None:
    for _ in range(times):
        with pytest.raises(AuthenticationFailed):
            book.accounts.authenticate(email, WRONG)


def _locked_until(book: contactbook.ContactBook) -> str:
    with pytest.raises(AccountLocked) as caught:
        book.accounts.authenticate(EMAIL, PASSWORD)
    assert caught.value.code == "account_locked"
    until = caught.value.params["until"]
    assert until in caught.value.message_zh and until in caught.value.message_en
    return str(until)


@pytest.mark.parametrize(
    ("failures", "minutes"),
    [(10, 1), (11, 2), (12, 4), (13, 8), (14, 15), (15, 15), (100, 15), (10_000, 15)],
)
def test_the_lock_grows_and_is_bounded(failures: int, minutes: int) -> None:
    settings = Settings()
    assert after_failure(failures, settings, START) == START + timedelta(minutes=minutes)


def test_no_lock_before_ten_failures() -> None:
    assert all(after_failure(n, Settings(), START) is None for n in range(10))


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
        with pytest.raises(AccountLocked):
            book.accounts.authenticate(EMAIL, WRONG)
    assert _locked_until(book) == "2020/10/07 11:01:00"


def test_an_attacker_cannot_lock_a_victim_out_for_longer_than_15_minutes(
    book: contactbook.ContactBook,
) -> None:
    register(book)
    longest = timedelta(0)
    for _ in range(40):  # an attacker retrying as soon as every lock ends
        with contextlib.suppress(AuthenticationFailed, AccountLocked):
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


def test_refuse_if_locked_only_while_the_lock_lasts() -> None:
    refuse_if_locked(None, START)
    refuse_if_locked(START, START)  # ends at that instant
    with pytest.raises(AccountLocked):
        refuse_if_locked(START + timedelta(seconds=1), START)


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
    with pytest.raises(AccountLocked):
        book.accounts.authenticate(OTHER_EMAIL, PASSWORD)
    clock(book).advance(minutes=1)
    book.accounts.authenticate(OTHER_EMAIL, PASSWORD)
    outcomes = [e.outcome for e in audit_events(book, "account.login")]
    assert outcomes == ["failure", "failure", "unverified", *["failure"] * 10, "locked", "success"]
    for event in audit_events(book):
        assert PASSWORD not in repr(event) and WRONG not in repr(event)
