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
from typing import TYPE_CHECKING, Any, Generic, Self, TypeVar

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
from contactbook.domain.versioning import Versioned
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


def _same_version(stored: Versioned, old: Versioned) -> bool:
    """The usual compare-and-set: the row still has the version ``old`` was read at."""
    return stored.version == old.version


def _same_token(stored: OneTimeToken, old: OneTimeToken) -> bool:
    """Tokens carry no version; the row must still be exactly what was read (unused)."""
    return stored == old


class _Table(Generic[E]):
    """One table seen from a unit of work: unique rules, compare-and-set, keyset lists.

    ``unique`` are functions giving an entity's value under one unique rule, or
    ``None`` when the rule does not apply to it (e.g. an inmate who has left);
    two entities clash when some rule gives both the same non-None value.
    The key itself is always unique.
    """

    def __init__(
        self,
        uow: MemoryUnitOfWork,
        rows: Callable[[_Tables], dict[str, E]],
        *,
        key: Callable[[E], str],
        unchanged: Callable[[E, E], bool],
        unique: Sequence[Callable[[E], Hashable | None]] = (),
    ) -> None:
        self._uow = uow
        self._select = rows
        self._key = key
        self._unchanged = unchanged
        self._unique = unique

    @property
    def rows(self) -> dict[str, E]:
        """This unit of work's rows (RuntimeError outside its ``with`` block)."""
        return self._select(self._uow.working_tables())

    def get(self, key: str) -> E | None:
        return self.rows.get(key)

    def where(self, predicate: Callable[[E], bool]) -> list[E]:
        return [row for row in self.rows.values() if predicate(row)]

    def _clashes(self, entity: E, other: E) -> bool:
        for rule in self._unique:
            value = rule(entity)
            if value is not None and value == rule(other):
                return True
        return False

    def _require_unique(self, entity: E, *, ignoring: str | None = None) -> None:
        if any(self._clashes(entity, other) for key, other in self.rows.items() if key != ignoring):
            raise Conflict("duplicate")

    def add(self, entity: E) -> None:
        key = self._key(entity)
        if key in self.rows:
            raise Conflict("duplicate")
        self._require_unique(entity)
        self.rows[key] = entity
        self._uow.mark_written()

    def replace(self, old: E, new: E) -> None:
        """Compare-and-set; unique rules hold for the new state too, as in a database."""
        key = self._key(old)
        if self._key(new) != key:
            raise ValueError(f"replace() keeps the key: {key!r} cannot become {self._key(new)!r}")
        stored = self.rows.get(key)
        if stored is None:
            raise NotFound()
        if not self._unchanged(stored, old):
            raise Conflict("stale_version")
        self._require_unique(new, ignoring=key)
        self.rows[key] = new
        self._uow.mark_written()

    def remove(self, entity: E) -> None:
        """Delete the row of ``entity`` if it is still as ``entity`` was read."""
        key = self._key(entity)
        stored = self.rows.get(key)
        if stored is None:
            raise NotFound()
        if not self._unchanged(stored, entity):
            raise Conflict("stale_version")
        del self.rows[key]
        self._uow.mark_written()

    def first(
        self, predicate: Callable[[E], bool], *, by: Callable[[E], datetime], limit: int
    ) -> list[E]:
        """The first ``limit`` matching rows in ascending ``(by(row), key)`` order."""
        _require_limit(limit)
        ordered = sorted(self.where(predicate), key=lambda row: (by(row), self._key(row)))
        return ordered[:limit]

    def page(
        self,
        predicate: Callable[[E], bool],
        *,
        by: Callable[[E], datetime | None],
        newest_first: bool,
        after: After,
        limit: int,
    ) -> list[E]:
        """A keyset page: rows ordered by ``(by(row), key)``, strictly after ``after``.

        Ties on the time are broken by the key in the same direction, so
        ``after`` (the last row shown) names one exact position. A row whose
        sort time is None has no position and is never listed.
        """
        _require_limit(limit)
        positioned: list[tuple[tuple[datetime, str], E]] = []
        for row in self.where(predicate):
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


def _require_limit(limit: int) -> None:
    if limit < 0:
        raise ValueError(f"limit must not be negative, got {limit}")


def _within(moment: datetime, start: datetime | None, end: datetime | None) -> bool:
    """``start`` inclusive, ``end`` exclusive; None leaves that side open."""
    return (start is None or start <= moment) and (end is None or moment < end)


