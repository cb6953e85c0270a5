"""Accounts and their one-time tokens."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from datetime import datetime
from typing import Any

import attrs

from contactbook.adapters.storage.memory.repository import Repository, VersionedRepository
from contactbook.domain.account import FamilyMember, OneTimeToken, TokenPurpose


class MemoryAccountRepository(VersionedRepository[FamilyMember]):
    """Accounts, unique by canonical e-mail and by national ID."""

    def _unique(self, account: FamilyMember) -> tuple[Hashable | None, ...]:
        return account.email.canonical, account.national_id.value

    def by_email(self, canonical_email: str) -> FamilyMember | None:
        return self._one(lambda account: account.email.canonical == canonical_email)

    def by_national_id(self, national_id: str) -> FamilyMember | None:
        return self._one(lambda account: account.national_id.value == national_id)

    def remove(self, account: FamilyMember) -> None:
        """The owned rows go straight from this transaction's tables: nothing can fail
        after the compare-and-set, so it is all or nothing."""
        self._delete(account)
        tables = self._tables
        owned: list[tuple[dict[str, Any], Callable[[Any], str | None]]] = [
            (tables.tokens, lambda token: token.account_id),
            (tables.messages, lambda message: message.account_id),
            (tables.posts, lambda post: post.author_id),
            (tables.grants, lambda grant: grant.account_id),
            (tables.applications, lambda application: application.applicant_id),
        ]
        for rows, owner in owned:
            for key in [key for key, row in rows.items() if owner(row) == account.id]:
                del rows[key]


class MemoryTokenRepository(Repository[OneTimeToken]):
    """One-time tokens, unique by hash. They carry no version: a replace succeeds only
    while the row is exactly as read, so a token is used once."""

    def _key(self, token: OneTimeToken) -> str:
        return token.id

    def _unique(self, token: OneTimeToken) -> tuple[Hashable | None, ...]:
        return (token.token_hash,)

    def by_hash(self, token_hash: str) -> OneTimeToken | None:
        return self._one(lambda token: token.token_hash == token_hash)

    def revoke_unused(self, account_id: str, purpose: TokenPurpose, at: datetime) -> int:
        unused = self._where(
            lambda token: (
                token.account_id == account_id
                and token.purpose is purpose
                and token.used_at is None
            )
        )
        for token in unused:
            self.replace(token, attrs.evolve(token, used_at=at))
        return len(unused)
