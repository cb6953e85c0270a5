"""The shipped migrations on every backend: up from empty, down to base, up again,
and no drift between them and ``tables.py`` (the programmatic ``alembic check``)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import inspect, text

from contactbook.adapters.storage.sqlalchemy import SqlAlchemyStorage, metadata, schema, tables
from contactbook.adapters.storage.sqlalchemy.columns import MYSQL_DIALECTS, UtcDateTime
from contactbook.adapters.storage.sqlalchemy.converter import FACILITIES, STAFF
from contactbook.testing.storage_contract import make_facility, make_staff, seed

BACKENDS = ("sqlite", "postgresql", "mariadb")
TABLES = {table.name for table in metadata.sorted_tables}


@pytest.fixture(params=BACKENDS)
def empty_storage(
    request: pytest.FixtureRequest, make_database_url: Callable[[str], str]
) -> Iterator[SqlAlchemyStorage]:
    """A storage on a new, empty database of each backend (nothing migrated)."""
    storage = SqlAlchemyStorage(make_database_url(request.param))
    yield storage
    storage.close()


def _tables(storage: SqlAlchemyStorage) -> set[str]:
    return set(inspect(storage.engine).get_table_names())


def _differences(storage: SqlAlchemyStorage) -> list[Any]:
    with storage.engine.connect() as connection:
        return schema.schema_differences(connection)


def test_upgrade_from_empty_downgrade_to_base_and_upgrade_again(
    empty_storage: SqlAlchemyStorage,
) -> None:
    assert empty_storage.schema_revision() is None
    assert _tables(empty_storage) == set()

    empty_storage.migrate()
    assert empty_storage.schema_revision() == schema.head_revision()
    assert _tables(empty_storage) == TABLES | {schema.VERSION_TABLE}
    assert _differences(empty_storage) == []

    with empty_storage.engine.begin() as connection:
        schema.downgrade(connection, "base")
    assert empty_storage.schema_revision() is None
    assert _tables(empty_storage) - {schema.VERSION_TABLE} == set()

    empty_storage.migrate()
    assert empty_storage.schema_revision() == schema.head_revision()
    assert _differences(empty_storage) == []
    seed(empty_storage, make_facility())  # and the tables work
    with empty_storage.unit_of_work() as uow:
        assert uow.facilities.get(make_facility().code) == make_facility()


def test_migrate_again_changes_nothing(empty_storage: SqlAlchemyStorage) -> None:
    empty_storage.migrate()
    seed(empty_storage, make_facility())
    empty_storage.migrate()
    assert empty_storage.schema_revision() == schema.head_revision()
    with empty_storage.unit_of_work() as uow:
        assert uow.facilities.list() == [make_facility()]


def test_staff_rows_from_before_0004_get_session_version_one(
    empty_storage: SqlAlchemyStorage,
) -> None:
    """0004 adds a NOT NULL column to a table that may hold members already."""
    with empty_storage.engine.begin() as connection:
        schema.upgrade(connection, "0003")
        connection.execute(tables.facilities.insert().values(FACILITIES.to_row(make_facility())))
        staff_row = STAFF.to_row(make_staff())
        del staff_row["session_version"]
        connection.execute(tables.staff.insert().values(staff_row))
    empty_storage.migrate()
    with empty_storage.unit_of_work() as uow:
        member = uow.staff.by_username("chen")
    assert member is not None and member.session_version == 1
    assert member == make_staff()


def test_drift_is_detected(empty_storage: SqlAlchemyStorage) -> None:
    """The comparison is not vacuous: a missing index shows."""
    empty_storage.migrate()
    drop = "DROP INDEX ix_posts_queue"
    if empty_storage.engine.dialect.name in MYSQL_DIALECTS:
        drop += " ON posts"
    with empty_storage.engine.begin() as connection:
        connection.execute(text(drop))
    differences = [(kind, index.name) for kind, index in _differences(empty_storage)]
    assert differences == [("add_index", "ix_posts_queue")]


def test_times_keep_microseconds_on_every_backend(empty_storage: SqlAlchemyStorage) -> None:
    """MariaDB's DATETIME drops microseconds unless declared DATETIME(6); Alembic's
    comparison does not look at the precision, so this checks it directly."""
    empty_storage.migrate()
    if empty_storage.engine.dialect.name in MYSQL_DIALECTS:
        columns = {
            (table.name, column["name"]): column["type"]
            for table in metadata.sorted_tables
            for column in inspect(empty_storage.engine).get_columns(table.name)
        }
        for table in metadata.sorted_tables:
            for column in table.columns:
                if isinstance(column.type, UtcDateTime):
                    reflected = columns[(table.name, column.name)]
                    assert getattr(reflected, "fsp", None) == 6, (table.name, column.name)
    moment = datetime(2024, 3, 4, 1, 30, 15, 123456, tzinfo=UTC)
    seed(empty_storage, make_facility(), make_staff(created_at=moment))
    with empty_storage.unit_of_work() as uow:
        member = uow.staff.by_username("chen")
    assert member is not None and member.created_at == moment


def test_mariadb_tables_are_utf8mb4_with_binary_collation(
    make_database_url: Callable[[str], str],
) -> None:
    storage = SqlAlchemyStorage(make_database_url("mariadb"))
    try:
        storage.migrate()
        with storage.engine.connect() as connection:
            collations = set(
                connection.execute(
                    text(
                        "SELECT table_collation FROM information_schema.tables "
                        "WHERE table_schema = DATABASE() AND table_name != :version"
                    ),
                    {"version": schema.VERSION_TABLE},
                ).scalars()
            )
        assert collations == {"utf8mb4_bin"}
    finally:
        storage.close()


def test_postgres_sort_keys_use_the_c_collation(make_database_url: Callable[[str], str]) -> None:
    """Ids break ties in keyset pages in code point order, as Python compares them."""
    storage = SqlAlchemyStorage(make_database_url("postgresql"))
    try:
        storage.migrate()
        with storage.engine.connect() as connection:
            collation = connection.execute(
                text(
                    "SELECT collation_name FROM information_schema.columns "
                    "WHERE table_name = 'posts' AND column_name = 'id'"
                )
            ).scalar_one()
        assert collation == "C"
    finally:
        storage.close()


def test_links_in_messages_from_before_0005_are_hidden(empty_storage: SqlAlchemyStorage) -> None:
    """0005 mends the log: a sent message keeps no live link; one not sent yet keeps
    its body for the dispatcher, and gets a log body with the link hidden."""
    body = (
        "王小明 您好：\n點此網址進行驗證 https://portal.example/verify?token=abc_DEF-123\n"
        "\n-----\n\n"
        "Hello,\nopen https://portal.example/verify?token=abc_DEF-123 within a day."
    )
    at = datetime(2020, 10, 7, 3, 0, tzinfo=UTC)
    common = {
        "channel": "email",
        "destination": "ty.wang@example.com",
        "subject": "便民服務入口網 註冊通知 / Portal registration",
        "body": body,
        "cause": "registration_verification",
        "created_at": at,
        "attempts": 0,
        "last_error": "",
        "version": 1,
    }
    with empty_storage.engine.begin() as connection:
        schema.upgrade(connection, "0004")
        connection.execute(
            tables.messages.insert(),
            [
                {**common, "id": "sent", "status": "sent", "sent_at": at},
                {**common, "id": "pending", "status": "pending", "sent_at": None},
            ],
        )
    empty_storage.migrate()
    with empty_storage.unit_of_work() as uow:
        sent, pending = uow.messages.get("sent"), uow.messages.get("pending")
    assert sent is not None and pending is not None
    hidden = body.replace(
        "https://portal.example/verify?token=abc_DEF-123", "「連結已隱藏」", 1
    ).replace("https://portal.example/verify?token=abc_DEF-123", "[link hidden]")
    assert (sent.body, sent.log_body) == (hidden, "")
    assert (pending.body, pending.log_body) == (body, hidden)
    assert "token=" not in sent.readable_body + pending.readable_body
