"""Family posts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import attrs

from contactbook.adapters.storage.memory.repository import VersionedRepository, within
from contactbook.domain.post import COUNTING_STATUSES, FamilyPost, PostStatus
from contactbook.ports.reads import After, AuthorFilter, AuthorRow, QueueFilter, QueueRow


def _submitted_at(post: FamilyPost) -> datetime:
    return post.submitted_at


class MemoryPostRepository(VersionedRepository[FamilyPost]):
    """Family posts: the author's list, the review queue and the delivery list."""

    def list_by_author(
        self, author_id: str, *, status: PostStatus | None, after: After, limit: int
    ) -> Sequence[FamilyPost]:
        return self._newest(
            lambda post: post.author_id == author_id and (status is None or post.status is status),
            _submitted_at,
            after=after,
            limit=limit,
        )

    def latest_counting(self, author_id: str, inmate_id: str) -> FamilyPost | None:
        found = self._newest(
            lambda post: (
                post.author_id == author_id
                and post.inmate_id == inmate_id
                and post.status in COUNTING_STATUSES
            ),
            _submitted_at,
            limit=1,
        )
        return found[0] if found else None

    def pending_due(self, now: datetime, *, limit: int) -> Sequence[FamilyPost]:
        """Earliest deadline first."""
        return self._oldest(
            lambda post: post.status is PostStatus.PENDING and post.review_deadline <= now,
            lambda post: post.review_deadline,
            limit=limit,
        )

    def pending_for_inmate(self, inmate_id: str) -> Sequence[FamilyPost]:
        """Oldest first."""
        pending = self._where(
            lambda post: post.status is PostStatus.PENDING and post.inmate_id == inmate_id
        )
        return sorted(pending, key=lambda post: (post.submitted_at, post.id))

    def approved_undelivered(
        self, facility_codes: frozenset[str] | None, *, after: After, limit: int
    ) -> Sequence[FamilyPost]:
        return self._oldest(
            lambda post: (
                post.status is PostStatus.APPROVED
                and post.delivered_at is None
                and (facility_codes is None or post.facility_code in facility_codes)
            ),
            lambda post: post.decided_at,
            after=after,
            limit=limit,
        )

    def ended_before(
        self, status: PostStatus, before: datetime, *, limit: int
    ) -> Sequence[FamilyPost]:
        return self._oldest(
            lambda post: post.status is status and (_post_end(post) or before) < before,
            _post_end,
            limit=limit,
        )

    def remove(self, post: FamilyPost) -> None:
        self._delete(post)
        rows = self._rows
        for key, revision in list(rows.items()):
            if revision.revision_of == post.id:
                rows[key] = attrs.evolve(revision, revision_of=None, version=revision.version + 1)

    # --- Read models: the lists above as rows ---

    def _names(self, post: FamilyPost) -> tuple[str, str, str]:
        """The call number and name of the post's inmate and its facility's name, as
        the SQL read models join them."""
        tables = self._tables
        inmate = tables.inmates.get(post.inmate_id)
        facility = tables.facilities.get(post.facility_code)
        return (
            inmate.call_number.value if inmate else "",
            inmate.name if inmate else "",
            facility.name if facility else post.facility_code,
        )

    def _author_row(self, post: FamilyPost) -> AuthorRow:
        call_number, inmate_name, facility_name = self._names(post)
        return AuthorRow(
            id=post.id,
            version=post.version,
            inmate_id=post.inmate_id,
            call_number=call_number,
            inmate_name=inmate_name,
            facility_code=post.facility_code,
            facility_name=facility_name,
            title=post.title,
            body=post.body,
            status=post.status,
            submitted_at=post.submitted_at,
            attachments=post.attachments,
            rejection_reason=post.rejection_reason,
            rejection_note=post.rejection_note,
            decided_at=post.decided_at,
            delivered_at=post.delivered_at,
            revision_of=post.revision_of,
        )

    def _queue_row(self, post: FamilyPost) -> QueueRow:
        call_number, inmate_name, facility_name = self._names(post)
        return QueueRow(
            post.id,
            post.version,
            post.facility_code,
            facility_name,
            call_number,
            inmate_name,
            post.title,
            post.body,
            post.submitted_at,
            post.status,
            post.flagged_keywords,
            post.attachments,
        )

    def author_rows(self, where: AuthorFilter, *, after: After, limit: int) -> list[AuthorRow]:
        posts = self.list_by_author(where.author_id, status=where.status, after=after, limit=limit)
        return [self._author_row(post) for post in posts]

    def queue_rows(self, where: QueueFilter, *, after: After, limit: int) -> list[QueueRow]:
        return [
            self._queue_row(post)
            for post in self._oldest(
                lambda post: (
                    (where.facility_codes is None or post.facility_code in where.facility_codes)
                    and (where.status is None or post.status is where.status)
                    and within(post.submitted_at, where.submitted_from, where.submitted_to)
                ),
                _submitted_at,
                after=after,
                limit=limit,
            )
        ]


def _post_end(post: FamilyPost) -> datetime | None:
    """When a post reached its final state (retention counts from it); None: not ended."""
    if post.status is PostStatus.APPROVED:
        return post.delivered_at
    if post.status is PostStatus.REJECTED:
        return post.decided_at
    if post.status is PostStatus.EXPIRED:
        return post.expired_at
    if post.status is PostStatus.WITHDRAWN:
        return post.withdrawn_at
    return None
