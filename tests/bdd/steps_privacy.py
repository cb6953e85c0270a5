"""Steps of 個資權利 (export, correction, deletion and stop-processing requests,
retention) and 稽核紀錄 (what is audited, who may read it, tampering detected).

Quoted values are ``[^"]+`` regular expressions, as in the other step modules.
"矯正署管理者" is the Agency administrator every world starts with. Tampering
goes behind the library's back: straight into the SQLite file on the SQLite
wiring, into the committed tables on the memory wiring.
"""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date
from typing import Any

import attrs
from pytest_bdd import given, parsers, then, when

import contactbook
from contactbook import errors
from contactbook.domain.account import AccountStatus
from contactbook.domain.audit import AuditEvent
from contactbook.domain.post import PostStatus
from contactbook.domain.time import format_date
from contactbook.testing import sample_pdf, sample_png
from contactbook.usecases.personal_data import ERASED_BIRTH_DATE, RequestKind, read_export
from tests.bdd.world import FAMILY_PASSWORD, World, register_family

__all__: list[str] = []  # filled at the end: the step fixtures

Q = r'"(?P<{}>[^"]+)"'


def _re(template: str) -> Any:
    """``template`` with ``{name}`` for a quoted value, the rest literal."""
    parts = re.split(r"\{(\w+)\}", template)
    pattern = "".join(Q.format(p) if i % 2 else re.escape(p) for i, p in enumerate(parts))
    return parsers.re(pattern)


def _account_id(world: World, family: str) -> str:
    return world.families[family].account_id


def _stored_account(world: World, family: str) -> Any:
    with world.book.storage.unit_of_work() as uow:
        return uow.accounts.get(_account_id(world, family))


def _events(world: World, action: str | None = None) -> list[AuditEvent]:
    with world.book.storage.unit_of_work() as uow:
        events = list(uow.audit.in_order())
    return [e for e in events if action is None or e.action == action]


def _must(world: World, action: Any) -> Any:
    result = world.attempt(action)
    assert world.error is None, f"set-up step failed: {world.error}"
    return result


# -- export -------------------------------------------------------------------------------


@when(_re("{family} 下載自己的個人資料"))
def downloads_own_data(world: World, family: str) -> None:
    download = world.attempt(lambda: world.book.accounts.export_my_data(world.families[family]))
    if download is not None:
        world.result = download.stream.read()


def _exported(world: World) -> dict[str, Any]:
    assert isinstance(world.result, bytes), world.error
    return read_export(world.result)


@then(_re("下載的是 zip 檔，內含 {first} 與 {second}"))
def export_is_a_zip(world: World, first: str, second: str) -> None:
    assert isinstance(world.result, bytes), world.error
    names = zipfile.ZipFile(io.BytesIO(world.result)).namelist()
    assert {first, second} <= set(names), names


@then(_re("個人資料的身分證號為 {national_id}，Email 為 {email}"))
def export_profile(world: World, national_id: str, email: str) -> None:
    profile = _exported(world)["profile"]
    assert (profile["national_id"], profile["email"]) == (national_id, email)


@then(parsers.re(r"個人資料含 (?P<n>\d+) 筆服務項目申請與 (?P<files>\d+) 個佐證檔案"))
def export_applications(world: World, n: str, files: str) -> None:
    applications = _exported(world)["applications"]
    assert len(applications) == int(n)
    evidence = [e for a in applications for e in a["evidence"]]
    assert len(evidence) == int(files)
    archive = zipfile.ZipFile(io.BytesIO(world.result))
    assert all(archive.getinfo(e["path"]).file_size == e["size"] for e in evidence)


@then(_re("個人資料含聯絡簿 {title} 與其附件 {filename}"))
def export_post(world: World, title: str, filename: str) -> None:
    posts = {p["title"]: p for p in _exported(world)["posts"]}
    assert title in posts, list(posts)
    assert [a["filename"] for a in posts[title]["attachments"]] == [filename]


