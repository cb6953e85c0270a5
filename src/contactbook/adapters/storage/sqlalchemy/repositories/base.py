"""The repository every versioned aggregate shares: ``add``, ``get``, ``replace``
(compare-and-set on ``version``) and ``remove``, on one table.

An aggregate's repository names its table and row mapper and states only what is
its own (its queries, a different guard, what ``remove`` also deletes)::

    class SqlStaffRepository(TableRepository[StaffMember], table=tables.staff, mapper=STAFF):
        def by_username(self, username: str) -> StaffMember | None: ...
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from sqlalchemy import Table

from contactbook.adapters.storage.sqlalchemy.converter import RowMapper
from contactbook.adapters.storage.sqlalchemy.repositories.rows import Rows

if TYPE_CHECKING:
    from contactbook.adapters.storage.sqlalchemy.storage import SqlAlchemyUnitOfWork

__all__ = ["TableRepository"]

E = TypeVar("E")


class TableRepository(Generic[E]):
    """One aggregate's table, read and written through :class:`Rows`."""

    _table: ClassVar[Table]
    _mapper: ClassVar[RowMapper[Any]]
    _key: ClassVar[str]

    def __init_subclass__(
        cls, *, table: Table, mapper: RowMapper[Any], key: str = "id", **options: Any
    ) -> None:
        super().__init_subclass__(**options)
        cls._table, cls._mapper, cls._key = table, mapper, key

    def __init__(self, uow: SqlAlchemyUnitOfWork) -> None:
        self._rows: Rows[E] = Rows(uow, self._table, self._mapper, self._key)

    def add(self, entity: E) -> None:
        self._rows.add(entity)

    def get(self, key: str) -> E | None:
        return self._rows.get(key)

    def replace(self, old: E, new: E) -> None:
        self._rows.replace_version(old, new)

    def remove(self, entity: E) -> None:
        self._rows.remove_version(entity)
