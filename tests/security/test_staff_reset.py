"""Admins start a staff password reset; only the staff member sets the password."""

from __future__ import annotations

import re

import attrs
import pytest

import contactbook
from contactbook.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidToken,
    NotFound,
    PermissionDenied,
    ValidationError,
)
from contactbook.usecases.staff import StaffResetTicket
from tests.security.conftest import STAFF_PASSWORD, BookFactory, audit_events, clock, mails_to

NEW_PASSWORD = "a-new-staff-passphrase"
MEI_EMAIL = "mei.chen@example.gov.tw"


def _setup(
    make_book: BookFactory,
) -> tuple[contactbook.ContactBook, contactbook.StaffPrincipal, str, str]:
    """A book with the Agency admin, facility A01, and two reviewers there (with and
    without an e-mail address). Returns the book, the admin and both members' ids."""
    book = make_book()
    book.staff.bootstrap_admin("agency.admin", "矯正署管理者", STAFF_PASSWORD)
    admin = book.staff.authenticate("agency.admin", STAFF_PASSWORD)
    book.facilities.add(admin, "A01", "法務部矯正署臺北監獄")
    book.facilities.add(admin, "B02", "法務部矯正署臺中監獄")
    role = [contactbook.Role.REVIEWER]
    mei = book.staff.create(
        admin, "mei.chen", "陳美玲", STAFF_PASSWORD, "A01", role, email=MEI_EMAIL
    )
    li = book.staff.create(admin, "li.hua", "李華", STAFF_PASSWORD, "A01", role)
    return book, admin, mei.id, li.id


def _link(book: contactbook.ContactBook) -> tuple[str, str]:
    body = mails_to(book, MEI_EMAIL)[-1].body
    found = re.search(r"/staff/reset-password\?staff=(\w+)&token=([A-Za-z0-9_\-]+)", body)
    assert found, body
    return found.group(1), found.group(2)


def test_a_member_with_an_email_gets_a_link(make_book: BookFactory) -> None:
    book, admin, mei, _ = _setup(make_book)
    ticket = book.staff.start_reset(admin, mei)
    assert ticket == StaffResetTicket(mailed_to="me*****", token=None)
    mail = mails_to(book, MEI_EMAIL)[-1]
    assert mail.subject.startswith("便民服務後臺管理系統 重設密碼")
    staff_id, token = _link(book)
    assert staff_id == mei
    book.staff.authenticate("mei.chen", STAFF_PASSWORD)  # still works until completed
    book.staff.complete_reset(staff_id, token, NEW_PASSWORD)
    with pytest.raises(AuthenticationFailed):
        book.staff.authenticate("mei.chen", STAFF_PASSWORD)
    book.staff.authenticate("mei.chen", NEW_PASSWORD)
    assert any("密碼已變更" in m.subject for m in mails_to(book, MEI_EMAIL))


def test_a_member_without_an_email_gets_a_token_out_of_band(make_book: BookFactory) -> None:
    book, admin, _, li = _setup(make_book)
    ticket = book.staff.start_reset(admin, li)
    assert ticket.mailed_to is None and ticket.token is not None
    assert len(ticket.token) * 6 >= 128
    base = book.context.settings.base_url.rstrip("/")  # the link the mail would carry
    assert ticket.link == f"{base}/staff/reset-password?staff={li}&token={ticket.token}"
    book.staff.complete_reset(li, ticket.token, NEW_PASSWORD)
    book.staff.authenticate("li.hua", NEW_PASSWORD)


def test_the_reset_token_works_once_and_expires(make_book: BookFactory) -> None:
    book, admin, _, li = _setup(make_book)
    token = book.staff.start_reset(admin, li).token
    assert token is not None
    book.staff.complete_reset(li, token, NEW_PASSWORD)
    with pytest.raises(InvalidToken):
        book.staff.complete_reset(li, token, "yet-another-passphrase")
    expiring = book.staff.start_reset(admin, li).token
    assert expiring is not None
    clock(book).advance(hours=1)
    with pytest.raises(InvalidToken):
        book.staff.complete_reset(li, expiring, "yet-another-passphrase")
    book.staff.authenticate("li.hua", NEW_PASSWORD)


def test_a_new_reset_replaces_the_previous_token(make_book: BookFactory) -> None:
    book, admin, _, li = _setup(make_book)
    first = book.staff.start_reset(admin, li).token
    second = book.staff.start_reset(admin, li).token
    assert first is not None and second is not None
    with pytest.raises(InvalidToken):
        book.staff.complete_reset(li, first, NEW_PASSWORD)
    book.staff.complete_reset(li, second, NEW_PASSWORD)


