"""The outbox dispatcher on the memory mailer: retries with backoff, then failure."""

from __future__ import annotations

from datetime import date

import pytest

import contactbook
import contactbook.domain.message
import contactbook.usecases.messages
from contactbook.ports.delivery import PermanentDeliveryFailure, TemporaryDeliveryFailure
from contactbook.testing import MovableClock, memory_book

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def book() -> contactbook.ContactBook:
    book = memory_book()
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
    return book


def _admin(book: contactbook.ContactBook) -> contactbook.StaffPrincipal:
    book.staff.bootstrap_admin("agency.admin", "矯正署管理者", PASSWORD)
    return book.staff.authenticate("agency.admin", PASSWORD)


def test_a_rolled_back_change_leaves_no_message(book: contactbook.ContactBook) -> None:
    with pytest.raises(contactbook.errors.ValidationError):
        book.accounts.register(
            contactbook.RegistrationForm(
                consent=True,
                name="李大華",
                birth_date=date(1980, 1, 1),
                national_id="A800000014",
                email="da.li@example.com",
                password="short",
            )
        )
    assert book.messages.dispatch().sent == 1  # only 王小明's verification mail


def test_temporary_failures_retry_with_backoff_then_send_once(
    book: contactbook.ContactBook,
) -> None:
    clock: MovableClock = book.context.clock  # type: ignore[assignment]
    book.mailer.fail_next(TemporaryDeliveryFailure("451 try later"), times=2)  # type: ignore[attr-defined]
    assert book.messages.dispatch() == contactbook.usecases.messages.DispatchReport(0, 1, 0)
    assert book.messages.dispatch().retrying == 0  # not due yet: backoff of one minute
    clock.advance(minutes=1)
    assert book.messages.dispatch().retrying == 1
    clock.advance(minutes=1)
    assert book.messages.dispatch().sent == 0  # second backoff is two minutes
    clock.advance(minutes=1)
    assert book.messages.dispatch().sent == 1
    assert len(book.mailer.outbox) == 1  # type: ignore[attr-defined]
    assert book.messages.dispatch().sent == 0


def test_permanent_failure_is_visible_to_staff_and_retryable_by_an_admin(
    book: contactbook.ContactBook,
) -> None:
    admin = _admin(book)
    book.mailer.fail_next(PermanentDeliveryFailure("550 no such user"))  # type: ignore[attr-defined]
    assert book.messages.dispatch().failed == 1
    [entry] = book.messages.for_staff(admin).items
    assert entry.status is contactbook.domain.message.MessageStatus.FAILED
    assert entry.destination == "ty*****"
    assert "550" in entry.last_error
    book.messages.retry(admin, entry.id)
    assert book.messages.dispatch().sent == 1


def test_attempts_are_bounded(book: contactbook.ContactBook) -> None:
    clock: MovableClock = book.context.clock  # type: ignore[assignment]
    book.mailer.fail_next(TemporaryDeliveryFailure("timeout"), times=10)  # type: ignore[attr-defined]
    outcomes = []
    for _ in range(6):
        outcomes.append(book.messages.dispatch())
        clock.advance(hours=1)
    assert sum(r.failed for r in outcomes) == 1
    assert sum(r.retrying for r in outcomes) == 4
    assert book.mailer.outbox == []  # type: ignore[attr-defined]


def test_a_message_changed_while_it_was_sent_keeps_its_new_state_and_the_batch_goes_on(
    book: contactbook.ContactBook,
) -> None:
    """An account closed within a confirmation's second fails its messages while one
    is on its way: that outcome cannot be written, and the rest are still sent."""
    import attrs

    for n, (name, national_id) in enumerate((("李大華", "A800000014"), ("陳美玲", "A234567893"))):
        book.accounts.register(
            contactbook.RegistrationForm(
                consent=True,
                name=name,
                birth_date=date(1980, 1, 1 + n),
                national_id=national_id,
                email=f"family{n}@example.com",
                password="family-passphrase-2020",
            )
        )
    storage = book.context.storage
    mailer = book.context.mailer
    send = mailer.send
    changed: list[str] = []

    def send_while_the_account_closes(mail: contactbook.ports.delivery.OutgoingMail) -> None:
        send(mail)
        if not changed:
            with storage.unit_of_work() as uow:
                message = uow.messages.get_many([mail.message_id])[mail.message_id]
                closed = attrs.evolve(
                    message,
                    status=contactbook.domain.message.MessageStatus.FAILED,
                    last_error="account_closed",
                    version=message.version + 1,
                )
                uow.messages.replace(message, closed)
                uow.commit()
            changed.append(mail.message_id)

    mailer.send = send_while_the_account_closes  # type: ignore[method-assign]
    report = book.messages.dispatch()
    assert report.sent == 2  # the other two, after the conflict
    with storage.unit_of_work() as uow:
        kept = uow.messages.get_many(changed)[changed[0]]
    assert kept.status is contactbook.domain.message.MessageStatus.FAILED
    assert kept.last_error == "account_closed"