# --- Repositories ----------------------------------------------------------------


class MemoryAccountRepository:
    """Accounts, unique by canonical e-mail and by national ID."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self._table: _Table[FamilyMember] = _Table(
            uow,
            lambda tables: tables.accounts,
            key=lambda account: account.id,
            unchanged=_same_version,
            unique=(
                lambda account: account.email.canonical,
                lambda account: account.national_id.value,
            ),
        )

    def add(self, account: FamilyMember) -> None:
        self._table.add(account)

    def get(self, account_id: str) -> FamilyMember | None:
        return self._table.get(account_id)

    def by_email(self, canonical_email: str) -> FamilyMember | None:
        found = self._table.where(lambda account: account.email.canonical == canonical_email)
        return found[0] if found else None

    def by_national_id(self, national_id: str) -> FamilyMember | None:
        found = self._table.where(lambda account: account.national_id.value == national_id)
        return found[0] if found else None

    def replace(self, old: FamilyMember, new: FamilyMember) -> None:
        self._table.replace(old, new)

    def remove(self, account: FamilyMember) -> None:
        self._table.remove(account)
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


class MemoryTokenRepository:
    """One-time tokens, unique by hash; a token can be replaced once from one state."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._table: _Table[OneTimeToken] = _Table(
            uow,
            lambda tables: tables.tokens,
            key=lambda token: token.id,
            unchanged=_same_token,
            unique=(lambda token: token.token_hash,),
        )

    def add(self, token: OneTimeToken) -> None:
        self._table.add(token)

    def by_hash(self, token_hash: str) -> OneTimeToken | None:
        found = self._table.where(lambda token: token.token_hash == token_hash)
        return found[0] if found else None

    def replace(self, old: OneTimeToken, new: OneTimeToken) -> None:
        self._table.replace(old, new)

    def revoke_unused(self, account_id: str, purpose: TokenPurpose, at: datetime) -> int:
        unused = self._table.where(
            lambda token: (
                token.account_id == account_id
                and token.purpose is purpose
                and token.used_at is None
            )
        )
        for token in unused:
            self._table.replace(token, attrs.evolve(token, used_at=at))
        return len(unused)


class MemoryFacilityRepository:
    """Facilities, keyed by their code."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._table: _Table[Facility] = _Table(
            uow,
            lambda tables: tables.facilities,
            key=lambda facility: facility.code,
            unchanged=_same_version,
        )

    def add(self, facility: Facility) -> None:
        self._table.add(facility)

    def get(self, code: str) -> Facility | None:
        return self._table.get(code)

    def list(self) -> Sequence[Facility]:
        """Every facility, by code (a stable order for menus)."""
        return sorted(self._table.rows.values(), key=lambda facility: facility.code)

    def replace(self, old: Facility, new: Facility) -> None:
        self._table.replace(old, new)


def _current_call_number(inmate: Inmate) -> tuple[str, str] | None:
    """A call number is unique among the current inmates of one facility only:
    numbers are reused after people leave."""
    if inmate.left_at is not None:
        return None
    return inmate.facility_code, inmate.call_number.value


class MemoryInmateRepository:
    """Inmates; a call number names one current inmate per facility."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._table: _Table[Inmate] = _Table(
            uow,
            lambda tables: tables.inmates,
            key=lambda inmate: inmate.id,
            unchanged=_same_version,
            unique=(_current_call_number,),
        )

    def add(self, inmate: Inmate) -> None:
        self._table.add(inmate)

    def get(self, inmate_id: str) -> Inmate | None:
        return self._table.get(inmate_id)

    def get_many(self, inmate_ids: Collection[str]) -> Mapping[str, Inmate]:
        rows = self._table.rows
        return {inmate_id: rows[inmate_id] for inmate_id in set(inmate_ids) if inmate_id in rows}

    def current_by_call_number(self, facility_code: str, call_number: str) -> Inmate | None:
        found = self._table.where(
            lambda inmate: _current_call_number(inmate) == (facility_code, call_number)
        )
        return found[0] if found else None

    def list_current(self, facility_code: str) -> Sequence[Inmate]:
        """Current inmates of the facility, by call number."""
        current = self._table.where(
            lambda inmate: inmate.is_current and inmate.facility_code == facility_code
        )
        return sorted(current, key=lambda inmate: (inmate.call_number.value, inmate.id))

    def replace(self, old: Inmate, new: Inmate) -> None:
        self._table.replace(old, new)


