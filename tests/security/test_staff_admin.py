"""Admins list the staff in their scope, change roles, deactivate accounts and clear a
lost authenticator; a password reset, a cleared authenticator or a deactivation ends
the member's other sessions."""

from __future__ import annotations

from typing import Any

import attrs
import pyotp
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
from contactbook.usecases.settings import Settings
from contactbook.usecases.staff import StaffView, TotpEnrollment
from tests.security.conftest import STAFF_PASSWORD, BookFactory, audit_events, clock, mails_to

MEI_EMAIL = "mei.chen@example.gov.tw"
REVIEWER = [contactbook.Role.REVIEWER]


class _World:
    """The Agency admin (enrolled), facilities A01 and B02, an A01 admin, and two
    A01 reviewers (陳美玲 with an e-mail address, 李華 without) and one of B02."""

    def __init__(self, make_book: BookFactory, *, required: bool = True) -> None:
        self.book = book = make_book(settings=Settings(require_staff_totp=required))
        book.staff.bootstrap_admin("agency.admin", "矯正署管理者", STAFF_PASSWORD)
        self.agency = self.enroll(book.staff.authenticate("agency.admin", STAFF_PASSWORD))[0]
        book.facilities.add(self.agency, "A01", "法務部矯正署臺北監獄")
        book.facilities.add(self.agency, "B02", "法務部矯正署臺中監獄")
        admin_roles = [contactbook.Role.ADMIN]
        self.a01_admin_id = book.staff.create(
            self.agency, "a01.admin", "張志明", STAFF_PASSWORD, "A01", admin_roles
        ).id
        self.mei = book.staff.create(
            self.agency, "mei.chen", "陳美玲", STAFF_PASSWORD, "A01", REVIEWER, email=MEI_EMAIL
        ).id
        self.li = book.staff.create(
            self.agency, "li.hua", "李華", STAFF_PASSWORD, "A01", REVIEWER
        ).id
        self.b02 = book.staff.create(
            self.agency, "b02.reviewer", "林怡君", STAFF_PASSWORD, "B02", REVIEWER
        ).id

    def code(self, secret: str) -> str:
        clock(self.book).advance(seconds=30)  # a new time step: codes are single use
        return pyotp.TOTP(secret).at(self.book.context.now())

    def enroll(
        self, principal: contactbook.StaffPrincipal
    ) -> tuple[contactbook.StaffPrincipal, TotpEnrollment]:
        enrollment = self.book.staff.enroll_totp(principal)
        confirmed = self.book.staff.confirm_totp(principal, self.code(enrollment.secret))
        return confirmed, enrollment

    def login(self, username: str, secret: str | None) -> contactbook.StaffPrincipal:
        code = self.code(secret) if secret else None
        return self.book.staff.authenticate(username, STAFF_PASSWORD, code)

    def a01_admin(self) -> contactbook.StaffPrincipal:
        return self.enroll(self.book.staff.authenticate("a01.admin", STAFF_PASSWORD))[0]


# -- listing -----------------------------------------------------------------------------


def test_a_facility_admin_lists_its_facility_by_username(make_book: BookFactory) -> None:
    world = _World(make_book)
    listed = world.book.staff.members(world.a01_admin())
    assert [m.username for m in listed] == ["a01.admin", "li.hua", "mei.chen"]
    mei = next(m for m in listed if m.username == "mei.chen")
    assert (mei.name, mei.facility_code, mei.email, mei.totp_enrolled, mei.active) == (
        "陳美玲",
        "A01",
        MEI_EMAIL,
        False,
        True,
    )
    secrets = {"password_hash", "totp", "totp_pending", "reset_token_hash"}
    assert not secrets & set(attrs.fields_dict(StaffView))  # a view never carries them


def test_an_agency_admin_lists_everyone_or_one_facility(make_book: BookFactory) -> None:
    world = _World(make_book)
    every = [m.username for m in world.book.staff.members(world.agency)]
    assert every == ["a01.admin", "agency.admin", "b02.reviewer", "li.hua", "mei.chen"]
    b02 = [m.username for m in world.book.staff.members(world.agency, "B02")]
    assert b02 == ["b02.reviewer"]


