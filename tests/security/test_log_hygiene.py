"""Nothing secret in logs (DOMAIN.md §5): no password, token, full national ID or
birth date, even with every logger at DEBUG and SQLAlchemy echoing statements and rows.

The whole suite runs under the capture of ``tests/conftest.py`` (root logger at DEBUG,
every line searched after each test; a finding fails the session). Here a full flow —
registration, verification, login (right and wrong), password reset, application with
evidence, post, review with reveals, delivery, export, deletion — is replayed on the
memory and the SQLite wiring with a capture of its own, and the lines are searched
for the very values the flow handled. A negative control shows the search would
catch a leak: a plain SQLAlchemy engine (without the storage's precautions) echoing
the same database gives the national ID and the birth date away.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

import contactbook
from contactbook.testing import sample_pdf, sample_png
from tests.conftest import LogHygiene, log_hygiene
from tests.security.conftest import STAFF_PASSWORD, open_book, outbox

NATIONAL_ID = "A123456789"
BIRTH_DATE = date(1985, 3, 14)
EMAIL = "ty.wang@example.com"
PASSWORD = "family-passphrase-2020"
NEW_PASSWORD = "a-completely-new-passphrase"
WRONG_PASSWORD = "not-the-right-passphrase"


class Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def texts(self) -> list[str]:
        out = []
        for record in self.records:
            line = f"{record.name} {record.getMessage()}"
            if record.exc_info and record.exc_info[1] is not None:
                line += f" {record.exc_info[1]!r}"
            out.append(line)
        return out


@pytest.fixture
def captured() -> Iterator[Lines]:
    """Every record at DEBUG, SQLAlchemy's engine and pool included, during the test."""
    handler = Lines()
    root = logging.getLogger()
    loud = ["sqlalchemy.engine", "sqlalchemy.pool", "alembic", "fsspec", "PIL", "pypdf"]
    levels = {name: logging.getLogger(name).level for name in loud}
    root_level = root.level
    root.setLevel(logging.DEBUG)
    for name in loud:
        logging.getLogger(name).setLevel(logging.DEBUG)
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(root_level)
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def _tokens(book: contactbook.ContactBook) -> list[str]:
    bodies = [mail.body for mail in outbox(book)]
    return [t for body in bodies for t in re.findall(r"token=([A-Za-z0-9_\-]+)", body)]


def _full_flow(book: contactbook.ContactBook) -> list[str]:
    """Everything a family member and the staff do with personal data; the tokens."""
    book.staff.bootstrap_admin("agency.admin", "矯正署管理者", STAFF_PASSWORD)
    admin = book.staff.authenticate("agency.admin", STAFF_PASSWORD)
    book.facilities.add(admin, "KLP", "基隆監獄")
    book.inmates.import_roster(
        admin,
        [{"call_number": "0609", "name": "李大華", "has_minor_children": True}],
        facility_code="KLP",
    )
    book.accounts.register(
        contactbook.RegistrationForm(
            consent=True,
            name="王小明",
            birth_date=BIRTH_DATE,
            national_id=NATIONAL_ID,
            email=EMAIL,
            password=PASSWORD,
            mobile="0912345678",
        )
    )
    book.accounts.verify_email(_tokens(book)[-1])
    with pytest.raises(contactbook.errors.AuthenticationFailed):
        book.accounts.authenticate(EMAIL, WRONG_PASSWORD)
    book.accounts.forgot_password(EMAIL)
    book.accounts.reset_password(_tokens(book)[-1], NEW_PASSWORD)
    family = book.accounts.authenticate(EMAIL, NEW_PASSWORD)
    application = book.applications.apply(
        family,
        contactbook.ApplicationForm(
            facility_code="KLP",
            call_number="0609",
            relationship=contactbook.Relationship.CHILD,
            services=frozenset({contactbook.Service.CONTACT_BOOK}),
            id_document=contactbook.Upload.from_bytes("身分證.pdf", sample_pdf()),
            relationship_proof=contactbook.Upload.from_bytes("戶口名簿.png", sample_png()),
            frontal_photo=contactbook.Upload.from_bytes("照片.png", sample_png()),
        ),
    )
    book.applications.open(admin, application.id)
    book.applications.approve(admin, application.id, None, application.version)
    target = book.posts.targets(family)[0]
    post = book.posts.publish(
        family,
        contactbook.PostDraft(inmate_id=target.inmate_id, title="爸爸好", body="我們都很好。"),
    )
    book.moderation.open(admin, post.id)
    for field in ("applicant_national_id", "applicant_birth_date", "applicant_name"):
        book.moderation.reveal(admin, post.id, field)
    approved = book.moderation.approve(admin, post.id, post.version)
    book.delivery.mark_delivered(admin, approved.id)
    with pytest.raises(contactbook.errors.NotFound):
        book.moderation.open(family, post.id)  # a refusal, audited
    book.accounts.export_my_data(family).stream.read()
    book.accounts.request_deletion(family)
    book.personal_data.complete_deletion(admin, family.account_id)
    with pytest.raises(contactbook.errors.AuthenticationFailed):
        book.accounts.authenticate(EMAIL, NEW_PASSWORD)
    book.messages.dispatch()
    assert book.audit.verify().ok
    return _tokens(book)


