"""Staff password resets: an admin starts one, only the member chooses the password."""

from __future__ import annotations

import hmac

from contactbook.domain.masking import mask_email
from contactbook.domain.message import MessageCause
from contactbook.errors import (
    Conflict,
    InvalidToken,
)
from contactbook.usecases._support.context import Context
from contactbook.usecases._support.notifications import queue_mail
from contactbook.usecases._support.passwords import check_new_password
from contactbook.usecases._support.recording import record
from contactbook.usecases._support.use_case import use_case
from contactbook.usecases.principals import StaffPrincipal
from contactbook.usecases.staff.members import (
    StaffResetTicket,
    context_words,
    managed,
)

__all__ = ["StaffPasswordReset"]


class StaffPasswordReset:
    """``book.staff``: password resets."""

    _ctx: Context

    @use_case(acts_for="admin", target=("staff", "staff_id"))
    def start_reset(self, admin: StaffPrincipal, staff_id: str) -> StaffResetTicket:
        """An admin starts a password reset of another member in scope; see
        ``StaffResetTicket``. The member's current password keeps working until the
        reset is completed. Not of one's own account (``staff_own_account``): a
        session alone, without the password, must not be able to set a new one.
        ``Conflict("staff_inactive")`` for a closed account."""
        ctx = self._ctx
        now = ctx.now()
        token = ctx.tokens.new_token()
        with ctx.uow() as uow:
            creator, member = managed(uow, admin, staff_id)
            if not member.active:
                raise Conflict("staff_inactive")
            uow.staff.replace(
                member,
                member.reset_started(ctx.tokens.digest(token), now + ctx.settings.reset_token_ttl),
            )
            base = ctx.settings.base_url.rstrip("/")
            link = f"{base}/staff/reset-password?staff={member.id}&token={token}"
            if member.email is not None:
                queue_mail(
                    ctx,
                    uow,
                    MessageCause.STAFF_PASSWORD_RESET,
                    to=member.email.value,
                    account=None,
                    name=member.name,
                    username=member.username,
                    secrets={"link": link},
                )
            record(
                ctx,
                uow,
                creator,
                "staff.start_reset",
                "staff",
                member.id,
                facility_code=member.facility_code,
                details={"delivery": "mail" if member.email else "out_of_band"},
            )
            uow.commit()
        if member.email is not None:
            return StaffResetTicket(mailed_to=mask_email(member.email.value), token=None)
        return StaffResetTicket(mailed_to=None, token=token, link=link)

    @use_case(target=("staff", "staff_id"))
    def complete_reset(self, staff_id: str, token: str, new_password: str) -> None:
        """The member sets a new password with the reset token (single use, expiring).

        Unknown member, wrong, used or expired token all answer ``InvalidToken``."""
        ctx = self._ctx
        now = ctx.now()
        digest = ctx.tokens.digest(token.strip())
        with ctx.uow() as uow:
            member = uow.staff.get(staff_id) if staff_id else None
            if (
                member is None
                or not member.active
                or member.reset_token_hash is None
                or member.reset_expires_at is None
                or now >= member.reset_expires_at
                or not hmac.compare_digest(member.reset_token_hash, digest)
            ):
                target = member.id if member else None
                record(ctx, uow, None, "staff.complete_reset", "staff", target, outcome="failure")
                uow.commit()
                raise InvalidToken()
            checked = check_new_password(
                new_password,
                min_length=ctx.settings.staff_password_min,
                max_length=ctx.settings.password_max,
                context=context_words(member.username, member.email),
            )
            uow.staff.replace(
                member,
                member.password_reset(ctx.hasher.hash(checked)),
            )
            if member.email is not None:
                queue_mail(
                    ctx,
                    uow,
                    MessageCause.PASSWORD_CHANGED,
                    to=member.email.value,
                    account=None,
                    name=member.name,
                )
            record(ctx, uow, member, "staff.complete_reset", "staff", member.id)
            uow.commit()