class MemoryApplicationRepository:
    """Service applications, listed by ``submitted_at``."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._table: _Table[ServiceApplication] = _Table(
            uow,
            lambda tables: tables.applications,
            key=lambda application: application.id,
            unchanged=_same_version,
        )

    def add(self, application: ServiceApplication) -> None:
        self._table.add(application)

    def get(self, application_id: str) -> ServiceApplication | None:
        return self._table.get(application_id)

    def replace(self, old: ServiceApplication, new: ServiceApplication) -> None:
        self._table.replace(old, new)

    def pending_for(self, applicant_id: str, inmate_id: str) -> ServiceApplication | None:
        """The oldest pending application of this applicant for this inmate."""
        found = self._table.first(
            lambda application: (
                application.status is ApplicationStatus.PENDING
                and application.applicant_id == applicant_id
                and application.inmate_id == inmate_id
            ),
            by=lambda application: application.submitted_at,
            limit=1,
        )
        return found[0] if found else None

    def list_by_applicant(
        self, applicant_id: str, *, after: After, limit: int
    ) -> Sequence[ServiceApplication]:
        return self._table.page(
            lambda application: application.applicant_id == applicant_id,
            by=lambda application: application.submitted_at,
            newest_first=True,
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
        return self._table.page(
            lambda application: (
                (facility_codes is None or application.facility_code in facility_codes)
                and (status is None or application.status is status)
            ),
            by=lambda application: application.submitted_at,
            newest_first=False,
            after=after,
            limit=limit,
        )


class MemoryGrantRepository:
    """Grants; active ones are those not ended."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._table: _Table[Grant] = _Table(
            uow, lambda tables: tables.grants, key=lambda grant: grant.id, unchanged=_same_version
        )

    def add(self, grant: Grant) -> None:
        self._table.add(grant)

    def get(self, grant_id: str) -> Grant | None:
        return self._table.get(grant_id)

    def replace(self, old: Grant, new: Grant) -> None:
        self._table.replace(old, new)

    def _active(self, predicate: Callable[[Grant], bool]) -> list[Grant]:
        """Active grants matching ``predicate``, oldest first."""
        return sorted(
            self._table.where(lambda grant: grant.is_active and predicate(grant)),
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


class MemoryPostRepository:
    """Family posts: the author's list, the review queue and the delivery list."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._uow = uow
        self._table: _Table[FamilyPost] = _Table(
            uow, lambda tables: tables.posts, key=lambda post: post.id, unchanged=_same_version
        )

    def add(self, post: FamilyPost) -> None:
        self._table.add(post)

    def get(self, post_id: str) -> FamilyPost | None:
        return self._table.get(post_id)

    def replace(self, old: FamilyPost, new: FamilyPost) -> None:
        self._table.replace(old, new)

    def list_by_author(
        self, author_id: str, *, status: PostStatus | None, after: After, limit: int
    ) -> Sequence[FamilyPost]:
        return self._table.page(
            lambda post: post.author_id == author_id and (status is None or post.status is status),
            by=lambda post: post.submitted_at,
            newest_first=True,
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
        inmate = self._uow.inmates.get(post.inmate_id)
        facility = self._uow.facilities.get(post.facility_code)
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
        return self._table.page(
            lambda post: (
                (facility_codes is None or post.facility_code in facility_codes)
                and (status is None or post.status is status)
                and _within(post.submitted_at, submitted_from, submitted_to)
            ),
            by=lambda post: post.submitted_at,
            newest_first=False,
            after=after,
            limit=limit,
        )

    def latest_counting(self, author_id: str, inmate_id: str) -> FamilyPost | None:
        found = self._table.page(
            lambda post: (
                post.author_id == author_id
                and post.inmate_id == inmate_id
                and post.status in COUNTING_STATUSES
            ),
            by=lambda post: post.submitted_at,
            newest_first=True,
            after=None,
            limit=1,
        )
        return found[0] if found else None

    def pending_due(self, now: datetime, *, limit: int) -> Sequence[FamilyPost]:
        return self._table.first(
            lambda post: post.status is PostStatus.PENDING and post.review_deadline <= now,
            by=lambda post: post.review_deadline,
            limit=limit,
        )

    def pending_for_inmate(self, inmate_id: str) -> Sequence[FamilyPost]:
        """PENDING posts to this inmate, oldest first."""
        pending = self._table.where(
            lambda post: post.status is PostStatus.PENDING and post.inmate_id == inmate_id
        )
        return sorted(pending, key=lambda post: (post.submitted_at, post.id))

    def approved_undelivered(
        self, facility_codes: frozenset[str] | None, *, after: After, limit: int
    ) -> Sequence[FamilyPost]:
        return self._table.page(
            lambda post: (
                post.status is PostStatus.APPROVED
                and post.delivered_at is None
                and (facility_codes is None or post.facility_code in facility_codes)
            ),
            by=lambda post: post.decided_at,
            newest_first=False,
            after=after,
            limit=limit,
        )

    def ended_before(
        self, status: PostStatus, before: datetime, *, limit: int
    ) -> Sequence[FamilyPost]:
        return self._table.page(
            lambda post: post.status is status and (_post_end(post) or before) < before,
            by=_post_end,
            newest_first=False,
            after=None,
            limit=limit,
        )

    def remove(self, post: FamilyPost) -> None:
        self._table.remove(post)
        rows = self._table.rows
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


class MemoryNoticeRepository:
    """Agency and facility notices; deleted ones are kept but never listed."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._table: _Table[AgencyNotice] = _Table(
            uow,
            lambda tables: tables.notices,
            key=lambda notice: notice.id,
            unchanged=_same_version,
        )

    def add(self, notice: AgencyNotice) -> None:
        self._table.add(notice)

    def get(self, notice_id: str) -> AgencyNotice | None:
        return self._table.get(notice_id)

    def replace(self, old: AgencyNotice, new: AgencyNotice) -> None:
        self._table.replace(old, new)

    def list_admin(
        self,
        *,
        facility_codes: frozenset[str] | None,
        published_from: datetime | None,
        published_to: datetime | None,
        after: After,
        limit: int,
    ) -> Sequence[AgencyNotice]:
        return self._table.page(
            lambda notice: (
                not notice.is_deleted
                and (facility_codes is None or notice.publisher_facility in facility_codes)
                and _within(notice.published_at, published_from, published_to)
            ),
            by=lambda notice: notice.published_at,
            newest_first=True,
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
        return self._table.page(
            lambda notice: (
                not notice.is_deleted
                and _reaches_family(notice, facility_codes, inmate_ids)
                and (month is None or notice.published_month == month)
            ),
            by=lambda notice: notice.published_at,
            newest_first=True,
            after=after,
            limit=limit,
        )

    def months_for_family(
        self, *, facility_codes: frozenset[str], inmate_ids: frozenset[str]
    ) -> Sequence[str]:
        readable = self._table.where(
            lambda notice: (
                not notice.is_deleted and _reaches_family(notice, facility_codes, inmate_ids)
            )
        )
        return sorted({notice.published_month for notice in readable}, reverse=True)


class MemoryMessageRepository:
    """The outbox of mail and SMS messages."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._table: _Table[Message] = _Table(
            uow,
            lambda tables: tables.messages,
            key=lambda message: message.id,
            unchanged=_same_version,
        )

    def add(self, message: Message) -> None:
        self._table.add(message)

    def get(self, message_id: str) -> Message | None:
        return self._table.get(message_id)

    def replace(self, old: Message, new: Message) -> None:
        self._table.replace(old, new)

    def get_many(self, message_ids: Collection[str]) -> Mapping[str, Message]:
        rows = self._table.rows
        return {key: rows[key] for key in set(message_ids) if key in rows}

    def lease(self, messages: Sequence[Message], until: datetime) -> None:
        rows = self._table.rows
        for message in messages:
            stored = rows.get(message.id)
            if stored is None:
                raise NotFound()
            if stored.version != message.version:
                raise Conflict("stale_version")
        for message in messages:
            self._table.replace(message, message.leased(until))

    def claim_due(self, now: datetime, *, limit: int) -> Sequence[Message]:
        """Nothing to lock: the unit of work holds the storage's lock, which already
        keeps other dispatchers out."""
        return self._table.first(
            lambda message: (
                message.status is MessageStatus.PENDING
                and (message.next_attempt_at is None or message.next_attempt_at <= now)
            ),
            by=lambda message: message.created_at,
            limit=limit,
        )

    def log_for(self, account_id: str, *, after: After, limit: int) -> Sequence[Message]:
        return self._table.page(
            lambda message: (
                message.account_id == account_id and message.status is MessageStatus.SENT
            ),
            by=lambda message: message.sent_at,
            newest_first=True,
            after=after,
            limit=limit,
        )

    def list_for_facility(
        self, facility_code: str | None, *, after: After, limit: int
    ) -> Sequence[Message]:
        return self._table.page(
            lambda message: facility_code is None or message.facility_code == facility_code,
            by=lambda message: message.created_at,
            newest_first=True,
            after=after,
            limit=limit,
        )

    def list_by_account(self, account_id: str, *, after: After, limit: int) -> Sequence[Message]:
        return self._table.page(
            lambda message: message.account_id == account_id,
            by=lambda message: message.created_at,
            newest_first=True,
            after=after,
            limit=limit,
        )

    def finished_before(self, before: datetime, *, limit: int) -> Sequence[Message]:
        return self._table.first(
            lambda message: message.status in _FINISHED_MESSAGES and message.created_at < before,
            by=lambda message: message.created_at,
            limit=limit,
        )

    def remove(self, message: Message) -> None:
        self._table.remove(message)


_FINISHED_MESSAGES = frozenset({MessageStatus.SENT, MessageStatus.FAILED})


def _username_key(member: StaffMember) -> str:
    """Usernames are unique and looked up without regard to case."""
    return member.username.casefold()


class MemoryStaffRepository:
    """Staff members, unique by username (case-insensitive)."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._table: _Table[StaffMember] = _Table(
            uow,
            lambda tables: tables.staff,
            key=lambda member: member.id,
            unchanged=_same_version,
            unique=(_username_key,),
        )

    def add(self, member: StaffMember) -> None:
        self._table.add(member)

    def get(self, staff_id: str) -> StaffMember | None:
        return self._table.get(staff_id)

    def by_username(self, username: str) -> StaffMember | None:
        wanted = username.casefold()
        found = self._table.where(lambda member: _username_key(member) == wanted)
        return found[0] if found else None

    def replace(self, old: StaffMember, new: StaffMember) -> None:
        self._table.replace(old, new)

    def count(self) -> int:
        return len(self._table.rows)

    def list(self, facility_code: str | None = None) -> Sequence[StaffMember]:
        found = self._table.where(
            lambda member: facility_code is None or member.facility_code == facility_code
        )
        return sorted(found, key=_username_key)


