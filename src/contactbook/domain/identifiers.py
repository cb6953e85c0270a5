"""Identifiers a person types: national ID, e-mail, mobile, phone, call number.

Each is a frozen value object holding its *normalised* text in ``value``, built
with ``parse`` (which normalises and validates) so two spellings of the same
identifier compare equal — uniqueness of accounts depends on it (DOMAIN.md §3,
§6). Constructing one directly with a value that is not already normalised and
valid raises too, so holding one means holding a valid identifier.

Refusals are :class:`~contactbook.errors.ValidationError` with a stable code
and, deliberately, no copy of the input: identifiers are personal data and
errors end up in logs (DOMAIN.md §5).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final, Literal, Self

import attrs
from email_validator import EmailNotValidError, validate_email

from contactbook.errors import ValidationError

__all__ = [
    "CallNumber",
    "EmailAddress",
    "MobileNumber",
    "NationalId",
    "NationalIdKind",
    "PhoneNumber",
]

NationalIdKind = Literal["national_id", "resident_new", "resident_old"]


def _clean(raw: object, code: str) -> str:
    """NFKC-normalise and strip ``raw``; refuse anything that is not a string.

    NFKC turns full-width letters and digits (common with Chinese input methods)
    and the ideographic space into their ASCII forms.
    """
    if not isinstance(raw, str):
        raise ValidationError(code)
    return unicodedata.normalize("NFKC", raw).strip()


def _clean_ascii_upper(raw: object, code: str) -> str:
    """:func:`_clean`, then upper case — only for ASCII text.

    Checking ASCII *before* upper-casing stops look-alikes such as the dotless
    ``ı`` from being upper-cased into a valid ``I``.
    """
    text = _clean(raw, code)
    if not text.isascii():
        raise ValidationError(code)
    return text.upper()


# --- National ID / resident certificate (DOMAIN.md §6) -----------------------

_NATIONAL_ID_FORMAT: Final = re.compile(r"[A-Z][12][0-9]{8}")
_RESIDENT_NEW_FORMAT: Final = re.compile(r"[A-Z][89][0-9]{8}")
_RESIDENT_OLD_FORMAT: Final = re.compile(r"[A-Z][A-D][0-9]{8}")
_ERASED_FORMAT: Final = re.compile(r"~[0-9a-f]{15}")
"""The stand-in for a number erased at its owner's request (``NationalId.erased``)."""

# The value of each first letter (also of the old format's second letter).
_LETTER_VALUES: Final[dict[str, int]] = {
    "A": 10, "B": 11, "C": 12, "D": 13, "E": 14, "F": 15, "G": 16, "H": 17,
    "I": 34, "J": 18, "K": 19, "L": 20, "M": 21, "N": 22, "O": 35, "P": 23,
    "Q": 24, "R": 25, "S": 26, "T": 27, "U": 28, "V": 29, "W": 32, "X": 30,
    "Y": 31, "Z": 33,
}  # fmt: skip
# Weights of: letter tens, letter units, the next eight digits, the check digit.
_WEIGHTS: Final = (1, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1)


def _national_id_kind(text: str) -> NationalIdKind | None:
    if _NATIONAL_ID_FORMAT.fullmatch(text):
        return "national_id"
    if _RESIDENT_NEW_FORMAT.fullmatch(text):
        return "resident_new"
    if _RESIDENT_OLD_FORMAT.fullmatch(text):
        return "resident_old"
    return None


