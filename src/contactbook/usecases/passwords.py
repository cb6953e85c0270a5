"""Password rules after NIST SP 800-63B: length, no composition rules, no context words."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from contactbook.errors import ValidationError

__all__ = ["check_new_password"]

_ALWAYS_REFUSED_WORDS = ("矯正署", "contactbook")


def check_new_password(
    password: str, *, min_length: int, max_length: int, context: Iterable[str] = ()
) -> str:
    """The password (NFKC-normalised) if acceptable, else ``ValidationError`` saying why."""
    normalised = unicodedata.normalize("NFKC", password)
    if len(normalised) < min_length:
        raise ValidationError(
            "password_too_short", fields={"password": "password_too_short"}, min=min_length
        )
    if len(normalised) > max_length:
        raise ValidationError(
            "password_too_long", fields={"password": "password_too_long"}, max=max_length
        )
    folded = normalised.casefold()
    for word in (*_ALWAYS_REFUSED_WORDS, *context):
        word = word.strip().casefold()
        if len(word) >= 3 and word in folded:
            raise ValidationError(
                "password_contains_context",
                fields={"password": "password_contains_context"},
            )
    return normalised
