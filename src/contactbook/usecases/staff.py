"""Staff accounts of the back office (便民服務後臺管理系統)."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from contactbook.domain.staff import Role, StaffMember
from contactbook.errors import (
    AuthenticationFailed,
    Conflict,
    ContactBookError,
    NotFound,
    ValidationError,
)
from contactbook.usecases import access
from contactbook.usecases.audit_trail import record
from contactbook.usecases.context import Context, new_id
from contactbook.usecases.passwords import check_new_password
from contactbook.usecases.principals import StaffPrincipal
from contactbook.usecases.throttle import after_failure, refuse_if_locked

__all__ = ["Staff", "StaffView"]

_DUMMY = "timing-equaliser-not-a-password"


@attrs.frozen
class StaffView:
    id: str
    username: str
    name: str
    facility_code: str | None
    roles: frozenset[Role]


def _view(member: StaffMember) -> StaffView:
    return StaffView(member.id, member.username, member.name, member.facility_code, member.roles)


def _username(raw: str) -> str:
    name = raw.strip().casefold()
    if not (3 <= len(name) <= 64) or not all(c.isalnum() or c in "._-" for c in name):
        raise ValidationError("username_format", fields={"username": "username_format"})
    return name


class Staff:
    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    def _new_member(
        self,
        username: str,
        name: str,
        password: str,
        facility_code: str | None,
        roles: Iterable[Role],
    ) -> StaffMember:
        ctx = self._ctx
        login = _username(username)
        checked = check_new_password(
            password,
            min_length=ctx.settings.staff_password_min,
            max_length=ctx.settings.password_max,
            context=(login,),
        )
        role_set = frozenset(Role(r) for r in roles)
        if not role_set:
            raise ValidationError("roles_required", fields={"roles": "roles_required"})
        return StaffMember(
            id=new_id(),
            username=login,
            name=name.strip(),
            facility_code=facility_code,
            roles=role_set,
            password_hash=ctx.hasher.hash(checked),
            created_at=ctx.now(),
        )

    def bootstrap_admin(self, username: str, name: str, password: str) -> StaffView:
        """The first Agency administrator; refused once any staff member exists."""
        ctx = self._ctx
        member = self._new_member(username, name, password, None, Role)
        with ctx.uow() as uow:
            if uow.staff.count() > 0:
                raise Conflict("staff_exists")
            uow.staff.add(member)
            record(ctx, uow, member, "staff.bootstrap_admin", "staff", member.id)
            uow.commit()
        return _view(member)

    def create(
        self,
        admin: StaffPrincipal,
        username: str,
        name: str,
        password: str,
        facility_code: str | None,
        roles: Iterable[Role],
    ) -> StaffView:
        """A named account for one person (no shared accounts); scope within the admin's."""
        ctx = self._ctx
        member = self._new_member(username, name, password, facility_code, roles)
        with ctx.uow() as uow:
            creator = access.staff_with_role(uow, admin, Role.ADMIN)
            if facility_code is not None and uow.facilities.get(facility_code) is None:
                raise NotFound("facility_not_found")
            access.require_scope(creator, facility_code)
            if uow.staff.by_username(member.username) is not None:
                raise Conflict("username_taken")
            uow.staff.add(member)
            record(
                ctx, uow, creator, "staff.create", "staff", member.id, facility_code=facility_code
            )
            uow.commit()
        return _view(member)

    def authenticate(self, username: str, password: str) -> StaffPrincipal:
        ctx = self._ctx
        now = ctx.now()
        login = username.strip().casefold()
        with ctx.uow() as uow:
            member = uow.staff.by_username(login)
            if member is None or not member.active:
                ctx.hasher.verify(ctx.hasher.hash(_DUMMY), password)
                record(ctx, uow, None, "staff.login", "staff", None, outcome="failure")
                uow.commit()
                raise AuthenticationFailed()
            try:
                refuse_if_locked(member.locked_until, now)
            except ContactBookError:
                record(ctx, uow, member, "staff.login", "staff", member.id, outcome="locked")
                uow.commit()
                raise
            if not ctx.hasher.verify(member.password_hash, password):
                failures = member.failed_logins + 1
                uow.staff.replace(
                    member,
                    member.changed(
                        failed_logins=failures,
                        locked_until=after_failure(failures, ctx.settings, now),
                    ),
                )
                record(ctx, uow, member, "staff.login", "staff", member.id, outcome="failure")
                uow.commit()
                raise AuthenticationFailed()
            if member.failed_logins or member.locked_until:
                uow.staff.replace(member, member.changed(failed_logins=0, locked_until=None))
            record(ctx, uow, member, "staff.login", "staff", member.id)
            uow.commit()
        return StaffPrincipal(member.id)

    def get(self, staff: StaffPrincipal) -> StaffView:
        with self._ctx.uow() as uow:
            member = uow.staff.get(staff.staff_id)
        if member is None or not member.active:
            raise NotFound()
        return _view(member)
