"""Web security of the example app, without a browser (Starlette's TestClient)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path
from typing import Any

import attrs
import pytest

import contactbook
from contactbook.testing import FastPasswordHasher, MovableClock, memory_book

from .conftest import FAMILY_PASSWORD, STAFF_PASSWORD, START, family_with_grant, web_modules

web_modules()

import pyotp  # noqa: E402
from examples.web.app import create_app  # noqa: E402
from examples.web.security import MAX_BODY_BYTES, content_disposition  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.routing import Route  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from .conftest import seed_facilities  # noqa: E402

EMAIL = "mei.chen@example.com"
SECRET = "test-secret-key-" + "s" * 32


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock(START)


@pytest.fixture
def book(clock: MovableClock) -> Iterator[contactbook.ContactBook]:
    book = memory_book(clock=clock, hasher=FastPasswordHasher())
    seed_facilities(book)
    family_with_grant(book, clock, "memory://", EMAIL, "陳美玲", "22345678")
    yield book
    book.close()


def client_for(book: contactbook.ContactBook, **options: Any) -> TestClient:
    base = "https://testserver" if options.get("https") else "http://testserver"
    app = create_app(book, secret_key=SECRET, **options)
    return TestClient(app, base_url=base, raise_server_exceptions=False)


def csrf(client: TestClient, path: str = "/login") -> str:
    page = client.get(path)
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def family_login(client: TestClient) -> None:
    token = csrf(client)
    response = client.post(
        "/login",
        data={"csrf_token": token, "email": EMAIL, "password": FAMILY_PASSWORD},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text


def staff_login(client: TestClient) -> None:
    token = csrf(client, "/admin/login")
    response = client.post(
        "/admin/login",
        data={"csrf_token": token, "username": "klp.reviewer", "password": STAFF_PASSWORD},
        follow_redirects=False,
    )
    assert response.status_code == 303


def set_cookie(response: Any) -> str:
    return str(response.headers.get("set-cookie", ""))


# -- headers and cookies ------------------------------------------------------------------


def test_every_page_carries_the_security_headers(book: contactbook.ContactBook) -> None:
    client = client_for(book)
    for path in (
        "/",
        "/login",
        "/register",
        "/admin/login",
        "/staff/reset-password",
        "/no-such-page",
    ):
        response = client.get(path)
        headers = response.headers
        assert headers["cache-control"] == "no-store", path
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["referrer-policy"] == "no-referrer"
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "script-src 'self'" in headers["content-security-policy"]
        assert "strict-transport-security" not in headers
    assert client.get("/static/app.css").headers["cache-control"].startswith("public")


def test_personal_pages_are_not_stored(book: contactbook.ContactBook) -> None:
    client = client_for(book)
    family_login(client)
    for path in ("/contactbook", "/notices", "/messages", "/services/status", "/account"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["pragma"] == "no-cache"


def test_session_cookie_is_httponly_and_samesite_lax(book: contactbook.ContactBook) -> None:
    cookie = set_cookie(client_for(book).get("/login"))
    assert cookie.startswith("cbsid=")
    parts = [p.strip() for p in cookie.split(";")]
    assert "HttpOnly" in parts and "SameSite=Lax" in parts and "Path=/" in parts
    assert "Secure" not in parts


def test_over_https_the_cookie_is_secure_and_host_prefixed(
    book: contactbook.ContactBook,
) -> None:
    response = client_for(book, https=True).get("/login")
    cookie = set_cookie(response)
    assert cookie.startswith("__Host-cbsid=")
    assert "Secure" in [p.strip() for p in cookie.split(";")]
    assert response.headers["strict-transport-security"].startswith("max-age=")


def test_a_forged_session_cookie_is_ignored(book: contactbook.ContactBook) -> None:
    client = client_for(book)
    client.cookies.set("cbsid", "made-up-session-id.signature")
    response = client.get("/contactbook", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login")


# -- sessions -----------------------------------------------------------------------------


def test_login_rotates_the_session_and_logout_ends_it(book: contactbook.ContactBook) -> None:
    client = client_for(book)
    client.get("/login")
    before = client.cookies.get("cbsid")
    family_login(client)
    after = client.cookies.get("cbsid")
    assert before and after and before != after
    assert client.get("/contactbook").status_code == 200

    planted = client_for(book)  # whoever held the pre-login id has nothing
    planted.cookies.set("cbsid", before)
    assert planted.get("/contactbook", follow_redirects=False).status_code == 303

    token = csrf(client, "/contactbook")
    assert (
        client.post("/logout", data={"csrf_token": token}, follow_redirects=False).status_code
        == 303
    )
    stolen = client_for(book)
    stolen.cookies.set("cbsid", after)
    assert stolen.get("/contactbook", follow_redirects=False).status_code == 303


def test_a_password_change_ends_other_sessions(book: contactbook.ContactBook) -> None:
    first, second = client_for(book), client_for(book)
    family_login(first)
    family_login(second)
    token = csrf(first, "/account")
    new_password = "another-long-family-passphrase"
    response = first.post(
        "/account/password",
        data={
            "csrf_token": token,
            "old_password": FAMILY_PASSWORD,
            "new_password": new_password,
            "new_password_confirm": new_password,
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert first.get("/contactbook").status_code == 200
    assert second.get("/contactbook", follow_redirects=False).status_code == 303


def test_login_redirects_only_to_this_site(book: contactbook.ContactBook) -> None:
    client = client_for(book)
    token = csrf(client)
    response = client.post(
        "/login?next=//evil.example/steal",
        data={"csrf_token": token, "email": EMAIL, "password": FAMILY_PASSWORD},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/"


# -- CSRF ---------------------------------------------------------------------------------


def test_every_post_route_refuses_a_post_without_the_token(book: contactbook.ContactBook) -> None:
    client = client_for(book)
    family_login(client)  # signed in, so only the token is missing
    app = client.app
    assert isinstance(app, Starlette)
    posts = [r for r in app.routes if isinstance(r, Route) and r.methods and "POST" in r.methods]
    assert len(posts) >= 20
    for route in posts:
        path = re.sub(r"\{[^}]+\}", "x", route.path)
        missing = client.post(path, data={"title": "x"}, follow_redirects=False)
        assert missing.status_code == 403, path
        wrong = client.post(path, data={"csrf_token": "guess"}, follow_redirects=False)
        assert wrong.status_code == 403, path


def test_a_token_from_another_session_is_refused(book: contactbook.ContactBook) -> None:
    mine, theirs = client_for(book), client_for(book)
    family_login(mine)
    token = csrf(theirs, "/login")
    response = mine.post(
        "/contactbook/new",
        data={"csrf_token": token, "title": "x", "body": "y"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert "請求遭拒" in response.text


# -- downloads and uploads ----------------------------------------------------------------


def test_content_disposition_follows_rfc_6266() -> None:
    header = content_disposition('測試 "照片";.png')
    assert header == (
        'attachment; filename="__ _____.png"; '
        "filename*=UTF-8''%E6%B8%AC%E8%A9%A6%20%22%E7%85%A7%E7%89%87%22%3B.png"
    )
    assert content_disposition("a.pdf", inline=True).startswith("inline;")


def test_attachments_are_served_through_the_use_cases_only(
    book: contactbook.ContactBook,
) -> None:
    client = client_for(book)
    family_login(client)
    reviewer = book.staff.authenticate("klp.reviewer", STAFF_PASSWORD)
    from contactbook.testing import sample_pdf

    notice = book.notices.publish(
        reviewer,
        contactbook.NoticeDraft(
            title="附件",
            body="附件下載",
            attachments=[contactbook.Upload.from_bytes("報名表.pdf", sample_pdf())],
        ),
    )
    (attachment,) = notice.attachments
    response = client.get(f"/notices/{notice.id}/attachments/{attachment.id}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["content-disposition"].endswith(
        "filename*=UTF-8''%E5%A0%B1%E5%90%8D%E8%A1%A8.pdf"
    )
    assert "sandbox" in response.headers["content-security-policy"]
    assert response.content == sample_pdf()
    assert client.get(f"/notices/{notice.id}/attachments/../../etc").status_code == 404
    assert client.get(f"/notices/{notice.id}/attachments/nope").status_code == 404


def test_an_upload_over_the_cap_is_refused(book: contactbook.ContactBook) -> None:
    client = client_for(book)
    family_login(client)
    token = csrf(client, "/contactbook/new")
    big = b"\x89PNG" + b"\0" * (MAX_BODY_BYTES + 1)
    response = client.post(
        "/contactbook/new",
        data={"csrf_token": token, "title": "大檔案", "body": "x"},
        files={"attachments": ("big.png", big, "image/png")},
    )
    assert response.status_code == 413, response.text[-600:]
    assert "25 MB" in response.text
    assert "大檔案" not in client.get("/contactbook").text


MIB = 1024 * 1024
BOUNDARY = b"cbboundary"
MULTIPART_HEAD = (
    b"--" + BOUNDARY + b"\r\n"
    b'Content-Disposition: form-data; name="attachments"; filename="big.png"\r\n'
    b"Content-Type: image/png\r\n\r\n"
)


def _asgi_post(app: Any, headers: list[tuple[bytes, bytes]], chunks: int) -> tuple[int, int]:
    """POST a multipart file of ``chunks`` MiB straight into the ASGI app: (status, chunks read)."""
    read = 0
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal read
        read += 1
        body = (MULTIPART_HEAD if read == 1 else b"") + b"a" * MIB
        return {"type": "http.request", "body": body, "more_body": read < chunks}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/contactbook/new",
        "raw_path": b"/contactbook/new",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"multipart/form-data; boundary=" + BOUNDARY),
            *headers,
        ],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    # In a thread of its own: Playwright's sync API may own this thread's event loop.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, app(scope, receive, send)).result()
    return status, read


def test_the_body_cap_holds_while_streaming(book: contactbook.ContactBook) -> None:
    app = create_app(book, secret_key=SECRET)
    declared = (b"content-length", str(100 * MIB).encode())
    status, read = _asgi_post(app, [declared], chunks=100)
    assert (status, read) == (413, 0)  # refused before one byte was read
    status, read = _asgi_post(app, [], chunks=100)  # no length given: counted as it comes
    assert status == 413
    assert read <= MAX_BODY_BYTES // MIB + 1  # stopped at the cap, not at 100 MiB


# -- errors -------------------------------------------------------------------------------


def test_errors_are_generic_pages(book: contactbook.ContactBook, monkeypatch: Any) -> None:
    client = client_for(book)
    missing = client.get("/no-such-page")
    assert missing.status_code == 404 and "查無此頁面或資料" in missing.text

    def explode() -> None:
        raise RuntimeError("secret-internal-detail")

    monkeypatch.setattr(book.accounts, "consent_notice", explode)
    crashed = client.get("/register")
    assert crashed.status_code == 500
    assert "系統發生錯誤" in crashed.text
    assert "secret-internal-detail" not in crashed.text and "Traceback" not in crashed.text

    family_login(client)
    gone = client.get("/notices/not-a-notice")
    assert gone.status_code == 404 and "查無資料。" in gone.text
    client.get("/lang/en?next=/")
    assert "Not found." in client.get("/notices/not-a-notice").text


def test_validation_errors_show_per_field_in_the_language_chosen(
    book: contactbook.ContactBook,
) -> None:
    client = client_for(book)
    client.get("/lang/en")
    token = csrf(client, "/register")
    client.post("/register", data={"csrf_token": token, "consent": "yes"})
    response = client.post(
        "/register/form",
        data={
            "csrf_token": token,
            "name": "王小明",
            "birth_date": "1985-03-14",
            "national_id": "A123456788",
            "email": "not-an-address",
            "password": FAMILY_PASSWORD,
            "password_confirm": FAMILY_PASSWORD,
        },
    )
    assert response.status_code == 400
    assert 'id="national_id-error"' in response.text and 'id="email-error"' in response.text
    assert "Sign in" in response.text


def test_pages_show_the_librarys_labels_in_the_language_chosen(
    book: contactbook.ContactBook,
) -> None:
    """Labels are the library's (``contactbook.label``): from the enum values a view
    carries, or from the catalog entry of a zh-TW label a view carries alone."""
    family = book.accounts.authenticate(EMAIL, FAMILY_PASSWORD)
    (target,) = book.posts.targets(family)
    post = book.posts.publish(family, contactbook.PostDraft(target.inmate_id, "近況", "一切都好。"))
    reviewer = book.staff.authenticate("klp.reviewer", STAFF_PASSWORD)
    reason = contactbook.PostRejectionReason.OFFICIAL_BUSINESS  # its zh-TW label has 、
    book.moderation.reject(reviewer, post.id, reason, "", post.version)
    (application,) = book.applications.list_mine(family).items
    shown = (
        contactbook.Relationship.SPOUSE,
        contactbook.Service.CONTACT_BOOK,
        contactbook.ApplicationStatus.APPROVED,
    )
    for lang, evidence in (("zh_TW", "身分證明文件"), ("en", "ID document")):
        client, staff = client_for(book), client_for(book)
        client.get(f"/lang/{lang}")
        family_login(client)
        posts = client.get("/contactbook").text
        assert contactbook.label(contactbook.PostStatus.REJECTED, lang) in posts
        assert contactbook.label(reason, lang) in posts
        status = client.get("/services/status").text
        assert all(contactbook.label(value, lang) in status for value in shown)
        staff.get(f"/lang/{lang}")
        staff_login(staff)
        sheet = staff.get(f"/admin/applications/{application.id}").text
        assert all(contactbook.label(value, lang) in sheet for value in shown)
        assert f"{evidence}：" in sheet


# -- staff TOTP ---------------------------------------------------------------------------


def staff_totp_login(client: TestClient, code: str) -> Any:
    token = csrf(client, "/admin/login")
    return client.post(
        "/admin/login",
        data={
            "csrf_token": token,
            "username": "klp.reviewer",
            "password": STAFF_PASSWORD,
            "code": code,
        },
        follow_redirects=False,
    )


@attrs.frozen
class TotpScene:
    """One SQLite database seen by two books: ``setup`` (no TOTP required) sets the scene
    and acts as the Agency admin; ``web`` requires staff TOTP, as the web example does."""

    clock: MovableClock
    setup: contactbook.ContactBook
    web: contactbook.ContactBook


@pytest.fixture
def totp_scene(tmp_path: Path) -> Iterator[TotpScene]:
    clock = MovableClock(START)
    database = f"sqlite:///{tmp_path / 'book.db'}"
    setup = memory_book(clock=clock, database=database, migrate=True)
    seed_facilities(setup)  # the scene, before anyone enrolled
    web = memory_book(
        clock=clock, database=database, settings=contactbook.Settings(require_staff_totp=True)
    )
    yield TotpScene(clock, setup, web)
    web.close()
    setup.close()


def enrollment_key(client: TestClient) -> str:
    """The authenticator key the enrollment page shows."""
    key = re.search(r'id="totp-secret">([A-Z2-7]+)<', client.get("/admin/totp").text)
    assert key
    return key.group(1)


def test_a_session_left_halfway_cannot_re_enroll_after_the_member_enrolled(
    totp_scene: TotpScene,
) -> None:
    """Password given in one browser, enrollment finished in another: the first one,
    left at the second step, is sent back to the login instead of getting a new key."""
    halfway, finished = client_for(totp_scene.web), client_for(totp_scene.web)
    staff_login(halfway)
    staff_login(finished)
    key = enrollment_key(finished)
    token = csrf(finished, "/admin/totp")
    code = pyotp.TOTP(key).at(totp_scene.clock.now())
    finished.post("/admin/totp", data={"csrf_token": token, "code": code})
    assert finished.get("/admin").status_code == 200
    late = halfway.get("/admin/totp", follow_redirects=False)
    assert late.headers["location"] == "/admin/login"
    assert halfway.get("/admin", follow_redirects=False).headers["location"] == "/admin/login"


def test_an_enrollment_left_halfway_ends_with_a_password_reset(totp_scene: TotpScene) -> None:
    """A password-only session at the enrollment step (a stolen password) cannot finish
    enrolling once the member's password was reset: it is sent back to the login."""
    stolen = client_for(totp_scene.web)
    staff_login(stolen)
    key = enrollment_key(stolen)
    token = csrf(stolen, "/admin/totp")
    setup = totp_scene.setup  # the member has the password reset
    admin = setup.staff.authenticate("agency.admin", STAFF_PASSWORD)
    reviewer = id_of(setup, "klp.reviewer")
    ticket = setup.staff.start_reset(admin, reviewer)
    assert ticket.token is not None
    setup.staff.complete_reset(reviewer, ticket.token, NEW_STAFF_PASSWORD)
    code = pyotp.TOTP(key).at(totp_scene.clock.now())
    ended = stolen.post(
        "/admin/totp", data={"csrf_token": token, "code": code}, follow_redirects=False
    )
    assert ended.headers["location"] == "/admin/login"
    assert stolen.get("/admin", follow_redirects=False).headers["location"] == "/admin/login"
    with setup.storage.unit_of_work() as uow:
        after = uow.staff.get(reviewer)
    assert after is not None and after.totp is None  # nothing was enrolled