@then("個人資料含寄給本人的郵件紀錄")
def export_messages(world: World) -> None:
    messages = _exported(world)["messages"]
    profile = _exported(world)["profile"]
    assert messages and all(m["destination"] == profile["email"] for m in messages)


@then("個人資料含與本人有關的稽核紀錄")
def export_audit(world: World) -> None:
    actions = {e["action"] for e in _exported(world)["audit_events"]}
    assert {"account.register", "account.verify_email", "post.publish"} <= actions, actions


@then(_re("個人資料不含 {family} 的任何資料"))
def export_nothing_of(world: World, family: str) -> None:
    text = zipfile.ZipFile(io.BytesIO(world.result)).read("data.json").decode("utf-8")
    account = _stored_account(world, family)
    for value in (account.name, account.email.value, account.national_id.value, account.id):
        assert value not in text
    for title, post_id in world.posts.items():
        with world.book.storage.unit_of_work() as uow:
            post = uow.posts.get(post_id)
        if post is not None and post.author_id == account.id:
            assert title not in text


@then("個人資料不含密碼雜湊")
def export_no_hash(world: World) -> None:
    text = zipfile.ZipFile(io.BytesIO(world.result)).read("data.json").decode("utf-8")
    assert "password_hash" not in text and "fake$" not in text


# -- correction -----------------------------------------------------------------------------


@when(_re("{family} 將姓名更正為 {name}，手機更正為 {mobile}"))
def corrects_profile(world: World, family: str, name: str, mobile: str) -> None:
    world.attempt(
        lambda: world.book.accounts.update_profile(
            world.families[family], contactbook.ProfileChanges(name=name, mobile=mobile)
        )
    )


@then(_re("{family} 的基本資料姓名為 {name}，手機為 {mobile}"))
def profile_is(world: World, family: str, name: str, mobile: str) -> None:
    profile = world.book.accounts.profile(world.families[family])
    assert (profile.name, profile.mobile) == (name, mobile)


# -- deletion and stop-processing requests ------------------------------------------------------


@when(_re("{family} 申請刪除個人資料"))
def requests_deletion(world: World, family: str) -> None:
    world.attempt(lambda: world.book.accounts.request_deletion(world.families[family]))


@given(_re("{family} 已申請刪除個人資料"))
def requested_deletion(world: World, family: str) -> None:
    _must(world, lambda: world.book.accounts.request_deletion(world.families[family]))


@when(_re("{family} 申請停止蒐集、處理或利用個人資料"))
def requests_stop(world: World, family: str) -> None:
    request = world.attempt(
        lambda: world.book.personal_data.request_stop_processing(world.families[family])
    )
    if request is not None:
        world.result = request.due_on


@then(_re("處理期限為 {day}"))
def deadline_is(world: World, day: str) -> None:
    assert world.error is None, world.error
    assert isinstance(world.result, date), world.result
    assert format_date(world.result) == day


@then(
    parsers.re(
        r'矯正署管理者的待處理個資申請有 "(?P<masked>[^"]+)" 的(?P<kind>刪除|停止處理)申請，'
        r'申請日期 "(?P<requested>[^"]+)"，期限 "(?P<due>[^"]+)"'
    )
)
def open_request_listed(world: World, masked: str, kind: str, requested: str, due: str) -> None:
    wanted = {"刪除": RequestKind.DELETION, "停止處理": RequestKind.STOP_PROCESSING}[kind]
    requests = world.book.personal_data.deletion_requests(world.admin)
    found = [(r.name, r.kind, r.requested_on, format_date(r.due_on)) for r in requests]
    assert (masked, wanted, requested, due) in found, found


@then("矯正署管理者的待處理個資申請是空的")
def no_open_requests(world: World) -> None:
    assert world.book.personal_data.deletion_requests(world.admin) == []


def _complete(world: World, who: str, family: str, kind: str) -> Any:
    principal = world.admin if who == "矯正署管理者" else world.staff[who]
    account_id = _account_id(world, family)
    if kind == "刪除":
        return world.book.personal_data.complete_deletion(principal, account_id)
    return world.book.personal_data.complete_stop_processing(principal, account_id)


