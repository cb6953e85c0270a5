"""Steps of 忘記密碼 and 登入保護: password reset, login throttling, staff TOTP.

Everything goes through the public API; TOTP codes are computed with pyotp from
the secret an enrollment showed, at the scenario's clock.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import attrs
import pyotp
import pytest
from pytest_bdd import given, parsers, then, when

import contactbook
from contactbook import errors
from contactbook.domain.time import format_datetime
from contactbook.usecases.staff import TotpEnrollment
from tests.bdd.world import FAMILY_PASSWORD, STAFF_PASSWORD, World, verification_link

RESET_LINK = re.compile(r"https?://\S+/reset-password\?token=([A-Za-z0-9_\-]+)")
VERIFY_TOKEN = re.compile(r"/verify\?token=([A-Za-z0-9_\-]+)")


def q(name: str) -> str:
    return f'"(?P<{name}>[^"]*)"'


def step_re(text: str) -> Any:
    """``text`` with ``{name}`` for quoted values and ``<name>`` for bare numbers."""
    parts = re.split(r"(\{\w+\}|<\w+>)", text)
    pattern = ""
    for part in parts:
        if part.startswith("{"):
            pattern += q(part[1:-1])
        elif part.startswith("<"):
            pattern += rf"(?P<{part[1:-1]}>\d+)"
        else:
            pattern += re.escape(part)
    return parsers.re(pattern)


class AuthScreens:
    """What the authentication steps saw, for the steps that check it."""

    def __init__(self) -> None:
        self.answers: list[tuple[Any, ...]] = []
        self.codes: list[str] = []
        self.mails_before = 0
        self.other_device: contactbook.FamilyPrincipal | None = None
        self.enrollments: dict[str, TotpEnrollment] = {}
        self.principals: dict[str, contactbook.StaffPrincipal] = {}
        self.last_code: str | None = None
        self.locked_email: str | None = None


@pytest.fixture
def auth_screens() -> AuthScreens:
    return AuthScreens()


def _answer(world: World) -> tuple[Any, ...]:
    """Everything a person (or a script) sees of an answer."""
    error = world.error
    if error is None:
        return ("returned", repr(world.result))
    return (type(error).__name__, error.code, error.params, error.message_zh, error.message_en)


def _reset_token(world: World, address: str) -> str:
    for mail in reversed([m for m in world.outbox() if m.to == address]):
        found = RESET_LINK.search(mail.body)
        if found:
            return found.group(1)
    raise AssertionError(f"no reset link mailed to {address}")


# -- 忘記密碼 ----------------------------------------------------------------------------------


@given(step_re("以 Email {email} 申請忘記密碼"))
@when(step_re("以 Email {email} 申請忘記密碼"))
def auth_forgot_password(world: World, auth_screens: AuthScreens, email: str) -> None:
    before = len(world.outbox())
    world.attempt(lambda: world.book.accounts.forgot_password(email))
    auth_screens.answers.append(_answer(world))
    auth_screens.mails_before = before


@then(step_re("這 <count> 次忘記密碼申請的回應完全相同"))
def auth_same_answers(auth_screens: AuthScreens, count: str) -> None:
    assert len(auth_screens.answers) == int(count)
    assert len(set(auth_screens.answers)) == 1, auth_screens.answers


@then(step_re("該郵件的重設連結以 {prefix} 開頭"))
def auth_reset_link_prefix(world: World, prefix: str) -> None:
    found = [RESET_LINK.search(m.body) for m in world.outbox()]
    links = [match.group(0) for match in found if match]
    assert links and all(link.startswith(prefix) for link in links), links


@then(step_re("信箱 {address} 沒有收到任何郵件"))
def auth_no_mail_to(world: World, address: str) -> None:
    assert [m.subject for m in world.outbox() if m.to == address] == []


@given(step_re("{family} 已在另一台裝置登入"))
def auth_other_device(world: World, auth_screens: AuthScreens, family: str) -> None:
    auth_screens.other_device = world.book.accounts.authenticate(
        world.emails[family], FAMILY_PASSWORD
    )


@then(step_re("{family} 在另一台裝置的登入已失效"))
def auth_other_device_ended(world: World, auth_screens: AuthScreens, family: str) -> None:
    assert auth_screens.other_device is not None
    assert auth_screens.other_device.account_id == world.families[family].account_id
    assert not world.book.accounts.session_valid(auth_screens.other_device)


@given(step_re("以寄給 {address} 的重設連結設定新密碼 {password}"))
@when(step_re("以寄給 {address} 的重設連結設定新密碼 {password}"))
@when(step_re("再次以寄給 {address} 的重設連結設定新密碼 {password}"))
def auth_reset_with_link(world: World, address: str, password: str) -> None:
    token = _reset_token(world, address)
    world.attempt(lambda: world.book.accounts.reset_password(token, password))


@when(step_re("以寄給 {address} 的第一封重設連結設定新密碼 {password}"))
def auth_reset_with_first_link(world: World, address: str, password: str) -> None:
    links = [RESET_LINK.search(m.body) for m in world.outbox() if m.to == address]
    tokens = [found.group(1) for found in links if found]
    assert len(tokens) >= 2, f"fewer than two reset links mailed to {address}"
    world.attempt(lambda: world.book.accounts.reset_password(tokens[0], password))


@when(step_re("以寄給 {address} 的驗證連結設定新密碼 {password}"))
def auth_reset_with_verify_link(world: World, address: str, password: str) -> None:
    family = next(name for name, email in world.emails.items() if email == address)
    found = VERIFY_TOKEN.search(verification_link(world, family))
    assert found
    token = found.group(1)
    world.attempt(lambda: world.book.accounts.reset_password(token, password))


@when(step_re("以竄改過的重設連結設定新密碼 {password}"))
def auth_reset_tampered(world: World, password: str) -> None:
    token = _reset_token(world, world.outbox()[-1].to)
    tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    world.attempt(lambda: world.book.accounts.reset_password(tampered, password))


@then(step_re("重設密碼的結果為 {outcome}"))
def auth_reset_outcome(world: World, outcome: str) -> None:
    if outcome == "重設成功":
        assert world.error is None, world.error
    else:
        assert world.error is not None and world.error.code == outcome, world.error


@then(step_re("以 {email} 及新密碼 {password} 登入成功"))
def auth_login_with(world: World, email: str, password: str) -> None:
    principal = world.attempt(lambda: world.book.accounts.authenticate(email, password))
    assert world.error is None, world.error
    assert world.book.accounts.session_valid(principal)


@given(step_re("過了 <minutes> 分鐘"))
@when(step_re("過了 <minutes> 分鐘"))
def auth_minutes_pass(world: World, minutes: str) -> None:
    world.clock.advance(minutes=int(minutes))


@then("這次申請沒有寄出任何郵件")
def auth_request_sent_nothing(world: World, auth_screens: AuthScreens) -> None:
    assert world.outbox()[auth_screens.mails_before :] == []


# -- 登入保護: families ---------------------------------------------------------------------------


@when(step_re("以 {email} 登入成功"))
def auth_login_succeeds(world: World, email: str) -> None:
    world.attempt(lambda: world.book.accounts.authenticate(email, FAMILY_PASSWORD))
    assert world.error is None, world.error


@given(step_re("以 {email} 輸入錯誤密碼登入 <times> 次"))
@when(step_re("以 {email} 輸入錯誤密碼登入 <times> 次"))
def auth_wrong_passwords(world: World, auth_screens: AuthScreens, email: str, times: str) -> None:
    auth_screens.codes = []
    for _ in range(int(times)):
        world.attempt(lambda: world.book.accounts.authenticate(email, "not-the-password-at-all"))
        assert world.error is not None
        auth_screens.codes.append(world.error.code)


@then(step_re("這 <times> 次都回應錯誤代碼 {code}"))
def auth_all_codes(auth_screens: AuthScreens, times: str, code: str) -> None:
    assert auth_screens.codes == [code] * int(times)


@then(step_re("以 {email} 及正確密碼登入被拒，回應與不存在的帳號完全相同"))
def auth_locked_like_unknown(world: World, email: str) -> None:
    world.attempt(lambda: world.book.accounts.authenticate(email, FAMILY_PASSWORD))
    locked = _answer(world)
    world.attempt(lambda: world.book.accounts.authenticate("nobody@example.com", FAMILY_PASSWORD))
    assert locked == _answer(world)
    assert locked[:2] == ("AuthenticationFailed", "authentication_failed")


@then(step_re("信箱 {address} 收到帳號暫時鎖定通知，可再試的時間為 {until}"))
def auth_lock_mail(world: World, address: str, until: str) -> None:
    mails = [m for m in world.outbox() if m.to == address and "帳號暫時鎖定" in m.subject]
    assert len(mails) == 1, [m.subject for m in world.outbox() if m.to == address]
    assert f"暫時鎖定至 {until}" in mails[0].body, mails[0].body


def _locked_until(world: World, email: str) -> datetime | None:
    """The end of the account's lock, as stored (a person sees it only in the mail)."""
    with world.book.storage.unit_of_work() as uow:
        account = uow.accounts.by_email(email.casefold())
    assert account is not None
    return account.locked_until


