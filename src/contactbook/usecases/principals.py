"""Who is acting. Front ends get these from ``authenticate`` or ``principal``."""

from __future__ import annotations

import attrs

__all__ = ["FamilyPrincipal", "StaffPrincipal"]


@attrs.frozen
class FamilyPrincipal:
    """A family member; ``session_version`` lets front ends end other sessions."""

    account_id: str
    session_version: int = 1


@attrs.frozen
class StaffPrincipal:
    """A staff member. Roles and scope are re-read from storage on every call."""

    staff_id: str
