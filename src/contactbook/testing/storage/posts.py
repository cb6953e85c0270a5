"""Family posts: round trip, the posting interval, due reviews, the author list,
the review queue (entities and joined rows) and the delivery list."""

from __future__ import annotations

from datetime import datetime, timedelta

import attrs

from contactbook.domain.files import EvidenceKind
from contactbook.domain.post import FamilyPost, PostRejectionReason, PostStatus
from contactbook.ports.reads import AuthorFilter, AuthorRow, QueueFilter, QueueRow
from contactbook.ports.storage import Storage, UnitOfWork
from contactbook.testing.storage.builders import (
    ACCOUNT,
    FACILITY,
    INMATE,
    OTHER_ACCOUNT,
    OTHER_FACILITY,
    OTHER_INMATE,
    OTHER_POST,
    STAFF,
    at,
    make_post,
    make_stored_file,
    seed,
)
from contactbook.testing.storage.checks import (
    ASCENDING,
    DESCENDING,
    assert_every_field_set,
    ids,
    numbered,
    seven,
    submitted,
    walk,
)
from contactbook.testing.storage.fixtures import StorageFixtures
from contactbook.testing.storage.rules import (
    Kind,
    Rule,
    each_shared_rule,
    round_trip,
)

__all__ = ["PostsContract"]


def _decided(post: FamilyPost) -> tuple[datetime, str]:
    assert post.decided_at is not None
    return post.decided_at, post.id


def _seed_by_two_authors(world: Storage) -> None:
    """Posts 1–7 of ACCOUNT (2, 4 and 7 rejected, the others pending), one of OTHER_ACCOUNT."""
    rejected = {2, 4, 7}
    seed(
        world,
        *seven(
            lambda n, when: make_post(
                f"post-{n}",
                submitted_at=when,
                status=PostStatus.REJECTED if n in rejected else PostStatus.PENDING,
            )
        ),
        make_post("post-by-other", submitted_at=at(1), **OTHER_POST),
    )


def _seed_queue(world: Storage) -> None:
    """Pending posts 1–7 to FACILITY, one pending elsewhere and one approved."""
    seed(
        world,
        *seven(lambda n, when: make_post(f"post-{n}", submitted_at=when)),
        make_post("post-elsewhere", submitted_at=at(1), **OTHER_POST),
        make_post("post-approved", status=PostStatus.APPROVED, submitted_at=at(1)),
    )


_POSTS_KIND = Kind(
    "posts",
    make=lambda: make_post("post-new"),
    same_key=lambda post: attrs.evolve(post, title="另一篇"),
    changed=lambda post: post.approve(by=STAFF, at=at(1), version=post.version),
)


