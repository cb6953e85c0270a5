"""The staff second factor's rules: TOTP codes (RFC 6238) and recovery codes.

Which code is accepted, and what the factor looks like afterwards, apart from who
may enroll or log in (``usecases.staff``): a TOTP code of a step not newer than the
last one accepted is a replay; a recovery code is good once, then its hash is gone.
"""

from __future__ import annotations

import secrets
from datetime import datetime

import attrs

from contactbook.domain.staff import TotpFactor
from contactbook.ports.security import PasswordHasher, TotpProvider

__all__ = ["RECOVERY_CODES", "TotpEnrollment", "accept_code", "new_factor"]

RECOVERY_CODES = 10
"""How many recovery codes one TOTP enrollment gives."""
_RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford's base32: no i, l, o, u
_RECOVERY_LENGTH = 10  # 50 bits each, stored with the password hasher


@attrs.frozen
class TotpEnrollment:
    """Shown to the staff member once: the secret (also inside the URI, for a QR
    code) and the recovery codes, each usable once instead of a TOTP code."""

    secret: str
    provisioning_uri: str
    recovery_codes: tuple[str, ...]


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def _normal_recovery_code(code: str) -> str | None:
    """The code as hashed (no separators, lower case), or None if it cannot be one."""
    cleaned = "".join(code.split()).replace("-", "").casefold()
    if len(cleaned) != _RECOVERY_LENGTH or any(c not in _RECOVERY_ALPHABET for c in cleaned):
        return None
    return cleaned


def new_factor(totp: TotpProvider, hasher: PasswordHasher) -> tuple[TotpFactor, tuple[str, ...]]:
    """A new factor to confirm, and its recovery codes as the member is shown them
    (the factor keeps only their hashes)."""
    codes = tuple(_new_recovery_code() for _ in range(RECOVERY_CODES))
    hashes = tuple(hasher.hash(_normal_recovery_code(code) or code) for code in codes)
    return TotpFactor(totp.new_secret(), hashes), codes


def accept_code(
    totp: TotpProvider, hasher: PasswordHasher, factor: TotpFactor, code: str, now: datetime
) -> tuple[TotpFactor, str] | None:
    """The factor after accepting ``code`` and which kind it was (``totp`` or
    ``recovery_code``); None if refused."""
    cleaned = "".join(code.split())
    if len(cleaned) == 6 and cleaned.isascii() and cleaned.isdigit():
        step = totp.matching_step(factor.secret, cleaned, now)
        if step is None or step <= factor.last_step:  # wrong, or already used
            return None
        return attrs.evolve(factor, last_step=step), "totp"
    recovery = _normal_recovery_code(code)
    if recovery is None:
        return None
    for stored in factor.recovery_code_hashes:
        if hasher.verify(stored, recovery):
            left = tuple(h for h in factor.recovery_code_hashes if h != stored)
            return attrs.evolve(factor, recovery_code_hashes=left), "recovery_code"
    return None
