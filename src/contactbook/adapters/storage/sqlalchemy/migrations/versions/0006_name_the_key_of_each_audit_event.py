"""Audit: each event names the key that sealed it (empty: unkeyed SHA-256).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08

Existing events were all sealed unkeyed: they get an empty ``key_id`` and verify as
before. A deployment that starts keying sets ``Settings.audit_unkeyed_through`` to
the last ``seq`` written before (see README, Security).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit") as batch:
        batch.add_column(sa.Column("key_id", sa.String(64), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("audit") as batch:
        batch.drop_column("key_id")
