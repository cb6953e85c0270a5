"""The tables: one per aggregate, in one ``MetaData`` that the migrations follow.

Every entity is a row of its table; small value parts an entity owns (a
facility's policy, a post's attachments, a staff member's roles) are JSON text
columns, so a row is read and written in one statement and round-trips exactly.

Unique rules compare normalised forms only: ``accounts.email_canonical`` (the
case-folded address), ``accounts.national_id``, ``staff.username_key`` (the
case-folded username), ``tokens.token_hash``, ``audit.seq``. A call number is
unique among the *current* inmates of a facility: a partial unique index on
PostgreSQL and SQLite; MariaDB/MySQL have no partial indexes, so there the
repository fills ``inmates.current_call_key`` (facility and call number while
the inmate is current, NULL after they leave) and a unique index on it lets
NULLs repeat. The column is filled on every backend so rows move between them.

One table is no aggregate: ``audit_head``, a single row naming the audit chain's
newest event, which writers lock so that they append to the chain in turn.

Each keyset list has an index that starts with its equality filters and ends
with its sort key and the id, e.g. the moderation queue's
``ix_posts_queue (facility_code, status, submitted_at, id)``.
"""

from __future__ import annotations

from typing import Any, Literal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.schema import SchemaItem
from sqlalchemy.sql.compiler import DDLCompiler
from sqlalchemy.sql.ddl import BaseDDLElement

from contactbook.adapters.storage.sqlalchemy.columns import (
    MYSQL_DIALECTS,
    JsonText,
    UtcDateTime,
    key_string,
)

__all__ = [
    "AUDIT_HEAD_ID",
    "PARTIAL_INDEX_DIALECTS",
    "accounts",
    "applications",
    "audit",
    "audit_head",
    "facilities",
    "grants",
    "include_object",
    "inmates",
    "messages",
    "metadata",
    "notices",
    "posts",
    "staff",
    "tokens",
]

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING_CONVENTION)

PARTIAL_INDEX_DIALECTS = ("postgresql", "sqlite")
"""Dialects that enforce "unique among current inmates" with a partial index."""

_MYSQL_TABLE: dict[str, Any] = {
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
    "mysql_engine": "InnoDB",
}
"""Table options on MariaDB/MySQL: 4-byte UTF-8 (Chinese and emoji), binary
comparison (unique rules compare the normalised forms exactly, ids sort by code
point), and a transactional engine."""

ID = 64
"""Length of ids (uuid4 hex in the use cases; anything up to 64 characters)."""
CODE = 32
"""Length of facility codes."""
NAME = 200
TITLE = 255
ENUM = 32


def _id() -> Column[str]:
    return Column("id", key_string(ID), primary_key=True)


def _ref(name: str, target: str | None, *, nullable: bool = False) -> Column[str]:
    """A column holding another row's id (a foreign key when ``target`` is given)."""
    if target is None:
        return Column(name, String(ID), nullable=nullable)
    return Column(name, String(ID), ForeignKey(target), nullable=nullable)


def _facility_ref(name: str = "facility_code", *, nullable: bool = False) -> Column[str]:
    return Column(name, String(CODE), ForeignKey("facilities.code"), nullable=nullable)


def _when(name: str, *, nullable: bool = False) -> Column[Any]:
    return Column(name, UtcDateTime(), nullable=nullable)


def _enum(name: str, *, nullable: bool = False) -> Column[str]:
    return Column(name, String(ENUM), nullable=nullable)


def _version() -> Column[int]:
    return Column("version", Integer, nullable=False)


_ONLY_ON = "contactbook_only_on_dialects"
"""Key in ``Index.info``: the dialects an index exists on (absent: all)."""


def _on_dialects(
    ddl: BaseDDLElement,
    target: SchemaItem | str,
    bind: Connection | None,
    tables: list[Table] | None = None,
    state: Any = None,
    *,
    dialect: Dialect,
    compiler: DDLCompiler | None = None,
    checkfirst: bool = False,
    **kw: Any,
) -> bool:
    return dialect.name in state


def _only_on(dialects: tuple[str, ...], index: Index) -> Index:
    """Create ``index`` only on ``dialects`` (and compare it only there)."""
    index.info[_ONLY_ON] = dialects
    index.ddl_if(callable_=_on_dialects, state=dialects)
    return index


