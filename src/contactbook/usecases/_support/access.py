"""Authorization, deny by default. Another tenant's object answers ``NotFound``."""

from __future__ import annotations

from contactbook.domain.account import AccountStatus, FamilyMember
from contactbook.domain.staff import Role, StaffMember
from contactbook.errors import NotFound, PermissionDenied
from contactbook.ports.storage import UnitOfWork
from contactbook.usecases.principals import FamilyPrincipal, StaffPrincipal

__all__ = ["active_family", "family", "require_scope", "staff_with_role"]


def family(uow: UnitOfWork, principal: FamilyPrincipal) -> FamilyMember:
    """The acting account, whatever its status (for profile and data rights)."""
    if not isinstance(principal, FamilyPrincipal):
        raise NotFound()
    account = uow.accounts.get(principal.account_id)
    if account is None or account.status is AccountStatus.CLOSED:
        raise NotFound()
    return account


def active_family(uow: UnitOfWork, principal: FamilyPrincipal) -> FamilyMember:
    """The acting account, which must have verified its e-mail and, when the notice
    changed since, accepted it again (``accounts.accept_consent``)."""
    account = family(uow, principal)
    if account.status is AccountStatus.UNVERIFIED:
        raise PermissionDenied("account_not_verified")
    if account.status is not AccountStatus.ACTIVE:
        raise PermissionDenied("account_inactive")
    if principal.needs_consent:
        raise PermissionDenied("consent_required")
    return account


def staff_with_role(uow: UnitOfWork, principal: StaffPrincipal, role: Role) -> StaffMember:
    """The acting staff member, re-read so revoked roles take effect at once."""
    if not isinstance(principal, StaffPrincipal):
        raise NotFound()
    member = uow.staff.get(principal.staff_id)
    if member is None or not member.active:
        raise NotFound()
    if principal.totp_enrollment_required:
        raise PermissionDenied("totp_enrollment_required")
    if role not in member.roles:
        raise PermissionDenied("role_required", role=role.value)
    return member


def require_scope(member: StaffMember, facility_code: str | None) -> None:
    """Facility staff see only their facility; objects of others do not exist for them."""
    if facility_code is None:
        if not member.is_agency:
            raise NotFound()
        return
    if not member.covers(facility_code):
        raise NotFound()


def scope_codes(member: StaffMember, requested: str | None) -> frozenset[str] | None:
    """Facility codes a list may show: the requested one if in scope, else the whole scope."""
    if requested is not None:
        require_scope(member, requested)
        return frozenset({requested})
    if member.is_agency:
        return None
    assert member.facility_code is not None
    return frozenset({member.facility_code})