def test_listing_is_refused_outside_the_scope_and_without_the_role(
    make_book: BookFactory,
) -> None:
    world = _World(make_book)
    a01_admin = world.a01_admin()
    with pytest.raises(NotFound):
        world.book.staff.members(a01_admin, "B02")
    with pytest.raises(NotFound) as refused:
        world.book.staff.members(world.agency, "Z99")
    assert refused.value.code == "facility_not_found"
    mei = world.book.staff.authenticate("mei.chen", STAFF_PASSWORD)
    with pytest.raises(PermissionDenied) as refused:
        world.book.staff.members(mei)
    assert refused.value.code == "totp_enrollment_required"
    mei = world.enroll(mei)[0]
    with pytest.raises(PermissionDenied) as refused:
        world.book.staff.members(mei)
    assert refused.value.code == "role_required"


# -- clearing a lost authenticator ----------------------------------------------------------


def test_clearing_a_lost_authenticator_lets_the_member_enroll_again(
    make_book: BookFactory,
) -> None:
    world = _World(make_book)
    book = world.book
    mei, lost = world.enroll(book.staff.authenticate("mei.chen", STAFF_PASSWORD))
    with pytest.raises(AuthenticationFailed) as refused:
        book.staff.authenticate("mei.chen", STAFF_PASSWORD)
    assert refused.value.code == "totp_required"

    book.staff.clear_totp(world.a01_admin(), world.mei)

    assert not book.staff.session_valid(mei)  # the other sessions end
    after = book.staff.authenticate("mei.chen", STAFF_PASSWORD)  # the password alone
    assert after.totp_enrollment_required
    assert after.session_version == mei.session_version + 1
    # the lost secret and its recovery codes no longer make a full login
    for old in (world.code(lost.secret), lost.recovery_codes[0]):
        assert book.staff.authenticate("mei.chen", STAFF_PASSWORD, old).totp_enrollment_required
    renewed, enrollment = world.enroll(book.staff.authenticate("mei.chen", STAFF_PASSWORD))
    assert book.staff.session_valid(renewed)
    assert world.login("mei.chen", enrollment.secret).staff_id == world.mei


def test_the_member_is_told_by_mail_and_the_clearing_is_audited(make_book: BookFactory) -> None:
    world = _World(make_book)
    book = world.book
    world.enroll(book.staff.authenticate("mei.chen", STAFF_PASSWORD))
    a01_admin = world.a01_admin()
    book.staff.clear_totp(a01_admin, world.mei)

    mail = mails_to(book, MEI_EMAIL)[-1]
    assert mail.subject.startswith("便民服務後臺管理系統 兩步驟驗證已清除")
    assert "mei.chen" in mail.body and "其他已登入的裝置已登出" in mail.body
    assert "Back-office two-step verification cleared" in mail.subject
    [event] = audit_events(book, "staff.clear_totp")
    assert (event.actor_id, event.target_id, event.facility_code, event.outcome) == (
        a01_admin.staff_id,
        world.mei,
        "A01",
        "success",
    )


def test_a_pending_enrollment_alone_is_cleared_too(make_book: BookFactory) -> None:
    world = _World(make_book, required=False)
    book = world.book
    mei = book.staff.authenticate("mei.chen", STAFF_PASSWORD)
    started = book.staff.enroll_totp(mei)
    book.staff.clear_totp(world.agency, world.mei)
    with pytest.raises(PermissionDenied) as ended:  # that session ended with the clearing
        book.staff.confirm_totp(mei, world.code(started.secret))
    assert ended.value.code == "session_ended"
    again = book.staff.authenticate("mei.chen", STAFF_PASSWORD)
    with pytest.raises(Conflict) as refused:  # and the pending secret is gone
        book.staff.confirm_totp(again, world.code(started.secret))
    assert refused.value.code == "totp_not_enrolling"