@when(
    parsers.re(
        r'(?P<who>矯正署管理者|"[^"]+" )完成 "(?P<family>[^"]+)" 的(?P<kind>刪除|停止處理)申請'
    )
)
def completes_request(world: World, who: str, family: str, kind: str) -> None:
    world.attempt(lambda: _complete(world, who.strip().strip('"'), family, kind))


@given(_re("矯正署管理者已完成 {family} 的刪除申請"))
def completed_request(world: World, family: str) -> None:
    _must(world, lambda: _complete(world, "矯正署管理者", family, "刪除"))


@then(_re("{family} 的帳號已關閉"))
def account_closed(world: World, family: str) -> None:
    assert _stored_account(world, family).status is AccountStatus.CLOSED


@then(_re("{family} 的帳號仍在使用中"))
def account_open(world: World, family: str) -> None:
    assert _stored_account(world, family).status is AccountStatus.ACTIVE


@then(_re("{family} 以原密碼登入被拒，錯誤代碼為 {code}"))
def login_refused(world: World, family: str, code: str) -> None:
    try:
        world.book.accounts.authenticate(world.emails[family], FAMILY_PASSWORD)
    except errors.ContactBookError as exc:
        assert exc.code == code, exc.code
    else:
        raise AssertionError(f"{family} could still log in")


@then(_re("{family} 以原密碼仍可登入"))
def login_works(world: World, family: str) -> None:
    world.book.accounts.authenticate(world.emails[family], FAMILY_PASSWORD)


@then(_re("{family} 的帳號資料已去識別化，姓名為 {masked}"))
def account_erased(world: World, family: str, masked: str) -> None:
    account = _stored_account(world, family)
    assert account.name == masked
    assert account.national_id.is_erased
    assert account.email.value != world.emails[family]
    assert account.email.value.endswith("@erased.example")
    assert account.mobile is None and account.phone is None
    assert account.birth_date == ERASED_BIRTH_DATE


@then(_re("{family} 的帳號仍保留原有資料"))
def account_kept(world: World, family: str) -> None:
    account = _stored_account(world, family)
    assert account.email.value == world.emails[family]
    assert not account.national_id.is_erased


@then(_re("{family} 上傳的佐證檔案與附件都已刪除"))
def files_gone(world: World, family: str) -> None:
    account_id = _account_id(world, family)
    with world.book.storage.unit_of_work() as uow:
        applications = uow.applications.list_by_applicant(account_id, after=None, limit=50)
        posts = uow.posts.list_by_author(account_id, status=None, after=None, limit=50)
        held = [f for a in applications for f in a.evidence]
        held += [f for p in posts for f in p.attachments]
    assert applications and not held
    listing = world.book.files.keys()
    stored = {key for key, _ in listing}
    left = {key for key in stored if key.startswith(("evidence", "posts/"))}
    others = _others_files(world, family)
    assert left == others, left - others


def _others_files(world: World, family: str) -> set[str]:
    """The stored keys of every other family's evidence and attachments."""
    keys: set[str] = set()
    for name, principal in world.families.items():
        if name == family:
            continue
        with world.book.storage.unit_of_work() as uow:
            for a in uow.applications.list_by_applicant(principal.account_id, after=None, limit=50):
                keys.update(k for f in a.evidence for k in (f.storage_key, f.thumbnail_key) if k)
            for p in uow.posts.list_by_author(
                principal.account_id, status=None, after=None, limit=50
            ):
                keys.update(k for f in p.attachments for k in (f.storage_key, f.thumbnail_key) if k)
    return keys


@then(_re("{family} 的聯絡簿 {title} 已撤回且內容已清除"))
def post_erased(world: World, family: str, title: str) -> None:
    with world.book.storage.unit_of_work() as uow:
        post = uow.posts.get(world.posts[title])
    assert post is not None and post.author_id == _account_id(world, family)
    assert post.status is PostStatus.WITHDRAWN
    assert (post.title, post.body, post.attachments) == ("", "", ())


