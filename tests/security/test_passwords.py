"""Password rules (NIST SP 800-63B): length, no composition rules, no truncation, a
shipped common-password list, context words; argon2id with rehash on login."""

from __future__ import annotations

import gzip
import hashlib
from importlib import resources

import attrs
import pytest

import contactbook
from contactbook.adapters.security.argon2 import Argon2PasswordHasher
from contactbook.errors import AuthenticationFailed, ValidationError
from contactbook.i18n import translate
from contactbook.usecases._support.passwords import check_new_password, common_passwords
from contactbook.usecases.settings import Settings
from tests.security.conftest import (
    EMAIL,
    NATIONAL_ID,
    PASSWORD,
    STAFF_PASSWORD,
    BookFactory,
    register,
)

LIST_SHA256 = "3c1baed62596de36860824eb3f436d5932d37ca8b06e59df78f5a44ec175afe4"


def _list_lines() -> list[str]:
    data = (resources.files("contactbook") / "data" / "common-passwords.txt.gz").read_bytes()
    assert hashlib.sha256(data).hexdigest() == LIST_SHA256, "the list changed: see data/README"
    return gzip.decompress(data).decode("utf-8").splitlines()


def _family(password: str, *context: str) -> str:
    return check_new_password(password, min_length=12, max_length=128, context=context)


def _code(password: str, *context: str, min_length: int = 12) -> str:
    with pytest.raises(ValidationError) as caught:
        check_new_password(password, min_length=min_length, max_length=128, context=context)
    assert caught.value.fields == {"password": caught.value.code}
    return caught.value.code


# -- the common-password list -----------------------------------------------------------


def test_the_list_ships_with_the_package_and_holds_the_10000_most_common() -> None:
    lines = _list_lines()
    assert len(lines) >= 10_000
    assert lines[:4] == ["123456", "123456789", "qwerty", "password"]
    assert len(common_passwords()) >= 10_000
    assert set(lines[:10_000]) <= common_passwords()


def test_every_one_of_the_10000_most_common_is_refused() -> None:
    refused = {
        line for line in _list_lines()[:10_000] if _code(line, min_length=1) == "password_common"
    }
    assert len(refused) == len(set(_list_lines()[:10_000]))


@pytest.mark.parametrize(
    "password",
    ["1q2w3e4r5t6y", "qwertyuiop123", "Password1234", "QAZWSXEDCRFV", "  123456789abc  "],
)
def test_common_passwords_long_enough_are_refused_whatever_the_case(password: str) -> None:
    assert _code(password) == "password_common"


def test_fullwidth_input_is_normalised_before_the_list_is_checked() -> None:
    assert _code("１ｑ２ｗ３ｅ４ｒ５ｔ６ｙ") == "password_common"


# -- context words -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "password",
    [
        "my-ty.wang-password",
        "TY.WANG-in-capitals",
        "ｔｙ．ｗａｎｇ-fullwidth-too",
        "a123456789-lowercase-id",
        "A123456789-password",
        "矯正署矯正署矯正署矯正署",
        "我最愛矯正署的家庭聯絡簿服務",
        "ContactBook-is-great",
        "secure-contactbook-2020",
    ],
)
def test_context_words_are_refused(password: str) -> None:
    assert _code(password, "ty.wang", NATIONAL_ID) == "password_contains_context"


def test_registration_refuses_the_email_local_part_and_the_id(make_book: BookFactory) -> None:
    book = make_book()
    for password, code in [
        ("ty.wang-forever-2020", "password_contains_context"),
        (f"{NATIONAL_ID}-forever", "password_contains_context"),
        ("1q2w3e4r5t6y", "password_common"),
        ("short-pass", "password_too_short"),
    ]:
        with pytest.raises(ValidationError) as caught:
            register(book, password=password)
        assert caught.value.code == code


def test_staff_passwords_refuse_the_username_and_email(make_book: BookFactory) -> None:
    book = make_book()
    with pytest.raises(ValidationError) as caught:
        book.staff.bootstrap_admin("mei.chen", "陳美玲", "mei.chen-long-passphrase")
    assert caught.value.code == "password_contains_context"
    with pytest.raises(ValidationError) as caught:
        book.staff.bootstrap_admin(
            "agency.admin", "陳美玲", "meiling.c-long-passphrase", email="meiling.c@example.gov.tw"
        )
    assert caught.value.code == "password_contains_context"


