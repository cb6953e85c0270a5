"""Password hashing, one-time tokens and TOTP second factors."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

__all__ = ["PasswordHasher", "TokenGenerator", "TotpProvider"]


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...
    def verify(self, password_hash: str, password: str) -> bool: ...
    def needs_rehash(self, password_hash: str) -> bool: ...


class TokenGenerator(Protocol):
    def new_token(self) -> str:
        """A fresh secret token (≥ 128 bits) to give to a person once."""
        ...

    def digest(self, token: str) -> str:
        """What is stored instead of the token."""
        ...


class TotpProvider(Protocol):
    """Time-based one-time passwords (RFC 6238: SHA-1, 6 digits, 30-second steps)."""

    def new_secret(self) -> str:
        """A fresh random base32 secret (≥ 160 bits)."""
        ...

    def provisioning_uri(self, secret: str, *, account_name: str, issuer: str) -> str:
        """The ``otpauth://`` URI an authenticator app reads (usually as a QR code)."""
        ...

    def matching_step(self, secret: str, code: str, at: datetime) -> int | None:
        """The time step whose code ``code`` is, within one step of ``at``; else None."""
        ...