def test_the_enrollment_page_of_a_deactivated_member_ends_its_session(
    totp_scene: TotpScene,
) -> None:
    """The key and recovery codes are not shown again once the account was closed."""
    halfway = client_for(totp_scene.web)
    staff_login(halfway)
    enrollment_key(halfway)
    setup = totp_scene.setup
    admin = setup.staff.authenticate("agency.admin", STAFF_PASSWORD)
    setup.staff.deactivate(admin, id_of(setup, "klp.reviewer"))
    again = halfway.get("/admin/totp", follow_redirects=False)
    assert again.status_code == 303 and again.headers["location"] == "/admin/login"
    assert 'id="totp-secret"' not in halfway.get("/admin/totp").text


def test_staff_enroll_the_librarys_totp_then_need_a_fresh_code_each_time(
    totp_scene: TotpScene,
) -> None:
    """TOTP is the library's (``Settings.require_staff_totp``): the first sign-in
    enrolls, and then the code is asked on the login form with the password, so the
    web never keeps a password between pages; a code is good once."""
    clock, totp_book = totp_scene.clock, totp_scene.web
    client = client_for(totp_book)
    staff_login(client)
    assert client.get("/admin", follow_redirects=False).headers["location"] == "/admin/totp"
    page = client.get("/admin/totp").text
    key = enrollment_key(client)
    recovery = re.findall(r"<li><code>([^<]+)</code></li>", page)
    assert len(recovery) == 10
    assert key in page  # the same key on reload
    token = csrf(client, "/admin/totp")
    wrong = client.post("/admin/totp", data={"csrf_token": token, "code": "000000"})
    assert wrong.status_code == 400
    code = pyotp.TOTP(key).at(clock.now())
    right = client.post(
        "/admin/totp", data={"csrf_token": token, "code": code}, follow_redirects=False
    )
    assert right.headers["location"] == "/admin"
    assert client.get("/admin").status_code == 200
    assert key not in client.get("/admin/totp", follow_redirects=True).text

    again = client_for(totp_book)
    no_code = staff_totp_login(again, "")
    assert no_code.status_code == 400  # enrolled: the password alone is not enough
    assert again.get("/admin", follow_redirects=False).status_code == 303
    replay = staff_totp_login(again, code)
    assert replay.status_code == 400  # a code is good once
    clock.advance(minutes=1)
    fresh = staff_totp_login(again, pyotp.TOTP(key).at(clock.now()))
    assert fresh.status_code == 303
    assert fresh.headers["location"] == "/admin"
    assert again.get("/admin").status_code == 200
    by_recovery = staff_totp_login(client_for(totp_book), recovery[0])
    assert by_recovery.headers["location"] == "/admin"


