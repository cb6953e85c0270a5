"""In-memory storage: the :mod:`~contactbook.ports.storage` port over dictionaries.

Used by the unit tests, the Gherkin steps and ``contactbook.open(database="memory://")``.
It must behave like the SQL adapters in everything the port promises — the same
unique rules, the same compare-and-set, the same keyset orderings — because use
cases are tested on it; :class:`~contactbook.testing.storage_contract.StorageContract`
checks both against one suite.

Transactions are simple and strict: a unit of work holds the storage's lock
from ``__enter__`` to ``__exit__`` (so units of work run one after another, i.e.
serialisably), works on a copy of the committed tables, and publishes its copy
on ``commit()``. Entities are frozen, so a copy is one new ``dict`` per table.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Hashable, Iterator, Mapping, Sequence
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Any, Generic, Protocol, Self, TypeVar

import attrs

from contactbook.domain.account import FamilyMember, OneTimeToken, TokenPurpose
from contactbook.domain.application import ApplicationStatus, Grant, ServiceApplication
from contactbook.domain.audit import AuditEvent
from contactbook.domain.facility import Facility
from contactbook.domain.files import StoredFile
from contactbook.domain.inmate import Inmate
from contactbook.domain.message import Message, MessageStatus
from contactbook.domain.notice import AgencyNotice, AudienceScope
from contactbook.domain.post import COUNTING_STATUSES, FamilyPost, PostStatus
from contactbook.domain.staff import StaffMember
from contactbook.errors import Conflict, NotFound
from contactbook.ports.storage import (
    AccountRepository,
    After,
    ApplicationRepository,
    AuditRepository,
    AuthorRow,
    FacilityRepository,
    GrantRepository,
    InmateRepository,
    MessageRepository,
    NoticeCardRow,
    NoticeRepository,
    PostRepository,
    QueueRow,
    StaffRepository,
    StoredFileOwner,
    TokenRepository,
)

if TYPE_CHECKING:
    from contactbook.ports.storage import Storage, UnitOfWork

__all__ = ["MemoryStorage", "MemoryUnitOfWork"]

E = TypeVar("E")

_Where = Callable[[E], bool]
"""Which rows a look-up or list keeps."""
_By = Callable[[E], datetime | None]
"""The time a list sorts rows by (None: the row has no place in the list)."""

MEMORY_URL = "memory://"


# --- The tables -----------------------------------------------------------------


@attrs.define
class _Tables:
    """Every table of the storage: key → frozen entity."""

    accounts: dict[str, FamilyMember] = attrs.Factory(dict)
    tokens: dict[str, OneTimeToken] = attrs.Factory(dict)
    facilities: dict[str, Facility] = attrs.Factory(dict)
    inmates: dict[str, Inmate] = attrs.Factory(dict)
    applications: dict[str, ServiceApplication] = attrs.Factory(dict)
    grants: dict[str, Grant] = attrs.Factory(dict)
    posts: dict[str, FamilyPost] = attrs.Factory(dict)
    notices: dict[str, AgencyNotice] = attrs.Factory(dict)
    messages: dict[str, Message] = attrs.Factory(dict)
    staff: dict[str, StaffMember] = attrs.Factory(dict)
    audit: dict[str, AuditEvent] = attrs.Factory(dict)

    def copy(self) -> _Tables:
        """A new dict per table holding the same entities (they are immutable)."""
        return _Tables(
            **{name: dict(rows) for name, rows in attrs.asdict(self, recurse=False).items()}
        )


class _Table(Generic[E]):
    """One table seen from a unit of work: unique rules, compare-and-set, keyset lists.

    Every repository extends it (most through :class:`_VersionedRepository`) and
    states only its key, its unique rules and its own look-ups and lists, built
    on the protected helpers; the rules all tables share live here once.
    """

    def __init__(self, uow: MemoryUnitOfWork, rows: Callable[[_Tables], dict[str, E]]) -> None:
        self._uow = uow
        self._select = rows

    def _key(self, entity: E) -> str:
        raise NotImplementedError

    def _unchanged(self, stored: E, old: E) -> bool:
        """Whether the stored row is still as ``old`` was read; without a version to
        compare, it must be exactly ``old``."""
        return stored == old

    def _unique(self, entity: E) -> tuple[Hashable | None, ...]:
        """The entity's value under each unique rule, or None where a rule does not
        apply to it (e.g. an inmate who has left). Two entities clash when a rule
        gives both the same non-None value. The key itself is always unique."""
        return ()

    @property
    def _rows(self) -> dict[str, E]:
        """This unit of work's rows (RuntimeError outside its ``with`` block)."""
        return self._select(self._uow.working_tables())

    def _where(self, predicate: _Where[E]) -> list[E]:
        return [row for row in self._rows.values() if predicate(row)]

    def _one(self, predicate: _Where[E]) -> E | None:
        """The row a look-up on a unique rule finds, if any."""
        return next((row for row in self._rows.values() if predicate(row)), None)

    def _require_unique(self, entity: E, *, ignoring: str | None = None) -> None:
        values = self._unique(entity)
        for key, other in self._rows.items():
            if key != ignoring and any(
                value is not None and value == theirs
                for value, theirs in zip(values, self._unique(other), strict=True)
            ):
                raise Conflict("duplicate")

    def _require_unchanged(self, entity: E) -> None:
        """``NotFound`` if the row of ``entity`` is gone, ``Conflict`` if it changed."""
        stored = self._rows.get(self._key(entity))
        if stored is None:
            raise NotFound()
        if not self._unchanged(stored, entity):
            raise Conflict("stale_version")

    def _insert(self, entity: E) -> None:
        key = self._key(entity)
        if key in self._rows:
            raise Conflict("duplicate")
        self._require_unique(entity)
        self._rows[key] = entity
        self._uow.mark_written()

    def _compare_and_set(self, old: E, new: E) -> None:
        """Unique rules hold for the new state too, as in a database."""
        key = self._key(old)
        if self._key(new) != key:
            raise ValueError(f"replace() keeps the key: {key!r} cannot become {self._key(new)!r}")
        self._require_unchanged(old)
        self._require_unique(new, ignoring=key)
        self._rows[key] = new
        self._uow.mark_written()

    def _delete(self, entity: E) -> None:
        self._require_unchanged(entity)
        del self._rows[self._key(entity)]
        self._uow.mark_written()

    def _newest(self, where: _Where[E], by: _By[E], *, after: After = None, limit: int) -> list[E]:
        """A keyset page in descending ``(by(row), key)`` order: see :meth:`_page`."""
        return self._page(where, by, newest_first=True, after=after, limit=limit)

    def _oldest(self, where: _Where[E], by: _By[E], *, after: After = None, limit: int) -> list[E]:
        """A keyset page in ascending ``(by(row), key)`` order: see :meth:`_page`."""
        return self._page(where, by, newest_first=False, after=after, limit=limit)

    def _page(
        self, where: _Where[E], by: _By[E], *, newest_first: bool, after: After, limit: int
    ) -> list[E]:
        """Matching rows ordered by ``(by(row), key)``, strictly after ``after``.

        Ties on the time are broken by the key in the same direction, so
        ``after`` (the last row shown) names one exact position. A row whose
        sort time is None has no position and is never listed.
        """
        if limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        positioned: list[tuple[tuple[datetime, str], E]] = []
        for row in self._where(where):
            when = by(row)
            if when is not None:
                positioned.append(((when, self._key(row)), row))
        positioned.sort(key=lambda item: item[0], reverse=newest_first)
        if after is not None:
            positioned = [
                item
                for item in positioned
                if (item[0] < after if newest_first else item[0] > after)
            ]
        return [row for _, row in positioned[:limit]]


