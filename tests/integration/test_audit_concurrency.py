"""Unrelated use cases that run at the same time on PostgreSQL and MariaDB all succeed.

Every audited use case appends to the one hash chain: it reads the newest event
and writes the next ``seq``. Two units of work that both read the same newest
event would then race for one ``seq`` and one of them would fail with
``Conflict("duplicate")``, although they touch unrelated objects. The SQL
storage locks the head of the chain when the newest event is read, so the
writers queue instead: every call succeeds and the chain has no gaps.

The first test runs through the public API, with several books (each its own
engine and connection pool) on one database, as several processes would be; it
also runs on SQLite, where ``BEGIN IMMEDIATE`` makes writers queue. The others
look at the storage underneath: the waiting itself, and the head row that the
migration starts at the newest event already stored.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import inspect, select

import contactbook
from contactbook import ContactBook
from contactbook.adapters.files.fsspec import FsspecFileStore
from contactbook.adapters.mail.memory import MemoryMailer
from contactbook.adapters.sms.memory import MemorySmsGateway
from contactbook.adapters.storage.sqlalchemy import SqlAlchemyStorage, schema, tables
from contactbook.adapters.storage.sqlalchemy.converter import AUDIT
from contactbook.domain.audit import AuditEvent
from contactbook.errors import Conflict
from contactbook.testing.fakes import FakeFileInspector, FastPasswordHasher, MovableClock
from contactbook.testing.storage_contract import make_audit_event, seed
from contactbook.usecases.principals import StaffPrincipal

BOOKS = 3
"""Books open on the one database (each with its own engine)."""
THREADS = 8
"""Use cases started together in each round."""
ROUNDS = 4
WAIT = 30.0
"""Seconds a thread waits at the barrier before the test fails (never hangs)."""
PASSWORD = "correct horse battery staple"


def _book(url: str) -> ContactBook:
    return contactbook.bootstrap(
        storage=SqlAlchemyStorage.from_url(url),
        files=FsspecFileStore("memory://"),
        mailer=MemoryMailer(),
        sms=MemorySmsGateway(),
        clock=MovableClock(datetime(2025, 3, 4, 9, 0, tzinfo=UTC)),
        inspector=FakeFileInspector(),
        hasher=FastPasswordHasher(),
    )


@pytest.fixture(params=["sqlite", "postgresql", "mariadb"])
def books(
    request: pytest.FixtureRequest, make_database_url: Callable[[str], str]
) -> Iterator[list[ContactBook]]:
    """``BOOKS`` books on one new, migrated database of each backend."""
    url = make_database_url(request.param)
    SqlAlchemyStorage.from_url(url, migrate=True).close()
    opened = [_book(url) for _ in range(BOOKS)]
    yield opened
    for book in opened:
        book.close()


def _seqs(book: ContactBook, admin: StaffPrincipal) -> list[int]:
    """Every event's ``seq``, read page by page through ``book.audit.events``."""
    seqs: list[int] = []
    cursor: str | None = None
    while True:
        page = book.audit.events(admin, cursor=cursor, limit=50)
        seqs.extend(event.seq for event in page)
        if page.next_cursor is None:
            return sorted(seqs)
        cursor = page.next_cursor


def test_concurrent_audited_use_cases_queue_instead_of_failing(
    books: list[ContactBook],
) -> None:
    books[0].staff.bootstrap_admin("admin", "Agency Admin", PASSWORD)
    admin = books[1].staff.authenticate("admin", PASSWORD)
    before = books[0].audit.verify()
    assert before.ok

    def add_facility(round_: int, n: int, barrier: threading.Barrier) -> str | Conflict:
        book = books[n % BOOKS]
        code = f"F{round_}{n:02d}"
        barrier.wait()
        try:
            book.facilities.add(admin, code, f"Facility {code}")
        except Conflict as conflict:
            return conflict
        return code

    results: list[str | Conflict] = []
    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        for round_ in range(ROUNDS):
            barrier = threading.Barrier(THREADS, timeout=WAIT)
            results += pool.map(
                add_facility, [round_] * THREADS, range(THREADS), [barrier] * THREADS
            )

    conflicts = [result for result in results if isinstance(result, Conflict)]
    assert conflicts == [], f"{len(conflicts)} of {len(results)} use cases failed: {conflicts}"
    expected_events = before.checked + ROUNDS * THREADS

    verification = books[2].audit.verify()
    assert verification.ok, verification
    assert verification.checked == expected_events
    assert _seqs(books[0], admin) == list(range(1, expected_events + 1))
    assert {view.code for view in books[1].facilities.list()} >= {
        f"F{round_}{n:02d}" for round_ in range(ROUNDS) for n in range(THREADS)
    }