# -- staff sessions -------------------------------------------------------------------------


def sign_in_staff(
    client: TestClient, username: str, password: str = STAFF_PASSWORD, code: str = ""
) -> Any:
    token = csrf(client, "/admin/login")
    return client.post(
        "/admin/login",
        data={"csrf_token": token, "username": username, "password": password, "code": code},
        follow_redirects=False,
    )


def enroll_totp(book: contactbook.ContactBook, clock: MovableClock, username: str) -> str:
    """Enroll ``username``'s authenticator through the API; its secret, for codes."""
    principal = book.staff.authenticate(username, STAFF_PASSWORD)
    enrollment = book.staff.enroll_totp(principal)
    book.staff.confirm_totp(principal, pyotp.TOTP(enrollment.secret).at(clock.now()))
    clock.advance(minutes=1)  # the next code is a fresh one
    return enrollment.secret


def id_of(book: contactbook.ContactBook, username: str) -> str:
    admin = book.staff.authenticate("agency.admin", STAFF_PASSWORD)
    (member,) = [m for m in book.staff.members(admin) if m.username == username]
    return member.id


def signed_out(client: TestClient) -> bool:
    response = client.get("/admin", follow_redirects=False)
    return response.status_code == 303 and response.headers["location"] == "/admin/login"


def test_a_staff_session_ends_when_another_admin_clears_its_authenticator(
    book: contactbook.ContactBook, clock: MovableClock
) -> None:
    secret = enroll_totp(book, clock, "klp.reviewer")
    member, bystander = client_for(book), client_for(book)
    signed_in = sign_in_staff(member, "klp.reviewer", code=pyotp.TOTP(secret).at(clock.now()))
    assert signed_in.headers["location"] == "/admin"
    assert sign_in_staff(bystander, "agency.admin").headers["location"] == "/admin"
    assert member.get("/admin").status_code == 200

    admin = book.staff.authenticate("agency.admin", STAFF_PASSWORD)
    book.staff.clear_totp(admin, id_of(book, "klp.reviewer"))

    assert signed_out(member)
    assert signed_out(member)  # the ended session stays ended
    assert bystander.get("/admin").status_code == 200  # nobody else is signed out


