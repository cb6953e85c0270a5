"""Tampering with the stored audit trail is detected by ``book.audit.verify()``.

The events are edited or deleted directly in the database, behind the library's
back, as someone with write access to it would: on SQLite always, on PostgreSQL
when ``CONTACTBOOK_TEST_POSTGRES_URL`` names a server (CI sets it; see
``tests/conftest.py``). Each case starts from a fresh database.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import attrs
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection

import contactbook
from contactbook.domain.audit import AuditEvent, chain_hash
from contactbook.testing import FastPasswordHasher, MovableClock

PASSWORD = "staff-passphrase-2020!"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, make_database_url: Callable[[str], str]) -> str:
    return make_database_url(str(request.param))


@pytest.fixture
def book(database_url: str) -> Iterator[contactbook.ContactBook]:
    """A book with a few audited actions: 7 events, a failed login among them."""
    book = contactbook.open(
        database=database_url,
        files="memory://",
        mail="memory://",
        sms="memory://",
        clock=MovableClock(datetime(2020, 10, 7, 3, 0, tzinfo=UTC)),
        hasher=FastPasswordHasher(),
        migrate=True,
    )
    book.staff.bootstrap_admin("agency.admin", "矯正署管理者", PASSWORD)  # 1
    admin = book.staff.authenticate("agency.admin", PASSWORD)  # 2
    with pytest.raises(contactbook.errors.AuthenticationFailed):
        book.staff.authenticate("agency.admin", "a-wrong-passphrase!!")  # 3, failure
    book.facilities.add(admin, "KLP", "基隆監獄")  # 4
    book.facilities.add(admin, "TPD", "臺北看守所")  # 5
    with pytest.raises(contactbook.errors.NotFound):
        book.audit.events(None)  # type: ignore[arg-type]  # 6, authorization.denied
    book.facilities.add(admin, "TCD", "臺中看守所")  # 7
    yield book
    book.close()


def tamper(url: str, statement: str, **parameters: object) -> int:
    """Run one statement straight on the database; the number of rows it touched."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            return connection.execute(text(statement), parameters).rowcount
    finally:
        engine.dispose()


def stored(connection: Connection, seq: int) -> AuditEvent:
    """An event as stored, read without the library."""
    row = connection.execute(text("SELECT * FROM audit WHERE seq = :seq"), {"seq": seq}).one()
    values = dict(row._mapping)
    at = values["at"]
    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    details = values["details"]
    if isinstance(details, str):
        details = json.loads(details)
    return AuditEvent(
        id=values["id"],
        seq=int(values["seq"]),
        at=at if at.tzinfo else at.replace(tzinfo=UTC),
        actor_kind=values["actor_kind"],
        actor_id=values["actor_id"],
        action=values["action"],
        target_kind=values["target_kind"],
        target_id=values["target_id"],
        outcome=values["outcome"],
        role=values["role"],
        facility_code=values["facility_code"],
        origin=values["origin"],
        details=tuple(tuple(pair) for pair in details),  # type: ignore[misc]
        prev_hash=values["prev_hash"],
        hash=values["hash"],
    )


def test_an_untouched_trail_verifies(book: contactbook.ContactBook) -> None:
    result = book.audit.verify()
    assert result.ok and result.checked == 7
    actions = [e.action for e in book.audit.events(_admin(book), limit=50).items]
    assert "authorization.denied" in actions and "staff.login" in actions


def _admin(book: contactbook.ContactBook) -> contactbook.StaffPrincipal:
    return book.staff.authenticate("agency.admin", PASSWORD)


@pytest.mark.parametrize(
    ("statement", "broken_at"),
    [
        pytest.param("UPDATE audit SET target_id = 'forged' WHERE seq = 4", 4, id="edit-target"),
        pytest.param("UPDATE audit SET outcome = 'success' WHERE seq = 3", 3, id="hide-failure"),
        pytest.param("UPDATE audit SET actor_id = NULL WHERE seq = 5", 5, id="edit-actor"),
        pytest.param("UPDATE audit SET origin = '198.51.100.7' WHERE seq = 2", 2, id="edit-origin"),
        pytest.param("UPDATE audit SET details = '[]' WHERE seq = 6", 6, id="edit-details"),
        pytest.param("DELETE FROM audit WHERE seq = 3", 4, id="delete-one"),
        pytest.param("DELETE FROM audit WHERE seq IN (5, 6)", 7, id="delete-two"),
        pytest.param("DELETE FROM audit WHERE seq = 1", 2, id="delete-first"),
        pytest.param("DELETE FROM audit WHERE seq = 7", 7, id="delete-newest"),
        pytest.param("DELETE FROM audit WHERE seq >= 6", 6, id="truncate-tail"),
    ],
)
def test_editing_or_deleting_a_stored_event_is_detected(
    book: contactbook.ContactBook, database_url: str, statement: str, broken_at: int
) -> None:
    assert book.audit.verify().ok
    assert tamper(database_url, statement) >= 1
    result = book.audit.verify()
    assert not result.ok
    assert result.first_broken_seq == broken_at  # the first event that no longer fits


def test_an_edit_with_its_own_hash_recomputed_breaks_the_next_link(
    book: contactbook.ContactBook, database_url: str
) -> None:
    """Someone who knows the algorithm re-seals the edited event: the next one's
    ``prev_hash`` no longer matches."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            forged = attrs.evolve(stored(connection, 3), outcome="success")
    finally:
        engine.dispose()
    tamper(
        database_url,
        "UPDATE audit SET outcome = 'success', hash = :hash WHERE seq = 3",
        hash=chain_hash(forged),
    )
    result = book.audit.verify()
    assert not result.ok
    assert result.first_broken_seq == 4


def test_new_events_after_a_detected_tampering_do_not_hide_it(
    book: contactbook.ContactBook, database_url: str
) -> None:
    tamper(database_url, "DELETE FROM audit WHERE seq = 2")
    book.facilities.add(_admin(book), "PTD", "屏東看守所")
    result = book.audit.verify()
    assert not result.ok
    assert result.first_broken_seq == 3  # the first event that no longer fits
