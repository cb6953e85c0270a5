"""Reads: the lists a screen shows, apart from the repositories that write.

Each list is one method taking a filter object, a keyset cursor (``after``) and a
``limit``, and returning flat rows joined in one read; there is no entity-returning
twin of a list. The repositories of :mod:`contactbook.ports.storage` keep add / get /
replace and the look-ups that enforce a rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

import attrs

from contactbook.domain.files import StoredFile
from contactbook.domain.post import PostRejectionReason, PostStatus

__all__ = [
    "After",
    "AuthorFilter",
    "AuthorPosts",
    "AuthorRow",
    "FamilyNoticeFilter",
    "FamilyNotices",
    "NoticeCardRow",
    "PostQueue",
    "QueueFilter",
    "QueueRow",
]

After = tuple[datetime, str] | None
"""Keyset position: (the row's sort time, its id) of the last row shown."""


@attrs.frozen
class QueueFilter:
    """Which posts the moderation queue shows; None leaves a criterion open.

    ``facility_codes`` empty shows nothing; ``submitted_to`` is exclusive."""

    facility_codes: frozenset[str] | None = None
    status: PostStatus | None = None
    submitted_from: datetime | None = None
    submitted_to: datetime | None = None


@attrs.frozen
class QueueRow:
    """One row of the moderation queue as the list shows it: the post's own columns
    with its facility's name and its inmate's call number and name (one read)."""

    post_id: str
    version: int
    facility_code: str
    facility_name: str
    call_number: str
    inmate_name: str
    title: str
    body: str
    submitted_at: datetime
    status: PostStatus
    flagged_keywords: tuple[str, ...]
    attachments: tuple[StoredFile, ...]


class PostQueue(Protocol):
    def queue_rows(self, where: QueueFilter, *, after: After, limit: int) -> Sequence[QueueRow]:
        """The moderation queue, oldest first by ``submitted_at``."""
        ...


@attrs.frozen
class AuthorFilter:
    """Which of a family's own posts its list shows; ``status`` None: every status."""

    author_id: str
    status: PostStatus | None = None


@attrs.frozen
class AuthorRow:
    """One row of a family's own list (我的家庭聯絡簿): the post's columns with its
    inmate's call number and name and its facility's name, read in one statement."""

    id: str
    version: int
    inmate_id: str
    call_number: str
    inmate_name: str
    facility_code: str
    facility_name: str
    title: str
    body: str
    status: PostStatus
    submitted_at: datetime
    attachments: tuple[StoredFile, ...]
    rejection_reason: PostRejectionReason | None
    rejection_note: str
    decided_at: datetime | None
    delivered_at: datetime | None
    revision_of: str | None


class AuthorPosts(Protocol):
    def author_rows(self, where: AuthorFilter, *, after: After, limit: int) -> Sequence[AuthorRow]:
        """A family's own posts, newest first by ``submitted_at``."""
        ...


@attrs.frozen
class FamilyNoticeFilter:
    """Which live notices a family may read: those to everyone, to these facilities or
    to these inmates; ``month`` (``YYYY-MM``, Taiwan time) narrows to one month of
    publication. Empty sets: the notices to everyone only."""

    facility_codes: frozenset[str] = frozenset()
    inmate_ids: frozenset[str] = frozenset()
    month: str | None = None


@attrs.frozen
class NoticeCardRow:
    """One card of a family's notice list (機關聯絡簿), read in one statement."""

    id: str
    published_at: datetime
    published_month: str
    title: str
    publisher_name: str
    body: str
    attachments: tuple[StoredFile, ...]


class FamilyNotices(Protocol):
    def family_cards(
        self, where: FamilyNoticeFilter, *, after: After, limit: int
    ) -> Sequence[NoticeCardRow]:
        """The family's notice list, newest first by ``published_at``."""
        ...
