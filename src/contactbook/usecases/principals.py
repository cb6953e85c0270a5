"""Who is acting. Front ends get these from ``authenticate`` or ``principal``."""

from __future__ import annotations

import attrs

__all__ = ["FamilyPrincipal", "StaffPrincipal"]


@attrs.frozen
class FamilyPrincipal:
    """A family member; ``session_version`` lets front ends end other sessions
    (``accounts.session_valid``). ``needs_consent``: the collection notice changed
    since the member accepted it; until ``accounts.accept_consent`` only the profile
    and the personal-data rights are open (others refuse ``consent_required``)."""

    account_id: str
    session_version: int = 1
    needs_consent: bool = False
    origin: str = ""
    """Where the request came from, as the front end tells it (an address, a
    terminal name); recorded with every audit event of the call."""


@attrs.frozen
class StaffPrincipal:
    """A staff member. Roles and scope are re-read from storage on every call.

    ``totp_enrollment_required``: TOTP is required (``Settings.require_staff_totp``)
    but this member has not enrolled; such a principal may only call
    ``staff.enroll_totp`` / ``staff.confirm_totp`` (others refuse
    ``totp_enrollment_required``) and must log in again afterwards.
    ``session_version`` lets front ends end other sessions after a password reset
    or a cleared authenticator (``staff.session_valid``)."""

    staff_id: str
    totp_enrollment_required: bool = False
    origin: str = ""
    """Where the request came from (see ``FamilyPrincipal.origin``)."""
    session_version: int = attrs.field(default=1, kw_only=True)
