"""The fast path (``adapters/storage/sqlalchemy/fast_path.py``): on SQLite and psycopg
the unit of work's prebuilt statements run on the DBAPI connection. What it writes and
reads is what SQLAlchemy's execution would write and read, driver errors arrive as
SQLAlchemy's exception classes, and nothing is hidden from an engine that is traced or
logged. Switched off, nothing of it runs and SQLite still begins with BEGIN IMMEDIATE."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError

from contactbook.adapters.storage.sqlalchemy import SqlAlchemyStorage, fast_path, tables
from contactbook.adapters.storage.sqlalchemy import engine as engine_module
from contactbook.adapters.storage.sqlalchemy import storage as storage_module
from contactbook.adapters.storage.sqlalchemy.converter import POSTS
from contactbook.adapters.storage.sqlalchemy.fast_path import prepared, row_count
from contactbook.adapters.storage.sqlalchemy.repositories.rows import insert_statement
from contactbook.domain.post import PostStatus
from contactbook.errors import Conflict
from contactbook.ports.reads import AuthorFilter, FamilyNoticeFilter, QueueFilter
from contactbook.testing.storage_contract import STAFF, at, make_post, seed_world


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[SqlAlchemyStorage]:
    storage = SqlAlchemyStorage.from_url(
        f"sqlite:///{tmp_path / 'book.db'}", migrate=True, fast_path=True
    )
    seed_world(storage)
    yield storage
    storage.close()


def _publish_and_approve(storage: SqlAlchemyStorage) -> None:
    post = make_post()
    with storage.unit_of_work() as uow:
        uow.posts.add(post)
        uow.commit()
    with storage.unit_of_work() as uow:
        stored = uow.posts.get(post.id)
        assert stored == post
        uow.posts.replace(stored, stored.approve(by=STAFF, at=at(1), version=stored.version))
        uow.commit()


def test_prebuilt_statements_skip_sqlalchemys_execution_on_plain_sqlite(
    storage: SqlAlchemyStorage,
) -> None:
    with storage.unit_of_work() as uow:
        assert uow.runs_on_driver


def test_what_the_driver_path_writes_reads_back_through_sqlalchemy(
    storage: SqlAlchemyStorage,
) -> None:
    _publish_and_approve(storage)
    with storage.engine.connect() as connection:
        row = connection.execute(select(tables.posts).where(tables.posts.c.id == "post-1")).one()
    approved = POSTS.from_row(row._mapping)
    assert approved.status is PostStatus.APPROVED
    assert approved.decided_at == at(1)
    assert approved.reviewer_id == STAFF
    assert approved.version == make_post().version + 1
    assert approved == attrs.evolve(
        make_post(),
        status=PostStatus.APPROVED,
        decided_at=at(1),
        reviewer_id=STAFF,
        version=make_post().version + 1,
    )


def test_a_traced_engine_sees_every_statement(storage: SqlAlchemyStorage) -> None:
    seen: list[str] = []

    def trace(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement.split()[0])

    event.listen(storage.engine, "before_cursor_execute", trace)
    try:
        with storage.unit_of_work() as uow:
            assert not uow.runs_on_driver
        _publish_and_approve(storage)
    finally:
        event.remove(storage.engine, "before_cursor_execute", trace)
    assert seen.count("INSERT") == 1
    assert seen.count("UPDATE") == 1
    assert seen.count("SELECT") >= 1


def test_an_engine_logging_sql_keeps_sqlalchemys_execution(storage: SqlAlchemyStorage) -> None:
    logger = logging.getLogger(storage.engine.logger.name)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        with storage.unit_of_work() as uow:
            assert not uow.runs_on_driver
    finally:
        logger.setLevel(level)


def test_driver_errors_are_sqlalchemys_exceptions(storage: SqlAlchemyStorage) -> None:
    orphan = attrs.evolve(make_post("post-orphan"), author_id="nobody")  # foreign key
    with storage.unit_of_work() as uow:
        assert uow.runs_on_driver
        connection = uow.connection
        statement = insert_statement(tables.posts, "sqlite")
        values = POSTS.to_row(orphan)
        compiled = prepared(statement, connection.dialect, tuple(values))
        assert compiled is not None
        with pytest.raises(IntegrityError) as raised:
            row_count(connection, compiled, values)
        assert "nobody" not in str(raised.value)  # parameters hidden, as the engine says


def test_a_duplicate_on_the_driver_path_is_a_conflict(storage: SqlAlchemyStorage) -> None:
    _publish_and_approve(storage)
    with storage.unit_of_work() as uow, pytest.raises(Conflict) as raised:
        uow.posts.add(make_post())
    assert raised.value.code == "duplicate"


def _list_pages(storage: SqlAlchemyStorage) -> list[object]:
    """Every read model and entity list a page is made of, as one unit of work reads them."""
    from contactbook.testing.storage_contract import (
        ACCOUNT,
        FACILITY,
        INMATE,
        OTHER_FACILITY,
        make_notice,
    )

    with storage.unit_of_work() as uow:
        everywhere = frozenset({FACILITY, OTHER_FACILITY})
        return [
            uow.posts.queue_rows(
                QueueFilter(
                    facility_codes=everywhere,
                    status=PostStatus.PENDING,
                    submitted_from=at(-1),
                    submitted_to=at(10),
                ),
                after=(at(0), "post-0"),
                limit=50,
            ),
            uow.posts.queue_rows(QueueFilter(), after=None, limit=50),
            uow.posts.author_rows(AuthorFilter(ACCOUNT), after=None, limit=50),
            uow.posts.author_rows(
                AuthorFilter(ACCOUNT, PostStatus.PENDING), after=(at(9), "post-9"), limit=50
            ),
            uow.notices.family_cards(
                FamilyNoticeFilter(frozenset({FACILITY}), frozenset({INMATE})),
                after=None,
                limit=50,
            ),
            uow.notices.family_cards(
                FamilyNoticeFilter(frozenset({FACILITY}), frozenset({INMATE}), "2024-03"),
                after=None,
                limit=50,
            ),
            uow.grants.active_for_account(ACCOUNT),
            uow.notices.get(make_notice().id),
        ]


def _seed_pages(storage: SqlAlchemyStorage, posts: range) -> None:
    """Posts and notices enough for every page of :func:`_list_pages` to have rows."""
    from contactbook.testing.storage_contract import make_notice, make_stored_file, seed

    seed(
        storage,
        *(
            make_post(
                f"post-{n}",
                submitted_at=at(n),
                flagged_keywords=("越獄",) if n % 3 == 0 else (),
                attachments=(make_stored_file(f"file-{n}"),) if n % 2 else (),
            )
            for n in posts
        ),
        make_notice(),
        make_notice("notice-2", published_at=at(5), attachments=()),
    )


@pytest.fixture(params=["sqlite", "postgresql"])
def driver_storage(
    request: pytest.FixtureRequest, make_database_url: Callable[[str], str]
) -> Iterator[SqlAlchemyStorage]:
    """A seeded storage on each backend whose prebuilt statements run on the driver."""
    storage = SqlAlchemyStorage.from_url(
        make_database_url(request.param), migrate=True, fast_path=True
    )
    seed_world(storage)
    yield storage
    storage.close()


def test_list_pages_read_the_same_on_the_driver_path_and_through_sqlalchemy(
    driver_storage: SqlAlchemyStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = driver_storage
    _seed_pages(storage, range(1, 8))
    driver_runs: list[str] = []
    run_on_the_driver = fast_path._run

    def counted(connection: Any, statement: fast_path.Prepared, values: Any) -> Any:
        driver_runs.append(statement.sql)
        return run_on_the_driver(connection, statement, values)

    monkeypatch.setattr(fast_path, "_run", counted)
    on_the_driver = _list_pages(storage)
    assert all(on_the_driver), "every page has rows"
    # Each of the eight reads ran on the driver (none fell back to SQLAlchemy).
    assert len(driver_runs) == 8
    monkeypatch.undo()

    def trace(*_: Any) -> None:
        pass  # a listener: the unit of work now runs everything through SQLAlchemy

    event.listen(storage.engine, "before_cursor_execute", trace)
    try:
        with storage.unit_of_work() as uow:
            assert not uow.runs_on_driver
        through_sqlalchemy = _list_pages(storage)
    finally:
        event.remove(storage.engine, "before_cursor_execute", trace)
    assert on_the_driver == through_sqlalchemy
    plain = SqlAlchemyStorage.from_url(storage.engine.url, fast_path=False)
    try:
        assert _list_pages(plain) == on_the_driver
    finally:
        plain.close()


# --- The switch ----------------------------------------------------------------------


def test_the_environment_switches_the_fast_path_off_where_no_argument_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path / 'book.db'}"
    monkeypatch.delenv(fast_path.SWITCH_VARIABLE, raising=False)
    SqlAlchemyStorage.from_url(url, migrate=True).close()
    default = SqlAlchemyStorage.from_url(url)
    monkeypatch.setenv(fast_path.SWITCH_VARIABLE, "0")
    plain = SqlAlchemyStorage.from_url(url)
    forced = SqlAlchemyStorage.from_url(url, fast_path=True)
    try:
        assert default.fast_path and forced.fast_path and not plain.fast_path
        # BEGIN IMMEDIATE from the dialect's begin step only on the fast path.
        assert "do_begin" in vars(forced.engine.dialect)
        assert "do_begin" not in vars(plain.engine.dialect)
        with plain.unit_of_work() as uow:
            assert not uow.runs_on_driver
        with forced.unit_of_work() as uow:
            assert uow.runs_on_driver
    finally:
        for storage in (default, plain, forced):
            storage.close()


@pytest.mark.parametrize("fast", [True, False], ids=["fast", "plain"])
def test_a_sqlite_unit_of_work_holds_the_write_lock_from_its_first_read(
    tmp_path: Path, fast: bool
) -> None:
    """BEGIN IMMEDIATE either way, read-only units of work included: a writer elsewhere
    waits (here: gives up at once) until the unit of work ends."""
    database = tmp_path / "book.db"
    storage = SqlAlchemyStorage.from_url(f"sqlite:///{database}", migrate=True, fast_path=fast)
    other = sqlite3.connect(database, timeout=0, isolation_level=None)
    try:
        with storage.unit_of_work() as uow:
            assert uow.runs_on_driver is fast
            assert uow.facilities.get("F01") is None
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    finally:
        other.close()
        storage.close()


def test_with_the_fast_path_off_none_of_it_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Off, the storage uses SQLAlchemy's documented API only: every entry into
    fast_path.py can be broken and writes, reads and list pages still work."""

    def broken(*_: Any, **__: Any) -> Any:
        raise AssertionError("the fast path ran although it is off")

    for module, name in (
        (fast_path, "prepared"),
        (fast_path, "_run"),
        (fast_path, "runs_on_driver"),
        (storage_module, "statements_for"),
        (engine_module, "begin_immediate_in_the_dialect"),
    ):
        monkeypatch.setattr(module, name, broken)
    storage = SqlAlchemyStorage.from_url(
        f"sqlite:///{tmp_path / 'book.db'}", migrate=True, fast_path=False
    )
    try:
        seed_world(storage)
        _publish_and_approve(storage)  # post-1
        _seed_pages(storage, range(2, 8))
        assert all(_list_pages(storage))
    finally:
        storage.close()
