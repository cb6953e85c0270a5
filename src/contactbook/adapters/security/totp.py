"""TOTP second factor for staff (RFC 6238) with pyotp."""

from __future__ import annotations

import hmac
from datetime import datetime

import pyotp

__all__ = ["PyotpTotp"]


class PyotpTotp:
    """SHA-1, 6 digits, 30-second steps: what every authenticator app reads.

    A code is accepted for the current step and one step either side (clock
    drift); the use case refuses a step it has already accepted (no replay).
    """

    def __init__(self, *, valid_window: int = 1) -> None:
        if valid_window < 0:
            raise ValueError("valid_window must be 0 or more")
        self._window = valid_window

    def new_secret(self) -> str:
        return pyotp.random_base32(length=32)  # 160 bits from `secrets`

    def provisioning_uri(self, secret: str, *, account_name: str, issuer: str) -> str:
        return pyotp.TOTP(secret).provisioning_uri(name=account_name, issuer_name=issuer)

    def matching_step(self, secret: str, code: str, at: datetime) -> int | None:
        code = code.strip().replace(" ", "")
        if len(code) != 6 or not code.isascii() or not code.isdigit():
            return None
        totp = pyotp.TOTP(secret)
        step = totp.timecode(at)
        for offset in range(-self._window, self._window + 1):
            if hmac.compare_digest(totp.at(at, counter_offset=offset), code):
                return step + offset
        return None
