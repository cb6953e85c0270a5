"""Shared fixtures."""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# --- Database URLs for the SQL storage tests ------------------------------------------
#
# PostgreSQL and MariaDB tests run when CONTACTBOOK_TEST_POSTGRES_URL /
# CONTACTBOOK_TEST_MARIADB_URL name a server (any database on it: the tests make
# their own scratch databases there and drop them at the end). Unset, the tests
# are skipped with the reason — except with CI=true, where they fail, so CI
# cannot pass by quietly testing nothing.

SQL_BACKENDS = {
    "postgresql": "CONTACTBOOK_TEST_POSTGRES_URL",
    "mariadb": "CONTACTBOOK_TEST_MARIADB_URL",
}


def sql_server_url(backend: str) -> str:
    """The server URL configured for ``backend``, or skip (fail in CI) when unset."""
    variable = SQL_BACKENDS[backend]
    url = os.environ.get(variable, "").strip()
    if url:
        return url
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{variable} is not set, and CI=true needs the {backend} tests to run")
    pytest.skip(f"{variable} is not set: {backend} tests skipped")


def _create_database(server_url: str, backend: str) -> tuple[str, Callable[[], None]]:
    """A new empty database on ``server_url``'s server: its URL and how to drop it."""
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    url = make_url(server_url)
    name = f"cb_test_{uuid.uuid4().hex[:12]}"
    admin_url = url.set(database="postgres") if backend == "postgresql" else url.set(database=None)
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    create = f"CREATE DATABASE {name}"
    drop = f"DROP DATABASE IF EXISTS {name}"
    if backend == "postgresql":
        drop += " WITH (FORCE)"
    else:
        create += " CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
    with admin.connect() as connection:
        connection.exec_driver_sql(create)

    def dropper() -> None:
        try:
            with admin.connect() as connection:
                connection.exec_driver_sql(drop)
        finally:
            admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), dropper


@pytest.fixture(scope="session")
def make_database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], str]]:
    """``make_database_url(backend)``: the URL of a new, empty database of ``backend``
    (``"sqlite"``, ``"postgresql"`` or ``"mariadb"``), dropped when the session ends."""
    droppers: list[Callable[[], None]] = []

    def make(backend: str) -> str:
        if backend == "sqlite":
            folder = tmp_path_factory.mktemp("sqlite")
            return f"sqlite:///{Path(folder) / 'contactbook.db'}"
        url, dropper = _create_database(sql_server_url(backend), backend)
        droppers.append(dropper)
        return url

    yield make
    for dropper in reversed(droppers):
        dropper()


@pytest.fixture(scope="session")
def postgres_url(make_database_url: Callable[[str], str]) -> str:
    """A fresh empty PostgreSQL database for this session (skips/fails as above)."""
    return make_database_url("postgresql")


@pytest.fixture(scope="session")
def mariadb_url(make_database_url: Callable[[str], str]) -> str:
    """A fresh empty MariaDB database for this session (skips/fails as above)."""
    return make_database_url("mariadb")


# --- Log hygiene: the whole suite runs with logging captured at DEBUG --------------------
#
# DOMAIN.md §5: nothing secret in logs — no passwords, tokens, full national IDs or
# birth dates. The root logger is set to DEBUG for the whole session (so SQLAlchemy
# echoes statements and rows, and every library logs all it can) with a handler that
# keeps each record's text. The secrets the suite handles are noted as they appear —
# every password hashed, token or TOTP secret issued, national ID and birth date
# registered — and after each test the lines it logged are searched for them and for
# anything shaped like a valid national ID. A finding fails the session (the exit
# status) and is listed, masked, in the terminal summary; tests/security/
# test_log_hygiene.py replays a full flow and asserts the same on its own capture.

_LOG_HYGIENE_EXEMPT_LOGGERS = ("mail.log", "pytest_bdd")
"""Not this library's logs: test doubles for remote systems (aiosmtpd's receiving SMTP
server logs what it received, as a real mail server would) and pytest-bdd, which logs
each Gherkin step with the fictional data written in the feature."""


def _national_id_shaped(text: str) -> list[str]:
    from contactbook.domain.identifiers import NationalId
    from contactbook.errors import ValidationError

    found = []
    for candidate in _NATIONAL_ID_LIKE.findall(text):
        try:
            NationalId.parse(candidate)
        except ValidationError:
            continue
        found.append(candidate)
    return found


_NATIONAL_ID_LIKE = re.compile(r"(?<![A-Za-z0-9])[A-Z][0-9A-D][0-9]{8}(?![0-9])")
_TOKEN_LIKE = re.compile(r"[A-Za-z0-9_\-]{16,}")


