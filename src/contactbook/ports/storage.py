"""Storage: a unit of work holding one repository per aggregate.

Every ``replace(old, new)`` is a compare-and-set on ``old.version``: when the
stored row is no longer ``old`` it raises ``Conflict("stale_version")``. Every
``add`` or ``replace`` raises ``Conflict("duplicate")`` when a unique rule is
broken. Lists take ``after`` — the sort key of the last row already shown — and a
``limit``; they never skip rows with OFFSET. Time ranges include their start and
exclude their end. Usernames are ASCII and compared case-insensitively.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import Literal, Protocol, Self

from contactbook.domain.account import FamilyMember, OneTimeToken, TokenPurpose
from contactbook.domain.application import ApplicationStatus, Grant, ServiceApplication
from contactbook.domain.audit import AuditEvent
from contactbook.domain.facility import Facility
from contactbook.domain.files import StoredFile
from contactbook.domain.inmate import Inmate
from contactbook.domain.message import Message
from contactbook.domain.notice import AgencyNotice
from contactbook.domain.post import FamilyPost, PostStatus
from contactbook.domain.staff import StaffMember
from contactbook.ports.reads import (
    After,
    AuthorPosts,
    AuthorRow,
    FamilyNotices,
    NoticeCardRow,
    PostQueue,
    QueueRow,
)

__all__ = [
    "AccountRepository",
    "After",
    "ApplicationRepository",
    "AuditRepository",
    "AuthorRow",
    "FacilityRepository",
    "GrantRepository",
    "InmateRepository",
    "MessageRepository",
    "NoticeCardRow",
    "NoticeRepository",
    "PostRepository",
    "QueueRow",
    "StaffRepository",
    "Storage",
    "StoredFileOwner",
    "TokenRepository",
    "UnitOfWork",
]


StoredFileOwner = Literal["application", "post", "notice"]
"""What kind of row a stored file belongs to: ``"application"`` (evidence),
``"post"`` or ``"notice"`` (attachments)."""


class AccountRepository(Protocol):
    def add(self, account: FamilyMember) -> None: ...
    def get(self, account_id: str) -> FamilyMember | None: ...
    def by_email(self, canonical_email: str) -> FamilyMember | None: ...
    def by_national_id(self, national_id: str) -> FamilyMember | None: ...
    def replace(self, old: FamilyMember, new: FamilyMember) -> None: ...
    def remove(self, account: FamilyMember) -> None:
        """Delete the account and every row that is its own — its tokens, messages,
        posts, grants and applications — in this unit of work (retention of closed
        accounts). Compare-and-set on ``account.version``; ``NotFound`` when absent.
        The files those rows name are the caller's to remove; audit events stay (they
        name the account by id only)."""
        ...


class TokenRepository(Protocol):
    def add(self, token: OneTimeToken) -> None: ...
    def by_hash(self, token_hash: str) -> OneTimeToken | None: ...
    def replace(self, old: OneTimeToken, new: OneTimeToken) -> None:
        """Compare-and-set on ``used_at`` being unchanged (tokens are single use)."""
        ...

    def revoke_unused(self, account_id: str, purpose: TokenPurpose, at: datetime) -> int:
        """Mark every unused token of this account and purpose used at ``at`` (the
        other reset links, once the password changed); how many there were."""
        ...


class FacilityRepository(Protocol):
    def add(self, facility: Facility) -> None: ...
    def get(self, code: str) -> Facility | None: ...
    def list(self) -> Sequence[Facility]: ...
    def replace(self, old: Facility, new: Facility) -> None: ...


class InmateRepository(Protocol):
    def add(self, inmate: Inmate) -> None: ...
    def get(self, inmate_id: str) -> Inmate | None: ...
    def get_many(self, inmate_ids: Collection[str]) -> Mapping[str, Inmate]:
        """The inmates of ``inmate_ids`` that exist, by id: one query for a page of rows."""
        ...

    def current_by_call_number(self, facility_code: str, call_number: str) -> Inmate | None: ...
    def list_current(self, facility_code: str) -> Sequence[Inmate]: ...
    def replace(self, old: Inmate, new: Inmate) -> None: ...


class ApplicationRepository(Protocol):
    def add(self, application: ServiceApplication) -> None: ...
    def get(self, application_id: str) -> ServiceApplication | None: ...
    def replace(self, old: ServiceApplication, new: ServiceApplication) -> None: ...
    def pending_for(self, applicant_id: str, inmate_id: str) -> ServiceApplication | None: ...
    def list_by_applicant(
        self, applicant_id: str, *, after: After, limit: int
    ) -> Sequence[ServiceApplication]:
        """Newest first by ``submitted_at``: every post of an account as entities, for
        the personal-data export and erasure (the author's screen reads
        :meth:`~contactbook.ports.reads.AuthorPosts.author_rows`)."""
        ...

    def queue(
        self,
        *,
        facility_codes: frozenset[str] | None,
        status: ApplicationStatus | None,
        after: After,
        limit: int,
    ) -> Sequence[ServiceApplication]:
        """Oldest first by ``submitted_at``; ``facility_codes`` None means all."""
        ...


class GrantRepository(Protocol):
    def add(self, grant: Grant) -> None: ...
    def get(self, grant_id: str) -> Grant | None: ...
    def replace(self, old: Grant, new: Grant) -> None: ...
    def active_for(self, account_id: str, inmate_id: str) -> Grant | None: ...
    def active_for_account(self, account_id: str) -> Sequence[Grant]: ...
    def active_for_inmate(self, inmate_id: str) -> Sequence[Grant]: ...


class PostRepository(PostQueue, AuthorPosts, Protocol):
    def add(self, post: FamilyPost) -> None: ...
    def get(self, post_id: str) -> FamilyPost | None: ...
    def replace(self, old: FamilyPost, new: FamilyPost) -> None: ...
    def list_by_author(
        self, author_id: str, *, status: PostStatus | None, after: After, limit: int
    ) -> Sequence[FamilyPost]:
        """Newest first by ``submitted_at``."""
        ...

    def latest_counting(self, author_id: str, inmate_id: str) -> FamilyPost | None:
        """The newest PENDING or APPROVED post of this author to this inmate."""
        ...

    def pending_due(self, now: datetime, *, limit: int) -> Sequence[FamilyPost]:
        """PENDING posts whose review deadline is at or before ``now``."""
        ...

    def pending_for_inmate(self, inmate_id: str) -> Sequence[FamilyPost]: ...

    def approved_undelivered(
        self, facility_codes: frozenset[str] | None, *, after: After, limit: int
    ) -> Sequence[FamilyPost]:
        """APPROVED, not yet delivered, oldest decision first (sorted by ``decided_at``)."""
        ...

    def ended_before(
        self, status: PostStatus, before: datetime, *, limit: int
    ) -> Sequence[FamilyPost]:
        """Posts that reached their end in ``status`` before ``before``, oldest end first
        (for retention): APPROVED ones by ``delivered_at`` (undelivered ones never),
        REJECTED by ``decided_at``, EXPIRED by ``expired_at``, WITHDRAWN by
        ``withdrawn_at``; PENDING posts never."""
        ...

    def remove(self, post: FamilyPost) -> None:
        """Delete the post (compare-and-set on its version; ``NotFound`` when absent).
        A revision of it stays, its ``revision_of`` cleared and its version moved on."""
        ...


class NoticeRepository(FamilyNotices, Protocol):
    def add(self, notice: AgencyNotice) -> None: ...
    def get(self, notice_id: str) -> AgencyNotice | None: ...
    def replace(self, old: AgencyNotice, new: AgencyNotice) -> None: ...
    def list_admin(
        self,
        *,
        facility_codes: frozenset[str] | None,
        published_from: datetime | None,
        published_to: datetime | None,
        after: After,
        limit: int,
    ) -> Sequence[AgencyNotice]:
        """Live notices published by those facilities (None: all, Agency's included),
        newest first."""
        ...

    def months_for_family(
        self, *, facility_codes: frozenset[str], inmate_ids: frozenset[str]
    ) -> Sequence[str]:
        """The distinct ``YYYY-MM`` months with a notice for this family, newest first."""
        ...


class MessageRepository(Protocol):
    def add(self, message: Message) -> None: ...
    def get(self, message_id: str) -> Message | None: ...
    def replace(self, old: Message, new: Message) -> None: ...
    def claim_due(self, now: datetime, *, limit: int) -> Sequence[Message]:
        """PENDING messages due at ``now``, oldest first, locked for this unit of work
        where the backend can (other dispatchers skip them)."""
        ...

    def lease(self, messages: Sequence[Message], until: datetime) -> None:
        """Write ``message.leased(until)`` over each of ``messages`` (as ``claim_due``
        returned them) at once: compare-and-set on every version, ``Conflict`` and
        nothing written if one of them changed."""
        ...

    def get_many(self, message_ids: Collection[str]) -> Mapping[str, Message]:
        """The messages of ``message_ids`` that exist, by id: one query for a batch."""
        ...

    def log_for(self, account_id: str, *, after: After, limit: int) -> Sequence[Message]:
        """SENT messages of one account, newest first by ``sent_at``."""
        ...

    def list_for_facility(
        self, facility_code: str | None, *, after: After, limit: int
    ) -> Sequence[Message]:
        """Messages about one facility's business (None: all), newest first by ``created_at``."""
        ...

    def list_by_account(self, account_id: str, *, after: After, limit: int) -> Sequence[Message]:
        """Every message of one account, whatever its status, newest first by ``created_at``."""
        ...

    def finished_before(self, before: datetime, *, limit: int) -> Sequence[Message]:
        """SENT or FAILED messages created before ``before``, oldest first (for retention)."""
        ...

    def remove(self, message: Message) -> None:
        """Delete the message (compare-and-set on its version; ``NotFound`` when absent)."""
        ...


class StaffRepository(Protocol):
    def add(self, member: StaffMember) -> None: ...
    def get(self, staff_id: str) -> StaffMember | None: ...
    def by_username(self, username: str) -> StaffMember | None: ...
    def replace(self, old: StaffMember, new: StaffMember) -> None: ...
    def count(self) -> int: ...
    def list(self, facility_code: str | None = None) -> Sequence[StaffMember]:
        """Members by username: every one, or only those of ``facility_code``."""
        ...


class AuditRepository(Protocol):
    def append(self, event: AuditEvent) -> None:
        """Add the event; ``Conflict`` if its ``seq`` is taken (another writer won)."""
        ...

    def last(self) -> AuditEvent | None:
        """The newest event; on stores with concurrent writers it is locked for this
        unit of work, so writers append in turn."""
        ...

    def last_link(self) -> tuple[int, str] | None:
        """The ``(seq, hash)`` the next event links to: the newest event's, None while
        there is none. Locked like :meth:`last`; what ``record`` reads before
        :meth:`append`, without loading the whole event."""
        ...

    def search(
        self,
        *,
        actor_id: str | None,
        target_id: str | None,
        since: datetime | None,
        until: datetime | None,
        after: After,
        limit: int,
        action: str | None = None,
    ) -> Sequence[AuditEvent]:
        """Newest first by ``at``; each filter given narrows the list (``action``: one
        exact action name)."""
        ...

    def head(self) -> tuple[int, str] | None:
        """The ``(seq, hash)`` recorded for the newest event when it was appended, None
        while there is none; not locked. Stores that keep it apart from the events
        (the SQL ``audit_head``) let ``verify()`` notice the newest events removed."""
        ...

    def in_order(self) -> Iterator[AuditEvent]:
        """Every event by ``seq`` ascending, for verifying the chain."""
        ...


class UnitOfWork(Protocol):
    """One transaction: nothing is visible to others until ``commit()``.

    The repositories are read-only members: an adapter may make them as plain
    attributes or build each on first use (a property, ``functools.cached_property``).
    """

    @property
    def accounts(self) -> AccountRepository: ...
    @property
    def tokens(self) -> TokenRepository: ...
    @property
    def facilities(self) -> FacilityRepository: ...
    @property
    def inmates(self) -> InmateRepository: ...
    @property
    def applications(self) -> ApplicationRepository: ...
    @property
    def grants(self) -> GrantRepository: ...
    @property
    def posts(self) -> PostRepository: ...
    @property
    def notices(self) -> NoticeRepository: ...
    @property
    def messages(self) -> MessageRepository: ...
    @property
    def staff(self) -> StaffRepository: ...
    @property
    def audit(self) -> AuditRepository: ...

    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Roll back whatever was not committed."""
        ...

    def commit(self) -> None: ...
    def rollback(self) -> None: ...
    def on_rollback(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` if this unit of work ends without committing
        (used to remove files written for it)."""
        ...

    def stored_files(self) -> Iterator[tuple[StoredFileOwner, str, StoredFile]]:
        """Every file a row points to, as (owner kind, owner id, file): the evidence of
        applications (``"application"``), the attachments of posts (``"post"``) and of
        notices (``"notice"``, deleted ones included: their files stay referenced until
        retention removes the row).

        Grouped by owner kind in that order, then by owner id (code point order), each
        row's files in their order. Read while the unit of work is open (in chunks where
        the backend can), for the orphan-file sweeper; consume it inside the ``with``.
        """
        ...


class Storage(Protocol):
    def unit_of_work(self) -> UnitOfWork: ...
    def close(self) -> None: ...
