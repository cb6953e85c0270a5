"""Steps of the rule features: 使用規則, 逾期, 送達, 退件修改, 權限, 關鍵字標記.

Quoted values are matched with ``[^"]+`` (regular expressions, not ``parse``) so a
step with a longer tail — an attachment list, a body — is never swallowed by a
shorter step's last field. Action steps come in two forms: ``當 …`` tries the
action and keeps the refusal for the ``那麼`` steps; ``假設 … 已 …`` must succeed.
"""

from __future__ import annotations

import os
import re
import struct
import zlib
from collections.abc import Callable
from typing import Any

import attrs
import pytest
from pytest_bdd import given, parsers, then, when

import contactbook
from contactbook import errors
from contactbook.domain.facility import MB
from contactbook.testing import sample_jpeg, sample_pdf, sample_png
from contactbook.usecases.labels import label
from tests.bdd.world import STAFF_PASSWORD, World, import_roster, publish

Q = r'"(?P<{}>[^"]+)"'  # one quoted value, never crossing a quote


def _pattern(template: str) -> str:
    """``template`` as a regular expression, ``{name}`` standing for a quoted value."""
    return re.sub(r"\{(\w+)\}", lambda m: Q.format(m.group(1)), template)


def _re(template: str, tail: str = "") -> parsers.re:
    """A step parser: ``template`` (see ``_pattern``) followed by the raw regex ``tail``."""
    return parsers.re(_pattern(template) + tail)


# -- looking things up -------------------------------------------------------------------


def _by_label(enum_type: Any, text: str) -> Any:
    for member in enum_type:
        if label(member) == text:
            return member
    raise AssertionError(f"no {enum_type.__name__} is labelled {text!r}")


def _quoted_list(text: str) -> list[str]:
    """``"匯款"、"律師"`` → ``["匯款", "律師"]``."""
    items = re.findall(r'"([^"]+)"', text)
    assert items, f"no quoted values in {text!r}"
    return items


def _staff(world: World, name: str) -> contactbook.StaffPrincipal:
    return world.staff[name]


def _post_id(world: World, title: str) -> str:
    return world.posts[title]


def _stored_post(world: World, title: str) -> Any:
    with world.book.storage.unit_of_work() as uow:
        post = uow.posts.get(_post_id(world, title))
    assert post is not None, title
    return post


def _author(world: World, title: str) -> contactbook.FamilyPrincipal:
    author_id = _stored_post(world, title).author_id
    for principal in world.families.values():
        if principal.account_id == author_id:
            return principal
    raise AssertionError(f"no family wrote {title!r}")


def _notice_version(world: World, title: str) -> int:
    with world.book.storage.unit_of_work() as uow:
        notice = uow.notices.get(world.notices[title])
    assert notice is not None, title
    return int(notice.version)


def _try(world: World, action: Callable[[], Any]) -> Any:
    """Note how many mails had gone out, then attempt ``action`` (see ``World.attempt``)."""
    world.sent_before = len(world.outbox())
    return world.attempt(action)


def _must(world: World, action: Callable[[], Any]) -> Any:
    result = _try(world, action)
    assert world.error is None, f"set-up step failed: {world.error}"
    return result


# -- uploads -----------------------------------------------------------------------------


def _noise_png(size: int) -> bytes:
    """A valid RGB PNG of random pixels, about ``size`` bytes (noise does not compress)."""
    side = max(1, int((size / 3) ** 0.5))

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    rows = b"".join(b"\x00" + os.urandom(side * 3) for _ in range(side))
    header = struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, 0))
        + chunk(b"IEND", b"")
    )


def _sample_for(filename: str) -> bytes:
    extension = filename.rsplit(".", 1)[-1].lower()
    samples = {"png": sample_png, "jpg": sample_jpeg, "jpeg": sample_jpeg, "pdf": sample_pdf}
    return samples[extension]()


