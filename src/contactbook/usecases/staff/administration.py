"""Staff administration (ADMIN): accounts for named people, their roles, closing and
reopening them, and the break glass for the Agency's only administrator."""

from __future__ import annotations

from collections.abc import Iterable

from contactbook.domain.staff import Role
from contactbook.domain.text import clean_text
from contactbook.errors import (
    Conflict,
    NotFound,
    ValidationError,
)
from contactbook.usecases._support import access
from contactbook.usecases._support.context import Context
from contactbook.usecases._support.recording import record
from contactbook.usecases._support.use_case import use_case
from contactbook.usecases.principals import StaffPrincipal
from contactbook.usecases.staff.members import (
    BREAK_GLASS_REASON_MAX_CHARS,
    StaffView,
    acting_member,
    clear_factor,
    is_agency_admin,
    managed,
    new_member,
    replace_keeping_an_agency_admin,
    roles_text,
    view_of,
)

__all__ = ["StaffAdministration"]


class StaffAdministration:
    """``book.staff``: the administration calls."""

    _ctx: Context

    @use_case()
    def bootstrap_admin(
        self, username: str, name: str, password: str, *, email: str | None = None
    ) -> StaffView:
        """The first Agency administrator; refused once any staff member exists."""
        ctx = self._ctx
        member = new_member(ctx, username, name, password, None, Role, email)
        with ctx.uow() as uow:
            if uow.staff.count() > 0:
                raise Conflict("staff_exists")
            uow.staff.add(member)
            record(ctx, uow, member, "staff.bootstrap_admin", "staff", member.id)
            uow.commit()
        return view_of(member)

    @use_case()
    def recover_agency_admin(self, username: str, reason: str) -> None:
        """Break glass: clear the lost second factor of the Agency's only active
        administrator, whom no other admin can help (``clear_totp`` needs one).

        For the operator's console (``contactbook staff recover-admin``), run by
        someone with direct access to the database — never to be offered by a web
        front end. Refused while another active Agency admin exists
        (``Conflict("another_admin_can_clear")``); ``reason`` is required and kept
        in the audit trail, recorded as the system's act. The member is mailed,
        its sessions end, and it enrolls again at the next login."""
        ctx = self._ctx
        if not reason.strip():
            raise ValidationError("reason_required", fields={"reason": "reason_required"})
        reason = clean_text(reason, field="reason", max_chars=BREAK_GLASS_REASON_MAX_CHARS)
        with ctx.uow() as uow:
            member = uow.staff.by_username(username.strip().casefold())
            if member is None or not is_agency_admin(member):
                raise NotFound()
            if any(m.id != member.id and is_agency_admin(m) for m in uow.staff.list()):
                raise Conflict("another_admin_can_clear")
            clear_factor(ctx, uow, member)
            record(
                ctx,
                uow,
                None,
                "staff.recover_agency_admin",
                "staff",
                member.id,
                details={"reason": reason},
                actor_kind="system",
            )
            uow.commit()

    @use_case(acts_for="admin")
    def create(
        self,
        admin: StaffPrincipal,
        username: str,
        name: str,
        password: str,
        facility_code: str | None,
        roles: Iterable[Role],
        *,
        email: str | None = None,
    ) -> StaffView:
        """A named account for one person (no shared accounts); scope within the admin's.

        ``email`` (optional) is where ``start_reset`` mails a reset link."""
        ctx = self._ctx
        member = new_member(ctx, username, name, password, facility_code, roles, email)
        with ctx.uow() as uow:
            creator = access.staff_with_role(uow, admin, Role.ADMIN)
            if facility_code is not None and uow.facilities.get(facility_code) is None:
                raise NotFound("facility_not_found")
            access.require_scope(creator, facility_code)
            if uow.staff.by_username(member.username) is not None:
                raise Conflict("username_taken")
            uow.staff.add(member)
            record(
                ctx,
                uow,
                creator,
                "staff.create",
                "staff",
                member.id,
                facility_code=facility_code,
                details={"roles": roles_text(member.roles)},
            )
            uow.commit()
        return view_of(member)

    @use_case(acts_for="staff")
    def get(self, staff: StaffPrincipal) -> StaffView:
        with self._ctx.uow() as uow:
            member = acting_member(uow, staff)  # deny by default: not staff, not found
        return view_of(member)

    @use_case(acts_for="admin")
    def members(self, admin: StaffPrincipal, facility_code: str | None = None) -> list[StaffView]:
        """The staff accounts an admin manages, by username: those of ``facility_code``
        (which must be in the admin's scope), else every one in scope — for an Agency
        admin, Agency staff and every facility's."""
        with self._ctx.uow() as uow:
            acting = access.staff_with_role(uow, admin, Role.ADMIN)
            if facility_code is not None:
                access.require_scope(acting, facility_code)
                if uow.facilities.get(facility_code) is None:
                    raise NotFound("facility_not_found")
            found = uow.staff.list(facility_code or acting.facility_code)
        return [view_of(member) for member in found]

    @use_case(acts_for="admin", target=("staff", "staff_id"))
    def set_roles(self, admin: StaffPrincipal, staff_id: str, roles: Iterable[Role]) -> StaffView:
        """Give a member in scope exactly ``roles`` (at least one); they take effect at
        the member's next call, as roles are re-read every time."""
        ctx = self._ctx
        role_set = frozenset(Role(r) for r in roles)
        if not role_set:
            raise ValidationError("roles_required", fields={"roles": "roles_required"})
        with ctx.uow() as uow:
            acting, member = managed(uow, admin, staff_id)
            changed = member.with_roles(role_set)
            replace_keeping_an_agency_admin(uow, member, changed)
            record(
                ctx,
                uow,
                acting,
                "staff.set_roles",
                "staff",
                member.id,
                facility_code=member.facility_code,
                details={"before": roles_text(member.roles), "roles": roles_text(role_set)},
            )
            uow.commit()
        return view_of(changed)

    @use_case(acts_for="admin", target=("staff", "staff_id"))
    def deactivate(self, admin: StaffPrincipal, staff_id: str) -> StaffView:
        """Close the account of a member in scope who left (there are no shared accounts
        to hand on): logins fail as for an unknown username, the member's sessions end
        and a started password reset is cancelled. ``Conflict("staff_inactive")`` if
        already closed."""
        return self._set_active(admin, staff_id, active=False)

    @use_case(acts_for="admin", target=("staff", "staff_id"))
    def reactivate(self, admin: StaffPrincipal, staff_id: str) -> StaffView:
        """Open a deactivated account again (same password and second factor);
        ``Conflict("staff_active")`` if it is open."""
        return self._set_active(admin, staff_id, active=True)

    def _set_active(self, admin: StaffPrincipal, staff_id: str, *, active: bool) -> StaffView:
        ctx = self._ctx
        with ctx.uow() as uow:
            acting, member = managed(uow, admin, staff_id)
            if member.active == active:
                raise Conflict("staff_active" if active else "staff_inactive")
            changed = member.reactivated() if active else member.deactivated()
            replace_keeping_an_agency_admin(uow, member, changed)
            action = "staff.reactivate" if active else "staff.deactivate"
            record(ctx, uow, acting, action, "staff", member.id, facility_code=member.facility_code)
            uow.commit()
        return view_of(changed)

    @use_case(acts_for="staff")
    def session_valid(self, staff: StaffPrincipal) -> bool:
        """Whether a front end's session for ``staff`` may go on: the member is still
        active and neither a password reset nor a cleared authenticator has moved
        its ``session_version`` on since the principal was issued."""
        if not isinstance(staff, StaffPrincipal):
            return False
        with self._ctx.uow() as uow:
            member = uow.staff.get(staff.staff_id)
        return (
            member is not None and member.active and member.session_version == staff.session_version
        )
