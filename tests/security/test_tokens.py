"""One-time tokens (e-mail verification, password reset): ≥ 128 random bits, stored
only as a hash, bound to one account and one purpose, single use, expiring."""

from __future__ import annotations

import math
import sqlite3
from datetime import timedelta
from pathlib import Path

import attrs
import pytest

import contactbook
from contactbook.adapters.security.tokens import SecretsTokenGenerator
from contactbook.domain.account import TokenPurpose
from contactbook.errors import AuthenticationFailed, InvalidToken, PermissionDenied
from contactbook.usecases.settings import Settings
from tests.security.conftest import (
    EMAIL,
    OTHER_EMAIL,
    OTHER_NATIONAL_ID,
    PASSWORD,
    BookFactory,
    audit_events,
    clock,
    link_token,
    open_book,
    register,
)

NEW_PASSWORD = "a-brand-new-passphrase"


def _reset_token(book: contactbook.ContactBook, email: str = EMAIL) -> str:
    book.accounts.forgot_password(email)
    return link_token(book, email, "reset-password")


def _tampered(token: str) -> str:
    last = token[-1]
    return token[:-1] + ("A" if last != "A" else "B")


def test_tokens_carry_at_least_128_random_bits() -> None:
    generator = SecretsTokenGenerator()
    tokens = {generator.new_token() for _ in range(200)}
    assert len(tokens) == 200
    for token in tokens:
        # URL-safe base64: 6 bits a character.
        assert len(token) * 6 >= 128
        assert set(token) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert math.log2(64) * min(len(t) for t in tokens) >= 256  # the default: 32 bytes
    with pytest.raises(ValueError):
        SecretsTokenGenerator(nbytes=15)


def test_reset_token_works_once(book: contactbook.ContactBook) -> None:
    register(book)
    token = _reset_token(book)
    book.accounts.reset_password(token, NEW_PASSWORD)
    with pytest.raises(InvalidToken):
        book.accounts.reset_password(token, "another-new-passphrase")
    book.accounts.authenticate(EMAIL, NEW_PASSWORD)  # the second use changed nothing


def test_verification_token_works_once(book: contactbook.ContactBook) -> None:
    register(book, verify=False)
    token = link_token(book, EMAIL, "verify")
    book.accounts.verify_email(token)
    with pytest.raises(InvalidToken):
        book.accounts.verify_email(token)


@pytest.mark.parametrize(
    ("minutes", "usable"), [(59, True), (60, False), (61, False), (24 * 60, False)]
)
def test_reset_tokens_expire_after_one_hour(
    book: contactbook.ContactBook, minutes: int, usable: bool
) -> None:
    register(book)
    token = _reset_token(book)
    clock(book).advance(minutes=minutes)
    if usable:
        book.accounts.reset_password(token, NEW_PASSWORD)
    else:
        with pytest.raises(InvalidToken):
            book.accounts.reset_password(token, NEW_PASSWORD)
        book.accounts.authenticate(EMAIL, PASSWORD)


@pytest.mark.parametrize(("hours", "usable"), [(23, True), (24, False)])
def test_verification_tokens_expire_after_24_hours(
    book: contactbook.ContactBook, hours: int, usable: bool
) -> None:
    register(book, verify=False)
    token = link_token(book, EMAIL, "verify")
    clock(book).advance(hours=hours)
    if usable:
        book.accounts.verify_email(token)
    else:
        with pytest.raises(InvalidToken):
            book.accounts.verify_email(token)


def test_lifetimes_are_configurable(make_book: BookFactory) -> None:
    book = make_book(
        settings=Settings(
            reset_token_ttl=timedelta(minutes=10), verification_token_ttl=timedelta(hours=2)
        )
    )
    register(book, verify=False)
    verify = link_token(book, EMAIL, "verify")
    clock(book).advance(hours=2)
    with pytest.raises(InvalidToken):
        book.accounts.verify_email(verify)
    book.accounts.resend_verification(EMAIL)
    book.accounts.verify_email(link_token(book, EMAIL, "verify"))
    reset = _reset_token(book)
    clock(book).advance(minutes=10)
    with pytest.raises(InvalidToken):
        book.accounts.reset_password(reset, NEW_PASSWORD)


def test_a_token_serves_only_its_purpose(book: contactbook.ContactBook) -> None:
    register(book, verify=False)
    verify = link_token(book, EMAIL, "verify")
    with pytest.raises(InvalidToken):
        book.accounts.reset_password(verify, NEW_PASSWORD)
    book.accounts.verify_email(verify)  # not consumed by the wrong use
    reset = _reset_token(book)
    with pytest.raises(InvalidToken):
        book.accounts.verify_email(reset)
    book.accounts.reset_password(reset, NEW_PASSWORD)


def test_a_token_acts_only_on_its_own_account(book: contactbook.ContactBook) -> None:
    register(book)
    register(book, OTHER_EMAIL, OTHER_NATIONAL_ID, name="李大華")
    other_token = _reset_token(book, OTHER_EMAIL)
    book.accounts.reset_password(other_token, NEW_PASSWORD)
    # Only the other account changed; this one still has its own password.
    book.accounts.authenticate(EMAIL, PASSWORD)
    with pytest.raises(AuthenticationFailed):
        book.accounts.authenticate(EMAIL, NEW_PASSWORD)
    book.accounts.authenticate(OTHER_EMAIL, NEW_PASSWORD)