def _uploads(spec: str) -> list[contactbook.Upload]:
    """``"a.png"、8 MB 的 "b.png"``: sample files by extension; ``N MB 的`` makes a real
    image of about N MB, ``21 MB 的`` on its own a file padded past the limit."""
    uploads = []
    for sized, megabytes, filename in re.findall(r'((\d+) MB 的 )?"([^"]+)"', spec):
        if not sized:
            data = _sample_for(filename)
        elif int(megabytes) * MB > contactbook.SINGLE_PHOTO_PROFILE.max_total_bytes:
            # Over the limit on its own: refused on size, before anything decodes it.
            data = _sample_for(filename)
            data += b"\0" * (int(megabytes) * MB - len(data))
        else:
            data = _noise_png(int(megabytes) * MB)
        uploads.append(contactbook.Upload.from_bytes(filename, data))
    assert uploads, f"no files in {spec!r}"
    return uploads


# -- facilities, roster, staff, accounts -------------------------------------------------


def _set_policy(world: World, facility: str, **changes: Any) -> None:
    code = world.facility_code(facility)
    policy = world.book.facilities.policy(code)
    world.book.facilities.set_policy(world.admin, code, attrs.evolve(policy, **changes))


@given(_re("管理者將 {facility} 的附件設定改為文件模式"))
def documents_profile(world: World, facility: str) -> None:
    _set_policy(world, facility, attachment_profile=contactbook.DOCUMENTS_PROFILE)


@given(parsers.re(r'管理者將 "(?P<facility>[^"]+)" 的審核期限改為 (?P<days>\d+) 天'))
def review_deadline(world: World, facility: str, days: str) -> None:
    _set_policy(world, facility, review_deadline_days=int(days))


@given(_re("管理者將 {facility} 的關鍵字監看清單設為 ", r'(?P<words>".+")'))
def watch_list(world: World, facility: str, words: str) -> None:
    world.book.facilities.set_watch_keywords(
        world.admin, world.facility_code(facility), _quoted_list(words)
    )


@when(_re("{name} 將 {facility} 的關鍵字監看清單設為 ", r'(?P<words>".+")'))
def staff_sets_watch_list(world: World, name: str, facility: str, words: str) -> None:
    code = world.facility_code(facility)
    _try(
        world,
        lambda: world.book.facilities.set_watch_keywords(
            _staff(world, name), code, _quoted_list(words)
        ),
    )


def _restrict(world: World, facility: str, call_number: str, restrictions: list[str]) -> None:
    code = world.facility_code(facility)
    world.rosters[code][call_number]["restrictions"] = restrictions
    import_roster(world, code)


@given(_re("{facility} 名冊註記收容人 {call_number} 為 {restriction}"))
def restricted(world: World, facility: str, call_number: str, restriction: str) -> None:
    contactbook.Restriction(restriction)  # the roster's own codes only
    _restrict(world, facility, call_number, [restriction])


@when(_re("{facility} 名冊解除收容人 {call_number} 的所有註記"))
def unrestricted(world: World, facility: str, call_number: str) -> None:
    _restrict(world, facility, call_number, [])


@when(_re("{facility} 重新匯入名冊，不含收容人 {call_number}"))
def inmate_leaves(world: World, facility: str, call_number: str) -> None:
    code = world.facility_code(facility)
    del world.rosters[code][call_number]
    report = import_roster(world, code)
    assert report.left == 1, report


def _create_staff(
    world: World, facility_code: str | None, name: str, username: str, role_labels: str
) -> None:
    roles = [_by_label(contactbook.Role, text) for text in role_labels.split("、")]
    world.book.staff.create(world.admin, username, name, STAFF_PASSWORD, facility_code, roles)
    world.staff[name] = world.book.staff.authenticate(username, STAFF_PASSWORD)