class MemoryAuditRepository:
    """The append-only audit trail, unique by ``seq`` (the hash chain's order)."""

    def __init__(self, uow: MemoryUnitOfWork) -> None:
        self._table: _Table[AuditEvent] = _Table(
            uow,
            lambda tables: tables.audit,
            key=lambda event: event.id,
            unchanged=lambda stored, old: stored == old,  # never used: events are not replaced
            unique=(lambda event: event.seq,),
        )

    def append(self, event: AuditEvent) -> None:
        self._table.add(event)

    def last(self) -> AuditEvent | None:
        events = self._table.rows.values()
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
        return self._table.page(
            lambda event: (
                (actor_id is None or event.actor_id == actor_id)
                and (target_id is None or event.target_id == target_id)
                and (action is None or event.action == action)
                and _within(event.at, since, until)
            ),
            by=lambda event: event.at,
            newest_first=True,
            after=after,
            limit=limit,
        )

    def in_order(self) -> Iterator[AuditEvent]:
        """Sorted when called: later appends are not seen."""
        return iter(sorted(self._table.rows.values(), key=lambda event: event.seq))

    def head(self) -> tuple[int, str] | None:
        """The newest event's ``(seq, hash)``: memory keeps no head apart from the events."""
        newest = self.last()
        return (newest.seq, newest.hash) if newest else None


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
        self.accounts = MemoryAccountRepository(self)
        self.tokens = MemoryTokenRepository(self)
        self.facilities = MemoryFacilityRepository(self)
        self.inmates = MemoryInmateRepository(self)
        self.applications = MemoryApplicationRepository(self)
        self.grants = MemoryGrantRepository(self)
        self.posts = MemoryPostRepository(self)
        self.notices = MemoryNoticeRepository(self)
        self.messages = MemoryMessageRepository(self)
        self.staff = MemoryStaffRepository(self)
        self.audit = MemoryAuditRepository(self)

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
