"""Inmates (收容人), as the facility's roster describes them."""

from __future__ import annotations

from datetime import date, datetime

import attrs

from contactbook.domain.facility import Restriction
from contactbook.domain.identifiers import CallNumber
from contactbook.domain.versioning import next_version

__all__ = ["Inmate"]


@attrs.frozen
class Inmate:
    """An inmate of one facility; ``left_at`` is set when they leave it."""

    id: str
    facility_code: str
    call_number: CallNumber
    name: str
    gender: str = ""
    birth_date: date | None = None
    national_id: str | None = None
    education_grade: int | None = None
    admitted_on: date | None = None
    admitted_here_on: date | None = None
    custody_type: str = ""
    is_juvenile: bool = False
    has_minor_children: bool = False
    restrictions: frozenset[Restriction] = frozenset()
    left_at: datetime | None = None
    version: int = 1

    @property
    def is_current(self) -> bool:
        return self.left_at is None

    def left(self, at: datetime) -> Inmate:
        """Released or transferred: no longer current at its facility."""
        return next_version(self, left_at=at)

    def active_restrictions(self, excluded: frozenset[Restriction]) -> frozenset[Restriction]:
        """The restrictions that close the contact book under a facility's policy."""
        return self.restrictions & excluded