@given(
    parsers.re(
        r'"(?P<facility>[^"]+)" 的人員 "(?P<name>[^"]+)"（帳號 (?P<username>[\w.]+)）'
        r'只有 "(?P<roles>[^"]+)" 角色'
    )
)
def facility_staff(world: World, facility: str, name: str, username: str, roles: str) -> None:
    _create_staff(world, world.facility_code(facility), name, username, roles)


@given(
    parsers.re(
        r'矯正署人員 "(?P<name>[^"]+)"（帳號 (?P<username>[\w.]+)）'
        r'具有 "(?P<roles>[^"]+)" 角色'
    )
)
def agency_staff(world: World, name: str, username: str, roles: str) -> None:
    _create_staff(world, None, name, username, roles)


def _member(world: World, name: str) -> Any:
    with world.book.storage.unit_of_work() as uow:
        member = uow.staff.get(world.staff[name].staff_id)
    assert member is not None, name
    return member


@when(_re("管理者停用 {name} 的帳號"))
def deactivate_staff(world: World, name: str) -> None:
    staff_id = world.staff[name].staff_id
    world.attempt(lambda: world.book.staff.deactivate(world.admin, staff_id))


@when(_re("管理者將 {name} 的角色改為 {roles}"))
def set_staff_roles(world: World, name: str, roles: str) -> None:
    staff_id = world.staff[name].staff_id
    wanted = [_by_label(contactbook.Role, text) for text in roles.split("、")]
    world.attempt(lambda: world.book.staff.set_roles(world.admin, staff_id, wanted))


@then(_re("{name} 以原密碼登入後臺被拒，錯誤代碼為 {code}"))
def staff_login_refused(world: World, name: str, code: str) -> None:
    username = _member(world, name).username
    with pytest.raises(errors.AuthenticationFailed) as refused:
        world.book.staff.authenticate(username, STAFF_PASSWORD)
    assert refused.value.code == code


@given(_re("{family} 已選擇接收送達通知"))
def wants_delivery_mail(world: World, family: str) -> None:
    world.book.accounts.update_profile(
        world.families[family], contactbook.ProfileChanges(notify_delivery=True)
    )


# -- applications ------------------------------------------------------------------------


def _relationship(text: str) -> tuple[contactbook.Relationship, int | None]:
    """``祖父母`` or ``親戚（3 親等）``."""
    degree = re.fullmatch(r"(.+)（(\d+) 親等）", text)
    if degree:
        return _by_label(contactbook.Relationship, degree.group(1)), int(degree.group(2))
    return _by_label(contactbook.Relationship, text), None


def _apply(world: World, family: str, relationship: str, facility: str, call_number: str) -> Any:
    kind, degree = _relationship(relationship)
    return world.book.applications.apply(
        world.families[family],
        contactbook.ApplicationForm(
            facility_code=world.facility_code(facility),
            call_number=call_number,
            relationship=kind,
            kinship_degree=degree,
            services=frozenset({contactbook.Service.CONTACT_BOOK}),
            id_document=contactbook.Upload.from_bytes("身分證.pdf", sample_pdf()),
            relationship_proof=contactbook.Upload.from_bytes("戶口名簿.png", sample_png()),
            frontal_photo=contactbook.Upload.from_bytes("正面照.jpg", sample_jpeg()),
        ),
    )


APPLY = "{family} 以 {relationship} 關係申請對 {facility} 收容人 {call_number} 使用家庭聯絡簿"


@when(_re(APPLY))
def applies(world: World, family: str, relationship: str, facility: str, call_number: str) -> None:
    _try(world, lambda: _apply(world, family, relationship, facility, call_number))


@given(_re(APPLY))
def applied(world: World, family: str, relationship: str, facility: str, call_number: str) -> None:
    _must(world, lambda: _apply(world, family, relationship, facility, call_number))


