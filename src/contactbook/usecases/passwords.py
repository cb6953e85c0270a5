"""Password rules after NIST SP 800-63B: length, no composition rules, no common
passwords, no context words.

Each refusal has its own code, so the person is told why:

* ``password_too_short`` / ``password_too_long`` — outside the length limits
  (family accounts at least 12, staff at least 15, at most ``Settings.password_max``,
  128 by default; counted in characters after NFKC normalisation, never truncated);
* ``password_common`` — in the common-password list shipped with the package
  (``contactbook/data/common-passwords.txt.gz``, see the README there);
* ``password_contains_context`` — contains the account's e-mail local part,
  national ID or username, or a word of this service (矯正署, contactbook).
"""

from __future__ import annotations

import functools
import gzip
import unicodedata
from collections.abc import Iterable
from importlib import resources

from contactbook.errors import ValidationError

__all__ = ["check_new_password", "common_passwords"]

_ALWAYS_REFUSED_WORDS = ("矯正署", "contactbook")
_COMMON_PASSWORDS = "common-passwords.txt.gz"


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped common-password list, case-folded; read once, on first use."""
    source = resources.files("contactbook") / "data" / _COMMON_PASSWORDS
    text = gzip.decompress(source.read_bytes()).decode("utf-8")
    return frozenset(
        unicodedata.normalize("NFKC", line).strip().casefold()
        for line in text.splitlines()
        if line.strip()
    )


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
    if folded.strip() in common_passwords():
        raise ValidationError("password_common", fields={"password": "password_common"})
    for word in (*_ALWAYS_REFUSED_WORDS, *context):
        word = word.strip().casefold()
        if len(word) >= 3 and word in folded:
            raise ValidationError(
                "password_contains_context",
                fields={"password": "password_contains_context"},
            )
    return normalised
