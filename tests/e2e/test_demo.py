"""``make demo`` and ``contactbook demo seed``: the fictional data is seeded once, the
logins print on every start, and staff enroll the library's TOTP at their first
sign-in on the web (the set-up itself never needs an authenticator)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .conftest import web_modules

web_modules()

import pyotp  # noqa: E402
from click.testing import CliRunner  # noqa: E402
from examples.web.app import create_app, open_demo  # noqa: E402
from examples.web.seed import FAMILY_EMAIL, STAFF_PASSWORD  # noqa: E402
from starlette.testclient import TestClient  # noqa: E402

from contactbook.cli import main as cli  # noqa: E402


@pytest.fixture
def demo_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    mail = f"folder:{tmp_path / 'outbox'}"
    monkeypatch.setenv("CONTACTBOOK_DATABASE_URL", f"sqlite:///{tmp_path / 'demo.db'}")
    monkeypatch.setenv("CONTACTBOOK_FILES_URL", str(tmp_path / "files"))
    monkeypatch.setenv("CONTACTBOOK_MAIL_URL", mail)
    return mail


def _staff_sign_in(client: TestClient, code: str = "") -> str:
    page = client.get("/admin/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    response = client.post(
        "/admin/login",
        data={
            "csrf_token": token.group(1),
            "username": "klp.reviewer",
            "password": STAFF_PASSWORD,
            "code": code,
        },
        follow_redirects=False,
    )
    return str(response.headers.get("location", response.status_code))


def test_the_demo_seeds_once_and_staff_enroll_totp_on_the_web(demo_environment: str) -> None:
    book, logins = open_demo("http://127.0.0.1:8000", demo_environment, require_staff_totp=True)
    try:
        assert f"family:      {FAMILY_EMAIL} / a-long-family-passphrase" in logins
        assert f"staff:       klp.reviewer / {STAFF_PASSWORD}" in logins
        client = TestClient(create_app(book, secret_key="demo-" + "k" * 40))
        assert _staff_sign_in(client) == "/admin/totp"
        page = client.get("/admin/totp").text
        key = re.search(r'id="totp-secret">([A-Z2-7]+)<', page)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        assert key and token
        confirmed = client.post(
            "/admin/totp",
            data={"csrf_token": token.group(1), "code": pyotp.TOTP(key.group(1)).now()},
            follow_redirects=False,
        )
        assert confirmed.headers["location"] == "/admin"
    finally:
        book.close()

    # A second start seeds nothing and still prints the logins; the enrolled member
    # now needs a code with the password.
    book, again = open_demo("http://127.0.0.1:8000", demo_environment, require_staff_totp=True)
    try:
        assert again == logins
        client = TestClient(create_app(book, secret_key="demo-" + "k" * 40))
        assert _staff_sign_in(client) == "400"
    finally:
        book.close()


def test_contactbook_demo_seed_prints_the_logins(demo_environment: str) -> None:
    result = CliRunner().invoke(cli, ["demo", "seed"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"family:      {FAMILY_EMAIL}" in result.output
    assert "staff:       agency.admin" in result.output