facilities = Table(
    "facilities",
    metadata,
    Column("code", key_string(CODE), primary_key=True),
    Column("name", String(NAME), nullable=False),
    Column("is_juvenile", Boolean, nullable=False),
    Column("policy", JsonText, nullable=False),
    _version(),
    **_MYSQL_TABLE,
)

accounts = Table(
    "accounts",
    metadata,
    _id(),
    Column("name", String(NAME), nullable=False),
    Column("birth_date", Date, nullable=False),
    Column("national_id", String(16), nullable=False, unique=True),
    Column("email", String(320), nullable=False),
    Column("email_canonical", String(320), nullable=False, unique=True),
    Column("password_hash", String(TITLE), nullable=False),
    Column("consent_notice_version", String(64), nullable=False),
    _when("consent_accepted_at"),
    _when("created_at"),
    Column("phone", String(32), nullable=True),
    Column("mobile", String(16), nullable=True),
    _enum("status"),
    _when("verified_at", nullable=True),
    Column("failed_logins", Integer, nullable=False),
    _when("locked_until", nullable=True),
    Column("rejected_posts", Integer, nullable=False),
    _when("posting_suspended_until", nullable=True),
    Column("session_version", Integer, nullable=False),
    Column("notify_delivery", Boolean, nullable=False),
    Column("notify_notices", Boolean, nullable=False),
    _when("deletion_requested_at", nullable=True),
    _version(),
    **_MYSQL_TABLE,
)

tokens = Table(
    "tokens",
    metadata,
    _id(),
    _ref("account_id", "accounts.id"),
    _enum("purpose"),
    Column("token_hash", String(128), nullable=False, unique=True),
    _when("created_at"),
    _when("expires_at"),
    _when("used_at", nullable=True),
    Index(None, "account_id"),
    **_MYSQL_TABLE,
)

staff = Table(
    "staff",
    metadata,
    _id(),
    Column("username", String(150), nullable=False),
    Column("username_key", String(150), nullable=False, unique=True),
    Column("name", String(NAME), nullable=False),
    _facility_ref(nullable=True),
    Column("roles", JsonText, nullable=False),
    Column("password_hash", String(TITLE), nullable=False),
    _when("created_at"),
    Column("active", Boolean, nullable=False),
    Column("failed_logins", Integer, nullable=False),
    _when("locked_until", nullable=True),
    # Added by migration 0003: e-mail for reset links, TOTP factors (JSON: secret,
    # recovery-code hashes, last step), and a started reset (token digest only).
    Column("email", String(320), nullable=True),
    Column("totp", JsonText, nullable=True),
    Column("totp_pending", JsonText, nullable=True),
    Column("reset_token_hash", String(128), nullable=True),
    _when("reset_expires_at", nullable=True),
    # Added by migration 0004: front ends end sessions begun under an older value.
    Column("session_version", Integer, nullable=False, server_default="1"),
    _version(),
    Index(None, "facility_code"),
    **_MYSQL_TABLE,
)

inmates = Table(
    "inmates",
    metadata,
    _id(),
    _facility_ref(),
    Column("call_number", key_string(16), nullable=False),
    Column("current_call_key", String(64), nullable=True),
    Column("name", String(NAME), nullable=False),
    Column("gender", String(16), nullable=False),
    Column("birth_date", Date, nullable=True),
    Column("national_id", String(16), nullable=True),
    Column("education_grade", Integer, nullable=True),
    Column("admitted_on", Date, nullable=True),
    Column("admitted_here_on", Date, nullable=True),
    Column("custody_type", String(64), nullable=False),
    Column("is_juvenile", Boolean, nullable=False),
    Column("has_minor_children", Boolean, nullable=False),
    Column("restrictions", JsonText, nullable=False),
    _when("left_at", nullable=True),
    _version(),
    # current_by_call_number and list_current (ordered by call number).
    Index(None, "facility_code", "call_number", "id"),
    **_MYSQL_TABLE,
)
_only_on(
    PARTIAL_INDEX_DIALECTS,
    Index(
        "uq_inmates_current_call_number",
        inmates.c.facility_code,
        inmates.c.call_number,
        unique=True,
        postgresql_where=inmates.c.left_at.is_(None),
        sqlite_where=inmates.c.left_at.is_(None),
    ),
)
_only_on(
    MYSQL_DIALECTS,
    Index("uq_inmates_current_call_key", inmates.c.current_call_key, unique=True),
)

