"""The outbox dispatcher against a real SMTP server that fails in the ways servers do.

Messages are made the way the portal makes them — family members register and
get a verification mail — and sent by ``book.messages.dispatch()`` through the
``SmtpMailer`` that ``contactbook.open(mail="smtp://…")`` wires. Counts are taken
at the server.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime

import pytest

import contactbook
from contactbook.adapters.mail.smtp import SmtpMailer
from contactbook.domain.message import MessageStatus
from contactbook.ports.delivery import Mailer, OutgoingMail
from contactbook.testing import FastPasswordHasher, MovableClock
from contactbook.usecases.messages import DispatchReport, MessageStatusEntry
from tests.integration.smtp_server import SmtpServer, free_port

START = datetime(2020, 10, 7, 3, 0, tzinfo=UTC)
STAFF_PASSWORD = "correct-horse-battery-staple"
FAMILY_PASSWORD = "a-long-family-passphrase"
_LETTER_A = (1, 0)  # the value of "A" (10) as two digits
_WEIGHTS = (1, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1)


def national_id(n: int) -> str:
    """A valid 身分證號 A1xxxxxxxC, different for each ``n``."""
    body = f"1{n:07d}"
    digits = [*_LETTER_A, *(int(c) for c in body)]
    total = sum(w * d for w, d in zip(_WEIGHTS, digits, strict=False))
    return f"A{body}{(10 - total % 10) % 10}"


def open_book(mail_url: str, clock: MovableClock) -> contactbook.ContactBook:
    """A book on in-memory storage that mails through SMTP, with an Agency admin."""
    book = contactbook.open(
        database="memory://",
        files="memory://",
        mail=mail_url,
        clock=clock,
        hasher=FastPasswordHasher(),
    )
    book.staff.bootstrap_admin("agency.admin", "矯正署管理者", STAFF_PASSWORD)
    return book


def register(book: contactbook.ContactBook, count: int) -> None:
    """``count`` families register; each registration queues one verification mail."""
    for n in range(count):
        book.accounts.register(
            contactbook.RegistrationForm(
                consent=True,
                name="王小明",
                birth_date=date(1985, 3, 14),
                national_id=national_id(n),
                email=f"family{n}@example.com",
                password=FAMILY_PASSWORD,
            )
        )


def statuses(book: contactbook.ContactBook) -> list[MessageStatusEntry]:
    """Delivery status of every message, as an Agency administrator sees it."""
    admin = book.staff.authenticate("agency.admin", STAFF_PASSWORD)
    return list(book.messages.for_staff(admin, limit=100).items)


def close_mailer(book: contactbook.ContactBook) -> None:
    mailer = book.mailer
    assert isinstance(mailer, SmtpMailer)
    mailer.close()


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(START)


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with SmtpServer.running() as running:
        yield running


@pytest.fixture
def book(server: SmtpServer, clock: MovableClock) -> Iterator[contactbook.ContactBook]:
    opened = open_book(server.url(), clock)
    yield opened
    close_mailer(opened)


def test_a_batch_goes_out_once_over_one_connection(
    book: contactbook.ContactBook, server: SmtpServer
) -> None:
    register(book, 5)
    assert book.messages.dispatch() == DispatchReport(sent=5, retrying=0, failed=0)
    assert book.messages.dispatch() == DispatchReport(sent=0, retrying=0, failed=0)
    assert len(server.received) == 5
    assert sorted(r.rcpt_tos[0] for r in server.received) == [
        f"family{n}@example.com" for n in range(5)
    ]
    assert server.connections == 1
    rows = statuses(book)
    assert {row.status for row in rows} == {MessageStatus.SENT}
    assert {f"<{row.id}@contactbook>" for row in rows} == set(server.message_ids())
    verification = server.received[0].message()
    assert "註冊" in str(verification["Subject"])
    body = verification.get_body(("plain",))
    assert body is not None
    assert "http://localhost:8000/" in body.get_content()


def test_server_down_leaves_messages_pending_until_it_is_back(clock: MovableClock) -> None:
    server = SmtpServer(free_port())  # built, not started: a closed port
    book = open_book(server.url(), clock)
    try:
        register(book, 3)
        # The first refused connection stops the batch: the others keep their attempts.
        assert book.messages.dispatch() == DispatchReport(sent=0, retrying=1, failed=0)
        rows = statuses(book)
        assert sorted((row.status, row.attempts) for row in rows) == [
            (MessageStatus.PENDING, 0),
            (MessageStatus.PENDING, 0),
            (MessageStatus.PENDING, 1),
        ]
        assert any("connect" in row.last_error for row in rows)

        server.start()
        assert book.messages.dispatch() == DispatchReport(sent=2, retrying=0, failed=0)
        clock.advance(minutes=1, seconds=1)
        assert book.messages.dispatch() == DispatchReport(sent=1, retrying=0, failed=0)
        clock.advance(hours=1)
        assert book.messages.dispatch() == DispatchReport(0, 0, 0)
        counts = Counter(server.message_ids())
        assert len(counts) == 3
        assert set(counts.values()) == {1}
        assert sorted((row.status, row.attempts) for row in statuses(book)) == [
            (MessageStatus.SENT, 1),
            (MessageStatus.SENT, 1),
            (MessageStatus.SENT, 2),
        ]
    finally:
        close_mailer(book)
        server.stop()


def test_451_then_250_is_one_delivery(
    book: contactbook.ContactBook, server: SmtpServer, clock: MovableClock
) -> None:
    register(book, 1)
    server.fail_next("451 4.3.0 Temporary local problem, try later")
    assert book.messages.dispatch() == DispatchReport(sent=0, retrying=1, failed=0)
    assert server.received == []
    [row] = statuses(book)
    assert (row.status, row.attempts) == (MessageStatus.PENDING, 1)
    assert "451" in row.last_error

    clock.advance(minutes=1, seconds=1)
    assert book.messages.dispatch() == DispatchReport(sent=1, retrying=0, failed=0)
    clock.advance(hours=1)
    assert book.messages.dispatch() == DispatchReport(0, 0, 0)
    assert server.message_ids() == [f"<{row.id}@contactbook>"]
    [row] = statuses(book)
    assert (row.status, row.attempts, row.last_error) == (MessageStatus.SENT, 2, "")


def test_550_fails_after_one_try_and_an_admin_can_retry(
    book: contactbook.ContactBook, server: SmtpServer, clock: MovableClock
) -> None:
    register(book, 1)
    server.fail_next("550 5.1.1 Recipient address rejected: user unknown")
    assert book.messages.dispatch() == DispatchReport(sent=0, retrying=0, failed=1)
    [row] = statuses(book)
    assert (row.status, row.attempts) == (MessageStatus.FAILED, 1)
    assert "550" in row.last_error and "user unknown" in row.last_error

    clock.advance(days=1)
    assert book.messages.dispatch() == DispatchReport(0, 0, 0), "a failed message stays failed"
    assert server.received == []

    admin = book.staff.authenticate("agency.admin", STAFF_PASSWORD)
    book.messages.retry(admin, row.id)
    assert book.messages.dispatch() == DispatchReport(sent=1, retrying=0, failed=0)
    assert server.message_ids() == [f"<{row.id}@contactbook>"]


def test_temporary_failures_end_in_failed_after_the_attempt_limit(
    book: contactbook.ContactBook, server: SmtpServer, clock: MovableClock
) -> None:
    register(book, 1)
    limit = book.context.settings.dispatch_max_attempts
    server.fail_next("451 4.3.0 still busy", times=limit)
    reports = []
    for _ in range(limit):
        reports.append(book.messages.dispatch())
        clock.advance(hours=1)
    assert reports[:-1] == [DispatchReport(0, 1, 0)] * (limit - 1)
    assert reports[-1] == DispatchReport(0, 0, 1)
    [row] = statuses(book)
    assert (row.status, row.attempts) == (MessageStatus.FAILED, limit)
    assert server.received == []


class CrashingMailer:
    """Delegates to a real mailer, then "kills the process" at the ``crash_at``-th send:
    after the server accepted it (before the dispatcher could record it) or before."""

    def __init__(
        self,
        inner: SmtpMailer,
        *,
        crash_at: int,
        after_send: bool,
        signal: type[BaseException],
    ) -> None:
        self.inner = inner
        self.crash_at = crash_at
        self.after_send = after_send
        self.signal = signal
        self.sends = 0

    def send(self, mail: OutgoingMail) -> None:
        self.sends += 1
        if self.sends == self.crash_at and not self.after_send:
            raise self.signal()
        self.inner.send(mail)
        if self.sends == self.crash_at:
            raise self.signal()


@pytest.mark.parametrize("signal", [KeyboardInterrupt, SystemExit])
@pytest.mark.parametrize(
    ("after_send", "expected_duplicates"),
    [(True, 1), (False, 0)],
    ids=["killed-after-the-server-accepted", "killed-before-sending"],
)
def test_dispatcher_killed_mid_batch_then_restarted(
    book: contactbook.ContactBook,
    server: SmtpServer,
    clock: MovableClock,
    signal: type[BaseException],
    after_send: bool,
    expected_duplicates: int,
) -> None:
    register(book, 5)
    crashing = CrashingMailer(
        SmtpMailer.from_url(server.url()), crash_at=2, after_send=after_send, signal=signal
    )
    mailer: Mailer = crashing
    doomed = contactbook.bootstrap(
        storage=book.storage,
        files=book.files,
        mailer=mailer,
        sms=book.sms,
        clock=clock,
        inspector=book.context.inspector,
        hasher=FastPasswordHasher(),
    )
    with pytest.raises(signal):
        doomed.messages.dispatch()
    crashing.inner.close()  # the killed process's connection goes with it
    assert len(server.received) == (2 if after_send else 1)

    # The restarted dispatcher (a new process: its own mailer, the same storage) sends
    # what the killed one gave back at once; the message in flight keeps its lease
    # until it runs out, so no two live dispatchers ever hold it.
    assert book.messages.dispatch() == DispatchReport(sent=3, retrying=0, failed=0)
    clock.advance(minutes=5, seconds=1)
    assert book.messages.dispatch() == DispatchReport(sent=1, retrying=0, failed=0)
    assert book.messages.dispatch() == DispatchReport(0, 0, 0)

    rows = statuses(book)
    assert {row.status for row in rows} == {MessageStatus.SENT}
    counts = Counter(server.message_ids())
    expected_ids = {f"<{row.id}@contactbook>" for row in rows}
    assert set(counts) == expected_ids, "every message delivered at least once"
    assert max(counts.values()) <= 2, "no message more than twice"
    duplicates = [message_id for message_id, n in counts.items() if n > 1]
    assert len(duplicates) == expected_duplicates, "only the message in flight is resent"
    assert len(server.received) == 5 + expected_duplicates
    for message_id in duplicates:  # recognisable: same Message-ID, same content
        copies = [r for r in server.received if r.message_id == message_id]
        assert len({(str(c.message()["Subject"]), c.rcpt_tos) for c in copies}) == 1
