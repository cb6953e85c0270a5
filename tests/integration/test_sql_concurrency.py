"""Races on PostgreSQL and MariaDB with real threads, each on its own connection.

Every thread reads first and waits at a barrier, so all of them decide on the same
state before any writes: the compare-and-set must then let exactly one win.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TypeVar

import attrs
import pytest

from contactbook.adapters.storage.sqlalchemy import SqlAlchemyStorage, metadata
from contactbook.adapters.storage.sqlalchemy.columns import MYSQL_DIALECTS
from contactbook.domain.application import ApplicationStatus, Grant, ServiceApplication
from contactbook.domain.facility import Facility
from contactbook.domain.message import Message, MessageStatus
from contactbook.domain.post import FamilyPost, PostRejectionReason, PostStatus
from contactbook.domain.relationship import Service
from contactbook.errors import Conflict
from contactbook.ports.storage import UnitOfWork
from contactbook.testing.storage_contract import (
    ACCOUNT,
    FACILITY,
    GRANT,
    INMATE,
    OTHER_FACILITY,
    STAFF,
    at,
    make_application,
    make_message,
    make_post,
    seed,
    seed_world,
)

S = TypeVar("S")
R = TypeVar("R")

WAIT = 20.0
"""Seconds a thread waits at a barrier before the test fails (never hangs)."""


@pytest.fixture(scope="module", params=["postgresql", "mariadb"])
def server_storage(
    request: pytest.FixtureRequest, make_database_url: Callable[[str], str]
) -> Iterator[SqlAlchemyStorage]:
    storage = SqlAlchemyStorage.from_url(make_database_url(request.param), migrate=True)
    yield storage
    storage.close()


@pytest.fixture
def world(server_storage: SqlAlchemyStorage) -> SqlAlchemyStorage:
    with server_storage.engine.begin() as connection:
        mysql = connection.dialect.name in MYSQL_DIALECTS
        if mysql:
            connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 0")
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())
        if mysql:
            connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 1")
    seed_world(server_storage)
    return server_storage


def race(
    storage: SqlAlchemyStorage,
    threads: int,
    read: Callable[[UnitOfWork, int], S],
    write: Callable[[UnitOfWork, int, S], R],
) -> list[R | Conflict]:
    """Run ``threads`` units of work at once: each reads, all meet, each writes and
    commits. Returns each thread's result, or the ``Conflict`` it raised."""
    barrier = threading.Barrier(threads, timeout=WAIT)

    def one(n: int) -> R | Conflict:
        with storage.unit_of_work() as uow:
            seen = read(uow, n)
            barrier.wait()
            try:
                result = write(uow, n, seen)
                uow.commit()
            except Conflict as conflict:
                return conflict
            return result

    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(one, range(threads)))


def _outcomes(results: Sequence[object]) -> list[str]:
    return sorted(
        f"conflict:{result.code}" if isinstance(result, Conflict) else "ok" for result in results
    )


def test_two_reviewers_deciding_one_post_end_with_one_decision(
    world: SqlAlchemyStorage,
) -> None:
    seed(world, make_post("post-race"))

    def read(uow: UnitOfWork, n: int) -> FamilyPost:
        post = uow.posts.get("post-race")
        assert post is not None
        return post

    def write(uow: UnitOfWork, n: int, post: FamilyPost) -> FamilyPost:
        if n == 0:
            decided = post.approve(by=STAFF, at=at(1), version=1)
        else:
            decided = post.reject(
                PostRejectionReason.INAPPROPRIATE, "", by=STAFF, at=at(1), version=1
            )
        uow.posts.replace(post, decided)
        return decided

    results = race(world, 2, read, write)
    assert _outcomes(results) == ["conflict:stale_version", "ok"]
    winner = next(result for result in results if not isinstance(result, Conflict))
    with world.unit_of_work() as uow:
        stored = uow.posts.get("post-race")
    assert stored == winner
    assert stored is not None and stored.version == 2
    assert stored.status in {PostStatus.APPROVED, PostStatus.REJECTED}


def test_two_reviewers_deciding_one_application_end_with_one_decision(
    world: SqlAlchemyStorage,
) -> None:
    seed(world, make_application("app-race", applicant_id=ACCOUNT))
    choices = (frozenset({Service.CONTACT_BOOK}), frozenset({Service.REMOTE_VISIT}))

    def read(uow: UnitOfWork, n: int) -> ServiceApplication:
        application = uow.applications.get("app-race")
        assert application is not None
        return application

    def write(uow: UnitOfWork, n: int, application: ServiceApplication) -> ServiceApplication:
        decided = application.approve(choices[n], by=STAFF, at=at(1), version=1)
        uow.applications.replace(application, decided)
        return decided

    results = race(world, 2, read, write)
    assert _outcomes(results) == ["conflict:stale_version", "ok"]
    winner = next(result for result in results if not isinstance(result, Conflict))
    with world.unit_of_work() as uow:
        stored = uow.applications.get("app-race")
    assert stored == winner
    assert stored is not None and stored.status is ApplicationStatus.APPROVED


