"""A log must not be a second way into the account.

Verification and reset links carry a one-time token. The mail carries it; nothing
the library lets anyone read afterwards does: not the family's 簡訊電子郵件紀錄
(``messages.log_for``), not the personal-data export, not the stored row once the
message is sent. The log shows the message as the manual does, with the link
replaced by 「連結已隱藏」 (and "[link hidden]" in the English part).
"""

from __future__ import annotations

import io
import json
import re
import zipfile

import contactbook
from contactbook.domain.message import Message, MessageStatus
from tests.security.conftest import EMAIL, PASSWORD, STAFF_PASSWORD, BookFactory, mails_to, register

TOKEN_LINK = re.compile(r"token=[A-Za-z0-9_\-]+")


def _log_bodies(book: contactbook.ContactBook, principal: contactbook.FamilyPrincipal) -> list[str]:
    return [entry.body for entry in book.messages.log_for(principal, limit=100).items]


def _all_stored(book: contactbook.ContactBook) -> list[Message]:
    with book.storage.unit_of_work() as uow:
        account = uow.accounts.by_email(EMAIL)
        assert account is not None
        return list(uow.messages.list_by_account(account.id, after=None, limit=1000))


def test_the_log_shows_verification_and_reset_mails_with_the_link_hidden(
    book: contactbook.ContactBook,
) -> None:
    register(book)  # the verification mail is sent, its link used
    book.accounts.forgot_password(EMAIL)
    principal = book.accounts.authenticate(EMAIL, PASSWORD)
    live = mails_to(book, EMAIL)  # dispatches: the mails themselves carry the links
    assert sum(bool(TOKEN_LINK.search(mail.body)) for mail in live) == 2
    bodies = _log_bodies(book, principal)
    assert len(bodies) == 2
    for body in bodies:
        assert not TOKEN_LINK.search(body), body
        assert "「連結已隱藏」" in body and "[link hidden]" in body
    assert any("點此網址進行驗證 「連結已隱藏」" in body for body in bodies)


def test_the_stored_row_of_a_sent_message_holds_no_live_link(
    book: contactbook.ContactBook,
) -> None:
    register(book)
    book.accounts.forgot_password(EMAIL)
    mails_to(book, EMAIL)
    sent = _all_stored(book)
    assert [m.status for m in sent] == [MessageStatus.SENT] * 2
    for message in sent:
        assert not TOKEN_LINK.search(message.body), message.body
        assert message.log_body == ""


def test_the_personal_data_export_holds_no_live_link(book: contactbook.ContactBook) -> None:
    register(book)
    book.accounts.forgot_password(EMAIL)  # still pending when exported
    principal = book.accounts.authenticate(EMAIL, PASSWORD)
    download = book.accounts.export_my_data(principal)
    data = zipfile.ZipFile(io.BytesIO(download.stream.read())).read("data.json").decode()
    assert "token=" not in data
    messages = json.loads(data)["messages"]
    assert len(messages) == 2
    assert all("「連結已隱藏」" in m["body"] for m in messages)
    # ... and the reset mail, still pending then, kept its live body for the dispatcher
    pending = [m for m in _all_stored(book) if m.status is MessageStatus.PENDING]
    assert len(pending) == 1 and TOKEN_LINK.search(pending[0].body)
    assert not TOKEN_LINK.search(pending[0].readable_body)


def test_a_staff_reset_mail_keeps_no_live_link_once_sent(make_book: BookFactory) -> None:
    book = make_book()
    book.staff.bootstrap_admin("agency.admin", "矯正署管理者", STAFF_PASSWORD)
    admin = book.staff.authenticate("agency.admin", STAFF_PASSWORD)
    member = book.staff.create(
        admin,
        "mei.chen",
        "陳美玲",
        STAFF_PASSWORD,
        None,
        [contactbook.Role.REVIEWER],
        email="mei.chen@example.gov.tw",
    )
    book.staff.start_reset(admin, member.id)
    [mail] = mails_to(book, "mei.chen@example.gov.tw")
    assert TOKEN_LINK.search(mail.body)
    with book.storage.unit_of_work() as uow:
        [message] = [m for m in uow.messages.list_for_facility(None, after=None, limit=50)]
    assert not TOKEN_LINK.search(message.body + message.log_body)
    assert "「連結已隱藏」" in message.body
