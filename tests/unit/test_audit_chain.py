"""The audit trail is hash-chained: editing or removing a past event is detected."""

from __future__ import annotations

import attrs
import pytest

import contactbook
from contactbook.errors import PermissionDenied
from contactbook.testing import memory_book

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def book() -> contactbook.ContactBook:
    book = memory_book()
    book.staff.bootstrap_admin("agency.admin", "矯正署管理者", PASSWORD)
    admin = book.staff.authenticate("agency.admin", PASSWORD)
    book.facilities.add(admin, "KLP", "基隆監獄")
    book.facilities.add(admin, "TPD", "臺北看守所")
    return book


def _events(book: contactbook.ContactBook) -> dict[str, object]:
    return book.storage._committed.audit  # type: ignore[attr-defined,no-any-return]


def test_an_untouched_chain_verifies(book: contactbook.ContactBook) -> None:
    result = book.audit.verify()
    assert result.ok
    assert result.checked == 4  # bootstrap, login, two facilities


def test_an_edited_event_breaks_the_chain_at_that_event(book: contactbook.ContactBook) -> None:
    events = _events(book)
    victim = next(e for e in events.values() if e.action == "facility.add")  # type: ignore[attr-defined]
    events[victim.id] = attrs.evolve(victim, target_id="forged-target")  # type: ignore[attr-defined]
    result = book.audit.verify()
    assert not result.ok
    assert result.first_broken_seq == victim.seq  # type: ignore[attr-defined]


def test_a_removed_event_breaks_the_chain(book: contactbook.ContactBook) -> None:
    events = _events(book)
    second = next(e for e in events.values() if e.seq == 2)  # type: ignore[attr-defined]
    del events[second.id]  # type: ignore[attr-defined]
    result = book.audit.verify()
    assert not result.ok
    assert result.first_broken_seq == 3


def test_logins_are_audited_with_their_outcome(book: contactbook.ContactBook) -> None:
    admin = book.staff.authenticate("agency.admin", PASSWORD)
    with pytest.raises(contactbook.errors.AuthenticationFailed):
        book.staff.authenticate("agency.admin", "wrong password here!!")
    logins = [e for e in book.audit.events(admin).items if e.action == "staff.login"]
    assert [e.outcome for e in logins][:2] == ["failure", "success"]


def test_facility_staff_cannot_read_the_trail(book: contactbook.ContactBook) -> None:
    admin = book.staff.authenticate("agency.admin", PASSWORD)
    book.staff.create(admin, "klp.admin", "林管理", PASSWORD, "KLP", [contactbook.Role.ADMIN])
    local = book.staff.authenticate("klp.admin", PASSWORD)
    with pytest.raises(PermissionDenied) as caught:
        book.audit.events(local)
    assert caught.value.code == "agency_only"
