"""The web example served for real: uvicorn on a free loopback port, headless Chromium.

Each test gets a fresh SQLite database, file store and folder outbox under
``tmp_path`` and a movable clock. The browser is Debian's Chromium
(``/usr/bin/chromium``) driven by Playwright; without it the browser tests are
skipped with the reason — except with ``CI=true``, where they fail.
"""

from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest

import contactbook
from contactbook.testing import FastPasswordHasher, MovableClock, sample_pdf

CHROMIUM = os.environ.get("CONTACTBOOK_E2E_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    if os.environ.get("CONTACTBOOK_SAVE_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "contactbook-screenshots"
)
"""``make e2e`` refreshes docs/screenshots; other runs keep the tree clean."""
STAFF_PASSWORD = "correct-horse-battery-staple"
FAMILY_PASSWORD = "a-long-family-passphrase"
START = datetime(2020, 10, 7, 3, 11, tzinfo=UTC)


def unavailable(reason: str) -> None:
    """Skip with the reason printed, or fail when CI=true (CI must not test nothing)."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the browser tests must run)")
    print(f"\nSKIPPED browser tests: {reason}")
    pytest.skip(reason)


def web_modules() -> None:
    """The web extra must be installed (``pip install -e '.[dev,web]'``)."""
    for module in ("starlette", "jinja2", "uvicorn", "python_multipart", "itsdangerous", "pyotp"):
        try:
            __import__(module)
        except ImportError:
            unavailable(f"{module} is not installed: pip install -e '.[dev,web]'")


def national_id(letter: str, digits: str) -> str:
    """A valid Taiwanese ID: ``letter`` + 8 ``digits`` + the check digit."""
    codes = "ABCDEFGHJKLMNPQRSTUVXYWZIO"
    number = codes.index(letter) + 10
    values = [number // 10, number % 10, *map(int, digits)]
    weights = [1, 9, 8, 7, 6, 5, 4, 3, 2, 1]
    total = sum(v * w for v, w in zip(values, weights, strict=True))
    return f"{letter}{digits}{(10 - total % 10) % 10}"


@dataclass
class LiveServer:
    """The running app and what tests reach behind it (the book, clock, outbox)."""

    url: str
    book: contactbook.ContactBook
    clock: MovableClock
    outbox: Path
    mail_url: str
    ids: dict[str, Any] = field(default_factory=dict)

    def dispatch(self) -> None:
        self.book.messages.dispatch()

    def mails_to(self, address: str) -> list[EmailMessage]:
        self.dispatch()
        found = []
        for path in sorted(self.outbox.glob("*.eml")):
            message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
            assert isinstance(message, EmailMessage)
            if str(message["To"]) == address:
                found.append(message)
        return found

    def family_with_grant(
        self, email: str, name: str, id_digits: str, call_number: str = "0609"
    ) -> contactbook.FamilyPrincipal:
        """A verified family member holding an approved contact-book grant (via the API)."""
        return family_with_grant(
            self.book, self.clock, self.mail_url, email, name, id_digits, call_number
        )


def family_with_grant(
    book: contactbook.ContactBook,
    clock: MovableClock,
    mail_url: str,
    email: str,
    name: str,
    id_digits: str,
    call_number: str = "0609",
) -> contactbook.FamilyPrincipal:
    """Register, verify (the token read from the outbox), apply and approve via the API."""
    from examples.web.seed import demo_picture, verification_token

    book.accounts.register(
        contactbook.RegistrationForm(
            consent=True,
            name=name,
            birth_date=date(1984, 5, 6),
            national_id=national_id("A", id_digits),
            email=email,
            password=FAMILY_PASSWORD,
            notify_delivery=True,
        )
    )
    book.messages.dispatch()
    book.accounts.verify_email(verification_token(book, mail_url, email))
    principal = book.accounts.authenticate(email, FAMILY_PASSWORD)
    clock.advance(minutes=5)
    book.applications.apply(
        principal,
        contactbook.ApplicationForm(
            facility_code="KLP",
            call_number=call_number,
            relationship=contactbook.Relationship.SPOUSE,
            services=frozenset({contactbook.Service.CONTACT_BOOK}),
            id_document=contactbook.Upload.from_bytes("id.pdf", sample_pdf()),
            relationship_proof=contactbook.Upload.from_bytes("proof.png", demo_picture()),
            frontal_photo=contactbook.Upload.from_bytes("me.png", demo_picture()),
        ),
    )
    reviewer = book.staff.authenticate("klp.reviewer", STAFF_PASSWORD)
    pending = book.applications.queue(reviewer).items[0]
    clock.advance(minutes=30)
    book.applications.approve(reviewer, pending.id, None, pending.version)
    book.messages.dispatch()
    clock.advance(minutes=5)
    return principal


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def seed_facilities(book: contactbook.ContactBook) -> None:
    """Agency admin, 基隆監獄 (three documents a post) + a juvenile facility, roster, reviewer."""
    book.staff.bootstrap_admin("agency.admin", "矯正署管理者", STAFF_PASSWORD)
    admin = book.staff.authenticate("agency.admin", STAFF_PASSWORD)
    book.facilities.add(
        admin,
        "KLP",
        "基隆監獄",
        policy=contactbook.FacilityPolicy(attachment_profile=contactbook.DOCUMENTS_PROFILE),
    )
    book.facilities.add(admin, "DJS", "示範少年矯正學校", is_juvenile=True)
    book.staff.create(
        admin,
        "klp.reviewer",
        "陳審核",
        STAFF_PASSWORD,
        "KLP",
        [contactbook.Role.REVIEWER, contactbook.Role.PUBLISHER],
    )
    book.inmates.import_roster(
        admin,
        [
            {
                "call_number": "0609",
                "name": "李大華",
                "gender": "男",
                "custody_type": "受刑人",
                "education_grade": "4",
                "admitted_here_on": "2019-09-17",
                "has_minor_children": "是",
            },
            {"call_number": "0619", "name": "葉志明", "has_minor_children": "是"},
        ],
        facility_code="KLP",
    )
    book.inmates.import_roster(
        admin, [{"call_number": "0102", "name": "林小宇"}], facility_code="DJS"
    )


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[LiveServer]:
    web_modules()
    import uvicorn
    from examples.web.app import create_app

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    clock = MovableClock(START)
    outbox = tmp_path / "outbox"
    mail_url = f"folder:{outbox}"

    def open_book(*, require_staff_totp: bool) -> contactbook.ContactBook:
        return contactbook.open(
            database=f"sqlite:///{tmp_path / 'contactbook.db'}",
            files=str(tmp_path / "files"),
            mail=mail_url,
            clock=clock,
            migrate=True,
            hasher=FastPasswordHasher(),
            settings=contactbook.Settings(base_url=url, require_staff_totp=require_staff_totp),
        )

    # The web app's book requires staff TOTP; the tests set the scene through a second
    # book on the same database, as an embedding system's own jobs would, so staff
    # who have not enrolled yet can act there before their first sign-in on the web.
    book = open_book(require_staff_totp=False)
    seed_facilities(book)
    web_book = open_book(require_staff_totp=True)
    app = create_app(web_book, secret_key="e2e-" + "k" * 40)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield LiveServer(url, book, clock, outbox, mail_url)
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        web_book.close()
        book.close()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        unavailable(f"{CHROMIUM} is missing (apt-get install chromium fonts-noto-cjk)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("playwright is not installed: pip install -e '.[dev,web]'")
    playwright = sync_playwright().start()
    try:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except Exception as exc:
        playwright.stop()
        unavailable(f"{CHROMIUM} did not start: {exc}")
    try:
        yield launched
    finally:
        launched.close()
        playwright.stop()


@pytest.fixture
def new_page(browser: Any, live_server: LiveServer) -> Iterator[Any]:
    """Pages in separate browser contexts (one per person), zh-TW, 1280 wide."""
    contexts: list[Any] = []

    def make() -> Any:
        context = browser.new_context(
            base_url=live_server.url,
            viewport={"width": 1280, "height": 860},
            locale="zh-TW",
            accept_downloads=True,
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def screenshot(page: Any, name: str) -> None:
    """Save ``docs/screenshots/<name>.png`` (the README shows them)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