class LogHygiene:
    """The capture and the secrets registry (a pytest plugin, registered globally so
    that it sees the items of ``features/`` too)."""

    def __init__(self) -> None:
        import logging

        self.lines: list[tuple[str, str]] = []  # (logger name, text)
        self.tokens: set[str] = set()  # long random strings: tokens, TOTP secrets
        self.phrases: set[str] = set()  # passwords, birth dates: searched as substrings
        self.findings: list[str] = []
        self.checked_lines = 0
        hygiene = self

        class Capture(logging.Handler):
            def emit(self, record: logging.LogRecord) -> None:
                if record.name.startswith(_LOG_HYGIENE_EXEMPT_LOGGERS):
                    return
                try:
                    text = record.getMessage()
                except Exception:  # a broken record is the library's bug, not a leak
                    text = str(record.msg)
                if record.exc_info and record.exc_info[1] is not None:
                    text += f" | {record.exc_info[1]!r}"
                hygiene.lines.append((record.name, text))

        self.handler = Capture(level=logging.DEBUG)

    # -- the secrets ---------------------------------------------------------------------

    def note_password(self, password: object) -> None:
        if isinstance(password, str) and len(password) >= 8:
            self.phrases.add(password)

    def note_token(self, token: object) -> None:
        if isinstance(token, str) and len(token) >= 16:
            self.tokens.add(token)

    def note_birth_date(self, day: object) -> None:
        from datetime import date

        if isinstance(day, date):
            self.phrases.update({day.isoformat(), day.strftime("%Y/%m/%d"), day.strftime("%Y%m%d")})

    # -- the search ----------------------------------------------------------------------

    def leaks(self, text: str) -> list[str]:
        """What ``text`` gives away, masked (the report must not leak it again)."""
        found = [f"national ID {value[:6]}****" for value in _national_id_shaped(text)]
        for run in _TOKEN_LIKE.findall(text):
            if any(token in run for token in self.tokens if len(token) <= len(run)):
                found.append(f"token {run[:4]}…")
        found.extend(f"secret {p[:2]}…" for p in self.phrases if p in text)
        return found

    def check(self, where: str) -> None:
        lines, self.lines = self.lines, []
        self.checked_lines += len(lines)
        for name, text in lines:
            for leak in self.leaks(text):
                self.findings.append(f"{where}: logger {name!r} logged a {leak}")

    # -- pytest hooks --------------------------------------------------------------------

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logfinish(self, nodeid: str) -> None:
        self.check(nodeid)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.check("session")
        if self.findings and session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.findings:
            terminalreporter.section("log hygiene: secrets in logs", red=True)
            for finding in self.findings[:50]:
                terminalreporter.line(finding)
            terminalreporter.line(f"{len(self.findings)} finding(s)")


def _note_calls(owner: type, name: str, note: Callable[..., None]) -> None:
    """Wrap ``owner.name`` so ``note(*args, result)`` sees every call."""
    import functools

    original = getattr(owner, name)

    @functools.wraps(original)
    def noting(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        note(*args[1:], *kwargs.values(), result)
        return result

    setattr(owner, name, noting)


def pytest_configure(config: pytest.Config) -> None:
    import logging

    from contactbook.adapters.security.argon2 import Argon2PasswordHasher
    from contactbook.adapters.security.tokens import SecretsTokenGenerator
    from contactbook.testing.fakes import FastPasswordHasher
    from contactbook.usecases.accounts import Accounts

    if config.pluginmanager.has_plugin("contactbook-log-hygiene"):
        return
    hygiene = LogHygiene()
    config.pluginmanager.register(hygiene, "contactbook-log-hygiene")
    root = logging.getLogger()
    root.setLevel(logging.DEBUG)
    root.addHandler(hygiene.handler)
    for hasher in (FastPasswordHasher, Argon2PasswordHasher):
        _note_calls(hasher, "hash", lambda password, _hash: hygiene.note_password(password))
    _note_calls(SecretsTokenGenerator, "new_token", lambda token: hygiene.note_token(token))

    def registered(form: Any, *_: Any) -> None:
        hygiene.note_password(getattr(form, "password", None))
        hygiene.note_birth_date(getattr(form, "birth_date", None))

    _note_calls(Accounts, "register", registered)
    try:
        from contactbook.adapters.security.totp import PyotpTotp
    except ImportError:  # pyotp not installed: no TOTP secrets to watch
        return
    _note_calls(PyotpTotp, "new_secret", lambda secret: hygiene.note_token(secret))


def log_hygiene(config: pytest.Config) -> LogHygiene | None:
    """The session's capture (None when this conftest did not configure the run)."""
    plugin = config.pluginmanager.get_plugin("contactbook-log-hygiene")
    return plugin if isinstance(plugin, LogHygiene) else None
