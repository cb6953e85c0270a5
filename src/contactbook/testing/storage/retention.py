"""Retention and erasure of personal data: the files rows refer to (for the
sweep of orphans), removing accounts, posts and messages, and the queries that
find what has ended or finished long enough ago."""

from __future__ import annotations

from datetime import datetime

import attrs
import pytest

from contactbook.domain.message import Message, MessageStatus
from contactbook.domain.post import PostStatus
from contactbook.domain.versioning import next_version
from contactbook.errors import Conflict, NotFound
from contactbook.ports.storage import Storage
from contactbook.testing.storage.builders import (
    ACCOUNT,
    APPLICATION,
    GRANT,
    OTHER_ACCOUNT,
    OTHER_APPLICATION,
    OTHER_FACILITY,
    OTHER_GRANT,
    OTHER_POST,
    STAFF,
    at,
    make_account,
    make_application,
    make_audit_event,
    make_message,
    make_notice,
    make_post,
    make_stored_file,
    make_token,
    seed,
)
from contactbook.testing.storage.checks import DESCENDING, ids, numbered, seven, walk
from contactbook.testing.storage.fixtures import StorageFixtures

__all__ = ["RetentionContract"]


def _seed_wang_belongings(world: Storage) -> None:
    """Rows of ACCOUNT (tokens, messages, posts with a revision) and one of each of
    OTHER_ACCOUNT, so removing ACCOUNT must tell them apart."""
    seed(
        world,
        make_token("tok-wang"),
        make_token("tok-lee", account_id=OTHER_ACCOUNT),
        make_message("msg-wang"),
        make_message("msg-lee", account_id=OTHER_ACCOUNT, facility_code=OTHER_FACILITY),
        make_post("post-original", status=PostStatus.REJECTED, decided_at=at(1)),
        make_post("post-revision", revision_of="post-original", submitted_at=at(2)),
        make_post("post-lee", **OTHER_POST),
        make_audit_event(1, target_kind="account", target_id=ACCOUNT),
    )


