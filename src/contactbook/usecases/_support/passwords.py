"""The password rules (:mod:`contactbook.domain.passwords`) with the common-password
list shipped with the package (``contactbook/data/common-passwords.txt.gz``, see the
README there), read once, on first use."""

from __future__ import annotations

import functools
import gzip
import unicodedata
from collections.abc import Iterable
from importlib import resources

from contactbook.domain.passwords import check_password

__all__ = ["check_new_password", "common_passwords"]

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
    """:func:`~contactbook.domain.passwords.check_password` against the shipped list."""
    return check_password(
        password,
        min_length=min_length,
        max_length=max_length,
        common=common_passwords(),
        context=context,
    )
