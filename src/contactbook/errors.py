"""Errors every caller of contactbook can catch.

Each error has a stable ``code`` (for programs) and a message in Traditional
Chinese first and English second (for people). The texts live in the message
catalogs (``contactbook/locale``), looked up only when a message is read, so
raising an error never does I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

__all__ = [
    "AccountLocked",
    "AuthenticationFailed",
    "Conflict",
    "ContactBookError",
    "InvalidToken",
    "NotEligible",
    "NotFound",
    "PermissionDenied",
    "PostingSuspended",
    "QuotaExceeded",
    "UploadRejected",
    "ValidationError",
]


class ContactBookError(Exception):
    """Base class: a refusal the caller should show to the person, not a crash."""

    default_code: ClassVar[str] = "error"

    def __init__(self, code: str | None = None, **params: Any) -> None:
        self.code = code or self.default_code
        self.params = params
        super().__init__(self.code)

    def message(self, locale: str = "zh_TW") -> str:
        """The text a person reads, in ``locale`` (``zh_TW`` or ``en``; tags such as
        ``zh-TW`` or ``en-US`` read the same catalogs)."""
        from contactbook.i18n import translate

        return translate(f"error.{self.code}", locale, **self.params)

    @property
    def message_zh(self) -> str:
        return self.message("zh_TW")

    @property
    def message_en(self) -> str:
        return self.message("en")

    def __str__(self) -> str:
        return f"{self.message_zh} / {self.message_en} [{self.code}]"


class ValidationError(ContactBookError):
    """Input was malformed; ``fields`` maps a field path to the code of its problem."""

    default_code = "invalid_input"

    def __init__(
        self,
        code: str | None = None,
        fields: Mapping[str, str] | None = None,
        **params: Any,
    ) -> None:
        super().__init__(code, **params)
        self.fields: dict[str, str] = dict(fields or {})

    def field_messages(self, locale: str = "zh_TW") -> dict[str, str]:
        """Each field's problem as text a person reads, with the error's parameters
        (``{min}`` of ``password_too_short``) filled in as in ``message``."""
        from contactbook.i18n import translate

        return {
            path: translate(f"error.{code}", locale, **self.params)
            for path, code in self.fields.items()
        }


class NotFound(ContactBookError):
    """No such object — or one the caller may not see (we never tell which)."""

    default_code = "not_found"


class PermissionDenied(ContactBookError):
    """The caller is known but may not do this with their own object or role."""

    default_code = "permission_denied"


class Conflict(ContactBookError):
    """The object changed since it was read (stale version) or was already decided."""

    default_code = "conflict"


class NotEligible(ContactBookError):
    """The inmate or the relationship does not qualify under the facility's rules."""

    default_code = "not_eligible"


class QuotaExceeded(ContactBookError):
    """Posting again inside the facility's frequency period."""

    default_code = "quota_exceeded"


class PostingSuspended(ContactBookError):
    """Posting is suspended after too many rejected posts."""

    default_code = "posting_suspended"


class UploadRejected(ContactBookError):
    """An uploaded file was refused; ``reason`` says why and ``filename`` which file."""

    default_code = "upload_rejected"
    REASONS: ClassVar[frozenset[str]] = frozenset(
        {
            "empty",
            "too_large",
            "type_not_allowed",
            "unrecognized",
            "corrupt",
            "too_many_pixels",
            "active_content",
            "encrypted",
        }
    )

    def __init__(self, reason: str, filename: str = "", **params: Any) -> None:
        if reason not in self.REASONS:
            raise ValueError(f"unknown upload rejection reason {reason!r}")
        super().__init__(f"upload_{reason}", filename=filename, **params)
        self.reason = reason
        self.filename = filename


class InvalidToken(ContactBookError):
    """A verification or reset token is unknown, used or expired (never says which)."""

    default_code = "invalid_token"


class AuthenticationFailed(ContactBookError):
    """Wrong credentials (never says whether the account exists)."""

    default_code = "authentication_failed"


class AccountLocked(ContactBookError):
    """Too many failed logins; try again after ``until``."""

    default_code = "account_locked"
