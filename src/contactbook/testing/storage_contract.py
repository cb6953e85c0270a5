"""The contract every storage adapter must pass, as a pytest suite to subclass.

Use cases are tested on the in-memory adapter and run in production on SQL
ones; they are only interchangeable if both keep every promise of
:mod:`contactbook.ports.storage`. This suite states those promises as tests,
through the public port only, so a third-party adapter (Oracle, MSSQL …) is
checked exactly like ours::

    from contactbook.testing.storage_contract import StorageContract

    class TestOracleStorage(StorageContract):
        @pytest.fixture
        def storage(self) -> Iterator[Storage]:
            storage = OracleStorage.from_url(...)   # empty, migrated
            yield storage
            storage.close()

The entity factories (``make_account``, ``make_post`` …) are public so that
adapter-specific tests can build the same fictional world. The world is
consistent — every id an entity refers to exists — so adapters with foreign
keys pass too. Tests end a unit of work right after an operation that must
fail, because some databases refuse further statements in a failed
transaction; they look at the result in a fresh unit of work.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any, Protocol, TypeVar

import attrs
import pytest

from contactbook.domain.account import (
    AccountStatus,
    Consent,
    FamilyMember,
    OneTimeToken,
    TokenPurpose,
)
from contactbook.domain.application import (
    ApplicationRejectionReason,
    ApplicationStatus,
    Grant,
    ServiceApplication,
)
from contactbook.domain.audit import AuditEvent, chain_hash
from contactbook.domain.facility import AttachmentProfile, Facility, FacilityPolicy, Restriction
from contactbook.domain.files import EvidenceKind, InspectionContext, StoredFile
from contactbook.domain.identifiers import (
    CallNumber,
    EmailAddress,
    MobileNumber,
    NationalId,
    PhoneNumber,
)
from contactbook.domain.inmate import Inmate
from contactbook.domain.message import Channel, Message, MessageCause, MessageStatus
from contactbook.domain.notice import AgencyNotice, Audience, NoticeKind
from contactbook.domain.post import FamilyPost, PostRejectionReason, PostStatus
from contactbook.domain.relationship import Relationship, Service
from contactbook.domain.staff import Role, StaffMember, TotpFactor
from contactbook.errors import Conflict, NotFound
from contactbook.ports.storage import (
    After,
    AuthorRow,
    NoticeCardRow,
    QueueRow,
    Storage,
    UnitOfWork,
)

__all__ = [
    "ACCOUNT",
    "AGENCY_STAFF",
    "APPLICATION",
    "FACILITY",
    "GRANT",
    "INMATE",
    "OTHER_ACCOUNT",
    "OTHER_APPLICATION",
    "OTHER_FACILITY",
    "OTHER_GRANT",
    "OTHER_INMATE",
    "STAFF",
    "T0",
    "StorageContract",
    "assert_every_field_set",
    "at",
    "make_account",
    "make_application",
    "make_audit_event",
    "make_facility",
    "make_grant",
    "make_inmate",
    "make_message",
    "make_notice",
    "make_post",
    "make_staff",
    "make_stored_file",
    "make_token",
    "seed",
    "seed_world",
    "walk",
]

E = TypeVar("E")

# --- Time -------------------------------------------------------------------------

T0 = datetime(2024, 3, 4, 1, 30, tzinfo=UTC)
"""Monday 4 March 2024, 09:30 in Taipei: the suite's "now"."""


def at(hours: float) -> datetime:
    """``hours`` after (or before) :data:`T0`."""
    return T0 + timedelta(hours=hours)


# --- The fictional world ------------------------------------------------------------

FACILITY = "F01"
OTHER_FACILITY = "F02"
STAFF = "staff-chen"  # reviewer and publisher of FACILITY
AGENCY_STAFF = "staff-agency"  # Agency admin: facility_code None
ACCOUNT = "acc-wang"  # 王小明
OTHER_ACCOUNT = "acc-lee"  # 李大華
INMATE = "inm-wang"  # in FACILITY, call number 0609
OTHER_INMATE = "inm-lee"  # in OTHER_FACILITY, also call number 0609
APPLICATION = "app-wang"  # ACCOUNT for INMATE, approved
OTHER_APPLICATION = "app-lee"  # OTHER_ACCOUNT for OTHER_INMATE, approved
GRANT = "grant-wang"  # from APPLICATION
OTHER_GRANT = "grant-lee"  # from OTHER_APPLICATION

_OTHER_POST: dict[str, Any] = {
    "author_id": OTHER_ACCOUNT,
    "inmate_id": OTHER_INMATE,
    "facility_code": OTHER_FACILITY,
    "grant_id": OTHER_GRANT,
}
"""Fields of a post by OTHER_ACCOUNT to OTHER_INMATE (spread into ``make_post``)."""


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def make_stored_file(file_id: str = "file-1", **changes: Any) -> StoredFile:
    """A JPEG photo as the upload inspector accepted it."""
    stored = StoredFile(
        id=file_id,
        storage_key=f"objects/{_sha256(file_id)[:32]}",
        display_name="全家福.jpg",
        content_type="image/jpeg",
        size=482_133,
        sha256=_sha256(f"bytes of {file_id}"),
    )
    return attrs.evolve(stored, **changes)


def make_facility(code: str = FACILITY, **changes: Any) -> Facility:
    names = {FACILITY: "北區示範監獄", OTHER_FACILITY: "南區示範看守所"}
    facility = Facility(code=code, name=names.get(code, f"示範矯正機關 {code}"))
    return attrs.evolve(facility, **changes)


def make_staff(staff_id: str = STAFF, **changes: Any) -> StaffMember:
    """A reviewer and publisher of FACILITY; the username is the id without ``staff-``."""
    member = StaffMember(
        id=staff_id,
        username=staff_id.removeprefix("staff-"),
        name="陳美玲",
        facility_code=FACILITY,
        roles=frozenset({Role.REVIEWER, Role.PUBLISHER}),
        password_hash="$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$ZmljdGlvbmFsaGFzaA",
        created_at=at(-24 * 90),
    )
    return attrs.evolve(member, **changes)


def make_account(account_id: str = ACCOUNT, **changes: Any) -> FamilyMember:
    """王小明, an active family member (pass other identifiers for other people)."""
    account = FamilyMember(
        id=account_id,
        name="王小明",
        birth_date=date(1988, 7, 15),
        national_id=NationalId.parse("A123456789"),
        email=EmailAddress.parse("wang.xiaoming@example.com.tw"),
        password_hash="$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$ZmFtaWx5aGFzaA",
        consent=Consent(notice_version="2024-01", accepted_at=at(-24 * 60)),
        created_at=at(-24 * 60),
        status=AccountStatus.ACTIVE,
        verified_at=at(-24 * 60 + 1),
    )
    return attrs.evolve(account, **changes)


def _make_other_account() -> FamilyMember:
    return make_account(
        OTHER_ACCOUNT,
        name="李大華",
        national_id=NationalId.parse("B223456782"),
        email=EmailAddress.parse("lee.dahua@example.com.tw"),
    )


def make_token(token_id: str = "tok-1", **changes: Any) -> OneTimeToken:
    """An unused e-mail verification token of ACCOUNT; its hash derives from its id."""
    token = OneTimeToken(
        id=token_id,
        account_id=ACCOUNT,
        purpose=TokenPurpose.VERIFY_EMAIL,
        token_hash=_sha256(f"secret of {token_id}"),
        created_at=at(0),
        expires_at=at(24),
    )
    return attrs.evolve(token, **changes)


def make_inmate(inmate_id: str = INMATE, **changes: Any) -> Inmate:
    """A current inmate of FACILITY with call number 0609."""
    inmate = Inmate(
        id=inmate_id,
        facility_code=FACILITY,
        call_number=CallNumber.parse("0609"),
        name="王大明",
        gender="男",
        birth_date=date(1985, 6, 9),
        admitted_on=date(2022, 1, 5),
        admitted_here_on=date(2022, 3, 1),
        custody_type="受刑人",
        has_minor_children=True,
    )
    return attrs.evolve(inmate, **changes)


def make_application(application_id: str = APPLICATION, **changes: Any) -> ServiceApplication:
    """A pending application of ACCOUNT for INMATE, with three evidence files."""
    application = ServiceApplication(
        id=application_id,
        applicant_id=ACCOUNT,
        inmate_id=INMATE,
        facility_code=FACILITY,
        relationship=Relationship.SPOUSE,
        services=frozenset({Service.CONTACT_BOOK, Service.REMOTE_VISIT}),
        evidence=(
            make_stored_file(
                f"{application_id}-id",
                display_name="身分證影本.pdf",
                content_type="application/pdf",
                kind=EvidenceKind.ID_DOCUMENT,
            ),
            make_stored_file(
                f"{application_id}-proof",
                display_name="戶籍謄本.pdf",
                content_type="application/pdf",
                kind=EvidenceKind.RELATIONSHIP_PROOF,
            ),
            make_stored_file(
                f"{application_id}-photo",
                display_name="正面照.png",
                content_type="image/png",
                kind=EvidenceKind.FRONTAL_PHOTO,
                thumbnail_key=f"thumbnails/{application_id}-photo",
            ),
        ),
        submitted_at=at(0),
    )
    return attrs.evolve(application, **changes)


def make_grant(grant_id: str = GRANT, **changes: Any) -> Grant:
    """An active grant of ACCOUNT for INMATE from APPLICATION."""
    grant = Grant(
        id=grant_id,
        account_id=ACCOUNT,
        inmate_id=INMATE,
        facility_code=FACILITY,
        application_id=APPLICATION,
        relationship=Relationship.SPOUSE,
        granted_at=at(-24 * 30),
    )
    return attrs.evolve(grant, **changes)


