"""Shared fixtures."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

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
