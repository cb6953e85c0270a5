"""Password hashing and one-time tokens."""

from __future__ import annotations

from typing import Protocol

__all__ = ["PasswordHasher", "TokenGenerator"]


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
