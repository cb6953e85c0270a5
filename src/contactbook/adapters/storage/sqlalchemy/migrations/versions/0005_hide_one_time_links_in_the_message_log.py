"""Messages: the log keeps no live one-time link.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08

``messages.log_body`` holds the body as read paths show it, with verification and
reset links hidden; a sent message keeps only that. Rows written before this
revision are mended on the way up: any link carrying ``token=`` is hidden — in a
sent message's body itself, in the log body of one not sent yet (whose live body
the dispatcher still needs).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_LINK_WITH_TOKEN = re.compile(r"\S*[?&]token=\S*")
_SEPARATOR = "\n\n-----\n\n"  # the Chinese part above, the English part below
_HIDDEN = ("「連結已隱藏」", "[link hidden]")


def _hidden(body: str) -> str:
    parts = body.split(_SEPARATOR, 1)
    return _SEPARATOR.join(
        _LINK_WITH_TOKEN.sub(_HIDDEN[min(index, 1)], part) for index, part in enumerate(parts)
    )


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("log_body", sa.Text(), nullable=False, server_default=""))
    messages = sa.table(
        "messages",
        sa.column("id", sa.String),
        sa.column("status", sa.String),
        sa.column("body", sa.Text),
        sa.column("log_body", sa.Text),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(messages.c.id, messages.c.status, messages.c.body).where(
            messages.c.body.like("%token=%")
        )
    ).all()
    for message_id, status, body in rows:
        hidden = _hidden(body)
        changes = {"body": hidden} if status == "sent" else {"log_body": hidden}
        connection.execute(sa.update(messages).where(messages.c.id == message_id).values(**changes))


def downgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("log_body")
