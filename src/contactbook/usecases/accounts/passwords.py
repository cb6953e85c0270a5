"""Passwords: the forgotten-password mail, resets and changes"""

from __future__ import annotations

import attrs

from contactbook.domain.account import (
    AccountStatus,
    TokenPurpose,
)
from contactbook.domain.identifiers import EmailAddress
from contactbook.domain.message import MessageCause
from contactbook.errors import (
    AuthenticationFailed,
    InvalidToken,
)
from contactbook.usecases._support import access
from contactbook.usecases._support.context import Context
from contactbook.usecases._support.notifications import queue_mail
from contactbook.usecases._support.recording import record
from contactbook.usecases._support.use_case import use_case
from contactbook.usecases.accounts.common import (
    issue_token,
    principal_of,
    record_failure,
    set_password,
    use_token,
)
from contactbook.usecases.principals import FamilyPrincipal

__all__ = ["AccountPasswords"]


class AccountPasswords:
    """``book.accounts``: passwords."""

    _ctx: Context

    @use_case()
    def forgot_password(self, email: str) -> None:
        """Mail a reset link if such an active account exists; answer the same anyway.

        The owner of an account not verified yet gets a mail asking to verify first
        (with a new verification link); an unknown address gets nothing. The caller
        sees no difference (DOMAIN.md §5)."""
        ctx = self._ctx
        address = EmailAddress.parse(email)
        with ctx.uow() as uow:
            account = uow.accounts.by_email(address.canonical)
            if account is None or account.status not in (
                AccountStatus.ACTIVE,
                AccountStatus.UNVERIFIED,
            ):
                target = account.id if account else None
                outcome = "inactive" if account else "unknown_address"
                record(
                    ctx, uow, account, "account.forgot_password", "account", target, outcome=outcome
                )
            elif account.status is AccountStatus.UNVERIFIED:
                token = issue_token(ctx, uow, account, TokenPurpose.VERIFY_EMAIL)
                queue_mail(
                    ctx,
                    uow,
                    MessageCause.VERIFY_BEFORE_RESET,
                    to=account.email.value,
                    account=account,
                    secrets={"link": f"{ctx.settings.base_url.rstrip('/')}/verify?token={token}"},
                )
                record(
                    ctx,
                    uow,
                    account,
                    "account.forgot_password",
                    "account",
                    account.id,
                    outcome="unverified",
                )
            else:
                token = issue_token(ctx, uow, account, TokenPurpose.RESET_PASSWORD)
                link = f"{ctx.settings.base_url.rstrip('/')}/reset-password?token={token}"
                queue_mail(
                    ctx,
                    uow,
                    MessageCause.PASSWORD_RESET,
                    to=account.email.value,
                    account=account,
                    secrets={"link": link},
                )
                record(ctx, uow, account, "account.forgot_password", "account", account.id)
            uow.commit()

    @use_case()
    def reset_password(self, token: str, new_password: str) -> None:
        ctx = self._ctx
        try:
            with ctx.uow() as uow:
                account = use_token(ctx, uow, token, TokenPurpose.RESET_PASSWORD)
                set_password(ctx, uow, account, new_password)
                record(ctx, uow, account, "account.reset_password", "account", account.id)
                uow.commit()
        except InvalidToken:
            record_failure(ctx, "account.reset_password")
            raise

    @use_case(acts_for="principal")
    def change_password(self, principal: FamilyPrincipal, old: str, new: str) -> FamilyPrincipal:
        """Change the password; other sessions end (the session version moves on)."""
        ctx = self._ctx
        with ctx.uow() as uow:
            account = access.family(uow, principal)
            if not ctx.hasher.verify(account.password_hash, old):
                record(
                    ctx,
                    uow,
                    account,
                    "account.change_password",
                    "account",
                    account.id,
                    outcome="failure",
                )
                uow.commit()
                raise AuthenticationFailed()
            set_password(ctx, uow, account, new)
            record(ctx, uow, account, "account.change_password", "account", account.id)
            uow.commit()
            return attrs.evolve(
                principal_of(ctx, account), session_version=account.session_version + 1
            )
