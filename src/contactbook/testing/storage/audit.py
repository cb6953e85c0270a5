"""The audit trail: append-only events unique by ``seq``, its head and chain link,
and the search of the audit page. It needs no other repository."""

from __future__ import annotations

from datetime import datetime

import attrs

from contactbook.domain.audit import AuditEvent
from contactbook.ports.storage import Storage
from contactbook.testing.storage.builders import AGENCY_STAFF, STAFF, at, make_audit_event, seed
from contactbook.testing.storage.checks import (
    DESCENDING,
    assert_every_field_set,
    ids,
    numbered,
    seven,
    walk,
)
from contactbook.testing.storage.fixtures import StorageFixtures
from contactbook.testing.storage.rules import (
    Kind,
    Rule,
    assert_duplicate,
    each_shared_rule,
    round_trip,
)

__all__ = ["AuditContract"]


def _happened(event: AuditEvent) -> tuple[datetime, str]:
    return event.at, event.id


_AUDIT_KIND = Kind(
    "audit",
    make=lambda: make_audit_event(99),
    same_key=lambda event: attrs.evolve(event, seq=100),
    changed=None,
)


class AuditContract(StorageFixtures):
    """The ``audit`` repository.

    Fixtures: ``storage``.
    """

    # --- Round trip and unique rules --------------------------------------------------

    def test_audit_event_round_trip(self, storage: Storage) -> None:
        full = make_audit_event(
            1,
            outcome="failure",
            origin="203.0.113.7",
            details=(("fields", "mobile,name"), ("備註", "家屬自行更新 ✅")),
            prev_hash="f" * 64,
            key_id="2026-12",
        )
        assert_every_field_set(full)
        anonymous = make_audit_event(
            2, actor_kind="anonymous", actor_id=None, role="", target_id=None, facility_code=None
        )
        round_trip(storage, _AUDIT_KIND, full, anonymous)

    @each_shared_rule(_AUDIT_KIND)
    def test_audit_shared_rules(self, storage: Storage, rule: Rule, kind: Kind) -> None:
        rule(storage, kind)

    def test_audit_events_are_unique_by_seq(self, storage: Storage) -> None:
        seed(storage, make_audit_event(1))
        rival = make_audit_event(1, id="audit-rival", actor_id=AGENCY_STAFF)
        assert_duplicate(storage, lambda uow: uow.audit.append(rival))
        with storage.unit_of_work() as uow:
            assert list(uow.audit.in_order()) == [make_audit_event(1)]

    # --- The chain --------------------------------------------------------------------

    def test_audit_last_and_in_order_follow_seq(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            assert uow.audit.last() is None
            assert list(uow.audit.in_order()) == []
        # `at` runs backwards, so ordering by time instead of seq shows
        events = {seq: make_audit_event(seq, at=at(10 - seq)) for seq in (1, 2, 3)}
        seed(storage, events[2], events[3], events[1])
        with storage.unit_of_work() as uow:
            assert uow.audit.last() == events[3]
            assert list(uow.audit.in_order()) == [events[1], events[2], events[3]]

    def test_audit_last_link_is_the_newest_seq_and_hash(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            assert uow.audit.last_link() is None
        events = {seq: make_audit_event(seq, at=at(10 - seq)) for seq in (1, 2, 3)}
        seed(storage, events[2], events[3], events[1])
        with storage.unit_of_work() as uow:
            assert uow.audit.last_link() == (3, events[3].hash)
            following = make_audit_event(4, prev_hash=events[3].hash)
            uow.audit.append(following)
            assert uow.audit.last_link() == (4, following.hash)
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.audit.last() == following
            assert uow.audit.head() == (4, following.hash)

    def test_audit_head_names_the_newest_event(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            assert uow.audit.head() is None
        first = make_audit_event(1)
        second = make_audit_event(2, prev_hash=first.hash)
        seed(storage, first, second)
        with storage.unit_of_work() as uow:
            assert uow.audit.head() == (2, second.hash)

    # --- Search -----------------------------------------------------------------------

    def test_audit_search_newest_first_with_filters(self, storage: Storage) -> None:
        def event(n: int, when: datetime) -> AuditEvent:
            return make_audit_event(n, at=when)

        seed(
            storage,
            *seven(event),
            make_audit_event(8, id="audit-by-other", actor_id=AGENCY_STAFF, at=at(1)),
            make_audit_event(9, id="audit-on-other", target_id="post-2", at=at(1)),
        )
        with storage.unit_of_work() as uow:

            def search(
                actor_id: str | None,
                target_id: str | None,
                since: datetime | None = None,
                until: datetime | None = None,
            ) -> list[AuditEvent]:
                return walk(
                    lambda after, limit: uow.audit.search(
                        actor_id=actor_id,
                        target_id=target_id,
                        since=since,
                        until=until,
                        after=after,
                        limit=limit,
                    ),
                    _happened,
                )

            by_actor_on_target = search(STAFF, "post-1")
            by_other_actor = search(AGENCY_STAFF, None)
            on_other_target = search(None, "post-2")
            everything = search(None, None)
            window = search(STAFF, "post-1", since=at(0.5), until=at(2.5))
        assert ids(by_actor_on_target) == numbered("audit", DESCENDING)
        assert ids(by_other_actor) == ["audit-by-other"]
        assert ids(on_other_target) == ["audit-on-other"]
        assert ids(everything) == [
            *numbered("audit", range(7, 2, -1)),
            "audit-on-other",
            "audit-by-other",
            "audit-2",
            "audit-1",
        ]
        assert ids(window) == numbered("audit", range(5, 1, -1))

    def test_audit_search_by_action(self, storage: Storage) -> None:
        seed(
            storage,
            make_audit_event(1),
            make_audit_event(2, action="authorization.denied", outcome="failure"),
            make_audit_event(3, action="authorization.denied", outcome="failure"),
        )
        with storage.unit_of_work() as uow:
            denied = uow.audit.search(
                actor_id=None,
                target_id=None,
                since=None,
                until=None,
                after=None,
                limit=10,
                action="authorization.denied",
            )
            approvals = uow.audit.search(
                actor_id=STAFF,
                target_id=None,
                since=None,
                until=None,
                after=None,
                limit=10,
                action="post.approve",
            )
        assert ids(denied) == ["audit-3", "audit-2"]
        assert ids(approvals) == ["audit-1"]
