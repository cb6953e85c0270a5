"""List pages: the library's use case against one hand-written query per page.

Each raw baseline does what the use case promises, on the same connection setup:
the same authorisation read (the staff member's roles, the account's status,
the family's grants), one query with the joins a person would write, and a
tuple per row holding what the library's view holds (masked addressee,
excerpts, Taiwan dates, status label, first photo) plus the next cursor. Before
timing, both sides are run once and must return the same ids and cursor, which
also proves the bulk-loaded rows read back through the use cases.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from benchmarks.target import RawDb
from benchmarks.timing import Stats, interleaved
from benchmarks.world import Facts
from contactbook import ContactBook, FamilyPrincipal, PostStatus, StaffPrincipal
from contactbook.domain.masking import mask_name
from contactbook.domain.pagination import encode_cursor
from contactbook.domain.time import format_date, in_taipei, taipei_day_start
from contactbook.usecases.labels import label

__all__ = ["ListCase", "check_same", "list_cases", "measure_lists", "queue_case", "timed_case"]

QUEUE_LIMIT = 50
FAMILY_LIMIT = 20
STATUS_LABELS = {status.value: label(status) for status in PostStatus}
_REASON_LABELS: dict[str, str] = {}


@dataclass
class ListCase:
    """One page: a library call and its raw baseline, each returning (ids, next cursor)."""

    name: str
    description: str
    library: Callable[[], tuple[list[str], str | None]]
    raw: Callable[[], tuple[list[str], str | None]]
    details: dict[str, Any]


def _excerpt(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[:limit] + "..."


def _photo(attachments_json: str) -> tuple[str, str, str, int, bool] | None:
    for item in json.loads(attachments_json):
        if item["content_type"].startswith("image/"):
            return (
                item["id"],
                item["display_name"],
                item["content_type"],
                item["size"],
                item["thumbnail_key"] is not None,
            )
    return None


def _attachments(attachments_json: str) -> tuple[tuple[str, str, str, int, bool], ...]:
    return tuple(
        (a["id"], a["display_name"], a["content_type"], a["size"], a["thumbnail_key"] is not None)
        for a in json.loads(attachments_json)
    )


def _reason_label(reason: str | None) -> str:
    if reason is None:
        return ""
    if reason not in _REASON_LABELS:
        from contactbook import PostRejectionReason

        _REASON_LABELS[reason] = label(PostRejectionReason(reason))
    return _REASON_LABELS[reason]


# --- the moderation queue -------------------------------------------------------------

_QUEUE_SQL = """
SELECT p.id, p.version, p.facility_code, f.name, i.call_number, i.name, p.title, p.body,
       p.submitted_at, p.status, p.flagged_keywords, p.attachments