def test_clearing_refusals(make_book: BookFactory) -> None:
    world = _World(make_book)
    book = world.book
    a01_admin = world.a01_admin()
    with pytest.raises(Conflict) as refused:  # 李華 never enrolled
        book.staff.clear_totp(a01_admin, world.li)
    assert refused.value.code == "totp_not_enrolled"
    with pytest.raises(PermissionDenied) as refused:  # one's own: enroll again instead
        book.staff.clear_totp(a01_admin, a01_admin.staff_id)
    assert refused.value.code == "totp_clear_own"
    b02 = world.enroll(book.staff.authenticate("b02.reviewer", STAFF_PASSWORD))[0]
    with pytest.raises(NotFound):  # another facility's member does not exist for A01
        book.staff.clear_totp(a01_admin, world.b02)
    with pytest.raises(NotFound):  # nor does an Agency member
        book.staff.clear_totp(a01_admin, world.agency.staff_id)
    with pytest.raises(NotFound):
        book.staff.clear_totp(a01_admin, "no-such-member")
    book.staff.deactivate(a01_admin, world.li)
    with pytest.raises(Conflict) as refused:  # listed, but closed: say so
        book.staff.clear_totp(a01_admin, world.li)
    assert refused.value.code == "staff_inactive"
    mei = world.enroll(book.staff.authenticate("mei.chen", STAFF_PASSWORD))[0]
    with pytest.raises(PermissionDenied) as refused:  # a reviewer is no admin
        book.staff.clear_totp(mei, world.b02)
    assert refused.value.code == "role_required"
    assert book.staff.session_valid(b02) and book.staff.session_valid(mei)  # all unchanged
    assert audit_events(book, "staff.clear_totp") == []


def test_refusals_have_messages_in_both_languages() -> None:
    own = PermissionDenied("totp_clear_own")
    assert own.message("zh_TW").startswith("不能清除自己的兩步驟驗證")
    assert own.message("en").startswith("You cannot clear your own two-step verification")
    assert Conflict("totp_not_enrolled").message() == "此人員尚未設定兩步驟驗證，無須清除。"


# -- sessions --------------------------------------------------------------------------------


def test_a_completed_password_reset_ends_the_other_sessions(make_book: BookFactory) -> None:
    world = _World(make_book, required=False)
    book = world.book
    li = book.staff.authenticate("li.hua", STAFF_PASSWORD)
    assert book.staff.session_valid(li)
    token = book.staff.start_reset(world.agency, world.li).token
    assert token is not None
    assert book.staff.session_valid(li)  # starting a reset changes nothing yet
    book.staff.complete_reset(world.li, token, "a-new-staff-passphrase")
    assert not book.staff.session_valid(li)
    fresh = book.staff.authenticate("li.hua", "a-new-staff-passphrase")
    assert fresh.session_version == li.session_version + 1
    assert book.staff.session_valid(fresh)


def test_session_valid_is_false_for_strangers_and_deactivated(make_book: BookFactory) -> None:
    world = _World(make_book, required=False)
    book = world.book
    assert not book.staff.session_valid(contactbook.StaffPrincipal("no-such-member"))
    assert not book.staff.session_valid(None)  # type: ignore[arg-type]
    with book.storage.unit_of_work() as uow:
        member = uow.staff.get(world.li)
        assert member is not None
        uow.staff.replace(member, member.deactivated())
        uow.commit()
    assert not book.staff.session_valid(contactbook.StaffPrincipal(world.li))


# -- roles and deactivation ------------------------------------------------------------------