def test_a_staff_session_ends_when_the_member_completes_a_password_reset(
    book: contactbook.ContactBook,
) -> None:
    member = client_for(book)
    staff_login(member)
    assert member.get("/admin").status_code == 200
    admin = book.staff.authenticate("agency.admin", STAFF_PASSWORD)
    reviewer = id_of(book, "klp.reviewer")
    ticket = book.staff.start_reset(admin, reviewer)
    assert ticket.token
    assert member.get("/admin").status_code == 200  # starting a reset ends nothing

    book.staff.complete_reset(reviewer, ticket.token, "a-brand-new-staff-passphrase")

    assert signed_out(member)
    again = client_for(book)
    sign_in_staff(again, "klp.reviewer", "a-brand-new-staff-passphrase")
    assert again.get("/admin").status_code == 200


# -- 人員管理 -------------------------------------------------------------------------------

PUBLISHER_EMAIL = "klp.publisher@example.com"


def add_staff(book: contactbook.ContactBook) -> None:
    """A facility admin and a publisher with an e-mail address at KLP, a DJS reviewer."""
    admin = book.staff.authenticate("agency.admin", STAFF_PASSWORD)
    for username, name, facility, roles, email in (
        ("klp.admin", "林管理", "KLP", [contactbook.Role.ADMIN], None),
        ("klp.publisher", "吳督導", "KLP", [contactbook.Role.PUBLISHER], PUBLISHER_EMAIL),
        ("djs.reviewer", "黃審核", "DJS", [contactbook.Role.REVIEWER], None),
    ):
        book.staff.create(admin, username, name, STAFF_PASSWORD, facility, roles, email=email)