@given(_re("{family} 以 {relationship} 關係獲准對 {facility} 收容人 {call_number} 使用家庭聯絡簿"))
def granted_as(
    world: World, family: str, relationship: str, facility: str, call_number: str
) -> None:
    view = _must(world, lambda: _apply(world, family, relationship, facility, call_number))
    world.book.applications.approve(world.admin, view.id, None, view.version)


def _application(world: World, family: str, call_number: str) -> Any | None:
    mine = world.book.applications.list_mine(world.families[family], limit=100).items
    found = [a for a in mine if a.inmate.startswith(f"{call_number} ")]
    assert len(found) <= 1, found
    return found[0] if found else None


@when(_re("{name} 開啟 {family} 對收容人 {call_number} 的服務項目申請"))
def staff_opens_application(world: World, name: str, family: str, call_number: str) -> None:
    application = _application(world, family, call_number)
    assert application is not None
    _try(world, lambda: world.book.applications.open(_staff(world, name), application.id))


@when(_re("{name} 核准 {family} 對收容人 {call_number} 的服務項目申請"))
def staff_approves_application(world: World, name: str, family: str, call_number: str) -> None:
    application = _application(world, family, call_number)
    assert application is not None
    _try(
        world,
        lambda: world.book.applications.approve(
            _staff(world, name), application.id, None, application.version
        ),
    )


@then(_re("{family} 沒有對收容人 {call_number} 的服務項目申請"))
def no_application(world: World, family: str, call_number: str) -> None:
    assert _application(world, family, call_number) is None


@then(_re("{family} 對收容人 {call_number} 的服務項目申請狀態為 {status}"))
def application_status(world: World, family: str, call_number: str, status: str) -> None:
    application = _application(world, family, call_number)
    assert application is not None
    assert application.status_label == status, application


@then(_re("{name} 的服務項目申請待審清單是空的"))
def application_queue_empty(world: World, name: str) -> None:
    assert list(world.book.applications.queue(_staff(world, name)).items) == []


# -- posts: publishing -------------------------------------------------------------------


def _publish(
    world: World,
    family: str,
    call_number: str,
    title: str,
    body: str | None = None,
    attachments: list[contactbook.Upload] | None = None,
) -> None:
    world.sent_before = len(world.outbox())
    publish(
        world, family, call_number, title, f"{title} 內文" if body is None else body, attachments
    )


POST = "{family} 對收容人 {call_number} 發佈聯絡簿 {title}"


@when(_re(POST))
def posts(world: World, family: str, call_number: str, title: str) -> None:
    _publish(world, family, call_number, title)


@when(_re(POST + "，內文為 {body}"))
def posts_body(world: World, family: str, call_number: str, title: str, body: str) -> None:
    _publish(world, family, call_number, title, body)


@when(_re(POST, r"，內文為 (?P<count>\d+) 個「(?P<char>.)」"))
def posts_repeated(
    world: World, family: str, call_number: str, title: str, count: str, char: str
) -> None:
    _publish(world, family, call_number, title, char * int(count))


@when(_re(POST, r"，內文含字元 U\+(?P<code>[0-9A-F]{4,6})"))
def posts_with_character(
    world: World, family: str, call_number: str, title: str, code: str
) -> None:
    _publish(world, family, call_number, title, f"爸爸你好{chr(int(code, 16))}孩子們都很好")


@when(_re(POST, r"，附件為 (?P<files>.+)"))
def posts_files(world: World, family: str, call_number: str, title: str, files: str) -> None:
    _publish(world, family, call_number, title, attachments=_uploads(files))


@given(_re("{family} 已對收容人 {call_number} 發佈附有 {file} 的聯絡簿 {title}"))
def posted_with_file(world: World, family: str, call_number: str, file: str, title: str) -> None:
    _publish(world, family, call_number, title, attachments=_uploads(f'"{file}"'))
    assert world.error is None, world.error


