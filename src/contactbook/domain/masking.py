"""Masked forms of personal data for lists and logs (DOMAIN.md §5).

Lists and logs show only enough to recognise one's own data: a name keeps its
first character (李○○), a national ID hides its last four characters
(A12345****), an e-mail keeps its first two characters (ty*****), a mobile keeps
its last three digits (*******678). Full values appear only where a role needs
them. Every function accepts a string or anything whose ``str()`` is the value
(the identifier value objects), strips surrounding whitespace, and maps empty to
empty. A national ID, mobile or ``@``-less e-mail too short to keep its
visible part and still hide something is hidden entirely.
"""

from __future__ import annotations

from typing import Final

__all__ = ["NAME_MASK", "mask_email", "mask_mobile", "mask_name", "mask_national_id"]

NAME_MASK: Final = "\u25cb"  # ○ WHITE CIRCLE, as the seed shows names (李○○)
_STAR: Final = "*"


def _text(value: object) -> str:
    return str(value).strip()


def mask_name(name: object) -> str:
    """Keep the first character, replace each other one with ``○``: 李大華 → 李○○.

    A one-character name is shown as is (there is nothing else to show).
    """
    text = _text(name)
    return text[:1] + NAME_MASK * (len(text) - 1)


def mask_national_id(value: object) -> str:
    """Hide the last four characters with ``*``: A123456789 → A12345****."""
    text = _text(value)
    if len(text) <= 4:
        return _STAR * len(text)
    return text[:-4] + _STAR * 4


def mask_email(value: object) -> str:
    """Keep the first two characters, then exactly five ``*``: ty.wang@… → ty*****.

    Always five stars, so the mask does not reveal the address's length; the
    kept prefix never reaches past the local part (``a@x.tw`` → ``a*****``).
    """
    text = _text(value)
    if "@" in text:
        return text.partition("@")[0][:2] + _STAR * 5
    if len(text) <= 2:
        return _STAR * 5 if text else ""
    return text[:2] + _STAR * 5


def mask_mobile(value: object) -> str:
    """Keep the last three characters, replace the others with ``*``: → *******678.

    A value of three characters or fewer is hidden entirely.
    """
    text = _text(value)
    if len(text) <= 3:
        return _STAR * len(text)
    return _STAR * (len(text) - 3) + text[-3:]
