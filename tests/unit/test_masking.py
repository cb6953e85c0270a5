"""Unit tests for masking personal data in lists and logs (DOMAIN.md §5)."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contactbook.domain.identifiers import EmailAddress, MobileNumber, NationalId
from contactbook.domain.masking import (
    NAME_MASK,
    mask_email,
    mask_mobile,
    mask_name,
    mask_national_id,
)

# Printable characters that strip() keeps: no separators (Z*) or controls (C*).
visible = st.characters(blacklist_categories=("Z", "C"))
visible_text = st.text(alphabet=visible)


class Named:
    """Anything with ``__str__`` can be masked."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text


def test_name_mask_is_white_circle() -> None:
    assert NAME_MASK == "\u25cb" == "○"


class TestMaskName:
    @pytest.mark.parametrize(
        ("name", "masked"),
        [
            ("李大華", "李○○"),
            ("王明", "王○"),
            ("歐陽娜娜", "歐○○○"),
            ("李", "李"),
            ("", ""),
            ("  李大華 ", "李○○"),
            ("Mary", "M○○○"),
        ],
    )
    def test_examples(self, name: str, masked: str) -> None:
        assert mask_name(name) == masked

    def test_accepts_objects_with_str(self) -> None:
        assert mask_name(Named("李大華")) == "李○○"

    @given(visible, visible_text)
    def test_reveals_only_the_first_character(self, first: str, rest: str) -> None:
        masked = mask_name(first + rest)
        assert masked == first + NAME_MASK * len(rest)
        assert mask_name(first + "x" * len(rest)) == masked


class TestMaskNationalId:
    @pytest.mark.parametrize(
        ("value", "masked"),
        [
            ("A123456789", "A12345****"),
            ("FA12345689", "FA1234****"),
            (" A123456789 ", "A12345****"),
            ("", ""),
            ("1234", "****"),
            ("12345", "1****"),
            ("A", "*"),
        ],
    )
    def test_examples(self, value: str, masked: str) -> None:
        assert mask_national_id(value) == masked

    def test_accepts_the_value_object(self) -> None:
        assert mask_national_id(NationalId.parse("a123456789")) == "A12345****"

    @given(visible_text, st.text(alphabet=visible, min_size=4, max_size=4))
    def test_never_reveals_the_last_four(self, head: str, tail: str) -> None:
        masked = mask_national_id(head + tail)
        if head:
            assert masked == head + "****"
        else:
            assert masked == "****"
        assert mask_national_id(head + "0000") == masked

    @given(st.text(alphabet=visible, max_size=4))
    def test_short_values_are_hidden_entirely(self, value: str) -> None:
        assert mask_national_id(value) == "*" * len(value)


class TestMaskEmail:
    @pytest.mark.parametrize(
        ("value", "masked"),
        [
            ("ty.wang@example.com", "ty*****"),
            ("Ty.Wang@example.com", "Ty*****"),
            ("a@example.com", "a*****"),
            ("ab@example.com", "ab*****"),
            ("", ""),
            (" ty.wang@example.com ", "ty*****"),
            ("abc", "ab*****"),
            ("ab", "*****"),
        ],
    )
    def test_examples(self, value: str, masked: str) -> None:
        assert mask_email(value) == masked

    def test_accepts_the_value_object(self) -> None:
        assert mask_email(EmailAddress.parse("ty.wang@example.com")) == "ty*****"

    @given(
        st.text(alphabet=visible.filter(lambda c: c != "@"), min_size=1),
        st.text(alphabet=visible, min_size=1),
    )
    def test_reveals_at_most_two_characters_of_the_local_part(
        self, local: str, domain: str
    ) -> None:
        masked = mask_email(f"{local}@{domain}")
        assert masked == local[:2] + "*****"
        assert "@" not in masked
        assert mask_email(f"{local[:2]}{'x' * len(local[2:])}@other.example") == masked

    @given(st.emails())
    def test_always_exactly_five_stars(self, value: str) -> None:
        masked = mask_email(value)
        assert masked.endswith("*****")
        assert len(masked) - len(masked.rstrip("*")) >= 5
        assert masked[:-5] == value.partition("@")[0][:2]


class TestMaskMobile:
    @pytest.mark.parametrize(
        ("value", "masked"),
        [
            ("0912345678", "*******678"),
            (" 0912345678 ", "*******678"),
            ("", ""),
            ("678", "***"),
            ("5678", "*678"),
        ],
    )
    def test_examples(self, value: str, masked: str) -> None:
        assert mask_mobile(value) == masked

    def test_accepts_the_value_object(self) -> None:
        assert mask_mobile(MobileNumber.parse("+886 912 345 678")) == "*******678"

    @given(st.text(alphabet=string.digits, min_size=8, max_size=8))
    def test_reveals_only_the_last_three_digits(self, rest: str) -> None:
        mobile = "09" + rest
        masked = mask_mobile(mobile)
        assert masked == "*" * 7 + mobile[-3:]
        assert mask_mobile("0000000" + mobile[-3:]) == masked

    @given(st.text(alphabet=visible, max_size=3))
    def test_short_values_are_hidden_entirely(self, value: str) -> None:
        assert mask_mobile(value) == "*" * len(value)
