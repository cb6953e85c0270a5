"""Create the contactbook tables.

Revision ID: 0001
Revises:
Create Date: 2026-11-26

Types are spelled out here rather than imported from ``tables.py``, so this
revision keeps creating exactly what it created even when the tables change
later (a later change is a later revision).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE_OPTIONS: dict[str, Any] = {
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
    "mysql_engine": "InnoDB",
}
_TABLES = (
    "accounts",
    "audit",
    "facilities",
    "inmates",
    "messages",
    "staff",
    "tokens",
    "applications",
    "notices",
    "grants",
    "posts",
)
"""In creation order: every table after the ones it refers to."""


def _key(length: int) -> sa.types.TypeEngine[str]:
    """VARCHAR compared byte by byte (``COLLATE "C"`` on PostgreSQL)."""
    return sa.String(length).with_variant(sa.VARCHAR(length, collation="C"), "postgresql")


def _pk(name: str = "id", length: int = 64) -> sa.Column[Any]:
    return sa.Column(name, _key(length), nullable=False)


def _str(name: str, length: int, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.String(length), nullable=nullable)


def _text(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.Text(), nullable=False)


def _int(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.Integer(), nullable=nullable)


def _bool(name: str) -> sa.Column[Any]:
    return sa.Column(name, sa.Boolean(), nullable=False)


def _date(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    return sa.Column(name, sa.Date(), nullable=nullable)


def _when(name: str, *, nullable: bool = False) -> sa.Column[Any]:
    """Naive UTC with microseconds (``DATETIME(6)`` on MariaDB/MySQL)."""
    kind = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
    return sa.Column(name, kind, nullable=nullable)


def _pk_constraint(table: str, column: str = "id") -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint(column, name=f"pk_{table}")


def _unique(table: str, column: str) -> sa.UniqueConstraint:
    return sa.UniqueConstraint(column, name=f"uq_{table}_{column}")


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    """A foreign key to ``target`` (``table.column``), named by the tables' convention."""
    referred = target.partition(".")[0]
    return sa.ForeignKeyConstraint([column], [target], name=f"fk_{table}_{column}_{referred}")


def _index(table: str, name: str | None, *columns: str) -> None:
    op.create_index(name or f"ix_{table}_{'_'.join(columns)}", table, list(columns))