@given(_re("{family} 已對收容人 {call_number} 發佈內文為 {body} 的聯絡簿 {title}"))
def posted_with_body(world: World, family: str, call_number: str, body: str, title: str) -> None:
    _publish(world, family, call_number, title, body)
    assert world.error is None, world.error


# -- posts: the family's side ------------------------------------------------------------


def _view(world: World, family: str, title: str) -> Any:
    return world.book.posts.get(world.families[family], _post_id(world, title))


@then(parsers.re(r'"(?P<family>[^"]+)" 的聯絡簿共 (?P<count>\d+) 則'))
def post_count(world: World, family: str, count: str) -> None:
    mine = world.book.posts.list_mine(world.families[family], limit=100).items
    assert len(mine) == int(count), [(p.title, p.status_label) for p in mine]


@then(_re("{family} 的聯絡簿 {title} 狀態為 {status}"))
def post_status(world: World, family: str, title: str, status: str) -> None:
    view = _view(world, family, title)
    assert view.status_label == status, view.status_label
    listed = world.book.posts.list_mine(world.families[family], limit=100).items
    assert [p.status_label for p in listed if p.id == view.id] == [status]


@then(parsers.re(r'"(?P<family>[^"]+)" 看到聯絡簿 "(?P<title>[^"]+)" 的內文共 (?P<n>\d+) 字'))
def body_length(world: World, family: str, title: str, n: str) -> None:
    assert len(_view(world, family, title).body) == int(n)


@then(parsers.re(r'"(?P<family>[^"]+)" 看到聯絡簿 "(?P<title>[^"]+)" 的內文共 (?P<n>\d+) 行'))
def body_lines(world: World, family: str, title: str, n: str) -> None:
    assert len(_view(world, family, title).body.split("\n")) == int(n)


@then(parsers.re(r'"(?P<family>[^"]+)" 看到聯絡簿 "(?P<title>[^"]+)" 有 (?P<n>\d+) 個附件'))
def attachment_count(world: World, family: str, title: str, n: str) -> None:
    assert len(_view(world, family, title).attachments) == int(n)


@then(_re("{family} 看到聯絡簿 {title} 的送達日期為 {day}"))
def delivered_on(world: World, family: str, title: str, day: str) -> None:
    view = _view(world, family, title)
    assert view.delivered_at is not None
    assert view.delivered_on == day, view.delivered_on


@then(_re("{family} 看到聯絡簿 {title} 尚未送達"))
def not_delivered(world: World, family: str, title: str) -> None:
    view = _view(world, family, title)
    assert view.delivered_at is None and view.delivered_on == "", view


@then(_re("{family} 看到聯絡簿 {title} 註明修改自聯絡簿 {old}"))
def revision_link(world: World, family: str, title: str, old: str) -> None:
    assert _view(world, family, title).revision_of == _post_id(world, old)


@then(_re("{family} 可發佈的對象不含收容人 {call_number}"))
def not_a_target(world: World, family: str, call_number: str) -> None:
    targets = world.book.posts.targets(world.families[family])
    assert world.inmates[call_number] not in [t.inmate_id for t in targets], targets


@when(_re("{family} 查看聯絡簿 {title}"))
def looks_at_post(world: World, family: str, title: str) -> None:
    _try(world, lambda: world.book.posts.get(world.families[family], _post_id(world, title)))


@when(parsers.re(r'"(?P<family>[^"]+)" 下載聯絡簿 "(?P<title>[^"]+)" 的第 (?P<n>\d+) 個附件'))
def downloads_attachment(world: World, family: str, title: str, n: str) -> None:
    post = _stored_post(world, title)
    attachment_id = post.attachments[int(n) - 1].id
    _try(world, lambda: world.book.posts.attachment(world.families[family], post.id, attachment_id))


@then(_re("下載的檔案名稱為 {filename}，類型為 {content_type}"))
def downloaded(world: World, filename: str, content_type: str) -> None:
    download = world.result
    assert download is not None, world.error
    assert (download.filename, download.content_type) == (filename, content_type)
    assert download.stream.read(8) == _sample_for(filename)[:8]