def make_post(post_id: str = "post-1", **changes: Any) -> FamilyPost:
    """A pending post of ACCOUNT to INMATE, in Chinese with an emoji and one photo."""
    submitted_at = changes.pop("submitted_at", at(0))
    post = FamilyPost(
        id=post_id,
        author_id=ACCOUNT,
        inmate_id=INMATE,
        facility_code=FACILITY,
        grant_id=GRANT,
        title="家裡一切都好",
        body="今天弟弟考了一百分 🎉，全家都很想你，要保重身體。",
        submitted_at=submitted_at,
        review_deadline=submitted_at + timedelta(days=14),
        attachments=(make_stored_file(f"{post_id}-photo"),),
    )
    return attrs.evolve(post, **changes)


def make_notice(notice_id: str = "notice-1", **changes: Any) -> AgencyNotice:
    """A notice of FACILITY to its families."""
    notice = AgencyNotice(
        id=notice_id,
        publisher_facility=FACILITY,
        publisher_name="北區示範監獄",
        author_id=STAFF,
        kind=NoticeKind.ANNOUNCEMENT,
        audience=Audience.facility(FACILITY),
        title="春節懇親活動報名",
        body="本監將於二月舉辦懇親活動，請於一月底前報名。",
        published_at=at(0),
    )
    return attrs.evolve(notice, **changes)


def make_message(message_id: str = "msg-1", **changes: Any) -> Message:
    """A pending e-mail to ACCOUNT about a post of FACILITY."""
    message = Message(
        id=message_id,
        channel=Channel.EMAIL,
        destination="wang.xiaoming@example.com.tw",
        subject="家庭聯絡簿審核通過",
        body="王小明 您好：您於 2024/03/04 送出的聯絡簿已審核通過。",
        cause=MessageCause.POST_APPROVED,
        created_at=at(0),
        account_id=ACCOUNT,
        facility_code=FACILITY,
    )
    return attrs.evolve(message, **changes)


def make_audit_event(seq: int = 1, **changes: Any) -> AuditEvent:
    """STAFF approving post-1, at ``at(seq)``; the hash is computed unless given."""
    event = AuditEvent(
        id=f"audit-{seq}",
        seq=seq,
        at=at(seq),
        actor_kind="staff",
        actor_id=STAFF,
        action="post.approve",
        target_kind="post",
        target_id="post-1",
        role="publisher,reviewer",
        facility_code=FACILITY,
    )
    event = attrs.evolve(event, **changes)
    return event if "hash" in changes else attrs.evolve(event, hash=chain_hash(event))


def seed(storage: Storage, *entities: object) -> None:
    """Add ``entities``, in order, each to its repository, in one committed unit of work."""
    with storage.unit_of_work() as uow:
        for entity in entities:
            _add_any(uow, entity)
        uow.commit()


def _add_any(uow: UnitOfWork, entity: object) -> None:
    if isinstance(entity, Facility):
        uow.facilities.add(entity)
    elif isinstance(entity, StaffMember):
        uow.staff.add(entity)
    elif isinstance(entity, FamilyMember):
        uow.accounts.add(entity)
    elif isinstance(entity, OneTimeToken):
        uow.tokens.add(entity)
    elif isinstance(entity, Inmate):
        uow.inmates.add(entity)
    elif isinstance(entity, ServiceApplication):
        uow.applications.add(entity)
    elif isinstance(entity, Grant):
        uow.grants.add(entity)
    elif isinstance(entity, FamilyPost):
        uow.posts.add(entity)
    elif isinstance(entity, AgencyNotice):
        uow.notices.add(entity)
    elif isinstance(entity, Message):
        uow.messages.add(entity)
    elif isinstance(entity, AuditEvent):
        uow.audit.append(entity)
    else:
        raise TypeError(f"no repository stores {type(entity).__name__}")


def seed_world(storage: Storage) -> None:
    """Two facilities, their staff, two families with one approved grant each."""
    approved = {
        "status": ApplicationStatus.APPROVED,
        "approved_services": frozenset({Service.CONTACT_BOOK}),
        "reviewed_at": at(-24 * 30),
        "reviewer_id": STAFF,
        "submitted_at": at(-24 * 31),
    }
    seed(
        storage,
        make_facility(FACILITY),
        make_facility(OTHER_FACILITY),
        make_staff(STAFF),
        make_staff(AGENCY_STAFF, name="林志豪", facility_code=None, roles=frozenset({Role.ADMIN})),
        make_account(ACCOUNT),
        _make_other_account(),
        make_inmate(INMATE),
        make_inmate(OTHER_INMATE, facility_code=OTHER_FACILITY, name="李小龍"),
        make_application(APPLICATION, **approved),
        make_application(
            OTHER_APPLICATION,
            applicant_id=OTHER_ACCOUNT,
            inmate_id=OTHER_INMATE,
            facility_code=OTHER_FACILITY,
            relationship=Relationship.PARENT,
            **approved,
        ),
        make_grant(GRANT),
        make_grant(
            OTHER_GRANT,
            account_id=OTHER_ACCOUNT,
            inmate_id=OTHER_INMATE,
            facility_code=OTHER_FACILITY,
            application_id=OTHER_APPLICATION,
            relationship=Relationship.PARENT,
        ),
    )


# --- Helpers for assertions -----------------------------------------------------------


class _Identified(Protocol):
    @property
    def id(self) -> str: ...


def _ids(rows: Iterable[_Identified]) -> list[str]:
    return [row.id for row in rows]


def assert_every_field_set(entity: attrs.AttrsInstance) -> None:
    """Fail if a field still holds its default, so a round trip exercises every column
    (and a field added to an entity later fails here until the suite covers it)."""
    unset = [
        field.name
        for field in attrs.fields(type(entity))
        if field.default is not attrs.NOTHING and getattr(entity, field.name) == field.default
    ]
    assert not unset, f"{type(entity).__name__} round trip leaves defaults in {unset}"


def walk(
    fetch: Callable[[After, int], Sequence[E]],
    position: Callable[[E], tuple[datetime, str]],
    *,
    limit: int = 3,
) -> list[E]:
    """Every row of a keyset list, fetched page by page as a front end would."""
    rows: list[E] = []
    after: After = None
    for _ in range(100):
        page = list(fetch(after, limit))
        assert len(page) <= limit, f"a page of {len(page)} rows for limit {limit}"
        rows.extend(page)
        if len(page) < limit:
            positions = [position(row) for row in rows]
            assert len(set(positions)) == len(positions), f"a row came twice: {positions}"
            return rows
        after = position(page[-1])
    raise AssertionError("the list never ended")


def _family_cards(
    uow: UnitOfWork,
    after: After,
    limit: int,
    *,
    facilities: frozenset[str],
    inmates: frozenset[str],
    month: str | None,
) -> Sequence[NoticeCardRow]:
    return uow.notices.family_cards(
        facility_codes=facilities, inmate_ids=inmates, month=month, after=after, limit=limit
    )


_SEVEN_TIMES = (at(0), at(1), at(2), at(2), at(2), at(3), at(3))
"""Sort times of rows 1–7. Ties straddle the page boundaries of ``limit=3`` in both
directions (3|4 and 6|7 ascending, 5|4 descending), so ``after`` must use the id."""

_INSERTION_ORDER = (5, 2, 7, 1, 6, 3, 4)


def _seven(build: Callable[[int, datetime], E]) -> list[E]:
    """Rows 1–7 built with their sort time, in an order matching no listing."""
    return [build(n, _SEVEN_TIMES[n - 1]) for n in _INSERTION_ORDER]


def _numbered(prefix: str, numbers: Iterable[int]) -> list[str]:
    return [f"{prefix}-{n}" for n in numbers]


# Keyset positions — (sort time, id) — of the rows of each list.


def _submitted(row: FamilyPost | ServiceApplication) -> tuple[datetime, str]:
    return row.submitted_at, row.id


def _decided(post: FamilyPost) -> tuple[datetime, str]:
    assert post.decided_at is not None
    return post.decided_at, post.id


def _published(notice: AgencyNotice) -> tuple[datetime, str]:
    return notice.published_at, notice.id


def _created(message: Message) -> tuple[datetime, str]:
    return message.created_at, message.id


def _sent(message: Message) -> tuple[datetime, str]:
    assert message.sent_at is not None
    return message.sent_at, message.id


def _happened(event: AuditEvent) -> tuple[datetime, str]:
    return event.at, event.id


_ASCENDING = range(1, 8)
_DESCENDING = range(7, 0, -1)


# --- One line per repository, for the rules every repository shares -----------------


@attrs.frozen
class _Kind:
    """How the shared tests reach one repository through the port.

    ``make`` builds an entity not in the world; ``same_key`` another entity with
    the key of its argument and no other unique value in common; ``changed``
    the next state of its argument (None: the repository has no ``replace``).
    """

    name: str
    make: Callable[[], Any]
    same_key: Callable[[Any], Any]
    changed: Callable[[Any], Any] | None


def _find(uow: UnitOfWork, kind: _Kind, like: Any) -> Any:
    """The stored entity with the identity of ``like``, looked up through the port."""
    if kind.name == "tokens":
        return uow.tokens.by_hash(like.token_hash)
    if kind.name == "facilities":
        return uow.facilities.get(like.code)
    if kind.name == "audit":
        return next((event for event in uow.audit.in_order() if event.id == like.id), None)
    return getattr(uow, kind.name).get(like.id)


def _add(uow: UnitOfWork, kind: _Kind, entity: Any) -> None:
    if kind.name == "audit":
        uow.audit.append(entity)
    else:
        getattr(uow, kind.name).add(entity)


