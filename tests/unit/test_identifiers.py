"""Unit tests for the identifier value objects (DOMAIN.md §6)."""

from __future__ import annotations

import re
import string
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from contactbook.domain.identifiers import (
    CallNumber,
    EmailAddress,
    MobileNumber,
    NationalId,
    PhoneNumber,
)
from contactbook.errors import ValidationError

# --- helpers ----------------------------------------------------------------------


def assert_refused(code: str, parse: Callable[[Any], object], raw: Any) -> None:
    """``parse(raw)`` raises ValidationError with exactly ``code`` and leaks no input."""
    with pytest.raises(ValidationError) as info:
        parse(raw)
    assert info.value.code == code
    assert info.value.params == {}  # errors reach logs: never a copy of personal data


def full_width(text: str) -> str:
    """ASCII → full-width forms, as Chinese input methods type them."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


# Independent of the implementation's table: the well-known ordering of the
# letters by value, 10 for A up to 35 for O.
_LETTER_ORDER = "ABCDEFGHJKLMNPQRSTUVXYWZIO"


def letter_value(letter: str) -> int:
    return 10 + _LETTER_ORDER.index(letter)


def checksum_total(candidate: str) -> int:
    """The weighted sum of DOMAIN.md §6, computed over a string of 11 digits."""
    second = candidate[1]
    second_digit = str(letter_value(second))[-1] if second.isalpha() else second
    digits = str(letter_value(candidate[0])) + second_digit + candidate[2:]
    assert len(digits) == 11
    weights = [1, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1]
    return sum(int(d) * w for d, w in zip(digits, weights, strict=True))


def with_check_digit(first_nine: str) -> str:
    """Append the one check digit (found by trying 0-9) that makes the ID valid."""
    valid = [
        first_nine + str(d) for d in range(10) if checksum_total(first_nine + str(d)) % 10 == 0
    ]
    assert len(valid) == 1
    return valid[0]


SECOND_CHARS = {"national_id": "12", "resident_new": "89", "resident_old": "ABCD"}


@st.composite
def valid_national_ids(draw: st.DrawFn, kind: str | None = None) -> tuple[str, str]:
    """(a valid ID in normalised form, its kind)."""
    kind = kind or draw(st.sampled_from(sorted(SECOND_CHARS)))
    first = draw(st.sampled_from(string.ascii_uppercase))
    second = draw(st.sampled_from(SECOND_CHARS[kind]))
    body = draw(st.text(alphabet=string.digits, min_size=7, max_size=7))
    return with_check_digit(first + second + body), kind


# --- NationalId ---------------------------------------------------------------------


class TestNationalId:
    @pytest.mark.parametrize(
        ("raw", "kind"),
        [
            ("A123456789", "national_id"),
            ("F131104093", "national_id"),
            ("A800000014", "resident_new"),
            ("FA12345689", "resident_old"),
            ("AC01234567", "resident_old"),
        ],
    )
    def test_known_valid_examples(self, raw: str, kind: str) -> None:
        nid = NationalId.parse(raw)
        assert nid.value == raw
        assert str(nid) == raw
        assert nid.kind == kind

    def test_helper_agrees_with_known_examples(self) -> None:
        assert with_check_digit("A12345678") == "A123456789"
        assert with_check_digit("A80000001") == "A800000014"
        assert with_check_digit("FA1234568") == "FA12345689"

    @pytest.mark.parametrize("letter", list(string.ascii_uppercase))
    @pytest.mark.parametrize("kind", sorted(SECOND_CHARS))
    def test_every_first_letter_and_kind(self, letter: str, kind: str) -> None:
        for second in SECOND_CHARS[kind]:
            raw = with_check_digit(letter + second + "2345678")
            nid = NationalId.parse(raw)
            assert nid.value == raw
            assert nid.kind == kind

    @pytest.mark.parametrize(
        "raw",
        [
            "Ａ１２３４５６７８９",  # full width
            " a123456789 ",  # lower case, spaces
            "a123456789",
            "\u3000A123456789\u3000",  # ideographic spaces
            "\tA123456789\n",
            "ａ１２３４５６７８９",  # full-width lower case
        ],
    )
    def test_normalises(self, raw: str) -> None:
        assert NationalId.parse(raw) == NationalId("A123456789")
        assert str(NationalId.parse(raw)) == "A123456789"

    @pytest.mark.parametrize(
        "raw",
        [
            "",
            "   ",
            "A12345678",  # too short
            "A1234567890",  # too long
            "A323456789",  # second digit neither 1/2 nor 8/9
            "A023456789",
            "1123456789",  # no letter
            "AE12345678",  # old resident format stops at D
            "AA1234567X",
            "A12345678X",
            "A 123456789",  # inner space
            "A-123456789",
            "ı123456789",  # dotless i would upper-case to I
            "A١٢٣٤٥٦٧٨٩",  # Arabic-Indic digits are digits, but not ours
            "AB",
        ],
    )
    def test_format_errors(self, raw: str) -> None:
        assert_refused("national_id_format", NationalId.parse, raw)

    @pytest.mark.parametrize("raw", [None, 123456789, b"A123456789"])
    def test_non_strings_are_format_errors(self, raw: object) -> None:
        assert_refused("national_id_format", NationalId.parse, raw)

    @pytest.mark.parametrize(
        "raw", ["A123456788", "A123456780", "A800000015", "FA12345680", "B123456789", "a123456788"]
    )
    def test_checksum_errors(self, raw: str) -> None:
        assert_refused("national_id_checksum", NationalId.parse, raw)

    def test_direct_construction_requires_normalised_valid_value(self) -> None:
        assert NationalId("A123456789").value == "A123456789"
        assert_refused("national_id_format", NationalId, "a123456789")
        assert_refused("national_id_format", NationalId, " A123456789")
        assert_refused("national_id_checksum", NationalId, "A123456788")

    def test_frozen_and_hashable(self) -> None:
        nid = NationalId.parse("A123456789")
        with pytest.raises(attrs.exceptions.FrozenInstanceError):
            nid.value = "B123456789"  # type: ignore[misc]
        assert {nid, NationalId.parse(" a123456789 ")} == {nid}

    @given(valid_national_ids())
    def test_every_generated_valid_id_parses(self, generated: tuple[str, str]) -> None:
        raw, kind = generated
        nid = NationalId.parse(raw)
        assert nid.value == raw
        assert nid.kind == kind

    @given(valid_national_ids(), st.sampled_from([str.lower, full_width, lambda s: f"  {s}\t"]))
    def test_spellings_parse_to_the_same_value(
        self, generated: tuple[str, str], spell: Callable[[str], str]
    ) -> None:
        raw, _ = generated
        assert NationalId.parse(spell(raw)) == NationalId.parse(raw)

    @given(valid_national_ids())
    def test_parse_is_idempotent(self, generated: tuple[str, str]) -> None:
        nid = NationalId.parse(full_width(generated[0].lower()))
        assert NationalId.parse(str(nid)) == nid

    @given(valid_national_ids(), st.integers(1, 9))
    def test_changing_the_check_digit_always_fails(
        self, generated: tuple[str, str], delta: int
    ) -> None:
        raw, _ = generated
        changed = raw[:-1] + str((int(raw[-1]) + delta) % 10)
        assert_refused("national_id_checksum", NationalId.parse, changed)

    @given(valid_national_ids(), st.sampled_from([2, 6, 8, 9]), st.integers(1, 9))
    def test_changing_a_digit_with_weight_coprime_to_10_always_fails(
        self, generated: tuple[str, str], position: int, delta: int
    ) -> None:
        # Weights by position: 2→7, 6→3, 8→1, 9 (check digit)→1.
        raw, _ = generated
        changed = raw[:position] + str((int(raw[position]) + delta) % 10) + raw[position + 1 :]
        assert_refused("national_id_checksum", NationalId.parse, changed)

    @given(valid_national_ids(), st.integers(2, 9), st.integers(1, 9))
    def test_changing_any_digit_fails_unless_weight_times_delta_is_a_multiple_of_10(
        self, generated: tuple[str, str], position: int, delta: int
    ) -> None:
        # The checksum cannot catch every single-digit change: weights 8, 6, 5, 4
        # and 2 share a factor with 10 (e.g. +2 at weight 5 adds 10).
        raw, kind = generated
        changed = raw[:position] + str((int(raw[position]) + delta) % 10) + raw[position + 1 :]
        weight = 9 - position if position < 9 else 1
        if (weight * delta) % 10 == 0:
            assert NationalId.parse(changed).kind == kind
        else:
            assert_refused("national_id_checksum", NationalId.parse, changed)

    @given(st.text(max_size=14))
    @example("A123456789")
    @example("Ａ１２３４５６７８９")
    def test_any_text_is_a_valid_id_or_refused_with_a_known_code(self, raw: str) -> None:
        try:
            nid = NationalId.parse(raw)
        except ValidationError as error:
            assert error.code in {"national_id_format", "national_id_checksum"}
        else:
            assert re.fullmatch(r"[A-Z][1289A-D][0-9]{8}", nid.value)
            assert checksum_total(nid.value) % 10 == 0


# --- EmailAddress -------------------------------------------------------------------


class TestEmailAddress:
    def test_normalised_value_and_canonical_form(self) -> None:
        email = EmailAddress.parse("Ty.Wang@Example.com")
        assert email.value == "Ty.Wang@example.com"
        assert str(email) == "Ty.Wang@example.com"
        assert email.local_part == "Ty.Wang"
        assert email.domain == "example.com"
        assert email.canonical == "ty.wang@example.com"

    def test_case_variants_share_a_canonical_form(self) -> None:
        a = EmailAddress.parse("Ty.Wang@Example.com")
        b = EmailAddress.parse("ty.wang@example.com")
        c = EmailAddress.parse("TY.WANG@EXAMPLE.COM")
        assert a.canonical == b.canonical == c.canonical == "ty.wang@example.com"
        assert a != b  # the stored value keeps what the person typed

    def test_full_width_input_is_normalised(self) -> None:
        email = EmailAddress.parse("ｔｙ．ｗａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ")
        assert email == EmailAddress.parse("ty.wang@example.com")
        assert email.value == "ty.wang@example.com"

    def test_surrounding_whitespace_is_stripped(self) -> None:
        assert EmailAddress.parse(" \u3000ty.wang@example.com\n").value == "ty.wang@example.com"

    def test_internationalised_address(self) -> None:
        email = EmailAddress.parse("Ünï@Bücher.DE")
        assert email.value == "Ünï@bücher.de"
        assert email.canonical == "ünï@bücher.de"

    def test_canonical_casefolds_rather_than_lowercases(self) -> None:
        assert EmailAddress.parse("Straße@example.com").canonical == "strasse@example.com"
        assert (
            EmailAddress.parse("STRASSE@example.com").canonical
            == EmailAddress.parse("straße@example.com").canonical
        )

    @pytest.mark.parametrize(
        "raw",
        [
            "",
            "   ",
            "no-at-sign",
            "a@",
            "@example.com",
            "a@b",  # no period in the domain
            "a b@example.com",
            "a@@example.com",
            "a..b@example.com",
            ".a@example.com",
            "a@localhost",
            "a@example.invalid",  # special-use name
            "Ty Wang <ty@example.com>",  # display names are not addresses
            "a@exa mple.com",
            "a@-example.com",
            "x" * 250 + "@example.com",  # longer than 254 in all
        ],
    )
    def test_format_errors(self, raw: str) -> None:
        assert_refused("email_format", EmailAddress.parse, raw)

    @pytest.mark.parametrize("raw", [None, 42, b"a@example.com"])
    def test_non_strings_are_format_errors(self, raw: object) -> None:
        assert_refused("email_format", EmailAddress.parse, raw)

    def test_direct_construction_requires_normalised_valid_value(self) -> None:
        assert EmailAddress("Ty.Wang@example.com").canonical == "ty.wang@example.com"
        assert_refused("email_format", EmailAddress, "Ty.Wang@Example.com")
        assert_refused("email_format", EmailAddress, "not an address")

    @given(st.emails())
    def test_parse_is_idempotent(self, raw: str) -> None:
        try:
            email = EmailAddress.parse(raw)
        except ValidationError as error:
            assert error.code == "email_format"
            return
        again = EmailAddress.parse(str(email))
        assert again == email
        assert again.canonical == email.canonical
        assert EmailAddress.parse(raw.upper()).canonical == email.canonical

    @given(st.text(max_size=40))
    def test_any_text_is_an_address_or_refused_with_email_format(self, raw: str) -> None:
        try:
            email = EmailAddress.parse(raw)
        except ValidationError as error:
            assert error.code == "email_format"
        else:
            assert "@" in email.value
            assert EmailAddress.parse(email.value) == email


# --- MobileNumber -------------------------------------------------------------------


class TestMobileNumber:
    @pytest.mark.parametrize(
        "raw",
        [
            "0912345678",
            "0912-345-678",
            "0912 345 678",
            "(0912) 345-678",
            "+886912345678",
            "+886 912 345 678",
            "+886-912-345-678",
            "886912345678",
            "+886 (0)912 345 678",
            "+8860912345678",
            "０９１２３４５６７８",  # full-width digits
            "＋８８６ ９１２－３４５－６７８",
            "\u30000912345678\u3000",
            "0912–345–678",  # en dashes
            " 0912\t345\t678 ",
        ],
    )
    def test_normalises_to_domestic_form(self, raw: str) -> None:
        mobile = MobileNumber.parse(raw)
        assert mobile.value == "0912345678"
        assert str(mobile) == "0912345678"

    @pytest.mark.parametrize(
        "raw",
        [
            "",
            "  ",
            "0812345678",  # not a mobile prefix
            "0212345678",
            "091234567",  # 9 digits
            "09123456789",  # 11 digits
            "912345678",  # missing the leading 0
            "+886812345678",
            "+1 912345678",
            "++886912345678",
            "+886 00912345678",
            "0912a45678",
            "0912.345.678",  # dots are not separators
            "٠٩١٢٣٤٥٦٧٨",  # Arabic-Indic digits
            "0912345678#1",
            "+",
        ],
    )
    def test_format_errors(self, raw: str) -> None:
        assert_refused("mobile_format", MobileNumber.parse, raw)

    @pytest.mark.parametrize("raw", [None, 912345678])
    def test_non_strings_are_format_errors(self, raw: object) -> None:
        assert_refused("mobile_format", MobileNumber.parse, raw)

    def test_direct_construction_requires_normalised_value(self) -> None:
        assert MobileNumber("0912345678").value == "0912345678"
        assert_refused("mobile_format", MobileNumber, "+886912345678")

    @given(
        st.text(alphabet=string.digits, min_size=8, max_size=8),
        st.sampled_from(["0", "+886", "886", "+886 ", "+886-", "+886(0)"]),
        st.lists(st.sampled_from(["", " ", "-", "(", ")"]), min_size=9, max_size=9),
        st.booleans(),
    )
    def test_every_spelling_parses_to_the_same_value(
        self, rest: str, prefix: str, separators: list[str], wide: bool
    ) -> None:
        digits = "9" + rest
        spelled = prefix + "".join(s + d for s, d in zip(separators, digits, strict=True))
        if wide:
            spelled = full_width(spelled)
        mobile = MobileNumber.parse(spelled)
        assert mobile.value == "0" + digits
        assert MobileNumber.parse(str(mobile)) == mobile

    @given(st.text(max_size=20))
    def test_any_text_is_a_mobile_or_refused_with_mobile_format(self, raw: str) -> None:
        try:
            mobile = MobileNumber.parse(raw)
        except ValidationError as error:
            assert error.code == "mobile_format"
        else:
            assert re.fullmatch(r"09[0-9]{8}", mobile.value)


# --- PhoneNumber --------------------------------------------------------------------


class TestPhoneNumber:
    @pytest.mark.parametrize(
        ("raw", "value", "number", "extension"),
        [
            ("(02) 2345-6789", "0223456789", "0223456789", None),
            ("02-2345-6789 #123", "0223456789#123", "0223456789", "123"),
            ("02-2345-6789#123", "0223456789#123", "0223456789", "123"),
            ("+886 2 2345 6789", "+886223456789", "+886223456789", None),
            ("（０２）２３４５－６７８９", "0223456789", "0223456789", None),
            ("049-2345678 # 12", "0492345678#12", "0492345678", "12"),
            ("1234567", "1234567", "1234567", None),
            ("123456789012345", "123456789012345", "123456789012345", None),
            ("0912345678", "0912345678", "0912345678", None),
            (" 02 2345 6789 ", "0223456789", "0223456789", None),
        ],
    )
    def test_normalises(self, raw: str, value: str, number: str, extension: str | None) -> None:
        phone = PhoneNumber.parse(raw)
        assert phone.value == value
        assert str(phone) == value
        assert phone.number == number
        assert phone.extension == extension

    @pytest.mark.parametrize(
        "raw",
        [
            "",
            "   ",
            "123456",  # 6 digits
            "1234567890123456",  # 16 digits
            "02-2345-678a",
            "+",
            "#123",
            "0223456789#",
            "0223456789#1234567",  # extension longer than 6
            "02 2345 6789 ext 12",  # only '#' marks an extension
            "0223+456789",
            "++886223456789",
            "02.2345.6789",
            "٠٢٢٣٤٥٦٧٨٩",  # Arabic-Indic digits
        ],
    )
    def test_format_errors(self, raw: str) -> None:
        assert_refused("phone_format", PhoneNumber.parse, raw)

    @pytest.mark.parametrize("raw", [None, 223456789])
    def test_non_strings_are_format_errors(self, raw: object) -> None:
        assert_refused("phone_format", PhoneNumber.parse, raw)

    def test_direct_construction_requires_normalised_value(self) -> None:
        assert PhoneNumber("0223456789#12").extension == "12"
        assert_refused("phone_format", PhoneNumber, "(02) 2345-6789")

    @given(
        st.booleans(),
        st.text(alphabet=string.digits, min_size=7, max_size=15),
        st.one_of(st.none(), st.text(alphabet=string.digits, min_size=1, max_size=6)),
    )
    def test_parse_is_idempotent(self, plus: bool, digits: str, extension: str | None) -> None:
        raw = ("+" if plus else "") + digits + (f" #{extension}" if extension else "")
        phone = PhoneNumber.parse(full_width(raw))
        assert phone.number == ("+" if plus else "") + digits
        assert phone.extension == extension
        assert PhoneNumber.parse(str(phone)) == phone

    @given(st.text(max_size=25))
    def test_any_text_is_a_phone_or_refused_with_phone_format(self, raw: str) -> None:
        try:
            phone = PhoneNumber.parse(raw)
        except ValidationError as error:
            assert error.code == "phone_format"
        else:
            assert re.fullmatch(r"\+?[0-9]{7,15}(#[0-9]{1,6})?", phone.value)


# --- CallNumber ---------------------------------------------------------------------


class TestCallNumber:
    @pytest.mark.parametrize(
        ("raw", "value"),
        [
            ("0609", "0609"),
            ("0001", "0001"),
            (" ab12 ", "AB12"),
            ("０６０９", "0609"),
            ("\u30000609\u3000", "0609"),
            ("A", "A"),
            ("0123456789", "0123456789"),
            ("z9", "Z9"),
        ],
    )
    def test_normalises_and_keeps_leading_zeros(self, raw: str, value: str) -> None:
        call_number = CallNumber.parse(raw)
        assert call_number.value == value
        assert str(call_number) == value

    @pytest.mark.parametrize(
        "raw",
        ["", "  ", "01234567890", "06-09", "06 09", "0609!", "ı1", "٠٦٠٩", "李0609", "06_09"],
    )
    def test_format_errors(self, raw: str) -> None:
        assert_refused("call_number_format", CallNumber.parse, raw)

    @pytest.mark.parametrize("raw", [None, 609])
    def test_non_strings_are_format_errors(self, raw: object) -> None:
        # An int would already have lost its leading zero.
        assert_refused("call_number_format", CallNumber.parse, raw)

    def test_direct_construction_requires_normalised_value(self) -> None:
        assert CallNumber("0609").value == "0609"
        assert_refused("call_number_format", CallNumber, "ab12")

    @given(st.text(alphabet=string.ascii_letters + string.digits, min_size=1, max_size=10))
    def test_every_alphanumeric_text_parses(self, raw: str) -> None:
        call_number = CallNumber.parse(f" {full_width(raw)} ")
        assert call_number.value == raw.upper()
        assert CallNumber.parse(str(call_number)) == call_number

    @given(st.text(max_size=12))
    def test_any_text_is_a_call_number_or_refused(self, raw: str) -> None:
        try:
            call_number = CallNumber.parse(raw)
        except ValidationError as error:
            assert error.code == "call_number_format"
        else:
            assert re.fullmatch(r"[0-9A-Z]{1,10}", call_number.value)
