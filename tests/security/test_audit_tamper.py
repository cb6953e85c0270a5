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
from contactbook.usecases.settings import Settings

PASSWORD = "staff-passphrase-2020!"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, make_database_url: Callable[[str], str]) -> str:
    return make_database_url(str(request.param))


KEY_A = b"A" * 16 + b"deployment-key-one!!"
KEY_B = b"B" * 16 + b"deployment-key-two!!"


def open_book(url: str, settings: Settings | None = None) -> contactbook.ContactBook:
    return contactbook.open(
        database=url,
        files="memory://",
        mail="memory://",
        sms="memory://",
        clock=MovableClock(datetime(2020, 10, 7, 3, 0, tzinfo=UTC)),
        hasher=FastPasswordHasher(),
        migrate=True,
        settings=settings,
    )


@pytest.fixture(params=["unkeyed", "keyed"])
def keying(request: pytest.FixtureRequest) -> Settings:
    if request.param == "keyed":
        return Settings(audit_keys={"2026-12": KEY_A}, audit_key_id="2026-12")
    return Settings()


@pytest.fixture
def book(database_url: str, keying: Settings) -> Iterator[contactbook.ContactBook]:
    """A book with a few audited actions: 7 events, a failed login among them; its
    chain keyed or not (every tampering below is detected either way)."""
    book = open_book(database_url, keying)
    _seven_events(book)
    yield book
    book.close()


def _seven_events(book: contactbook.ContactBook) -> None:
    book.staff.bootstrap_admin("agency.admin", "矯正署管理者", PASSWORD)  # 1
    admin = book.staff.authenticate("agency.admin", PASSWORD)  # 2
    with pytest.raises(contactbook.errors.AuthenticationFailed):
        book.staff.authenticate("agency.admin", "a-wrong-passphrase!!")  # 3, failure
    book.facilities.add(admin, "KLP", "基隆監獄")  # 4
    book.facilities.add(admin, "TPD", "臺北看守所")  # 5
    with pytest.raises(contactbook.errors.NotFound):
        book.audit.events(None)  # type: ignore[arg-type]  # 6, authorization.denied
    book.facilities.add(admin, "TCD", "臺中看守所")  # 7


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
        key_id=values["key_id"],
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
        hash=chain_hash(forged, KEY_A if forged.key_id else None),
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


# -- a rewrite of the whole chain: what the key adds ----------------------------------


def rewrite_without(database_url: str, seq: int, key: bytes | None, key_id: str) -> None:
    """Delete event ``seq`` and re-seal every event after it — renumbered, relinked,
    with ``key`` (None: plain SHA-256) and ``key_id`` — and the head: what someone
    with write access to the database and knowledge of the algorithm can do."""
    engine = create_engine(database_url)
    try:
        with engine.begin() as connection:
            count = connection.execute(text("SELECT COUNT(*) FROM audit")).scalar_one()
            events = [stored(connection, n) for n in range(1, count + 1)]
            connection.execute(text("DELETE FROM audit WHERE seq = :seq"), {"seq": seq})
            previous = events[seq - 2].hash if seq > 1 else "0" * 64
            for event in events[seq:]:
                moved = attrs.evolve(event, seq=event.seq - 1, prev_hash=previous, key_id=key_id)
                moved = attrs.evolve(moved, hash=chain_hash(moved, key))
                connection.execute(
                    text(
                        "UPDATE audit SET seq = :seq, prev_hash = :prev, hash = :hash,"
                        " key_id = :key_id WHERE id = :id"
                    ),
                    {
                        "seq": moved.seq,
                        "prev": moved.prev_hash,
                        "hash": moved.hash,
                        "key_id": key_id,
                        "id": moved.id,
                    },
                )
                previous = moved.hash
            connection.execute(
                text("UPDATE audit_head SET seq = :seq, hash = :hash"),
                {"seq": count - 1, "hash": previous},
            )
    finally:
        engine.dispose()


