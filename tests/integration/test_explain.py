"""The moderation queue is an index range scan in order, not a scan of every post.

The statement is the adapter's own (``post_queue_statement``), explained with its
real bound parameters, for one facility's pending posts — first page and a later
page (keyset position) alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import ClauseElement, Executable, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler

from contactbook.adapters.storage.sqlalchemy import SqlAlchemyStorage
from contactbook.adapters.storage.sqlalchemy.repositories import post_queue_statement
from contactbook.domain.post import PostStatus
from contactbook.ports.reads import After, QueueFilter
from contactbook.testing.storage_contract import (
    ACCOUNT,
    FACILITY,
    GRANT,
    INMATE,
    OTHER_ACCOUNT,
    OTHER_FACILITY,
    OTHER_GRANT,
    OTHER_INMATE,
    at,
    make_facility,
    make_post,
    seed,
    seed_world,
)

QUEUE_INDEX = "ix_posts_queue"
WEEK_PENDING_HERE = QueueFilter(
    facility_codes=frozenset({FACILITY}),
    status=PostStatus.PENDING,
    submitted_from=at(-24 * 7),
    submitted_to=at(24 * 7),
)


class Explain(Executable, ClauseElement):
    """``EXPLAIN <statement>`` with the statement's parameters bound as usual."""

    inherit_cache = False

    def __init__(self, statement: ClauseElement, prefix: str) -> None:
        self.statement = statement
        self.prefix = prefix


@compiles(Explain)
def _compile_explain(element: Explain, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{element.prefix} {compiler.process(element.statement, **kw)}"


def _queue(after: After) -> Any:
    return post_queue_statement(WEEK_PENDING_HERE, after=after, limit=50)


AFTER: list[After] = [None, (at(-150), "gen-004242")]
"""The first page, and a page after a row well inside the window."""


def _seed_posts(storage: SqlAlchemyStorage) -> None:
    """A few hundred posts over two facilities and every status."""
    seed_world(storage)
    statuses = list(PostStatus)
    elsewhere = {
        "author_id": OTHER_ACCOUNT,
        "inmate_id": OTHER_INMATE,
        "facility_code": OTHER_FACILITY,
        "grant_id": OTHER_GRANT,
    }
    posts = []
    for n in range(300):
        fields: dict[str, Any] = {"submitted_at": at(n), "status": statuses[n % len(statuses)]}
        if n % 2:
            fields.update(elsewhere)
        posts.append(make_post(f"post-{n:04d}", attachments=(), **fields))
    seed(storage, *posts)


@pytest.fixture(scope="module")
def sqlite_storage(make_database_url: Callable[[str], str]) -> Iterator[SqlAlchemyStorage]:
    storage = SqlAlchemyStorage.from_url(make_database_url("sqlite"), migrate=True)
    _seed_posts(storage)
    yield storage
    storage.close()


_GENERATED_POSTS = """
INSERT INTO posts (id, author_id, inmate_id, facility_code, grant_id, title, body,
  submitted_at, review_deadline, attachments, status, flagged_keywords, rejection_note, version)
SELECT 'gen-' || lpad(n::text, 6, '0'), :author, :inmate,
  CASE WHEN n % 20 = 0 THEN :facility ELSE 'G' || lpad((n % 20)::text, 2, '0') END,
  :grant, '家裡一切都好', '全家都很想你', :start + ((n * 7919) % :count) * INTERVAL '1 minute',
  :start + ((n * 7919) % :count) * INTERVAL '1 minute' + INTERVAL '14 days', '[]',
  (ARRAY['pending', 'approved', 'rejected', 'expired', 'withdrawn'])[1 + (n / 20) % 5],
  '[]', '', 1
FROM generate_series(1, :count) AS n
"""


@pytest.fixture(scope="module")
def postgres_storage(make_database_url: Callable[[str], str]) -> Iterator[SqlAlchemyStorage]:
    """20,000 posts over 20 facilities and every status, submitted in an order that
    has nothing to do with the order of the rows on disk, around the queue's window."""
    storage = SqlAlchemyStorage.from_url(make_database_url("postgresql"), migrate=True)
    seed_world(storage)
    seed(storage, *(make_facility(f"G{n:02d}") for n in range(1, 20)))
    with storage.engine.begin() as connection:
        connection.execute(
            text(_GENERATED_POSTS),
            {
                "author": ACCOUNT,
                "inmate": INMATE,
                "facility": FACILITY,
                "grant": GRANT,
                "start": (at(-24 * 10)).replace(tzinfo=None),
                "count": 20_000,
            },
        )
        connection.exec_driver_sql("ANALYZE posts")
    yield storage
    storage.close()


def _plan(connection: Connection, prefix: str, after: After) -> list[str]:
    rows = connection.execute(Explain(_queue(after), prefix)).all()
    return [str(row[-1]) for row in rows]


@pytest.mark.parametrize("after", AFTER, ids=["first-page", "later-page"])
def test_sqlite_queue_searches_the_queue_index_in_order(
    sqlite_storage: SqlAlchemyStorage, after: After
) -> None:
    with sqlite_storage.engine.connect() as connection:
        plan = _plan(connection, "EXPLAIN QUERY PLAN", after)
    text = "\n".join(plan)
    assert any(
        line.startswith("SEARCH posts USING") and f"INDEX {QUEUE_INDEX}" in line for line in plan
    ), text
    assert not any(line.startswith("SCAN posts") for line in plan), text
    assert "TEMP B-TREE" not in text, text  # the index gives the order: no sort


@pytest.mark.parametrize("after", AFTER, ids=["first-page", "later-page"])
def test_postgres_queue_uses_the_queue_index(
    postgres_storage: SqlAlchemyStorage, after: After
) -> None:
    with postgres_storage.engine.connect() as connection:
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        plan = _plan(connection, "EXPLAIN", after)
    text = "\n".join(plan)
    assert any(
        kind in line and QUEUE_INDEX in line
        for line in plan
        for kind in ("Index Scan", "Index Only Scan", "Bitmap Index Scan")
    ), text
    assert "Seq Scan" not in text, text


@pytest.mark.parametrize("after", AFTER, ids=["first-page", "later-page"])
def test_postgres_queue_walks_the_index_in_order(
    postgres_storage: SqlAlchemyStorage, after: After
) -> None:
    """Rows come in the index's order and the scan stops at the limit: no Sort."""
    with postgres_storage.engine.connect() as connection:
        plan = _plan(connection, "EXPLAIN", after)
    text = "\n".join(plan)
    assert f"Index Scan using {QUEUE_INDEX} on posts" in text, text
    assert "Sort" not in text, text


def test_the_statement_filters_as_the_port_says(sqlite_storage: SqlAlchemyStorage) -> None:
    """What is explained is what the repository runs."""
    with sqlite_storage.unit_of_work() as uow:
        page = uow.posts.queue_rows(WEEK_PENDING_HERE, after=None, limit=50)
    assert page
    assert all(post.facility_code == FACILITY for post in page)
    assert all(post.status is PostStatus.PENDING for post in page)
    times: list[datetime] = [post.submitted_at for post in page]
    assert times == sorted(times)
