"""One-time tokens (e-mail verification, password reset): only their digest is stored."""

from __future__ import annotations

import hashlib
import secrets

__all__ = ["SecretsTokenGenerator"]


class SecretsTokenGenerator:
    """256-bit URL-safe tokens from ``secrets``; stored as SHA-256 so a leaked table grants nothing.

    A plain hash (no salt, no stretching) is enough: the token is random and
    long, so there is nothing to guess, and lookup by digest must be exact.
    """

    def __init__(self, nbytes: int = 32) -> None:
        if nbytes < 16:
            raise ValueError("tokens need at least 16 random bytes (128 bits)")
        self._nbytes = nbytes

    def new_token(self) -> str:
        return secrets.token_urlsafe(self._nbytes)

    def digest(self, token: str) -> str:
        return hashlib.sha256(token.encode("utf-8")).hexdigest()