class _Repository(_Table[E]):
    """``add``, ``get`` and ``replace``, which every repository but the audit trail's has."""

    def add(self, entity: E) -> None:
        self._insert(entity)

    def get(self, key: str) -> E | None:
        return self._rows.get(key)

    def replace(self, old: E, new: E) -> None:
        self._compare_and_set(old, new)


class _Row(Protocol):
    @property
    def id(self) -> str: ...
    @property
    def version(self) -> int: ...


R = TypeVar("R", bound=_Row)


class _VersionedRepository(_Repository[R]):
    """The usual table: keyed by ``id``, compare-and-set on ``version``."""

    def _key(self, entity: R) -> str:
        return entity.id

    def _unchanged(self, stored: R, old: R) -> bool:
        return stored.version == old.version


def _within(moment: datetime, start: datetime | None, end: datetime | None) -> bool:
    """``start`` inclusive, ``end`` exclusive; None leaves that side open."""
    return (start is None or start <= moment) and (end is None or moment < end)


# --- Repositories ----------------------------------------------------------------


class MemoryAccountRepository(_VersionedRepository[FamilyMember]):
    """Accounts, unique by canonical e-mail and by national ID."""

    def _unique(self, account: FamilyMember) -> tuple[Hashable | None, ...]:
        return account.email.canonical, account.national_id.value

    def by_email(self, canonical_email: str) -> FamilyMember | None:
        return self._one(lambda account: account.email.canonical == canonical_email)

    def by_national_id(self, national_id: str) -> FamilyMember | None:
        return self._one(lambda account: account.national_id.value == national_id)

    def remove(self, account: FamilyMember) -> None:
        """The owned rows go straight from this transaction's tables: nothing can fail
        after the compare-and-set, so it is all or nothing."""
        self._delete(account)
        tables = self._uow.working_tables()
        owned: list[tuple[dict[str, Any], Callable[[Any], str | None]]] = [
            (tables.tokens, lambda token: token.account_id),
            (tables.messages, lambda message: message.account_id),
            (tables.posts, lambda post: post.author_id),
            (tables.grants, lambda grant: grant.account_id),
            (tables.applications, lambda application: application.applicant_id),
        ]
        for rows, owner in owned:
            for key in [key for key, row in rows.items() if owner(row) == account.id]:
                del rows[key]