FROM posts p
JOIN facilities f ON f.code = p.facility_code
JOIN inmates i ON i.id = p.inmate_id
WHERE {facility}p.status = ? AND p.submitted_at >= ? AND p.submitted_at < ?{after}
ORDER BY p.submitted_at, p.id
LIMIT ?
"""
_KEYSET_ASC = " AND (p.submitted_at > ? OR p.id > ?)"


def _queue_sql(facility: bool, after: bool) -> str:
    return _QUEUE_SQL.format(
        facility="p.facility_code = ? AND " if facility else "", after=_KEYSET_ASC if after else ""
    )


def raw_queue(
    db: RawDb,
    staff_id: str,
    facility: str | None,
    status: str,
    first_day: date,
    last_day: date,
    after: tuple[datetime, str] | None,
    limit: int = QUEUE_LIMIT,
) -> tuple[list[tuple[Any, ...]], str | None]:
    """The queue page by hand: staff check, one joined query, one tuple per row."""
    db.begin()
    try:
        member = db.one("SELECT active, roles, facility_code FROM staff WHERE id = ?", (staff_id,))
        if member is None or not member[0] or "reviewer" not in json.loads(member[1]):
            raise LookupError("not a reviewer")
        if member[2] is not None and facility != member[2]:
            raise LookupError("out of scope")
        # One lower bound on submitted_at, as one writes it by hand: the cursor's time
        # when there is a cursor (it is never before the range's start), else the start.
        # (Two lower bounds on the same column make SQLite seek with the first one and
        # filter the rest, which scans every row of the range before the cursor.)
        start = taipei_day_start(first_day)
        if after is not None and after[0] >= start:
            start = after[0]
        params: list[Any] = [facility] if facility is not None else []
        params += [status, db.dt(start)]
        params.append(db.dt(taipei_day_start(last_day + timedelta(days=1))))
        if after is not None:
            params += [db.dt(after[0]), after[1]]
        rows = db.all(_queue_sql(facility is not None, after is not None), [*params, limit + 1])
    finally:
        db.rollback()
    items = []
    for row in rows[:limit]:
        submitted = db.read_dt(row[8])
        assert submitted is not None
        items.append(
            (
                row[0],
                row[1],
                row[2],
                row[3],
                f"{row[4]}-{mask_name(row[5])}",
                _excerpt(row[6], 10),
                _excerpt(row[7], 10),
                submitted,
                format_date(submitted),
                row[9],
                STATUS_LABELS[row[9]],
                tuple(json.loads(row[10])),
                _photo(row[11]),
            )
        )
    cursor = None
    if len(rows) > limit and items:
        cursor = encode_cursor(items[-1][7].isoformat(), items[-1][0])
    return items, cursor


def queue_position(
    db: RawDb,
    facility: str | None,
    status: str,
    first_day: date,
    last_day: date,
    page: int,
) -> tuple[datetime, str] | None:
    """The keyset position before ``page`` (1-based), found once with OFFSET (setup only)."""
    if page <= 1:
        return None
    params: list[Any] = [facility] if facility is not None else []
    params += [status, db.dt(taipei_day_start(first_day))]
    params.append(db.dt(taipei_day_start(last_day + timedelta(days=1))))
    where = "facility_code = ? AND " if facility is not None else ""
    row = db.one(
        f"SELECT submitted_at, id FROM posts WHERE {where}status = ? AND submitted_at >= ? "
        "AND submitted_at < ? ORDER BY submitted_at, id LIMIT 1 OFFSET ?",
        [*params, (page - 1) * QUEUE_LIMIT - 1],
    )
    db.rollback()
    if row is None:
        return None
    moment = db.read_dt(row[0])
    assert moment is not None
    return moment, str(row[1])


def queue_count(db: RawDb, facility: str | None, status: str) -> int:
    where = "facility_code = ? AND " if facility is not None else ""
    params = [facility] if facility is not None else []
    row = db.one(f"SELECT count(*) FROM posts WHERE {where}status = ?", [*params, status])
    db.rollback()
    return int(row[0])


def queue_case(
    book: ContactBook,
    db: RawDb,
    facts: Facts,
    *,
    name: str,
    facility: str | None,
    status: PostStatus,
    page: int,
) -> ListCase:
    staff_id = facts.staff_by_facility[facility] if facility else facts.agency_staff
    first_day = in_taipei(facts.start).date()
    last_day = in_taipei(facts.end).date()
    position = queue_position(db, facility, status.value, first_day, last_day, page)
    cursor = encode_cursor(position[0].isoformat(), position[1]) if position else None
    principal = StaffPrincipal(staff_id)

    def library() -> tuple[list[str], str | None]:
        result = book.moderation.queue(
            principal,
            facility=facility,
            status=status,
            submitted_from=first_day,
            submitted_to=last_day,
            cursor=cursor,
            limit=QUEUE_LIMIT,
        )
        return [item.post_id for item in result.items], result.next_cursor

    def raw() -> tuple[list[str], str | None]:
        items, next_cursor = raw_queue(
            db, staff_id, facility, status.value, first_day, last_day, position
        )
        return [item[0] for item in items], next_cursor

    return ListCase(
        name=name,
        description=(
            f"moderation queue, {'facility ' + facility if facility else 'all facilities'}, "
            f"{status.value}, 5-year date range, page {page}"
        ),
        library=library,
        raw=raw,
        details={
            "facility": facility,
            "status": status.value,
            "page": page,
            "rows_in_slice": queue_count(db, facility, status.value),
        },
    )


# --- the family's own posts -------------------------------------------------------------

_MINE_SQL = """
SELECT p.id, p.version, p.inmate_id, i.call_number, i.name, p.facility_code, f.name,
       p.title, p.body, p.status, p.submitted_at, p.attachments, p.rejection_reason,
       p.rejection_note, p.decided_at, p.delivered_at, p.revision_of
