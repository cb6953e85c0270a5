"""Family posts: the author's list, the review queue, delivery and retention."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, literal, select

from contactbook.adapters.storage.sqlalchemy import converter as mappers
from contactbook.adapters.storage.sqlalchemy import tables
from contactbook.adapters.storage.sqlalchemy.repositories.base import TableRepository
from contactbook.adapters.storage.sqlalchemy.repositories.queries import (
    among,
    among_bound,
    bound_keyset_page,
    files_in,
    numbered_values,
    page_values,
    require_limit,
)
from contactbook.domain.post import COUNTING_STATUSES, FamilyPost, PostRejectionReason, PostStatus
from contactbook.ports.reads import After, AuthorFilter, AuthorRow, QueueFilter, QueueRow

__all__ = ["SqlPostRepository", "post_queue_statement"]


def _one_lower_bound(start: datetime | None, after: After) -> datetime | None:
    """Drop a range start that the keyset position already passed.

    With both ``t >= start`` and ``t >= t0`` SQLite seeks the index with the first
    and filters with the second, so a deep page scans every row before the cursor;
    one lower bound lets it seek straight to the position.
    """
    if after is not None and start is not None and after[0] >= start:
        return None
    return start


@functools.cache
def _queue_rows_statement(
    facilities: int | None, status: bool, since: bool, until: bool, after: bool
) -> Select[Any]:
    """The queue's list rows in one joined statement, built once per shape (how many
    facilities, which filters) with its values bound by name, so it is compiled once."""
    p, f, i = tables.posts.c, tables.facilities.c, tables.inmates.c
    statement = select(
        p.id,
        p.version,
        p.facility_code,
        f.name,
        i.call_number,
        i.name,
        p.title,
        p.body,
        p.submitted_at,
        p.status,
        p.flagged_keywords,
        p.attachments,
    ).select_from(
        tables.posts.join(tables.facilities, f.code == p.facility_code).join(
            tables.inmates, i.id == p.inmate_id
        )
    )
    if facilities is not None:
        statement = statement.where(among_bound(p.facility_code, "facility", facilities))
    if status:
        statement = statement.where(p.status == bindparam("status"))
    if since:
        statement = statement.where(p.submitted_at >= bindparam("since", type_=p.submitted_at.type))
    if until:
        statement = statement.where(p.submitted_at < bindparam("until", type_=p.submitted_at.type))
    return bound_keyset_page(statement, p.submitted_at, p.id, after=after, newest_first=False)


def _queue_read(where: QueueFilter, after: After, limit: int) -> tuple[Select[Any], dict[str, Any]]:
    """The queue's statement for this filter and the values it binds."""
    submitted_from = _one_lower_bound(where.submitted_from, after)
    codes = where.facility_codes
    statement = _queue_rows_statement(
        None if codes is None else len(codes),
        where.status is not None,
        submitted_from is not None,
        where.submitted_to is not None,
        after is not None,
    )
    values = page_values(after, limit)
    if codes is not None:
        values.update(numbered_values("facility", codes))
    if where.status is not None:
        values["status"] = where.status.value
    if submitted_from is not None:
        values["since"] = submitted_from
    if where.submitted_to is not None:
        values["until"] = where.submitted_to
    return statement, values


def post_queue_statement(where: QueueFilter, *, after: After, limit: int) -> Select[Any]:
    """The moderation queue's statement with its values bound, as the repository runs
    it (public so a test can EXPLAIN it); ``where.facility_codes`` must not be empty."""
    statement, values = _queue_read(where, after, limit)
    return statement.params(values)


@functools.cache
def _author_rows_statement(status: bool, after: bool) -> Select[Any]:
    """A family's own list rows in one joined statement, built once per shape."""
    p, f, i = tables.posts.c, tables.facilities.c, tables.inmates.c
    statement = (
        select(
            p.id,
            p.version,
            p.inmate_id,
            i.call_number,
            i.name,
            p.facility_code,
            f.name,
            p.title,
            p.body,
            p.status,
            p.submitted_at,
            p.attachments,
            p.rejection_reason,
            p.rejection_note,
            p.decided_at,
            p.delivered_at,
            p.revision_of,
        )
        .select_from(
            tables.posts.join(tables.inmates, i.id == p.inmate_id).join(
                tables.facilities, f.code == p.facility_code
            )
        )
        .where(p.author_id == bindparam("author"))
    )
    if status:
        statement = statement.where(p.status == bindparam("status"))
    return bound_keyset_page(statement, p.submitted_at, p.id, after=after, newest_first=True)


@functools.cache
def _latest_counting_statement() -> Select[Any]:
    """Built once with bound parameters: no statement construction or cache-key
    computation per call (about half of SQLAlchemy's cost for a one-row read).

    The statuses are one bound parameter each (``IN (?, ?)``), not a list expanded
    at execution: expanding rewrites the compiled SQL text on every call."""
    c = tables.posts.c
    statuses = sorted(status.value for status in COUNTING_STATUSES)
    return (
        select(tables.posts)
        .where(
            c.author_id == bindparam("author"),
            c.inmate_id == bindparam("inmate"),
            c.status.in_([literal(status, c.status.type) for status in statuses]),
        )
        .order_by(c.submitted_at.desc(), c.id.desc())
        .limit(1)
    )