def upgrade() -> None:
    dialect = op.get_bind().dialect.name

    op.create_table(
        "accounts",
        _pk(),
        _str("name", 200),
        _date("birth_date"),
        _str("national_id", 16),
        _str("email", 320),
        _str("email_canonical", 320),
        _str("password_hash", 255),
        _str("consent_notice_version", 64),
        _when("consent_accepted_at"),
        _when("created_at"),
        _str("phone", 32, nullable=True),
        _str("mobile", 16, nullable=True),
        _str("status", 32),
        _when("verified_at", nullable=True),
        _int("failed_logins"),
        _when("locked_until", nullable=True),
        _int("rejected_posts"),
        _when("posting_suspended_until", nullable=True),
        _int("session_version"),
        _bool("notify_delivery"),
        _bool("notify_notices"),
        _when("deletion_requested_at", nullable=True),
        _int("version"),
        _pk_constraint("accounts"),
        _unique("accounts", "email_canonical"),
        _unique("accounts", "national_id"),
        **_TABLE_OPTIONS,
    )

    op.create_table(
        "audit",
        _pk(),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        _when("at"),
        _str("actor_kind", 32),
        _str("actor_id", 64, nullable=True),
        _str("action", 100),
        _str("target_kind", 32),
        _str("target_id", 64, nullable=True),
        _str("outcome", 32),
        _str("role", 255),
        _str("facility_code", 32, nullable=True),
        _str("origin", 255),
        _text("details"),
        _str("prev_hash", 64),
        _str("hash", 64),
        _pk_constraint("audit"),
        _unique("audit", "seq"),
        **_TABLE_OPTIONS,
    )
    _index("audit", "ix_audit_at", "at", "id")
    _index("audit", "ix_audit_by_actor", "actor_id", "at", "id")
    _index("audit", "ix_audit_by_target", "target_id", "at", "id")

    op.create_table(
        "facilities",
        _pk("code", 32),
        _str("name", 200),
        _bool("is_juvenile"),
        _text("policy"),
        _int("version"),
        _pk_constraint("facilities", "code"),
        **_TABLE_OPTIONS,
    )

    op.create_table(
        "inmates",
        _pk(),
        _str("facility_code", 32),
        sa.Column("call_number", _key(16), nullable=False),
        _str("current_call_key", 64, nullable=True),
        _str("name", 200),
        _str("gender", 16),
        _date("birth_date", nullable=True),
        _str("national_id", 16, nullable=True),
        _int("education_grade", nullable=True),
        _date("admitted_on", nullable=True),
        _date("admitted_here_on", nullable=True),
        _str("custody_type", 64),
        _bool("is_juvenile"),
        _bool("has_minor_children"),
        _text("restrictions"),
        _when("left_at", nullable=True),
        _int("version"),
        _fk("inmates", "facility_code", "facilities.code"),
        _pk_constraint("inmates"),
        **_TABLE_OPTIONS,
    )
    _index("inmates", None, "facility_code", "call_number", "id")
    if dialect in ("postgresql", "sqlite"):
        op.create_index(
            "uq_inmates_current_call_number",
            "inmates",
            ["facility_code", "call_number"],
            unique=True,
            postgresql_where=sa.text("left_at IS NULL"),
            sqlite_where=sa.text("left_at IS NULL"),
        )
    elif dialect in ("mysql", "mariadb"):
        op.create_index("uq_inmates_current_call_key", "inmates", ["current_call_key"], unique=True)

    op.create_table(
        "messages",
        _pk(),
        _str("channel", 32),
        _str("destination", 320),
        _str("subject", 500),
        _text("body"),
        _str("cause", 64),
        _when("created_at"),
        _str("account_id", 64, nullable=True),
        _str("facility_code", 32, nullable=True),
        _str("status", 32),
        _int("attempts"),
        _when("next_attempt_at", nullable=True),
        _when("sent_at", nullable=True),
        _text("last_error"),
        _int("version"),
        _fk("messages", "account_id", "accounts.id"),
        _fk("messages", "facility_code", "facilities.code"),
        _pk_constraint("messages"),
        **_TABLE_OPTIONS,
    )
    _index("messages", "ix_messages_outbox", "status", "created_at", "id")
    _index("messages", "ix_messages_log", "account_id", "status", "sent_at", "id")
    _index("messages", "ix_messages_by_facility", "facility_code", "created_at", "id")
    _index("messages", "ix_messages_created", "created_at", "id")

    op.create_table(
        "staff",
        _pk(),
        _str("username", 150),
        _str("username_key", 150),
        _str("name", 200),
        _str("facility_code", 32, nullable=True),
        _text("roles"),
        _str("password_hash", 255),
        _when("created_at"),
        _bool("active"),
        _int("failed_logins"),
        _when("locked_until", nullable=True),
        _int("version"),
        _fk("staff", "facility_code", "facilities.code"),
        _pk_constraint("staff"),
        _unique("staff", "username_key"),
        **_TABLE_OPTIONS,
    )
    _index("staff", None, "facility_code")

    op.create_table(
        "tokens",
        _pk(),
        _str("account_id", 64),
        _str("purpose", 32),
        _str("token_hash", 128),
        _when("created_at"),
        _when("expires_at"),
        _when("used_at", nullable=True),
        _fk("tokens", "account_id", "accounts.id"),
        _pk_constraint("tokens"),
        _unique("tokens", "token_hash"),
        **_TABLE_OPTIONS,
    )
    _index("tokens", None, "account_id")

    op.create_table(
        "applications",
        _pk(),
        _str("applicant_id", 64),
        _str("inmate_id", 64),
        _str("facility_code", 32),
        _str("relationship", 32),
        _text("services"),
        _text("evidence"),
        _when("submitted_at"),
        _int("kinship_degree", nullable=True),
        _str("status", 32),
        _text("approved_services"),
        _when("reviewed_at", nullable=True),
        _str("reviewer_id", 64, nullable=True),
        _str("rejection_reason", 32, nullable=True),
        _text("rejection_note"),
        _int("version"),
        _fk("applications", "applicant_id", "accounts.id"),
        _fk("applications", "facility_code", "facilities.code"),
        _fk("applications", "inmate_id", "inmates.id"),
        _fk("applications", "reviewer_id", "staff.id"),
        _pk_constraint("applications"),
        **_TABLE_OPTIONS,
    )
    _index("applications", "ix_applications_by_applicant", "applicant_id", "submitted_at", "id")
    _index("applications", "ix_applications_queue", "facility_code", "status", "submitted_at", "id")
    _index("applications", "ix_applications_queue_all", "status", "submitted_at", "id")
    _index("applications", "ix_applications_queue_any_status", "submitted_at", "id")
    _index("applications", None, "inmate_id")
    _index("applications", None, "reviewer_id")

    op.create_table(
        "notices",
        _pk(),
        _str("publisher_facility", 32, nullable=True),
        _str("publisher_name", 200),
        _str("author_id", 64),
        _str("kind", 32),
        _str("audience_scope", 32),
        _str("audience_facility_code", 32, nullable=True),
        _str("audience_inmate_id", 64, nullable=True),
        _str("title", 255),
        _text("body"),
        _when("published_at"),
        _str("published_month", 7),
        _text("attachments"),
        _when("updated_at", nullable=True),
        _when("deleted_at", nullable=True),
        _int("version"),
        _fk("notices", "audience_facility_code", "facilities.code"),
        _fk("notices", "audience_inmate_id", "inmates.id"),
        _fk("notices", "author_id", "staff.id"),
        _fk("notices", "publisher_facility", "facilities.code"),
        _pk_constraint("notices"),
        **_TABLE_OPTIONS,
    )
    _index("notices", "ix_notices_by_publisher", "publisher_facility", "published_at", "id")
    _index("notices", "ix_notices_published", "published_at", "id")
    _index(
        "notices", "ix_notices_audience_facility", "audience_facility_code", "published_at", "id"
    )
    _index("notices", "ix_notices_audience_inmate", "audience_inmate_id", "published_at", "id")
    _index(
        "notices",
        "ix_notices_audience_month",
        "audience_scope",
        "published_month",
        "published_at",
    )
    _index("notices", None, "author_id")

    op.create_table(
        "grants",
        _pk(),
        _str("account_id", 64),
        _str("inmate_id", 64),
        _str("facility_code", 32),
        _str("application_id", 64),
        _str("relationship", 32),
        _when("granted_at"),
        _when("ended_at", nullable=True),
        _str("end_reason", 64),
        _int("version"),
        _fk("grants", "account_id", "accounts.id"),
        _fk("grants", "application_id", "applications.id"),
        _fk("grants", "facility_code", "facilities.code"),
        _fk("grants", "inmate_id", "inmates.id"),
        _pk_constraint("grants"),
        **_TABLE_OPTIONS,
    )
    _index("grants", None, "account_id", "inmate_id")
    _index("grants", None, "inmate_id")
    _index("grants", None, "application_id")
    _index("grants", None, "facility_code")

    op.create_table(
        "posts",
        _pk(),
        _str("author_id", 64),
        _str("inmate_id", 64),
        _str("facility_code", 32),
        _str("grant_id", 64),
        _str("title", 255),
        _text("body"),
        _when("submitted_at"),
        _when("review_deadline"),
        _text("attachments"),
        _str("status", 32),
        _text("flagged_keywords"),
        _when("decided_at", nullable=True),
        _str("reviewer_id", 64, nullable=True),
        _str("rejection_reason", 32, nullable=True),
        _text("rejection_note"),
        _when("delivered_at", nullable=True),
        _str("delivered_by", 64, nullable=True),
        _when("withdrawn_at", nullable=True),
        _when("expired_at", nullable=True),
        _str("revision_of", 64, nullable=True),
        _int("version"),
        _fk("posts", "author_id", "accounts.id"),
        _fk("posts", "delivered_by", "staff.id"),
        _fk("posts", "facility_code", "facilities.code"),
        _fk("posts", "grant_id", "grants.id"),
        _fk("posts", "inmate_id", "inmates.id"),
        _fk("posts", "reviewer_id", "staff.id"),
        _fk("posts", "revision_of", "posts.id"),
        _pk_constraint("posts"),
        **_TABLE_OPTIONS,
    )
    _index("posts", "ix_posts_queue", "facility_code", "status", "submitted_at", "id")
    _index("posts", "ix_posts_queue_all", "status", "submitted_at", "id")
    _index("posts", "ix_posts_queue_any_status", "submitted_at", "id")
    _index("posts", "ix_posts_by_author", "author_id", "submitted_at", "id")
    _index("posts", "ix_posts_by_inmate", "inmate_id", "status", "submitted_at", "id")
    _index("posts", "ix_posts_due", "status", "review_deadline", "id")
    _index("posts", "ix_posts_delivery", "facility_code", "status", "decided_at", "id")
    _index("posts", "ix_posts_delivery_all", "status", "decided_at", "id")
    _index("posts", None, "grant_id")
    _index("posts", None, "reviewer_id")
    _index("posts", None, "delivered_by")
    _index("posts", None, "revision_of")


def downgrade() -> None:
    # Dropping a table drops its indexes; later tables refer to earlier ones.
    for table in reversed(_TABLES):
        op.drop_table(table)