def _chain(length: int) -> list[AuditEvent]:
    """``length`` events linked as ``record`` links them."""
    events: list[AuditEvent] = []
    for seq in range(1, length + 1):
        changes = {"prev_hash": events[-1].hash} if events else {}
        events.append(make_audit_event(seq, **changes))
    return events


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_a_writer_waits_in_last_until_the_one_before_commits(
    backend: str, make_database_url: Callable[[str], str]
) -> None:
    """The second writer's ``last()`` returns only once the first has committed,
    and then gives the first one's event (not the one it would have seen before)."""
    first_event, second_event = _chain(2)
    storage = SqlAlchemyStorage.from_url(make_database_url(backend), migrate=True)
    try:
        seed(storage, first_event)
        seen: list[AuditEvent | None] = []

        def second_writer() -> None:
            with storage.unit_of_work() as uow:
                seen.append(uow.audit.last())

        with storage.unit_of_work() as first:
            assert first.audit.last() == first_event
            first.audit.append(second_event)
            waiting = threading.Thread(target=second_writer)
            waiting.start()
            waiting.join(1.0)
            assert waiting.is_alive(), "last() did not wait for the writer holding the head"
            first.commit()
        waiting.join(WAIT)
        assert not waiting.is_alive()
        assert seen == [second_event]
    finally:
        storage.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mariadb"])
def test_the_head_starts_at_the_newest_stored_event(
    backend: str, make_database_url: Callable[[str], str]
) -> None:
    """Upgrading a database with events (at revision 0001) points the head at the
    newest of them; downgrading drops only the head."""
    events = _chain(3)
    storage = SqlAlchemyStorage(make_database_url(backend))
    try:
        storage.migrate("0001")
        with storage.engine.begin() as connection:
            rows = [AUDIT.to_row(event) for event in events]
            for row in rows:
                del row["key_id"]  # added by 0006
            connection.execute(tables.audit.insert(), rows)
        storage.migrate()

        head = select(tables.audit_head.c.id, tables.audit_head.c.seq, tables.audit_head.c.hash)
        with storage.engine.connect() as connection:
            assert connection.execute(head).all() == [(1, 3, events[2].hash)]
        with storage.unit_of_work() as uow:
            assert uow.audit.last() == events[2]

        with storage.engine.begin() as connection:
            schema.downgrade(connection, "0001")
        assert "audit_head" not in inspect(storage.engine).get_table_names()
        with storage.engine.connect() as connection:
            assert connection.execute(select(tables.audit.c.seq)).scalars().all() == [1, 2, 3]
    finally:
        storage.close()


def test_an_empty_trail_has_a_head_at_zero(make_database_url: Callable[[str], str]) -> None:
    storage = SqlAlchemyStorage.from_url(make_database_url("sqlite"), migrate=True)
    try:
        with storage.engine.connect() as connection:
            rows = connection.execute(select(tables.audit_head)).all()
        assert [tuple(row) for row in rows] == [(1, 0, "0" * 64)]
        with storage.unit_of_work() as uow:
            assert uow.audit.last() is None
    finally:
        storage.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql", "mariadb"])
def test_a_missing_head_row_is_put_back_at_the_newest_event(
    backend: str, make_database_url: Callable[[str], str]
) -> None:
    """Emptying ``audit_head`` (as tests do between cases) loses nothing."""
    events = _chain(3)
    storage = SqlAlchemyStorage.from_url(make_database_url(backend), migrate=True)
    try:
        seed(storage, *events[:2])
        with storage.engine.begin() as connection:
            connection.execute(tables.audit_head.delete())
        with storage.unit_of_work() as uow:
            assert uow.audit.last() == events[1]
            uow.audit.append(events[2])
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.audit.last() == events[2]
    finally:
        storage.close()
