"""Two dispatcher processes on one PostgreSQL or MariaDB database: no message twice.

Each dispatcher is a separate ContactBook (its own connections and mailer) on the
same database, run in real threads at the same time.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

import contactbook
from contactbook.adapters.files.fsspec import FsspecFileStore
from contactbook.adapters.mail.memory import MemoryMailer
from contactbook.adapters.sms.memory import MemorySmsGateway
from contactbook.adapters.storage.sqlalchemy import SqlAlchemyStorage
from contactbook.domain.message import MessageStatus
from contactbook.ports.delivery import OutgoingMail
from contactbook.testing import FakeFileInspector, FastPasswordHasher, MovableClock
from contactbook.testing.storage_contract import make_message, seed, seed_world

MESSAGES = 40


class SlowMailer(MemoryMailer):
    """A mailer that lets the other dispatcher run between sends."""

    def send(self, mail: OutgoingMail) -> None:
        super().send(mail)
        threading.Event().wait(0.002)


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_two_dispatchers_send_every_message_once(
    backend: str, make_database_url: Callable[[str], str]
) -> None:
    url = make_database_url(backend)
    storage = SqlAlchemyStorage.from_url(url, migrate=True)
    seed_world(storage)
    seed(storage, *[make_message(f"msg-{n:03d}") for n in range(MESSAGES)])
    clock = MovableClock(datetime(2024, 3, 5, tzinfo=UTC))
    gate = threading.Barrier(2, timeout=20)
    books = []
    for _ in range(2):
        books.append(
            contactbook.bootstrap(
                storage=SqlAlchemyStorage.from_url(url),
                files=FsspecFileStore("memory://"),
                mailer=SlowMailer(),
                sms=MemorySmsGateway(),
                clock=clock,
                inspector=FakeFileInspector(),
                hasher=FastPasswordHasher(),
            )
        )

    def run(book: contactbook.ContactBook) -> int:
        gate.wait()
        sent = 0
        while (report := book.messages.dispatch(limit=5)).sent:
            sent += report.sent
        return sent

    with ThreadPoolExecutor(max_workers=2) as pool:
        totals = list(pool.map(run, books))

    delivered = Counter(m.message_id for b in books for m in b.mailer.outbox)  # type: ignore[attr-defined]
    assert sum(totals) == MESSAGES
    assert len(delivered) == MESSAGES
    assert set(delivered.values()) == {1}, "a message was sent by both dispatchers"
    assert all(total > 0 for total in totals), "both dispatchers took part"
    with storage.unit_of_work() as uow:
        assert {uow.messages.get(f"msg-{n:03d}").status for n in range(MESSAGES)} == {  # type: ignore[union-attr]
            MessageStatus.SENT
        }
    for book in books:
        book.close()
    storage.close()