def _withdraw(world: World, family: str, title: str) -> Any:
    return world.book.posts.withdraw(world.families[family], _post_id(world, title))


@when(_re("{family} 撤回聯絡簿 {title}"))
def withdraws(world: World, family: str, title: str) -> None:
    _try(world, lambda: _withdraw(world, family, title))


@given(_re("{family} 已撤回聯絡簿 {title}"))
def withdrew(world: World, family: str, title: str) -> None:
    _must(world, lambda: _withdraw(world, family, title))


def _revise(world: World, family: str, old: str, title: str, body: str) -> Any:
    view = world.book.posts.revise(
        world.families[family],
        _post_id(world, old),
        contactbook.PostDraft(inmate_id="", title=title, body=body),
    )
    world.posts[title] = view.id
    return view


REVISE = "{family} 將聯絡簿 {old} 修改為 {title}"


@when(_re(REVISE + "，內文為 {body}"))
def revises(world: World, family: str, old: str, title: str, body: str) -> None:
    _try(world, lambda: _revise(world, family, old, title, body))


@when(_re(REVISE, r"，內文為 (?P<count>\d+) 個「(?P<char>.)」"))
def revises_repeated(
    world: World, family: str, old: str, title: str, count: str, char: str
) -> None:
    _try(world, lambda: _revise(world, family, old, title, char * int(count)))


@given(_re("{family} 已將聯絡簿 {old} 修改為 {title}，內文為 {body}"))
def revised(world: World, family: str, old: str, title: str, body: str) -> None:
    _must(world, lambda: _revise(world, family, old, title, body))


# -- posts: the back office --------------------------------------------------------------


def _approve(world: World, name: str, title: str) -> Any:
    post = _stored_post(world, title)
    return world.book.moderation.approve(_staff(world, name), post.id, post.version)


def _reject(world: World, name: str, reason: str, title: str) -> Any:
    post = _stored_post(world, title)
    return world.book.moderation.reject(
        _staff(world, name),
        post.id,
        _by_label(contactbook.PostRejectionReason, reason),
        "",
        post.version,
    )


def _deliver(world: World, name: str, title: str) -> Any:
    return world.book.delivery.mark_delivered(_staff(world, name), _post_id(world, title))


@when(_re("{name} 審核通過聯絡簿 {title}"))
def approves(world: World, name: str, title: str) -> None:
    _try(world, lambda: _approve(world, name, title))


@given(_re("{name} 已審核通過聯絡簿 {title}"))
def approved(world: World, name: str, title: str) -> None:
    _must(world, lambda: _approve(world, name, title))


@when(_re("{name} 以 {reason} 為由退回聯絡簿 {title}"))
def rejects(world: World, name: str, reason: str, title: str) -> None:
    _try(world, lambda: _reject(world, name, reason, title))


@given(_re("{name} 已以 {reason} 為由退回聯絡簿 {title}"))
def rejected(world: World, name: str, reason: str, title: str) -> None:
    _must(world, lambda: _reject(world, name, reason, title))


@when(_re("{name} 將聯絡簿 {title} 標記為已交由收容人查閱"))
def delivers(world: World, name: str, title: str) -> None:
    _try(world, lambda: _deliver(world, name, title))


@given(_re("{name} 已將聯絡簿 {title} 標記為已交由收容人查閱"))
def delivered(world: World, name: str, title: str) -> None:
    _must(world, lambda: _deliver(world, name, title))