_KINDS = (
    _Kind(
        "accounts",
        make=lambda: make_account(
            "acc-chang",
            name="張美華",
            national_id=NationalId.parse("H223456788"),
            email=EmailAddress.parse("chang.meihua@example.com.tw"),
        ),
        same_key=lambda account: make_account(
            account.id,
            national_id=NationalId.parse("E123456783"),
            email=EmailAddress.parse("someone.else@example.com.tw"),
        ),
        changed=lambda account: account.changed(name="張美樺"),
    ),
    _Kind(
        "tokens",
        make=lambda: make_token("tok-new"),
        same_key=lambda token: attrs.evolve(token, token_hash=_sha256("another secret")),
        changed=lambda token: attrs.evolve(token, used_at=at(1)),
    ),
    _Kind(
        "facilities",
        make=lambda: make_facility("F09", name="東區示範技能訓練所"),
        same_key=lambda facility: attrs.evolve(facility, name="另一個機關"),
        changed=lambda facility: attrs.evolve(
            facility, name="東區示範監獄", version=facility.version + 1
        ),
    ),
    _Kind(
        "inmates",
        make=lambda: make_inmate("inm-new", call_number=CallNumber.parse("1234")),
        same_key=lambda inmate: attrs.evolve(inmate, call_number=CallNumber.parse("5678")),
        changed=lambda inmate: attrs.evolve(
            inmate, restrictions=frozenset({Restriction.ISOLATION}), version=inmate.version + 1
        ),
    ),
    _Kind(
        "applications",
        make=lambda: make_application("app-new", applicant_id=OTHER_ACCOUNT),
        same_key=lambda application: attrs.evolve(application, submitted_at=at(5)),
        changed=lambda application: application.approve(
            frozenset({Service.CONTACT_BOOK}), by=STAFF, at=at(1), version=application.version
        ),
    ),
    _Kind(
        "grants",
        make=lambda: make_grant("grant-new", account_id=OTHER_ACCOUNT),
        same_key=lambda grant: attrs.evolve(grant, granted_at=at(5)),
        changed=lambda grant: grant.end("inmate_left", at(1)),
    ),
    _Kind(
        "posts",
        make=lambda: make_post("post-new"),
        same_key=lambda post: attrs.evolve(post, title="另一篇"),
        changed=lambda post: post.approve(by=STAFF, at=at(1), version=post.version),
    ),
    _Kind(
        "notices",
        make=lambda: make_notice("notice-new"),
        same_key=lambda notice: attrs.evolve(notice, title="另一則公告"),
        changed=lambda notice: notice.deleted(at(1)),
    ),
    _Kind(
        "messages",
        make=lambda: make_message("msg-new"),
        same_key=lambda message: attrs.evolve(message, subject="另一封信"),
        changed=lambda message: message.sent(at(1)),
    ),
    _Kind(
        "staff",
        make=lambda: make_staff("staff-huang", name="黃建國"),
        same_key=lambda member: attrs.evolve(member, username="someone-else"),
        changed=lambda member: member.changed(name="黃建華"),
    ),
    _Kind(
        "audit",
        make=lambda: make_audit_event(99),
        same_key=lambda event: attrs.evolve(event, seq=100),
        changed=None,
    ),
)
_REPLACEABLE = tuple(kind for kind in _KINDS if kind.changed is not None)


class _Boom(Exception):
    """An error raised inside a unit of work by a test."""


# --- The suite -------------------------------------------------------------------------


