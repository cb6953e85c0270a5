"""The staff second factor: enrolling a TOTP authenticator with recovery codes, and an
admin clearing the factor of a member who lost it."""

from __future__ import annotations

from contactbook.errors import (
    Conflict,
    ValidationError,
)
from contactbook.usecases._support.context import Context
from contactbook.usecases._support.recording import record
from contactbook.usecases._support.second_factor import TotpEnrollment, new_factor
from contactbook.usecases._support.use_case import use_case
from contactbook.usecases.principals import StaffPrincipal
from contactbook.usecases.staff.members import (
    acting_member,
    clear_factor,
    managed,
    totp_provider,
)

__all__ = ["StaffSecondFactor"]


class StaffSecondFactor:
    """``book.staff``: the second factor."""

    _ctx: Context

    @use_case(acts_for="staff")
    def enroll_totp(self, staff: StaffPrincipal) -> TotpEnrollment:
        """Start (or redo) TOTP enrollment: a new secret and 10 new recovery codes.

        Nothing changes at login until ``confirm_totp`` with a code from the new
        secret; a factor already confirmed stays in force until then."""
        ctx = self._ctx
        totp = totp_provider(ctx)
        factor, codes = new_factor(totp, ctx.hasher)
        with ctx.uow() as uow:
            member = acting_member(uow, staff, current_session=True)
            uow.staff.replace(member, member.enrolling(factor))
            record(ctx, uow, member, "staff.enroll_totp", "staff", member.id)
            uow.commit()
        uri = totp.provisioning_uri(
            factor.secret, account_name=member.username, issuer=ctx.settings.totp_issuer
        )
        return TotpEnrollment(factor.secret, uri, codes)

    @use_case(acts_for="staff")
    def confirm_totp(self, staff: StaffPrincipal, code: str) -> StaffPrincipal:
        """Finish enrollment with a current code of the new secret; the returned
        principal is a full one (the member proved password and TOTP). Replacing a
        confirmed factor (a phone lost or exposed) ends the member's other sessions:
        the returned principal belongs to the new session version."""
        ctx = self._ctx
        now = ctx.now()
        with ctx.uow() as uow:
            member = acting_member(uow, staff, current_session=True)
            pending = member.totp_pending
            if pending is None:
                raise Conflict("totp_not_enrolling")
            step = totp_provider(ctx).matching_step(pending.secret, code, now)
            if step is None:
                record(
                    ctx, uow, member, "staff.confirm_totp", "staff", member.id, outcome="failure"
                )
                uow.commit()
                raise ValidationError("totp_invalid", fields={"code": "totp_invalid"})
            replacing = member.totp is not None
            confirmed = member.factor_confirmed(step)
            uow.staff.replace(member, confirmed)
            record(
                ctx,
                uow,
                member,
                "staff.confirm_totp",
                "staff",
                member.id,
                details={"replaced": "yes" if replacing else "no"},
            )
            uow.commit()
        return StaffPrincipal(member.id, session_version=confirmed.session_version)

    @use_case(acts_for="admin", target=("staff", "staff_id"))
    def clear_totp(self, admin: StaffPrincipal, staff_id: str) -> None:
        """Clear the second factor of a member in scope who lost it (authenticator and
        recovery codes): the member's other sessions end, and the next login asks
        for a new enrollment where ``require_staff_totp`` is on.

        The member is told by mail when it has an address, and the clearing is
        audited: an admin who then starts a reset of a member without e-mail holds
        the way into that account, which the audit trail shows. Refusals: ``NotFound``
        (no such member in scope), ``Conflict("staff_inactive")``,
        ``Conflict("totp_not_enrolled")``, ``PermissionDenied("totp_clear_own")`` —
        one's own factor is replaced by enrolling again, which needs the factor."""
        ctx = self._ctx
        with ctx.uow() as uow:
            acting, member = managed(uow, admin, staff_id, own="totp_clear_own")
            if not member.active:
                raise Conflict("staff_inactive")
            clear_factor(ctx, uow, member)
            record(
                ctx,
                uow,
                acting,
                "staff.clear_totp",
                "staff",
                member.id,
                facility_code=member.facility_code,
            )
            uow.commit()
