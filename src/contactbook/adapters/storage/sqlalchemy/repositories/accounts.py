"""Accounts and their one-time tokens."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from contactbook.adapters.storage.sqlalchemy import converter as mappers
from contactbook.adapters.storage.sqlalchemy import tables
from contactbook.adapters.storage.sqlalchemy.repositories.rows import Rows
from contactbook.domain.account import FamilyMember, OneTimeToken, TokenPurpose

if TYPE_CHECKING:
    from contactbook.adapters.storage.sqlalchemy.storage import SqlAlchemyUnitOfWork

__all__ = ["SqlAccountRepository", "SqlTokenRepository"]


class SqlAccountRepository:
    """Accounts, unique by canonical e-mail and by national ID."""

    def __init__(self, uow: SqlAlchemyUnitOfWork) -> None:
        self._rows = Rows(uow, tables.accounts, mappers.ACCOUNTS)

    def add(self, account: FamilyMember) -> None:
        self._rows.add(account)

    def get(self, account_id: str) -> FamilyMember | None:
        return self._rows.get(account_id)

    def by_email(self, canonical_email: str) -> FamilyMember | None:
        return self._rows.first_where(tables.accounts.c.email_canonical == canonical_email)

    def by_national_id(self, national_id: str) -> FamilyMember | None:
        return self._rows.first_where(tables.accounts.c.national_id == national_id)

    def replace(self, old: FamilyMember, new: FamilyMember) -> None:
        self._rows.replace_version(old, new)

    def remove(self, account: FamilyMember) -> None:
        """Children first (foreign keys), in one SAVEPOINT: a stale version leaves every
        row in place."""
        connection = self._rows.connection
        posts = tables.posts.c
        with connection.begin_nested():
            connection.execute(
                tables.tokens.delete().where(tables.tokens.c.account_id == account.id)
            )
            connection.execute(
                tables.messages.delete().where(tables.messages.c.account_id == account.id)
            )
            # Revisions point at the same author's posts: unlink them first (MySQL checks
            # a self-referencing key row by row).
            connection.execute(
                tables.posts.update()
                .where(posts.author_id == account.id, posts.revision_of.is_not(None))
                .values(revision_of=None)
            )
            connection.execute(tables.posts.delete().where(posts.author_id == account.id))
            connection.execute(
                tables.grants.delete().where(tables.grants.c.account_id == account.id)
            )
            connection.execute(
                tables.applications.delete().where(tables.applications.c.applicant_id == account.id)
            )
            self._rows.remove_version(account)


class SqlTokenRepository:
    """One-time tokens, unique by hash; replaced only while ``used_at`` is unchanged."""

    def __init__(self, uow: SqlAlchemyUnitOfWork) -> None:
        self._rows = Rows(uow, tables.tokens, mappers.TOKENS)

    def add(self, token: OneTimeToken) -> None:
        self._rows.add(token)

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