@given(_re("聯絡簿 {title} 已成為 {status}"))
def post_in_state(world: World, title: str, status: str) -> None:
    """Drive a pending post into ``status`` the way it happens: a decision, a withdrawal,
    or its review deadline passing."""
    target = _by_label(contactbook.PostStatus, status)
    post_id = _post_id(world, title)
    post = _stored_post(world, title)
    book = world.book
    if target is contactbook.PostStatus.APPROVED:
        book.moderation.approve(world.admin, post_id, post.version)
    elif target is contactbook.PostStatus.REJECTED:
        book.moderation.reject(
            world.admin, post_id, contactbook.PostRejectionReason.INAPPROPRIATE, "", post.version
        )
    elif target is contactbook.PostStatus.WITHDRAWN:
        book.posts.withdraw(_author(world, title), post_id)
    elif target is contactbook.PostStatus.EXPIRED:
        world.clock.set(post.review_deadline)
        book.maintenance.expire_overdue()
    assert book.posts.get(_author(world, title), post_id).status is target


@given("系統執行逾期檢查")
@when("系統執行逾期檢查")
def expiry_runs(world: World) -> None:
    world.result = world.book.maintenance.expire_overdue()


@when(_re("{name} 開啟聯絡簿 {title} 的審核頁面"))
def opens_review_sheet(world: World, name: str, title: str) -> None:
    _try(world, lambda: world.book.moderation.open(_staff(world, name), _post_id(world, title)))


def _queue_item(world: World, name: str, title: str) -> Any | None:
    page = world.book.moderation.queue(_staff(world, name), limit=200)
    found = [item for item in page.items if item.post_id == _post_id(world, title)]
    return found[0] if found else None


@then(_re("{name} 的待審核清單有聯絡簿 {title}"))
def in_review_queue(world: World, name: str, title: str) -> None:
    item = _queue_item(world, name, title)
    assert item is not None and item.status_label == "待審核", item


@then(_re("{name} 的待審核清單沒有聯絡簿 {title}"))
def not_in_review_queue(world: World, name: str, title: str) -> None:
    assert _queue_item(world, name, title) is None


@then(
    parsers.re(
        r'"(?P<name>[^"]+)" 的待審核清單中聯絡簿 "(?P<title>[^"]+)" '
        r'標記了關鍵字 (?P<words>".+")'
    )
)
def flagged_in_queue(world: World, name: str, title: str, words: str) -> None:
    item = _queue_item(world, name, title)
    assert item is not None, f"{title} is not waiting for review"
    assert sorted(item.flagged_keywords) == sorted(_quoted_list(words)), item.flagged_keywords


@then(_re("{name} 的待審核清單中聯絡簿 {title} 沒有標記關鍵字"))
def not_flagged(world: World, name: str, title: str) -> None:
    item = _queue_item(world, name, title)
    assert item is not None, f"{title} is not waiting for review"
    assert item.flagged_keywords == (), item.flagged_keywords


@then(
    parsers.re(
        r'"(?P<name>[^"]+)" 開啟聯絡簿 "(?P<title>[^"]+)" 的審核頁面時'
        r'看到標記關鍵字 (?P<words>".+")'
    )
)
def flagged_on_sheet(world: World, name: str, title: str, words: str) -> None:
    sheet = world.book.moderation.open(_staff(world, name), _post_id(world, title))
    assert sorted(sheet.flagged_keywords) == sorted(_quoted_list(words))


@then(_re("{facility} 的關鍵字監看清單是空的"))
def watch_list_empty(world: World, facility: str) -> None:
    assert world.book.facilities.policy(world.facility_code(facility)).watch_keywords == ()


def _delivery_ids(world: World, name: str) -> list[str]:
    return [p.id for p in world.book.delivery.pending(_staff(world, name), limit=200).items]


@then(_re("{name} 的待送達清單有聯絡簿 {title}"))
def in_delivery_list(world: World, name: str, title: str) -> None:
    assert _post_id(world, title) in _delivery_ids(world, name)


@then(_re("{name} 的待送達清單沒有聯絡簿 {title}"))
def not_in_delivery_list(world: World, name: str, title: str) -> None:
    assert _post_id(world, title) not in _delivery_ids(world, name)