# -- lengths, composition, truncation --------------------------------------------------------


def test_lengths_family_12_staff_15_max_at_least_64() -> None:
    settings = Settings()
    assert settings.family_password_min == 12
    assert settings.staff_password_min == 15
    assert settings.password_max >= 64
    assert _code("x7#kq9!mzp2", min_length=12) == "password_too_short"  # 11
    assert _family("x7#kq9!mzp2w") == "x7#kq9!mzp2w"  # 12
    assert _code("x7#kq9!mzp2wv8r", min_length=16) == "password_too_short"
    long = "correct horse battery staple " * 4  # 116 characters, spaces kept
    assert _family(long[:64]) == long[:64]
    assert _family(long) == long
    assert _code("y" * 129) == "password_too_long"


def test_length_counts_characters_not_bytes() -> None:
    twelve = "我的家人平安健康快樂又幸福"[:12]
    assert len(twelve) == 12 and len(twelve.encode()) == 36
    assert _family(twelve) == twelve
    assert _code(twelve[:11]) == "password_too_short"  # 33 bytes, but 11 characters


@pytest.mark.parametrize(
    "password",
    [
        "alllowercaseletters",
        "ALLUPPERCASELETTERS",
        "8347291056381",
        "no digits or symbols at all",
        "短短的中文句子也可以當密碼",
    ],
)
def test_no_composition_rules(password: str) -> None:
    assert _family(password) == password


def test_staff_minimum_is_15(make_book: BookFactory) -> None:
    book = make_book()
    with pytest.raises(ValidationError) as caught:
        book.staff.bootstrap_admin("agency.admin", "管理者", "fourteen-chars")
    assert caught.value.code == "password_too_short"
    assert caught.value.params == {"min": 15}
    book.staff.bootstrap_admin("agency.admin", "管理者", "fifteen-chars!!")


def test_no_truncation_with_argon2() -> None:
    hasher = Argon2PasswordHasher()
    base = "p" * 99
    stored = hasher.hash(base + "a")
    assert hasher.verify(stored, base + "a")
    assert not hasher.verify(stored, base + "b")
    assert not hasher.verify(stored, base)


def test_no_truncation_through_the_use_cases(make_book: BookFactory) -> None:
    book = make_book(hasher=Argon2PasswordHasher())
    password = "q" * 99 + "1"
    register(book, password=password)
    book.accounts.authenticate(EMAIL, password)
    with pytest.raises(AuthenticationFailed):
        book.accounts.authenticate(EMAIL, "q" * 99 + "2")


def test_each_refusal_says_why_in_both_languages() -> None:
    codes = [
        "password_too_short",
        "password_too_long",
        "password_common",
        "password_contains_context",
    ]
    zh = {translate(f"error.{code}", "zh_TW", min=12, max=128) for code in codes}
    en = {translate(f"error.{code}", "en", min=12, max=128) for code in codes}
    assert len(zh) == len(en) == 4
    assert not any(text.startswith("error.") for text in zh | en)
    assert "太常見" in translate("error.password_common", "zh_TW")


# -- argon2id and rehash on login --------------------------------------------------------------


def test_argon2id_at_owasp_minimum_by_default() -> None:
    stored = Argon2PasswordHasher().hash("a-long-enough-password")
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def _stored_hash(book: contactbook.ContactBook) -> str:
    with book.storage.unit_of_work() as uow:
        account = uow.accounts.by_email(EMAIL)
    assert account is not None
    return account.password_hash


def _with_hasher(book: contactbook.ContactBook, hasher: object) -> contactbook.ContactBook:
    """The same storage, mailer and clock with another hasher (an upgraded deployment)."""
    return contactbook.ContactBook(attrs.evolve(book.context, hasher=hasher))


