"""The storage contract against the SQL adapter: SQLite always, PostgreSQL and MariaDB
when their URLs are set (see ``tests/conftest.py``), plus what only SQL promises.

Each backend runs the contract twice: with the fast path (``TestSqliteStorage`` …) and
with SQLAlchemy's documented API only (``TestSqliteStoragePlain`` …; see
``adapters/storage/sqlalchemy/fast_path.py``). Both must pass on a SQLAlchemy release
before the pin in ``pyproject.toml`` admits it."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import attrs
import pytest
from sqlalchemy import text

from contactbook.adapters.storage.sqlalchemy import SqlAlchemyStorage, metadata
from contactbook.adapters.storage.sqlalchemy.columns import MYSQL_DIALECTS
from contactbook.ports.storage import Storage
from contactbook.testing.storage_contract import (
    FACILITY,
    INMATE,
    StorageContract,
    at,
    make_facility,
    make_notice,
    make_post,
    seed,
)


def _empty_tables(storage: SqlAlchemyStorage) -> None:
    """Delete every row (children first), keeping the migrated schema."""
    with storage.engine.begin() as connection:
        mysql = connection.dialect.name in MYSQL_DIALECTS
        if mysql:  # InnoDB checks foreign keys row by row, even within one DELETE
            connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 0")
        for table in reversed(metadata.sorted_tables):
            connection.execute(table.delete())
        if mysql:
            connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 1")


@pytest.fixture(scope="session")
def sqlite_template(make_database_url: Callable[[str], str]) -> Path:
    """A migrated, empty SQLite file; each test gets a copy (faster than migrating)."""
    url = make_database_url("sqlite")
    SqlAlchemyStorage.from_url(url, migrate=True).close()
    return Path(url.removeprefix("sqlite:///"))


def _sqlite_copy(template: Path, folder: Path, *, fast_path: bool) -> SqlAlchemyStorage:
    database = folder / "contactbook.db"
    shutil.copyfile(template, database)
    return SqlAlchemyStorage.from_url(f"sqlite:///{database}", fast_path=fast_path)


class TestSqliteStorage(StorageContract):
    fast_path = True

    @pytest.fixture
    def storage(self, sqlite_template: Path, tmp_path: Path) -> Iterator[Storage]:
        storage = _sqlite_copy(sqlite_template, tmp_path, fast_path=self.fast_path)
        yield storage
        storage.close()


class TestSqliteStoragePlain(TestSqliteStorage):
    fast_path = False


ServerStorage = Callable[[str, bool], SqlAlchemyStorage]


@pytest.fixture(scope="session")
def server_storage() -> Iterator[ServerStorage]:
    """``server_storage(url, fast_path)``: one migrated storage per database and switch
    position for the session, its tables emptied before each test."""
    storages: dict[tuple[str, bool], SqlAlchemyStorage] = {}

    def get(url: str, fast_path: bool) -> SqlAlchemyStorage:
        if (url, fast_path) not in storages:
            storages[url, fast_path] = SqlAlchemyStorage.from_url(
                url, migrate=True, fast_path=fast_path
            )
        storage = storages[url, fast_path]
        _empty_tables(storage)
        return storage

    yield get
    for storage in storages.values():
        storage.close()


class TestPostgresStorage(StorageContract):
    fast_path = True

    @pytest.fixture
    def storage(self, server_storage: ServerStorage, postgres_url: str) -> Storage:
        return server_storage(postgres_url, self.fast_path)


class TestPostgresStoragePlain(TestPostgresStorage):
    fast_path = False


class TestMariadbStorage(StorageContract):
    fast_path = True

    @pytest.fixture
    def storage(self, server_storage: ServerStorage, mariadb_url: str) -> Storage:
        return server_storage(mariadb_url, self.fast_path)


class TestMariadbStoragePlain(TestMariadbStorage):
    fast_path = False


# --- What only the SQL adapter promises (on SQLite; the backends share the code) --------


@pytest.fixture(params=[True, False], ids=["fast", "plain"])
def sqlite_storage(
    sqlite_template: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[SqlAlchemyStorage]:
    storage = _sqlite_copy(sqlite_template, tmp_path, fast_path=request.param)
    yield storage
    storage.close()


def test_repositories_refuse_use_outside_the_with_block(sqlite_storage: SqlAlchemyStorage) -> None:
    uow = sqlite_storage.unit_of_work()
    with pytest.raises(RuntimeError, match="not open"):
        uow.facilities.get(FACILITY)
    with uow:
        pass
    with pytest.raises(RuntimeError, match="not open"):
        uow.commit()


def test_an_open_unit_of_work_cannot_be_entered_again(sqlite_storage: SqlAlchemyStorage) -> None:
    with sqlite_storage.unit_of_work() as uow, pytest.raises(RuntimeError), uow:
        pass


def test_every_on_rollback_callback_runs_even_if_one_fails(
    sqlite_storage: SqlAlchemyStorage,
) -> None:
    calls: list[str] = []

    def failing() -> None:
        raise OSError("file already gone")

    with pytest.raises(OSError, match="already gone"), sqlite_storage.unit_of_work() as uow:
        uow.on_rollback(failing)
        uow.on_rollback(lambda: calls.append("second"))
    assert calls == ["second"]


def test_a_failed_add_leaves_the_transaction_usable(sqlite_storage: SqlAlchemyStorage) -> None:
    """The SAVEPOINT around each insert: a duplicate does not spoil the rest."""
    from contactbook.errors import Conflict
    from contactbook.testing.storage_contract import OTHER_FACILITY

    seed(sqlite_storage, make_facility(FACILITY))
    with sqlite_storage.unit_of_work() as uow:
        with pytest.raises(Conflict):
            uow.facilities.add(make_facility(FACILITY))
        uow.facilities.add(make_facility(OTHER_FACILITY))
        uow.commit()
    with sqlite_storage.unit_of_work() as uow:
        assert [facility.code for facility in uow.facilities.list()] == [FACILITY, OTHER_FACILITY]


def test_datetimes_come_back_as_aware_utc_with_microseconds(
    sqlite_storage: SqlAlchemyStorage,
) -> None:
    taipei = timezone(timedelta(hours=8))
    moment = datetime(2024, 3, 4, 9, 30, 15, 123456, tzinfo=taipei)
    seed(sqlite_storage, make_facility())
    with sqlite_storage.unit_of_work() as uow:
        from contactbook.testing.storage_contract import make_staff

        uow.staff.add(make_staff(created_at=moment))
        uow.commit()
    with sqlite_storage.unit_of_work() as uow:
        member = uow.staff.by_username("chen")
    assert member is not None
    assert member.created_at == moment
    assert member.created_at.tzinfo is UTC
    assert member.created_at.microsecond == 123456


def test_naive_datetimes_are_refused(sqlite_storage: SqlAlchemyStorage) -> None:
    from sqlalchemy.exc import StatementError

    with sqlite_storage.unit_of_work() as uow, pytest.raises(StatementError, match="naive"):
        uow.notices.list_admin(
            facility_codes=None,
            published_from=datetime(2024, 1, 1),  # naive: the point of the test
            published_to=None,
            after=None,
            limit=5,
        )


def test_normalised_columns_are_stored_for_the_unique_rules(
    sqlite_storage: SqlAlchemyStorage,
) -> None:
    from contactbook.domain.identifiers import EmailAddress
    from contactbook.testing.storage_contract import make_account, make_staff

    seed(
        sqlite_storage,
        make_facility(),
        make_account(email=EmailAddress.parse("Wang.XiaoMing@Example.com.tw")),
        make_staff(username="Chen"),
    )
    with sqlite_storage.engine.connect() as connection:
        email = connection.execute(text("SELECT email, email_canonical FROM accounts")).one()
        username = connection.execute(text("SELECT username, username_key FROM staff")).one()
    assert tuple(email) == ("Wang.XiaoMing@example.com.tw", "wang.xiaoming@example.com.tw")
    assert tuple(username) == ("Chen", "chen")


def test_notice_month_is_the_taiwan_month(sqlite_storage: SqlAlchemyStorage) -> None:
    from contactbook.testing.storage_contract import make_staff

    seed(
        sqlite_storage,
        make_facility(),
        make_staff(),
        make_notice(published_at=datetime(2024, 3, 31, 16, 0, tzinfo=UTC)),
    )
    with sqlite_storage.engine.connect() as connection:
        month = connection.execute(text("SELECT published_month FROM notices")).scalar_one()
    assert month == "2024-04"


def test_a_post_must_refer_to_existing_rows(sqlite_storage: SqlAlchemyStorage) -> None:
    """Foreign keys are on: a post to nobody is refused (not reported as a duplicate)."""
    from sqlalchemy.exc import IntegrityError

    with sqlite_storage.unit_of_work() as uow, pytest.raises(IntegrityError):
        uow.posts.add(make_post(inmate_id=INMATE))


def test_replace_must_keep_the_key(sqlite_storage: SqlAlchemyStorage) -> None:
    seed(sqlite_storage, make_facility())
    with sqlite_storage.unit_of_work() as uow, pytest.raises(ValueError, match="keeps the key"):
        uow.facilities.replace(make_facility(), attrs.evolve(make_facility(), code="F99"))


def test_lists_refuse_a_negative_limit(sqlite_storage: SqlAlchemyStorage) -> None:
    with sqlite_storage.unit_of_work() as uow, pytest.raises(ValueError, match="negative"):
        uow.messages.list_for_facility(None, after=None, limit=-1)


def test_audit_in_order_reads_past_one_chunk(sqlite_storage: SqlAlchemyStorage) -> None:
    from contactbook.adapters.storage.sqlalchemy.repositories import audit
    from contactbook.testing.storage_contract import make_audit_event

    count = audit._AUDIT_CHUNK + 3
    seed(sqlite_storage, *(make_audit_event(seq, at=at(seq)) for seq in range(1, count + 1)))
    with sqlite_storage.unit_of_work() as uow:
        seqs = [event.seq for event in uow.audit.in_order()]
    assert seqs == list(range(1, count + 1))


def test_an_in_memory_sqlite_database_is_migrated_on_open() -> None:
    storage = SqlAlchemyStorage.from_url("sqlite://")
    try:
        seed(storage, make_facility())
        with storage.unit_of_work() as uow:
            assert uow.facilities.get(FACILITY) == make_facility()
    finally:
        storage.close()


def test_contactbook_open_selects_this_adapter_for_sqlite_urls(tmp_path: Path) -> None:
    import contactbook

    database = tmp_path / "book.db"
    SqlAlchemyStorage.from_url(f"sqlite:///{database}", migrate=True).close()
    book = contactbook.open(
        database=f"sqlite:///{database}",
        files=str(tmp_path / "files"),
        mail="memory://",
        sms="memory://",
    )
    try:
        assert isinstance(book.storage, SqlAlchemyStorage)
    finally:
        book.close()
