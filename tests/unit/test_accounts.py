"""Accounts beyond registration: login throttling, passwords, profile, data rights."""

from __future__ import annotations

import re
from datetime import date

import pytest

import contactbook
from contactbook.errors import (
    AuthenticationFailed,
    InvalidToken,
    PermissionDenied,
    ValidationError,
)
from contactbook.testing import MovableClock, memory_book
from contactbook.usecases.personal_data import read_export

EMAIL = "ty.wang@example.com"
PASSWORD = "family-passphrase-2020"


def _token(book: contactbook.ContactBook, word: str) -> str:
    book.messages.dispatch()
    for mail in reversed(book.mailer.outbox):  # type: ignore[attr-defined]
        found = re.search(rf"/{word}\?token=(\S+)", mail.body)
        if found:
            return found.group(1)
    raise AssertionError(f"no {word} mail")


@pytest.fixture
def book() -> contactbook.ContactBook:
    book = memory_book()
    book.accounts.register(
        contactbook.RegistrationForm(
            consent=True,
            name="王小明",
            birth_date=date(1985, 3, 14),
            national_id="A123456789",
            email=EMAIL,
            password=PASSWORD,
            mobile="0912345678",
        )
    )
    book.accounts.verify_email(_token(book, "verify"))
    return book


def _clock(book: contactbook.ContactBook) -> MovableClock:
    return book.context.clock  # type: ignore[return-value]


def test_unverified_accounts_cannot_log_in_to_anything() -> None:
    book = memory_book()
    book.accounts.register(
        contactbook.RegistrationForm(
            consent=True,
            name="李大華",
            birth_date=date(1980, 1, 1),
            national_id="A800000014",
            email="da.li@example.com",
            password=PASSWORD,
        )
    )
    with pytest.raises(PermissionDenied) as caught:
        book.accounts.authenticate("da.li@example.com", PASSWORD)
    assert caught.value.code == "account_not_verified"


def test_login_is_case_insensitive_on_the_address(book: contactbook.ContactBook) -> None:
    principal = book.accounts.authenticate("TY.Wang@Example.com", PASSWORD)
    assert book.accounts.profile(principal).email == EMAIL


def test_ten_failures_lock_the_account_for_a_bounded_time(book: contactbook.ContactBook) -> None:
    for _ in range(9):
        with pytest.raises(AuthenticationFailed):
            book.accounts.authenticate(EMAIL, "wrong-password-guess")
    book.accounts.authenticate(EMAIL, PASSWORD)  # 9 failures: still fine, and resets
    for _ in range(10):
        with pytest.raises(AuthenticationFailed):
            book.accounts.authenticate(EMAIL, "wrong-password-guess")
    with pytest.raises(AuthenticationFailed) as locked:  # as for an unknown address
        book.accounts.authenticate(EMAIL, PASSWORD)
    assert locked.value.code == "authentication_failed"
    _clock(book).advance(minutes=16)
    book.accounts.authenticate(EMAIL, PASSWORD)


def test_unknown_accounts_fail_like_wrong_passwords(book: contactbook.ContactBook) -> None:
    with pytest.raises(AuthenticationFailed) as unknown:
        book.accounts.authenticate("nobody@example.com", PASSWORD)
    with pytest.raises(AuthenticationFailed) as wrong:
        book.accounts.authenticate(EMAIL, "wrong-password-guess")
    assert unknown.value.message_zh == wrong.value.message_zh


def test_forgot_password_answers_the_same_for_unknown_addresses(
    book: contactbook.ContactBook,
) -> None:
    before = len(book.mailer.outbox)  # type: ignore[attr-defined]
    assert book.accounts.forgot_password("nobody@example.com") is None
    book.messages.dispatch()
    assert len(book.mailer.outbox) == before  # type: ignore[attr-defined]


def test_reset_password_once_within_an_hour(book: contactbook.ContactBook) -> None:
    old = book.accounts.authenticate(EMAIL, PASSWORD)
    book.accounts.forgot_password(EMAIL)
    token = _token(book, "reset-password")
    book.accounts.reset_password(token, "a-brand-new-passphrase")
    with pytest.raises(AuthenticationFailed):
        book.accounts.authenticate(EMAIL, PASSWORD)
    new = book.accounts.authenticate(EMAIL, "a-brand-new-passphrase")
    assert new.session_version == old.session_version + 1
    with pytest.raises(InvalidToken):
        book.accounts.reset_password(token, "another-new-passphrase")
    book.messages.dispatch()
    assert "密碼已變更" in book.mailer.outbox[-1].subject  # type: ignore[attr-defined]