def _national_id_checksum_ok(text: str) -> bool:
    """Apply the checksum to a string already known to match one of the formats."""
    first = _LETTER_VALUES[text[0]]
    second = text[1]
    # Old resident format: the second letter counts as the units digit of its value.
    second_digit = _LETTER_VALUES[second] % 10 if second.isalpha() else int(second)
    digits = [first // 10, first % 10, second_digit, *(int(c) for c in text[2:])]
    return sum(w * d for w, d in zip(_WEIGHTS, digits, strict=True)) % 10 == 0


def _normalise_national_id(raw: object) -> str:
    text = _clean_ascii_upper(raw, "national_id_format")
    if _national_id_kind(text) is None:
        raise ValidationError("national_id_format")
    if not _national_id_checksum_ok(text):
        raise ValidationError("national_id_checksum")
    return text


@attrs.frozen
class NationalId:
    """A Taiwan national ID (身分證號) or resident certificate number (居留證號).

    Both are accepted because foreign spouses and residents are family members
    too; ``kind`` tells them apart. Codes: ``national_id_format`` for the wrong
    shape (including empty), ``national_id_checksum`` for a bad check digit.
    """

    value: str

    def __attrs_post_init__(self) -> None:
        if _ERASED_FORMAT.fullmatch(self.value):
            return
        if _normalise_national_id(self.value) != self.value:
            raise ValidationError("national_id_format")

    @classmethod
    def parse(cls, raw: str) -> Self:
        """Normalise (NFKC, strip, upper case) and validate shape and checksum."""
        return cls(_normalise_national_id(raw))

    @classmethod
    def erased(cls, token: str) -> Self:
        """What an account keeps once its number was erased (PDPA deletion): ``~`` and
        ``token`` (15 lower-case hex digits, random). Unique like a number, yet never
        anyone's number: ``parse`` can never return it, so no one registering collides."""
        return cls("~" + token)

    @property
    def is_erased(self) -> bool:
        return self.value.startswith("~")

    @property
    def kind(self) -> NationalIdKind:
        """``national_id``, ``resident_new`` (2021 format) or ``resident_old``."""
        if self.is_erased:
            raise ValueError("an erased national ID has no kind")
        kind = _national_id_kind(self.value)
        assert kind is not None  # guaranteed by __attrs_post_init__
        return kind

    def __str__(self) -> str:
        return self.value


# --- E-mail -------------------------------------------------------------------


def _validate_email(raw: object) -> tuple[str, str, str]:
    """Return (normalised address, local part, domain) or refuse with ``email_format``."""
    text = _clean(raw, "email_format")
    if not text:
        raise ValidationError("email_format")
    try:
        # No DNS look-ups: registration must not depend on the network (§6).
        result = validate_email(text, check_deliverability=False)
    except EmailNotValidError:
        raise ValidationError("email_format") from None
    return result.normalized, result.local_part, result.domain


@attrs.frozen
class EmailAddress:
    """An e-mail address, stored in ``email-validator``'s normalised form.

    ``value`` keeps the local part's case as typed (some servers honour it, so
    mail goes to exactly what the person wrote); ``canonical`` folds it, and is
    what uniqueness among accounts compares (DOMAIN.md §3). Code: ``email_format``.
    """

    value: str

    def __attrs_post_init__(self) -> None:
        if _validate_email(self.value)[0] != self.value:
            raise ValidationError("email_format")

    @classmethod
    def parse(cls, raw: str) -> Self:
        """Normalise (NFKC, strip, then ``email-validator``) and validate the syntax."""
        return cls(_validate_email(raw)[0])

    @property
    def local_part(self) -> str:
        """The part before the last ``@``, as stored."""
        return self.value.rpartition("@")[0]

    @property
    def domain(self) -> str:
        """The part after the last ``@``, as stored (already lower case for ASCII)."""
        return self.value.rpartition("@")[2]

    @property
    def canonical(self) -> str:
        """Case-folded local part + ``@`` + lower-cased domain: the uniqueness key."""
        return f"{self.local_part.casefold()}@{self.domain.lower()}"

    def __str__(self) -> str:
        return self.value


# --- Telephone numbers ---------------------------------------------------------

# Separators people type inside numbers: whitespace, ASCII and Unicode dashes,
# parentheses. (Full-width ones are already ASCII after NFKC.)
_SEPARATORS: Final = re.compile(r"[\s\-\u2010-\u2015\u2212()]+")
_MOBILE: Final = re.compile(r"(?:\+?886(?:0)?|0)(9[0-9]{8})")


def _normalise_mobile(raw: object) -> str:
    text = _SEPARATORS.sub("", _clean(raw, "mobile_format"))
    match = _MOBILE.fullmatch(text)
    if match is None:
        raise ValidationError("mobile_format")
    return "0" + match.group(1)


@attrs.frozen
class MobileNumber:
    """A Taiwan mobile number, stored as ``09`` + 8 digits (SMS goes here).

    Accepts the domestic form and the international ones (``+886 9…``,
    ``886 9…``, ``+886 (0)9…``) with spaces, dashes, parentheses and full-width
    digits, so one phone always has one spelling. Code: ``mobile_format``.
    """

    value: str

    def __attrs_post_init__(self) -> None:
        if _normalise_mobile(self.value) != self.value:
            raise ValidationError("mobile_format")

    @classmethod
    def parse(cls, raw: str) -> Self:
        """Normalise to ``09XXXXXXXX`` or refuse."""
        return cls(_normalise_mobile(raw))

    def __str__(self) -> str:
        return self.value


_PHONE: Final = re.compile(r"(\+?)([0-9]{7,15})(?:#([0-9]{1,6}))?")


def _normalise_phone(raw: object) -> str:
    text = _SEPARATORS.sub("", _clean(raw, "phone_format"))
    match = _PHONE.fullmatch(text)
    if match is None:
        raise ValidationError("phone_format")
    plus, number, extension = match.groups()
    return f"{plus}{number}#{extension}" if extension else f"{plus}{number}"


@attrs.frozen
class PhoneNumber:
    """A contact telephone number (usually a landline), checked leniently.

    Area codes and lengths vary and the number is only ever read by a person,
    so the rule is simple: after removing spaces, dashes and parentheses, an
    optional leading ``+``, 7–15 digits and an optional extension ``#`` + 1–6
    digits. Stored as exactly that, e.g. ``(02) 2345-6789 #12`` →
    ``0223456789#12`` and ``+886 2 2345 6789`` → ``+886223456789``.
    Code: ``phone_format``.
    """

    value: str

    def __attrs_post_init__(self) -> None:
        if _normalise_phone(self.value) != self.value:
            raise ValidationError("phone_format")

    @classmethod
    def parse(cls, raw: str) -> Self:
        """Remove separators and validate the digits."""
        return cls(_normalise_phone(raw))

    @property
    def number(self) -> str:
        """The number without its extension."""
        return self.value.partition("#")[0]

    @property
    def extension(self) -> str | None:
        """The extension (分機) digits, or ``None``."""
        return self.value.partition("#")[2] or None

    def __str__(self) -> str:
        return self.value


# --- Call number ---------------------------------------------------------------

_CALL_NUMBER: Final = re.compile(r"[0-9A-Z]{1,10}")


def _normalise_call_number(raw: object) -> str:
    text = _clean_ascii_upper(raw, "call_number_format")
    if _CALL_NUMBER.fullmatch(text) is None:
        raise ValidationError("call_number_format")
    return text


@attrs.frozen
class CallNumber:
    """An inmate's call number (呼號) inside one facility, e.g. ``0609``.

    Kept as text, never as a number, because leading zeros are part of it.
    Code: ``call_number_format``.
    """

    value: str

    def __attrs_post_init__(self) -> None:
        if _normalise_call_number(self.value) != self.value:
            raise ValidationError("call_number_format")

    @classmethod
    def parse(cls, raw: str) -> Self:
        """Normalise (NFKC, strip, upper case) and check 1–10 letters or digits."""
        return cls(_normalise_call_number(raw))

    def __str__(self) -> str:
        return self.value