# -- notices -----------------------------------------------------------------------------


def _publish_notice(
    world: World, name: str, title: str, audience: contactbook.Audience | None = None
) -> Any:
    item = world.book.notices.publish(
        _staff(world, name),
        contactbook.NoticeDraft(title=title, body=f"{title} 機關聯絡簿內文", audience=audience),
    )
    world.notices[title] = item.id
    return item


@when(_re("{name} 發佈機關聯絡簿 {title}"))
def publishes_notice(world: World, name: str, title: str) -> None:
    _try(world, lambda: _publish_notice(world, name, title))


@given(_re("{name} 已發佈機關聯絡簿 {title}"))
def published_notice(world: World, name: str, title: str) -> None:
    _must(world, lambda: _publish_notice(world, name, title))


@when(_re("{name} 發佈給所有家屬的機關聯絡簿 {title}"))
def publishes_to_everyone(world: World, name: str, title: str) -> None:
    _try(world, lambda: _publish_notice(world, name, title, contactbook.Audience.everyone()))


@when(_re("{name} 將機關聯絡簿 {title} 的標題改為 {new_title}"))
def edits_notice(world: World, name: str, title: str, new_title: str) -> None:
    _try(
        world,
        lambda: world.book.notices.edit(
            _staff(world, name),
            world.notices[title],
            contactbook.NoticeChanges(title=new_title),
            _notice_version(world, title),
        ),
    )


@when(_re("{name} 刪除機關聯絡簿 {title}"))
def deletes_notice(world: World, name: str, title: str) -> None:
    _try(world, lambda: world.book.notices.delete(_staff(world, name), world.notices[title]))


@then(_re("機關聯絡簿 {title} 的標題仍為 {expected}"))
def notice_unchanged(world: World, title: str, expected: str) -> None:
    assert world.book.notices.get_admin(world.admin, world.notices[title]).title == expected


@then(_re("機關聯絡簿 {title} 不存在"))
def no_such_notice(world: World, title: str) -> None:
    listed = world.book.notices.list_admin(world.admin, limit=200).items
    assert title not in [n.title for n in listed]


@then(_re("{family} 看得到機關聯絡簿 {title}"))
def family_sees_notice(world: World, family: str, title: str) -> None:
    principal = world.families[family]
    cards = world.book.notices.list_for_family(principal).items
    assert title in [c.title for c in cards]
    assert world.book.notices.get_for_family(principal, world.notices[title]).title == title


@when(_re("{family} 查看機關聯絡簿 {title}"))
def family_opens_notice(world: World, family: str, title: str) -> None:
    _try(
        world,
        lambda: world.book.notices.get_for_family(world.families[family], world.notices[title]),
    )


# -- outcomes ----------------------------------------------------------------------------


@then(_re("畫面顯示的錯誤訊息為 {text}"))
def error_text(world: World, text: str) -> None:
    assert world.error is not None, f"expected a refusal, got {world.result!r}"
    assert world.error.message("zh_TW") == text


@then(_re("錯誤標示的欄位為 {field}"))
def error_field(world: World, field: str) -> None:
    assert isinstance(world.error, errors.ValidationError), world.error
    assert list(world.error.fields) == [field], world.error.fields


@then(_re("上傳被拒絕（UploadRejected），原因為 {reason}"))
def upload_refused(world: World, reason: str) -> None:
    assert isinstance(world.error, errors.UploadRejected), world.error or world.result
    assert world.error.reason == reason, world.error.reason


@then("沒有留下任何聯絡簿附件檔案")
def no_post_files(world: World) -> None:
    stored = world.book.files.keys()
    left = [key for key, _ in stored if key.startswith("posts/")]
    assert left == []


@then("這次操作沒有寄出任何郵件")
def nothing_sent(world: World) -> None:
    assert len(world.outbox()) == world.sent_before


__all__ = [name for name in dir() if name.startswith("pytestbdd_")]
