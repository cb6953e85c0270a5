"""A use case that fails after adding its message leaves no message (memory and SQLite)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

import contactbook
import contactbook.usecases.accounts.registration
from contactbook.testing import FastPasswordHasher, MovableClock


class Boom(Exception):
    """Stands for anything failing after the message was added (a bug, a lost connection)."""


@pytest.fixture(params=["memory", "sqlite"])
def book(request: pytest.FixtureRequest, tmp_path: Path) -> contactbook.ContactBook:
    database = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'cb.db'}"
    return contactbook.open(
        database=database,
        files=str(tmp_path / "files"),
        mail="memory://",
        migrate=True,
        clock=MovableClock(datetime(2020, 10, 7, 3, tzinfo=UTC)),
        hasher=FastPasswordHasher(),
    )


def test_a_failure_after_the_message_was_added_sends_nothing(
    book: contactbook.ContactBook, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_record(*_: object, **__: object) -> None:
        raise Boom

    monkeypatch.setattr(contactbook.usecases.accounts.registration, "record", failing_record)
    with pytest.raises(Boom):
        book.accounts.register(
            contactbook.RegistrationForm(
                consent=True,
                name="王小明",
                birth_date=date(1985, 3, 14),
                national_id="A123456789",
                email="ty.wang@example.com",
                password="family-passphrase-2020",
            )
        )
    assert book.messages.dispatch().sent == 0
    assert book.mailer.outbox == []  # type: ignore[attr-defined]
    monkeypatch.undo()
    # Nothing was stored either: the same address registers as new and gets the usual mail.
    book.accounts.register(
        contactbook.RegistrationForm(
            consent=True,
            name="王小明",
            birth_date=date(1985, 3, 14),
            national_id="A123456789",
            email="ty.wang@example.com",
            password="family-passphrase-2020",
        )
    )
    book.messages.dispatch()
    assert [m.subject for m in book.mailer.outbox] == [  # type: ignore[attr-defined]
        "便民服務入口網 註冊通知 / Portal registration"
    ]
