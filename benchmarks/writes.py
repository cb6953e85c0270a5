"""Decisions and posts: ``posts.publish`` and ``moderation.approve`` against raw SQL.

Each raw baseline is one transaction doing the checks and writes the use case
does, by hand: who is acting and whether they may, the facility's rules (the
inmate's restrictions, text limits, the posting interval), a compare-and-set on
the version, the row itself, the outbox mail (approve), and the audit event
appended to the hash chain under its head (``chain_hash`` from the domain, so the
chain stays verifiable). Every call uses a fresh family or a fresh pending post.
"""

from __future__ import annotations

import json
import string
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from importlib import resources
from typing import Any

from benchmarks.target import RawDb
from benchmarks.timing import interleaved
from benchmarks.world import Facts, GrantRef
from contactbook import ContactBook, FamilyPrincipal, PostDraft, StaffPrincipal
from contactbook.domain.audit import AuditEvent, chain_hash
from contactbook.domain.text import clean_text, matched_keywords
from contactbook.domain.time import utc

__all__ = ["measure_writes"]

TITLE = "孩子的近況"
BODY = "今天小明去上學，老師說他很乖。我們下個月會去看你。"


class Refused(Exception):
    """A raw baseline's check failed (it never should in the benchmark)."""


def _append_audit(
    db: RawDb,
    now: datetime,
    *,
    actor_kind: str,
    actor_id: str,
    role: str,
    action: str,
    target_id: str,
    facility_code: str,
) -> None:
    head = db.one("SELECT seq, hash FROM audit_head WHERE id = 1" + db.lock_suffix())
    seq = int(head[0]) + 1
    event = AuditEvent(
        id=f"{seq:016d}",
        seq=seq,
        at=now,
        actor_kind=actor_kind,
        actor_id=actor_id,
        action=action,
        target_kind="post",
        target_id=target_id,
        role=role,
        facility_code=facility_code,
        prev_hash=str(head[1]),
    )
    digest = chain_hash(event)
    db.run(
        "INSERT INTO audit (id, seq, at, actor_kind, actor_id, action, target_kind, target_id, "
        "outcome, role, facility_code, origin, details, prev_hash, hash) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            event.id,
            seq,
            db.dt(now),
            actor_kind,
            actor_id,
            action,
            "post",
            target_id,
            "success",
            role,
            facility_code,
            "",
            "[]",
            event.prev_hash,
            digest,
        ),
    )
    db.run("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (seq, digest))


_INSERT_POST = (
    "INSERT INTO posts (id, author_id, inmate_id, facility_code, grant_id, title, body, "
    "submitted_at, review_deadline, attachments, status, flagged_keywords, decided_at, "
    "reviewer_id, rejection_reason, rejection_note, delivered_at, delivered_by, withdrawn_at, "
    "expired_at, revision_of, version) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '[]', 'pending', ?, NULL, NULL, NULL, '', NULL, NULL, "
    "NULL, NULL, NULL, 1)"
)


def raw_publish(db: RawDb, now: datetime, account_id: str, inmate_id: str) -> str:
    """Publish a text post by hand, in one transaction."""
    db.begin(write=True)
    try:
        account = db.one(
            "SELECT status, posting_suspended_until FROM accounts WHERE id = ?", (account_id,)
        )
        if account is None or account[0] != "active":
            raise Refused("account")
        suspended = db.read_dt(account[1])
        if suspended is not None and now < suspended:
            raise Refused("suspended")
        grant = db.one(
            "SELECT id, version FROM grants WHERE account_id = ? AND inmate_id = ? "
            "AND ended_at IS NULL ORDER BY granted_at, id LIMIT 1",
            (account_id, inmate_id),
        )
        inmate = db.one(
            "SELECT facility_code, left_at, restrictions, is_juvenile FROM inmates WHERE id = ?",
            (inmate_id,),
        )
        if grant is None or inmate is None or inmate[1] is not None:
            raise Refused("no grant")
        facility_code = str(inmate[0])
        policy = json.loads(
            db.one("SELECT policy FROM facilities WHERE code = ?", (facility_code,))[0]
        )
        if set(policy["excluded_restrictions"]) & set(json.loads(inmate[2])):
            raise Refused("restricted")
        title = clean_text(TITLE, field="title", max_chars=policy["title_max_chars"])
        body = clean_text(BODY, field="body", max_chars=policy["body_max_chars"])
        last = db.one(
            "SELECT submitted_at FROM posts WHERE author_id = ? AND inmate_id = ? "
            "AND status IN ('approved', 'pending') ORDER BY submitted_at DESC, id DESC LIMIT 1",
            (account_id, inmate_id),
        )
        days = policy["juvenile_post_interval_days" if inmate[3] else "adult_post_interval_days"]
        if last is not None:
            previous = db.read_dt(last[0])
            assert previous is not None
            if now < previous + timedelta(days=days):
                raise Refused("quota")
        updated = db.run(
            "UPDATE grants SET version = ? WHERE id = ? AND version = ?",
            (grant[1] + 1, grant[0], grant[1]),
        )
        if updated != 1:
            raise Refused("stale grant")
        post_id = uuid.uuid4().hex
        flagged = matched_keywords(f"{title}\n{body}", tuple(policy["watch_keywords"]))
        db.run(
            _INSERT_POST,
            (
                post_id,
                account_id,
                inmate_id,
                facility_code,
                grant[0],
                title,
                body,
                db.dt(now),
                db.dt(now + timedelta(days=policy["review_deadline_days"])),
                json.dumps(list(flagged), ensure_ascii=False),
            ),
        )
        _append_audit(
            db,
            now,
            actor_kind="family",
            actor_id=account_id,
            role="family",
            action="post.publish",
            target_id=post_id,
            facility_code=facility_code,
        )
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return post_id


def _template(name: str) -> tuple[string.Template, string.Template]:
    text = (resources.files("contactbook") / "templates" / "mail" / name).read_text("utf-8")
    head, _, body = text.partition("\n\n")
    subject = head.removeprefix("Subject:").strip()
    return string.Template(subject), string.Template(body.rstrip("\n"))


_APPROVED = {locale: _template(f"post_approved.{locale}.txt") for locale in ("zh_TW", "en")}


def raw_approve(db: RawDb, now: datetime, staff_id: str, post_id: str, version: int) -> None:
    """Approve a pending post by hand, in one transaction (mail and audit included)."""
    db.begin(write=True)
    try:
        member = db.one("SELECT active, roles, facility_code FROM staff WHERE id = ?", (staff_id,))
        if member is None or not member[0]:
            raise Refused("staff")
        roles = json.loads(member[1])
        if "reviewer" not in roles:
            raise Refused("role")
        post = db.one(
            "SELECT status, version, facility_code, inmate_id, author_id, title "
            "FROM posts WHERE id = ?",
            (post_id,),
        )
        if post is None or (member[2] is not None and member[2] != post[2]):
            raise Refused("not found")
        inmate = db.one("SELECT restrictions FROM inmates WHERE id = ?", (post[3],))
        policy = json.loads(db.one("SELECT policy FROM facilities WHERE code = ?", (post[2],))[0])
        if post[1] != version or post[0] != "pending":
            raise Refused("stale or decided")
        if set(policy["excluded_restrictions"]) & set(json.loads(inmate[0])):
            raise Refused("restricted")
        updated = db.run(
            "UPDATE posts SET status = 'approved', decided_at = ?, reviewer_id = ?, version = ? "
            "WHERE id = ? AND version = ?",
            (db.dt(now), staff_id, version + 1, post_id, version),
        )
        if updated != 1:
            raise Refused("stale post")
        author = db.one("SELECT id, name, email FROM accounts WHERE id = ?", (post[4],))
        if author is not None:
            values = {"name": author[1], "title": post[5], "base_url": "http://localhost:8000"}
            (zh_subject, zh_body), (en_subject, en_body) = _APPROVED["zh_TW"], _APPROVED["en"]
            db.run(
                "INSERT INTO messages (id, channel, destination, subject, body, cause, "
                "created_at, account_id, facility_code, status, attempts, next_attempt_at, "
                "sent_at, last_error, version) "
                "VALUES (?, 'email', ?, ?, ?, 'post_approved', ?, ?, ?, 'pending', 0, NULL, "
                "NULL, '', 1)",
                (
                    uuid.uuid4().hex,
                    author[2],
                    f"{zh_subject.safe_substitute(values)} / {en_subject.safe_substitute(values)}",
                    f"{zh_body.safe_substitute(values)}\n\n-----\n\n{en_body.safe_substitute(values)}",
                    db.dt(now),
                    author[0],
                    post[2],
                ),
            )
        _append_audit(
            db,
            now,
            actor_kind="staff",
            actor_id=staff_id,
            role=",".join(sorted(roles)),
            action="post.approve",
            target_id=post_id,
            facility_code=post[2],
        )
        db.commit()
    except BaseException:
        db.rollback()
        raise


def pending_posts(db: RawDb, facility: str, count: int) -> list[tuple[str, int]]:
    """Pending posts of ``facility`` to unrestricted inmates, newest first."""
    rows = db.all(
        "SELECT p.id, p.version FROM posts p JOIN inmates i ON i.id = p.inmate_id "
        "WHERE p.facility_code = ? AND p.status = 'pending' AND i.restrictions = '[]' "
        "ORDER BY p.submitted_at DESC, p.id DESC LIMIT ?",
        (facility, count),
    )
    db.rollback()
    return [(str(row[0]), int(row[1])) for row in rows]


def measure_writes(
    book: ContactBook, db: RawDb, facts: Facts, grants: Iterator[GrantRef], repeat: int
) -> list[dict[str, Any]]:
    now = utc(book.context.clock.now())
    warmup = 3
    total = repeat + warmup
    library_grants = [next(grants) for _ in range(total)]
    raw_grants = [next(grants) for _ in range(total)]

    def library_publish(round_number: int) -> object:
        ref = library_grants[round_number + warmup]
        draft = PostDraft(inmate_id=ref.inmate_id, title=TITLE, body=BODY)
        return book.posts.publish(FamilyPrincipal(ref.account_id), draft)

    def raw_publish_call(round_number: int) -> object:
        ref = raw_grants[round_number + warmup]
        return raw_publish(db, now, ref.account_id, ref.inmate_id)

    published = interleaved(
        {"library": library_publish, "raw": raw_publish_call}, repeat=repeat, warmup=warmup
    )

    facility = facts.busiest
    staff = facts.staff_by_facility[facility]
    posts = pending_posts(db, facility, 2 * total)
    if len(posts) < 2 * total:
        raise RuntimeError(f"only {len(posts)} pending posts in {facility}; raise --scale")
    library_posts, raw_posts = posts[0::2], posts[1::2]
    principal = StaffPrincipal(staff)

    def library_approve(round_number: int) -> object:
        post_id, version = library_posts[round_number + warmup]
        return book.moderation.approve(principal, post_id, version)

    def raw_approve_call(round_number: int) -> object:
        post_id, version = raw_posts[round_number + warmup]
        raw_approve(db, now, staff, post_id, version)
        return None

    approved = interleaved(
        {"library": library_approve, "raw": raw_approve_call}, repeat=repeat, warmup=warmup
    )
    results = []
    for name, description, timings in (
        ("publish", "posts.publish, text only, a fresh family each call", published),
        ("approve", "moderation.approve of a pending post, mail and audit included", approved),
    ):
        library, raw = timings["library"], timings["raw"]
        results.append(
            {
                "name": name,
                "group": "writes",
                "description": description,
                "library": library.as_dict(),
                "raw": raw.as_dict(),
                "library_per_second": 1 / library.p50,
                "raw_per_second": 1 / raw.p50,
                "ratio_throughput": raw.p50 / library.p50,
                "library_cpu": timings["library_cpu"].as_dict(),
                "raw_cpu": timings["raw_cpu"].as_dict(),
                "ratio_cpu_throughput": timings["raw_cpu"].p50
                / max(timings["library_cpu"].p50, 1e-9),
                "details": {"throughput": "1 / median seconds per call"},
            }
        )
    return results