FROM posts p
JOIN inmates i ON i.id = p.inmate_id
JOIN facilities f ON f.code = p.facility_code
WHERE p.author_id = ?
ORDER BY p.submitted_at DESC, p.id DESC
LIMIT ?
"""


def raw_my_posts(
    db: RawDb, account_id: str, limit: int = FAMILY_LIMIT
) -> tuple[list[tuple[Any, ...]], str | None]:
    db.begin()
    try:
        account = db.one("SELECT status FROM accounts WHERE id = ?", (account_id,))
        if account is None or account[0] == "closed":
            raise LookupError("no such account")
        rows = db.all(_MINE_SQL, (account_id, limit + 1))
    finally:
        db.rollback()
    items = []
    for row in rows[:limit]:
        submitted = db.read_dt(row[10])
        delivered = db.read_dt(row[15])
        assert submitted is not None
        items.append(
            (
                row[0],
                row[1],
                row[2],
                f"{row[3]}-{mask_name(row[4])}",
                row[5],
                row[6],
                row[7],
                row[8],
                row[9],
                STATUS_LABELS[row[9]],
                submitted,
                format_date(submitted),
                _attachments(row[11]),
                row[12],
                _reason_label(row[12]),
                row[13],
                db.read_dt(row[14]),
                delivered,
                format_date(delivered) if delivered else "",
                row[16],
                row[9] == "pending",
                row[9] == "rejected",
            )
        )
    cursor = None
    if len(rows) > limit and items:
        cursor = encode_cursor(items[-1][10].isoformat(), items[-1][0])
    return items, cursor


def my_posts_case(book: ContactBook, db: RawDb, facts: Facts) -> ListCase:
    account_id = facts.busiest_author()
    principal = FamilyPrincipal(account_id)

    def library() -> tuple[list[str], str | None]:
        page = book.posts.list_mine(principal, limit=FAMILY_LIMIT)
        return [view.id for view in page.items], page.next_cursor

    def raw() -> tuple[list[str], str | None]:
        items, cursor = raw_my_posts(db, account_id)
        return [item[0] for item in items], cursor

    return ListCase(
        name="my_posts",
        description="a family's own posts (我的家庭聯絡簿), newest first, page 1",
        library=library,
        raw=raw,
        details={"posts_of_family": facts.posts_by_author[account_id], "limit": FAMILY_LIMIT},
    )


# --- notices for a family, by month ---------------------------------------------------------


def _notices_sql(facilities: int, inmates: int) -> str:
    scopes = ["n.audience_scope = 'everyone'"]
    if facilities:
        marks = ", ".join("?" * facilities)
        scopes.append(f"(n.audience_scope = 'facility' AND n.audience_facility_code IN ({marks}))")
    if inmates:
        marks = ", ".join("?" * inmates)
        scopes.append(f"(n.audience_scope = 'inmate' AND n.audience_inmate_id IN ({marks}))")
    return (
        "SELECT n.id, n.published_month, n.published_at, n.title, n.publisher_name, n.body, "
        "n.attachments FROM notices n WHERE n.deleted_at IS NULL AND "
        f"({' OR '.join(scopes)}) AND n.published_month = ? "
        "ORDER BY n.published_at DESC, n.id DESC LIMIT ?"
    )


def _month_label(month: str) -> tuple[str, str]:
    year, number = month.split("-")
    return month, f"{int(year)}年{int(number)}月"


def raw_notices(
    db: RawDb, account_id: str, month: str, limit: int = FAMILY_LIMIT
) -> tuple[list[tuple[Any, ...]], str | None]:
    db.begin()
    try:
        account = db.one("SELECT status FROM accounts WHERE id = ?", (account_id,))
        if account is None or account[0] != "active":
            raise LookupError("no active account")
        grants = db.all(
            "SELECT facility_code, inmate_id FROM grants WHERE account_id = ? AND ended_at IS NULL",
            (account_id,),
        )
        facilities = sorted({g[0] for g in grants})
        inmates = sorted({g[1] for g in grants})
        rows = db.all(
            _notices_sql(len(facilities), len(inmates)),
            [*facilities, *inmates, month, limit + 1],
        )
    finally:
        db.rollback()
    items = []
    for row in rows[:limit]:
        published = db.read_dt(row[2])
        assert published is not None
        items.append(
            (
                row[0],
                _month_label(row[1]),
                format_date(published),
                row[3],
                row[4],
                _excerpt(row[5], 30),
                _photo(row[6]),
                published,
            )
        )
    cursor = None
    if len(rows) > limit and items:
        cursor = encode_cursor(items[-1][7].isoformat(), items[-1][0])
    return items, cursor


def _densest_month(db: RawDb, facility: str) -> str:
    row = db.one(
        "SELECT published_month, count(*) FROM notices WHERE deleted_at IS NULL AND "
        "(audience_scope = 'everyone' OR audience_facility_code = ?) "
        "GROUP BY published_month ORDER BY count(*) DESC, published_month LIMIT 1",
        (facility,),
    )
    db.rollback()
    return str(row[0])


def notices_case(book: ContactBook, db: RawDb, facts: Facts) -> ListCase:
    ref = next(facts.free_grants(facts.busiest))
    month = _densest_month(db, ref.facility_code)
    principal = FamilyPrincipal(ref.account_id)

    def library() -> tuple[list[str], str | None]:
        page = book.notices.list_for_family(principal, month=month, limit=FAMILY_LIMIT)
        return [card.id for card in page.items], page.next_cursor

    def raw() -> tuple[list[str], str | None]:
        items, cursor = raw_notices(db, ref.account_id, month)
        return [item[0] for item in items], cursor

    return ListCase(
        name="notices_by_month",
        description="notices a family may read (機關聯絡簿), one month, newest first, page 1",
        library=library,
        raw=raw,
        details={"month": month, "facility": ref.facility_code, "limit": FAMILY_LIMIT},
    )


# --- all of them ----------------------------------------------------------------------------


def deep_page(facts: Facts, rows_in_slice: int) -> int:
    """≈ page 10 000 at a million posts, scaled down with the data, within the slice."""
    wanted = max(2, round(10_000 * facts.scale / 1_000_000))
    deepest = max(1, (rows_in_slice - 1) // QUEUE_LIMIT)
    return max(1, min(wanted, deepest))


def list_cases(book: ContactBook, db: RawDb, facts: Facts) -> list[ListCase]:
    cases: list[ListCase] = []
    for prefix, facility, status in (
        ("queue_facility", facts.busiest, PostStatus.PENDING),
        ("queue_agency", None, PostStatus.APPROVED),
    ):
        rows = queue_count(db, facility, status.value)
        cases.append(
            queue_case(
                book, db, facts, name=f"{prefix}_p1", facility=facility, status=status, page=1
            )
        )
        cases.append(
            queue_case(
                book,
                db,
                facts,
                name=f"{prefix}_deep",
                facility=facility,
                status=status,
                page=deep_page(facts, rows),
            )
        )
    cases.append(my_posts_case(book, db, facts))
    cases.append(notices_case(book, db, facts))
    return cases


def check_same(case: ListCase) -> None:
    """Both sides return the same page: same ids in the same order and the same cursor."""
    library, raw = case.library(), case.raw()
    if library != raw:
        raise AssertionError(
            f"{case.name}: the library and the baseline disagree:\n{library}\n{raw}"
        )
    if not library[0]:
        raise AssertionError(f"{case.name}: the page is empty; the world is too small")
    case.details["rows_on_page"] = len(library[0])


def _ignore_round(call: Callable[[], object]) -> Callable[[int], object]:
    return lambda _round: call()


def timed_case(case: ListCase, repeat: int) -> dict[str, Stats]:
    """Check that both sides agree, then time them call by call, interleaved."""
    check_same(case)
    return interleaved(
        {"library": _ignore_round(case.library), "raw": _ignore_round(case.raw)}, repeat=repeat
    )


def measure_lists(cases: Sequence[ListCase], repeat: int) -> list[dict[str, Any]]:
    results = []
    for case in cases:
        timings = timed_case(case, repeat)
        library, raw = timings["library"], timings["raw"]
        results.append(
            {
                "name": case.name,
                "group": "lists",
                "description": case.description,
                "library": library.as_dict(),
                "raw": raw.as_dict(),
                "ratio_p50": library.p50 / raw.p50,
                "ratio_p95": library.p95 / raw.p95,
                "library_cpu": timings["library_cpu"].as_dict(),
                "raw_cpu": timings["raw_cpu"].as_dict(),
                "ratio_cpu_p50": timings["library_cpu"].p50 / max(timings["raw_cpu"].p50, 1e-9),
                "details": case.details,
            }
        )
    return results