class StorageContract:
    """Subclass with a ``storage`` fixture yielding a fresh, empty :class:`Storage`."""

    @pytest.fixture
    def storage(self) -> Storage:
        pytest.fail(
            "override the `storage` fixture in your StorageContract subclass"
        )  # a subclass must provide it

    @pytest.fixture
    def world(self, storage: Storage) -> Storage:
        """The storage with :func:`seed_world` committed."""
        seed_world(storage)
        return storage

    # --- Units of work ----------------------------------------------------------------

    def test_commit_makes_changes_visible_to_a_new_unit_of_work(self, storage: Storage) -> None:
        facility = make_facility()
        with storage.unit_of_work() as uow:
            uow.facilities.add(facility)
            assert uow.facilities.get(FACILITY) == facility  # a transaction reads its writes
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.facilities.get(FACILITY) == facility

    def test_leaving_without_commit_discards_adds(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            uow.facilities.add(make_facility())
        with storage.unit_of_work() as uow:
            assert uow.facilities.get(FACILITY) is None
            assert list(uow.facilities.list()) == []

    def test_leaving_without_commit_discards_replaces(self, world: Storage) -> None:
        with world.unit_of_work() as uow:
            account = uow.accounts.get(ACCOUNT)
            assert account is not None
            uow.accounts.replace(account, account.changed(name="王曉明"))
        with world.unit_of_work() as uow:
            assert uow.accounts.get(ACCOUNT) == make_account()

    def test_an_exception_inside_the_block_rolls_back_and_propagates(
        self, storage: Storage
    ) -> None:
        with pytest.raises(_Boom), storage.unit_of_work() as uow:
            uow.facilities.add(make_facility())
            raise _Boom
        with storage.unit_of_work() as uow:
            assert uow.facilities.get(FACILITY) is None

    def test_explicit_rollback_discards_changes(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            uow.facilities.add(make_facility())
            uow.rollback()
        with storage.unit_of_work() as uow:
            assert uow.facilities.get(FACILITY) is None

    def test_work_after_an_explicit_rollback_can_be_committed(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            uow.facilities.add(make_facility(FACILITY))
            uow.rollback()
            uow.facilities.add(make_facility(OTHER_FACILITY))
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.facilities.get(FACILITY) is None
            assert uow.facilities.get(OTHER_FACILITY) == make_facility(OTHER_FACILITY)

    def test_changes_after_a_commit_need_another_commit(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            uow.facilities.add(make_facility(FACILITY))
            uow.commit()
            uow.facilities.add(make_facility(OTHER_FACILITY))
        with storage.unit_of_work() as uow:
            assert uow.facilities.get(FACILITY) == make_facility(FACILITY)
            assert uow.facilities.get(OTHER_FACILITY) is None

    def test_on_rollback_callbacks_run_when_leaving_without_commit(self, storage: Storage) -> None:
        calls: list[str] = []
        with storage.unit_of_work() as uow:
            uow.on_rollback(lambda: calls.append("remove photo"))
            uow.on_rollback(lambda: calls.append("remove thumbnail"))
            assert calls == []
        assert sorted(calls) == ["remove photo", "remove thumbnail"]

    def test_on_rollback_callbacks_run_when_an_exception_leaves_the_block(
        self, storage: Storage
    ) -> None:
        calls: list[str] = []
        with pytest.raises(_Boom), storage.unit_of_work() as uow:
            uow.on_rollback(lambda: calls.append("remove photo"))
            raise _Boom
        assert calls == ["remove photo"]

    def test_on_rollback_callbacks_run_once_on_explicit_rollback(self, storage: Storage) -> None:
        calls: list[str] = []
        with storage.unit_of_work() as uow:
            uow.on_rollback(lambda: calls.append("remove photo"))
            uow.rollback()
            assert calls == ["remove photo"]
        assert calls == ["remove photo"]

    def test_on_rollback_callbacks_do_not_run_after_commit(self, storage: Storage) -> None:
        calls: list[str] = []
        with storage.unit_of_work() as uow:
            uow.on_rollback(lambda: calls.append("remove photo"))
            uow.facilities.add(make_facility())
            uow.commit()
        assert calls == []

    # --- Round trips: every field of every entity comes back equal ----------------------

    def _round_trip(self, storage: Storage, kind_name: str, *entities: Any) -> None:
        kind = next(kind for kind in _KINDS if kind.name == kind_name)
        with storage.unit_of_work() as uow:
            for entity in entities:
                _add(uow, kind, entity)
            uow.commit()
        with storage.unit_of_work() as uow:
            for entity in entities:
                assert _find(uow, kind, entity) == entity

    def test_account_round_trip(self, storage: Storage) -> None:
        full = make_account(
            "acc-full",
            name="王小明",
            national_id=NationalId.parse("A123456789"),
            email=EmailAddress.parse("Wang.XiaoMing@Example.com.TW"),  # local part keeps case
            phone=PhoneNumber.parse("(02) 2345-6789 #12"),
            mobile=MobileNumber.parse("0912345678"),
            status=AccountStatus.LOCKED,
            failed_logins=5,
            locked_until=at(1),
            rejected_posts=2,
            posting_suspended_until=at(24 * 30),
            session_version=3,
            notify_delivery=True,
            notify_notices=True,
            deletion_requested_at=at(2),
            version=7,
        )
        assert_every_field_set(full)
        minimal = make_account(
            "acc-minimal",
            name="李大華",
            national_id=NationalId.parse("B223456782"),
            email=EmailAddress.parse("lee.dahua@example.com.tw"),
            status=AccountStatus.UNVERIFIED,
            verified_at=None,
        )
        self._round_trip(storage, "accounts", full, minimal)

    def test_token_round_trip(self, world: Storage) -> None:
        full = make_token(
            "tok-full", purpose=TokenPurpose.RESET_PASSWORD, account_id=OTHER_ACCOUNT, used_at=at(1)
        )
        assert_every_field_set(full)
        self._round_trip(world, "tokens", full, make_token("tok-minimal"))

    def test_facility_round_trip(self, storage: Storage) -> None:
        policy = FacilityPolicy(
            adult_post_interval_days=60,
            juvenile_post_interval_days=14,
            title_max_chars=40,
            body_max_chars=200,
            attachment_profile=AttachmentProfile(
                name="two_photos",
                max_files=2,
                max_total_bytes=10 * 1024 * 1024,
                context=InspectionContext.PHOTO,
            ),
            rejections_before_suspension=5,
            suspension_months=2,
            review_deadline_days=7,
            adult_requires_minor_children=False,
            juvenile_max_kinship_degree=4,
            excluded_restrictions=frozenset(
                {Restriction.COMMUNICATION_BAN, Restriction.MEDICAL_ISOLATION}
            ),
            watch_keywords=("越獄", "毒品", "ＡＢＣ"),
        )
        assert_every_field_set(policy)
        full = make_facility(
            "F07", name="示範少年輔育院", is_juvenile=True, policy=policy, version=3
        )
        assert_every_field_set(full)
        self._round_trip(storage, "facilities", full, make_facility("F08"))

    def test_inmate_round_trip(self, world: Storage) -> None:
        full = make_inmate(
            "inm-full",
            call_number=CallNumber.parse("A0609"),
            national_id="F123456784",
            education_grade=9,
            is_juvenile=True,
            restrictions=frozenset({Restriction.DISCIPLINARY_PUNISHMENT, Restriction.ISOLATION}),
            left_at=at(-1),
            version=4,
        )
        assert_every_field_set(full)
        minimal = Inmate(
            id="inm-minimal",
            facility_code=FACILITY,
            call_number=CallNumber.parse("0001"),
            name="陳一",
        )
        self._round_trip(world, "inmates", full, minimal)

    def test_application_round_trip(self, world: Storage) -> None:
        # Storage must not interpret states: every field is set at once here.
        full = make_application(
            "app-full",
            relationship=Relationship.RELATIVE,
            kinship_degree=3,
            status=ApplicationStatus.REJECTED,
            approved_services=frozenset({Service.CONTACT_BOOK, Service.ONSITE_VISIT}),
            reviewed_at=at(1),
            reviewer_id=STAFF,
            rejection_reason=ApplicationRejectionReason.OTHER,
            rejection_note="請補附三個月內之戶籍謄本。",
            version=2,
        )
        assert_every_field_set(full)
        assert_every_field_set(full.evidence[2])
        minimal = make_application("app-minimal", evidence=())
        self._round_trip(world, "applications", full, minimal)

    def test_grant_round_trip(self, world: Storage) -> None:
        full = make_grant("grant-full", ended_at=at(1), end_reason="inmate_left", version=3)
        assert_every_field_set(full)
        self._round_trip(world, "grants", full, make_grant("grant-minimal"))

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
        self._round_trip(world, "posts", original, full, minimal)

    def test_notice_round_trip(self, world: Storage) -> None:
        full = make_notice(
            "notice-full",
            audience=Audience.inmate(FACILITY, INMATE),
            attachments=(
                make_stored_file("notice-full-1", display_name="報名表.pdf"),
                make_stored_file("notice-full-2", display_name="交通資訊.png"),
                make_stored_file("notice-full-3", display_name="注意事項.pdf"),
            ),
            updated_at=at(1),
            deleted_at=at(2),
            version=3,
        )
        assert_every_field_set(full)
        agency = make_notice(
            "notice-agency",
            publisher_facility=None,
            publisher_name="法務部矯正署",
            author_id=AGENCY_STAFF,
            audience=Audience.everyone(),
        )
        self._round_trip(world, "notices", full, agency)

    def test_message_round_trip(self, world: Storage) -> None:
        full = make_message(
            "msg-full",
            channel=Channel.SMS,
            destination="0912345678",
            status=MessageStatus.FAILED,
            attempts=5,
            next_attempt_at=at(1),
            sent_at=at(2),
            last_error="SMTP 451 4.7.1 暫時無法投遞",
            version=6,
            log_body="點此網址進行驗證 「連結已隱藏」",
        )
        assert_every_field_set(full)
        no_account = make_message(
            "msg-no-account",
            cause=MessageCause.REGISTRATION_ATTEMPT,
            account_id=None,
            facility_code=None,
        )
        self._round_trip(world, "messages", full, no_account)

    def test_staff_round_trip(self, world: Storage) -> None:
        full = make_staff(
            "staff-full",
            roles=frozenset(Role),
            active=False,
            failed_logins=3,
            locked_until=at(1),
            email=EmailAddress.parse("Mei.Chen@example.gov.tw"),
            totp=TotpFactor("JBSWY3DPEHPK3PXP" * 2, ("fake$hash-1", "fake$hash-2"), 53_000_000),
            totp_pending=TotpFactor("KRSXG5CTMVRXEZLU" * 2, ("fake$hash-3",), 1),
            reset_token_hash="d" * 64,
            reset_expires_at=at(2),
            session_version=3,
            version=4,
        )
        assert_every_field_set(full)
        agency = make_staff("staff-agency-2", facility_code=None)
        self._round_trip(world, "staff", full, agency)

    def test_audit_event_round_trip(self, storage: Storage) -> None:
        full = make_audit_event(
            1,
            outcome="failure",
            origin="203.0.113.7",
            details=(("fields", "mobile,name"), ("備註", "家屬自行更新 ✅")),
            prev_hash="f" * 64,
            key_id="2026-12",
        )
        assert_every_field_set(full)
        anonymous = make_audit_event(
            2, actor_kind="anonymous", actor_id=None, role="", target_id=None, facility_code=None
        )
        self._round_trip(storage, "audit", full, anonymous)

    # --- Unique rules -----------------------------------------------------------------

    @pytest.mark.parametrize("kind", _KINDS, ids=lambda kind: kind.name)
    def test_add_with_a_taken_key_raises_duplicate(self, world: Storage, kind: _Kind) -> None:
        stored = kind.make()
        seed(world, stored)
        with world.unit_of_work() as uow, pytest.raises(Conflict) as raised:
            _add(uow, kind, kind.same_key(stored))
        assert raised.value.code == "duplicate"
        with world.unit_of_work() as uow:
            assert _find(uow, kind, stored) == stored

    def test_accounts_are_unique_by_canonical_email(self, world: Storage) -> None:
        twin = make_account(
            "acc-twin",
            national_id=NationalId.parse("H223456788"),
            email=EmailAddress.parse("WANG.XIAOMING@example.com.tw"),
        )
        assert twin.email.canonical == make_account().email.canonical
        self._assert_duplicate(world, lambda uow: uow.accounts.add(twin))
        with world.unit_of_work() as uow:
            assert uow.accounts.get("acc-twin") is None

    def test_accounts_are_unique_by_national_id(self, world: Storage) -> None:
        twin = make_account(
            "acc-twin",
            national_id=NationalId.parse("a123456789"),
            email=EmailAddress.parse("another.wang@example.com.tw"),
        )
        self._assert_duplicate(world, lambda uow: uow.accounts.add(twin))
        with world.unit_of_work() as uow:
            assert uow.accounts.get("acc-twin") is None

    def test_staff_are_unique_by_username_ignoring_case(self, world: Storage) -> None:
        twin = make_staff("staff-twin", username="CHEN")
        self._assert_duplicate(world, lambda uow: uow.staff.add(twin))
        with world.unit_of_work() as uow:
            assert uow.staff.get("staff-twin") is None

    def test_tokens_are_unique_by_hash(self, world: Storage) -> None:
        seed(world, make_token("tok-1"))
        twin = make_token("tok-2", token_hash=make_token("tok-1").token_hash)
        self._assert_duplicate(world, lambda uow: uow.tokens.add(twin))

    def test_audit_events_are_unique_by_seq(self, storage: Storage) -> None:
        seed(storage, make_audit_event(1))
        rival = make_audit_event(1, id="audit-rival", actor_id=AGENCY_STAFF)
        self._assert_duplicate(storage, lambda uow: uow.audit.append(rival))
        with storage.unit_of_work() as uow:
            assert list(uow.audit.in_order()) == [make_audit_event(1)]

    def test_call_numbers_are_unique_among_current_inmates_of_a_facility(
        self, world: Storage
    ) -> None:
        twin = make_inmate("inm-twin", name="另一人")  # FACILITY, 0609, current
        self._assert_duplicate(world, lambda uow: uow.inmates.add(twin))
        with world.unit_of_work() as uow:
            assert uow.inmates.get("inm-twin") is None

    def test_call_numbers_are_reused_after_people_leave_and_across_facilities(
        self, world: Storage
    ) -> None:
        departed = make_inmate("inm-departed", call_number=CallNumber.parse("0700"), left_at=at(-2))
        also_departed = attrs.evolve(departed, id="inm-departed-2", left_at=at(-1))
        newcomer = make_inmate("inm-newcomer", call_number=CallNumber.parse("0700"))
        elsewhere = make_inmate(
            "inm-elsewhere", facility_code=OTHER_FACILITY, call_number=CallNumber.parse("0700")
        )
        seed(world, departed, also_departed, newcomer, elsewhere)
        with world.unit_of_work() as uow:
            assert uow.inmates.get("inm-newcomer") == newcomer

    def test_replace_that_breaks_a_unique_rule_raises_duplicate(self, world: Storage) -> None:
        departed = make_inmate("inm-departed", left_at=at(-1))  # FACILITY, 0609, left
        seed(world, departed)
        readmitted = attrs.evolve(departed, left_at=None, version=departed.version + 1)
        self._assert_duplicate(world, lambda uow: uow.inmates.replace(departed, readmitted))
        with world.unit_of_work() as uow:
            assert uow.inmates.get("inm-departed") == departed

    @staticmethod
    def _assert_duplicate(storage: Storage, action: Callable[[UnitOfWork], None]) -> None:
        with storage.unit_of_work() as uow, pytest.raises(Conflict) as raised:
            action(uow)
        assert raised.value.code == "duplicate"

    # --- Compare-and-set ----------------------------------------------------------------

    @pytest.mark.parametrize("kind", _REPLACEABLE, ids=lambda kind: kind.name)
    def test_replace_stores_the_new_state(self, world: Storage, kind: _Kind) -> None:
        assert kind.changed is not None
        stored = kind.make()
        seed(world, stored)
        with world.unit_of_work() as uow:
            getattr(uow, kind.name).replace(stored, kind.changed(stored))
            uow.commit()
        with world.unit_of_work() as uow:
            assert _find(uow, kind, stored) == kind.changed(stored)

    @pytest.mark.parametrize("kind", _REPLACEABLE, ids=lambda kind: kind.name)
    def test_replace_from_a_stale_state_raises_and_changes_nothing(
        self, world: Storage, kind: _Kind
    ) -> None:
        assert kind.changed is not None
        stored = kind.make()
        seed(world, stored)
        winner = kind.changed(stored)
        with world.unit_of_work() as uow:
            getattr(uow, kind.name).replace(stored, winner)
            uow.commit()
        with world.unit_of_work() as uow, pytest.raises(Conflict) as raised:
            getattr(uow, kind.name).replace(stored, kind.changed(stored))
        assert raised.value.code == "stale_version"
        with world.unit_of_work() as uow:
            assert _find(uow, kind, stored) == winner

    @pytest.mark.parametrize("kind", _REPLACEABLE, ids=lambda kind: kind.name)
    def test_replace_of_an_absent_entity_raises_not_found(
        self, world: Storage, kind: _Kind
    ) -> None:
        assert kind.changed is not None
        absent = kind.make()
        with world.unit_of_work() as uow, pytest.raises(NotFound):
            getattr(uow, kind.name).replace(absent, kind.changed(absent))
        with world.unit_of_work() as uow:
            assert _find(uow, kind, absent) is None

    def test_a_token_is_used_once_by_two_racing_units_of_work(self, world: Storage) -> None:
        seed(world, make_token("tok-1"))
        with world.unit_of_work() as uow:
            read_by_first = uow.tokens.by_hash(make_token("tok-1").token_hash)
        with world.unit_of_work() as uow:
            read_by_second = uow.tokens.by_hash(make_token("tok-1").token_hash)
        assert read_by_first is not None and read_by_second is not None
        with world.unit_of_work() as uow:
            uow.tokens.replace(read_by_first, attrs.evolve(read_by_first, used_at=at(1)))
            uow.commit()
        with world.unit_of_work() as uow, pytest.raises(Conflict) as raised:
            uow.tokens.replace(read_by_second, attrs.evolve(read_by_second, used_at=at(2)))
        assert raised.value.code == "stale_version"
        with world.unit_of_work() as uow:
            assert uow.tokens.by_hash(make_token("tok-1").token_hash) == make_token(
                "tok-1", used_at=at(1)
            )

    def test_a_token_is_used_once_inside_one_unit_of_work(self, world: Storage) -> None:
        token = make_token("tok-1")
        seed(world, token)
        with world.unit_of_work() as uow:
            uow.tokens.replace(token, attrs.evolve(token, used_at=at(1)))
            with pytest.raises(Conflict) as raised:
                uow.tokens.replace(token, attrs.evolve(token, used_at=at(2)))
        assert raised.value.code == "stale_version"

    # --- Lookups ------------------------------------------------------------------------

    def test_accounts_by_email_and_national_id(self, world: Storage) -> None:
        with world.unit_of_work() as uow:
            canonical = EmailAddress.parse("Wang.XiaoMing@Example.com.tw").canonical
            assert uow.accounts.by_email(canonical) == make_account()
            assert uow.accounts.by_email("nobody@example.com.tw") is None
            assert uow.accounts.by_national_id("B223456782") == _make_other_account()
            assert uow.accounts.by_national_id("H223456788") is None

    def test_token_by_hash(self, world: Storage) -> None:
        seed(world, make_token("tok-1"), make_token("tok-2"))
        with world.unit_of_work() as uow:
            assert uow.tokens.by_hash(make_token("tok-2").token_hash) == make_token("tok-2")
            assert uow.tokens.by_hash(_sha256("unknown")) is None

    def test_revoke_unused_marks_only_the_unused_tokens_of_that_account_and_purpose(
        self, world: Storage
    ) -> None:
        reset = {"purpose": TokenPurpose.RESET_PASSWORD}
        seed(
            world,
            make_token("tok-reset-1", **reset),
            make_token("tok-reset-2", **reset),
            make_token("tok-reset-used", used_at=at(1), **reset),
            make_token("tok-verify"),
            make_token("tok-reset-other", account_id=OTHER_ACCOUNT, **reset),
        )
        with world.unit_of_work() as uow:
            revoked = uow.tokens.revoke_unused(ACCOUNT, TokenPurpose.RESET_PASSWORD, at(2))
            uow.commit()
        with world.unit_of_work() as uow:

            def used_at(token_id: str) -> datetime | None:
                found = uow.tokens.by_hash(make_token(token_id).token_hash)
                assert found is not None
                return found.used_at

            assert revoked == 2
            assert used_at("tok-reset-1") == at(2)
            assert used_at("tok-reset-2") == at(2)
            assert used_at("tok-reset-used") == at(1)  # kept as it was
            assert used_at("tok-verify") is None  # another purpose
            assert used_at("tok-reset-other") is None  # another account
            assert uow.tokens.revoke_unused(ACCOUNT, TokenPurpose.RESET_PASSWORD, at(3)) == 0

    def test_staff_by_username_ignores_case_and_count(self, world: Storage) -> None:
        with world.unit_of_work() as uow:
            assert uow.staff.by_username("Chen") == make_staff()
            assert uow.staff.by_username("nobody") is None
            assert uow.staff.count() == 2

    def test_staff_count_of_an_empty_storage_is_zero(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            assert uow.staff.count() == 0
            assert list(uow.staff.list()) == []

    def test_staff_list_by_username_all_or_of_one_facility(self, world: Storage) -> None:
        with world.unit_of_work() as uow:
            uow.staff.add(make_staff("staff-Bai", name="白雅婷"))
            uow.staff.add(make_staff("staff-other", facility_code=OTHER_FACILITY))
            uow.commit()
        with world.unit_of_work() as uow:
            every = [member.id for member in uow.staff.list()]
            ours = [member.id for member in uow.staff.list(FACILITY)]
            theirs = list(uow.staff.list(OTHER_FACILITY))
        # by username without regard to case: agency, Bai, chen, other
        assert every == [AGENCY_STAFF, "staff-Bai", STAFF, "staff-other"]
        assert ours == ["staff-Bai", STAFF]
        assert theirs == [make_staff("staff-other", facility_code=OTHER_FACILITY)]

    def test_staff_list_sorts_usernames_by_code_point(self, storage: Storage) -> None:
        """Not by a locale's collation (which would put ``li_hua`` first on some servers)."""
        seed(storage, make_facility())
        names = ["lia", "li_hua", "li.hua", "li-hua", "Li0"]
        with storage.unit_of_work() as uow:
            for name in names:
                uow.staff.add(make_staff(f"staff-{name}"))
            uow.commit()
        with storage.unit_of_work() as uow:
            listed = [member.username for member in uow.staff.list()]
        assert listed == ["li-hua", "li.hua", "Li0", "li_hua", "lia"]

    def test_facilities_list_every_facility(self, world: Storage) -> None:
        with world.unit_of_work() as uow:
            listed = sorted(uow.facilities.list(), key=lambda facility: facility.code)
        assert listed == [make_facility(FACILITY), make_facility(OTHER_FACILITY)]

    def test_current_inmates_by_call_number_and_list(self, world: Storage) -> None:
        departed = make_inmate("inm-departed", call_number=CallNumber.parse("0700"), left_at=at(-1))
        current = make_inmate("inm-current", call_number=CallNumber.parse("0700"))
        seed(world, departed, current)
        with world.unit_of_work() as uow:
            assert uow.inmates.current_by_call_number(FACILITY, "0700") == current
            assert uow.inmates.current_by_call_number(OTHER_FACILITY, "0700") is None
            assert uow.inmates.current_by_call_number(OTHER_FACILITY, "0609") == make_inmate(
                OTHER_INMATE, facility_code=OTHER_FACILITY, name="李小龍"
            )
            assert uow.inmates.current_by_call_number(FACILITY, "9999") is None
            assert set(_ids(uow.inmates.list_current(FACILITY))) == {INMATE, "inm-current"}
            assert _ids(uow.inmates.list_current("F99")) == []

    def test_many_inmates_in_one_call(self, world: Storage) -> None:
        seed(world, make_inmate("inm-second", call_number=CallNumber.parse("0700")))
        with world.unit_of_work() as uow:
            found = uow.inmates.get_many([INMATE, "inm-second", "inm-missing", INMATE])
            assert set(found) == {INMATE, "inm-second"}
            assert found["inm-second"] == uow.inmates.get("inm-second")
            assert uow.inmates.get_many([]) == {}

    def test_pending_application_for_an_applicant_and_inmate(self, world: Storage) -> None:
        pending = make_application("app-pending", submitted_at=at(1))
        rejected = make_application(
            "app-rejected", status=ApplicationStatus.REJECTED, submitted_at=at(0)
        )
        seed(world, rejected, pending)
        with world.unit_of_work() as uow:
            assert uow.applications.pending_for(ACCOUNT, INMATE) == pending
            assert uow.applications.pending_for(ACCOUNT, OTHER_INMATE) is None
            assert uow.applications.pending_for(OTHER_ACCOUNT, OTHER_INMATE) is None

    def test_active_grants(self, world: Storage) -> None:
        ended = make_grant("grant-ended", ended_at=at(-1), end_reason="inmate_left")
        to_other_inmate = make_grant(
            "grant-3", inmate_id=OTHER_INMATE, facility_code=OTHER_FACILITY
        )
        seed(world, ended, to_other_inmate)
        with world.unit_of_work() as uow:
            assert uow.grants.active_for(ACCOUNT, INMATE) == make_grant(GRANT)
            assert uow.grants.active_for(OTHER_ACCOUNT, INMATE) is None
            assert set(_ids(uow.grants.active_for_account(ACCOUNT))) == {GRANT, "grant-3"}
            assert set(_ids(uow.grants.active_for_inmate(OTHER_INMATE))) == {
                OTHER_GRANT,
                "grant-3",
            }
            assert _ids(uow.grants.active_for_inmate("inm-nobody")) == []

    # --- Posts --------------------------------------------------------------------------

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
            assert set(_ids(uow.posts.pending_due(now, limit=10))) == {
                "post-overdue",
                "post-due-now",
            }
            limited = _ids(uow.posts.pending_due(now, limit=1))
        assert len(limited) == 1 and limited[0] in {"post-overdue", "post-due-now"}

    def test_pending_posts_for_an_inmate(self, world: Storage) -> None:
        seed(
            world,
            make_post("post-1"),
            make_post("post-2", submitted_at=at(1)),
            make_post("post-approved", status=PostStatus.APPROVED),
            make_post("post-other", **_OTHER_POST),
        )
        with world.unit_of_work() as uow:
            assert set(_ids(uow.posts.pending_for_inmate(INMATE))) == {"post-1", "post-2"}
            assert _ids(uow.posts.pending_for_inmate(OTHER_INMATE)) == ["post-other"]

    def test_posts_by_author_newest_first(self, world: Storage) -> None:
        rejected = {2, 4, 7}
        seed(
            world,
            *_seven(
                lambda n, when: make_post(
                    f"post-{n}",
                    submitted_at=when,
                    status=PostStatus.REJECTED if n in rejected else PostStatus.PENDING,
                )
            ),
            make_post("post-by-other", submitted_at=at(1), **_OTHER_POST),
        )
        with world.unit_of_work() as uow:
            every = walk(
                lambda after, limit: uow.posts.list_by_author(
                    ACCOUNT, status=None, after=after, limit=limit
                ),
                _submitted,
            )
            only_rejected = walk(
                lambda after, limit: uow.posts.list_by_author(
                    ACCOUNT, status=PostStatus.REJECTED, after=after, limit=limit
                ),
                _submitted,
                limit=2,
            )
        assert _ids(every) == _numbered("post", _DESCENDING)
        assert _ids(only_rejected) == ["post-7", "post-4", "post-2"]

    def test_author_rows_join_the_inmate_and_facility_newest_first(self, world: Storage) -> None:
        rejected = {2, 4, 7}
        seed(
            world,
            *_seven(
                lambda n, when: make_post(
                    f"post-{n}",
                    submitted_at=when,
                    status=PostStatus.REJECTED if n in rejected else PostStatus.PENDING,
                )
            ),
            make_post("post-by-other", submitted_at=at(1), **_OTHER_POST),
        )
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
                    ACCOUNT, status=status, after=after, limit=limit
                ),
                lambda row: (row.submitted_at, row.id),
            )

        with world.unit_of_work() as uow:
            every = author_rows(uow, None)
            only_rejected = author_rows(uow, PostStatus.REJECTED)
            post_1 = uow.posts.get("post-1")
            theirs = uow.posts.author_rows(OTHER_ACCOUNT, status=None, after=None, limit=5)
        assert post_1 is not None
        assert [row.id for row in every] == ["post-8", *_numbered("post", _DESCENDING)]
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

    def test_post_queue_oldest_first_with_filters(self, world: Storage) -> None:
        seed(
            world,
            *_seven(lambda n, when: make_post(f"post-{n}", submitted_at=when)),
            make_post("post-elsewhere", submitted_at=at(1), **_OTHER_POST),
            make_post("post-approved", status=PostStatus.APPROVED, submitted_at=at(1)),
        )
        with world.unit_of_work() as uow:
            pending_here = walk(
                lambda after, limit: uow.posts.queue(
                    facility_codes=frozenset({FACILITY}),
                    status=PostStatus.PENDING,
                    submitted_from=None,
                    submitted_to=None,
                    after=after,
                    limit=limit,
                ),
                _submitted,
            )
            everything = walk(
                lambda after, limit: uow.posts.queue(
                    facility_codes=None,
                    status=None,
                    submitted_from=None,
                    submitted_to=None,
                    after=after,
                    limit=limit,
                ),
                _submitted,
            )
            window = walk(
                lambda after, limit: uow.posts.queue(
                    facility_codes=frozenset({FACILITY, OTHER_FACILITY}),
                    status=PostStatus.PENDING,
                    submitted_from=at(1),  # inclusive
                    submitted_to=at(3),  # exclusive
                    after=after,
                    limit=limit,
                ),
                _submitted,
            )
        assert _ids(pending_here) == _numbered("post", _ASCENDING)
        assert len(everything) == 9
        assert set(_ids(everything)) == {
            *_numbered("post", _ASCENDING),
            "post-elsewhere",
            "post-approved",
        }
        assert _ids(window) == ["post-2", "post-elsewhere", "post-3", "post-4", "post-5"]

    def test_post_queue_rows_join_the_facility_and_inmate_of_each_post(
        self, world: Storage
    ) -> None:
        drawing = make_stored_file("post-2-drawing", content_type="image/png")
        seed(
            world,
            make_post("post-1", submitted_at=at(0), flagged_keywords=("越獄",)),
            make_post("post-2", submitted_at=at(1), attachments=(drawing,), **_OTHER_POST),
            make_post("post-3", submitted_at=at(2), attachments=()),
        )
        with world.unit_of_work() as uow:
            rows = uow.posts.queue_rows(
                facility_codes=None,
                status=None,
                submitted_from=None,
                submitted_to=None,
                after=None,
                limit=10,
            )
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

    def test_post_queue_rows_page_and_filter_as_the_queue_does(self, world: Storage) -> None:
        seed(
            world,
            *_seven(lambda n, when: make_post(f"post-{n}", submitted_at=when)),
            make_post("post-elsewhere", submitted_at=at(1), **_OTHER_POST),
            make_post("post-approved", status=PostStatus.APPROVED, submitted_at=at(1)),
        )

        def queue_rows(uow: UnitOfWork, **filters: Any) -> list[QueueRow]:
            return walk(
                lambda after, limit: uow.posts.queue_rows(after=after, limit=limit, **filters),
                lambda row: (row.submitted_at, row.post_id),
            )

        with world.unit_of_work() as uow:
            pending_here = queue_rows(
                uow,
                facility_codes=frozenset({FACILITY}),
                status=PostStatus.PENDING,
                submitted_from=None,
                submitted_to=None,
            )
            window = queue_rows(
                uow,
                facility_codes=frozenset({FACILITY, OTHER_FACILITY}),
                status=PostStatus.PENDING,
                submitted_from=at(1),  # inclusive
                submitted_to=at(3),  # exclusive
            )
            nowhere = uow.posts.queue_rows(
                facility_codes=frozenset(),
                status=None,
                submitted_from=None,
                submitted_to=None,
                after=None,
                limit=10,
            )
            # A cursor before the range start must not let earlier rows in.
            from_cursor_before_start = uow.posts.queue_rows(
                facility_codes=None,
                status=PostStatus.PENDING,
                submitted_from=at(2),
                submitted_to=None,
                after=(at(0), "post-1"),
                limit=10,
            )
        assert [row.post_id for row in pending_here] == _numbered("post", _ASCENDING)
        assert [row.post_id for row in window] == [
            "post-2",
            "post-elsewhere",
            "post-3",
            "post-4",
            "post-5",
        ]
        assert nowhere == []
        assert [row.post_id for row in from_cursor_before_start] == _numbered("post", range(3, 8))

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
            *_seven(approved),
            make_post(
                "post-delivered",
                status=PostStatus.APPROVED,
                decided_at=at(1),
                delivered_at=at(2),
                delivered_by=STAFF,
            ),
            make_post("post-pending"),
            make_post(
                "post-elsewhere", status=PostStatus.APPROVED, decided_at=at(1), **_OTHER_POST
            ),
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
        assert _ids(here) == _numbered("post", _ASCENDING)
        assert _ids(everywhere) == [
            "post-1",
            "post-2",
            "post-elsewhere",
            *_numbered("post", range(3, 8)),
        ]

    # --- Applications -------------------------------------------------------------------

    def test_applications_by_applicant_newest_first(self, world: Storage) -> None:
        seed(
            world,
            *_seven(lambda n, when: make_application(f"app-{n}", submitted_at=when)),
            make_application(
                "app-by-other",
                applicant_id=OTHER_ACCOUNT,
                inmate_id=OTHER_INMATE,
                facility_code=OTHER_FACILITY,
                submitted_at=at(1),
            ),
        )
        with world.unit_of_work() as uow:
            mine = walk(
                lambda after, limit: uow.applications.list_by_applicant(
                    ACCOUNT, after=after, limit=limit
                ),
                _submitted,
                limit=4,
            )
        # APPLICATION (approved, submitted a month earlier) is ACCOUNT's too.
        assert _ids(mine) == [*_numbered("app", _DESCENDING), APPLICATION]

    def test_application_queue_oldest_first_with_filters(self, world: Storage) -> None:
        seed(
            world,
            *_seven(lambda n, when: make_application(f"app-{n}", submitted_at=when)),
            make_application(
                "app-elsewhere",
                applicant_id=OTHER_ACCOUNT,
                inmate_id=OTHER_INMATE,
                facility_code=OTHER_FACILITY,
                submitted_at=at(1),
            ),
        )
        with world.unit_of_work() as uow:
            pending_here = walk(
                lambda after, limit: uow.applications.queue(
                    facility_codes=frozenset({FACILITY}),
                    status=ApplicationStatus.PENDING,
                    after=after,
                    limit=limit,
                ),
                _submitted,
            )
            everything = walk(
                lambda after, limit: uow.applications.queue(
                    facility_codes=None, status=None, after=after, limit=limit
                ),
                _submitted,
            )
            approved = walk(
                lambda after, limit: uow.applications.queue(
                    facility_codes=None,
                    status=ApplicationStatus.APPROVED,
                    after=after,
                    limit=limit,
                ),
                _submitted,
            )
        assert _ids(pending_here) == _numbered("app", _ASCENDING)
        assert _ids(everything) == [
            OTHER_APPLICATION,  # "app-lee" and "app-wang" were submitted at the same time
            APPLICATION,
            "app-1",
            "app-2",
            "app-elsewhere",
            *_numbered("app", range(3, 8)),
        ]
        assert _ids(approved) == [OTHER_APPLICATION, APPLICATION]

    # --- Notices ------------------------------------------------------------------------

    def test_admin_notice_list_newest_first_by_publisher(self, world: Storage) -> None:
        seed(
            world,
            *_seven(lambda n, when: make_notice(f"notice-{n}", published_at=when)),
            make_notice("notice-deleted", published_at=at(1), deleted_at=at(4)),
            make_notice(
                "notice-elsewhere",
                publisher_facility=OTHER_FACILITY,
                publisher_name="南區示範看守所",
                audience=Audience.facility(OTHER_FACILITY),
                published_at=at(1),
            ),
            make_notice(
                "notice-agency",
                publisher_facility=None,
                publisher_name="法務部矯正署",
                author_id=AGENCY_STAFF,
                audience=Audience.everyone(),
                published_at=at(1),
            ),
        )
        with world.unit_of_work() as uow:
            here = walk(
                lambda after, limit: uow.notices.list_admin(
                    facility_codes=frozenset({FACILITY}),
                    published_from=None,
                    published_to=None,
                    after=after,
                    limit=limit,
                ),
                _published,
            )
            everything = walk(
                lambda after, limit: uow.notices.list_admin(
                    facility_codes=None,
                    published_from=None,
                    published_to=None,
                    after=after,
                    limit=limit,
                ),
                _published,
            )
            window = walk(
                lambda after, limit: uow.notices.list_admin(
                    facility_codes=frozenset({FACILITY}),
                    published_from=at(0.5),
                    published_to=at(2.5),
                    after=after,
                    limit=limit,
                ),
                _published,
            )
        assert _ids(here) == _numbered("notice", _DESCENDING)
        assert _ids(everything) == [
            *_numbered("notice", range(7, 2, -1)),
            "notice-elsewhere",
            "notice-agency",
            "notice-2",
            "notice-1",
        ]
        assert _ids(window) == _numbered("notice", range(5, 1, -1))

    def test_family_notice_list_by_audience_newest_first(self, world: Storage) -> None:
        audiences = {
            1: Audience.everyone(),
            2: Audience.facility(FACILITY),
            3: Audience.inmate(FACILITY, INMATE),
        }

        def readable(n: int, when: datetime) -> AgencyNotice:
            return make_notice(f"notice-{n}", audience=audiences[n % 3 + 1], published_at=when)

        seed(
            world,
            *_seven(readable),
            make_notice("notice-deleted", audience=Audience.everyone(), deleted_at=at(4)),
            make_notice(
                "notice-other-facility",
                publisher_facility=OTHER_FACILITY,
                publisher_name="南區示範看守所",
                audience=Audience.facility(OTHER_FACILITY),
            ),
            make_notice(
                "notice-other-inmate",
                publisher_facility=OTHER_FACILITY,
                publisher_name="南區示範看守所",
                audience=Audience.inmate(OTHER_FACILITY, OTHER_INMATE),
            ),
        )
        with world.unit_of_work() as uow:
            mine = walk(
                lambda after, limit: uow.notices.list_for_family(
                    facility_codes=frozenset({FACILITY}),
                    inmate_ids=frozenset({INMATE}),
                    month=None,
                    after=after,
                    limit=limit,
                ),
                _published,
            )
            others = uow.notices.list_for_family(
                facility_codes=frozenset({OTHER_FACILITY}),
                inmate_ids=frozenset({OTHER_INMATE}),
                month=None,
                after=None,
                limit=50,
            )
            nobody = uow.notices.list_for_family(
                facility_codes=frozenset(), inmate_ids=frozenset(), month=None, after=None, limit=50
            )
        assert _ids(mine) == _numbered("notice", _DESCENDING)
        assert set(_ids(others)) == {
            "notice-other-facility",
            "notice-other-inmate",
            *(f"notice-{n}" for n in _ASCENDING if n % 3 + 1 == 1),  # to everyone
        }
        assert set(_ids(nobody)) == {f"notice-{n}" for n in _ASCENDING if n % 3 + 1 == 1}

    def test_family_notices_by_month_in_taiwan_time(self, world: Storage) -> None:
        last_minute_of_march = datetime(2024, 3, 31, 15, 59, tzinfo=UTC)  # 23:59 in Taipei
        first_minute_of_april = datetime(2024, 3, 31, 16, 0, tzinfo=UTC)  # 00:00 in Taipei
        seed(
            world,
            make_notice("notice-january", published_at=datetime(2024, 1, 10, 2, tzinfo=UTC)),
            make_notice("notice-march", published_at=last_minute_of_march),
            make_notice("notice-march-2", published_at=datetime(2024, 3, 1, 2, tzinfo=UTC)),
            make_notice("notice-april", published_at=first_minute_of_april),
            make_notice(
                "notice-deleted-may",
                published_at=datetime(2024, 5, 2, tzinfo=UTC),
                deleted_at=datetime(2024, 5, 3, tzinfo=UTC),
            ),
            make_notice(
                "notice-february-elsewhere",
                publisher_facility=OTHER_FACILITY,
                audience=Audience.facility(OTHER_FACILITY),
                published_at=datetime(2024, 2, 10, tzinfo=UTC),
            ),
        )
        facilities, inmates = frozenset({FACILITY}), frozenset({INMATE})
        with world.unit_of_work() as uow:

            def in_month(month: str) -> list[str]:
                return _ids(
                    uow.notices.list_for_family(
                        facility_codes=facilities,
                        inmate_ids=inmates,
                        month=month,
                        after=None,
                        limit=50,
                    )
                )

            months = uow.notices.months_for_family(facility_codes=facilities, inmate_ids=inmates)
            march, april, may = in_month("2024-03"), in_month("2024-04"), in_month("2024-05")
        assert list(months) == ["2024-04", "2024-03", "2024-01"]
        assert march == ["notice-march", "notice-march-2"]
        assert april == ["notice-april"]
        assert may == []

    def test_family_cards_show_the_notices_of_the_family_list(self, world: Storage) -> None:
        """The cards are the same notices as :meth:`list_for_family`, page by page, with
        each card's fields read from its notice."""
        photo = make_stored_file("notice-3-photo", content_type="image/png")
        seed(
            world,
            *_seven(
                lambda n, when: make_notice(
                    f"notice-{n}",
                    audience=(Audience.everyone(), Audience.facility(FACILITY))[n % 2],
                    published_at=when,
                    attachments=(photo,) if n == 3 else (),
                )
            ),
            make_notice("notice-april", published_at=datetime(2024, 3, 31, 16, 0, tzinfo=UTC)),
            make_notice("notice-deleted", deleted_at=at(4)),
            make_notice(
                "notice-other-inmate",
                publisher_facility=OTHER_FACILITY,
                publisher_name="南區示範看守所",
                audience=Audience.inmate(OTHER_FACILITY, OTHER_INMATE),
            ),
        )
        scopes = [
            (frozenset({FACILITY}), frozenset({INMATE}), None),
            (frozenset({FACILITY}), frozenset({INMATE}), "2024-03"),
            (frozenset({FACILITY, OTHER_FACILITY}), frozenset({INMATE, OTHER_INMATE}), None),
            (frozenset(), frozenset(), None),
        ]
        with world.unit_of_work() as uow:
            for facilities, inmates, month in scopes:
                cards = walk(
                    functools.partial(
                        _family_cards, uow, facilities=facilities, inmates=inmates, month=month
                    ),
                    lambda card: (card.published_at, card.id),
                )
                notices = uow.notices.list_for_family(
                    facility_codes=facilities,
                    inmate_ids=inmates,
                    month=month,
                    after=None,
                    limit=50,
                )
                assert cards == [
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
                ], (facilities, inmates, month)
            march = uow.notices.family_cards(
                facility_codes=frozenset({FACILITY}),
                inmate_ids=frozenset(),
                month="2024-03",
                after=None,
                limit=50,
            )
        assert [card.id for card in march] == _numbered("notice", _DESCENDING)
        assert [card.attachments for card in march if card.id == "notice-3"] == [(photo,)]
        assert {card.published_month for card in march} == {"2024-03"}

    # --- Messages -----------------------------------------------------------------------

    def test_claim_due_messages_oldest_first(self, world: Storage) -> None:
        now = at(0)
        seed(
            world,
            make_message("msg-new", created_at=at(-3)),
            make_message("msg-retry-now", created_at=at(-5), attempts=1, next_attempt_at=now),
            make_message("msg-retry-later", created_at=at(-6), attempts=1, next_attempt_at=at(1)),
            make_message("msg-newest", created_at=at(-1)),
            make_message("msg-sent", created_at=at(-9), status=MessageStatus.SENT, sent_at=at(-8)),
            make_message("msg-failed", created_at=at(-9), status=MessageStatus.FAILED, attempts=5),
        )
        with world.unit_of_work() as uow:
            due = uow.messages.claim_due(now, limit=10)
        with world.unit_of_work() as uow:
            first_two = uow.messages.claim_due(now, limit=2)
        assert _ids(due) == ["msg-retry-now", "msg-new", "msg-newest"]
        assert _ids(first_two) == ["msg-retry-now", "msg-new"]

    def test_lease_writes_every_claimed_message_at_once(self, world: Storage) -> None:
        now = at(0)
        seed(
            world,
            make_message("msg-a", created_at=at(-3)),
            make_message("msg-b", created_at=at(-2), attempts=1, next_attempt_at=at(-1)),
            make_message("msg-c", created_at=at(-1)),
        )
        until = now + timedelta(minutes=5)
        with world.unit_of_work() as uow:
            due = uow.messages.claim_due(now, limit=2)
            uow.messages.lease(due, until)
            uow.commit()
        with world.unit_of_work() as uow:
            stored = uow.messages.get_many(["msg-a", "msg-b", "msg-c", "msg-missing"])
            again = uow.messages.claim_due(now, limit=10)
        assert sorted(stored) == ["msg-a", "msg-b", "msg-c"]
        assert [stored[m.id] for m in due] == [m.leased(until) for m in due]
        assert stored["msg-c"].version == 1
        assert _ids(again) == ["msg-c"]

    def test_lease_writes_nothing_when_one_message_changed(self, world: Storage) -> None:
        seed(world, make_message("msg-a", created_at=at(-2)), make_message("msg-b"))
        with world.unit_of_work() as uow:
            due = uow.messages.claim_due(at(0), limit=10)
        with world.unit_of_work() as uow:
            current = uow.messages.get("msg-b")
            assert current is not None
            uow.messages.replace(current, attrs.evolve(current, version=current.version + 1))
            uow.commit()
        with world.unit_of_work() as uow, pytest.raises(Conflict):
            uow.messages.lease(due, at(5))
        with world.unit_of_work() as uow:
            stored = uow.messages.get_many(["msg-a", "msg-b"])
        assert stored["msg-a"] == due[0]
        assert stored["msg-a"].next_attempt_at is None
        assert stored["msg-b"].version == 2

    def test_message_log_of_an_account_lists_sent_ones_newest_first(self, world: Storage) -> None:
        def sent(n: int, when: datetime) -> Message:
            # created in the opposite order, so sorting by the wrong time shows
            return make_message(
                f"msg-{n}", created_at=at(-n), status=MessageStatus.SENT, sent_at=when, attempts=1
            )

        seed(
            world,
            *_seven(sent),
            make_message("msg-pending"),
            # the status decides, not whether sent_at is set
            make_message("msg-failed", status=MessageStatus.FAILED, attempts=5, sent_at=at(2)),
            make_message(
                "msg-to-other",
                account_id=OTHER_ACCOUNT,
                status=MessageStatus.SENT,
                sent_at=at(1),
            ),
        )
        with world.unit_of_work() as uow:
            log = walk(
                lambda after, limit: uow.messages.log_for(ACCOUNT, after=after, limit=limit),
                _sent,
            )
        assert _ids(log) == _numbered("msg", _DESCENDING)

    def test_messages_of_a_facility_newest_first(self, world: Storage) -> None:
        seed(
            world,
            *_seven(lambda n, when: make_message(f"msg-{n}", created_at=when)),
            make_message("msg-elsewhere", facility_code=OTHER_FACILITY, created_at=at(1)),
            make_message("msg-no-facility", facility_code=None, account_id=None, created_at=at(1)),
        )
        with world.unit_of_work() as uow:
            here = walk(
                lambda after, limit: uow.messages.list_for_facility(
                    FACILITY, after=after, limit=limit
                ),
                _created,
            )
            everywhere = walk(
                lambda after, limit: uow.messages.list_for_facility(None, after=after, limit=limit),
                _created,
            )
        assert _ids(here) == _numbered("msg", _DESCENDING)
        assert _ids(everywhere) == [
            *_numbered("msg", range(7, 2, -1)),
            "msg-no-facility",
            "msg-elsewhere",
            "msg-2",
            "msg-1",
        ]

    # --- Audit --------------------------------------------------------------------------

    def test_audit_last_and_in_order_follow_seq(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            assert uow.audit.last() is None
            assert list(uow.audit.in_order()) == []
        # `at` runs backwards, so ordering by time instead of seq shows
        events = {seq: make_audit_event(seq, at=at(10 - seq)) for seq in (1, 2, 3)}
        seed(storage, events[2], events[3], events[1])
        with storage.unit_of_work() as uow:
            assert uow.audit.last() == events[3]
            assert list(uow.audit.in_order()) == [events[1], events[2], events[3]]

    def test_audit_last_link_is_the_newest_seq_and_hash(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            assert uow.audit.last_link() is None
        events = {seq: make_audit_event(seq, at=at(10 - seq)) for seq in (1, 2, 3)}
        seed(storage, events[2], events[3], events[1])
        with storage.unit_of_work() as uow:
            assert uow.audit.last_link() == (3, events[3].hash)
            following = make_audit_event(4, prev_hash=events[3].hash)
            uow.audit.append(following)
            assert uow.audit.last_link() == (4, following.hash)
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.audit.last() == following
            assert uow.audit.head() == (4, following.hash)

    def test_audit_search_newest_first_with_filters(self, storage: Storage) -> None:
        def event(n: int, when: datetime) -> AuditEvent:
            return make_audit_event(n, at=when)

        seed(
            storage,
            *_seven(event),
            make_audit_event(8, id="audit-by-other", actor_id=AGENCY_STAFF, at=at(1)),
            make_audit_event(9, id="audit-on-other", target_id="post-2", at=at(1)),
        )
        with storage.unit_of_work() as uow:

            def search(
                actor_id: str | None,
                target_id: str | None,
                since: datetime | None = None,
                until: datetime | None = None,
            ) -> list[AuditEvent]:
                return walk(
                    lambda after, limit: uow.audit.search(
                        actor_id=actor_id,
                        target_id=target_id,
                        since=since,
                        until=until,
                        after=after,
                        limit=limit,
                    ),
                    _happened,
                )

            by_actor_on_target = search(STAFF, "post-1")
            by_other_actor = search(AGENCY_STAFF, None)
            on_other_target = search(None, "post-2")
            everything = search(None, None)
            window = search(STAFF, "post-1", since=at(0.5), until=at(2.5))
        assert _ids(by_actor_on_target) == _numbered("audit", _DESCENDING)
        assert _ids(by_other_actor) == ["audit-by-other"]
        assert _ids(on_other_target) == ["audit-on-other"]
        assert _ids(everything) == [
            *_numbered("audit", range(7, 2, -1)),
            "audit-on-other",
            "audit-by-other",
            "audit-2",
            "audit-1",
        ]
        assert _ids(window) == _numbered("audit", range(5, 1, -1))

    # --- Stored files ---------------------------------------------------------------------

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

    # --- Retention and erasure of personal data ---------------------------------------------

    def _seed_wang_belongings(self, world: Storage) -> None:
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
            make_post("post-lee", **_OTHER_POST),
            make_audit_event(1, target_kind="account", target_id=ACCOUNT),
        )

    def test_removing_an_account_removes_its_own_rows_and_nothing_else(
        self, world: Storage
    ) -> None:
        self._seed_wang_belongings(world)
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
        self._seed_wang_belongings(world)
        stale = make_account()
        with world.unit_of_work() as uow:
            uow.accounts.replace(stale, stale.changed(name="王曉明"))
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
                return _ids(uow.posts.ended_before(status, before, limit=limit))

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

    def test_messages_of_an_account_whatever_their_status_newest_first(
        self, world: Storage
    ) -> None:
        statuses = [MessageStatus.PENDING, MessageStatus.SENT, MessageStatus.FAILED]

        def message(n: int, when: datetime) -> Message:
            return make_message(f"msg-{n}", created_at=when, status=statuses[n % 3])

        seed(
            world,
            *_seven(message),
            make_message("msg-lee", account_id=OTHER_ACCOUNT, facility_code=OTHER_FACILITY),
        )
        with world.unit_of_work() as uow:
            listed = walk(
                lambda after, limit: uow.messages.list_by_account(
                    ACCOUNT, after=after, limit=limit
                ),
                lambda m: (m.created_at, m.id),
            )
        assert _ids(listed) == _numbered("msg", _DESCENDING)

    def test_finished_messages_before_a_time_oldest_first(self, world: Storage) -> None:
        seed(
            world,
            make_message("sent-late", status=MessageStatus.SENT, created_at=at(5)),
            make_message("failed", status=MessageStatus.FAILED, created_at=at(2)),
            make_message("sent", status=MessageStatus.SENT, created_at=at(1)),
            make_message("pending", created_at=at(0)),
        )
        with world.unit_of_work() as uow:
            assert _ids(uow.messages.finished_before(at(5), limit=10)) == ["sent", "failed"]
            assert _ids(uow.messages.finished_before(at(5), limit=1)) == ["sent"]
            assert _ids(uow.messages.finished_before(at(1), limit=10)) == []

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

    def test_audit_search_by_action(self, storage: Storage) -> None:
        seed(
            storage,
            make_audit_event(1),
            make_audit_event(2, action="authorization.denied", outcome="failure"),
            make_audit_event(3, action="authorization.denied", outcome="failure"),
        )
        with storage.unit_of_work() as uow:
            denied = uow.audit.search(
                actor_id=None,
                target_id=None,
                since=None,
                until=None,
                after=None,
                limit=10,
                action="authorization.denied",
            )
            approvals = uow.audit.search(
                actor_id=STAFF,
                target_id=None,
                since=None,
                until=None,
                after=None,
                limit=10,
                action="post.approve",
            )
        assert _ids(denied) == ["audit-3", "audit-2"]
        assert _ids(approvals) == ["audit-1"]

    def test_audit_head_names_the_newest_event(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            assert uow.audit.head() is None
        first = make_audit_event(1)
        second = make_audit_event(2, prev_hash=first.hash)
        seed(storage, first, second)
        with storage.unit_of_work() as uow:
            assert uow.audit.head() == (2, second.hash)

    def test_erased_accounts_round_trip_and_never_clash(self, world: Storage) -> None:
        erased = [
            make_account(
                f"acc-erased-{n}",
                name="王○○",
                national_id=NationalId.erased(f"{n:015x}"),
                email=EmailAddress.parse(f"erased-{n}@erased.example"),
                status=AccountStatus.CLOSED,
            )
            for n in (1, 2)
        ]
        seed(world, *erased)
        with world.unit_of_work() as uow:
            assert [uow.accounts.get(a.id) for a in erased] == erased
            assert uow.accounts.by_national_id(erased[0].national_id.value) == erased[0]
