"""帳號: registration, verification, login, passwords, profile and personal-data rights.

No call here reveals whether an account exists (DOMAIN.md §5): registration with
an address or ID in use, resending verification and forgotten passwords answer
exactly as for a new one, and the existing owner is told by mail instead.
"""

from __future__ import annotations

from typing import ClassVar

from contactbook.usecases._support.context import Context
from contactbook.usecases.accounts.common import ConsentNotice, ProfileView, RegistrationReceipt
from contactbook.usecases.accounts.passwords import AccountPasswords
from contactbook.usecases.accounts.profile import AccountProfile
from contactbook.usecases.accounts.registration import AccountRegistration
from contactbook.usecases.accounts.sign_in import AccountSignIn

__all__ = ["Accounts", "ConsentNotice", "ProfileView", "RegistrationReceipt"]


class Accounts(AccountRegistration, AccountSignIn, AccountPasswords, AccountProfile):
    """``book.accounts``: one group, written in four parts (registration, sign-in,
    passwords, the profile and personal-data rights)."""

    group: ClassVar[str] = "accounts"

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