class RetentionContract(StorageFixtures):
    """``stored_files``, the ``remove`` methods and the retention queries.

    Fixtures: ``storage``, ``world`` (seeded from it).
    """

    # --- Stored files -----------------------------------------------------------------

    def test_stored_files_of_an_empty_storage_is_empty(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            assert list(uow.stored_files()) == []

    def test_stored_files_lists_every_referenced_file_in_order(self, world: Storage) -> None:
        """Evidence, post and notice attachments (deleted notices too), grouped by owner
        kind, then by owner id, each row's files in their order; rows without files add
        nothing."""
        photo = make_stored_file(
            "post-b-photo", thumbnail_key="posts/F01/thumbnails/2024/03/post-b-photo"
        )
        drawing = make_stored_file("post-b-drawing", display_name="弟弟的畫.png")
        letter = make_stored_file("post-a-letter", content_type="application/pdf")
        notice_file = make_stored_file("notice-live-1", display_name="報名表.pdf")
        deleted_file = make_stored_file("notice-gone-1", display_name="舊公告.pdf")
        seed(
            world,
            make_post("post-b", attachments=(photo, drawing)),
            make_post("post-a", attachments=(letter,), submitted_at=at(-24 * 40)),
            make_post("post-c", attachments=(), submitted_at=at(-24 * 80)),
            make_notice("notice-live", attachments=(notice_file,)),
            make_notice("notice-gone", attachments=(deleted_file,), deleted_at=at(1)),
            make_notice("notice-bare", attachments=()),
        )
        with world.unit_of_work() as uow:
            listed = list(uow.stored_files())
        lee, wang = make_application(OTHER_APPLICATION), make_application(APPLICATION)
        assert listed == [
            *(("application", OTHER_APPLICATION, stored) for stored in lee.evidence),
            *(("application", APPLICATION, stored) for stored in wang.evidence),
            ("post", "post-a", letter),
            ("post", "post-b", photo),
            ("post", "post-b", drawing),
            ("notice", "notice-gone", deleted_file),
            ("notice", "notice-live", notice_file),
        ]

    def test_stored_files_see_the_unit_of_works_own_writes(self, world: Storage) -> None:
        attachment = make_stored_file("post-new-photo")
        with world.unit_of_work() as uow:
            uow.posts.add(make_post("post-new", attachments=(attachment,)))
            assert ("post", "post-new", attachment) in list(uow.stored_files())
        with world.unit_of_work() as uow:
            assert all(owner != "post" for owner, _, _ in uow.stored_files())

    def test_stored_files_follow_replaced_rows(self, world: Storage) -> None:
        """A row's files are what it holds now: a replaced attachment list is listed as is."""
        first, second = make_stored_file("notice-x-1"), make_stored_file("notice-x-2")
        seed(world, make_notice("notice-x", attachments=(first,)))
        with world.unit_of_work() as uow:
            notice = uow.notices.get("notice-x")
            assert notice is not None
            uow.notices.replace(
                notice, attrs.evolve(notice, attachments=(second,), version=notice.version + 1)
            )
            uow.commit()
        with world.unit_of_work() as uow:
            notices = [
                (owner_id, f) for owner, owner_id, f in uow.stored_files() if owner == "notice"
            ]
        assert notices == [("notice-x", second)]

    # --- Accounts ---------------------------------------------------------------------

    def test_removing_an_account_removes_its_own_rows_and_nothing_else(
        self, world: Storage
    ) -> None:
        _seed_wang_belongings(world)
        with world.unit_of_work() as uow:
            account = uow.accounts.get(ACCOUNT)
            assert account is not None
            uow.accounts.remove(account)
            uow.commit()
        with world.unit_of_work() as uow:
            assert uow.accounts.get(ACCOUNT) is None
            assert uow.tokens.by_hash(make_token("tok-wang").token_hash) is None
            assert uow.messages.get("msg-wang") is None
            assert uow.posts.get("post-original") is None
            assert uow.posts.get("post-revision") is None
            assert uow.grants.get(GRANT) is None
            assert uow.applications.get(APPLICATION) is None
            assert uow.accounts.get(OTHER_ACCOUNT) is not None
            assert uow.tokens.by_hash(make_token("tok-lee").token_hash) is not None
            assert uow.messages.get("msg-lee") is not None
            assert uow.posts.get("post-lee") is not None
            assert uow.grants.get(OTHER_GRANT) is not None
            assert uow.applications.get(OTHER_APPLICATION) is not None
            assert [e.target_id for e in uow.audit.in_order()] == [ACCOUNT]  # audit stays

    def test_removing_an_account_from_a_stale_state_raises_and_removes_nothing(
        self, world: Storage
    ) -> None:
        _seed_wang_belongings(world)
        stale = make_account()
        with world.unit_of_work() as uow:
            uow.accounts.replace(stale, next_version(stale, name="王曉明"))
            uow.commit()
        with world.unit_of_work() as uow, pytest.raises(Conflict) as caught:
            uow.accounts.remove(stale)
        assert caught.value.code == "stale_version"
        with world.unit_of_work() as uow:
            assert uow.accounts.get(ACCOUNT) is not None
            assert uow.posts.get("post-revision") is not None
            assert uow.messages.get("msg-wang") is not None

    def test_removing_an_absent_account_raises_not_found(self, world: Storage) -> None:
        with world.unit_of_work() as uow, pytest.raises(NotFound):
            uow.accounts.remove(make_account("acc-nobody"))

    # --- Posts ------------------------------------------------------------------------

    def test_posts_ended_before_count_from_the_end_of_each_status(self, world: Storage) -> None:
        decided = {"decided_at": at(1), "reviewer_id": STAFF}
        seed(
            world,
            make_post("delivered-late", status=PostStatus.APPROVED, **decided, delivered_at=at(9)),
            make_post("delivered-1", status=PostStatus.APPROVED, **decided, delivered_at=at(3)),
            make_post("delivered-0", status=PostStatus.APPROVED, **decided, delivered_at=at(2)),
            make_post("approved-undelivered", status=PostStatus.APPROVED, **decided),
            make_post("rejected", status=PostStatus.REJECTED, **decided),
            make_post("expired", status=PostStatus.EXPIRED, expired_at=at(4)),
            make_post("withdrawn", status=PostStatus.WITHDRAWN, withdrawn_at=at(5)),
            make_post("pending"),
        )
        with world.unit_of_work() as uow:

            def ended(status: PostStatus, before: datetime, limit: int = 10) -> list[str]:
                return ids(uow.posts.ended_before(status, before, limit=limit))

            assert ended(PostStatus.APPROVED, at(9)) == ["delivered-0", "delivered-1"]
            assert ended(PostStatus.APPROVED, at(9), limit=1) == ["delivered-0"]
            assert ended(PostStatus.APPROVED, at(2)) == []  # the end itself is not before
            assert ended(PostStatus.REJECTED, at(1.5)) == ["rejected"]
            assert ended(PostStatus.EXPIRED, at(4.5)) == ["expired"]
            assert ended(PostStatus.EXPIRED, at(4)) == []
            assert ended(PostStatus.WITHDRAWN, at(6)) == ["withdrawn"]
            assert ended(PostStatus.PENDING, at(1000)) == []

    def test_removing_a_post_keeps_its_revision_unlinked(self, world: Storage) -> None:
        seed(
            world,
            make_post("post-original", status=PostStatus.REJECTED, decided_at=at(1)),
            make_post("post-revision", revision_of="post-original", submitted_at=at(2)),
        )
        with world.unit_of_work() as uow:
            original = uow.posts.get("post-original")
            assert original is not None
            uow.posts.remove(original)
            uow.commit()
        with world.unit_of_work() as uow:
            assert uow.posts.get("post-original") is None
            revision = uow.posts.get("post-revision")
        assert revision is not None
        assert revision.revision_of is None
        assert revision.version == 2  # its row changed: a reader's copy is stale now

    def test_removing_a_post_from_a_stale_state_or_absent_raises(self, world: Storage) -> None:
        stale = make_post()
        seed(world, stale)
        with world.unit_of_work() as uow:
            uow.posts.replace(stale, attrs.evolve(stale, title="改過", version=2))
            uow.commit()
        with world.unit_of_work() as uow, pytest.raises(Conflict):
            uow.posts.remove(stale)
        with world.unit_of_work() as uow, pytest.raises(NotFound):
            uow.posts.remove(make_post("post-nobody"))
        with world.unit_of_work() as uow:
            assert uow.posts.get(stale.id) is not None

    # --- Messages ---------------------------------------------------------------------

    def test_messages_of_an_account_whatever_their_status_newest_first(
        self, world: Storage
    ) -> None:
        statuses = [MessageStatus.PENDING, MessageStatus.SENT, MessageStatus.FAILED]

        def message(n: int, when: datetime) -> Message:
            return make_message(f"msg-{n}", created_at=when, status=statuses[n % 3])

        seed(
            world,
            *seven(message),
            make_message("msg-lee", account_id=OTHER_ACCOUNT, facility_code=OTHER_FACILITY),
        )
        with world.unit_of_work() as uow:
            listed = walk(
                lambda after, limit: uow.messages.list_by_account(
                    ACCOUNT, after=after, limit=limit
                ),
                lambda m: (m.created_at, m.id),
            )
        assert ids(listed) == numbered("msg", DESCENDING)

    def test_finished_messages_before_a_time_oldest_first(self, world: Storage) -> None:
        seed(
            world,
            make_message("sent-late", status=MessageStatus.SENT, created_at=at(5)),
            make_message("failed", status=MessageStatus.FAILED, created_at=at(2)),
            make_message("sent", status=MessageStatus.SENT, created_at=at(1)),
            make_message("pending", created_at=at(0)),
        )
        with world.unit_of_work() as uow:
            assert ids(uow.messages.finished_before(at(5), limit=10)) == ["sent", "failed"]
            assert ids(uow.messages.finished_before(at(5), limit=1)) == ["sent"]
            assert ids(uow.messages.finished_before(at(1), limit=10)) == []

    def test_removing_a_message(self, world: Storage) -> None:
        seed(world, make_message("msg-1"), make_message("msg-2"))
        with world.unit_of_work() as uow:
            message = uow.messages.get("msg-1")
            assert message is not None
            uow.messages.remove(message)
            uow.commit()
        with world.unit_of_work() as uow:
            assert uow.messages.get("msg-1") is None
            assert uow.messages.get("msg-2") is not None
        with world.unit_of_work() as uow, pytest.raises(NotFound):
            uow.messages.remove(make_message("msg-1"))