class MemoryTokenRepository(_Repository[OneTimeToken]):
    """One-time tokens, unique by hash. They carry no version: a replace succeeds only
    while the row is exactly as read, so a token is used once."""

    def _key(self, token: OneTimeToken) -> str:
        return token.id

    def _unique(self, token: OneTimeToken) -> tuple[Hashable | None, ...]:
        return (token.token_hash,)

    def by_hash(self, token_hash: str) -> OneTimeToken | None:
        return self._one(lambda token: token.token_hash == token_hash)

    def revoke_unused(self, account_id: str, purpose: TokenPurpose, at: datetime) -> int:
        unused = self._where(
            lambda token: (
                token.account_id == account_id
                and token.purpose is purpose
                and token.used_at is None
            )
        )
        for token in unused:
            self.replace(token, attrs.evolve(token, used_at=at))
        return len(unused)


class MemoryFacilityRepository(_Repository[Facility]):
    """Facilities, keyed by their code."""

    def _key(self, facility: Facility) -> str:
        return facility.code

    def _unchanged(self, stored: Facility, old: Facility) -> bool:
        return stored.version == old.version

    def list(self) -> Sequence[Facility]:
        """By code: a stable order for menus."""
        return sorted(self._rows.values(), key=self._key)


def _current_call_number(inmate: Inmate) -> tuple[str, str] | None:
    """A call number is unique among the current inmates of one facility only:
    numbers are reused after people leave."""
    if inmate.left_at is not None:
        return None
    return inmate.facility_code, inmate.call_number.value


class MemoryInmateRepository(_VersionedRepository[Inmate]):
    """Inmates; a call number names one current inmate per facility."""

    def _unique(self, inmate: Inmate) -> tuple[Hashable | None, ...]:
        return (_current_call_number(inmate),)

    def get_many(self, inmate_ids: Collection[str]) -> Mapping[str, Inmate]:
        rows = self._rows
        return {inmate_id: rows[inmate_id] for inmate_id in set(inmate_ids) if inmate_id in rows}

    def current_by_call_number(self, facility_code: str, call_number: str) -> Inmate | None:
        return self._one(
            lambda inmate: _current_call_number(inmate) == (facility_code, call_number)
        )

    def list_current(self, facility_code: str) -> Sequence[Inmate]:
        """By call number."""
        current = self._where(
            lambda inmate: inmate.is_current and inmate.facility_code == facility_code
        )
        return sorted(current, key=lambda inmate: (inmate.call_number.value, inmate.id))


def _submitted_at(row: ServiceApplication | FamilyPost) -> datetime:
    return row.submitted_at


