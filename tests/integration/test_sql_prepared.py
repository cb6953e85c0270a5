"""SQLite runs the unit of work's prebuilt statements on the DBAPI connection
(``adapters/storage/sqlalchemy/prepared.py``). What it writes and reads is what
SQLAlchemy's execution would write and read, driver errors arrive as SQLAlchemy's
exception classes, and nothing is hidden from an engine that is traced or logged."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from sqlalchemy import event, select
from sqlalchemy.exc import IntegrityError

from contactbook.adapters.storage.sqlalchemy import SqlAlchemyStorage, tables
from contactbook.adapters.storage.sqlalchemy.converter import POSTS
from contactbook.adapters.storage.sqlalchemy.prepared import prepared, row_count
from contactbook.adapters.storage.sqlalchemy.repositories.rows import insert_statement
from contactbook.domain.post import PostStatus
from contactbook.errors import Conflict
from contactbook.testing.storage_contract import STAFF, at, make_post, seed_world


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[SqlAlchemyStorage]:
    storage = SqlAlchemyStorage.from_url(f"sqlite:///{tmp_path / 'book.db'}", migrate=True)
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
                facility_codes=everywhere,
                status=PostStatus.PENDING,
                submitted_from=at(-1),
                submitted_to=at(10),
                after=(at(0), "post-0"),
                limit=50,
            ),
            uow.posts.queue_rows(
                facility_codes=None,
                status=None,
                submitted_from=None,
                submitted_to=None,
                after=None,
                limit=50,
            ),
            uow.posts.author_rows(ACCOUNT, status=None, after=None, limit=50),
            uow.posts.author_rows(
                ACCOUNT, status=PostStatus.PENDING, after=(at(9), "post-9"), limit=50
            ),
            uow.notices.family_cards(
                facility_codes=frozenset({FACILITY}),
                inmate_ids=frozenset({INMATE}),
                month=None,
                after=None,
                limit=50,
            ),
            uow.notices.list_for_family(
                facility_codes=frozenset({FACILITY}),
                inmate_ids=frozenset({INMATE}),
                month="2024-03",
                after=None,
                limit=50,
            ),
            uow.grants.active_for_account(ACCOUNT),
            uow.notices.get(make_notice().id),
        ]


@pytest.fixture(params=["sqlite", "postgresql"])
def driver_storage(
    request: pytest.FixtureRequest, make_database_url: Callable[[str], str]
) -> Iterator[SqlAlchemyStorage]:
    """A seeded storage on each backend whose prebuilt statements run on the driver."""
    storage = SqlAlchemyStorage.from_url(make_database_url(request.param), migrate=True)
    seed_world(storage)
    yield storage
    storage.close()


def test_list_pages_read_the_same_on_the_driver_path_and_through_sqlalchemy(
    driver_storage: SqlAlchemyStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = driver_storage
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
            for n in range(1, 8)
        ),
        make_notice(),
        make_notice("notice-2", published_at=at(5), attachments=()),
    )
    from contactbook.adapters.storage.sqlalchemy.repositories import rows

    driver_reads: list[str] = []
    for name in ("all_rows", "first_row"):
        original = getattr(rows, name)

        def counted(*args: Any, _original: Any = original, _name: str = name) -> Any:
            driver_reads.append(_name)
            return _original(*args)

        monkeypatch.setattr(rows, name, counted)
    on_the_driver = _list_pages(storage)
    assert all(on_the_driver), "every page has rows"
    # Each of the eight reads ran on the driver (none fell back to SQLAlchemy).
    assert sorted(driver_reads) == ["all_rows"] * 7 + ["first_row"]
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
