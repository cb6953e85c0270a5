"""Staff sign-in: password, then the second factor; the lock after repeated failures
(:mod:`contactbook.domain.lockout`) answers like an unknown username."""

from __future__ import annotations

from contactbook.domain.message import MessageCause
from contactbook.domain.staff import StaffMember, TotpFactor
from contactbook.domain.time import format_datetime
from contactbook.errors import (
    AuthenticationFailed,
)
from contactbook.ports.storage import UnitOfWork
from contactbook.usecases._support.context import Context
from contactbook.usecases._support.notifications import queue_mail
from contactbook.usecases._support.recording import record
from contactbook.usecases._support.second_factor import accept_code
from contactbook.usecases._support.sign_in import (
    count_failed_login,
    refuse_while_locked,
    verify_nothing,
)
from contactbook.usecases._support.use_case import use_case
from contactbook.usecases.principals import StaffPrincipal
from contactbook.usecases.staff.members import (
    totp_provider,
)

__all__ = ["StaffSignIn"]


class StaffSignIn:
    """``book.staff``: signing in."""

    _ctx: Context

    @use_case()
    def authenticate(
        self, username: str, password: str, totp_code: str | None = None
    ) -> StaffPrincipal:
        """Log in. ``totp_code`` is a current TOTP code or an unused recovery code.

        Refusals: ``AuthenticationFailed`` (``authentication_failed`` for a wrong
        username or password, alike; ``totp_required`` when the password is right
        but a second factor is needed and none was given — not counted as a
        failure; ``totp_invalid`` for a wrong, reused or expired code — counted),
        and ``authentication_failed`` while locked too (the member is mailed when the
        lock starts: see :mod:`contactbook.domain.lockout`). With
        ``require_staff_totp`` and no enrollment yet, the principal has
        ``totp_enrollment_required=True``.
        """
        ctx = self._ctx
        now = ctx.now()
        login = username.strip().casefold()
        with ctx.uow() as uow:
            member = uow.staff.by_username(login)
            if member is None or not member.active:
                verify_nothing(ctx.hasher, password)
                record(ctx, uow, None, "staff.login", "staff", None, outcome="failure")
                uow.commit()
                raise AuthenticationFailed()
            refuse_while_locked(ctx, uow, member, password, action="staff.login", kind="staff")
            if not ctx.hasher.verify(member.password_hash, password):
                self._count_failure(uow, member, "failure")
                uow.commit()
                raise AuthenticationFailed()
            used_factor: TotpFactor | None = None
            factor = "password"
            if member.totp is not None:
                if totp_code is None or not totp_code.strip():
                    record(
                        ctx, uow, member, "staff.login", "staff", member.id, outcome="totp_required"
                    )
                    uow.commit()
                    raise AuthenticationFailed("totp_required")
                checked = accept_code(totp_provider(ctx), ctx.hasher, member.totp, totp_code, now)
                if checked is None:
                    self._count_failure(uow, member, "totp_failure")
                    uow.commit()
                    raise AuthenticationFailed("totp_invalid")
                used_factor, factor = checked
            enrollment_required = member.totp is None and ctx.settings.require_staff_totp
            rehashed = None
            if ctx.hasher.needs_rehash(member.password_hash):
                rehashed = ctx.hasher.hash(password)
            if used_factor or rehashed or member.failed_logins or member.locked_until:
                uow.staff.replace(member, member.signed_in(totp=used_factor, rehashed=rehashed))
            details = {"factor": factor}
            if factor == "recovery_code" and used_factor is not None:
                details["recovery_codes_left"] = str(len(used_factor.recovery_code_hashes))
            record(
                ctx,
                uow,
                member,
                "staff.login",
                "staff",
                member.id,
                outcome="totp_enrollment_required" if enrollment_required else "success",
                details=details,
            )
            uow.commit()
        return StaffPrincipal(
            member.id,
            totp_enrollment_required=enrollment_required,
            session_version=member.session_version,
        )

    def _count_failure(self, uow: UnitOfWork, member: StaffMember, outcome: str) -> None:
        ctx = self._ctx
        lock_end = count_failed_login(
            ctx, uow, uow.staff.replace, member, action="staff.login", kind="staff", outcome=outcome
        )
        if lock_end is not None and member.email:
            queue_mail(
                ctx,
                uow,
                MessageCause.STAFF_ACCOUNT_LOCKED,
                to=member.email.value,
                account=None,
                name=member.name,
                username=member.username,
                failures=ctx.settings.failures_before_lock,
                until=format_datetime(lock_end),
            )
