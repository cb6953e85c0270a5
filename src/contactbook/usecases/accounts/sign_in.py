"""Signing in: login, principals for embedders, sessions and consent"""

from __future__ import annotations

from contactbook.domain.account import (
    AccountStatus,
)
from contactbook.domain.identifiers import EmailAddress
from contactbook.domain.message import MessageCause
from contactbook.domain.time import format_datetime
from contactbook.errors import (
    AuthenticationFailed,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from contactbook.usecases._support import access
from contactbook.usecases._support.context import Context
from contactbook.usecases._support.notifications import queue_mail
from contactbook.usecases._support.recording import record
from contactbook.usecases._support.sign_in import (
    count_failed_login,
    refuse_while_locked,
    verify_nothing,
)
from contactbook.usecases._support.use_case import use_case
from contactbook.usecases.accounts.common import (
    principal_of,
    record_failure,
    replaced,
)
from contactbook.usecases.principals import FamilyPrincipal

__all__ = ["AccountSignIn"]


class AccountSignIn:
    """``book.accounts``: signing in."""

    _ctx: Context

    @use_case()
    def authenticate(self, email: str, password: str) -> FamilyPrincipal:
        ctx = self._ctx
        try:
            address = EmailAddress.parse(email)
        except ValidationError:
            verify_nothing(ctx.hasher, password)
            record_failure(ctx, "account.login")
            raise AuthenticationFailed() from None
        with ctx.uow() as uow:
            account = uow.accounts.by_email(address.canonical)
            if account is None or account.status is AccountStatus.CLOSED:
                verify_nothing(ctx.hasher, password)
                record(ctx, uow, None, "account.login", "account", None, outcome="failure")
                uow.commit()
                raise AuthenticationFailed()
            refuse_while_locked(ctx, uow, account, password, action="account.login", kind="account")
            if not ctx.hasher.verify(account.password_hash, password):
                lock_end = count_failed_login(
                    ctx, uow, uow.accounts.replace, account, action="account.login", kind="account"
                )
                if lock_end is not None:
                    queue_mail(
                        ctx,
                        uow,
                        MessageCause.ACCOUNT_LOCKED,
                        to=account.email.value,
                        account=account,
                        failures=ctx.settings.failures_before_lock,
                        until=format_datetime(lock_end),
                    )
                uow.commit()
                raise AuthenticationFailed()
            rehashed = None
            if ctx.hasher.needs_rehash(account.password_hash):
                rehashed = ctx.hasher.hash(password)
            if account.failed_logins or account.locked_until or rehashed:
                account = replaced(uow, account, account.signed_in(rehashed=rehashed))
            if account.status is AccountStatus.UNVERIFIED:
                record(
                    ctx, uow, account, "account.login", "account", account.id, outcome="unverified"
                )
                uow.commit()
                raise PermissionDenied("account_not_verified")
            record(ctx, uow, account, "account.login", "account", account.id)
            uow.commit()
        return principal_of(ctx, account)

    @use_case(target=("account", "account_id"))
    def principal(self, account_id: str) -> FamilyPrincipal:
        """For embedders with their own sign-on: act as ``account_id``."""
        with self._ctx.uow() as uow:
            account = uow.accounts.get(account_id)
        if account is None or account.status is AccountStatus.CLOSED:
            raise NotFound()
        return principal_of(self._ctx, account)

    @use_case(acts_for="principal")
    def session_valid(self, principal: FamilyPrincipal) -> bool:
        """Whether a front end's session for ``principal`` may go on: the account still
        exists, is not closed, and no password change or reset since moved its
        ``session_version`` on (which ends every other session)."""
        if not isinstance(principal, FamilyPrincipal):
            return False
        with self._ctx.uow() as uow:
            account = uow.accounts.get(principal.account_id)
        return (
            account is not None
            and account.status is not AccountStatus.CLOSED
            and account.session_version == principal.session_version
        )

    @use_case(acts_for="principal")
    def accept_consent(self, principal: FamilyPrincipal, version: str) -> FamilyPrincipal:
        """Accept the current collection notice again (after ``needs_consent``).

        ``version`` must be the one ``consent_notice()`` showed, else
        ``ValidationError("consent_version")``; returns a principal without
        ``needs_consent`` to use from now on. A principal of a session that a password
        change or reset ended is refused (``session_ended``): it must not come out
        of here as a principal of the current session."""
        ctx = self._ctx
        current = ctx.settings.consent_notice_version
        if version != current:
            raise ValidationError("consent_version", fields={"version": "consent_version"})
        with ctx.uow() as uow:
            account = access.family(uow, principal)
            if principal.session_version != account.session_version:
                raise PermissionDenied("session_ended")
            if account.needs_consent(current):
                account = replaced(uow, account, account.consented(current, ctx.now()))
            record(
                ctx,
                uow,
                account,
                "account.accept_consent",
                "account",
                account.id,
                details={"notice_version": current},
            )
            uow.commit()
        return principal_of(ctx, account)