def test_an_unkeyed_chain_cannot_tell_a_rewrite(database_url: str) -> None:
    """The limit the README states: without a key, a full rewrite verifies."""
    book = open_book(database_url)
    _seven_events(book)
    rewrite_without(database_url, 3, key=None, key_id="")
    result = book.audit.verify()
    assert result.ok and result.checked == 6 and not result.keyed
    book.close()


@pytest.mark.parametrize(
    ("key", "key_id", "problem"),
    [
        (None, "", "unkeyed"),  # re-sealed as plain SHA-256
        (None, "2026-12", "hash"),  # SHA-256 while naming the key
        (b"G" * 32, "2026-12", "hash"),  # a guessed key
        (b"G" * 32, "guessed", "unknown_key"),
    ],
)
def test_a_keyed_chain_detects_a_rewrite_without_the_key(
    database_url: str, key: bytes | None, key_id: str, problem: str
) -> None:
    book = open_book(database_url, Settings(audit_keys={"2026-12": KEY_A}, audit_key_id="2026-12"))
    _seven_events(book)
    assert book.audit.verify().ok
    rewrite_without(database_url, 3, key=key, key_id=key_id)
    result = book.audit.verify()
    assert not result.ok and result.keyed
    assert (result.first_broken_seq, result.problem) == (3, problem)
    book.close()


def test_with_the_key_a_rewrite_verifies_which_is_why_it_stays_out_of_the_database(
    database_url: str,
) -> None:
    book = open_book(database_url, Settings(audit_keys={"2026-12": KEY_A}, audit_key_id="2026-12"))
    _seven_events(book)
    rewrite_without(database_url, 3, key=KEY_A, key_id="2026-12")
    assert book.audit.verify().ok
    book.close()


def test_rotation_keeps_old_events_verifiable_while_the_old_key_is_kept(
    database_url: str,
) -> None:
    first = Settings(audit_keys={"2026-12": KEY_A}, audit_key_id="2026-12")
    book = open_book(database_url, first)
    _seven_events(book)
    book.close()
    rotated = Settings(audit_keys={"2026-12": KEY_A, "2027-06": KEY_B}, audit_key_id="2027-06")
    book = open_book(database_url, rotated)
    book.facilities.add(_admin(book), "PTD", "屏東看守所")
    result = book.audit.verify()
    assert result.ok and result.checked == 9  # the login and the facility: sealed with B
    book.close()
    dropped = Settings(audit_keys={"2027-06": KEY_B}, audit_key_id="2027-06")
    book = open_book(database_url, dropped)
    result = book.audit.verify()
    assert (result.ok, result.first_broken_seq, result.problem) == (False, 1, "unknown_key")
    book.close()


def test_keying_an_existing_unkeyed_trail_names_where_keying_began(database_url: str) -> None:
    book = open_book(database_url)
    _seven_events(book)
    book.close()
    keyed = {"audit_keys": {"2026-12": KEY_A}, "audit_key_id": "2026-12"}
    book = open_book(database_url, Settings(**keyed, audit_unkeyed_through=7))
    book.facilities.add(_admin(book), "PTD", "屏東看守所")
    assert book.audit.verify().ok
    book.close()
    book = open_book(database_url, Settings(**keyed))  # keying's start not declared
    result = book.audit.verify()
    assert (result.ok, result.first_broken_seq, result.problem) == (False, 1, "unkeyed")
    book.close()


def test_settings_refuse_a_short_or_missing_key() -> None:
    with pytest.raises(ValueError, match="shorter than 32 bytes"):
        Settings(audit_keys={"k": b"short"}, audit_key_id="k")
    with pytest.raises(ValueError, match="not in audit_keys"):
        Settings(audit_keys={"k": KEY_A}, audit_key_id="other")
    assert "deployment-key" not in repr(Settings(audit_keys={"k": KEY_A}, audit_key_id="k"))