def staff_row(page: str, username: str) -> str:
    """The table row of ``username`` on /admin/staff ("" when it is not listed)."""
    match = re.search(rf'<tr data-staff="{re.escape(username)}">.*?</tr>', page, re.DOTALL)
    return match.group(0) if match else ""


def state(row: str) -> str:
    """The 狀態 of a row of /admin/staff."""
    match = re.search(r'<td class="state">([^<]+)</td>', row)
    return match.group(1) if match else ""


def listed(page: str) -> set[str]:
    return set(re.findall(r'<tr data-staff="([^"]+)">', page))


NEW_STAFF_PASSWORD = "a-brand-new-staff-passphrase"


@contextlib.contextmanager
def _test_client_log_off() -> Iterator[None]:
    """The test client logs every request line, as a browser's history keeps it; a
    mailed link carries its token there by design. The app's own logs stay checked
    (and the server's access log is redacted: tests/e2e/test_access_log.py)."""
    client_log = logging.getLogger("httpx2")
    was = client_log.disabled
    client_log.disabled = True
    try:
        yield
    finally:
        client_log.disabled = was


def open_reset_link(client: TestClient, member_id: str, token: str) -> Any:
    """Open the reset link; the page it lands on (the token gone from the address)."""
    with _test_client_log_off():
        opened = client.get(
            "/staff/reset-password",
            params={"staff": member_id, "token": token},
            follow_redirects=False,
        )
    assert opened.status_code == 303 and opened.headers["location"] == "/staff/reset-password"
    page = client.get("/staff/reset-password")
    assert page.headers["cache-control"] == "no-store"
    assert token not in page.text.replace(f'name="token" value="{token}"', "")  # no link has it
    return page


def set_new_password(
    client: TestClient, member_id: str, token: str, password: str, confirm: str | None = None
) -> Any:
    """Open the link and send the form with the hidden fields it carries."""
    page = open_reset_link(client, member_id, token)
    hidden = dict(re.findall(r'type="hidden" name="(\w+)" value="([^"]*)"', page.text))
    assert hidden == {"csrf_token": hidden["csrf_token"], "staff": member_id, "token": token}
    return client.post(
        "/staff/reset-password",
        data={**hidden, "password": password, "password_confirm": confirm or password},
    )


def password_was_set(response: Any) -> bool:
    return (
        response.status_code == 200
        and "密碼已重設" in response.text
        and 'href="/admin/login"' in response.text
    )


def staff_post(client: TestClient, path: str, **data: str) -> Any:
    return client.post(path, data={"csrf_token": csrf(client, "/admin"), **data})


def test_the_staff_page_refuses_a_member_without_the_admin_role(
    book: contactbook.ContactBook,
) -> None:
    add_staff(book)
    client = client_for(book)
    staff_login(client)  # klp.reviewer: reviewer and publisher, not admin
    assert "人員管理" in client.get("/admin").text
    page = client.get("/admin/staff")
    assert page.status_code == 403
    assert "您的角色無法執行此操作。" in page.text
    refused = staff_post(client, f"/admin/staff/{id_of(book, 'klp.publisher')}/reset")
    assert refused.status_code == 403 and "您的角色無法執行此操作。" in refused.text
    book.messages.dispatch()
    assert not [m for m in book.mailer.outbox if m.to == PUBLISHER_EMAIL]  # type: ignore[attr-defined]


def test_a_facility_admin_manages_only_its_facilitys_staff(book: contactbook.ContactBook) -> None:
    add_staff(book)
    facility_admin, agency_admin = client_for(book), client_for(book)
    sign_in_staff(facility_admin, "klp.admin")
    page = facility_admin.get("/admin/staff")
    assert page.status_code == 200
    assert listed(page.text) == {"klp.admin", "klp.publisher", "klp.reviewer"}
    assert '<select name="facility"' not in page.text  # nothing to choose from
    row = staff_row(page.text, "klp.reviewer")
    cells = re.findall(r"<td>([^<]+)</td>", row)
    assert cells == ["klp.reviewer", "陳審核", "KLP", "發佈人員、審核人員", "未設定"]
    assert state(row) == "使用中"
    elsewhere = staff_post(facility_admin, f"/admin/staff/{id_of(book, 'djs.reviewer')}/reset")
    assert elsewhere.status_code == 404 and "查無資料。" in elsewhere.text
    assert facility_admin.get("/admin/staff?facility=DJS").status_code == 404

    sign_in_staff(agency_admin, "agency.admin")
    everyone = agency_admin.get("/admin/staff").text
    assert listed(everyone) == {
        "agency.admin",
        "djs.reviewer",
        "klp.admin",
        "klp.publisher",
        "klp.reviewer",
    }
    assert "矯正署" in staff_row(everyone, "agency.admin")
    assert '<select name="facility"' in everyone
    assert listed(agency_admin.get("/admin/staff?facility=DJS").text) == {"djs.reviewer"}


