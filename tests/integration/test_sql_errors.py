"""Bad input at the storage layer: an unreachable database, or one whose schema is not
this contactbook's, gives a clear error naming the URL (never the password) and what
to run."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

import contactbook
from contactbook.adapters.storage.sqlalchemy import (
    DatabaseUnavailable,
    SchemaNotCurrent,
    SqlAlchemyStorage,
    schema,
)
from contactbook.adapters.storage.sqlalchemy import engine as engine_module

PASSWORD = "s3cr3t-pw"

# Port 1 on the loopback: nothing listens there, so the connection is refused at once.
UNREACHABLE = [
    f"postgresql+psycopg://contactbook:{PASSWORD}@127.0.0.1:1/contactbook",
    f"mysql+pymysql://contactbook:{PASSWORD}@127.0.0.1:1/contactbook?charset=utf8mb4",
    f"mariadb+pymysql://contactbook:{PASSWORD}@127.0.0.1:1/contactbook",
]


@pytest.mark.parametrize("url", UNREACHABLE, ids=lambda url: url.split(":", 1)[0])
@pytest.mark.parametrize("migrate", [False, True], ids=["check", "migrate"])
def test_an_unreachable_database_names_the_url_without_the_password(
    url: str, migrate: bool
) -> None:
    with pytest.raises(DatabaseUnavailable) as raised:
        SqlAlchemyStorage.from_url(url, migrate=migrate)
    message = str(raised.value)
    hidden = make_url(url).render_as_string(hide_password=True)
    assert hidden in message
    assert "***" in message
    assert PASSWORD not in message
    assert PASSWORD not in raised.value.url
    assert isinstance(raised.value, RuntimeError)


def test_contactbook_open_reports_an_unreachable_database(tmp_path: Path) -> None:
    with pytest.raises(DatabaseUnavailable, match=r"127\.0\.0\.1:1") as raised:
        contactbook.open(
            database=UNREACHABLE[0],
            files=str(tmp_path / "files"),
            mail="memory://",
            sms="memory://",
        )
    assert PASSWORD not in str(raised.value)


def test_a_unit_of_work_on_a_database_gone_away_names_the_url() -> None:
    storage = SqlAlchemyStorage(UNREACHABLE[0])  # building it does no I/O
    try:
        with pytest.raises(DatabaseUnavailable) as raised, storage.unit_of_work():
            pass
        assert PASSWORD not in str(raised.value)
        assert "127.0.0.1:1" in str(raised.value)
    finally:
        storage.close()


def test_a_sqlite_folder_that_cannot_exist_is_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    with pytest.raises(DatabaseUnavailable, match="a-file"):
        SqlAlchemyStorage.from_url(f"sqlite:///{blocker / 'contactbook.db'}", migrate=True)


def _assert_says_what_to_run(error: SchemaNotCurrent) -> None:
    message = str(error)
    assert "contactbook db upgrade" in message
    assert "book.migrate()" in message
    assert error.expected == schema.head_revision()


def test_a_missing_sqlite_file_is_not_created_silently(tmp_path: Path) -> None:
    database = tmp_path / "nowhere" / "contactbook.db"
    with pytest.raises(SchemaNotCurrent) as raised:
        SqlAlchemyStorage.from_url(f"sqlite:///{database}")
    _assert_says_what_to_run(raised.value)
    assert str(database) in str(raised.value)
    assert "does not exist" in str(raised.value)
    assert not database.exists() and not database.parent.exists()


def test_an_empty_sqlite_database_is_not_migrated_silently(tmp_path: Path) -> None:
    database = tmp_path / "empty.db"
    sqlite3.connect(database).close()
    with pytest.raises(SchemaNotCurrent) as raised:
        SqlAlchemyStorage.from_url(f"sqlite:///{database}")
    _assert_says_what_to_run(raised.value)
    assert raised.value.current is None
    assert "no contactbook tables" in str(raised.value)


def test_migrate_true_creates_the_tables_and_folder(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'new' / 'contactbook.db'}"
    SqlAlchemyStorage.from_url(url, migrate=True).close()
    storage = SqlAlchemyStorage.from_url(url)  # now current: no error
    try:
        assert storage.schema_revision() == schema.head_revision()
    finally:
        storage.close()


def test_a_schema_from_a_newer_contactbook_says_so(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'future.db'}"
    storage = SqlAlchemyStorage.from_url(url, migrate=True)
    with storage.engine.begin() as connection:
        connection.execute(text(f"UPDATE {schema.VERSION_TABLE} SET version_num = 'ffff9999'"))
    storage.close()
    with pytest.raises(SchemaNotCurrent, match="newer contactbook") as raised:
        SqlAlchemyStorage.from_url(url)
    assert raised.value.current == "ffff9999"


@pytest.mark.parametrize("backend", ["postgresql", "mariadb"])
def test_an_unmigrated_server_database_names_the_url_without_the_password(
    backend: str, make_database_url: Callable[[str], str]
) -> None:
    url = make_url(make_database_url(backend))
    if backend == "postgresql":  # trust authentication: the password is not checked
        url = url.set(password=PASSWORD)
    with pytest.raises(SchemaNotCurrent) as raised:
        SqlAlchemyStorage.from_url(url)
    _assert_says_what_to_run(raised.value)
    message = str(raised.value)
    assert url.render_as_string(hide_password=True) in message
    assert PASSWORD not in message


def _backend_pid(storage: SqlAlchemyStorage) -> int:
    with storage.unit_of_work() as uow:
        return int(uow.connection.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _terminate(postgres_url: str, pid: int) -> None:
    killer = SqlAlchemyStorage(postgres_url)
    try:
        with killer.engine.connect() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        killer.close()


def test_a_pooled_connection_the_server_dropped_while_idle_is_replaced_unseen(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Idle past the threshold, a pooled connection is pinged before reuse: a dropped
    one is replaced and the unit of work never sees it."""
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_S", 0.0)
    storage = SqlAlchemyStorage(postgres_url)
    try:
        first = _backend_pid(storage)
        _terminate(postgres_url, first)
        second = _backend_pid(storage)  # no error: the ping found it dead
        assert second != first
        assert _backend_pid(storage) == second  # a live one is kept
    finally:
        storage.close()