class MemoryApplicationRepository(_VersionedRepository[ServiceApplication]):
    """Service applications."""

    def pending_for(self, applicant_id: str, inmate_id: str) -> ServiceApplication | None:
        """The oldest one, should there be several."""
        found = self._oldest(
            lambda application: (
                application.status is ApplicationStatus.PENDING
                and application.applicant_id == applicant_id
                and application.inmate_id == inmate_id
            ),
            _submitted_at,
            limit=1,
        )
        return found[0] if found else None

    def list_by_applicant(
        self, applicant_id: str, *, after: After, limit: int
    ) -> Sequence[ServiceApplication]:
        return self._newest(
            lambda application: application.applicant_id == applicant_id,
            _submitted_at,
            after=after,
            limit=limit,
        )

    def queue(
        self,
        *,
        facility_codes: frozenset[str] | None,
        status: ApplicationStatus | None,
        after: After,
        limit: int,
    ) -> Sequence[ServiceApplication]:
        return self._oldest(
            lambda application: (
                (facility_codes is None or application.facility_code in facility_codes)
                and (status is None or application.status is status)
            ),
            _submitted_at,
            after=after,
            limit=limit,
        )


class MemoryGrantRepository(_VersionedRepository[Grant]):
    """Grants; active ones are those not ended."""

    def _active(self, predicate: Callable[[Grant], bool]) -> list[Grant]:
        """Active grants matching ``predicate``, oldest first."""
        return sorted(
            self._where(lambda grant: grant.is_active and predicate(grant)),
            key=lambda grant: (grant.granted_at, grant.id),
        )

    def active_for(self, account_id: str, inmate_id: str) -> Grant | None:
        found = self._active(
            lambda grant: grant.account_id == account_id and grant.inmate_id == inmate_id
        )
        return found[0] if found else None

    def active_for_account(self, account_id: str) -> Sequence[Grant]:
        return self._active(lambda grant: grant.account_id == account_id)

    def active_for_inmate(self, inmate_id: str) -> Sequence[Grant]:
        return self._active(lambda grant: grant.inmate_id == inmate_id)


