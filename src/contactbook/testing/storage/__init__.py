"""The storage contract as capability mixins, one module each, to opt into piece by piece.

Every mixin states promises of :mod:`contactbook.ports.storage` as tests through the
public port only, and needs only the fixtures its docstring names (see
:class:`StorageFixtures`: you provide ``storage``, the suite derives ``world``).
:class:`StorageContract` is all of them at once::

    class TestOracleStorage(AccountsContract, PostsContract):   # or StorageContract
        @pytest.fixture
        def storage(self) -> Iterator[Storage]:
            storage = OracleStorage.from_url(...)   # empty, migrated
            yield storage
            storage.close()

Tests end a unit of work right after an operation that must fail, because some
databases refuse further statements in a failed transaction; they look at the
result in a fresh unit of work.
"""

from __future__ import annotations

from contactbook.testing.storage.accounts import AccountsContract
from contactbook.testing.storage.applications import ApplicationsContract
from contactbook.testing.storage.audit import AuditContract
from contactbook.testing.storage.facilities import FacilitiesContract
from contactbook.testing.storage.fixtures import StorageFixtures
from contactbook.testing.storage.messages import MessagesContract
from contactbook.testing.storage.notices import NoticesContract
from contactbook.testing.storage.posts import PostsContract
from contactbook.testing.storage.retention import RetentionContract
from contactbook.testing.storage.staff import StaffContract
from contactbook.testing.storage.units_of_work import UnitOfWorkContract

__all__ = [
    "MIXINS",
    "AccountsContract",
    "ApplicationsContract",
    "AuditContract",
    "FacilitiesContract",
    "MessagesContract",
    "NoticesContract",
    "PostsContract",
    "RetentionContract",
    "StaffContract",
    "StorageContract",
    "StorageFixtures",
    "UnitOfWorkContract",
]


class StorageContract(
    UnitOfWorkContract,
    AccountsContract,
    FacilitiesContract,
    ApplicationsContract,
    PostsContract,
    NoticesContract,
    MessagesContract,
    AuditContract,
    StaffContract,
    RetentionContract,
):
    """Every storage mixin: subclass with a ``storage`` fixture yielding a fresh,
    empty :class:`Storage`."""


MIXINS: tuple[type[StorageFixtures], ...] = StorageContract.__bases__
"""The mixins :class:`StorageContract` is made of, in its order."""
