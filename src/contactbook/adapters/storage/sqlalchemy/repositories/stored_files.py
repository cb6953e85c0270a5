"""Every file a row points to, for the orphan-file sweeper."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from sqlalchemy import Table, select

from contactbook.adapters.storage.sqlalchemy import tables
from contactbook.adapters.storage.sqlalchemy.repositories.queries import files_in
from contactbook.domain.files import StoredFile
from contactbook.ports.storage import StoredFileOwner

if TYPE_CHECKING:
    from contactbook.adapters.storage.sqlalchemy.storage import SqlAlchemyUnitOfWork

__all__ = ["SqlStoredFiles"]

_STORED_FILES_CHUNK = 500

_FILE_COLUMNS: tuple[tuple[StoredFileOwner, Table, str], ...] = (
    ("application", tables.applications, "evidence"),
    ("post", tables.posts, "attachments"),
    ("notice", tables.notices, "attachments"),
)
"""Where rows keep their files: owner kind, table and JSON column, in listing order."""


class SqlStoredFiles:
    """Every file a row points to, read as ``(id, JSON column)`` pairs in keyset chunks,
    so neither whole rows nor a whole table are ever held at once."""

    def __init__(self, uow: SqlAlchemyUnitOfWork) -> None:
        self._uow = uow

    def __iter__(self) -> Iterator[tuple[StoredFileOwner, str, StoredFile]]:
        for kind, table, column_name in _FILE_COLUMNS:
            for owner_id, files in self._rows(table, column_name):
                for stored in files:
                    yield kind, owner_id, stored

    def _rows(self, table: Table, column_name: str) -> Iterator[tuple[str, tuple[StoredFile, ...]]]:
        key, column = table.c.id, table.c[column_name]
        last_id: str | None = None
        while True:
            statement = select(key, column).order_by(key).limit(_STORED_FILES_CHUNK)
            if last_id is not None:
                statement = statement.where(key > last_id)
            chunk = self._uow.connection.execute(statement).all()
            for owner_id, value in chunk:
                yield str(owner_id), files_in(value)
            if len(chunk) < _STORED_FILES_CHUNK:
                return
            last_id = str(chunk[-1][0])