def test_a_password_change_ends_every_other_reset_link(book: contactbook.ContactBook) -> None:
    """Two reset mails, one used: the other link no longer resets the new password;
    and a link mailed before a password change no longer works either."""
    book.accounts.forgot_password(EMAIL)
    first = _token(book, "reset-password")
    book.accounts.forgot_password(EMAIL)
    second = _token(book, "reset-password")
    assert first != second
    book.accounts.reset_password(second, "a-brand-new-passphrase")
    with pytest.raises(InvalidToken):
        book.accounts.reset_password(first, "an-attackers-passphrase")
    book.accounts.authenticate(EMAIL, "a-brand-new-passphrase")

    book.accounts.forgot_password(EMAIL)
    mailed = _token(book, "reset-password")
    principal = book.accounts.authenticate(EMAIL, "a-brand-new-passphrase")
    book.accounts.change_password(principal, "a-brand-new-passphrase", "yet-another-passphrase")
    with pytest.raises(InvalidToken):
        book.accounts.reset_password(mailed, "an-attackers-passphrase")
    book.accounts.authenticate(EMAIL, "yet-another-passphrase")


def test_reset_tokens_expire_after_an_hour(book: contactbook.ContactBook) -> None:
    book.accounts.forgot_password(EMAIL)
    token = _token(book, "reset-password")
    _clock(book).advance(minutes=61)
    with pytest.raises(InvalidToken):
        book.accounts.reset_password(token, "a-brand-new-passphrase")


def test_a_verification_token_cannot_reset_a_password(book: contactbook.ContactBook) -> None:
    book.accounts.resend_verification(EMAIL)  # already verified: nothing is sent
    with pytest.raises(InvalidToken):
        book.accounts.reset_password("not-a-token", "a-brand-new-passphrase")


@pytest.mark.parametrize(
    ("password", "code"),
    [
        ("short-pass", "password_too_short"),
        ("x" * 129, "password_too_long"),
        ("my-ty.wang-password", "password_contains_context"),
        ("A123456789-password", "password_contains_context"),
        ("矯正署矯正署矯正署矯正署", "password_contains_context"),
    ],
)
def test_change_password_refuses_weak_passwords(
    book: contactbook.ContactBook, password: str, code: str
) -> None:
    principal = book.accounts.authenticate(EMAIL, PASSWORD)
    with pytest.raises(ValidationError) as caught:
        book.accounts.change_password(principal, PASSWORD, password)
    assert caught.value.code == code
    book.accounts.authenticate(EMAIL, PASSWORD)  # unchanged


def test_change_password_needs_the_old_one(book: contactbook.ContactBook) -> None:
    principal = book.accounts.authenticate(EMAIL, PASSWORD)
    with pytest.raises(AuthenticationFailed):
        book.accounts.change_password(principal, "not-the-password", "a-brand-new-passphrase")


def test_profile_update_normalises_and_validates(book: contactbook.ContactBook) -> None:
    principal = book.accounts.authenticate(EMAIL, PASSWORD)
    view = book.accounts.update_profile(
        principal, contactbook.ProfileChanges(mobile="+886 912-000-111", notify_notices=True)
    )
    assert view.mobile == "0912000111"
    assert view.notify_notices is True
    with pytest.raises(ValidationError) as caught:
        book.accounts.update_profile(principal, contactbook.ProfileChanges(mobile="12345"))
    assert caught.value.code == "mobile_format"


def test_export_holds_own_data_without_the_password_hash(book: contactbook.ContactBook) -> None:
    principal = book.accounts.authenticate(EMAIL, PASSWORD)
    exported = read_export(book.accounts.export_my_data(principal))
    assert exported["profile"]["national_id"] == "A123456789"
    assert exported["profile"]["consent"]["notice_version"] == "2020-10"
    assert "password_hash" not in repr(exported)
    assert exported["messages"][0]["subject"].startswith("便民服務入口網 註冊通知")


def test_deletion_request_is_answered_within_30_days(book: contactbook.ContactBook) -> None:
    principal = book.accounts.authenticate(EMAIL, PASSWORD)
    due = book.accounts.request_deletion(principal)
    assert due == date(2020, 11, 6)
    assert book.accounts.request_deletion(principal) == due  # asking twice keeps the date