class PostsContract(StorageFixtures):
    """The ``posts`` repository, its queries and joined rows.

    Fixtures: ``world`` (seeded from your ``storage``).
    """

    # --- Round trip, unique rules and compare-and-set ---------------------------------

    def test_post_round_trip(self, world: Storage) -> None:
        original = make_post("post-original")
        full = make_post(
            "post-full",
            attachments=(
                make_stored_file(
                    "post-full-photo",
                    kind=EvidenceKind.FRONTAL_PHOTO,
                    thumbnail_key="thumbnails/post-full-photo",
                ),
                make_stored_file("post-full-drawing", display_name="弟弟的畫.png"),
            ),
            status=PostStatus.REJECTED,
            flagged_keywords=("毒品", "越獄"),
            decided_at=at(2),
            reviewer_id=STAFF,
            rejection_reason=PostRejectionReason.OTHER,
            rejection_note="請勿提及案情 🙏",
            delivered_at=at(3),
            delivered_by=STAFF,
            withdrawn_at=at(4),
            expired_at=at(5),
            revision_of=original.id,
            version=5,
        )
        assert_every_field_set(full)
        minimal = make_post("post-minimal", attachments=())
        round_trip(world, _POSTS_KIND, original, full, minimal)

    @each_shared_rule(_POSTS_KIND)
    def test_posts_shared_rules(self, world: Storage, rule: Rule, kind: Kind) -> None:
        rule(world, kind)

    # --- Queries ----------------------------------------------------------------------

    def test_latest_counting_post_ignores_freed_posts_and_other_inmates(
        self, world: Storage
    ) -> None:
        seed(
            world,
            make_post("post-approved", status=PostStatus.APPROVED, submitted_at=at(0)),
            make_post("post-pending", submitted_at=at(5)),
            make_post("post-rejected", status=PostStatus.REJECTED, submitted_at=at(6)),
            make_post("post-withdrawn", status=PostStatus.WITHDRAWN, submitted_at=at(7)),
            make_post("post-expired", status=PostStatus.EXPIRED, submitted_at=at(8)),
            make_post(
                "post-other-inmate",
                inmate_id=OTHER_INMATE,
                facility_code=OTHER_FACILITY,
                submitted_at=at(9),
            ),
            make_post("post-other-author", author_id=OTHER_ACCOUNT, submitted_at=at(10)),
        )
        with world.unit_of_work() as uow:
            latest = uow.posts.latest_counting(ACCOUNT, INMATE)
            assert latest is not None and latest.id == "post-pending"
            assert uow.posts.latest_counting(OTHER_ACCOUNT, OTHER_INMATE) is None

    def test_latest_counting_post_can_be_an_approved_one(self, world: Storage) -> None:
        seed(
            world,
            make_post("post-old", status=PostStatus.APPROVED, submitted_at=at(0)),
            make_post("post-new", status=PostStatus.APPROVED, submitted_at=at(1)),
            make_post("post-rejected", status=PostStatus.REJECTED, submitted_at=at(2)),
        )
        with world.unit_of_work() as uow:
            latest = uow.posts.latest_counting(ACCOUNT, INMATE)
        assert latest is not None and latest.id == "post-new"

    def test_pending_due_posts(self, world: Storage) -> None:
        now = at(0)
        seed(
            world,
            make_post("post-overdue", review_deadline=now - timedelta(days=1)),
            make_post("post-due-now", review_deadline=now),
            make_post("post-not-due", review_deadline=now + timedelta(seconds=1)),
            make_post(
                "post-decided",
                status=PostStatus.APPROVED,
                review_deadline=now - timedelta(days=2),
            ),
        )
        with world.unit_of_work() as uow:
            assert set(ids(uow.posts.pending_due(now, limit=10))) == {
                "post-overdue",
                "post-due-now",
            }
            limited = ids(uow.posts.pending_due(now, limit=1))
        assert len(limited) == 1 and limited[0] in {"post-overdue", "post-due-now"}

    def test_pending_posts_for_an_inmate(self, world: Storage) -> None:
        seed(
            world,
            make_post("post-1"),
            make_post("post-2", submitted_at=at(1)),
            make_post("post-approved", status=PostStatus.APPROVED),
            make_post("post-other", **OTHER_POST),
        )
        with world.unit_of_work() as uow:
            assert set(ids(uow.posts.pending_for_inmate(INMATE))) == {"post-1", "post-2"}
            assert ids(uow.posts.pending_for_inmate(OTHER_INMATE)) == ["post-other"]

    def test_posts_by_author_newest_first(self, world: Storage) -> None:
        _seed_by_two_authors(world)
        with world.unit_of_work() as uow:
            every = walk(
                lambda after, limit: uow.posts.list_by_author(
                    ACCOUNT, status=None, after=after, limit=limit
                ),
                submitted,
            )
            only_rejected = walk(
                lambda after, limit: uow.posts.list_by_author(
                    ACCOUNT, status=PostStatus.REJECTED, after=after, limit=limit
                ),
                submitted,
                limit=2,
            )
        assert ids(every) == numbered("post", DESCENDING)
        assert ids(only_rejected) == ["post-7", "post-4", "post-2"]

    def test_author_rows_join_the_inmate_and_facility_newest_first(self, world: Storage) -> None:
        _seed_by_two_authors(world)
        revised = make_post(
            "post-8",
            submitted_at=at(4),
            attachments=(),
            status=PostStatus.REJECTED,
            decided_at=at(5),
            reviewer_id=STAFF,
            rejection_reason=PostRejectionReason.OTHER,
            rejection_note="請勿提及案情",
            revision_of="post-7",
        )
        seed(world, revised)

        def author_rows(uow: UnitOfWork, status: PostStatus | None) -> list[AuthorRow]:
            return walk(
                lambda after, limit: uow.posts.author_rows(
                    AuthorFilter(ACCOUNT, status), after=after, limit=limit
                ),
                lambda row: (row.submitted_at, row.id),
            )

        with world.unit_of_work() as uow:
            every = author_rows(uow, None)
            only_rejected = author_rows(uow, PostStatus.REJECTED)
            post_1 = uow.posts.get("post-1")
            theirs = uow.posts.author_rows(AuthorFilter(OTHER_ACCOUNT), after=None, limit=5)
        assert post_1 is not None
        assert [row.id for row in every] == ["post-8", *numbered("post", DESCENDING)]
        assert [row.id for row in only_rejected] == ["post-8", "post-7", "post-4", "post-2"]
        assert every[0] == AuthorRow(
            id="post-8",
            version=revised.version,
            inmate_id=INMATE,
            call_number="0609",
            inmate_name="王大明",
            facility_code=FACILITY,
            facility_name="北區示範監獄",
            title=revised.title,
            body=revised.body,
            status=PostStatus.REJECTED,
            submitted_at=at(4),
            attachments=(),
            rejection_reason=PostRejectionReason.OTHER,
            rejection_note="請勿提及案情",
            decided_at=at(5),
            delivered_at=None,
            revision_of="post-7",
        )
        assert every[-1].attachments == post_1.attachments
        assert (every[-1].rejection_reason, every[-1].decided_at) == (None, None)
        assert [(row.id, row.facility_name, row.inmate_name) for row in theirs] == [
            ("post-by-other", "南區示範看守所", "李小龍")
        ]

    def test_post_queue_rows_join_the_facility_and_inmate_of_each_post(
        self, world: Storage
    ) -> None:
        drawing = make_stored_file("post-2-drawing", content_type="image/png")
        seed(
            world,
            make_post("post-1", submitted_at=at(0), flagged_keywords=("越獄",)),
            make_post("post-2", submitted_at=at(1), attachments=(drawing,), **OTHER_POST),
            make_post("post-3", submitted_at=at(2), attachments=()),
        )
        with world.unit_of_work() as uow:
            rows = uow.posts.queue_rows(QueueFilter(), after=None, limit=10)
            first = uow.posts.get("post-1")
        assert first is not None
        assert [row.post_id for row in rows] == ["post-1", "post-2", "post-3"]
        assert rows[0] == QueueRow(
            post_id="post-1",
            version=first.version,
            facility_code=FACILITY,
            facility_name="北區示範監獄",
            call_number="0609",
            inmate_name="王大明",
            title=first.title,
            body=first.body,
            submitted_at=at(0),
            status=PostStatus.PENDING,
            flagged_keywords=("越獄",),
            attachments=first.attachments,
        )
        assert (rows[1].facility_name, rows[1].inmate_name) == ("南區示範看守所", "李小龍")
        assert rows[1].attachments == (drawing,)
        assert rows[2].attachments == ()
        assert rows[2].flagged_keywords == ()

    def test_post_queue_rows_page_and_filter_oldest_first(self, world: Storage) -> None:
        _seed_queue(world)

        def queue_rows(uow: UnitOfWork, where: QueueFilter) -> list[QueueRow]:
            return walk(
                lambda after, limit: uow.posts.queue_rows(where, after=after, limit=limit),
                lambda row: (row.submitted_at, row.post_id),
            )

        with world.unit_of_work() as uow:
            pending_here = queue_rows(
                uow, QueueFilter(facility_codes=frozenset({FACILITY}), status=PostStatus.PENDING)
            )
            everything = queue_rows(uow, QueueFilter())
            window = queue_rows(
                uow,
                QueueFilter(
                    facility_codes=frozenset({FACILITY, OTHER_FACILITY}),
                    status=PostStatus.PENDING,
                    submitted_from=at(1),  # inclusive
                    submitted_to=at(3),  # exclusive
                ),
            )
            nowhere = uow.posts.queue_rows(
                QueueFilter(facility_codes=frozenset()), after=None, limit=10
            )
            # A cursor before the range start must not let earlier rows in.
            from_cursor_before_start = uow.posts.queue_rows(
                QueueFilter(status=PostStatus.PENDING, submitted_from=at(2)),
                after=(at(0), "post-1"),
                limit=10,
            )
        assert [row.post_id for row in pending_here] == numbered("post", ASCENDING)
        assert len(everything) == 9
        assert {row.post_id for row in everything} == {
            *numbered("post", ASCENDING),
            "post-elsewhere",
            "post-approved",
        }
        assert [row.post_id for row in window] == [
            "post-2",
            "post-elsewhere",
            "post-3",
            "post-4",
            "post-5",
        ]
        assert nowhere == []
        assert [row.post_id for row in from_cursor_before_start] == numbered("post", range(3, 8))

    def test_approved_undelivered_posts_oldest_decision_first(self, world: Storage) -> None:
        def approved(n: int, when: datetime) -> FamilyPost:
            # submitted in the opposite order, so sorting by the wrong time shows
            return make_post(
                f"post-{n}",
                submitted_at=at(-n),
                status=PostStatus.APPROVED,
                decided_at=when,
                reviewer_id=STAFF,
            )

        seed(
            world,
            *seven(approved),
            make_post(
                "post-delivered",
                status=PostStatus.APPROVED,
                decided_at=at(1),
                delivered_at=at(2),
                delivered_by=STAFF,
            ),
            make_post("post-pending"),
            make_post("post-elsewhere", status=PostStatus.APPROVED, decided_at=at(1), **OTHER_POST),
        )
        with world.unit_of_work() as uow:
            here = walk(
                lambda after, limit: uow.posts.approved_undelivered(
                    frozenset({FACILITY}), after=after, limit=limit
                ),
                _decided,
            )
            everywhere = walk(
                lambda after, limit: uow.posts.approved_undelivered(None, after=after, limit=limit),
                _decided,
            )
        assert ids(here) == numbered("post", ASCENDING)
        assert ids(everywhere) == [
            "post-1",
            "post-2",
            "post-elsewhere",
            *numbered("post", range(3, 8)),
        ]