def test_a_reset_for_a_member_with_email_mails_the_link(book: contactbook.ContactBook) -> None:
    add_staff(book)
    client = client_for(book)
    sign_in_staff(client, "klp.admin")
    publisher = id_of(book, "klp.publisher")
    response = staff_post(client, f"/admin/staff/{publisher}/reset")
    assert response.status_code == 200 and response.url.path == "/admin/staff"
    assert "重設連結已寄至 kl*****。" in response.text
    book.messages.dispatch()
    (mail,) = [m for m in book.mailer.outbox if m.to == PUBLISHER_EMAIL]  # type: ignore[attr-defined]
    link = re.search(r"/staff/reset-password\?staff=(\S+)&token=(\S+)", str(mail.body))
    assert link and link.group(1) == publisher
    assert link.group(2) not in response.text  # the admin never sees the token
    assert password_was_set(
        set_new_password(client_for(book), publisher, link.group(2), NEW_STAFF_PASSWORD)
    )
    assert sign_in_staff(client_for(book), "klp.publisher", NEW_STAFF_PASSWORD).status_code == 303


def test_a_reset_for_a_member_without_email_shows_the_token_once(
    book: contactbook.ContactBook,
) -> None:
    client = client_for(book)
    sign_in_staff(client, "agency.admin")
    reviewer = id_of(book, "klp.reviewer")
    response = staff_post(client, f"/admin/staff/{reviewer}/reset", facility="KLP")
    assert response.status_code == 200
    token = re.search(r'id="reset-token">([^<]+)<', response.text)
    assert token
    assert f"staff={reviewer}&amp;token={token.group(1)}" in response.text  # the link to hand over
    assert response.headers["cache-control"] == "no-store"
    language_links = re.findall(r'href="(/lang/[^"]+)"', response.text)
    assert language_links and all("facility%3DKLP" in link for link in language_links)
    assert "當面交付本人" in response.text
    assert 'href="/admin/staff?facility=KLP"' in response.text
    assert token.group(1) not in client.get("/admin/staff").text

    signed_in_before = client_for(book)
    staff_login(signed_in_before)
    member = client_for(book)
    assert password_was_set(set_new_password(member, reviewer, token.group(1), NEW_STAFF_PASSWORD))
    assert signed_out(signed_in_before)  # the member's other sessions ended
    assert sign_in_staff(client_for(book), "klp.reviewer").status_code == 400
    assert sign_in_staff(member, "klp.reviewer", NEW_STAFF_PASSWORD).status_code == 303
    assert member.get("/admin").status_code == 200
    again = set_new_password(client_for(book), reviewer, token.group(1), "yet-another-passphrase")
    assert again.status_code == 400 and "連結無效或已過期" in again.text  # the link works once


def test_clearing_an_authenticator_on_the_staff_page_signs_the_member_out(
    book: contactbook.ContactBook, clock: MovableClock
) -> None:
    secret = enroll_totp(book, clock, "klp.reviewer")
    member, admin = client_for(book), client_for(book)
    sign_in_staff(member, "klp.reviewer", code=pyotp.TOTP(secret).at(clock.now()))
    assert member.get("/admin").status_code == 200
    sign_in_staff(admin, "agency.admin")
    row = staff_row(admin.get("/admin/staff").text, "klp.reviewer")
    assert "已設定" in row and "清除兩步驟驗證" in row
    reviewer = id_of(book, "klp.reviewer")
    response = staff_post(admin, f"/admin/staff/{reviewer}/clear-totp")
    assert response.status_code == 200 and "已清除兩步驟驗證" in response.text
    row = staff_row(response.text, "klp.reviewer")
    assert "未設定" in row and "清除兩步驟驗證" not in row
    assert signed_out(member)
    again = staff_post(admin, f"/admin/staff/{reviewer}/clear-totp")
    assert again.status_code == 409 and "無須清除" in again.text


def test_the_reset_page_refuses_a_wrong_token_and_changes_nothing(
    book: contactbook.ContactBook,
) -> None:
    admin = book.staff.authenticate("agency.admin", STAFF_PASSWORD)
    reviewer = id_of(book, "klp.reviewer")
    ticket = book.staff.start_reset(admin, reviewer)
    assert ticket.token
    member = client_for(book)
    staff_login(member)

    wrong = set_new_password(member, reviewer, "not-the-token", NEW_STAFF_PASSWORD)
    assert wrong.status_code == 400 and "連結無效或已過期，請重新申請。" in wrong.text
    assert member.get("/admin").status_code == 200  # still signed in: nothing changed
    assert sign_in_staff(client_for(book), "klp.reviewer", NEW_STAFF_PASSWORD).status_code == 400
    assert sign_in_staff(client_for(book), "klp.reviewer").status_code == 303

    fresh = client_for(book)
    no_link = fresh.get("/staff/reset-password")
    assert no_link.status_code == 400 and "連結無效或已過期" in no_link.text
    assert 'name="password"' not in no_link.text
    weak = set_new_password(fresh, reviewer, ticket.token, "short")
    assert weak.status_code == 400
    assert re.search(r'id="password-error">密碼至少需要 \d+ 個字元。<', weak.text)
    mismatch = set_new_password(fresh, reviewer, ticket.token, NEW_STAFF_PASSWORD, "different")
    assert mismatch.status_code == 400 and 'id="password_confirm-error"' in mismatch.text
    assert password_was_set(set_new_password(fresh, reviewer, ticket.token, NEW_STAFF_PASSWORD))


def role_form(page: str, username: str) -> tuple[str, list[str]]:
    """The 變更角色 form of ``username``'s row: its action and the roles ticked
    ("" and [] when the row has none)."""
    form = re.search(
        r'<form method="post" action="([^"]+/roles)".*?</form>',
        staff_row(page, username),
        re.DOTALL,
    )
    if not form:
        return "", []
    return form.group(1), re.findall(r'name="roles" value="(\w+)" checked', form.group(0))


def change_roles(client: TestClient, path: str, *roles: str, facility: str = "") -> Any:
    data = {"csrf_token": csrf(client, "/admin"), "facility": facility, "roles": list(roles)}
    return client.post(path, data=data)


