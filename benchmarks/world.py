"""A synthetic, fictional world, bulk-loaded through the SQL adapter's own row mappers.

Every row is built the way the adapter builds it: a domain entity (so its own
validation runs) turned into column values by the adapter's ``RowMapper``
(``contactbook.adapters.storage.sqlalchemy.converter``), then inserted with a
Core ``insert()`` executemany into the adapter's ``tables``. What the library
reads back is therefore exactly what it would have written.

Shape at scale ``N`` (posts):

* 50 facilities with a harmonic skew (the busiest holds ~22 % of everything, the
  top three ~40 %); facility #2 takes documents (``DOCUMENTS_PROFILE``), the last
  five are juvenile;
* ``N × 6 %`` inmates (≥ 200; 1 % restricted), ``N / 4`` families (≥ 500), one
  or two grants each (each with its approved application);
* ``N`` posts over five years (85 % approved, 10 % pending, 3 % rejected, 1 %
  withdrawn, 1 % expired; 30 % with a photo), authors Pareto-skewed, loaded in
  stages so the queue can be timed as the table grows;
* ``N / 20`` notices (10 % to everyone, 80 % to a facility, 10 % to one inmate)
  and ``N / 4`` sent messages.

Names, addresses and numbers are made up (``example.com`` mail, generated
national IDs with valid check digits); nothing here describes a real person.
"""

from __future__ import annotations

import itertools
import random
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Table
from sqlalchemy.engine import Engine

from contactbook import DOCUMENTS_PROFILE, FacilityPolicy
from contactbook.adapters.storage.sqlalchemy import converter as mappers
from contactbook.adapters.storage.sqlalchemy import tables
from contactbook.domain.account import AccountStatus, Consent, FamilyMember
from contactbook.domain.application import ApplicationStatus, Grant, ServiceApplication
from contactbook.domain.facility import Facility, Restriction
from contactbook.domain.files import StoredFile
from contactbook.domain.identifiers import CallNumber, EmailAddress, MobileNumber, NationalId
from contactbook.domain.inmate import Inmate
from contactbook.domain.message import Channel, Message, MessageCause, MessageStatus
from contactbook.domain.notice import AgencyNotice, Audience, NoticeKind
from contactbook.domain.post import FamilyPost, PostRejectionReason, PostStatus
from contactbook.domain.relationship import Relationship, Service
from contactbook.domain.staff import Role, StaffMember
from contactbook.domain.time import in_taipei

__all__ = ["FACILITIES", "Facts", "World", "stages_for"]

E = TypeVar("E")

FACILITIES = 50
SEED = 20201007
START = datetime(2020, 7, 1, tzinfo=UTC)
END = datetime(2025, 7, 1, tzinfo=UTC)
NOW = END + timedelta(days=40)
"""The benchmark's clock: after every generated post by more than the 30-day interval."""
GRANTS_FROM = START + timedelta(days=180)
CHUNK = 20_000
DOCUMENTS_FACILITY_INDEX = 1
JUVENILE_FROM_INDEX = FACILITIES - 5
PASSWORD_HASH = "fake$00$" + "0" * 64  # FastPasswordHasher shape; nobody signs in

_SURNAMES = "陳林黃張李王吳劉蔡楊許鄭謝洪郭邱曾廖賴徐周葉蘇莊呂江何蕭羅高"
_GIVEN = "志明春嬌淑芬家豪雅婷俊傑怡君建宏美玲冠宇佳穎宗翰欣怡承恩子涵柏翰詩涵"
_TITLES = (
    "孩子的近況",
    "給爸爸的話",
    "家裡一切平安",
    "期末考成績",
    "生日快樂",
    "阿嬤身體很好",
    "新學期開始了",
    "我們都很想你",
    "畢業典禮",
    "暑假計畫",
)
_BODY_PARTS = (
    "今天小明去上學，老師說他很乖。",
    "家裡的狗狗長大了。",
    "媽媽找到新的工作，一切順利。",
    "弟弟學會騎腳踏車了。",
    "我們下個月會去看你。",
    "請你好好照顧身體。",
    "阿公阿嬤都很想念你。",
    "妹妹的作文得到第一名。",
    "過年的時候我們一起包水餃。",
    "學校的運動會我跑了第二名。",
)
_NOTICE_TITLES = ("接見時間調整", "防疫措施公告", "懇親活動報名", "寄送物品須知", "年節加菜說明")
_LETTER_VALUES = {
    "A": 10, "B": 11, "C": 12, "D": 13, "E": 14, "F": 15, "G": 16, "H": 17,
    "J": 18, "K": 19, "L": 20, "M": 21, "N": 22, "P": 23, "Q": 24, "R": 25,
    "S": 26, "T": 27, "U": 28, "V": 29, "X": 30, "Y": 31, "W": 32, "Z": 33,
}  # fmt: skip
_STATUS_WEIGHTS = (
    (PostStatus.APPROVED, 85),
    (PostStatus.PENDING, 10),
    (PostStatus.REJECTED, 3),
    (PostStatus.WITHDRAWN, 1),
    (PostStatus.EXPIRED, 1),
)


