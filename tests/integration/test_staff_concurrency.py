"""Two Agency admins removing each other at the same moment, with real threads on
PostgreSQL and MariaDB: one wins, and the Agency keeps an administrator."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

import contactbook
from contactbook.errors import Conflict
from contactbook.testing import FastPasswordHasher
from contactbook.usecases.staff import administration

PASSWORD = "staff-passphrase-2020!"
WAIT = 20.0


@pytest.fixture(params=["postgresql", "mariadb"])
def book(
    request: pytest.FixtureRequest, make_database_url: Callable[[str], str]
) -> Iterator[contactbook.ContactBook]:
    book = contactbook.open(
        database=make_database_url(request.param), migrate=True, hasher=FastPasswordHasher()
    )
    yield book
    book.close()


def _both_at_once(
    book: contactbook.ContactBook,
    monkeypatch: pytest.MonkeyPatch,
    calls: list[Callable[[], Any]],
) -> list[Any]:
    """Run ``calls`` on threads that each read their members, then meet, then write."""
    barrier = threading.Barrier(len(calls), timeout=WAIT)
    read = administration.managed

    def managed_then_wait(*args: Any, **kwargs: Any) -> Any:
        found = read(*args, **kwargs)
        barrier.wait()
        return found

    monkeypatch.setattr(administration, "managed", managed_then_wait)

    def run(call: Callable[[], Any]) -> Any:
        try:
            return call()
        except Conflict as conflict:
            return conflict

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def _agency_admins(book: contactbook.ContactBook, admin: contactbook.StaffPrincipal) -> list[str]:
    return [
        m.username
        for m in book.staff.members(admin)
        if m.facility_code is None and m.active and contactbook.Role.ADMIN in m.roles
    ]


@pytest.mark.parametrize("removal", ["deactivate", "set_roles"])
def test_two_agency_admins_removing_each_other_leave_one(
    book: contactbook.ContactBook, monkeypatch: pytest.MonkeyPatch, removal: str
) -> None:
    book.staff.bootstrap_admin("agency.first", "第一管理者", PASSWORD)
    first = book.staff.authenticate("agency.first", PASSWORD)
    second_id = book.staff.create(
        first, "agency.second", "第二管理者", PASSWORD, None, [contactbook.Role.ADMIN]
    ).id
    second = book.staff.authenticate("agency.second", PASSWORD)

    def remove(actor: contactbook.StaffPrincipal, target: str) -> Callable[[], Any]:
        if removal == "deactivate":
            return lambda: book.staff.deactivate(actor, target)
        return lambda: book.staff.set_roles(actor, target, [contactbook.Role.REVIEWER])

    results = _both_at_once(
        book, monkeypatch, [remove(first, second_id), remove(second, first.staff_id)]
    )

    conflicts = [r for r in results if isinstance(r, Conflict)]
    assert len(conflicts) == 1, results
    monkeypatch.undo()
    survivor = second if isinstance(results[0], Conflict) else first
    assert len(_agency_admins(book, survivor)) == 1
