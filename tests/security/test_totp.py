"""Staff TOTP second factor (RFC 6238, pyotp) and single-use recovery codes."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pyotp
import pytest

import contactbook
from contactbook.adapters.security.totp import PyotpTotp
from contactbook.errors import (
    AuthenticationFailed,
    Conflict,
    PermissionDenied,
    ValidationError,
)
from contactbook.usecases.settings import Settings
from contactbook.usecases.staff import RECOVERY_CODES, TotpEnrollment
from tests.security.conftest import STAFF_PASSWORD, START, BookFactory, audit_events, clock

USERNAME = "mei.chen"


def _code(book: contactbook.ContactBook, secret: str, offset: int = 0) -> str:
    return pyotp.TOTP(secret).at(book.context.now(), counter_offset=offset)


def _wrong(book: contactbook.ContactBook, secret: str) -> str:
    """Six digits that are no code of the current window."""
    valid = {_code(book, secret, offset) for offset in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)


def _book_with_member(
    make_book: BookFactory, *, required: bool = False
) -> tuple[contactbook.ContactBook, contactbook.StaffPrincipal]:
    book = make_book(settings=Settings(require_staff_totp=required))
    book.staff.bootstrap_admin("agency.admin", "矯正署管理者", STAFF_PASSWORD)
    admin = book.staff.authenticate("agency.admin", STAFF_PASSWORD)
    if required:  # the admin enrolls first, as everyone must
        enrollment = book.staff.enroll_totp(admin)
        admin = book.staff.confirm_totp(admin, _code(book, enrollment.secret))
    book.staff.create(admin, USERNAME, "陳美玲", STAFF_PASSWORD, None, [contactbook.Role.REVIEWER])
    return book, admin


def _enrolled(
    make_book: BookFactory, *, required: bool = False
) -> tuple[contactbook.ContactBook, TotpEnrollment]:
    book, _ = _book_with_member(make_book, required=required)
    principal = book.staff.authenticate(USERNAME, STAFF_PASSWORD)
    enrollment = book.staff.enroll_totp(principal)
    book.staff.confirm_totp(principal, _code(book, enrollment.secret))
    clock(book).advance(seconds=60)  # the confirming step (and the one after) are past
    return book, enrollment


def _failures(book: contactbook.ContactBook) -> int:
    with book.storage.unit_of_work() as uow:
        member = uow.staff.by_username(USERNAME)
    assert member is not None
    return member.failed_logins


# -- the adapter ------------------------------------------------------------------------------


def test_adapter_secrets_are_160_bit_base32() -> None:
    totp = PyotpTotp()
    secrets = {totp.new_secret() for _ in range(50)}
    assert len(secrets) == 50
    assert all(len(s) == 32 and set(s) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for s in secrets)


def test_adapter_accepts_one_step_of_drift_and_says_which() -> None:
    totp = PyotpTotp()
    secret = totp.new_secret()
    step = pyotp.TOTP(secret).timecode(START)
    for offset in (-1, 0, 1):
        code = pyotp.TOTP(secret).at(START, counter_offset=offset)
        assert totp.matching_step(secret, code, START) == step + offset
    for offset in (-3, -2, 2, 3):
        code = pyotp.TOTP(secret).at(START, counter_offset=offset)
        if code not in {pyotp.TOTP(secret).at(START, counter_offset=o) for o in (-1, 0, 1)}:
            assert totp.matching_step(secret, code, START) is None
    for junk in ("", "12345", "1234567", "abcdef", "１２３４５６", "12 34 5"):
        assert totp.matching_step(secret, junk, START) is None


def test_adapter_uri_names_the_issuer_and_account() -> None:
    secret = "JBSWY3DPEHPK3PXP" * 2
    uri = PyotpTotp().provisioning_uri(secret, account_name="mei.chen", issuer="矯正署")
    assert uri.startswith("otpauth://totp/")
    assert f"secret={secret}" in uri and "mei.chen" in uri and "issuer=" in uri


# -- enrollment ---------------------------------------------------------------------------------


def test_enrollment_gives_a_secret_uri_and_ten_recovery_codes(make_book: BookFactory) -> None:
    book, _ = _book_with_member(make_book)
    principal = book.staff.authenticate(USERNAME, STAFF_PASSWORD)
    enrollment = book.staff.enroll_totp(principal)
    assert enrollment.provisioning_uri.startswith("otpauth://totp/contactbook:mei.chen?")
    assert f"secret={enrollment.secret}" in enrollment.provisioning_uri
    assert len(enrollment.recovery_codes) == RECOVERY_CODES == 10
    assert len(set(enrollment.recovery_codes)) == 10
    # Not in force before it is confirmed: the password alone still logs in.
    assert not book.staff.get(principal).totp_enrolled
    book.staff.authenticate(USERNAME, STAFF_PASSWORD)
    with pytest.raises(ValidationError) as caught:
        book.staff.confirm_totp(principal, _wrong(book, enrollment.secret))
    assert caught.value.code == "totp_invalid"
    book.staff.confirm_totp(principal, _code(book, enrollment.secret))
    assert book.staff.get(principal).totp_enrolled


def test_confirming_without_enrolling_is_a_conflict(make_book: BookFactory) -> None:
    book, _ = _book_with_member(make_book)
    principal = book.staff.authenticate(USERNAME, STAFF_PASSWORD)
    with pytest.raises(Conflict) as caught:
        book.staff.confirm_totp(principal, "123456")
    assert caught.value.code == "totp_not_enrolling"


def test_secrets_and_recovery_codes_are_not_stored_in_the_clear(make_book: BookFactory) -> None:
    book, enrollment = _enrolled(make_book)
    with book.storage.unit_of_work() as uow:
        member = uow.staff.by_username(USERNAME)
    assert member is not None and member.totp is not None
    assert len(member.totp.recovery_code_hashes) == 10
    stored = repr(member)
    for code in enrollment.recovery_codes:
        assert code not in stored and code.replace("-", "") not in stored


def test_re_enrolling_keeps_the_old_factor_until_confirmed(make_book: BookFactory) -> None:
    book, first = _enrolled(make_book)
    principal = book.staff.authenticate(USERNAME, STAFF_PASSWORD, _code(book, first.secret))
    second = book.staff.enroll_totp(principal)
    clock(book).advance(seconds=30)
    book.staff.authenticate(USERNAME, STAFF_PASSWORD, _code(book, first.secret))
    book.staff.confirm_totp(principal, _code(book, second.secret))
    clock(book).advance(seconds=30)
    with pytest.raises(AuthenticationFailed):
        book.staff.authenticate(USERNAME, STAFF_PASSWORD, _code(book, first.secret))
    book.staff.authenticate(USERNAME, STAFF_PASSWORD, _code(book, second.secret))
    with pytest.raises(AuthenticationFailed):  # the first enrollment's codes died with it
        book.staff.authenticate(USERNAME, STAFF_PASSWORD, first.recovery_codes[0])


# -- login with a second factor -------------------------------------------------------------


def test_an_enrolled_member_needs_a_code(make_book: BookFactory) -> None:
    book, enrollment = _enrolled(make_book)
    with pytest.raises(AuthenticationFailed) as caught:
        book.staff.authenticate(USERNAME, STAFF_PASSWORD)
    assert caught.value.code == "totp_required"
    assert _failures(book) == 0  # asking for the code is no failure
    principal = book.staff.authenticate(USERNAME, STAFF_PASSWORD, _code(book, enrollment.secret))
    assert principal.totp_enrollment_required is False


def test_a_wrong_password_with_a_right_code_fails_as_usual(make_book: BookFactory) -> None:
    book, enrollment = _enrolled(make_book)
    with pytest.raises(AuthenticationFailed) as caught:
        book.staff.authenticate(USERNAME, "not-the-password-at-all", _code(book, enrollment.secret))
    assert caught.value.code == "authentication_failed"


def test_codes_of_the_neighbouring_steps_are_accepted(make_book: BookFactory) -> None:
    book, enrollment = _enrolled(make_book)
    book.staff.authenticate(USERNAME, STAFF_PASSWORD, _code(book, enrollment.secret, -1))
    book.staff.authenticate(USERNAME, STAFF_PASSWORD, _code(book, enrollment.secret, +1))


def test_a_code_is_refused_once_used(make_book: BookFactory) -> None:
    book, enrollment = _enrolled(make_book)
    code = _code(book, enrollment.secret)
    book.staff.authenticate(USERNAME, STAFF_PASSWORD, code)
    with pytest.raises(AuthenticationFailed) as caught:
        book.staff.authenticate(USERNAME, STAFF_PASSWORD, code)
    assert caught.value.code == "totp_invalid"
    # An older code than the newest one used is refused too, even if still in the window.
    clock(book).advance(seconds=30)
    newest = _code(book, enrollment.secret, +1)
    book.staff.authenticate(USERNAME, STAFF_PASSWORD, newest)
    with pytest.raises(AuthenticationFailed):
        book.staff.authenticate(USERNAME, STAFF_PASSWORD, _code(book, enrollment.secret))


@pytest.mark.parametrize("code", ["six-digits", "12345", "abcdef", "zzzzz-zzzzz", "x"])
def test_wrong_codes_are_refused_and_counted(make_book: BookFactory, code: str) -> None:
    book, enrollment = _enrolled(make_book)
    if code == "six-digits":
        code = _wrong(book, enrollment.secret)
    with pytest.raises(AuthenticationFailed) as caught:
        book.staff.authenticate(USERNAME, STAFF_PASSWORD, code)
    assert caught.value.code == "totp_invalid"
    assert _failures(book) == 1


def test_expired_codes_are_refused(make_book: BookFactory) -> None:
    book, enrollment = _enrolled(make_book)
    code = _code(book, enrollment.secret)
    clock(book).advance(seconds=90)
    with pytest.raises(AuthenticationFailed) as caught:
        book.staff.authenticate(USERNAME, STAFF_PASSWORD, code)
    assert caught.value.code == "totp_invalid"


def test_ten_wrong_codes_lock_the_account(make_book: BookFactory) -> None:
    book, enrollment = _enrolled(make_book)
    wrong = _wrong(book, enrollment.secret)
    for _ in range(10):
        with pytest.raises(AuthenticationFailed):
            book.staff.authenticate(USERNAME, STAFF_PASSWORD, wrong)
    with pytest.raises(AuthenticationFailed) as locked:  # as for an unknown username
        book.staff.authenticate(USERNAME, STAFF_PASSWORD, _code(book, enrollment.secret))
    assert locked.value.code == "authentication_failed"
    clock(book).advance(minutes=1)
    book.staff.authenticate(USERNAME, STAFF_PASSWORD, _code(book, enrollment.secret))
    assert _failures(book) == 0


def test_a_recovery_code_works_once(make_book: BookFactory) -> None:
    book, enrollment = _enrolled(make_book)
    first, second = enrollment.recovery_codes[:2]
    book.staff.authenticate(USERNAME, STAFF_PASSWORD, first)
    with pytest.raises(AuthenticationFailed) as caught:
        book.staff.authenticate(USERNAME, STAFF_PASSWORD, first)
    assert caught.value.code == "totp_invalid"
    # Typed loosely: upper case, spaces instead of the dash.
    book.staff.authenticate(USERNAME, STAFF_PASSWORD, f" {second.upper().replace('-', ' ')} ")
    with pytest.raises(AuthenticationFailed):
        book.staff.authenticate(USERNAME, STAFF_PASSWORD, second)
    with book.storage.unit_of_work() as uow:
        member = uow.staff.by_username(USERNAME)
    assert member is not None and member.totp is not None
    assert len(member.totp.recovery_code_hashes) == 8
    logins = audit_events(book, "staff.login")
    assert [e.details for e in logins if dict(e.details).get("factor") == "recovery_code"] == [
        (("factor", "recovery_code"), ("recovery_codes_left", "9")),
        (("factor", "recovery_code"), ("recovery_codes_left", "8")),
    ]


# -- required by the embedding system ---------------------------------------------------------


def test_when_required_an_unenrolled_member_may_only_enroll(make_book: BookFactory) -> None:
    book, _ = _book_with_member(make_book, required=True)
    principal = book.staff.authenticate(USERNAME, STAFF_PASSWORD)
    assert principal.totp_enrollment_required
    with pytest.raises(PermissionDenied) as caught:
        book.applications.queue(principal)
    assert caught.value.code == "totp_enrollment_required"
    enrollment = book.staff.enroll_totp(principal)
    full = book.staff.confirm_totp(principal, _code(book, enrollment.secret))
    assert not full.totp_enrollment_required
    book.applications.queue(full)
    with pytest.raises(PermissionDenied):  # the restricted principal stays restricted
        book.applications.queue(principal)
    clock(book).advance(seconds=30)
    with pytest.raises(AuthenticationFailed) as missing:
        book.staff.authenticate(USERNAME, STAFF_PASSWORD)
    assert missing.value.code == "totp_required"
    book.staff.authenticate(USERNAME, STAFF_PASSWORD, _code(book, enrollment.secret))


def test_an_enrollment_only_principal_from_before_enrollment_cannot_re_enroll(
    make_book: BookFactory,
) -> None:
    """A session stopped halfway before the member enrolled (a tab left open, or one
    an attacker holds with a stolen password) may not replace the confirmed factor."""
    book, _ = _book_with_member(make_book, required=True)
    stale = book.staff.authenticate(USERNAME, STAFF_PASSWORD)
    fresh = book.staff.authenticate(USERNAME, STAFF_PASSWORD)
    enrollment = book.staff.enroll_totp(fresh)
    book.staff.confirm_totp(fresh, _code(book, enrollment.secret))
    for attempt in (
        lambda: book.staff.enroll_totp(stale),
        lambda: book.staff.confirm_totp(stale, _code(book, enrollment.secret)),
    ):
        with pytest.raises(PermissionDenied) as refused:
            attempt()
        assert refused.value.code == "totp_already_enrolled"
        assert "重新登入" in refused.value.message("zh_TW")
    denied = audit_events(book, "authorization.denied")[-1]
    assert dict(denied.details)["use_case"] == "staff.confirm_totp"
    # The code is a secret, not the object acted on: it never reaches the trail (a
    # guess from the parameter's name once recorded it as a facility code).
    assert (denied.target_kind, denied.target_id) == ("use_case", None)
    clock(book).advance(seconds=30)
    book.staff.authenticate(USERNAME, STAFF_PASSWORD, _code(book, enrollment.secret))


def test_when_not_required_unenrolled_members_log_in_with_the_password(
    make_book: BookFactory,
) -> None:
    book, _ = _book_with_member(make_book)
    principal = book.staff.authenticate(USERNAME, STAFF_PASSWORD)
    assert not principal.totp_enrollment_required
    book.applications.queue(principal)


def test_every_staff_login_is_audited(make_book: BookFactory) -> None:
    book, enrollment = _enrolled(make_book)
    attempts = [
        ("nobody", STAFF_PASSWORD, None),
        (USERNAME, "not-the-password-at-all", None),
        (USERNAME, STAFF_PASSWORD, None),
        (USERNAME, STAFF_PASSWORD, _wrong(book, enrollment.secret)),
        (USERNAME, STAFF_PASSWORD, _code(book, enrollment.secret)),
    ]
    before = len(audit_events(book, "staff.login"))
    for username, password, code in attempts:
        with contextlib.suppress(AuthenticationFailed):
            book.staff.authenticate(username, password, code)
    outcomes = [e.outcome for e in audit_events(book, "staff.login")[before:]]
    assert outcomes == ["failure", "failure", "totp_required", "totp_failure", "success"]
    for event in audit_events(book):
        assert STAFF_PASSWORD not in repr(event) and enrollment.secret not in repr(event)


def test_confirm_and_enroll_are_audited(make_book: BookFactory) -> None:
    book, _ = _enrolled(make_book)
    assert [e.outcome for e in audit_events(book, "staff.enroll_totp")] == ["success"]
    assert [e.outcome for e in audit_events(book, "staff.confirm_totp")] == ["success"]


def test_totp_lock_is_bounded(make_book: BookFactory) -> None:
    book, enrollment = _enrolled(make_book)
    wrong = _wrong(book, enrollment.secret)
    longest = timedelta(0)
    for _ in range(30):
        with contextlib.suppress(AuthenticationFailed):
            book.staff.authenticate(USERNAME, STAFF_PASSWORD, wrong)
        with book.storage.unit_of_work() as uow:
            member = uow.staff.by_username(USERNAME)
        assert member is not None
        if member.locked_until is not None and member.locked_until > book.context.now():
            longest = max(longest, member.locked_until - book.context.now())
            clock(book).set(member.locked_until)
    assert longest == timedelta(minutes=15)