def test_a_connection_used_moments_ago_is_not_pinged(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No round trip per unit of work: within the threshold the pool trusts the
    connection, and a drop shows as a DBAPI error on first use, after which the
    pool reconnects."""
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_S", 3600.0)
    storage = SqlAlchemyStorage(postgres_url)
    try:
        first = _backend_pid(storage)
        _terminate(postgres_url, first)
        with pytest.raises(DBAPIError):
            _backend_pid(storage)
        assert _backend_pid(storage) != first
    finally:
        storage.close()


def test_a_connection_dropped_under_a_driver_path_read_is_thrown_away(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A prebuilt read runs on the psycopg connection itself; when the server dropped
    it, the error is SQLAlchemy's and the connection is invalidated, as SQLAlchemy's
    own execution would do, so the next unit of work gets a live one."""
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_S", 3600.0)
    storage = SqlAlchemyStorage(postgres_url, fast_path=True)
    try:
        first = _backend_pid(storage)
        _terminate(postgres_url, first)
        with storage.unit_of_work() as uow:
            assert uow.runs_on_driver
            with pytest.raises(DBAPIError) as raised:
                uow.accounts.get("acc-nobody")
            assert raised.value.connection_invalidated
        assert _backend_pid(storage) != first
    finally:
        storage.close()


def test_after_a_server_restart_one_unit_of_work_fails_not_one_per_pooled_connection(
    make_database_url: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A disconnect met on the driver path retires the whole pool, as SQLAlchemy's own
    execution does: the connections pooled moments before it are not tried one by one."""
    monkeypatch.setattr(engine_module, "PING_AFTER_IDLE_S", 3600.0)
    url = make_database_url("postgresql")
    storage = SqlAlchemyStorage.from_url(url, migrate=True, fast_path=True)
    try:
        held = [storage.unit_of_work() for _ in range(3)]
        pids = []
        for uow in held:
            uow.__enter__()
            pid = uow.connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
            pids.append(int(pid))
        for uow in held:
            uow.__exit__(None, None, None)  # back to the pool, all three
        for pid in pids:
            _terminate(url, pid)
        outcomes = []
        for _ in range(3):
            try:
                with storage.unit_of_work() as uow:
                    assert uow.runs_on_driver
                    uow.accounts.get("acc-nobody")
                outcomes.append("ok")
            except DBAPIError:
                outcomes.append("error")
        assert outcomes == ["error", "ok", "ok"]
    finally:
        storage.close()


def test_execution_options_keep_sqlalchemys_own_execution(tmp_path: Path) -> None:
    """A schema_translate_map (or any execution option) changes what a statement means:
    the prebuilt statements then go through SQLAlchemy, which honours it."""
    storage = SqlAlchemyStorage.from_url(
        f"sqlite:///{tmp_path / 'book.db'}", migrate=True, fast_path=True
    )
    try:
        with storage.unit_of_work() as uow:
            assert uow.runs_on_driver
        storage.engine.update_execution_options(schema_translate_map={None: "main"})
        with storage.unit_of_work() as uow:
            assert not uow.runs_on_driver
            assert uow.facilities.get("F01") is None
    finally:
        storage.close()