def test_tokens_are_bound_to_their_member(make_book: BookFactory) -> None:
    book, admin, mei, li = _setup(make_book)
    token = book.staff.start_reset(admin, li).token
    assert token is not None
    for staff_id, attempt in [
        (mei, token),
        ("no-such-member", token),
        ("", token),
        (li, token[:-1] + ("A" if token[-1] != "A" else "B")),
        (li, ""),
    ]:
        with pytest.raises(InvalidToken):
            book.staff.complete_reset(staff_id, attempt, NEW_PASSWORD)
    book.staff.complete_reset(li, token, NEW_PASSWORD)


def test_weak_new_passwords_are_refused_and_the_token_kept(make_book: BookFactory) -> None:
    book, admin, _, li = _setup(make_book)
    token = book.staff.start_reset(admin, li).token
    assert token is not None
    for password, code in [
        ("fourteen-chars", "password_too_short"),
        ("li.hua-is-my-name", "password_contains_context"),
        ("1q2w3e4r5t6y7u8i9o0p", "password_common"),
    ]:
        with pytest.raises(ValidationError) as caught:
            book.staff.complete_reset(li, token, password)
        assert caught.value.code == code
    book.staff.complete_reset(li, token, NEW_PASSWORD)


def test_only_admins_in_scope_may_start_a_reset(make_book: BookFactory) -> None:
    book, admin, mei, _ = _setup(make_book)
    reviewer = book.staff.authenticate("li.hua", STAFF_PASSWORD)
    with pytest.raises(PermissionDenied):
        book.staff.start_reset(reviewer, mei)
    book.staff.create(admin, "b02.admin", "王管理", STAFF_PASSWORD, "B02", [contactbook.Role.ADMIN])
    other_facility_admin = book.staff.authenticate("b02.admin", STAFF_PASSWORD)
    with pytest.raises(NotFound):
        book.staff.start_reset(other_facility_admin, mei)
    with pytest.raises(NotFound):
        book.staff.start_reset(admin, "no-such-member")
    assert mails_to(book, MEI_EMAIL) == []


def test_admins_never_set_or_see_the_password(make_book: BookFactory) -> None:
    book, admin, mei, _ = _setup(make_book)
    ticket = book.staff.start_reset(admin, mei)
    fields = {field.name for field in attrs.fields(StaffResetTicket)}
    assert fields == {"mailed_to", "token", "link"}
    assert ticket.token is None and ticket.link is None  # with an e-mail: no credential at all
    assert not any("password" in name for name in dir(book.staff) if "set" in name)


def test_resets_are_audited(make_book: BookFactory) -> None:
    book, admin, mei, li = _setup(make_book)
    book.staff.start_reset(admin, mei)
    token = book.staff.start_reset(admin, li).token
    assert token is not None
    with pytest.raises(InvalidToken):
        book.staff.complete_reset(li, "wrong", NEW_PASSWORD)
    book.staff.complete_reset(li, token, NEW_PASSWORD)
    started = audit_events(book, "staff.start_reset")
    assert [(e.target_id, dict(e.details)["delivery"]) for e in started] == [
        (mei, "mail"),
        (li, "out_of_band"),
    ]
    completed = audit_events(book, "staff.complete_reset")
    assert [(e.outcome, e.target_id) for e in completed] == [("failure", li), ("success", li)]
    assert all(token not in repr(e) for e in audit_events(book))


def test_bootstrap_only_while_no_staff_exists(make_book: BookFactory) -> None:
    book, *_ = _setup(make_book)
    with pytest.raises(Conflict) as caught:
        book.staff.bootstrap_admin("second.admin", "第二位", STAFF_PASSWORD)
    assert caught.value.code == "staff_exists"


def test_reset_ends_a_lock(make_book: BookFactory) -> None:
    book, admin, _, li = _setup(make_book)
    for _ in range(10):
        with pytest.raises(AuthenticationFailed):
            book.staff.authenticate("li.hua", "not-the-password-at-all")
    token = book.staff.start_reset(admin, li).token
    assert token is not None
    book.staff.complete_reset(li, token, NEW_PASSWORD)
    book.staff.authenticate("li.hua", NEW_PASSWORD)  # no longer locked


def test_an_admin_cannot_reset_its_own_password(make_book: BookFactory) -> None:
    """A session alone (a screen left unlocked) must not set a new password."""
    book, admin, _, li = _setup(make_book)
    with pytest.raises(PermissionDenied) as refused:
        book.staff.start_reset(admin, admin.staff_id)
    assert refused.value.code == "staff_own_account"
    book.staff.deactivate(admin, li)
    with pytest.raises(Conflict) as closed:
        book.staff.start_reset(admin, li)
    assert closed.value.code == "staff_inactive"