class SqlPostRepository(TableRepository[FamilyPost], table=tables.posts, mapper=mappers.POSTS):
    """Family posts: the author's list, the review queue and the delivery list."""

    def list_by_author(
        self, author_id: str, *, status: PostStatus | None, after: After, limit: int
    ) -> Sequence[FamilyPost]:
        c = tables.posts.c
        statement = self._rows.select().where(c.author_id == author_id)
        if status is not None:
            statement = statement.where(c.status == status.value)
        return self._rows.page(statement, c.submitted_at, after, limit, newest_first=True)

    def author_rows(self, where: AuthorFilter, *, after: After, limit: int) -> Sequence[AuthorRow]:
        require_limit(limit)
        values = page_values(after, limit, author=where.author_id)
        if where.status is not None:
            values["status"] = where.status.value
        statement = _author_rows_statement(where.status is not None, after is not None)
        return [
            AuthorRow(
                id=row[0],
                version=row[1],
                inmate_id=row[2],
                call_number=row[3],
                inmate_name=row[4],
                facility_code=row[5],
                facility_name=row[6],
                title=row[7],
                body=row[8],
                status=PostStatus(row[9]),
                submitted_at=row[10],
                attachments=files_in(row[11]),
                rejection_reason=PostRejectionReason(row[12]) if row[12] else None,
                rejection_note=row[13],
                decided_at=row[14],
                delivered_at=row[15],
                revision_of=row[16],
            )
            for row in self._rows.rows_of(statement, values)
        ]

    def queue_rows(self, where: QueueFilter, *, after: After, limit: int) -> Sequence[QueueRow]:
        require_limit(limit)
        if where.facility_codes is not None and not where.facility_codes:
            return []
        statement, values = _queue_read(where, after, limit)
        rows = self._rows.rows_of(statement, values)
        return [
            QueueRow(
                row[0],
                row[1],
                row[2],
                row[3],
                row[4],
                row[5],
                row[6],
                row[7],
                row[8],
                PostStatus(row[9]),
                tuple(row[10]),
                files_in(row[11]),
            )
            for row in rows
        ]

    def latest_counting(self, author_id: str, inmate_id: str) -> FamilyPost | None:
        return self._rows.first_of(
            _latest_counting_statement(), {"author": author_id, "inmate": inmate_id}
        )

    def pending_due(self, now: datetime, *, limit: int) -> Sequence[FamilyPost]:
        """Earliest deadline first, as ``ix_posts_due`` reads them."""
        require_limit(limit)
        c = tables.posts.c
        return self._rows.all(
            self._rows.select()
            .where(c.status == PostStatus.PENDING.value, c.review_deadline <= now)
            .order_by(c.review_deadline, c.id)
            .limit(limit)
        )

    def pending_for_inmate(self, inmate_id: str) -> Sequence[FamilyPost]:
        """PENDING posts to this inmate, oldest first."""
        c = tables.posts.c
        return self._rows.all(
            self._rows.select()
            .where(c.inmate_id == inmate_id, c.status == PostStatus.PENDING.value)
            .order_by(c.submitted_at, c.id)
        )

    def approved_undelivered(
        self, facility_codes: frozenset[str] | None, *, after: After, limit: int
    ) -> Sequence[FamilyPost]:
        c = tables.posts.c
        statement = self._rows.select().where(
            c.status == PostStatus.APPROVED.value,
            c.delivered_at.is_(None),
            among(c.facility_code, facility_codes),
        )
        return self._rows.page(statement, c.decided_at, after, limit, newest_first=False)

    def ended_before(
        self, status: PostStatus, before: datetime, *, limit: int
    ) -> Sequence[FamilyPost]:
        require_limit(limit)
        column = _POST_END_COLUMNS.get(status)
        if column is None:
            return []
        c = tables.posts.c
        end = c[column]
        return self._rows.all(
            self._rows.select()
            .where(c.status == status.value, end.is_not(None), end < before)
            .order_by(end, c.id)
            .limit(limit)
        )

    def remove(self, post: FamilyPost) -> None:
        """The revision is unlinked and the post deleted in one SAVEPOINT: a stale
        version leaves both as they were."""
        c = tables.posts.c
        connection = self._rows.connection
        with connection.begin_nested():
            connection.execute(
                tables.posts.update()
                .where(c.revision_of == post.id)
                .values(revision_of=None, version=c.version + 1)
            )
            super().remove(post)


_POST_END_COLUMNS = {
    PostStatus.APPROVED: "delivered_at",
    PostStatus.REJECTED: "decided_at",
    PostStatus.EXPIRED: "expired_at",
    PostStatus.WITHDRAWN: "withdrawn_at",
}
"""The column holding when a post reached its end in each final status (retention)."""