def test_racing_publishers_post_once_in_a_period(world: SqlAlchemyStorage) -> None:
    """The frequency rule: all see no counting post, all try to post; bumping the
    grant's version lets only one through."""

    def read(uow: UnitOfWork, n: int) -> Grant:
        assert uow.posts.latest_counting(ACCOUNT, INMATE) is None
        grant = uow.grants.get(GRANT)
        assert grant is not None
        return grant

    def write(uow: UnitOfWork, n: int, grant: Grant) -> FamilyPost:
        uow.grants.replace(grant, grant.touched())
        post = make_post(f"post-racer-{n}", submitted_at=at(n / 10))
        uow.posts.add(post)
        return post

    results = race(world, 3, read, write)
    assert _outcomes(results) == ["conflict:stale_version", "conflict:stale_version", "ok"]
    with world.unit_of_work() as uow:
        posted = uow.posts.list_by_author(ACCOUNT, status=None, after=None, limit=10)
    assert len(posted) == 1


def test_a_deadlock_ends_as_one_conflict(world: SqlAlchemyStorage) -> None:
    """Two units of work each change one facility, then the other's: the database
    breaks the deadlock by giving up one of them, which the adapter reports as a
    ``Conflict`` (another writer won) rather than a driver error."""
    codes = (FACILITY, OTHER_FACILITY)

    def read(uow: UnitOfWork, n: int) -> list[Facility]:
        mine = uow.facilities.get(codes[n])
        theirs = uow.facilities.get(codes[1 - n])
        assert mine is not None and theirs is not None
        uow.facilities.replace(mine, attrs.evolve(mine, version=mine.version + 1))
        return [mine, theirs]

    def write(uow: UnitOfWork, n: int, seen: list[Facility]) -> str:
        theirs = seen[1]
        uow.facilities.replace(theirs, attrs.evolve(theirs, version=theirs.version + 1))
        return codes[n]

    results = race(world, 2, read, write)
    assert _outcomes(results) == ["conflict:stale_version", "ok"]
    with world.unit_of_work() as uow:
        versions = {code: uow.facilities.get(code) for code in codes}
    assert all(facility is not None and facility.version == 2 for facility in versions.values())


def test_two_dispatchers_never_claim_the_same_message(world: SqlAlchemyStorage) -> None:
    now = at(0)
    seed(
        world,
        *(make_message(f"msg-{n:02d}", created_at=now - timedelta(minutes=n)) for n in range(20)),
    )

    def claim(uow: UnitOfWork, n: int) -> list[Message]:
        return list(uow.messages.claim_due(now, limit=8))

    def send(uow: UnitOfWork, n: int, claimed: list[Message]) -> list[str]:
        for message in claimed:
            uow.messages.replace(message, message.sent(now))
        return [message.id for message in claimed]

    first, second = race(world, 2, claim, send)
    assert isinstance(first, list) and isinstance(second, list)
    assert len(first) == 8 and len(second) == 8
    assert set(first).isdisjoint(second)
    with world.unit_of_work() as uow:
        left = uow.messages.claim_due(now, limit=50)
        sent = uow.messages.log_for(ACCOUNT, after=None, limit=50)
    assert {message.id for message in left} == {f"msg-{n:02d}" for n in range(20)} - set(
        first
    ) - set(second)
    assert len(sent) == 16
    assert all(message.status is MessageStatus.SENT and message.attempts == 1 for message in sent)


def test_a_claimed_message_is_skipped_not_waited_for(world: SqlAlchemyStorage) -> None:
    """While one dispatcher holds its claim, another gets the rest at once."""
    seed(world, *(make_message(f"msg-{n}", created_at=at(-n)) for n in range(3)))
    with world.unit_of_work() as holder:
        held = [message.id for message in holder.messages.claim_due(at(0), limit=2)]
        with world.unit_of_work() as other:
            rest = [message.id for message in other.messages.claim_due(at(0), limit=10)]
    assert held == ["msg-2", "msg-1"]  # oldest first
    assert rest == ["msg-0"]


def test_compare_and_set_holds_under_many_writers(world: SqlAlchemyStorage) -> None:
    """Eight threads bump one facility's version 5 times each, retrying on Conflict:
    no update is lost."""

    def bump(times: int) -> int:
        conflicts = 0
        done = 0
        while done < times:
            with world.unit_of_work() as uow:
                facility = uow.facilities.get(FACILITY)
                assert facility is not None
                try:
                    uow.facilities.replace(
                        facility, attrs.evolve(facility, version=facility.version + 1)
                    )
                    uow.commit()
                    done += 1
                except Conflict:
                    conflicts += 1
        return conflicts

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(bump, [5] * 8))
    with world.unit_of_work() as uow:
        facility = uow.facilities.get(FACILITY)
    assert facility is not None and facility.version == 1 + 8 * 5


def test_sqlite_writers_queue_instead_of_failing(make_database_url: Callable[[str], str]) -> None:
    """SQLite has one writer at a time: ``BEGIN IMMEDIATE`` makes the others wait for
    the lock (busy timeout) rather than fail with "database is locked" half-way, so
    read-modify-write from many threads neither conflicts nor loses an update."""
    from contactbook.testing.storage_contract import make_facility

    storage = SqlAlchemyStorage.from_url(make_database_url("sqlite"), migrate=True)
    seed(storage, make_facility())

    def bump(times: int) -> None:
        for _ in range(times):
            with storage.unit_of_work() as uow:
                facility = uow.facilities.get(FACILITY)
                assert facility is not None
                uow.facilities.replace(
                    facility, attrs.evolve(facility, version=facility.version + 1)
                )
                uow.commit()

    try:
        with ThreadPoolExecutor(max_workers=6) as pool:
            list(pool.map(bump, [10] * 6))
        with storage.unit_of_work() as uow:
            facility = uow.facilities.get(FACILITY)
        assert facility is not None and facility.version == 1 + 6 * 10
    finally:
        storage.close()
