"""Add ``audit_head``: one row naming the audit chain's newest event.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03

Writers lock this row before they read the newest event, so concurrent units of
work append to the hash chain in turn instead of racing for the same ``seq``.
The row starts at the newest event already stored (``seq`` 0 and the genesis
hash when there is none). As in 0001, types and values are spelled out here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE_OPTIONS: dict[str, Any] = {
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_bin",
    "mysql_engine": "InnoDB",
}
_GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of the first event (``contactbook.domain.audit.GENESIS_HASH``)."""


def upgrade() -> None:
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.CheckConstraint("id = 1", name=op.f("ck_audit_head_single_row")),
        sa.PrimaryKeyConstraint("id", name="pk_audit_head"),
        **_TABLE_OPTIONS,
    )
    # Plain statements (no reading back), so `alembic upgrade --sql` renders them too.
    audit = sa.table("audit", sa.column("seq", sa.BigInteger()), sa.column("hash", sa.String()))
    head = sa.table(
        "audit_head",
        sa.column("id", sa.Integer()),
        sa.column("seq", sa.BigInteger()),
        sa.column("hash", sa.String()),
    )
    op.execute(head.insert().values(id=1, seq=0, hash=_GENESIS_HASH))
    newest_seq = sa.select(sa.func.max(audit.c.seq)).correlate(None).scalar_subquery()
    op.execute(
        head.update()
        .where(head.c.id == 1, sa.exists(sa.select(audit.c.seq)))
        .values(
            seq=newest_seq,
            hash=sa.select(audit.c.hash).where(audit.c.seq == newest_seq).scalar_subquery(),
        )
    )


def downgrade() -> None:
    op.drop_table("audit_head")
