"""矯正機關 and their per-facility rules, changed only by administrators."""

from __future__ import annotations

from typing import ClassVar

import attrs

from contactbook.domain.facility import Facility, FacilityPolicy
from contactbook.domain.staff import Role
from contactbook.domain.text import clean_line
from contactbook.errors import Conflict, NotFound, PermissionDenied, ValidationError
from contactbook.usecases._support import access
from contactbook.usecases._support.context import Context
from contactbook.usecases._support.recording import record
from contactbook.usecases._support.use_case import use_case
from contactbook.usecases.principals import StaffPrincipal

FACILITY_CODE_MAX_CHARS = 32
FACILITY_NAME_MAX_CHARS = 100
KEYWORD_MAX_CHARS = 50

__all__ = ["Facilities", "FacilityView"]


@attrs.frozen
class FacilityView:
    code: str
    name: str
    is_juvenile: bool


def _check_policy(policy: FacilityPolicy) -> None:
    numbers = {
        "adult_post_interval_days": policy.adult_post_interval_days,
        "juvenile_post_interval_days": policy.juvenile_post_interval_days,
        "title_max_chars": policy.title_max_chars,
        "body_max_chars": policy.body_max_chars,
        "rejections_before_suspension": policy.rejections_before_suspension,
        "review_deadline_days": policy.review_deadline_days,
    }
    bad = {name: "must_be_positive" for name, value in numbers.items() if value < 1}
    profile = policy.attachment_profile
    if profile.max_files < 0 or profile.max_total_bytes < 0:
        bad["attachment_profile"] = "must_be_positive"
    if bad:
        raise ValidationError("invalid_policy", fields=bad)


class Facilities:
    group: ClassVar[str] = "facilities"

    def __init__(self, ctx: Context) -> None:
        self._ctx = ctx

    @use_case(acts_for="admin", target=("facility", "code"))
    def add(
        self,
        admin: StaffPrincipal,
        code: str,
        name: str,
        is_juvenile: bool = False,
        policy: FacilityPolicy | None = None,
    ) -> FacilityView:
        """A new facility; only Agency administrators add facilities."""
        ctx = self._ctx
        code = clean_line(code, field="code", max_chars=FACILITY_CODE_MAX_CHARS)
        name = clean_line(name, field="name", max_chars=FACILITY_NAME_MAX_CHARS)
        with ctx.uow() as uow:
            member = access.staff_with_role(uow, admin, Role.ADMIN)
            if not member.is_agency:
                raise PermissionDenied("agency_only")
            if uow.facilities.get(code) is not None:
                raise Conflict("duplicate")
            facility = Facility(
                code=code, name=name, is_juvenile=is_juvenile, policy=policy or FacilityPolicy()
            )
            uow.facilities.add(facility)
            record(ctx, uow, member, "facility.add", "facility", code)
            uow.commit()
        return FacilityView(code, name, is_juvenile)

    @use_case(acts_for="admin", target=("facility", "code"))
    def set_policy(
        self, admin: StaffPrincipal, code: str, policy: FacilityPolicy
    ) -> FacilityPolicy:
        """Change the facility's rules (frequency, limits, attachments, keywords …)."""
        ctx = self._ctx
        _check_policy(policy)
        with ctx.uow() as uow:
            member = access.staff_with_role(uow, admin, Role.ADMIN)
            facility = uow.facilities.get(code)
            if facility is None:
                raise NotFound("facility_not_found")
            access.require_scope(member, code)
            uow.facilities.replace(facility, facility.with_policy(policy))
            record(ctx, uow, member, "facility.set_policy", "facility", code)
            uow.commit()
        return policy

    @use_case(acts_for="admin", target=("facility", "code"))
    def set_watch_keywords(
        self, admin: StaffPrincipal, code: str, keywords: list[str]
    ) -> FacilityPolicy:
        """The keyword watch list: matching posts are flagged for reviewers, never rejected."""
        cleaned = tuple(
            dict.fromkeys(
                clean_line(k, field="keywords", max_chars=KEYWORD_MAX_CHARS)
                for k in keywords
                if k.strip()
            )
        )
        return self.set_policy(admin, code, attrs.evolve(self.policy(code), watch_keywords=cleaned))

    @use_case(target=("facility", "code"))
    def policy(self, code: str) -> FacilityPolicy:
        with self._ctx.uow() as uow:
            facility = uow.facilities.get(code)
        if facility is None:
            raise NotFound("facility_not_found")
        return facility.policy

    @use_case()
    def list(self) -> list[FacilityView]:
        """Every facility, for the 請選擇矯正機關 drop-down."""
        with self._ctx.uow() as uow:
            return [FacilityView(f.code, f.name, f.is_juvenile) for f in uow.facilities.list()]