def test_a_role_change_on_the_staff_page_applies_from_the_members_next_page(
    book: contactbook.ContactBook,
) -> None:
    member, admin = client_for(book), client_for(book)
    staff_login(member)  # klp.reviewer: reviewer and publisher
    assert member.get("/admin/posts").status_code == 200
    sign_in_staff(admin, "agency.admin")
    page = admin.get("/admin/staff?facility=KLP").text
    action, ticked = role_form(page, "klp.reviewer")
    assert action == f"/admin/staff/{id_of(book, 'klp.reviewer')}/roles"
    assert sorted(ticked) == ["publisher", "reviewer"]
    choices = re.findall(
        r'name="roles" value="\w+"[^>]*> ([^<]+)</label>', staff_row(page, "klp.reviewer")
    )
    assert choices == ["審核人員", "發佈人員", "系統管理者"]

    response = change_roles(admin, action, "publisher", facility="KLP")
    assert response.status_code == 200
    assert str(response.url).endswith("/admin/staff?facility=KLP")
    assert "已變更 klp.reviewer 的角色。" in response.text
    assert role_form(response.text, "klp.reviewer")[1] == ["publisher"]
    refused = member.get("/admin/posts")
    assert refused.status_code == 403 and "您的角色無法執行此操作。" in refused.text
    assert member.get("/admin/notices").status_code == 200  # still signed in, still a publisher

    english = client_for(book)
    english.get("/lang/en")
    sign_in_staff(english, "agency.admin")
    row = staff_row(english.get("/admin/staff").text, "klp.reviewer")
    assert all(contactbook.label(role, "en") in row for role in contactbook.Role)
    assert "Change roles" in row and state(row) == "Active"


def test_a_role_change_needs_a_role(book: contactbook.ContactBook) -> None:
    admin = client_for(book)
    sign_in_staff(admin, "agency.admin")
    path = f"/admin/staff/{id_of(book, 'klp.reviewer')}/roles"
    response = change_roles(admin, path, facility="KLP")
    assert response.status_code == 400 and "請至少指定一個角色。" in response.text
    assert listed(response.text) == {"klp.reviewer"}  # the filter kept
    assert sorted(role_form(response.text, "klp.reviewer")[1]) == ["publisher", "reviewer"]
    unknown = change_roles(admin, path, "reviewer", "superuser")
    assert unknown.status_code == 400 and "欄位值無效。" in unknown.text
    page = admin.get("/admin/staff").text
    assert sorted(role_form(page, "klp.reviewer")[1]) == ["publisher", "reviewer"]


def test_deactivation_signs_the_member_out_and_reactivation_lets_it_back_in(
    book: contactbook.ContactBook, clock: MovableClock
) -> None:
    secret = enroll_totp(book, clock, "klp.reviewer")

    def code() -> str:
        clock.advance(minutes=1)  # a fresh code each time
        return pyotp.TOTP(secret).at(clock.now())

    member, admin = client_for(book), client_for(book)
    sign_in_staff(member, "klp.reviewer", code=code())
    assert member.get("/admin").status_code == 200
    sign_in_staff(admin, "agency.admin")
    reviewer = id_of(book, "klp.reviewer")
    row = staff_row(admin.get("/admin/staff").text, "klp.reviewer")
    assert state(row) == "使用中" and "重設密碼" in row and "清除兩步驟驗證" in row
    assert f'action="/admin/staff/{reviewer}/deactivate"' in row and "重新啟用" not in row
    ticket = book.staff.start_reset(
        book.staff.authenticate("agency.admin", STAFF_PASSWORD), reviewer
    )
    assert ticket.token

    response = staff_post(admin, f"/admin/staff/{reviewer}/deactivate")
    assert response.status_code == 200
    assert "已停用 klp.reviewer：該人員已被登出，且無法再登入。" in response.text
    row = staff_row(response.text, "klp.reviewer")
    assert state(row) == "已停用" and "重新啟用" in row and "變更角色" in row
    assert "重設密碼" not in row and "清除兩步驟驗證" not in row and "/deactivate" not in row
    assert signed_out(member)
    refused = sign_in_staff(client_for(book), "klp.reviewer", code=code())
    assert refused.status_code == 400 and "帳號或密碼錯誤。" in refused.text
    again = staff_post(admin, f"/admin/staff/{reviewer}/deactivate")
    assert again.status_code == 409 and "此帳號已停用。" in again.text

    response = staff_post(admin, f"/admin/staff/{reviewer}/reactivate")
    assert response.status_code == 200 and "已重新啟用 klp.reviewer" in response.text
    row = staff_row(response.text, "klp.reviewer")
    assert state(row) == "使用中" and "重設密碼" in row and "重新啟用" not in row
    back = client_for(book)
    assert sign_in_staff(back, "klp.reviewer", code=code()).headers["location"] == "/admin"
    assert back.get("/admin").status_code == 200
    cancelled = set_new_password(client_for(book), reviewer, ticket.token, NEW_STAFF_PASSWORD)
    assert cancelled.status_code == 400  # deactivating cancelled the reset started before
    again = staff_post(admin, f"/admin/staff/{reviewer}/reactivate")
    assert again.status_code == 409 and "此帳號使用中，無須重新啟用。" in again.text


