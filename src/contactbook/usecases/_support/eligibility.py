"""Rule 1 (who may use the contact book) and rule 2 (the four exclusions)."""

from __future__ import annotations

from contactbook.domain.facility import FacilityPolicy
from contactbook.domain.inmate import Inmate
from contactbook.domain.relationship import Relationship
from contactbook.errors import NotEligible
from contactbook.usecases.labels import label

__all__ = ["require_eligible", "require_unrestricted"]


def require_eligible(
    policy: FacilityPolicy, inmate: Inmate, relationship: Relationship, kinship_degree: int | None
) -> None:
    """Adults with children under 18; juveniles with a spouse or kin within 3 degrees."""
    if inmate.is_juvenile:
        degree = relationship.kinship_degree(kinship_degree)
        if degree is None or degree > policy.juvenile_max_kinship_degree:
            raise NotEligible("kinship_too_distant", limit=policy.juvenile_max_kinship_degree)
    elif policy.adult_requires_minor_children and not inmate.has_minor_children:
        raise NotEligible("no_minor_children")


def require_unrestricted(policy: FacilityPolicy, inmate: Inmate) -> None:
    """Refuse while the inmate is under a ban, punishment or isolation, naming which."""
    active = inmate.active_restrictions(policy.excluded_restrictions)
    if active:
        names = "、".join(sorted(label(r) for r in active))
        raise NotEligible("inmate_restricted", restrictions=names)