applications = Table(
    "applications",
    metadata,
    _id(),
    _ref("applicant_id", "accounts.id"),
    _ref("inmate_id", "inmates.id"),
    _facility_ref(),
    _enum("relationship"),
    Column("services", JsonText, nullable=False),
    Column("evidence", JsonText, nullable=False),
    _when("submitted_at"),
    Column("kinship_degree", Integer, nullable=True),
    _enum("status"),
    Column("approved_services", JsonText, nullable=False),
    _when("reviewed_at", nullable=True),
    _ref("reviewer_id", "staff.id", nullable=True),
    _enum("rejection_reason", nullable=True),
    Column("rejection_note", Text, nullable=False),
    _version(),
    # list_by_applicant (and pending_for) newest first.
    Index("ix_applications_by_applicant", "applicant_id", "submitted_at", "id"),
    # The review queue of one facility, and of every facility.
    Index("ix_applications_queue", "facility_code", "status", "submitted_at", "id"),
    Index("ix_applications_queue_all", "status", "submitted_at", "id"),
    Index("ix_applications_queue_any_status", "submitted_at", "id"),
    Index(None, "inmate_id"),
    Index(None, "reviewer_id"),
    **_MYSQL_TABLE,
)

grants = Table(
    "grants",
    metadata,
    _id(),
    _ref("account_id", "accounts.id"),
    _ref("inmate_id", "inmates.id"),
    _facility_ref(),
    _ref("application_id", "applications.id"),
    _enum("relationship"),
    _when("granted_at"),
    _when("ended_at", nullable=True),
    Column("end_reason", String(64), nullable=False),
    _version(),
    Index(None, "account_id", "inmate_id"),
    Index(None, "inmate_id"),
    Index(None, "application_id"),
    Index(None, "facility_code"),
    **_MYSQL_TABLE,
)

posts = Table(
    "posts",
    metadata,
    _id(),
    _ref("author_id", "accounts.id"),
    _ref("inmate_id", "inmates.id"),
    _facility_ref(),
    _ref("grant_id", "grants.id"),
    Column("title", String(TITLE), nullable=False),
    Column("body", Text, nullable=False),
    _when("submitted_at"),
    _when("review_deadline"),
    Column("attachments", JsonText, nullable=False),
    _enum("status"),
    Column("flagged_keywords", JsonText, nullable=False),
    _when("decided_at", nullable=True),
    _ref("reviewer_id", "staff.id", nullable=True),
    _enum("rejection_reason", nullable=True),
    Column("rejection_note", Text, nullable=False),
    _when("delivered_at", nullable=True),
    _ref("delivered_by", "staff.id", nullable=True),
    _when("withdrawn_at", nullable=True),
    _when("expired_at", nullable=True),
    _ref("revision_of", "posts.id", nullable=True),
    _version(),
    # The moderation queue of one facility: an index range scan in order.
    Index("ix_posts_queue", "facility_code", "status", "submitted_at", "id"),
    # The queue over every facility (Agency reviewers), by status or not.
    Index("ix_posts_queue_all", "status", "submitted_at", "id"),
    Index("ix_posts_queue_any_status", "submitted_at", "id"),
    # The author's own list, and the latest post counting against the period.
    Index("ix_posts_by_author", "author_id", "submitted_at", "id"),
    Index("ix_posts_by_inmate", "inmate_id", "status", "submitted_at", "id"),
    # Expiry of overdue pending posts.
    Index("ix_posts_due", "status", "review_deadline", "id"),
    # Approved posts waiting to be handed over, by decision time.
    Index("ix_posts_delivery", "facility_code", "status", "decided_at", "id"),
    Index("ix_posts_delivery_all", "status", "decided_at", "id"),
    Index(None, "grant_id"),
    Index(None, "reviewer_id"),
    Index(None, "delivered_by"),
    Index(None, "revision_of"),
    **_MYSQL_TABLE,
)

