"""Errors of the SQL storage that an operator, not a family member, has to act on."""

from __future__ import annotations

__all__ = ["DatabaseUnavailable", "SchemaNotCurrent", "SqlStorageError"]


class SqlStorageError(RuntimeError):
    """Base class: the database cannot be used as it is. ``url`` never shows a password."""

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url


class DatabaseUnavailable(SqlStorageError):
    """The database could not be reached or opened (down, wrong host, refused login)."""


class SchemaNotCurrent(SqlStorageError):
    """The database's tables are missing or at another revision than this contactbook's.

    ``current`` is the revision found (None: no contactbook tables), ``expected`` the
    revision this version of contactbook needs.
    """

    def __init__(
        self, message: str, *, url: str, current: str | None, expected: str | None
    ) -> None:
        super().__init__(message, url=url)
        self.current = current
        self.expected = expected
