"""Staff members: round trip, usernames unique without regard to case, the count
that tells a new installation, and the list sorted by code point."""

from __future__ import annotations

import attrs

from contactbook.domain.identifiers import EmailAddress
from contactbook.domain.staff import Role, TotpFactor
from contactbook.domain.versioning import next_version
from contactbook.ports.storage import Storage
from contactbook.testing.storage.builders import (
    AGENCY_STAFF,
    FACILITY,
    OTHER_FACILITY,
    STAFF,
    at,
    make_facility,
    make_staff,
    seed,
)
from contactbook.testing.storage.checks import assert_every_field_set
from contactbook.testing.storage.fixtures import StorageFixtures
from contactbook.testing.storage.rules import (
    Kind,
    Rule,
    assert_duplicate,
    each_shared_rule,
    round_trip,
)

__all__ = ["StaffContract"]


_STAFF_KIND = Kind(
    "staff",
    make=lambda: make_staff("staff-huang", name="黃建國"),
    same_key=lambda member: attrs.evolve(member, username="someone-else"),
    changed=lambda member: next_version(member, name="黃建華"),
)


class StaffContract(StorageFixtures):
    """The ``staff`` repository.

    Fixtures: ``storage``, ``world`` (seeded from it).
    """

    # --- Round trip, unique rules and compare-and-set ---------------------------------

    def test_staff_round_trip(self, world: Storage) -> None:
        full = make_staff(
            "staff-full",
            roles=frozenset(Role),
            active=False,
            failed_logins=3,
            locked_until=at(1),
            email=EmailAddress.parse("Mei.Chen@example.gov.tw"),
            totp=TotpFactor("JBSWY3DPEHPK3PXP" * 2, ("fake$hash-1", "fake$hash-2"), 53_000_000),
            totp_pending=TotpFactor("KRSXG5CTMVRXEZLU" * 2, ("fake$hash-3",), 1),
            reset_token_hash="d" * 64,
            reset_expires_at=at(2),
            session_version=3,
            version=4,
        )
        assert_every_field_set(full)
        agency = make_staff("staff-agency-2", facility_code=None)
        round_trip(world, _STAFF_KIND, full, agency)

    @each_shared_rule(_STAFF_KIND)
    def test_staff_shared_rules(self, world: Storage, rule: Rule, kind: Kind) -> None:
        rule(world, kind)

    def test_staff_are_unique_by_username_ignoring_case(self, world: Storage) -> None:
        twin = make_staff("staff-twin", username="CHEN")
        assert_duplicate(world, lambda uow: uow.staff.add(twin))
        with world.unit_of_work() as uow:
            assert uow.staff.get("staff-twin") is None

    # --- Lookups ----------------------------------------------------------------------

    def test_staff_by_username_ignores_case_and_count(self, world: Storage) -> None:
        with world.unit_of_work() as uow:
            assert uow.staff.by_username("Chen") == make_staff()
            assert uow.staff.by_username("nobody") is None
            assert uow.staff.count() == 2

    def test_staff_count_of_an_empty_storage_is_zero(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            assert uow.staff.count() == 0
            assert list(uow.staff.list()) == []

    def test_staff_list_by_username_all_or_of_one_facility(self, world: Storage) -> None:
        with world.unit_of_work() as uow:
            uow.staff.add(make_staff("staff-Bai", name="白雅婷"))
            uow.staff.add(make_staff("staff-other", facility_code=OTHER_FACILITY))
            uow.commit()
        with world.unit_of_work() as uow:
            every = [member.id for member in uow.staff.list()]
            ours = [member.id for member in uow.staff.list(FACILITY)]
            theirs = list(uow.staff.list(OTHER_FACILITY))
        # by username without regard to case: agency, Bai, chen, other
        assert every == [AGENCY_STAFF, "staff-Bai", STAFF, "staff-other"]
        assert ours == ["staff-Bai", STAFF]
        assert theirs == [make_staff("staff-other", facility_code=OTHER_FACILITY)]

    def test_staff_list_sorts_usernames_by_code_point(self, storage: Storage) -> None:
        """Not by a locale's collation (which would put ``li_hua`` first on some servers)."""
        seed(storage, make_facility())
        names = ["lia", "li_hua", "li.hua", "li-hua", "Li0"]
        with storage.unit_of_work() as uow:
            for name in names:
                uow.staff.add(make_staff(f"staff-{name}"))
            uow.commit()
        with storage.unit_of_work() as uow:
            listed = [member.username for member in uow.staff.list()]
        assert listed == ["li-hua", "li.hua", "Li0", "li_hua", "lia"]
