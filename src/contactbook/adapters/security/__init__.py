"""Password hashing (argon2id) and one-time tokens (``secrets``)."""

from contactbook.adapters.security.argon2 import Argon2PasswordHasher
from contactbook.adapters.security.tokens import SecretsTokenGenerator

__all__ = ["Argon2PasswordHasher", "SecretsTokenGenerator"]