def _secrets(tokens: list[str]) -> list[str]:
    days = [BIRTH_DATE.isoformat(), BIRTH_DATE.strftime("%Y/%m/%d"), BIRTH_DATE.strftime("%Y%m%d")]
    return [NATIONAL_ID, PASSWORD, NEW_PASSWORD, WRONG_PASSWORD, STAFF_PASSWORD, *days, *tokens]


@pytest.mark.parametrize("wiring", ["memory", "sqlite"])
def test_a_full_flow_logs_no_secret(wiring: str, tmp_path: Path, captured: Lines) -> None:
    book = open_book(wiring, tmp_path)
    try:
        tokens = _full_flow(book)
    finally:
        book.close()
    assert len(tokens) >= 2  # verification and reset links were mailed
    lines = captured.texts()
    if wiring == "sqlite":  # the engine really echoed: the search had something to read
        assert any("INSERT INTO accounts" in line for line in lines)
        assert any(" Row " in line or "Row (values hidden)" in line for line in lines)
    leaks = [
        (secret[:3] + "…", line[:80])
        for line in lines
        for secret in _secrets(tokens)
        if secret in line
    ]
    assert not leaks, leaks
    detector = LogHygiene()
    assert not [line for line in lines if detector.leaks(line)]


def test_the_search_catches_an_engine_that_echoes_rows(tmp_path: Path) -> None:
    """Negative control: a plain engine on the same data leaks, and is caught."""
    book = open_book("sqlite", tmp_path)
    try:
        _full_flow_until_registered(book)
    finally:
        book.close()
    handler = Lines()
    leaky = logging.getLogger("sqlalchemy.engine.Engine.leaky")
    leaky.propagate = False  # keep the deliberate leak out of the session's capture
    leaky.addHandler(handler)
    engine = create_engine(
        f"sqlite:///{tmp_path / 'contactbook.db'}", echo="debug", logging_name="leaky"
    )
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT national_id, birth_date FROM accounts")).all()
    finally:
        engine.dispose()
        leaky.removeHandler(handler)
        leaky.handlers.clear()  # echo= added a stdout handler of its own
    detector = LogHygiene()
    detector.note_birth_date(BIRTH_DATE)
    found = [leak for line in handler.texts() for leak in detector.leaks(line)]
    assert any(leak.startswith("national ID A12345") for leak in found), found
    assert any(leak.startswith("secret 19") for leak in found), found


def _full_flow_until_registered(book: contactbook.ContactBook) -> None:
    book.accounts.register(
        contactbook.RegistrationForm(
            consent=True,
            name="王小明",
            birth_date=BIRTH_DATE,
            national_id=NATIONAL_ID,
            email=EMAIL,
            password=PASSWORD,
        )
    )


def test_the_whole_suite_runs_captured_at_debug(pytestconfig: pytest.Config) -> None:
    hygiene = log_hygiene(pytestconfig)
    if hygiene is None:
        pytest.skip("run through tests/conftest.py to capture the whole suite")
    root = logging.getLogger()
    assert root.level == logging.DEBUG
    assert hygiene.handler in root.handlers
    logging.getLogger("contactbook.test").debug("a line the capture must see")
    assert hygiene.lines or hygiene.checked_lines
    assert not hygiene.findings, hygiene.findings[:10]