def test_verifying_with_another_accounts_token_verifies_only_that_account(
    book: contactbook.ContactBook,
) -> None:
    register(book, verify=False)
    register(book, OTHER_EMAIL, OTHER_NATIONAL_ID, name="李大華", verify=False)
    book.accounts.verify_email(link_token(book, OTHER_EMAIL, "verify"))
    with pytest.raises(PermissionDenied) as caught:
        book.accounts.authenticate(EMAIL, PASSWORD)
    assert caught.value.code == "account_not_verified"
    book.accounts.authenticate(OTHER_EMAIL, PASSWORD)


@pytest.mark.parametrize(
    "mangle",
    [
        _tampered,
        lambda t: t[:-1],
        lambda t: t + "A",
        lambda t: t.upper() if t.upper() != t else t.lower(),
        lambda t: "",
        lambda t: " ",
        lambda t: "0123456789abcdef0123456789abcdef",
    ],
    ids=["last-char", "truncated", "extended", "case", "empty", "blank", "made-up"],
)
def test_tampered_tokens_are_refused(book: contactbook.ContactBook, mangle: object) -> None:
    register(book)
    token = _reset_token(book)
    assert callable(mangle)
    with pytest.raises(InvalidToken) as caught:
        book.accounts.reset_password(mangle(token), NEW_PASSWORD)
    assert caught.value.code == "invalid_token"
    book.accounts.reset_password(token, NEW_PASSWORD)  # the real one still works


def test_every_refusal_looks_the_same(book: contactbook.ContactBook) -> None:
    """Unknown, used, expired and wrong-purpose tokens give one error and message."""
    register(book, verify=False)
    verify = link_token(book, EMAIL, "verify")
    refusals: list[InvalidToken] = []

    def refused(action: object) -> None:
        assert callable(action)
        with pytest.raises(InvalidToken) as caught:
            action()
        refusals.append(caught.value)

    refused(lambda: book.accounts.reset_password(verify, NEW_PASSWORD))  # wrong purpose
    book.accounts.verify_email(verify)
    refused(lambda: book.accounts.verify_email(verify))  # used
    reset = _reset_token(book)
    clock(book).advance(hours=2)
    refused(lambda: book.accounts.reset_password(reset, NEW_PASSWORD))  # expired
    refused(lambda: book.accounts.reset_password("no-such-token", NEW_PASSWORD))  # unknown
    assert {(type(e), e.code, e.message_zh, e.message_en) for e in refusals} == {
        (InvalidToken, "invalid_token", refusals[0].message_zh, refusals[0].message_en)
    }


def test_tokens_are_stored_only_as_hashes(book: contactbook.ContactBook) -> None:
    register(book, verify=False)
    verify = link_token(book, EMAIL, "verify")
    with book.storage.unit_of_work() as uow:
        stored = uow.tokens.by_hash(book.context.tokens.digest(verify))
    assert stored is not None
    assert stored.purpose is TokenPurpose.VERIFY_EMAIL
    assert verify not in repr(attrs.asdict(stored))
    assert stored.token_hash != verify
    book.accounts.verify_email(verify)


def test_the_database_file_never_holds_a_token(tmp_path: Path) -> None:
    book = open_book("sqlite", tmp_path)
    register(book, verify=False)
    verify = link_token(book, EMAIL, "verify")
    book.accounts.verify_email(verify)
    book.accounts.forgot_password(EMAIL)
    reset = link_token(book, EMAIL, "reset-password")
    database = next(tmp_path.rglob("contactbook.db"))
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT token_hash FROM tokens").fetchall()
        dump = "\n".join(connection.iterdump())
    assert len(rows) == 2
    digests = {row[0] for row in rows}
    assert digests == {book.context.tokens.digest(verify), book.context.tokens.digest(reset)}
    # The messages table keeps the mails (with the links) as sent; tokens appear
    # nowhere else, and the tokens table holds digests only.
    tokens_dump = "\n".join(line for line in dump.splitlines() if 'INSERT INTO "tokens"' in line)
    assert verify not in tokens_dump and reset not in tokens_dump
    book.close()


def test_token_use_is_audited(book: contactbook.ContactBook) -> None:
    register(book, verify=False)
    verify = link_token(book, EMAIL, "verify")
    book.accounts.verify_email(verify)
    with pytest.raises(InvalidToken):
        book.accounts.verify_email(verify)
    reset = _reset_token(book)
    with pytest.raises(InvalidToken):
        book.accounts.reset_password(_tampered(reset), NEW_PASSWORD)
    book.accounts.reset_password(reset, NEW_PASSWORD)
    verified = [e.outcome for e in audit_events(book, "account.verify_email")]
    resets = [e.outcome for e in audit_events(book, "account.reset_password")]
    assert verified == ["success", "failure"]
    assert resets == ["failure", "success"]
    for event in audit_events(book):
        assert verify not in repr(event) and reset not in repr(event)