@then(step_re("{email} 的帳號鎖定至 {until}"))
def auth_locked_until(world: World, email: str, until: str) -> None:
    locked_until = _locked_until(world, email)
    assert locked_until is not None and format_datetime(locked_until) == until


@when(step_re("以 {email} 連續登入失敗 <times> 次，每次都等鎖定結束後再試"))
def auth_fail_after_each_lock(
    world: World, auth_screens: AuthScreens, email: str, times: str
) -> None:
    for _ in range(int(times)):
        locked_until = _locked_until(world, email)
        if locked_until is not None and locked_until > world.book.context.now():
            world.clock.set(locked_until)
        world.attempt(lambda: world.book.accounts.authenticate(email, "not-the-password-at-all"))
        assert isinstance(world.error, errors.AuthenticationFailed), world.error
    auth_screens.locked_email = email


@then(step_re("帳號暫時鎖定 <minutes> 分鐘"))
def auth_locked_for(world: World, auth_screens: AuthScreens, minutes: str) -> None:
    email = auth_screens.locked_email
    assert email is not None
    expected = world.book.context.now() + timedelta(minutes=int(minutes))
    assert _locked_until(world, email) == expected


@then(step_re("稽核紀錄依序有 <count> 筆 {action}，結果為 {outcomes}"))
def auth_audited(world: World, count: str, action: str, outcomes: str) -> None:
    with world.book.storage.unit_of_work() as uow:
        events = [e for e in uow.audit.in_order() if e.action == action]
    assert len(events) == int(count)
    assert [e.outcome for e in events] == outcomes.split("、")


