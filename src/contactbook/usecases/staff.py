"""Staff accounts of the back office (便民服務後臺管理系統).

Login is by username and password, plus a second factor (TOTP, RFC 6238) for
members who enrolled one — and for every member when
``Settings.require_staff_totp`` is on; a member who has not enrolled then gets a
principal that may only enroll (``enroll_totp`` / ``confirm_totp``). Each
enrollment comes with 10 single-use recovery codes, stored only as password
hashes. Wrong passwords, TOTP codes and recovery codes all count towards the
lock of ``usecases.throttle``; every login attempt is audited.

There are no shared or default accounts: ``bootstrap_admin`` works only while no
staff member exists, and every other account is created by an admin for one
named person. Admins never set or see a staff member's new password: they start
a reset (``start_reset``), which mails the member a one-time link when the member
has an e-mail address, or else returns the one-time token for the admin to hand
over out of band; only the member chooses the password (``complete_reset``).
A member who lost the authenticator and the recovery codes asks another admin to
clear the factor (``clear_totp``), then enrolls again. Both a completed reset and
a cleared factor move the member's ``session_version`` on, which ends the other
sessions of a front end that checks ``session_valid``.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable
from datetime import datetime
from typing import Any, ClassVar

import attrs

from contactbook.domain.identifiers import EmailAddress
from contactbook.domain.masking import mask_email
from contactbook.domain.message import MessageCause
from contactbook.domain.staff import Role, StaffMember
from contactbook.domain.text import clean_line, clean_text
from contactbook.domain.time import format_datetime
from contactbook.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidToken,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from contactbook.ports.security import TotpProvider
from contactbook.ports.storage import UnitOfWork
from contactbook.usecases._support import access
from contactbook.usecases._support.context import Context, new_id
from contactbook.usecases._support.notifications import queue_mail
from contactbook.usecases._support.passwords import check_new_password
from contactbook.usecases._support.recording import record
from contactbook.usecases._support.second_factor import (
    RECOVERY_CODES,
    TotpEnrollment,
    accept_code,
    new_factor,
)
from contactbook.usecases._support.throttle import after_failure, is_locked, lock_starts
from contactbook.usecases._support.use_case import use_case
from contactbook.usecases.principals import StaffPrincipal

__all__ = ["RECOVERY_CODES", "Staff", "StaffResetTicket", "StaffView", "TotpEnrollment"]

_DUMMY = "timing-equaliser-not-a-password"


@attrs.frozen
class StaffView:
    id: str
    username: str
    name: str
    facility_code: str | None
    roles: frozenset[Role]
    email: str = ""
    totp_enrolled: bool = False
    active: bool = True
    session_version: int = 1


@attrs.frozen
class StaffResetTicket:
    """What ``start_reset`` gives the admin.

    ``mailed_to``: the masked address the reset link went to (``token`` and ``link``
    are None); for a member without an e-mail address ``mailed_to`` is None, and
    ``link`` is the link the mail would have carried, with ``token`` the one-time
    reset token in it (valid ``Settings.reset_token_ttl``), to hand to the member
    out of band — it lets the member choose a password, nothing else.
    """

    mailed_to: str | None
    token: str | None
    link: str | None = None


def _view(member: StaffMember) -> StaffView:
    return StaffView(
        member.id,
        member.username,
        member.name,
        member.facility_code,
        member.roles,
        email=member.email.value if member.email else "",
        totp_enrolled=member.has_totp,
        active=member.active,
        session_version=member.session_version,
    )


STAFF_NAME_MAX_CHARS = 50
BREAK_GLASS_REASON_MAX_CHARS = 500


def _username(raw: str) -> str:
    name = raw.strip().casefold()
    if not (3 <= len(name) <= 64) or not all(c.isalnum() or c in "._-" for c in name):
        raise ValidationError("username_format", fields={"username": "username_format"})
    return name


def _context_words(username: str, email: EmailAddress | None) -> tuple[str, ...]:
    return (username, email.local_part) if email else (username,)


def _roles_text(roles: Iterable[Role]) -> str:
    return ",".join(sorted(role.value for role in roles))


def _is_agency_admin(member: StaffMember) -> bool:
    return member.is_agency and member.active and Role.ADMIN in member.roles


def _replace_keeping_an_agency_admin(
    uow: UnitOfWork, member: StaffMember, changed: StaffMember
) -> None:
    """Write ``changed``, unless it would leave the Agency without an active
    administrator (``Conflict("last_agency_admin")``): nobody could then manage
    staff, facilities or rosters. The remaining Agency admins are written as well
    (their version moves on), so two admins removing each other at the same moment
    conflict instead of both succeeding."""
    if _is_agency_admin(member) and not _is_agency_admin(changed):
        remaining = [m for m in uow.staff.list() if m.id != member.id and _is_agency_admin(m)]
        if not remaining:
            raise Conflict("last_agency_admin")
        for other in remaining:
            uow.staff.replace(other, other.changed())
    uow.staff.replace(member, changed)


class Staff:
    group: ClassVar[str] = "staff"

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx
        self._dummy_hash: str | None = None

    def _verify_nothing(self, password: str) -> None:
        """One password verification against a dummy hash (made once), so an unknown
        username takes as long as a known one."""
        if self._dummy_hash is None:
            self._dummy_hash = self._ctx.hasher.hash(_DUMMY)
        self._ctx.hasher.verify(self._dummy_hash, password)

    # -- accounts --------------------------------------------------------------

    def _new_member(
        self,
        username: str,
        name: str,
        password: str,
        facility_code: str | None,
        roles: Iterable[Role],
        email: str | None,
    ) -> StaffMember:
        ctx = self._ctx
        login = _username(username)
        display_name = clean_line(name, field="name", max_chars=STAFF_NAME_MAX_CHARS)
        address = EmailAddress.parse(email) if email and email.strip() else None
        checked = check_new_password(
            password,
            min_length=ctx.settings.staff_password_min,
            max_length=ctx.settings.password_max,
            context=_context_words(login, address),
        )
        role_set = frozenset(Role(r) for r in roles)
        if not role_set:
            raise ValidationError("roles_required", fields={"roles": "roles_required"})
        return StaffMember(
            id=new_id(),
            username=login,
            name=display_name,
            facility_code=facility_code,
            roles=role_set,
            password_hash=ctx.hasher.hash(checked),
            created_at=ctx.now(),
            email=address,
        )

    @use_case()
    def bootstrap_admin(
        self, username: str, name: str, password: str, *, email: str | None = None
    ) -> StaffView:
        """The first Agency administrator; refused once any staff member exists."""
        ctx = self._ctx
        member = self._new_member(username, name, password, None, Role, email)
        with ctx.uow() as uow:
            if uow.staff.count() > 0:
                raise Conflict("staff_exists")
            uow.staff.add(member)
            record(ctx, uow, member, "staff.bootstrap_admin", "staff", member.id)
            uow.commit()
        return _view(member)

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
            if member is None or not _is_agency_admin(member):
                raise NotFound()
            if any(m.id != member.id and _is_agency_admin(m) for m in uow.staff.list()):
                raise Conflict("another_admin_can_clear")
            self._clear_factor(uow, member)
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
        member = self._new_member(username, name, password, facility_code, roles, email)
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
                details={"roles": _roles_text(member.roles)},
            )
            uow.commit()
        return _view(member)

    @use_case(acts_for="staff")
    def get(self, staff: StaffPrincipal) -> StaffView:
        with self._ctx.uow() as uow:
            member = self._member(uow, staff)  # deny by default: not staff, not found
        return _view(member)

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
        return [_view(member) for member in found]

    def _managed(
        self, uow: UnitOfWork, admin: StaffPrincipal, staff_id: str, own: str = "staff_own_account"
    ) -> tuple[StaffMember, StaffMember]:
        """The acting admin and another member in its scope, active or not.

        ``NotFound`` for a member out of scope; ``PermissionDenied(own)`` for the admin
        itself — no one alone changes their own roles, locks themselves out or takes
        their own second factor off."""
        acting = access.staff_with_role(uow, admin, Role.ADMIN)
        member = uow.staff.get(staff_id)
        if member is None:
            raise NotFound()
        access.require_scope(acting, member.facility_code)
        if member.id == acting.id:
            raise PermissionDenied(own)
        return acting, member

    @use_case(acts_for="admin", target=("staff", "staff_id"))
    def set_roles(self, admin: StaffPrincipal, staff_id: str, roles: Iterable[Role]) -> StaffView:
        """Give a member in scope exactly ``roles`` (at least one); they take effect at
        the member's next call, as roles are re-read every time."""
        ctx = self._ctx
        role_set = frozenset(Role(r) for r in roles)
        if not role_set:
            raise ValidationError("roles_required", fields={"roles": "roles_required"})
        with ctx.uow() as uow:
            acting, member = self._managed(uow, admin, staff_id)
            changed = member.changed(roles=role_set)
            _replace_keeping_an_agency_admin(uow, member, changed)
            record(
                ctx,
                uow,
                acting,
                "staff.set_roles",
                "staff",
                member.id,
                facility_code=member.facility_code,
                details={"before": _roles_text(member.roles), "roles": _roles_text(role_set)},
            )
            uow.commit()
        return _view(changed)

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
            acting, member = self._managed(uow, admin, staff_id)
            if member.active == active:
                raise Conflict("staff_active" if active else "staff_inactive")
            changes: dict[str, Any] = {"active": active}
            if not active:
                changes.update(
                    session_version=member.session_version + 1,
                    reset_token_hash=None,
                    reset_expires_at=None,
                )
            changed = member.changed(**changes)
            _replace_keeping_an_agency_admin(uow, member, changed)
            action = "staff.reactivate" if active else "staff.deactivate"
            record(ctx, uow, acting, action, "staff", member.id, facility_code=member.facility_code)
            uow.commit()
        return _view(changed)

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

    # -- login -----------------------------------------------------------------

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
        lock starts: see :mod:`contactbook.usecases._support.throttle`). With
        ``require_staff_totp`` and no enrollment yet, the principal has
        ``totp_enrollment_required=True``.
        """
        ctx = self._ctx
        now = ctx.now()
        login = username.strip().casefold()
        with ctx.uow() as uow:
            member = uow.staff.by_username(login)
            if member is None or not member.active:
                self._verify_nothing(password)
                record(ctx, uow, None, "staff.login", "staff", None, outcome="failure")
                uow.commit()
                raise AuthenticationFailed()
            if is_locked(member.locked_until, now):
                self._verify_nothing(password)  # as slow as any other refusal
                record(ctx, uow, member, "staff.login", "staff", member.id, outcome="locked")
                uow.commit()
                raise AuthenticationFailed()  # as for an unknown username: see throttle
            if not ctx.hasher.verify(member.password_hash, password):
                self._count_failure(uow, member, now, "failure")
                uow.commit()
                raise AuthenticationFailed()
            changes: dict[str, Any] = {}
            factor = "password"
            if member.totp is not None:
                if totp_code is None or not totp_code.strip():
                    record(
                        ctx, uow, member, "staff.login", "staff", member.id, outcome="totp_required"
                    )
                    uow.commit()
                    raise AuthenticationFailed("totp_required")
                checked = accept_code(self._totp(), ctx.hasher, member.totp, totp_code, now)
                if checked is None:
                    self._count_failure(uow, member, now, "totp_failure")
                    uow.commit()
                    raise AuthenticationFailed("totp_invalid")
                changes["totp"], factor = checked
            enrollment_required = member.totp is None and ctx.settings.require_staff_totp
            if ctx.hasher.needs_rehash(member.password_hash):
                changes["password_hash"] = ctx.hasher.hash(password)
            if member.failed_logins or member.locked_until:
                changes.update(failed_logins=0, locked_until=None)
            if changes:
                uow.staff.replace(member, member.changed(**changes))
            details = {"factor": factor}
            if factor == "recovery_code" and "totp" in changes:
                details["recovery_codes_left"] = str(len(changes["totp"].recovery_code_hashes))
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

    def _count_failure(
        self, uow: UnitOfWork, member: StaffMember, now: datetime, outcome: str
    ) -> None:
        ctx = self._ctx
        failures = member.failed_logins + 1
        locked_until = after_failure(failures, ctx.settings, now)
        uow.staff.replace(member, member.changed(failed_logins=failures, locked_until=locked_until))
        record(ctx, uow, member, "staff.login", "staff", member.id, outcome=outcome)
        if locked_until is not None and lock_starts(failures, ctx.settings) and member.email:
            queue_mail(
                ctx,
                uow,
                MessageCause.STAFF_ACCOUNT_LOCKED,
                to=member.email.value,
                account=None,
                name=member.name,
                username=member.username,
                failures=failures,
                until=format_datetime(locked_until),
            )

    def _totp(self) -> TotpProvider:
        if self._ctx.totp is None:
            raise RuntimeError("no TOTP provider: pass one to contactbook.bootstrap(totp=...)")
        return self._ctx.totp

    # -- second factor ------------------------------------------------------------

    def _member(
        self, uow: UnitOfWork, staff: StaffPrincipal, *, current_session: bool = False
    ) -> StaffMember:
        """The acting member, also while it may do nothing but enroll.

        ``current_session``: refuse a principal issued before the member's sessions
        were ended (``session_ended``) — enrolling turns a principal into a full one
        of the current session, so an ended one must not get that far."""
        if not isinstance(staff, StaffPrincipal):
            raise NotFound()
        member = uow.staff.get(staff.staff_id)
        if member is None or not member.active:
            raise NotFound()
        if current_session and staff.session_version != member.session_version:
            raise PermissionDenied("session_ended")
        if staff.totp_enrollment_required and member.totp is not None:
            # An enrollment-only principal from before the member enrolled (a tab left
            # open, a stolen session) must not replace the confirmed authenticator.
            raise PermissionDenied("totp_already_enrolled")
        return member

    @use_case(acts_for="staff")
    def enroll_totp(self, staff: StaffPrincipal) -> TotpEnrollment:
        """Start (or redo) TOTP enrollment: a new secret and 10 new recovery codes.

        Nothing changes at login until ``confirm_totp`` with a code from the new
        secret; a factor already confirmed stays in force until then."""
        ctx = self._ctx
        totp = self._totp()
        factor, codes = new_factor(totp, ctx.hasher)
        with ctx.uow() as uow:
            member = self._member(uow, staff, current_session=True)
            uow.staff.replace(member, member.changed(totp_pending=factor))
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
            member = self._member(uow, staff, current_session=True)
            pending = member.totp_pending
            if pending is None:
                raise Conflict("totp_not_enrolling")
            step = self._totp().matching_step(pending.secret, code, now)
            if step is None:
                record(
                    ctx, uow, member, "staff.confirm_totp", "staff", member.id, outcome="failure"
                )
                uow.commit()
                raise ValidationError("totp_invalid", fields={"code": "totp_invalid"})
            replacing = member.totp is not None
            confirmed = member.changed(
                totp=attrs.evolve(pending, last_step=step),
                totp_pending=None,
                session_version=member.session_version + (1 if replacing else 0),
            )
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
            acting, member = self._managed(uow, admin, staff_id, own="totp_clear_own")
            if not member.active:
                raise Conflict("staff_inactive")
            self._clear_factor(uow, member)
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

    def _clear_factor(self, uow: UnitOfWork, member: StaffMember) -> None:
        """Take the member's second factor off, end its sessions and tell it by mail;
        ``Conflict("totp_not_enrolled")`` when there is none, not even a pending one."""
        if member.totp is None and member.totp_pending is None:
            raise Conflict("totp_not_enrolled")
        uow.staff.replace(
            member,
            member.changed(
                totp=None, totp_pending=None, session_version=member.session_version + 1
            ),
        )
        if member.email is not None:
            queue_mail(
                self._ctx,
                uow,
                MessageCause.STAFF_TOTP_CLEARED,
                to=member.email.value,
                account=None,
                name=member.name,
                username=member.username,
            )

    # -- password reset ------------------------------------------------------------

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
            creator, member = self._managed(uow, admin, staff_id)
            if not member.active:
                raise Conflict("staff_inactive")
            uow.staff.replace(
                member,
                member.changed(
                    reset_token_hash=ctx.tokens.digest(token),
                    reset_expires_at=now + ctx.settings.reset_token_ttl,
                ),
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
                context=_context_words(member.username, member.email),
            )
            uow.staff.replace(
                member,
                member.changed(
                    password_hash=ctx.hasher.hash(checked),
                    reset_token_hash=None,
                    reset_expires_at=None,
                    failed_logins=0,
                    locked_until=None,
                    session_version=member.session_version + 1,
                ),
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
