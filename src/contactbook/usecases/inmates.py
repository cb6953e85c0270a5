"""收容人: finding an inmate to apply for, and the facility's roster."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import attrs

from contactbook.domain.identifiers import CallNumber
from contactbook.domain.inmate import Inmate
from contactbook.domain.masking import mask_name
from contactbook.domain.staff import Role
from contactbook.domain.text import clean_line
from contactbook.domain.versioning import next_version
from contactbook.errors import ContactBookError, NotFound, PermissionDenied, ValidationError
from contactbook.ports.storage import UnitOfWork
from contactbook.usecases._support import access
from contactbook.usecases._support.context import Context, new_id
from contactbook.usecases._support.departures import inmate_left
from contactbook.usecases._support.recording import record
from contactbook.usecases._support.use_case import use_case
from contactbook.usecases.forms import RosterRow
from contactbook.usecases.principals import FamilyPrincipal, StaffPrincipal

INMATE_NAME_MAX_CHARS = 50

__all__ = ["InmateSummary", "Inmates", "RosterReport"]


@attrs.frozen
class InmateSummary:
    """申請對象：0609李○○ — never the full name."""

    inmate_id: str
    facility_code: str
    facility_name: str
    call_number: str
    masked_name: str

    @property
    def label(self) -> str:
        return f"{self.call_number}{self.masked_name}"


@attrs.frozen
class RosterReport:
    added: int
    updated: int
    left: int
    rejected: tuple[tuple[int, str], ...]
    """(line number, error code) of every row refused; line 1 is the first row."""


def find_current(uow: UnitOfWork, facility_code: str, call_number: str) -> Inmate:
    """The current inmate with this call number, else ``NotFound``."""
    try:
        number = CallNumber.parse(call_number)
    except ValidationError:
        raise NotFound("inmate_not_found") from None
    facility = uow.facilities.get(facility_code.strip())
    if facility is None:
        raise NotFound("inmate_not_found")
    inmate = uow.inmates.current_by_call_number(facility.code, number.value)
    if inmate is None:
        raise NotFound("inmate_not_found")
    return inmate


def _row(raw: RosterRow | Mapping[str, Any]) -> RosterRow:
    if isinstance(raw, RosterRow):
        return raw
    from contactbook.usecases._support.structuring import structure

    return structure(RosterRow, dict(raw))


class Inmates:
    group: ClassVar[str] = "inmates"

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    @use_case(acts_for="principal")
    def find(
        self, principal: FamilyPrincipal, facility_code: str, call_number: str
    ) -> InmateSummary:
        """服務項目申請 → 查詢: the masked inmate, so the family can confirm it."""
        with self._ctx.uow() as uow:
            access.active_family(uow, principal)
            inmate = find_current(uow, facility_code, call_number)
            facility = uow.facilities.get(inmate.facility_code)
        assert facility is not None
        return InmateSummary(
            inmate_id=inmate.id,
            facility_code=facility.code,
            facility_name=facility.name,
            call_number=inmate.call_number.value,
            masked_name=mask_name(inmate.name),
        )

    @use_case(acts_for="staff")
    def find_for_staff(
        self, staff: StaffPrincipal, facility_code: str, call_number: str
    ) -> InmateSummary:
        """A current inmate in the staff member's scope, e.g. to address a notice to one."""
        with self._ctx.uow() as uow:
            member = uow.staff.get(staff.staff_id) if isinstance(staff, StaffPrincipal) else None
            if member is None or not member.active or not member.roles:
                raise NotFound()
            if staff.totp_enrollment_required:
                raise PermissionDenied("totp_enrollment_required")
            access.require_scope(member, facility_code.strip())
            inmate = find_current(uow, facility_code, call_number)
            facility = uow.facilities.get(inmate.facility_code)
        assert facility is not None
        return InmateSummary(
            inmate_id=inmate.id,
            facility_code=facility.code,
            facility_name=facility.name,
            call_number=inmate.call_number.value,
            masked_name=mask_name(inmate.name),
        )

    @use_case(acts_for="staff")
    def import_roster(
        self,
        staff: StaffPrincipal,
        rows: Iterable[RosterRow | Mapping[str, Any]],
        *,
        facility_code: str | None = None,
    ) -> RosterReport:
        """Make the facility's current inmates exactly the rows given.

        Inmates missing from the roster have left: their grants end and their
        pending posts expire. Rows with errors are reported, not imported.
        """
        ctx = self._ctx
        now = ctx.now()
        with ctx.uow() as uow:
            admin = access.staff_with_role(uow, staff, Role.ADMIN)
            code = facility_code or admin.facility_code
            if code is None or uow.facilities.get(code) is None:
                raise NotFound("facility_not_found")
            access.require_scope(admin, code)
            facility = uow.facilities.get(code)
            assert facility is not None
            current = {
                inmate.call_number.value: inmate for inmate in uow.inmates.list_current(code)
            }
            seen: set[str] = set()
            rejected: list[tuple[int, str]] = []
            added = updated = 0
            for line, raw in enumerate(rows, start=1):
                try:
                    row = _row(raw)
                    number = CallNumber.parse(row.call_number)
                    if number.value in seen:
                        raise ValidationError("duplicate_call_number")
                    name = clean_line(row.name, field="name", max_chars=INMATE_NAME_MAX_CHARS)
                    gender = clean_line(row.gender, field="gender", max_chars=16, required=False)
                    custody = clean_line(
                        row.custody_type, field="custody_type", max_chars=64, required=False
                    )
                except ContactBookError as exc:
                    rejected.append((line, exc.code))
                    continue
                seen.add(number.value)
                fields: dict[str, Any] = {
                    "name": name,
                    "gender": gender,
                    "birth_date": row.birth_date,
                    "education_grade": row.education_grade,
                    "admitted_on": row.admitted_on,
                    "admitted_here_on": row.admitted_here_on,
                    "custody_type": custody,
                    "is_juvenile": row.is_juvenile or facility.is_juvenile,
                    "has_minor_children": row.has_minor_children,
                    "restrictions": frozenset(row.restrictions),
                }
                existing = current.get(number.value)
                if existing is None:
                    uow.inmates.add(
                        Inmate(id=new_id(), facility_code=code, call_number=number, **fields)
                    )
                    added += 1
                elif any(getattr(existing, k) != v for k, v in fields.items()):
                    uow.inmates.replace(existing, next_version(existing, **fields))
                    updated += 1
            departed = [inmate for number, inmate in current.items() if number not in seen]
            for inmate in departed:
                inmate_left(ctx, uow, inmate, now)
            report = RosterReport(added, updated, len(departed), tuple(rejected))
            record(
                ctx,
                uow,
                admin,
                "roster.import",
                "facility",
                code,
                details={
                    "added": str(added),
                    "updated": str(updated),
                    "left": str(len(departed)),
                    "rejected": str(len(rejected)),
                },
            )
            uow.commit()
        return report