@when(_re("家屬 {family} 以同一組 Email 與身分證號 {national_id} 重新註冊並完成驗證"))
def registers_again(world: World, family: str, national_id: str) -> None:
    old = _stored_account(world, family)
    register_family(world, family, world.emails[family], national_id)
    assert world.families[family].account_id != old.id


@then(_re("{family} 的帳號已不存在"))
def account_gone(world: World, family: str) -> None:
    assert _stored_account(world, family) is None


@given("系統執行保存期限清理")
@when("系統執行保存期限清理")
def applies_retention(world: World) -> None:
    world.result = world.book.maintenance.apply_retention()


# -- audit --------------------------------------------------------------------------------------


@when(_re("{family} 自 {origin} 登入"))
def logs_in_from(world: World, family: str, origin: str) -> None:
    with world.book.acting_from(origin):
        world.families[family] = world.book.accounts.authenticate(
            world.emails[family], FAMILY_PASSWORD
        )


@when(_re("有人自 {origin} 以 {family} 的 Email 輸入錯誤密碼登入"))
def wrong_login_from(world: World, origin: str, family: str) -> None:
    with world.book.acting_from(origin):
        world.attempt(
            lambda: world.book.accounts.authenticate(world.emails[family], "not-the-password!")
        )


@then(parsers.re(r'稽核紀錄最近 (?P<n>\d+) 筆 "(?P<action>[^"]+)" 的結果依序為 (?P<outcomes>.+)'))
def latest_outcomes(world: World, n: str, action: str, outcomes: str) -> None:
    events = _events(world, action)[-int(n) :]
    wanted = re.findall(r'"([^"]+)"', outcomes)
    assert [e.outcome for e in events] == wanted


@then(parsers.re(r'稽核紀錄最近 (?P<n>\d+) 筆 "(?P<action>[^"]+)" 的來源依序為 (?P<origins>.+)'))
def latest_origins(world: World, n: str, action: str, origins: str) -> None:
    events = _events(world, action)[-int(n) :]
    wanted = re.findall(r'"([^"]+)"', origins)
    assert [e.origin for e in events] == wanted


def _target_id(world: World, kind: str, name: str) -> str:
    if kind == "聯絡簿":
        return world.posts[name]
    if kind == "帳號":
        return _account_id(world, name)
    raise AssertionError(kind)


def _actor_id(world: World, name: str) -> str:
    if name in world.families:
        return _account_id(world, name)
    return world.staff[name].staff_id


@then(
    parsers.re(
        r'稽核紀錄有一筆 "(?P<action>[^"]+)"，對象為(?P<kind>聯絡簿|帳號) "(?P<name>[^"]+)"'
        r'(，執行者為 "(?P<actor>[^"]+)")?(?P<rest>.*)'
    )
)
def audited(world: World, action: str, kind: str, name: str, actor: str | None, rest: str) -> None:
    target = _target_id(world, kind, name)
    events = [e for e in _events(world, action) if e.target_id == target]
    assert events, [(e.action, e.target_id) for e in _events(world)][-10:]
    event = events[-1]
    if actor:
        assert event.actor_id == _actor_id(world, actor)
    for key, value in re.findall(r'，(\w+) 為 "([^"]+)"', rest):
        assert dict(event.details).get(key) == value, event.details


@when(_re("{name} 查看聯絡簿 {title} 申請人未遮罩的 {field}"))
def reveals(world: World, name: str, title: str, field: str) -> None:
    fields = {"身分證號": "applicant_national_id", "出生日期": "applicant_birth_date"}
    world.attempt(
        lambda: world.book.moderation.reveal(world.staff[name], world.posts[title], fields[field])
    )


@then(_re("看到的值為 {value}"))
def revealed(world: World, value: str) -> None:
    assert world.error is None, world.error
    assert world.result == value


@then(_re("審核頁面上家屬的身分證號為 {masked}，出生日期只顯示年份 {year}"))
def sheet_masked(world: World, masked: str, year: str) -> None:
    assert world.error is None, world.error
    sheet = world.result
    assert (sheet.family["national_id"], sheet.family["birth_date"]) == (masked, year)


