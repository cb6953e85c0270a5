"""Password rules after NIST SP 800-63B: length, no composition rules, no common
passwords, no context words.

Each refusal has its own code, so the person is told why:

* ``password_too_short`` / ``password_too_long`` — outside the length limits
  (family accounts at least 12, staff at least 15, at most ``Settings.password_max``,
  128 by default; counted in characters after NFKC normalisation, never truncated);
* ``password_whitespace_only`` — nothing but spaces (NIST: a password is checked
  against "repetitive or sequential characters"; these four say which);
* ``password_single_character`` — one character repeated (``aaaaaaaaaaaa``);
* ``password_sequential`` — a run of consecutive characters that is the whole
  password, ascending or descending, digits wrapping 9→0 (``123456789012``,
  ``abcdefghijkl``);
* ``password_repeated_pattern`` — a short piece repeated (``abcabcabcabc``,
  ``密碼密碼密碼密碼密碼密碼``): the password repeats its first ``n`` characters, ``n``
  less than half the minimum length (a piece that short would be refused alone);
* ``password_common`` — in the common-password list shipped with the package
  (the caller's list: the library ships one, see
  ``usecases._support.passwords``);
* ``password_contains_context`` — contains the account's e-mail local part,
  national ID or username, or a word of this service (矯正署, contactbook).
"""

from __future__ import annotations

import itertools
import unicodedata
from collections.abc import Container, Iterable

from contactbook.errors import ValidationError

__all__ = ["check_password"]

_ALWAYS_REFUSED_WORDS = ("矯正署", "contactbook")


def check_password(
    password: str,
    *,
    min_length: int,
    max_length: int,
    common: Container[str],
    context: Iterable[str] = (),
) -> str:
    """The password (NFKC-normalised) if acceptable, else ``ValidationError`` saying why.
    ``common`` holds the common passwords, NFKC-normalised and case-folded."""
    normalised = unicodedata.normalize("NFKC", password)
    if not normalised.strip():
        raise ValidationError(
            "password_whitespace_only", fields={"password": "password_whitespace_only"}
        )
    if len(normalised) < min_length:
        raise ValidationError(
            "password_too_short", fields={"password": "password_too_short"}, min=min_length
        )
    if len(normalised) > max_length:
        raise ValidationError(
            "password_too_long", fields={"password": "password_too_long"}, max=max_length
        )
    folded = normalised.casefold()
    if folded.strip() in common:
        raise ValidationError("password_common", fields={"password": "password_common"})
    for word in (*_ALWAYS_REFUSED_WORDS, *context):
        word = word.strip().casefold()
        if len(word) >= 3 and word in folded:
            raise ValidationError(
                "password_contains_context",
                fields={"password": "password_contains_context"},
            )
    pattern = _repetitive(folded, longest_unit=max(1, min_length // 2 - 1))
    if pattern is not None:
        raise ValidationError(pattern, fields={"password": pattern})
    return normalised


def _repetitive(folded: str, *, longest_unit: int) -> str | None:
    """The code of the repetition rule ``folded`` breaks, or None; a repeated piece
    counts up to ``longest_unit`` characters."""
    if len(set(folded)) == 1:
        return "password_single_character"
    if _is_sequence(folded):
        return "password_sequential"
    for size in range(2, min(longest_unit, len(folded) // 2) + 1):
        unit = folded[:size]
        if (unit * (len(folded) // size + 1))[: len(folded)] == folded:
            return "password_repeated_pattern"
    return None


def _step(before: str, after: str) -> int:
    """+1 or -1 when ``after`` follows or precedes ``before`` (9 and 0 are neighbours)."""
    if ord(after) - ord(before) == 1 or (before, after) == ("9", "0"):
        return 1
    if ord(before) - ord(after) == 1 or (before, after) == ("0", "9"):
        return -1
    return 0


def _is_sequence(folded: str) -> bool:
    steps = {_step(a, b) for a, b in itertools.pairwise(folded)}
    return steps in ({1}, {-1})