# -- 登入保護: staff TOTP -------------------------------------------------------------------------


@given("後臺要求機關人員使用兩步驟驗證")
def auth_require_totp(world: World) -> None:
    context = world.book.context
    settings = attrs.evolve(context.settings, require_staff_totp=True)
    world.book = contactbook.ContactBook(attrs.evolve(context, settings=settings))


def _code(world: World, secret: str) -> str:
    return pyotp.TOTP(secret).at(world.book.context.now())


def _staff_login(world: World, username: str, code: str | None) -> Any:
    return world.attempt(lambda: world.book.staff.authenticate(username, STAFF_PASSWORD, code))


@when(step_re("{username} 以密碼登入後臺"))
@when(step_re("{username} 只以密碼登入後臺"))
def auth_staff_password_only(world: World, auth_screens: AuthScreens, username: str) -> None:
    principal = _staff_login(world, username, None)
    if principal is not None:
        auth_screens.principals[username] = principal


@then(step_re("{username} 只能先設定兩步驟驗證，查看服務項目申請被拒，錯誤代碼為 {code}"))
def auth_staff_restricted(
    world: World, auth_screens: AuthScreens, username: str, code: str
) -> None:
    principal = auth_screens.principals[username]
    assert principal.totp_enrollment_required
    world.attempt(lambda: world.book.applications.queue(principal))
    assert isinstance(world.error, errors.PermissionDenied) and world.error.code == code


@when(step_re("{username} 設定驗證器 App 並輸入目前的驗證碼"))
def auth_staff_enroll(world: World, auth_screens: AuthScreens, username: str) -> None:
    principal = auth_screens.principals[username]
    enrollment = world.book.staff.enroll_totp(principal)
    auth_screens.enrollments[username] = enrollment
    full = world.attempt(
        lambda: world.book.staff.confirm_totp(principal, _code(world, enrollment.secret))
    )
    if full is not None:
        auth_screens.principals[username] = full


@then(step_re("{username} 取得 <count> 組備用碼"))
def auth_recovery_codes(auth_screens: AuthScreens, username: str, count: str) -> None:
    codes = auth_screens.enrollments[username].recovery_codes
    assert len(codes) == len(set(codes)) == int(count)


@then(step_re("{username} 可以查看服務項目申請"))
def auth_staff_works(world: World, auth_screens: AuthScreens, username: str) -> None:
    world.book.applications.queue(auth_screens.principals[username])


