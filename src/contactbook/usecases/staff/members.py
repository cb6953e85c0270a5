"""What the staff use cases share: the views they return, the rules of usernames
and roles, and the steps several of them take (finding the acting or managed
member, taking a second factor off)."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from contactbook.domain.identifiers import EmailAddress
from contactbook.domain.message import MessageCause
from contactbook.domain.staff import Role, StaffMember
from contactbook.domain.text import clean_line
from contactbook.errors import Conflict, NotFound, PermissionDenied, ValidationError
from contactbook.ports.security import TotpProvider
from contactbook.ports.storage import UnitOfWork
from contactbook.usecases._support import access
from contactbook.usecases._support.context import Context, new_id
from contactbook.usecases._support.notifications import queue_mail
from contactbook.usecases._support.passwords import check_new_password
from contactbook.usecases.principals import StaffPrincipal

__all__ = [
    "StaffResetTicket",
    "StaffView",
    "acting_member",
    "clear_factor",
    "context_words",
    "is_agency_admin",
    "managed",
    "new_member",
    "replace_keeping_an_agency_admin",
    "roles_text",
    "totp_provider",
    "view_of",
]


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


def view_of(member: StaffMember) -> StaffView:
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


def username_of(raw: str) -> str:
    name = raw.strip().casefold()
    if not (3 <= len(name) <= 64) or not all(c.isalnum() or c in "._-" for c in name):
        raise ValidationError("username_format", fields={"username": "username_format"})
    return name


def context_words(username: str, email: EmailAddress | None) -> tuple[str, ...]:
    return (username, email.local_part) if email else (username,)


def roles_text(roles: Iterable[Role]) -> str:
    return ",".join(sorted(role.value for role in roles))


def is_agency_admin(member: StaffMember) -> bool:
    return member.is_agency and member.active and Role.ADMIN in member.roles


def replace_keeping_an_agency_admin(
    uow: UnitOfWork, member: StaffMember, changed: StaffMember
) -> None:
    """Write ``changed``, unless it would leave the Agency without an active
    administrator (``Conflict("last_agency_admin")``): nobody could then manage
    staff, facilities or rosters. The remaining Agency admins are written as well
    (their version moves on), so two admins removing each other at the same moment
    conflict instead of both succeeding."""
    if is_agency_admin(member) and not is_agency_admin(changed):
        remaining = [m for m in uow.staff.list() if m.id != member.id and is_agency_admin(m)]
        if not remaining:
            raise Conflict("last_agency_admin")
        for other in remaining:
            uow.staff.replace(other, other.touched())
    uow.staff.replace(member, changed)


def new_member(
    ctx: Context,
    username: str,
    name: str,
    password: str,
    facility_code: str | None,
    roles: Iterable[Role],
    email: str | None,
) -> StaffMember:
    login = username_of(username)
    display_name = clean_line(name, field="name", max_chars=STAFF_NAME_MAX_CHARS)
    address = EmailAddress.parse(email) if email and email.strip() else None
    checked = check_new_password(
        password,
        min_length=ctx.settings.staff_password_min,
        max_length=ctx.settings.password_max,
        context=context_words(login, address),
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


def managed(
    uow: UnitOfWork, admin: StaffPrincipal, staff_id: str, own: str = "staff_own_account"
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


def acting_member(
    uow: UnitOfWork, staff: StaffPrincipal, *, current_session: bool = False
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


def clear_factor(ctx: Context, uow: UnitOfWork, member: StaffMember) -> None:
    """Take the member's second factor off, end its sessions and tell it by mail;
    ``Conflict("totp_not_enrolled")`` when there is none, not even a pending one."""
    if member.totp is None and member.totp_pending is None:
        raise Conflict("totp_not_enrolled")
    uow.staff.replace(
        member,
        member.factor_cleared(),
    )
    if member.email is not None:
        queue_mail(
            ctx,
            uow,
            MessageCause.STAFF_TOTP_CLEARED,
            to=member.email.value,
            account=None,
            name=member.name,
            username=member.username,
        )


def totp_provider(ctx: Context) -> TotpProvider:
    if ctx.totp is None:
        raise RuntimeError("no TOTP provider: pass one to contactbook.bootstrap(totp=...)")
    return ctx.totp
