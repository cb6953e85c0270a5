"""Staff: e-mail, TOTP second factor and admin-started password resets.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04

Every new column is nullable, so existing staff rows stay valid: no e-mail, no
TOTP enrolled, no reset started. ``totp`` / ``totp_pending`` hold small JSON
documents (the base32 secret, the password hashes of the unused recovery codes,
the last accepted time step); ``reset_token_hash`` only the digest of a reset
token. As in 0001, types are spelled out here rather than imported.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = ("email", "totp", "totp_pending", "reset_token_hash", "reset_expires_at")


def upgrade() -> None:
    when = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
    with op.batch_alter_table("staff") as batch:
        batch.add_column(sa.Column("email", sa.String(320), nullable=True))
        batch.add_column(sa.Column("totp", sa.Text(), nullable=True))
        batch.add_column(sa.Column("totp_pending", sa.Text(), nullable=True))
        batch.add_column(sa.Column("reset_token_hash", sa.String(128), nullable=True))
        batch.add_column(sa.Column("reset_expires_at", when, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("staff") as batch:
        for column in reversed(_COLUMNS):
            batch.drop_column(column)