def stages_for(scale: int) -> list[int]:
    """Post counts at which the queue is timed while loading: N/100, N/10, N (≥ 500 each)."""
    return sorted({min(scale, max(500, step)) for step in (scale // 100, scale // 10, scale)})


def national_id(serial: int) -> str:
    """A well-formed, fictional national ID (valid check digit) for ``serial``."""
    letters = sorted(_LETTER_VALUES)
    letter = letters[serial % len(letters)]
    body = f"{1 + (serial // len(letters)) % 2}{(serial // (2 * len(letters))) % 10**7:07d}"
    value = _LETTER_VALUES[letter]
    digits = [value // 10, value % 10, *(int(c) for c in body)]
    weights = (1, 9, 8, 7, 6, 5, 4, 3, 2, 1)
    check = (10 - sum(w * d for w, d in zip(weights, digits, strict=True)) % 10) % 10
    return f"{letter}{body}{check}"


@dataclass
class GrantRef:
    """What the benchmarks need to act through one grant."""

    grant_id: str
    account_id: str
    inmate_id: str
    facility_code: str


@dataclass
class Facts:
    """What the generator made, for choosing realistic arguments later."""

    scale: int
    facility_codes: list[str]
    busiest: str
    documents_facility: str
    staff_by_facility: dict[str, str]
    agency_staff: str
    grants: list[GrantRef]
    restricted_inmates: set[str]
    counts: Counter[str] = field(default_factory=Counter)
    posts_by_author: Counter[str] = field(default_factory=Counter)
    load_seconds: dict[str, float] = field(default_factory=dict)
    _order: list[GrantRef] = field(default_factory=list)
    _used: set[str] = field(default_factory=set)

    @property
    def start(self) -> datetime:
        return START

    @property
    def end(self) -> datetime:
        return END

    @property
    def now(self) -> datetime:
        return NOW

    def busiest_author(self) -> str:
        return self.posts_by_author.most_common(1)[0][0]

    def take(self, facility_code: str | None = None) -> GrantRef:
        """An unused grant (its family never handed out before) to an unrestricted inmate,
        optionally of one facility, in a fixed shuffle: a fresh family may post at once."""
        if not self._order:
            self._order = list(self.grants)
            random.Random(SEED + 1).shuffle(self._order)
        for index, ref in enumerate(self._order):
            if ref.account_id in self._used or ref.inmate_id in self.restricted_inmates:
                continue
            if facility_code is not None and ref.facility_code != facility_code:
                continue
            self._used.add(ref.account_id)
            del self._order[index]
            return ref
        raise LookupError(f"no unused grant left in {facility_code or 'any facility'}")

    def free_grants(self, facility_code: str | None = None) -> Iterator[GrantRef]:
        """:meth:`take` as an endless iterator."""
        while True:
            yield self.take(facility_code)


class World:
    """Generates the world deterministically (seeded) and bulk-loads it into ``engine``."""

    def __init__(self, engine: Engine, scale: int, *, log: Callable[[str], None] = print) -> None:
        self.engine = engine
        self.scale = scale
        self.rng = random.Random(SEED)
        self.log = log
        self._ids = random.Random(SEED + 7)
        self._posts_loaded = 0
        self._grant_weights: list[float] = []
        self._facility_weights = [1 / (index + 1) for index in range(FACILITIES)]
        self._facilities: list[Facility] = []
        self._inmates: list[Inmate] = []
        self._staff: dict[str | None, StaffMember] = {}
        self._grants: list[Grant] = []
        self._inmate_by_id: dict[str, Inmate] = {}
        self._account_ids: list[str] = []
        self._bodies = [
            "".join(self.rng.sample(_BODY_PARTS, k=1 + self.rng.randrange(4)))[:100]
            for _ in range(500)
        ]
        self.facts: Facts | None = None

    # -- helpers ------------------------------------------------------------------

    def new_id(self) -> str:
        return f"{self._ids.getrandbits(128):032x}"

    def _name(self) -> str:
        return self.rng.choice(_SURNAMES) + "".join(self.rng.choices(_GIVEN, k=2))

    def _moment(self, start: datetime, end: datetime) -> datetime:
        span = (end - start).total_seconds()
        return start + timedelta(seconds=int(self.rng.random() * span))

    def _insert(self, table: Table, rows: Iterable[dict[str, Any]]) -> int:
        """Core ``insert()`` executemany in chunks, one transaction per chunk.

        The statement is the Core ``insert()`` compiled for the engine's dialect and
        every value goes through its column type's own bind processor for that
        dialect (the adapter's ``UtcDateTime`` and ``JsonText`` included), exactly
        as SQLAlchemy would process it; only SQLAlchemy's per-row parameter
        bookkeeping is skipped (``exec_driver_sql`` executemany), which otherwise
        costs more than the database does.
        """
        dialect = self.engine.dialect
        compiled = table.insert().compile(dialect=dialect)
        statement = str(compiled)
        processors = {
            column.name: column.type.dialect_impl(dialect).bind_processor(dialect)
            for column in table.columns
        }
        positional = compiled.positiontup

        def process(row: dict[str, Any]) -> Any:
            values = {}
            for name, processor in processors.items():
                value = row[name]
                values[name] = processor(value) if processor and value is not None else value
            return tuple(values[name] for name in positional) if positional else values

        count = 0
        with self.engine.connect() as connection:
            for chunk in _chunks(rows, CHUNK):
                connection.exec_driver_sql(statement, [process(row) for row in chunk])
                connection.commit()
                count += len(chunk)
        return count

    def _load(self, label: str, table: Table, rows: Iterable[dict[str, Any]]) -> None:
        began = time.perf_counter()
        count = self._insert(table, rows)
        self.checkpoint()
        elapsed = time.perf_counter() - began
        assert self.facts is not None
        self.facts.counts[label] += count
        self.facts.load_seconds[label] = self.facts.load_seconds.get(label, 0.0) + elapsed
        self.log(f"  loaded {count:>9,} {label:<13} in {elapsed:6.1f} s")

    # -- the fixed part -----------------------------------------------------------

    def load_people(self) -> Facts:
        """Facilities, staff, inmates, families, applications and grants."""
        self._make_facilities()
        self._make_staff()
        codes = [f.code for f in self._facilities]
        self.facts = Facts(
            scale=self.scale,
            facility_codes=codes,
            busiest=codes[0],
            documents_facility=codes[DOCUMENTS_FACILITY_INDEX],
            staff_by_facility={code: self._staff[code].id for code in codes},
            agency_staff=self._staff[None].id,
            grants=[],
            restricted_inmates=set(),
        )
        self._load(
            "facilities", tables.facilities, map(mappers.FACILITIES.to_row, self._facilities)
        )
        self._load("staff", tables.staff, map(mappers.STAFF.to_row, self._staff.values()))
        self._make_inmates()
        self._load("inmates", tables.inmates, map(mappers.INMATES.to_row, self._inmates))
        accounts = max(500, self.scale // 4)
        self._load("accounts", tables.accounts, (self._account(i) for i in range(accounts)))
        applications, grants = self._make_grants(accounts)
        self._load("applications", tables.applications, applications)
        self._load("grants", tables.grants, map(mappers.GRANTS.to_row, grants))
        self._grants = grants
        self.facts.grants = [
            GrantRef(g.id, g.account_id, g.inmate_id, g.facility_code) for g in grants
        ]
        self.facts.restricted_inmates = {i.id for i in self._inmates if i.restrictions}
        # Pareto-skewed activity: a few families write every week, most rarely.
        weights = [min(self.rng.paretovariate(1.3), 60.0) for _ in grants]
        self._grant_weights = list(itertools.accumulate(weights))
        return self.facts

    def _make_facilities(self) -> None:
        for index in range(FACILITIES):
            policy = FacilityPolicy()
            if index == DOCUMENTS_FACILITY_INDEX:
                policy = FacilityPolicy(attachment_profile=DOCUMENTS_PROFILE)
            self._facilities.append(
                Facility(
                    code=f"BX{index + 1:02d}",
                    name=f"虛構第{index + 1:02d}矯正機關",
                    is_juvenile=index >= JUVENILE_FROM_INDEX,
                    policy=policy,
                )
            )

    def _make_staff(self) -> None:
        roles = frozenset({Role.REVIEWER, Role.PUBLISHER, Role.ADMIN})
        for facility in [None, *self._facilities]:
            code = facility.code if facility else None
            self._staff[code] = StaffMember(
                id=self.new_id(),
                username=f"bench-{code.lower() if code else 'agency'}",
                name=self._name(),
                facility_code=code,
                roles=roles,
                password_hash=PASSWORD_HASH,
                created_at=START,
            )

    def _make_inmates(self) -> None:
        count = max(200, self.scale * 6 // 100)
        per_facility: Counter[str] = Counter()
        codes = [f.code for f in self._facilities]
        chosen = self.rng.choices(codes, weights=self._facility_weights, k=count)
        for code in chosen:
            per_facility[code] += 1
            juvenile = codes.index(code) >= JUVENILE_FROM_INDEX
            restricted = self.rng.random() < 0.01
            inmate = Inmate(
                id=self.new_id(),
                facility_code=code,
                call_number=CallNumber(f"{per_facility[code]:05d}"),
                name=self._name(),
                gender=self.rng.choice(("男", "女")),
                birth_date=date(1960 + self.rng.randrange(45), 1 + self.rng.randrange(12), 1),
                custody_type="徒刑",
                is_juvenile=juvenile,
                has_minor_children=not juvenile,
                restrictions=frozenset({Restriction.COMMUNICATION_BAN})
                if restricted
                else frozenset(),
            )
            self._inmates.append(inmate)
            self._inmate_by_id[inmate.id] = inmate

    def _account(self, serial: int) -> dict[str, Any]:
        created = self._moment(START, GRANTS_FROM)
        account = FamilyMember(
            id=self.new_id(),
            name=self._name(),
            birth_date=date(1950 + self.rng.randrange(50), 1 + self.rng.randrange(12), 1),
            national_id=NationalId(national_id(serial)),
            email=EmailAddress(f"family{serial:07d}@example.com"),
            password_hash=PASSWORD_HASH,
            consent=Consent("2020-10", created),
            created_at=created,
            mobile=MobileNumber(f"09{serial % 10**8:08d}"),
            status=AccountStatus.ACTIVE,
            verified_at=created,
            notify_delivery=serial % 3 == 0,
            notify_notices=serial % 4 == 0,
        )
        self._account_ids.append(account.id)
        return mappers.ACCOUNTS.to_row(account)

    def _make_grants(self, accounts: int) -> tuple[list[dict[str, Any]], list[Grant]]:
        account_ids = self._account_ids
        applications: list[dict[str, Any]] = []
        grants: list[Grant] = []
        relationships = (Relationship.CHILD, Relationship.SPOUSE, Relationship.PARENT)
        for account_id in account_ids[:accounts]:
            for _ in range(2 if self.rng.random() < 0.2 else 1):
                inmate = self.rng.choice(self._inmates)
                submitted = self._moment(START, GRANTS_FROM)
                reviewed = submitted + timedelta(days=self.rng.randrange(1, 10))
                relationship = self.rng.choice(relationships)
                application = ServiceApplication(
                    id=self.new_id(),
                    applicant_id=account_id,
                    inmate_id=inmate.id,
                    facility_code=inmate.facility_code,
                    relationship=relationship,
                    services=frozenset({Service.CONTACT_BOOK}),
                    evidence=(),
                    submitted_at=submitted,
                    status=ApplicationStatus.APPROVED,
                    approved_services=frozenset({Service.CONTACT_BOOK}),
                    reviewed_at=reviewed,
                    reviewer_id=self._staff[inmate.facility_code].id,
                )
                applications.append(mappers.APPLICATIONS.to_row(application))
                grants.append(
                    Grant(
                        id=self.new_id(),
                        account_id=account_id,
                        inmate_id=inmate.id,
                        facility_code=inmate.facility_code,
                        application_id=application.id,
                        relationship=relationship,
                        granted_at=reviewed,
                    )
                )
        return applications, grants

    # -- posts in stages --------------------------------------------------------------

    def load_posts_to(self, total: int) -> None:
        """Add posts until ``total`` are loaded, spread over the whole five years.

        As bulk loads do, the secondary indexes of ``posts`` are dropped for the
        load and built again after it (the same ``Index`` objects of the adapter's
        metadata, so the same names and columns), and rows go in primary-key order.
        """
        count = total - self._posts_loaded
        if count <= 0:
            return
        picks = self.rng.choices(self._grants, cum_weights=self._grant_weights, k=count)
        rows = [self._post(grant, self._moment(GRANTS_FROM, END)) for grant in picks]
        rows.sort(key=lambda row: str(row["id"]))
        indexes = sorted(tables.posts.indexes, key=lambda index: str(index.name))
        with self.engine.begin() as connection:
            for index in indexes:
                index.drop(connection)
        self._load("posts", tables.posts, rows)
        began = time.perf_counter()
        with self.engine.begin() as connection:
            for index in indexes:
                index.create(connection)
        self.checkpoint()
        self.analyze()
        assert self.facts is not None
        elapsed = time.perf_counter() - began
        self.facts.load_seconds["posts indexes"] = (
            self.facts.load_seconds.get("posts indexes", 0.0) + elapsed
        )
        self.log(f"  indexed   {total:>9,} posts         in {elapsed:6.1f} s")
        self._posts_loaded = total

    def checkpoint(self) -> None:
        """SQLite: move the write-ahead log into the database file and empty it."""
        if self.engine.dialect.name == "sqlite":
            raw = self.engine.raw_connection()  # outside any transaction
            try:
                driver: Any = raw.driver_connection
                driver.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchall()
            finally:
                raw.close()

    def analyze(self) -> None:
        """PostgreSQL: refresh planner statistics now rather than when autovacuum gets to it.

        (SQLite is left as the library leaves it: no ``ANALYZE``, no ``sqlite_stat1``.)
        """
        if self.engine.dialect.name == "postgresql":
            with self.engine.connect().execution_options(
                isolation_level="AUTOCOMMIT"
            ) as connection:
                connection.exec_driver_sql("ANALYZE")

    def _post(self, grant: Grant, submitted: datetime) -> dict[str, Any]:
        assert self.facts is not None
        rng = self.rng
        roll = rng.random() * 100
        status = PostStatus.APPROVED
        for candidate, weight in _STATUS_WEIGHTS:
            if roll < weight:
                status = candidate
                break
            roll -= weight
        reviewer = self._staff[grant.facility_code].id
        decided = submitted + timedelta(hours=rng.randrange(1, 72))
        decided_now = status in (PostStatus.APPROVED, PostStatus.REJECTED)
        delivered = status is PostStatus.APPROVED and rng.random() < 0.9
        attachments: tuple[StoredFile, ...] = ()
        if rng.random() < 0.3:
            key = f"posts/{grant.facility_code}/{submitted:%Y/%m}/{self.new_id()}"
            attachments = (
                StoredFile(
                    id=self.new_id(),
                    storage_key=key,
                    display_name="photo.jpg",
                    content_type="image/jpeg",
                    size=180_000 + rng.randrange(400_000),
                    sha256=self.new_id() * 2,
                    thumbnail_key=f"{key}-thumb",
                ),
            )
        post = FamilyPost(
            id=self.new_id(),
            author_id=grant.account_id,
            inmate_id=grant.inmate_id,
            facility_code=grant.facility_code,
            grant_id=grant.id,
            title=rng.choice(_TITLES),
            body=rng.choice(self._bodies),
            submitted_at=submitted,
            review_deadline=submitted + timedelta(days=14),
            attachments=attachments,
            status=status,
            decided_at=decided if decided_now else None,
            reviewer_id=reviewer if decided_now else None,
            rejection_reason=PostRejectionReason.UNRELATED_CONTENT
            if status is PostStatus.REJECTED
            else None,
            delivered_at=decided + timedelta(days=2) if delivered else None,
            delivered_by=reviewer if delivered else None,
            withdrawn_at=decided if status is PostStatus.WITHDRAWN else None,
            expired_at=submitted + timedelta(days=14) if status is PostStatus.EXPIRED else None,
        )
        self.facts.posts_by_author[grant.account_id] += 1
        return mappers.POSTS.to_row(post)

    # -- notices and messages -------------------------------------------------------------

    def load_notices_and_messages(self) -> None:
        notices = max(100, self.scale // 20)
        self._load("notices", tables.notices, (self._notice() for _ in range(notices)))
        messages = max(100, self.scale // 4)
        self._load("messages", tables.messages, (self._message() for _ in range(messages)))

    def _notice(self) -> dict[str, Any]:
        roll = self.rng.random()
        published = self._moment(START, END)
        if roll < 0.1:
            publisher: str | None = None
            audience = Audience.everyone()
        else:
            facility = self.rng.choice(self._facilities)
            publisher = facility.code
            audience = Audience.facility(facility.code)
            if roll > 0.9:
                inmate = self.rng.choice(self._inmates)
                publisher = inmate.facility_code
                audience = Audience.inmate(inmate.facility_code, inmate.id)
        notice = AgencyNotice(
            id=self.new_id(),
            publisher_facility=publisher,
            publisher_name=self._facility_name(publisher),
            author_id=self._staff[publisher].id,
            kind=NoticeKind.ANNOUNCEMENT,
            audience=audience,
            title=self.rng.choice(_NOTICE_TITLES),
            body="".join(self.rng.sample(_BODY_PARTS, k=3)),
            published_at=published,
            deleted_at=published + timedelta(days=3) if self.rng.random() < 0.05 else None,
        )
        return mappers.NOTICES.to_row(notice)

    def _facility_name(self, code: str | None) -> str:
        if code is None:
            return "法務部矯正署"
        return next(f.name for f in self._facilities if f.code == code)

    def _message(self) -> dict[str, Any]:
        grant = self.rng.choice(self._grants)
        created = self._moment(GRANTS_FROM, END)
        message = Message(
            id=self.new_id(),
            channel=Channel.EMAIL,
            destination="family@example.com",
            subject="家庭聯絡簿 審核通過 / Contact book post approved",
            body="您發佈的家庭聯絡簿已審核通過。",
            cause=MessageCause.POST_APPROVED,
            created_at=created,
            account_id=grant.account_id,
            facility_code=grant.facility_code,
            status=MessageStatus.SENT,
            attempts=1,
            sent_at=created + timedelta(seconds=5),
        )
        return mappers.MESSAGES.to_row(message)

    def pending_messages(self, count: int, created: datetime) -> list[dict[str, Any]]:
        """``count`` due PENDING mails to ``example.com`` families, for the dispatcher."""
        rows = []
        for serial in range(count):
            grant = self.rng.choice(self._grants)
            message = Message(
                id=self.new_id(),
                channel=Channel.EMAIL,
                destination=f"family{serial:07d}@example.com",
                subject="家庭聯絡簿 審核通過 / Contact book post approved",
                body="您好：\n您發佈的家庭聯絡簿「孩子的近況」已審核通過，將交由收容人查閱。\n" * 3,
                cause=MessageCause.POST_APPROVED,
                created_at=created + timedelta(microseconds=serial),
                account_id=grant.account_id,
                facility_code=grant.facility_code,
            )
            rows.append(mappers.MESSAGES.to_row(message))
        return rows

    def insert_rows(self, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        self._insert(table, rows)

    def notice_month_for(self, facility_code: str) -> str:
        """A month in the middle of the span (Taiwan time), where notices are dense."""
        del facility_code
        return in_taipei(START + (END - START) / 2).strftime("%Y-%m")

    def inmate(self, inmate_id: str) -> Inmate:
        return self._inmate_by_id[inmate_id]


def _chunks(rows: Iterable[E], size: int) -> Iterator[list[E]]:
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk
