"""Service applications and the grants they lead to: round trips, the pending
application and active grants of a family, the applicant list and review queue."""

from __future__ import annotations

import attrs

from contactbook.domain.application import ApplicationRejectionReason, ApplicationStatus
from contactbook.domain.relationship import Relationship, Service
from contactbook.ports.storage import Storage
from contactbook.testing.storage.builders import (
    ACCOUNT,
    APPLICATION,
    FACILITY,
    GRANT,
    INMATE,
    OTHER_ACCOUNT,
    OTHER_APPLICATION,
    OTHER_FACILITY,
    OTHER_GRANT,
    OTHER_INMATE,
    STAFF,
    at,
    make_application,
    make_grant,
    seed,
)
from contactbook.testing.storage.checks import (
    ASCENDING,
    DESCENDING,
    assert_every_field_set,
    ids,
    numbered,
    seven,
    submitted,
    walk,
)
from contactbook.testing.storage.fixtures import StorageFixtures
from contactbook.testing.storage.rules import (
    Kind,
    Rule,
    each_shared_rule,
    round_trip,
)

__all__ = ["ApplicationsContract"]


_APPLICATIONS_KIND = Kind(
    "applications",
    make=lambda: make_application("app-new", applicant_id=OTHER_ACCOUNT),
    same_key=lambda application: attrs.evolve(application, submitted_at=at(5)),
    changed=lambda application: application.approve(
        frozenset({Service.CONTACT_BOOK}), by=STAFF, at=at(1), version=application.version
    ),
)

_GRANTS_KIND = Kind(
    "grants",
    make=lambda: make_grant("grant-new", account_id=OTHER_ACCOUNT),
    same_key=lambda grant: attrs.evolve(grant, granted_at=at(5)),
    changed=lambda grant: grant.end("inmate_left", at(1)),
)


class ApplicationsContract(StorageFixtures):
    """The ``applications`` and ``grants`` repositories.

    Fixtures: ``world`` (seeded from your ``storage``).
    """

    # --- Round trips ------------------------------------------------------------------

    def test_application_round_trip(self, world: Storage) -> None:
        # Storage must not interpret states: every field is set at once here.
        full = make_application(
            "app-full",
            relationship=Relationship.RELATIVE,
            kinship_degree=3,
            status=ApplicationStatus.REJECTED,
            approved_services=frozenset({Service.CONTACT_BOOK, Service.ONSITE_VISIT}),
            reviewed_at=at(1),
            reviewer_id=STAFF,
            rejection_reason=ApplicationRejectionReason.OTHER,
            rejection_note="請補附三個月內之戶籍謄本。",
            version=2,
        )
        assert_every_field_set(full)
        assert_every_field_set(full.evidence[2])
        minimal = make_application("app-minimal", evidence=())
        round_trip(world, _APPLICATIONS_KIND, full, minimal)

    def test_grant_round_trip(self, world: Storage) -> None:
        full = make_grant("grant-full", ended_at=at(1), end_reason="inmate_left", version=3)
        assert_every_field_set(full)
        round_trip(world, _GRANTS_KIND, full, make_grant("grant-minimal"))

    # --- Unique rules and compare-and-set ---------------------------------------------

    @each_shared_rule(_APPLICATIONS_KIND, _GRANTS_KIND)
    def test_applications_shared_rules(self, world: Storage, rule: Rule, kind: Kind) -> None:
        rule(world, kind)

    # --- Lookups and lists ------------------------------------------------------------

    def test_pending_application_for_an_applicant_and_inmate(self, world: Storage) -> None:
        pending = make_application("app-pending", submitted_at=at(1))
        rejected = make_application(
            "app-rejected", status=ApplicationStatus.REJECTED, submitted_at=at(0)
        )
        seed(world, rejected, pending)
        with world.unit_of_work() as uow:
            assert uow.applications.pending_for(ACCOUNT, INMATE) == pending
            assert uow.applications.pending_for(ACCOUNT, OTHER_INMATE) is None
            assert uow.applications.pending_for(OTHER_ACCOUNT, OTHER_INMATE) is None

    def test_active_grants(self, world: Storage) -> None:
        ended = make_grant("grant-ended", ended_at=at(-1), end_reason="inmate_left")
        to_other_inmate = make_grant(
            "grant-3", inmate_id=OTHER_INMATE, facility_code=OTHER_FACILITY
        )
        seed(world, ended, to_other_inmate)
        with world.unit_of_work() as uow:
            assert uow.grants.active_for(ACCOUNT, INMATE) == make_grant(GRANT)
            assert uow.grants.active_for(OTHER_ACCOUNT, INMATE) is None
            assert set(ids(uow.grants.active_for_account(ACCOUNT))) == {GRANT, "grant-3"}
            assert set(ids(uow.grants.active_for_inmate(OTHER_INMATE))) == {
                OTHER_GRANT,
                "grant-3",
            }
            assert ids(uow.grants.active_for_inmate("inm-nobody")) == []

    def test_applications_by_applicant_newest_first(self, world: Storage) -> None:
        seed(
            world,
            *seven(lambda n, when: make_application(f"app-{n}", submitted_at=when)),
            make_application(
                "app-by-other",
                applicant_id=OTHER_ACCOUNT,
                inmate_id=OTHER_INMATE,
                facility_code=OTHER_FACILITY,
                submitted_at=at(1),
            ),
        )
        with world.unit_of_work() as uow:
            mine = walk(
                lambda after, limit: uow.applications.list_by_applicant(
                    ACCOUNT, after=after, limit=limit
                ),
                submitted,
                limit=4,
            )
        # APPLICATION (approved, submitted a month earlier) is ACCOUNT's too.
        assert ids(mine) == [*numbered("app", DESCENDING), APPLICATION]

    def test_application_queue_oldest_first_with_filters(self, world: Storage) -> None:
        seed(
            world,
            *seven(lambda n, when: make_application(f"app-{n}", submitted_at=when)),
            make_application(
                "app-elsewhere",
                applicant_id=OTHER_ACCOUNT,
                inmate_id=OTHER_INMATE,
                facility_code=OTHER_FACILITY,
                submitted_at=at(1),
            ),
        )
        with world.unit_of_work() as uow:
            pending_here = walk(
                lambda after, limit: uow.applications.queue(
                    facility_codes=frozenset({FACILITY}),
                    status=ApplicationStatus.PENDING,
                    after=after,
                    limit=limit,
                ),
                submitted,
            )
            everything = walk(
                lambda after, limit: uow.applications.queue(
                    facility_codes=None, status=None, after=after, limit=limit
                ),
                submitted,
            )
            approved = walk(
                lambda after, limit: uow.applications.queue(
                    facility_codes=None,
                    status=ApplicationStatus.APPROVED,
                    after=after,
                    limit=limit,
                ),
                submitted,
            )
        assert ids(pending_here) == numbered("app", ASCENDING)
        assert ids(everything) == [
            OTHER_APPLICATION,  # "app-lee" and "app-wang" were submitted at the same time
            APPLICATION,
            "app-1",
            "app-2",
            "app-elsewhere",
            *numbered("app", range(3, 8)),
        ]
        assert ids(approved) == [OTHER_APPLICATION, APPLICATION]