class MemoryPostRepository(_VersionedRepository[FamilyPost]):
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

    def author_rows(
        self, author_id: str, *, status: PostStatus | None, after: After, limit: int
    ) -> Sequence[AuthorRow]:
        rows = []
        for post in self.list_by_author(author_id, status=status, after=after, limit=limit):
            call_number, inmate_name, facility_name = self._names(post)
            rows.append(
                AuthorRow(
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
            )
        return rows

    def queue_rows(
        self,
        *,
        facility_codes: frozenset[str] | None,
        status: PostStatus | None,
        submitted_from: datetime | None,
        submitted_to: datetime | None,
        after: After,
        limit: int,
    ) -> Sequence[QueueRow]:
        posts = self.queue(
            facility_codes=facility_codes,
            status=status,
            submitted_from=submitted_from,
            submitted_to=submitted_to,
            after=after,
            limit=limit,
        )
        rows = []
        for post in posts:
            call_number, inmate_name, facility_name = self._names(post)
            rows.append(
                QueueRow(
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
            )
        return rows

    def _names(self, post: FamilyPost) -> tuple[str, str, str]:
        """The call number and name of the post's inmate and its facility's name, as
        the SQL read models join them."""
        tables = self._uow.working_tables()
        inmate = tables.inmates.get(post.inmate_id)
        facility = tables.facilities.get(post.facility_code)
        return (
            inmate.call_number.value if inmate else "",
            inmate.name if inmate else "",
            facility.name if facility else post.facility_code,
        )

    def queue(
        self,
        *,
        facility_codes: frozenset[str] | None,
        status: PostStatus | None,
        submitted_from: datetime | None,
        submitted_to: datetime | None,
        after: After,
        limit: int,
    ) -> Sequence[FamilyPost]:
        return self._oldest(
            lambda post: (
                (facility_codes is None or post.facility_code in facility_codes)
                and (status is None or post.status is status)
                and _within(post.submitted_at, submitted_from, submitted_to)
            ),
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


def _reaches_family(
    notice: AgencyNotice, facility_codes: frozenset[str], inmate_ids: frozenset[str]
) -> bool:
    """Whether a family whose inmates are ``inmate_ids`` in ``facility_codes`` may read it."""
    audience = notice.audience
    if audience.scope is AudienceScope.EVERYONE:
        return True
    if audience.scope is AudienceScope.FACILITY:
        return audience.facility_code in facility_codes
    return audience.inmate_id in inmate_ids


def _published_at(notice: AgencyNotice) -> datetime:
    return notice.published_at


class MemoryNoticeRepository(_VersionedRepository[AgencyNotice]):
    """Agency and facility notices; deleted ones are kept but never listed."""

    def list_admin(
        self,
        *,
        facility_codes: frozenset[str] | None,
        published_from: datetime | None,
        published_to: datetime | None,
        after: After,
        limit: int,
    ) -> Sequence[AgencyNotice]:
        return self._newest(
            lambda notice: (
                not notice.is_deleted
                and (facility_codes is None or notice.publisher_facility in facility_codes)
                and _within(notice.published_at, published_from, published_to)
            ),
            _published_at,
            after=after,
            limit=limit,
        )

    def family_cards(
        self,
        *,
        facility_codes: frozenset[str],
        inmate_ids: frozenset[str],
        month: str | None,
        after: After,
        limit: int,
    ) -> Sequence[NoticeCardRow]:
        notices = self.list_for_family(
            facility_codes=facility_codes,
            inmate_ids=inmate_ids,
            month=month,
            after=after,
            limit=limit,
        )
        return [
            NoticeCardRow(
                id=notice.id,
                published_at=notice.published_at,
                published_month=notice.published_month,
                title=notice.title,
                publisher_name=notice.publisher_name,
                body=notice.body,
                attachments=notice.attachments,
            )
            for notice in notices
        ]

    def list_for_family(
        self,
        *,
        facility_codes: frozenset[str],
        inmate_ids: frozenset[str],
        month: str | None,
        after: After,
        limit: int,
    ) -> Sequence[AgencyNotice]:
        return self._newest(
            lambda notice: (
                not notice.is_deleted
                and _reaches_family(notice, facility_codes, inmate_ids)
                and (month is None or notice.published_month == month)
            ),
            _published_at,
            after=after,
            limit=limit,
        )

    def months_for_family(
        self, *, facility_codes: frozenset[str], inmate_ids: frozenset[str]
    ) -> Sequence[str]:
        readable = self._where(
            lambda notice: (
                not notice.is_deleted and _reaches_family(notice, facility_codes, inmate_ids)
            )
        )
        return sorted({notice.published_month for notice in readable}, reverse=True)


def _created_at(message: Message) -> datetime:
    return message.created_at


class MemoryMessageRepository(_VersionedRepository[Message]):
    """The outbox of mail and SMS messages."""

    def get_many(self, message_ids: Collection[str]) -> Mapping[str, Message]:
        rows = self._rows
        return {key: rows[key] for key in set(message_ids) if key in rows}

    def lease(self, messages: Sequence[Message], until: datetime) -> None:
        for message in messages:
            self._require_unchanged(message)
        for message in messages:
            self.replace(message, message.leased(until))

    def claim_due(self, now: datetime, *, limit: int) -> Sequence[Message]:
        """Nothing to lock: the unit of work holds the storage's lock, which already
        keeps other dispatchers out."""
        return self._oldest(
            lambda message: (
                message.status is MessageStatus.PENDING
                and (message.next_attempt_at is None or message.next_attempt_at <= now)
            ),
            _created_at,
            limit=limit,
        )

    def log_for(self, account_id: str, *, after: After, limit: int) -> Sequence[Message]:
        return self._newest(
            lambda message: (
                message.account_id == account_id and message.status is MessageStatus.SENT
            ),
            lambda message: message.sent_at,
            after=after,
            limit=limit,
        )

    def list_for_facility(
        self, facility_code: str | None, *, after: After, limit: int
    ) -> Sequence[Message]:
        return self._newest(
            lambda message: facility_code is None or message.facility_code == facility_code,
            _created_at,
            after=after,
            limit=limit,
        )

    def list_by_account(self, account_id: str, *, after: After, limit: int) -> Sequence[Message]:
        return self._newest(
            lambda message: message.account_id == account_id,
            _created_at,
            after=after,
            limit=limit,
        )

    def finished_before(self, before: datetime, *, limit: int) -> Sequence[Message]:
        return self._oldest(
            lambda message: message.status in _FINISHED_MESSAGES and message.created_at < before,
            _created_at,
            limit=limit,
        )

    def remove(self, message: Message) -> None:
        self._delete(message)


_FINISHED_MESSAGES = frozenset({MessageStatus.SENT, MessageStatus.FAILED})


def _username_key(member: StaffMember) -> str:
    """Usernames are unique and looked up without regard to case."""
    return member.username.casefold()


class MemoryStaffRepository(_VersionedRepository[StaffMember]):
    """Staff members, unique by username (case-insensitive)."""

    def _unique(self, member: StaffMember) -> tuple[Hashable | None, ...]:
        return (_username_key(member),)

    def by_username(self, username: str) -> StaffMember | None:
        wanted = username.casefold()
        return self._one(lambda member: _username_key(member) == wanted)

    def count(self) -> int:
        return len(self._rows)

    def list(self, facility_code: str | None = None) -> Sequence[StaffMember]:
        found = self._where(
            lambda member: facility_code is None or member.facility_code == facility_code
        )
        return sorted(found, key=_username_key)


class MemoryAuditRepository(_Table[AuditEvent]):
    """The append-only audit trail, unique by ``seq`` (the hash chain's order)."""

    def _key(self, event: AuditEvent) -> str:
        return event.id

    def _unique(self, event: AuditEvent) -> tuple[Hashable | None, ...]:
        return (event.seq,)

    def append(self, event: AuditEvent) -> None:
        self._insert(event)

    def last(self) -> AuditEvent | None:
        events = self._rows.values()
        return max(events, key=lambda event: event.seq) if events else None

    def last_link(self) -> tuple[int, str] | None:
        newest = self.last()
        return (newest.seq, newest.hash) if newest else None

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
        return self._newest(
            lambda event: (
                (actor_id is None or event.actor_id == actor_id)
                and (target_id is None or event.target_id == target_id)
                and (action is None or event.action == action)
                and _within(event.at, since, until)
            ),
            lambda event: event.at,
            after=after,
            limit=limit,
        )

    def in_order(self) -> Iterator[AuditEvent]:
        """Sorted when called: later appends are not seen."""
        return iter(sorted(self._rows.values(), key=lambda event: event.seq))

    def head(self) -> tuple[int, str] | None:
        """The newest event's ``(seq, hash)``: memory keeps no head apart from the events."""
        return self.last_link()


# --- Unit of work and storage ------------------------------------------------------


class MemoryUnitOfWork:
    """One transaction over a private copy of the committed tables.

    The repositories are typed as the port's protocols, which is what callers
    may rely on; the concrete classes above are an implementation detail.
    """

    accounts: AccountRepository
    tokens: TokenRepository
    facilities: FacilityRepository
    inmates: InmateRepository
    applications: ApplicationRepository
    grants: GrantRepository
    posts: PostRepository
    notices: NoticeRepository
    messages: MessageRepository
    staff: StaffRepository
    audit: AuditRepository

    def __init__(self, storage: MemoryStorage) -> None:
        self._storage = storage
        self._tables: _Tables | None = None
        self._read_generation = 0
        self._written = False
        self._callbacks: list[Callable[[], None]] = []
        self.accounts = MemoryAccountRepository(self, lambda tables: tables.accounts)
        self.tokens = MemoryTokenRepository(self, lambda tables: tables.tokens)
        self.facilities = MemoryFacilityRepository(self, lambda tables: tables.facilities)
        self.inmates = MemoryInmateRepository(self, lambda tables: tables.inmates)
        self.applications = MemoryApplicationRepository(self, lambda tables: tables.applications)
        self.grants = MemoryGrantRepository(self, lambda tables: tables.grants)
        self.posts = MemoryPostRepository(self, lambda tables: tables.posts)
        self.notices = MemoryNoticeRepository(self, lambda tables: tables.notices)
        self.messages = MemoryMessageRepository(self, lambda tables: tables.messages)
        self.staff = MemoryStaffRepository(self, lambda tables: tables.staff)
        self.audit = MemoryAuditRepository(self, lambda tables: tables.audit)

    def working_tables(self) -> _Tables:
        """The tables this transaction reads and writes; only inside ``with``."""
        if self._tables is None:
            raise RuntimeError(
                "this unit of work is not open: use it as `with storage.unit_of_work() as uow: ...`"
            )
        return self._tables

    def mark_written(self) -> None:
        """Note that there is something to publish (reads alone publish nothing)."""
        self._written = True

    def _start(self) -> None:
        self._tables, self._read_generation = self._storage._snapshot()
        self._written = False

    def __enter__(self) -> Self:
        if self._tables is not None:
            raise RuntimeError("this unit of work is already open; ask the storage for another")
        self._storage._lock.acquire()
        try:
            self._start()
        except BaseException:
            self._storage._lock.release()
            raise
        self._callbacks = []
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Release the storage's lock, after the rollback, to let the next unit of work in."""
        try:
            self.rollback()
        finally:
            self._tables = None
            self._storage._lock.release()

    def commit(self) -> None:
        """Publish this transaction's tables; the unit of work stays usable."""
        tables = self.working_tables()
        if self._written:
            self._storage._publish(tables, read_generation=self._read_generation)
        self._callbacks.clear()
        self._start()

    def rollback(self) -> None:
        """Discard uncommitted changes and run the ``on_rollback`` callbacks once."""
        self.working_tables()
        self._start()
        callbacks, self._callbacks = self._callbacks, []
        _run_all(callbacks)

    def on_rollback(self, callback: Callable[[], None]) -> None:
        self.working_tables()
        self._callbacks.append(callback)

    def stored_files(self) -> Iterator[tuple[StoredFileOwner, str, StoredFile]]:
        """Read from this transaction's tables as they are at the call, in one go."""
        tables = self.working_tables()
        owners: list[tuple[StoredFileOwner, dict[str, tuple[StoredFile, ...]]]] = [
            ("application", {key: row.evidence for key, row in tables.applications.items()}),
            ("post", {key: row.attachments for key, row in tables.posts.items()}),
            ("notice", {key: row.attachments for key, row in tables.notices.items()}),
        ]
        return (
            (kind, owner_id, stored)
            for kind, files_by_owner in owners
            for owner_id in sorted(files_by_owner)
            for stored in files_by_owner[owner_id]
        )


def _run_all(callbacks: Sequence[Callable[[], None]]) -> None:
    """Run every callback even if some fail (each undoes something of its own),
    then raise the first failure."""
    failures: list[Exception] = []
    for callback in callbacks:
        try:
            callback()
        except Exception as exc:
            failures.append(exc)
    if failures:
        raise failures[0]


class MemoryStorage:
    """Committed tables guarded by one re-entrant lock per storage.

    The lock is re-entrant so that a unit of work opened inside another on the
    same thread does not deadlock; should both write, the outer commit fails
    rather than silently overwrite the inner one's changes.
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._committed = _Tables()
        self._generation = 0

    @classmethod
    def from_url(cls, url: str) -> MemoryStorage:
        """A fresh, empty storage for ``memory://`` (each call makes a new one)."""
        if url != MEMORY_URL:
            raise ValueError(f"MemoryStorage takes the URL {MEMORY_URL!r}, not {url!r}")
        return cls()

    def unit_of_work(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self)

    def close(self) -> None:
        """Nothing to release; the data lives as long as this object."""

    def _snapshot(self) -> tuple[_Tables, int]:
        """A private copy of the committed tables and the generation it was taken at."""
        with self._lock:
            return self._committed.copy(), self._generation

    def _publish(self, tables: _Tables, *, read_generation: int) -> None:
        with self._lock:
            if self._generation != read_generation:
                raise RuntimeError(
                    "another unit of work committed while this one was open on the same "
                    "thread; nested units of work must not both write"
                )
            self._committed = tables
            self._generation += 1


if TYPE_CHECKING:

    def _conforms_to_the_port(storage: MemoryStorage, uow: MemoryUnitOfWork) -> Storage:
        """Checked by mypy only: the classes satisfy the protocols structurally."""
        _: UnitOfWork = uow
        return storage