def test_a_deactivated_member_cannot_sign_in_until_reactivated(make_book: BookFactory) -> None:
    world = _World(make_book)
    book = world.book
    mei, enrollment = world.enroll(book.staff.authenticate("mei.chen", STAFF_PASSWORD))
    a01_admin = world.a01_admin()

    view = book.staff.deactivate(a01_admin, world.mei)

    assert not view.active
    assert not book.staff.session_valid(mei)
    with pytest.raises(NotFound):
        book.staff.get(mei)
    with pytest.raises(AuthenticationFailed) as refused:  # as for an unknown username
        world.login("mei.chen", enrollment.secret)
    assert refused.value.code == "authentication_failed"
    listed = {m.username: m.active for m in book.staff.members(a01_admin)}
    assert listed["mei.chen"] is False  # still listed, to be reactivated
    assert book.staff.reactivate(a01_admin, world.mei).active
    assert world.login("mei.chen", enrollment.secret).staff_id == world.mei  # same factor
    actions = [e.action for e in audit_events(book) if e.target_id == world.mei]
    assert actions[-3:] == ["staff.deactivate", "staff.reactivate", "staff.login"]


def test_deactivation_cancels_a_started_password_reset(make_book: BookFactory) -> None:
    world = _World(make_book, required=False)
    book = world.book
    token = book.staff.start_reset(world.agency, world.li).token
    assert token is not None
    book.staff.deactivate(world.agency, world.li)
    book.staff.reactivate(world.agency, world.li)
    with pytest.raises(InvalidToken):
        book.staff.complete_reset(world.li, token, "a-new-staff-passphrase")


def test_new_roles_take_effect_at_the_members_next_call(make_book: BookFactory) -> None:
    world = _World(make_book, required=False)
    book = world.book
    mei = book.staff.authenticate("mei.chen", STAFF_PASSWORD)
    book.applications.queue(mei)  # a reviewer
    view = book.staff.set_roles(world.agency, world.mei, [contactbook.Role.PUBLISHER])
    assert view.roles == frozenset({contactbook.Role.PUBLISHER})
    with pytest.raises(PermissionDenied) as refused:
        book.applications.queue(mei)
    assert refused.value.code == "role_required"
    [event] = audit_events(book, "staff.set_roles")
    assert dict(event.details) == {"before": "reviewer", "roles": "publisher"}


def test_role_and_activity_refusals(make_book: BookFactory) -> None:
    world = _World(make_book, required=False)
    book = world.book
    a01_admin = book.staff.authenticate("a01.admin", STAFF_PASSWORD)
    with pytest.raises(ValidationError) as invalid:
        book.staff.set_roles(a01_admin, world.mei, [])
    assert invalid.value.code == "roles_required"
    for change in (
        lambda: book.staff.set_roles(a01_admin, a01_admin.staff_id, REVIEWER),
        lambda: book.staff.deactivate(a01_admin, a01_admin.staff_id),
    ):
        with pytest.raises(PermissionDenied) as refused:
            change()
        assert refused.value.code == "staff_own_account"
    with pytest.raises(NotFound):  # another facility's member
        book.staff.deactivate(a01_admin, world.b02)
    with pytest.raises(NotFound):  # an Agency member
        book.staff.set_roles(a01_admin, world.agency.staff_id, REVIEWER)
    with pytest.raises(Conflict) as conflict:
        book.staff.reactivate(a01_admin, world.mei)
    assert conflict.value.code == "staff_active"
    book.staff.deactivate(a01_admin, world.mei)
    with pytest.raises(Conflict) as conflict:
        book.staff.deactivate(a01_admin, world.mei)
    assert conflict.value.code == "staff_inactive"
    assert conflict.value.message() == "此帳號已停用。"


# -- ended sessions stay ended ---------------------------------------------------------------


def test_an_ended_enrollment_session_cannot_enroll_into_a_fresh_one(
    make_book: BookFactory,
) -> None:
    """A password-only principal (a stolen password) is issued; the member then resets
    the password. The old principal must not enroll its way to a valid session."""
    world = _World(make_book)
    book = world.book
    stolen = book.staff.authenticate("li.hua", STAFF_PASSWORD)
    assert stolen.totp_enrollment_required
    token = book.staff.start_reset(world.agency, world.li).token
    assert token is not None
    book.staff.complete_reset(world.li, token, "a-new-staff-passphrase")
    for attempt in (
        lambda: book.staff.enroll_totp(stolen),
        lambda: book.staff.confirm_totp(stolen, "123456"),
    ):
        with pytest.raises(PermissionDenied) as refused:
            attempt()
        assert refused.value.code == "session_ended"
    member = book.staff.authenticate("li.hua", "a-new-staff-passphrase")
    assert world.enroll(member)[0].session_version == member.session_version  # a first factor


