"""Shared world, wiring fixtures and common steps for the zh-TW features.

Every scenario runs twice: on the in-memory wiring and on the SQLite wiring,
through the public API only. Step texts are Traditional Chinese like the
features; the world keeps what the scenario created by the names it used.
"""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd import given, parsers, then, when

import contactbook
import contactbook.usecases.inmates
from contactbook import errors
from contactbook.testing import FastPasswordHasher, MovableClock, sample_pdf, sample_png

FAMILY_PASSWORD = "family-passphrase-2020"
STAFF_PASSWORD = "staff-passphrase-2020!"
START = datetime(2020, 10, 7, 3, 0, tzinfo=UTC)  # 2020/10/07 11:00 in Taiwan

WIRINGS = ["memory", "sqlite"]


class World:
    """What a scenario has made, by the names the feature uses."""

    def __init__(self, book: contactbook.ContactBook, clock: MovableClock) -> None:
        self.book = book
        self.clock = clock
        self.admin = self._bootstrap_admin()
        self.facilities: dict[str, str] = {}  # name -> code
        self.inmates: dict[str, str] = {}  # call number -> inmate id
        self.staff: dict[str, contactbook.StaffPrincipal] = {}
        self.families: dict[str, contactbook.FamilyPrincipal] = {}
        self.emails: dict[str, str] = {}  # family name -> e-mail
        self.posts: dict[str, str] = {}  # title -> post id
        self.notices: dict[str, str] = {}  # title -> notice id
        self.rosters: dict[str, dict[str, dict[str, Any]]] = {}  # code -> call number -> row
        self.error: errors.ContactBookError | None = None
        self.result: Any = None
        self.sent_before = 0

    def _bootstrap_admin(self) -> contactbook.StaffPrincipal:
        self.book.staff.bootstrap_admin("agency.admin", "矯正署管理者", STAFF_PASSWORD)
        return self.book.staff.authenticate("agency.admin", STAFF_PASSWORD)

    def attempt(self, action: Callable[[], Any]) -> Any:
        """Run ``action``; keep its result or the ContactBookError it raised."""
        self.error = None
        self.result = None
        try:
            self.result = action()
        except errors.ContactBookError as exc:
            self.error = exc
        return self.result

    def facility_code(self, name: str) -> str:
        return self.facilities[name]

    def dispatch(self) -> None:
        self.book.messages.dispatch()

    def outbox(self) -> list[Any]:
        self.dispatch()
        return list(self.book.mailer.outbox)  # type: ignore[attr-defined]

    def mails_to(self, family: str) -> list[Any]:
        return [m for m in self.outbox() if m.to == self.emails[family]]


def _sqlite_available() -> bool:
    return importlib.util.find_spec("contactbook.adapters.storage.sqlalchemy") is not None


def make_book(
    wiring: str, tmp_path: Path, clock: MovableClock, template: Path | None = None
) -> contactbook.ContactBook:
    if wiring == "sqlite":
        database = tmp_path / "contactbook.db"
        if template is not None:
            shutil.copyfile(template, database)  # migrated once per session, not per scenario
        return contactbook.open(
            database=f"sqlite:///{database}",
            files=str(tmp_path / "files"),
            mail="memory://",
            sms="memory://",
            clock=clock,
            hasher=FastPasswordHasher(),
            migrate=template is None,
        )
    return contactbook.open(
        database="memory://",
        files="memory://",
        mail="memory://",
        sms="memory://",
        clock=clock,
        hasher=FastPasswordHasher(),
    )


@pytest.fixture(params=WIRINGS, autouse=True)
def wiring(request: pytest.FixtureRequest) -> str:
    """Autouse, so every scenario is collected once per wiring (steps ask for fixtures
    dynamically, which cannot be parametrised)."""
    if request.param == "sqlite" and not _sqlite_available():
        pytest.fail("the SQLite wiring needs contactbook.adapters.storage.sqlalchemy")
    return str(request.param)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty SQLite database at the current schema, copied for each scenario."""
    folder = tmp_path_factory.mktemp("sqlite-template")
    make_book("sqlite", folder, MovableClock(START)).close()
    return folder / "contactbook.db"


@pytest.fixture
def world(wiring: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[World]:
    clock = MovableClock(START)
    template = request.getfixturevalue("migrated_sqlite") if wiring == "sqlite" else None
    book = make_book(wiring, tmp_path, clock, template)
    try:
        yield World(book, clock)
    finally:
        book.close()


# -- time -----------------------------------------------------------------------


@given(parsers.parse('現在是台灣時間 "{moment}"'))
@when(parsers.parse('現在是台灣時間 "{moment}"'))
def now_is(world: World, moment: str) -> None:
    from contactbook.domain.time import TAIPEI

    world.clock.set(datetime.strptime(moment, "%Y/%m/%d %H:%M").replace(tzinfo=TAIPEI))


@given(parsers.parse("過了 {days:d} 天"))
@when(parsers.parse("過了 {days:d} 天"))
def days_pass(world: World, days: int) -> None:
    world.clock.advance(days=days)


@given(parsers.parse("過了 {hours:d} 小時"))
@when(parsers.parse("過了 {hours:d} 小時"))
def hours_pass(world: World, hours: int) -> None:
    world.clock.advance(hours=hours)


# -- facilities, roster and staff ----------------------------------------------------


@given(parsers.parse('矯正機關 "{name}"（代碼 {code}）已開辦家庭聯絡簿'))
def facility(world: World, name: str, code: str) -> None:
    world.book.facilities.add(world.admin, code, name)
    world.facilities[name] = code


@given(parsers.parse('少年矯正機關 "{name}"（代碼 {code}）已開辦家庭聯絡簿'))
def juvenile_facility(world: World, name: str, code: str) -> None:
    world.book.facilities.add(world.admin, code, name, is_juvenile=True)
    world.facilities[name] = code


def _roster_row(call_number: str, name: str, **extra: Any) -> dict[str, Any]:
    row = {
        "call_number": call_number,
        "name": name,
        "gender": "男",
        "custody_type": "受刑人",
        "education_grade": 4,
        "admitted_on": "2019-09-01",
        "admitted_here_on": "2019-09-17",
    }
    row.update(extra)
    return row


def add_inmates(world: World, facility_name: str, rows: list[dict[str, Any]]) -> None:
    """Add rows to the facility's roster; an import is the whole roster, so keep the rest."""
    code = world.facility_code(facility_name)
    roster = world.rosters.setdefault(code, {})
    for row in rows:
        roster[row["call_number"]] = _roster_row(**row)
    import_roster(world, code)
    for row in rows:
        world.inmates[row["call_number"]] = _inmate_id(world, code, row["call_number"])


def import_roster(world: World, code: str) -> contactbook.usecases.inmates.RosterReport:
    report = world.book.inmates.import_roster(
        world.admin, list(world.rosters[code].values()), facility_code=code
    )
    assert not report.rejected, report.rejected
    return report


def _inmate_id(world: World, code: str, call_number: str) -> str:
    with world.book.storage.unit_of_work() as uow:
        inmate = uow.inmates.current_by_call_number(code, call_number)
    assert inmate is not None
    return inmate.id


@given(
    parsers.parse(
        '"{facility_name}" 名冊有收容人 呼號 "{call_number}" 姓名 "{name}"，育有未成年子女'
    )
)
def inmate_with_children(world: World, facility_name: str, call_number: str, name: str) -> None:
    add_inmates(
        world,
        facility_name,
        [{"call_number": call_number, "name": name, "has_minor_children": True}],
    )


@given(parsers.parse('"{facility_name}" 名冊有收容人 呼號 "{call_number}" 姓名 "{name}"'))
def inmate_plain(world: World, facility_name: str, call_number: str, name: str) -> None:
    add_inmates(world, facility_name, [{"call_number": call_number, "name": name}])


@given(parsers.parse('"{facility_name}" 的審核人員 "{name}"（帳號 {username}）'))
def reviewer(world: World, facility_name: str, name: str, username: str) -> None:
    code = world.facility_code(facility_name)
    world.book.staff.create(
        world.admin,
        username,
        name,
        STAFF_PASSWORD,
        code,
        [contactbook.Role.REVIEWER, contactbook.Role.PUBLISHER],
    )
    world.staff[name] = world.book.staff.authenticate(username, STAFF_PASSWORD)


# -- families ----------------------------------------------------------------------------


def register_family(
    world: World, name: str, email: str, national_id: str, verify: bool = True
) -> None:
    world.book.accounts.register(
        contactbook.RegistrationForm(
            consent=True,
            name=name,
            birth_date=date(1985, 3, 14),
            national_id=national_id,
            email=email,
            password=FAMILY_PASSWORD,
            mobile="0912345678",
        )
    )
    world.emails[name] = email
    with world.book.storage.unit_of_work() as uow:
        account = uow.accounts.by_email(email.casefold())
    assert account is not None
    world.families[name] = world.book.accounts.principal(account.id)
    if verify:
        link = verification_link(world, name)
        world.book.accounts.verify_email(link.split("token=", 1)[1])


def verification_link(world: World, name: str) -> str:
    import re

    for mail in reversed(world.mails_to(name)):
        found = re.search(r"https?://\S+token=\S+", mail.body)
        if found:
            return found.group(0)
    raise AssertionError(f"no verification mail for {name}")


@given(parsers.parse('家屬 "{name}" 已註冊並完成驗證（Email {email}，身分證號 {national_id}）'))
def verified_family(world: World, name: str, email: str, national_id: str) -> None:
    register_family(world, name, email, national_id)


@given(parsers.parse('家屬 "{name}" 已註冊但尚未驗證（Email {email}，身分證號 {national_id}）'))
def unverified_family(world: World, name: str, email: str, national_id: str) -> None:
    register_family(world, name, email, national_id, verify=False)


def grant(
    world: World,
    family: str,
    facility_name: str,
    call_number: str,
    relationship: contactbook.Relationship = contactbook.Relationship.CHILD,
) -> None:
    """Apply for the contact book and have the facility's admin approve it."""
    book = world.book
    book.applications.apply(
        world.families[family],
        contactbook.ApplicationForm(
            facility_code=world.facility_code(facility_name),
            call_number=call_number,
            relationship=relationship,
            services=frozenset({contactbook.Service.CONTACT_BOOK}),
            id_document=contactbook.Upload.from_bytes("id.pdf", sample_pdf()),
            relationship_proof=contactbook.Upload.from_bytes("proof.png", sample_png()),
            frontal_photo=contactbook.Upload.from_bytes("photo.png", sample_png()),
        ),
    )
    queued = book.applications.queue(world.admin).items[0]
    book.applications.approve(world.admin, queued.id, None, queued.version)


@given(parsers.parse('"{family}" 已獲准對 "{facility_name}" 收容人 "{call_number}" 使用家庭聯絡簿'))
def granted(world: World, family: str, facility_name: str, call_number: str) -> None:
    grant(world, family, facility_name, call_number)


def publish(
    world: World,
    family: str,
    call_number: str,
    title: str,
    body: str,
    attachments: list[contactbook.Upload] | None = None,
) -> None:
    view = world.attempt(
        lambda: world.book.posts.publish(
            world.families[family],
            contactbook.PostDraft(
                inmate_id=world.inmates[call_number],
                title=title,
                body=body,
                attachments=attachments or [],
            ),
        )
    )
    if view is not None:
        world.posts[title] = view.id


@given(parsers.parse('"{family}" 已對收容人 "{call_number}" 發佈聯絡簿 "{title}"'))
def published(world: World, family: str, call_number: str, title: str) -> None:
    publish(world, family, call_number, title, f"{title} 內文")
    assert world.error is None, world.error


# -- outcomes --------------------------------------------------------------------------------


@then(parsers.parse('操作失敗，錯誤代碼為 "{code}"'))
def failed_with(world: World, code: str) -> None:
    assert world.error is not None, f"expected {code}, but it succeeded with {world.result!r}"
    assert world.error.code == code, f"expected {code}, got {world.error.code}: {world.error}"


@then(parsers.parse('操作失敗，錯誤類型為 {kind}，代碼為 "{code}"'))
def failed_with_kind(world: World, kind: str, code: str) -> None:
    assert world.error is not None, f"expected {kind}, but it succeeded with {world.result!r}"
    assert type(world.error).__name__ == kind, f"got {type(world.error).__name__}: {world.error}"
    assert world.error.code == code, f"expected {code}, got {world.error.code}"


@then("操作成功")
def succeeded(world: World) -> None:
    assert world.error is None, f"failed: {world.error}"


@then(parsers.parse('"{family}" 收到主旨含 "{text}" 的郵件'))
def got_mail(world: World, family: str, text: str) -> None:
    subjects = [m.subject for m in world.mails_to(family)]
    assert any(text in s for s in subjects), subjects


@then(parsers.parse('"{family}" 沒有收到主旨含 "{text}" 的郵件'))
def no_mail(world: World, family: str, text: str) -> None:
    subjects = [m.subject for m in world.mails_to(family)]
    assert not any(text in s for s in subjects), subjects
