"""Fixtures of the security tests: books on the memory and SQLite wirings.

Everything goes through the public API (``contactbook.open`` / ``bootstrap``) with a
movable clock; helpers read links out of the mails the memory mailer sent.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

import contactbook
from contactbook.testing import FastPasswordHasher, MovableClock
from contactbook.usecases.accounts import RegistrationReceipt
from contactbook.usecases.settings import Settings

START = datetime(2020, 10, 7, 3, 0, tzinfo=UTC)
EMAIL = "ty.wang@example.com"
NATIONAL_ID = "A123456789"
PASSWORD = "family-passphrase-2020"
OTHER_EMAIL = "da.li@example.com"
OTHER_NATIONAL_ID = "A800000014"
STAFF_PASSWORD = "staff-passphrase-2020!"

BookFactory = Callable[..., contactbook.ContactBook]


def open_book(
    wiring: str, folder: Path, *, settings: Settings | None = None, **options: Any
) -> contactbook.ContactBook:
    """A book on ``wiring`` ("memory" or "sqlite") with a movable clock at START."""
    options.setdefault("hasher", FastPasswordHasher())
    options.setdefault("clock", MovableClock(START))
    if settings is not None:
        options["settings"] = settings
    if wiring == "sqlite":
        folder.mkdir(parents=True, exist_ok=True)
        return contactbook.open(
            database=f"sqlite:///{folder / 'contactbook.db'}",
            files=str(folder / "files"),
            mail="memory://",
            sms="memory://",
            migrate=True,
            **options,
        )
    return contactbook.open(
        database="memory://", files="memory://", mail="memory://", sms="memory://", **options
    )


@pytest.fixture(params=["memory", "sqlite"])
def wiring(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_book(wiring: str, tmp_path: Path) -> Iterator[BookFactory]:
    """``make_book(settings=..., hasher=...)``: a fresh book on this test's wiring."""
    books: list[contactbook.ContactBook] = []

    def make(**options: Any) -> contactbook.ContactBook:
        book = open_book(wiring, tmp_path / f"book{len(books)}", **options)
        books.append(book)
        return book

    yield make
    for book in books:
        book.close()


@pytest.fixture
def book(make_book: BookFactory) -> contactbook.ContactBook:
    return make_book()


def clock(book: contactbook.ContactBook) -> MovableClock:
    moving = book.context.clock
    assert isinstance(moving, MovableClock)
    return moving


def outbox(book: contactbook.ContactBook) -> list[Any]:
    book.messages.dispatch()
    return list(book.mailer.outbox)  # type: ignore[attr-defined]


def mails_to(book: contactbook.ContactBook, address: str) -> list[Any]:
    return [mail for mail in outbox(book) if mail.to == address]


def link_token(book: contactbook.ContactBook, address: str, path: str) -> str:
    """The token of the newest ``/path?token=`` link mailed to ``address``."""
    for mail in reversed(mails_to(book, address)):
        found = re.search(rf"/{path}\?token=([A-Za-z0-9_\-]+)", mail.body)
        if found:
            return found.group(1)
    raise AssertionError(f"no {path} link mailed to {address}")


def register(
    book: contactbook.ContactBook,
    email: str = EMAIL,
    national_id: str = NATIONAL_ID,
    *,
    password: str = PASSWORD,
    name: str = "王小明",
    verify: bool = True,
) -> RegistrationReceipt:
    receipt = book.accounts.register(
        contactbook.RegistrationForm(
            consent=True,
            name=name,
            birth_date=date(1985, 3, 14),
            national_id=national_id,
            email=email,
            password=password,
            mobile="0912345678",
        )
    )
    if verify:
        book.accounts.verify_email(link_token(book, email, "verify"))
    return receipt


def audit_events(book: contactbook.ContactBook, action: str | None = None) -> list[Any]:
    with book.storage.unit_of_work() as uow:
        events = list(uow.audit.in_order())
    return [e for e in events if action is None or e.action == action]
