"""No account enumeration (DOMAIN.md §5): registering, resending the verification
mail and asking for a password reset answer identically — return value, error
type, code, parameters, messages, the mails the asker can see, and the password
hashing done — whether or not an account has the address (or ID number).

Each case runs the same request on a book where the account exists and on one
where it does not, and compares everything the caller can observe. The owner of
an existing account is told by mail instead, which the asker cannot read.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest

import contactbook
from contactbook.errors import ContactBookError
from contactbook.testing import FastPasswordHasher
from tests.security.conftest import (
    EMAIL,
    NATIONAL_ID,
    BookFactory,
    mails_to,
    outbox,
    register,
)

ATTACKER_EMAIL = "mallory@example.net"
ATTACKER_ID = "B123456780"


class CountingHasher(FastPasswordHasher):
    """Counts the hashing work, the part of a request that takes measurable time."""

    def __init__(self) -> None:
        self.hashes = 0
        self.verifies = 0

    def hash(self, password: str) -> str:
        self.hashes += 1
        return super().hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        self.verifies += 1
        return super().verify(password_hash, password)


def _form(email: str, national_id: str) -> contactbook.RegistrationForm:
    return contactbook.RegistrationForm(
        consent=True,
        name="王大明",
        birth_date=date(1990, 1, 1),
        national_id=national_id,
        email=email,
        password="another-passphrase-99",
    )


Request = Callable[[contactbook.ContactBook], Any]

REQUESTS: dict[str, Request] = {
    "register-same-email": lambda b: b.accounts.register(_form(EMAIL, ATTACKER_ID)),
    "register-same-email-other-case": lambda b: b.accounts.register(
        _form("TY.Wang@Example.COM", ATTACKER_ID)
    ),
    "resend-verification": lambda b: b.accounts.resend_verification(EMAIL),
    "resend-verification-other-case": lambda b: b.accounts.resend_verification(
        "Ty.Wang@EXAMPLE.com"
    ),
    "forgot-password": lambda b: b.accounts.forgot_password(EMAIL),
    "forgot-password-malformed": lambda b: b.accounts.forgot_password("ty.wang@"),
    "resend-malformed": lambda b: b.accounts.resend_verification("not an address"),
    "login-unknown-vs-wrong-password": lambda b: b.accounts.authenticate(
        EMAIL, "not-the-password-at-all"
    ),
}


def _observe(book: contactbook.ContactBook, request: Request, hasher: CountingHasher) -> Any:
    """Everything the asker sees: the answer and the mails to addresses the asker owns."""
    before = len(outbox(book))
    hashes, verifies = hasher.hashes, hasher.verifies
    try:
        answer: Any = ("returned", repr(request(book)))
    except ContactBookError as error:
        fields = getattr(error, "fields", None)
        answer = (
            "raised",
            type(error).__name__,
            error.code,
            error.params,
            error.message_zh,
            error.message_en,
            str(error),
            fields,
        )
    new_mails = outbox(book)[before:]
    to_asker = [(m.to, m.subject, m.body) for m in new_mails if m.to == ATTACKER_EMAIL]
    work = (hasher.hashes - hashes, hasher.verifies - verifies)
    return answer, to_asker, work


@pytest.mark.parametrize("status", ["active", "unverified"])
@pytest.mark.parametrize("kind", list(REQUESTS))
def test_answers_are_identical_whether_or_not_the_account_exists(
    make_book: BookFactory, kind: str, status: str
) -> None:
    request = REQUESTS[kind]
    with_account_hasher, without_hasher = CountingHasher(), CountingHasher()
    with_account = make_book(hasher=with_account_hasher)
    without = make_book(hasher=without_hasher)
    register(with_account, verify=status == "active")
    for book in (with_account, without):  # the dummy hash of unknown logins is made once
        with pytest.raises(ContactBookError):
            book.accounts.authenticate("warm-up@example.org", "warm-up-password")

    seen_with = _observe(with_account, request, with_account_hasher)
    seen_without = _observe(without, request, without_hasher)

    assert seen_with == seen_without


def test_registering_with_an_id_in_use_answers_as_for_a_new_one(
    make_book: BookFactory,
) -> None:
    """The answer is identical; the ID's owner is mailed. (The asker's own mailbox
    does differ — a new registration is sent a verification link there — which no
    design can hide while an ID number may have only one account: the asker learns
    it when the link never comes, as they would at the first login.)"""
    hasher_with, hasher_without = CountingHasher(), CountingHasher()
    with_account = make_book(hasher=hasher_with)
    without = make_book(hasher=hasher_without)
    register(with_account)

    def request(book: contactbook.ContactBook) -> Any:
        return book.accounts.register(_form(ATTACKER_EMAIL, NATIONAL_ID))

    answer_with, _, work_with = _observe(with_account, request, hasher_with)
    answer_without, _, work_without = _observe(without, request, hasher_without)
    assert answer_with == answer_without
    assert work_with == work_without
    assert any("註冊嘗試" in m.subject for m in mails_to(with_account, EMAIL))


def test_the_owner_is_told_by_mail_instead(make_book: BookFactory) -> None:
    active = make_book()
    register(active)
    unverified = make_book()
    register(unverified, verify=False)

    def new_subjects(book: contactbook.ContactBook, action: Callable[[], object]) -> list[str]:
        before = len(mails_to(book, EMAIL))
        action()
        return [m.subject for m in mails_to(book, EMAIL)[before:]]

    def mailed(book: contactbook.ContactBook, action: Callable[[], object]) -> str:
        (subject,) = new_subjects(book, action)
        return subject

    assert "帳號已完成驗證" in mailed(active, lambda: active.accounts.resend_verification(EMAIL))
    register_again = lambda: active.accounts.register(_form(EMAIL, ATTACKER_ID))  # noqa: E731
    assert "註冊嘗試" in mailed(active, register_again)
    assert "重設密碼" in mailed(active, lambda: active.accounts.forgot_password(EMAIL))

    before = len(mails_to(unverified, EMAIL))
    assert "請先完成帳號驗證" in mailed(
        unverified, lambda: unverified.accounts.forgot_password(EMAIL)
    )
    body = mails_to(unverified, EMAIL)[before].body
    assert "/verify?token=" in body and "reset-password" not in body
    assert "註冊通知" in mailed(unverified, lambda: unverified.accounts.resend_verification(EMAIL))


def test_unknown_addresses_get_no_mail_at_all(book: contactbook.ContactBook) -> None:
    book.accounts.resend_verification(ATTACKER_EMAIL)
    book.accounts.forgot_password(ATTACKER_EMAIL)
    assert outbox(book) == []


def test_every_request_is_audited_without_the_address(book: contactbook.ContactBook) -> None:
    register(book)
    book.accounts.forgot_password(EMAIL)
    book.accounts.forgot_password(ATTACKER_EMAIL)
    book.accounts.resend_verification(EMAIL)
    book.accounts.resend_verification(ATTACKER_EMAIL)
    with book.storage.unit_of_work() as uow:
        events = [e for e in uow.audit.in_order() if e.action.startswith("account.")]
    outcomes = [(e.action, e.outcome) for e in events if "register" not in e.action]
    assert ("account.forgot_password", "success") in outcomes
    assert ("account.forgot_password", "unknown_address") in outcomes
    assert ("account.resend_verification", "already_verified") in outcomes
    assert ("account.resend_verification", "unknown_address") in outcomes
    assert all(ATTACKER_EMAIL not in repr(e) for e in events)


# -- a locked account answers like an unknown one (families and staff) -------------------


def _refusal(call: Callable[[], Any]) -> tuple[object, ...]:
    with pytest.raises(ContactBookError) as caught:
        call()
    error = caught.value
    return type(error), error.code, error.message_zh, error.message_en, error.params


def test_a_locked_staff_account_answers_like_an_unknown_username(make_book: BookFactory) -> None:
    hasher = CountingHasher()
    book = make_book(hasher=hasher)
    password = "staff-passphrase-2020!"
    book.staff.bootstrap_admin("agency.admin", "矯正署管理者", password)
    admin = book.staff.authenticate("agency.admin", password)
    book.staff.create(
        admin,
        "mei.chen",
        "陳美玲",
        password,
        None,
        [contactbook.Role.REVIEWER],
        email="mei.chen@example.gov.tw",
    )
    for _ in range(10):
        with pytest.raises(contactbook.errors.AuthenticationFailed):
            book.staff.authenticate("mei.chen", "a-wrong-passphrase!!")
    before = hasher.verifies
    locked = _refusal(lambda: book.staff.authenticate("mei.chen", password))
    assert hasher.verifies - before == 1  # as much work as for a name nobody has
    unknown = _refusal(lambda: book.staff.authenticate("nobody.here", password))
    assert locked == unknown
    assert locked[1] == "authentication_failed"
    mails = [m for m in mails_to(book, "mei.chen@example.gov.tw") if "帳號暫時鎖定" in m.subject]
    assert len(mails) == 1
    assert "mei.chen" in mails[0].body and "2020/10/07 11:01:00" in mails[0].body