def test_an_admin_changes_neither_its_own_roles_nor_its_own_account(
    book: contactbook.ContactBook, clock: MovableClock
) -> None:
    me = id_of(book, "agency.admin")
    secret = enroll_totp(book, clock, "agency.admin")  # 清除兩步驟驗證 would apply, if not own
    admin = client_for(book)
    sign_in_staff(admin, "agency.admin", code=pyotp.TOTP(secret).at(clock.now()))
    row = staff_row(admin.get("/admin/staff").text, "agency.admin")
    assert "<td>已設定</td>" in row
    for action in ("變更角色", "停用", "清除兩步驟驗證", "重設密碼"):
        assert action not in row
    assert not re.search(rf"/admin/staff/{me}/(roles|deactivate|reactivate|clear-totp|reset)", row)
    own = "不能變更自己的帳號（角色、停用或重設密碼），請由另一位管理者辦理。"
    forged = change_roles(admin, f"/admin/staff/{me}/roles", "reviewer")
    assert forged.status_code == 403 and own in forged.text
    for action in ("deactivate", "reactivate", "reset"):
        forged = staff_post(admin, f"/admin/staff/{me}/{action}")
        assert forged.status_code == 403 and own in forged.text
    page = admin.get("/admin/staff")  # still signed in, still an admin
    assert page.status_code == 200 and state(staff_row(page.text, "agency.admin")) == "使用中"


def test_a_facility_admin_changes_only_its_facilitys_members(
    book: contactbook.ContactBook,
) -> None:
    add_staff(book)
    facility_admin = client_for(book)
    sign_in_staff(facility_admin, "klp.admin")
    elsewhere = id_of(book, "djs.reviewer")
    refused = [
        change_roles(facility_admin, f"/admin/staff/{elsewhere}/roles", "admin"),
        staff_post(facility_admin, f"/admin/staff/{elsewhere}/deactivate"),
        staff_post(facility_admin, f"/admin/staff/{elsewhere}/reactivate"),
    ]
    assert all(r.status_code == 404 and "查無資料。" in r.text for r in refused)
    agency = book.staff.authenticate("agency.admin", STAFF_PASSWORD)
    (untouched,) = book.staff.members(agency, "DJS")
    assert untouched.active and untouched.roles == {contactbook.Role.REVIEWER}

    publisher = f"/admin/staff/{id_of(book, 'klp.publisher')}"
    assert change_roles(facility_admin, f"{publisher}/roles", "reviewer").status_code == 200
    done = staff_post(facility_admin, f"{publisher}/deactivate")
    assert done.status_code == 200 and state(staff_row(done.text, "klp.publisher")) == "已停用"
    assert "<td>審核人員</td>" in staff_row(done.text, "klp.publisher")


# -- mailed links: the token leaves the address at once ------------------------------------


def _mailed_link(book: contactbook.ContactBook, path: str) -> str:
    book.messages.dispatch()
    mailer: Any = book.mailer
    bodies = [str(m.body) for m in mailer.outbox if m.to == EMAIL]
    found = [re.search(rf"https?://[^/\s]+({path}\?token=[\w\-]+)", b) for b in bodies]
    links = [m.group(1) for m in found if m]
    assert links, bodies
    return links[-1]


def test_a_family_reset_link_moves_its_token_out_of_the_address(
    book: contactbook.ContactBook,
) -> None:
    book.accounts.forgot_password(EMAIL)
    link = _mailed_link(book, "/reset-password")
    token = link.split("token=", 1)[1]
    client = client_for(book)
    with _test_client_log_off():
        opened = client.get(link, follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/reset-password"
    page = client.get("/reset-password")
    assert token not in page.text.replace(f'name="token" value="{token}"', "")
    client.get("/lang/en?next=%2Freset-password")  # the other language keeps the link
    english = client.get("/reset-password")
    assert f'name="token" value="{token}"' in english.text
    done = client.post(
        "/reset-password",
        data={
            "csrf_token": csrf(client, "/reset-password"),
            "token": token,
            "password": "a-brand-new-family-passphrase",
            "password_confirm": "a-brand-new-family-passphrase",
        },
        follow_redirects=False,
    )
    assert done.status_code == 303 and done.headers["location"] == "/login"
    assert book.accounts.authenticate(EMAIL, "a-brand-new-family-passphrase")


def test_the_verification_result_survives_a_language_switch(
    book: contactbook.ContactBook,
) -> None:
    book.accounts.register(
        contactbook.RegistrationForm(
            consent=True,
            name="李大華",
            birth_date=date(1985, 3, 14),
            national_id="A123456789",
            email="da.li@example.com",
            password=FAMILY_PASSWORD,
        )
    )
    book.messages.dispatch()
    mailer: Any = book.mailer
    body = next(str(m.body) for m in mailer.outbox if m.to == "da.li@example.com")
    found = re.search(r"https?://[^/\s]+(/verify\?token=[\w\-]+)", body)
    assert found
    client = client_for(book)
    with _test_client_log_off():
        opened = client.get(found.group(1), follow_redirects=False)
    assert opened.status_code == 303 and opened.headers["location"] == "/verify"
    assert "帳號驗證成功" in client.get("/verify").text
    client.get("/lang/en?next=%2Fverify")
    assert "Your account is verified." in client.get("/verify").text
    assert book.accounts.authenticate("da.li@example.com", FAMILY_PASSWORD)
    stranger = client_for(book).get("/verify")  # no link opened here: nothing verified
    assert stranger.status_code == 400


@pytest.mark.parametrize(
    "link",
    [
        "/verify?token=anything",
        "/reset-password?token=anything",
        "/staff/reset-password?staff=x&token=y",
    ],
)
def test_opening_a_mailed_link_while_signed_in_keeps_the_sign_in(
    book: contactbook.ContactBook, link: str
) -> None:
    """Any site can send a signed-in browser to a link page (SameSite=Lax sends the
    cookie on a top-level navigation): that must not sign the person out."""
    client = client_for(book)
    family_login(client)
    signed_in = client.cookies.get("cbsid")
    with _test_client_log_off():
        opened = client.get(link, follow_redirects=False)
    assert opened.status_code == 303
    assert client.get("/contactbook", follow_redirects=False).status_code == 200
    planted = client_for(book)  # the id from before the link holds nothing any more
    planted.cookies.set("cbsid", signed_in)
    assert planted.get("/contactbook", follow_redirects=False).status_code == 303