def test_login_rehashes_when_the_parameters_change(make_book: BookFactory) -> None:
    old = make_book(hasher=Argon2PasswordHasher(memory_cost=19456, time_cost=2))
    register(old)
    assert ",t=2," in _stored_hash(old)
    upgraded = _with_hasher(old, Argon2PasswordHasher(memory_cost=19456, time_cost=3))
    upgraded.accounts.authenticate(EMAIL, PASSWORD)
    rehashed = _stored_hash(old)
    assert rehashed.startswith("$argon2id$v=19$m=19456,t=3,p=1$")
    upgraded.accounts.authenticate(EMAIL, PASSWORD)  # the new hash verifies
    assert _stored_hash(old) == rehashed  # and is not redone


def test_a_failed_login_does_not_rehash(make_book: BookFactory) -> None:
    old = make_book(hasher=Argon2PasswordHasher(time_cost=2))
    register(old)
    before = _stored_hash(old)
    upgraded = _with_hasher(old, Argon2PasswordHasher(time_cost=3))
    with pytest.raises(AuthenticationFailed):
        upgraded.accounts.authenticate(EMAIL, "not-the-password-at-all")
    assert _stored_hash(old) == before


def test_hashes_of_another_scheme_are_upgraded_at_login(make_book: BookFactory) -> None:
    book = make_book()  # the fast test hasher
    register(book)
    assert _stored_hash(book).startswith("fake$")

    class Upgrading(Argon2PasswordHasher):
        """argon2 that still accepts the old scheme's hashes, as a migration would."""

        def verify(self, password_hash: str, password: str) -> bool:
            if password_hash.startswith("fake$"):
                return book.context.hasher.verify(password_hash, password)
            return super().verify(password_hash, password)

    _with_hasher(book, Upgrading()).accounts.authenticate(EMAIL, PASSWORD)
    assert _stored_hash(book).startswith("$argon2id$")


def test_staff_logins_rehash_too(make_book: BookFactory) -> None:
    old = make_book(hasher=Argon2PasswordHasher(time_cost=2))
    view = old.staff.bootstrap_admin("agency.admin", "管理者", STAFF_PASSWORD)
    upgraded = _with_hasher(old, Argon2PasswordHasher(time_cost=3))
    upgraded.staff.authenticate("agency.admin", STAFF_PASSWORD)
    with old.storage.unit_of_work() as uow:
        member = uow.staff.get(view.id)
    assert member is not None and ",t=3," in member.password_hash


# -- repetitive and sequential passwords (NIST SP 800-63B-4 §3.1.1.2) -------------------


@pytest.mark.parametrize(
    ("password", "code"),
    [
        (" " * 14, "password_whitespace_only"),
        ("\u3000" * 14, "password_whitespace_only"),  # full-width spaces
        ("aaaaaaaaaaaaaa", "password_single_character"),
        ("AAAAAAAAAAAAaa", "password_single_character"),
        ("123456789012", "password_sequential"),
        ("987654321098", "password_sequential"),
        ("abcdefghijklmn", "password_sequential"),
        ("NMLKJIHGFEDCBA", "password_sequential"),
        ("密碼密碼密碼密碼密碼密碼", "password_repeated_pattern"),
        ("abcabcabcabc", "password_repeated_pattern"),
        ("abcabcabcabca", "password_repeated_pattern"),  # the last piece cut short
        ("xy7#kxy7#kxy7#k", "password_repeated_pattern"),  # five characters, thrice
    ],
)
def test_repetitive_and_sequential_passwords_are_refused_saying_which_rule(
    password: str, code: str
) -> None:
    assert _code(password) == code
    assert translate(f"error.{code}", "zh_TW") != f"error.{code}"
    assert translate(f"error.{code}", "en") != f"error.{code}"


@pytest.mark.parametrize(
    "password",
    [
        "1234567890ab",
        "abcdefghijkz",
        "correct horse battery",
        "密碼密碼密碼密碼密碼密碼好",
        "aaab" * 3 + "c",
        "Tr0ub4dor&3!Tr0ub4dor&3!",  # a piece that would pass alone, twice
    ],
)
def test_passwords_that_only_contain_a_run_or_a_repeat_are_accepted(password: str) -> None:
    assert _family(password) == password


def test_registration_refuses_a_password_of_fourteen_spaces(book: contactbook.ContactBook) -> None:
    with pytest.raises(ValidationError) as caught:
        register(book, password=" " * 14)
    assert caught.value.code == "password_whitespace_only"
    assert caught.value.fields == {"password": "password_whitespace_only"}
