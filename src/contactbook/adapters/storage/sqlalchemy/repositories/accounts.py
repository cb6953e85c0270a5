"""Accounts and their one-time tokens."""

from __future__ import annotations

from datetime import datetime

from contactbook.adapters.storage.sqlalchemy import converter as mappers
from contactbook.adapters.storage.sqlalchemy import tables
from contactbook.adapters.storage.sqlalchemy.repositories.base import TableRepository
from contactbook.domain.account import FamilyMember, OneTimeToken, TokenPurpose

__all__ = ["SqlAccountRepository", "SqlTokenRepository"]

_OWNED_BEFORE_POSTS = ((tables.tokens, "account_id"), (tables.messages, "account_id"))
_OWNED_FROM_POSTS_ON = (
    (tables.posts, "author_id"),
    (tables.grants, "account_id"),
    (tables.applications, "applicant_id"),
)
"""The rows an account owns, by table and owner column, children before parents."""


class SqlAccountRepository(
    TableRepository[FamilyMember], table=tables.accounts, mapper=mappers.ACCOUNTS
):
    """Accounts, unique by canonical e-mail and by national ID."""

    def by_email(self, canonical_email: str) -> FamilyMember | None:
        return self._rows.first_where(tables.accounts.c.email_canonical == canonical_email)

    def by_national_id(self, national_id: str) -> FamilyMember | None:
        return self._rows.first_where(tables.accounts.c.national_id == national_id)

    def remove(self, account: FamilyMember) -> None:
        """Children first (foreign keys), in one SAVEPOINT: a stale version leaves every
        row in place."""
        connection = self._rows.connection
        posts = tables.posts.c
        with connection.begin_nested():
            for table, owner in _OWNED_BEFORE_POSTS:
                connection.execute(table.delete().where(table.c[owner] == account.id))
            # Revisions point at the same author's posts: unlink them first (MySQL checks
            # a self-referencing key row by row).
            connection.execute(
                tables.posts.update()
                .where(posts.author_id == account.id, posts.revision_of.is_not(None))
                .values(revision_of=None)
            )
            for table, owner in _OWNED_FROM_POSTS_ON:
                connection.execute(table.delete().where(table.c[owner] == account.id))
            super().remove(account)


class SqlTokenRepository(TableRepository[OneTimeToken], table=tables.tokens, mapper=mappers.TOKENS):
    """One-time tokens, unique by hash; replaced only while ``used_at`` is unchanged."""

    def by_hash(self, token_hash: str) -> OneTimeToken | None:
        return self._rows.first_where(tables.tokens.c.token_hash == token_hash)

    def replace(self, old: OneTimeToken, new: OneTimeToken) -> None:
        used_at = tables.tokens.c.used_at
        guard = used_at.is_(None) if old.used_at is None else used_at == old.used_at
        self._rows.replace(old, new, guard)

    def revoke_unused(self, account_id: str, purpose: TokenPurpose, at: datetime) -> int:
        c = tables.tokens.c
        revoke = (
            tables.tokens.update()
            .where(c.account_id == account_id, c.purpose == purpose.value, c.used_at.is_(None))
            .values(used_at=at)
        )
        return int(self._rows.connection.execute(revoke).rowcount)
