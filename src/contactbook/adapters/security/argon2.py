"""Password hashing with argon2id (argon2-cffi), at OWASP's recommended minimum by default."""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

__all__ = ["Argon2PasswordHasher"]


class Argon2PasswordHasher:
    """argon2id with m=19456 KiB, t=2, p=1 (OWASP Password Storage Cheat Sheet).

    Raise the costs when the hardware allows; hashes made with older costs are
    still verified and reported by ``needs_rehash`` so logins can upgrade them.
    """

    def __init__(
        self,
        *,
        memory_cost: int = 19456,
        time_cost: int = 2,
        parallelism: int = 1,
        hash_len: int = 32,
        salt_len: int = 16,
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost,
            parallelism=parallelism,
            hash_len=hash_len,
            salt_len=salt_len,
            type=Type.ID,
        )

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, password_hash: str, password: str) -> bool:
        """True only for the right password; a wrong one or a broken hash is just False."""
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError, ValueError):  # ValueError: non-ASCII hash
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with other parameters (or is not argon2 at all)."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except (InvalidHashError, ValueError):
            return True
