"""The outbox of e-mails and SMS: round trip, claiming due messages, leasing them
all or none, and the lists of the message log."""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs
import pytest

from contactbook.domain.message import Channel, Message, MessageCause, MessageStatus
from contactbook.errors import Conflict
from contactbook.ports.storage import Storage
from contactbook.testing.storage.builders import (
    ACCOUNT,
    FACILITY,
    OTHER_ACCOUNT,
    OTHER_FACILITY,
    at,
    make_message,
    seed,
)
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
    each_shared_rule,
    round_trip,
)

__all__ = ["MessagesContract"]


def _created(message: Message) -> tuple[datetime, str]:
    return message.created_at, message.id


def _sent(message: Message) -> tuple[datetime, str]:
    assert message.sent_at is not None
    return message.sent_at, message.id


_MESSAGES_KIND = Kind(
    "messages",
    make=lambda: make_message("msg-new"),
    same_key=lambda message: attrs.evolve(message, subject="另一封信"),
    changed=lambda message: message.sent(at(1)),
)


class MessagesContract(StorageFixtures):
    """The ``messages`` repository: claim, lease and lists.

    Fixtures: ``world`` (seeded from your ``storage``).
    """

    # --- Round trip, unique rules and compare-and-set ---------------------------------

    def test_message_round_trip(self, world: Storage) -> None:
        full = make_message(
            "msg-full",
            channel=Channel.SMS,
            destination="0912345678",
            status=MessageStatus.FAILED,
            attempts=5,
            next_attempt_at=at(1),
            sent_at=at(2),
            last_error="SMTP 451 4.7.1 暫時無法投遞",
            version=6,
            log_body="點此網址進行驗證 「連結已隱藏」",
        )
        assert_every_field_set(full)
        no_account = make_message(
            "msg-no-account",
            cause=MessageCause.REGISTRATION_ATTEMPT,
            account_id=None,
            facility_code=None,
        )
        round_trip(world, _MESSAGES_KIND, full, no_account)

    @each_shared_rule(_MESSAGES_KIND)
    def test_messages_shared_rules(self, world: Storage, rule: Rule, kind: Kind) -> None:
        rule(world, kind)

    # --- The outbox -------------------------------------------------------------------

    def test_claim_due_messages_oldest_first(self, world: Storage) -> None:
        now = at(0)
        seed(
            world,
            make_message("msg-new", created_at=at(-3)),
            make_message("msg-retry-now", created_at=at(-5), attempts=1, next_attempt_at=now),
            make_message("msg-retry-later", created_at=at(-6), attempts=1, next_attempt_at=at(1)),
            make_message("msg-newest", created_at=at(-1)),
            make_message("msg-sent", created_at=at(-9), status=MessageStatus.SENT, sent_at=at(-8)),
            make_message("msg-failed", created_at=at(-9), status=MessageStatus.FAILED, attempts=5),
        )
        with world.unit_of_work() as uow:
            due = uow.messages.claim_due(now, limit=10)
        with world.unit_of_work() as uow:
            first_two = uow.messages.claim_due(now, limit=2)
        assert ids(due) == ["msg-retry-now", "msg-new", "msg-newest"]
        assert ids(first_two) == ["msg-retry-now", "msg-new"]

    def test_lease_writes_every_claimed_message_at_once(self, world: Storage) -> None:
        now = at(0)
        seed(
            world,
            make_message("msg-a", created_at=at(-3)),
            make_message("msg-b", created_at=at(-2), attempts=1, next_attempt_at=at(-1)),
            make_message("msg-c", created_at=at(-1)),
        )
        until = now + timedelta(minutes=5)
        with world.unit_of_work() as uow:
            due = uow.messages.claim_due(now, limit=2)
            uow.messages.lease(due, until)
            uow.commit()
        with world.unit_of_work() as uow:
            stored = uow.messages.get_many(["msg-a", "msg-b", "msg-c", "msg-missing"])
            again = uow.messages.claim_due(now, limit=10)
        assert sorted(stored) == ["msg-a", "msg-b", "msg-c"]
        assert [stored[m.id] for m in due] == [m.leased(until) for m in due]
        assert stored["msg-c"].version == 1
        assert ids(again) == ["msg-c"]

    def test_lease_writes_nothing_when_one_message_changed(self, world: Storage) -> None:
        seed(world, make_message("msg-a", created_at=at(-2)), make_message("msg-b"))
        with world.unit_of_work() as uow:
            due = uow.messages.claim_due(at(0), limit=10)
        with world.unit_of_work() as uow:
            current = uow.messages.get("msg-b")
            assert current is not None
            uow.messages.replace(current, attrs.evolve(current, version=current.version + 1))
            uow.commit()
        with world.unit_of_work() as uow, pytest.raises(Conflict):
            uow.messages.lease(due, at(5))
        with world.unit_of_work() as uow:
            stored = uow.messages.get_many(["msg-a", "msg-b"])
        assert stored["msg-a"] == due[0]
        assert stored["msg-a"].next_attempt_at is None
        assert stored["msg-b"].version == 2

    # --- Lists ------------------------------------------------------------------------

    def test_message_log_of_an_account_lists_sent_ones_newest_first(self, world: Storage) -> None:
        def sent(n: int, when: datetime) -> Message:
            # created in the opposite order, so sorting by the wrong time shows
            return make_message(
                f"msg-{n}", created_at=at(-n), status=MessageStatus.SENT, sent_at=when, attempts=1
            )

        seed(
            world,
            *seven(sent),
            make_message("msg-pending"),
            # the status decides, not whether sent_at is set
            make_message("msg-failed", status=MessageStatus.FAILED, attempts=5, sent_at=at(2)),
            make_message(
                "msg-to-other",
                account_id=OTHER_ACCOUNT,
                status=MessageStatus.SENT,
                sent_at=at(1),
            ),
        )
        with world.unit_of_work() as uow:
            log = walk(
                lambda after, limit: uow.messages.log_for(ACCOUNT, after=after, limit=limit),
                _sent,
            )
        assert ids(log) == numbered("msg", DESCENDING)

    def test_messages_of_a_facility_newest_first(self, world: Storage) -> None:
        seed(
            world,
            *seven(lambda n, when: make_message(f"msg-{n}", created_at=when)),
            make_message("msg-elsewhere", facility_code=OTHER_FACILITY, created_at=at(1)),
            make_message("msg-no-facility", facility_code=None, account_id=None, created_at=at(1)),
        )
        with world.unit_of_work() as uow:
            here = walk(
                lambda after, limit: uow.messages.list_for_facility(
                    FACILITY, after=after, limit=limit
                ),
                _created,
            )
            everywhere = walk(
                lambda after, limit: uow.messages.list_for_facility(None, after=after, limit=limit),
                _created,
            )
        assert ids(here) == numbered("msg", DESCENDING)
        assert ids(everywhere) == [
            *numbered("msg", range(7, 2, -1)),
            "msg-no-facility",
            "msg-elsewhere",
            "msg-2",
            "msg-1",
        ]
