"""The storage object: committed tables, and the URL that names them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from contactbook.adapters.storage.memory.transaction import CommittedTables
from contactbook.adapters.storage.memory.unit_of_work import MemoryUnitOfWork

if TYPE_CHECKING:
    from contactbook.ports.storage import Storage, UnitOfWork

__all__ = ["MEMORY_URL", "MemoryStorage"]

MEMORY_URL = "memory://"


class MemoryStorage(CommittedTables):
    """Each instance is its own database, empty at first, living as long as the object."""

    @classmethod
    def from_url(cls, url: str) -> MemoryStorage:
        """A fresh, empty storage for ``memory://`` (each call makes a new one)."""
        if url != MEMORY_URL:
            raise ValueError(f"MemoryStorage takes the URL {MEMORY_URL!r}, not {url!r}")
        return cls()

    def unit_of_work(self) -> MemoryUnitOfWork:
        return MemoryUnitOfWork(self)

    def close(self) -> None:
        """Nothing to release; the data lives as long as this object."""


if TYPE_CHECKING:

    def _conforms_to_the_port(storage: MemoryStorage, uow: MemoryUnitOfWork) -> Storage:
        """Checked by mypy only: the classes satisfy the protocols structurally."""
        _: UnitOfWork = uow
        return storage