@given(step_re("機關人員 {username} 已設定兩步驟驗證"))
def auth_staff_enrolled(world: World, auth_screens: AuthScreens, username: str) -> None:
    world.book.staff.create(
        world.admin, username, username, STAFF_PASSWORD, None, [contactbook.Role.REVIEWER]
    )
    principal = world.book.staff.authenticate(username, STAFF_PASSWORD)
    enrollment = world.book.staff.enroll_totp(principal)
    world.book.staff.confirm_totp(principal, _code(world, enrollment.secret))
    auth_screens.enrollments[username] = enrollment
    world.clock.advance(seconds=60)  # a minute later: the confirming code is long gone


@when(step_re("{username} 以密碼及目前的驗證碼登入後臺"))
def auth_staff_with_code(world: World, auth_screens: AuthScreens, username: str) -> None:
    code = _code(world, auth_screens.enrollments[username].secret)
    auth_screens.last_code = code
    principal = _staff_login(world, username, code)
    if principal is not None:
        auth_screens.principals[username] = principal


def _staff_id(world: World, username: str) -> str:
    with world.book.storage.unit_of_work() as uow:
        member = uow.staff.by_username(username)
    assert member is not None, username
    return member.id


@when(step_re("管理者清除 {username} 的兩步驟驗證"))
def auth_clear_totp(world: World, username: str) -> None:
    staff_id = _staff_id(world, username)
    world.attempt(lambda: world.book.staff.clear_totp(world.admin, staff_id))


@when("管理者清除自己的兩步驟驗證")
def auth_clear_own_totp(world: World) -> None:
    world.attempt(lambda: world.book.staff.clear_totp(world.admin, world.admin.staff_id))


@given(step_re("矯正署管理者 {username} 已設定兩步驟驗證"))
def auth_agency_admin_enrolled(world: World, auth_screens: AuthScreens, username: str) -> None:
    assert world.book.staff.get(world.admin).username == username
    enrollment = world.book.staff.enroll_totp(world.admin)
    world.admin = world.book.staff.confirm_totp(world.admin, _code(world, enrollment.secret))
    auth_screens.enrollments[username] = enrollment
    world.clock.advance(seconds=60)


@when(step_re("維運人員以主控台清除 {username} 的兩步驟驗證，原因為 {reason}"))
def auth_break_glass(world: World, username: str, reason: str) -> None:
    world.attempt(lambda: world.book.staff.recover_agency_admin(username, reason))


@then(step_re("{username} 原本的登入階段已失效"))
def auth_staff_session_ended(world: World, auth_screens: AuthScreens, username: str) -> None:
    assert not world.book.staff.session_valid(auth_screens.principals[username])


@when(step_re("{username} 以密碼及剛才用過的驗證碼再次登入後臺"))
def auth_staff_reused_code(world: World, auth_screens: AuthScreens, username: str) -> None:
    assert auth_screens.last_code is not None
    _staff_login(world, username, auth_screens.last_code)


def _wrong_code(world: World, secret: str) -> str:
    totp = pyotp.TOTP(secret)
    now = world.book.context.now()
    valid = {totp.at(now, counter_offset=offset) for offset in (-1, 0, 1)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in valid)


@when(step_re("{username} 以密碼及錯誤的驗證碼登入後臺"))
def auth_staff_wrong_code(world: World, auth_screens: AuthScreens, username: str) -> None:
    _staff_login(world, username, _wrong_code(world, auth_screens.enrollments[username].secret))


@when(step_re("{username} 以密碼及錯誤的驗證碼登入後臺 <times> 次"))
def auth_staff_wrong_codes(
    world: World, auth_screens: AuthScreens, username: str, times: str
) -> None:
    for _ in range(int(times)):
        auth_staff_wrong_code(world, auth_screens, username)
        assert isinstance(world.error, errors.AuthenticationFailed), world.error


@when(step_re("{username} 以密碼及第 <n> 組備用碼登入後臺"))
def auth_staff_recovery(world: World, auth_screens: AuthScreens, username: str, n: str) -> None:
    code = auth_screens.enrollments[username].recovery_codes[int(n) - 1]
    _staff_login(world, username, code)


@then(step_re("{username} 的連續登入失敗次數為 <count>"))
def auth_staff_failures(world: World, username: str, count: str) -> None:
    with world.book.storage.unit_of_work() as uow:
        member = uow.staff.by_username(username)
    assert member is not None and member.failed_logins == int(count)


__all__ = [name for name in dir() if name.startswith("pytestbdd_")] + ["auth_screens"]
