"""Facilities and their inmates: round trips, call numbers unique among current
inmates of a facility, and the inmate lookups of reviewers and families."""

from __future__ import annotations

import attrs

from contactbook.domain.facility import AttachmentProfile, FacilityPolicy, Restriction
from contactbook.domain.files import InspectionContext
from contactbook.domain.identifiers import CallNumber
from contactbook.domain.inmate import Inmate
from contactbook.ports.storage import Storage
from contactbook.testing.storage.builders import (
    FACILITY,
    INMATE,
    OTHER_FACILITY,
    OTHER_INMATE,
    at,
    make_facility,
    make_inmate,
    seed,
)
from contactbook.testing.storage.checks import assert_every_field_set, ids
from contactbook.testing.storage.fixtures import StorageFixtures
from contactbook.testing.storage.rules import (
    Kind,
    Rule,
    assert_duplicate,
    each_shared_rule,
    round_trip,
)

__all__ = ["FacilitiesContract"]


_FACILITIES_KIND = Kind(
    "facilities",
    make=lambda: make_facility("F09", name="東區示範技能訓練所"),
    same_key=lambda facility: attrs.evolve(facility, name="另一個機關"),
    changed=lambda facility: attrs.evolve(
        facility, name="東區示範監獄", version=facility.version + 1
    ),
)

_INMATES_KIND = Kind(
    "inmates",
    make=lambda: make_inmate("inm-new", call_number=CallNumber.parse("1234")),
    same_key=lambda inmate: attrs.evolve(inmate, call_number=CallNumber.parse("5678")),
    changed=lambda inmate: attrs.evolve(
        inmate, restrictions=frozenset({Restriction.ISOLATION}), version=inmate.version + 1
    ),
)


class FacilitiesContract(StorageFixtures):
    """The ``facilities`` and ``inmates`` repositories.

    Fixtures: ``storage``, ``world`` (seeded from it).
    """

    # --- Round trips ------------------------------------------------------------------

    def test_facility_round_trip(self, storage: Storage) -> None:
        policy = FacilityPolicy(
            adult_post_interval_days=60,
            juvenile_post_interval_days=14,
            title_max_chars=40,
            body_max_chars=200,
            attachment_profile=AttachmentProfile(
                name="two_photos",
                max_files=2,
                max_total_bytes=10 * 1024 * 1024,
                context=InspectionContext.PHOTO,
            ),
            rejections_before_suspension=5,
            suspension_months=2,
            review_deadline_days=7,
            adult_requires_minor_children=False,
            juvenile_max_kinship_degree=4,
            excluded_restrictions=frozenset(
                {Restriction.COMMUNICATION_BAN, Restriction.MEDICAL_ISOLATION}
            ),
            watch_keywords=("越獄", "毒品", "ＡＢＣ"),
        )
        assert_every_field_set(policy)
        full = make_facility(
            "F07", name="示範少年輔育院", is_juvenile=True, policy=policy, version=3
        )
        assert_every_field_set(full)
        round_trip(storage, _FACILITIES_KIND, full, make_facility("F08"))

    def test_inmate_round_trip(self, world: Storage) -> None:
        full = make_inmate(
            "inm-full",
            call_number=CallNumber.parse("A0609"),
            national_id="F123456784",
            education_grade=9,
            is_juvenile=True,
            restrictions=frozenset({Restriction.DISCIPLINARY_PUNISHMENT, Restriction.ISOLATION}),
            left_at=at(-1),
            version=4,
        )
        assert_every_field_set(full)
        minimal = Inmate(
            id="inm-minimal",
            facility_code=FACILITY,
            call_number=CallNumber.parse("0001"),
            name="陳一",
        )
        round_trip(world, _INMATES_KIND, full, minimal)

    # --- Unique rules and compare-and-set ---------------------------------------------

    @each_shared_rule(_FACILITIES_KIND, _INMATES_KIND)
    def test_facilities_shared_rules(self, world: Storage, rule: Rule, kind: Kind) -> None:
        rule(world, kind)

    def test_call_numbers_are_unique_among_current_inmates_of_a_facility(
        self, world: Storage
    ) -> None:
        twin = make_inmate("inm-twin", name="另一人")  # FACILITY, 0609, current
        assert_duplicate(world, lambda uow: uow.inmates.add(twin))
        with world.unit_of_work() as uow:
            assert uow.inmates.get("inm-twin") is None

    def test_call_numbers_are_reused_after_people_leave_and_across_facilities(
        self, world: Storage
    ) -> None:
        departed = make_inmate("inm-departed", call_number=CallNumber.parse("0700"), left_at=at(-2))
        also_departed = attrs.evolve(departed, id="inm-departed-2", left_at=at(-1))
        newcomer = make_inmate("inm-newcomer", call_number=CallNumber.parse("0700"))
        elsewhere = make_inmate(
            "inm-elsewhere", facility_code=OTHER_FACILITY, call_number=CallNumber.parse("0700")
        )
        seed(world, departed, also_departed, newcomer, elsewhere)
        with world.unit_of_work() as uow:
            assert uow.inmates.get("inm-newcomer") == newcomer

    def test_replace_that_breaks_a_unique_rule_raises_duplicate(self, world: Storage) -> None:
        departed = make_inmate("inm-departed", left_at=at(-1))  # FACILITY, 0609, left
        seed(world, departed)
        readmitted = attrs.evolve(departed, left_at=None, version=departed.version + 1)
        assert_duplicate(world, lambda uow: uow.inmates.replace(departed, readmitted))
        with world.unit_of_work() as uow:
            assert uow.inmates.get("inm-departed") == departed

    # --- Lookups ----------------------------------------------------------------------

    def test_facilities_list_every_facility(self, world: Storage) -> None:
        with world.unit_of_work() as uow:
            listed = sorted(uow.facilities.list(), key=lambda facility: facility.code)
        assert listed == [make_facility(FACILITY), make_facility(OTHER_FACILITY)]

    def test_current_inmates_by_call_number_and_list(self, world: Storage) -> None:
        departed = make_inmate("inm-departed", call_number=CallNumber.parse("0700"), left_at=at(-1))
        current = make_inmate("inm-current", call_number=CallNumber.parse("0700"))
        seed(world, departed, current)
        with world.unit_of_work() as uow:
            assert uow.inmates.current_by_call_number(FACILITY, "0700") == current
            assert uow.inmates.current_by_call_number(OTHER_FACILITY, "0700") is None
            assert uow.inmates.current_by_call_number(OTHER_FACILITY, "0609") == make_inmate(
                OTHER_INMATE, facility_code=OTHER_FACILITY, name="李小龍"
            )
            assert uow.inmates.current_by_call_number(FACILITY, "9999") is None
            assert set(ids(uow.inmates.list_current(FACILITY))) == {INMATE, "inm-current"}
            assert ids(uow.inmates.list_current("F99")) == []

    def test_many_inmates_in_one_call(self, world: Storage) -> None:
        seed(world, make_inmate("inm-second", call_number=CallNumber.parse("0700")))
        with world.unit_of_work() as uow:
            found = uow.inmates.get_many([INMATE, "inm-second", "inm-missing", INMATE])
            assert set(found) == {INMATE, "inm-second"}
            assert found["inm-second"] == uow.inmates.get("inm-second")
            assert uow.inmates.get_many([]) == {}