def test_replacing_ones_own_authenticator_ends_the_other_sessions(
    make_book: BookFactory,
) -> None:
    world = _World(make_book)
    book = world.book
    laptop, old = world.enroll(book.staff.authenticate("mei.chen", STAFF_PASSWORD))
    phone = world.login("mei.chen", old.secret)
    renewed, _ = world.enroll(phone)  # the old phone was lost: a new factor from this session
    assert renewed.session_version == phone.session_version + 1
    assert book.staff.session_valid(renewed)
    assert not book.staff.session_valid(laptop) and not book.staff.session_valid(phone)
    [*_, event] = audit_events(book, "staff.confirm_totp")
    assert dict(event.details) == {"replaced": "yes"}


# -- break glass: the Agency's only admin lost its factor ------------------------------------


def _sole_admin(make_book: BookFactory) -> tuple[contactbook.ContactBook, Any, TotpEnrollment]:
    book = make_book(settings=Settings(require_staff_totp=True))
    book.staff.bootstrap_admin("agency.admin", "矯正署管理者", STAFF_PASSWORD, email=MEI_EMAIL)
    principal = book.staff.authenticate("agency.admin", STAFF_PASSWORD)
    enrollment = book.staff.enroll_totp(principal)
    clock(book).advance(seconds=30)
    code = pyotp.TOTP(enrollment.secret).at(book.context.now())
    return book, book.staff.confirm_totp(principal, code), enrollment


def test_the_only_agency_admin_is_recovered_from_the_console(make_book: BookFactory) -> None:
    book, session, _ = _sole_admin(make_book)
    book.staff.recover_agency_admin("Agency.Admin", "手機遺失，備用碼未保存（工單 2020-1007）")
    assert not book.staff.session_valid(session)
    again = book.staff.authenticate("agency.admin", STAFF_PASSWORD)
    assert again.totp_enrollment_required  # enrolls anew
    assert "兩步驟驗證已清除" in mails_to(book, MEI_EMAIL)[-1].subject
    [event] = audit_events(book, "staff.recover_agency_admin")
    assert (event.actor_kind, event.actor_id, event.target_id) == (
        "system",
        None,
        session.staff_id,
    )
    assert dict(event.details) == {"reason": "手機遺失，備用碼未保存（工單 2020-1007）"}


def test_breaking_glass_is_refused_where_an_admin_can_help(make_book: BookFactory) -> None:
    book, session, _ = _sole_admin(make_book)
    with pytest.raises(ValidationError) as invalid:
        book.staff.recover_agency_admin("agency.admin", "  ")
    assert invalid.value.code == "reason_required"
    book.facilities.add(session, "A01", "法務部矯正署臺北監獄")
    book.staff.create(
        session, "a01.admin", "張志明", STAFF_PASSWORD, "A01", [contactbook.Role.ADMIN]
    )
    with pytest.raises(NotFound):  # a facility admin is not the Agency's
        book.staff.recover_agency_admin("a01.admin", "遺失")
    with pytest.raises(NotFound):
        book.staff.recover_agency_admin("nobody", "遺失")
    book.staff.create(
        session, "agency.second", "林志豪", STAFF_PASSWORD, None, [contactbook.Role.ADMIN]
    )
    with pytest.raises(Conflict) as conflict:
        book.staff.recover_agency_admin("agency.admin", "遺失")
    assert conflict.value.code == "another_admin_can_clear"
    assert book.staff.session_valid(session)  # nothing changed
    assert audit_events(book, "staff.recover_agency_admin") == []