notices = Table(
    "notices",
    metadata,
    _id(),
    _facility_ref("publisher_facility", nullable=True),
    Column("publisher_name", String(NAME), nullable=False),
    _ref("author_id", "staff.id"),
    _enum("kind"),
    _enum("audience_scope"),
    _facility_ref("audience_facility_code", nullable=True),
    _ref("audience_inmate_id", "inmates.id", nullable=True),
    Column("title", String(TITLE), nullable=False),
    Column("body", Text, nullable=False),
    _when("published_at"),
    Column("published_month", String(7), nullable=False),
    Column("attachments", JsonText, nullable=False),
    _when("updated_at", nullable=True),
    _when("deleted_at", nullable=True),
    _version(),
    # The admin list of one publisher, and of every publisher.
    Index("ix_notices_by_publisher", "publisher_facility", "published_at", "id"),
    Index("ix_notices_published", "published_at", "id"),
    # The family list: by audience, optionally narrowed to one month.
    Index("ix_notices_audience_facility", "audience_facility_code", "published_at", "id"),
    Index("ix_notices_audience_inmate", "audience_inmate_id", "published_at", "id"),
    Index("ix_notices_audience_month", "audience_scope", "published_month", "published_at"),
    Index(None, "author_id"),
    **_MYSQL_TABLE,
)

messages = Table(
    "messages",
    metadata,
    _id(),
    _enum("channel"),
    Column("destination", String(320), nullable=False),
    Column("subject", String(500), nullable=False),
    Column("body", Text, nullable=False),
    Column("cause", String(64), nullable=False),
    _when("created_at"),
    _ref("account_id", "accounts.id", nullable=True),
    _facility_ref(nullable=True),
    _enum("status"),
    Column("attempts", Integer, nullable=False),
    _when("next_attempt_at", nullable=True),
    _when("sent_at", nullable=True),
    Column("last_error", Text, nullable=False),
    _version(),
    Column("log_body", Text, nullable=False),
    # The outbox: due pending messages, oldest first.
    Index("ix_messages_outbox", "status", "created_at", "id"),
    # An account's log of sent messages, newest first.
    Index("ix_messages_log", "account_id", "status", "sent_at", "id"),
    # One facility's messages, and every message, newest first.
    Index("ix_messages_by_facility", "facility_code", "created_at", "id"),
    Index("ix_messages_created", "created_at", "id"),
    **_MYSQL_TABLE,
)

audit = Table(
    "audit",
    metadata,
    _id(),
    Column("seq", BigInteger, nullable=False, unique=True),
    _when("at"),
    Column("actor_kind", String(ENUM), nullable=False),
    _ref("actor_id", None, nullable=True),
    Column("action", String(100), nullable=False),
    Column("target_kind", String(ENUM), nullable=False),
    _ref("target_id", None, nullable=True),
    Column("outcome", String(ENUM), nullable=False),
    Column("role", String(TITLE), nullable=False),
    Column("facility_code", String(CODE), nullable=True),
    Column("origin", String(TITLE), nullable=False),
    Column("details", JsonText, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("key_id", String(ID), nullable=False),
    # search(): every event, by actor, by target; newest first.
    Index("ix_audit_at", "at", "id"),
    Index("ix_audit_by_actor", "actor_id", "at", "id"),
    Index("ix_audit_by_target", "target_id", "at", "id"),
    **_MYSQL_TABLE,
)

AUDIT_HEAD_ID = 1
"""The id of the one row of ``audit_head``."""

audit_head = Table(
    "audit_head",
    metadata,
    # The newest event of the chain: its seq (0 while there is none) and hash (the
    # genesis hash then). Writers lock this row before reading the newest event, so
    # they extend the chain in turn (see ``SqlAuditRepository``).
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
    CheckConstraint(f"id = {AUDIT_HEAD_ID}", name="single_row"),
    **_MYSQL_TABLE,
)


def include_object(
    item: SchemaItem,
    name: str | None,
    type_: Literal[
        "schema", "table", "column", "index", "unique_constraint", "foreign_key_constraint"
    ],
    reflected: bool,
    compare_to: SchemaItem | None,
    *,
    dialect_name: str,
) -> bool:
    """Whether schema comparison should consider ``item`` on ``dialect_name``.

    Alembic's comparison does not know :meth:`Index.ddl_if`, so an index that
    is only created on other dialects (see ``_only_on``) is left out here
    (``alembic check`` uses this through the migrations' ``env.py``).
    """
    if type_ == "index" and not reflected and isinstance(item, Index):
        allowed = item.info.get(_ONLY_ON)
        if allowed is not None:
            return dialect_name in allowed
    return True