@when(
    _re("{family} 申請對 {facility} 收容人 {call_number} 使用家庭聯絡簿，正面照片上傳 {filename}")
)
def applies_with_photo(
    world: World, family: str, facility: str, call_number: str, filename: str
) -> None:
    photo = sample_pdf() if filename.endswith(".pdf") else sample_png()
    world.attempt(
        lambda: world.book.applications.apply(
            world.families[family],
            contactbook.ApplicationForm(
                facility_code=world.facility_code(facility),
                call_number=call_number,
                relationship=contactbook.Relationship.CHILD,
                services=frozenset({contactbook.Service.CONTACT_BOOK}),
                id_document=contactbook.Upload.from_bytes("身分證.pdf", sample_pdf()),
                relationship_proof=contactbook.Upload.from_bytes("戶口名簿.png", sample_png()),
                frontal_photo=contactbook.Upload.from_bytes(filename, photo),
            ),
        )
    )


@then(
    parsers.re(
        r'稽核紀錄有一筆 "upload.rejected"，原因為 "(?P<reason>[^"]+)"，'
        r'檔名為 "(?P<name>[^"]+)"'
    )
)
def upload_audited(world: World, reason: str, name: str) -> None:
    [event] = _events(world, "upload.rejected")
    details = dict(event.details)
    assert (details["reason"], details["filename"]) == (reason, name)
    assert event.outcome == "failure"


@when(_re("{name} 查詢稽核紀錄"))
def staff_reads_audit(world: World, name: str) -> None:
    world.attempt(lambda: world.book.audit.events(world.staff[name]))


@when(_re("矯正署管理者查詢動作為 {action} 的稽核紀錄"))
def admin_reads_audit(world: World, action: str) -> None:
    world.attempt(lambda: world.book.audit.events(world.admin, action=action))


@then(parsers.re(r"查詢結果有 (?P<n>\d+) 筆，都是 (?P<who>\S+) 的 (?P<code>\S+) 拒絕"))
def audit_query_result(world: World, n: str, who: str, code: str) -> None:
    assert world.error is None, world.error
    events = world.result.items
    assert len(events) == int(n)
    staff_id = world.staff[who.strip('"')].staff_id
    assert all(e.actor_id == staff_id for e in events)
    assert all(dict(e.details)["code"] == code.strip('"') for e in events)


@then("稽核紀錄完整無誤")
def chain_intact(world: World) -> None:
    result = world.book.audit.verify()
    assert result.ok, result


def _tamper(world: World, action: str, how: str) -> int:
    """Change or remove the newest ``action`` event straight in the store; its seq."""
    event = _events(world, action)[-1]
    storage: Any = world.book.storage
    engine = getattr(storage, "engine", None)
    if engine is not None:  # SQLite: a statement on the database file
        from sqlalchemy import text

        statement = (
            "UPDATE audit SET outcome = 'failure' WHERE seq = :seq"
            if how == "修改"
            else "DELETE FROM audit WHERE seq = :seq"
        )
        with engine.begin() as connection:
            assert connection.execute(text(statement), {"seq": event.seq}).rowcount == 1
    else:  # memory: the committed table itself
        table = storage._committed.audit
        if how == "修改":
            table[event.id] = attrs.evolve(event, outcome="failure")
        else:
            del table[event.id]
    return event.seq


@when(parsers.re(r'有人直接在資料庫(?P<how>修改|刪除)最近一筆 "(?P<action>[^"]+)" 稽核紀錄'))
def tampers(world: World, how: str, action: str) -> None:
    world.result = _tamper(world, action, how)


@then("稽核紀錄驗證失敗，指出被竄改的那一筆")
def chain_broken_at_edit(world: World) -> None:
    result = world.book.audit.verify()
    assert not result.ok
    assert result.first_broken_seq == world.result


@then("稽核紀錄驗證失敗，指出缺漏處的下一筆")
def chain_broken_after_gap(world: World) -> None:
    result = world.book.audit.verify()
    assert not result.ok
    assert result.first_broken_seq == world.result + 1


__all__ = [name for name in dir() if name.startswith("pytestbdd_")]
