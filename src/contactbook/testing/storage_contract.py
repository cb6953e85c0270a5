"""The contract every storage adapter must pass, as a pytest suite to subclass.

Use cases are tested on the in-memory adapter and run in production on SQL
ones; they are only interchangeable if both keep every promise of
:mod:`contactbook.ports.storage`. This suite states those promises as tests,
through the public port only, so a third-party adapter (Oracle, MSSQL …) is
checked exactly like ours::

    from contactbook.testing.storage_contract import StorageContract

    class TestOracleStorage(StorageContract):
        @pytest.fixture
        def storage(self) -> Iterator[Storage]:
            storage = OracleStorage.from_url(...)   # empty, migrated
            yield storage
            storage.close()

The tests live in :mod:`contactbook.testing.storage`, one capability mixin per
module (``AccountsContract``, ``PostsContract`` …) for adapters that grow piece
by piece; this module keeps the names it always offered. The entity factories
(``make_account``, ``make_post`` …) are public so that adapter-specific tests can
build the same fictional world.
"""

from __future__ import annotations

from contactbook.testing.storage import (
    AccountsContract,
    ApplicationsContract,
    AuditContract,
    FacilitiesContract,
    MessagesContract,
    NoticesContract,
    PostsContract,
    RetentionContract,
    StaffContract,
    StorageContract,
    StorageFixtures,
    UnitOfWorkContract,
)
from contactbook.testing.storage.builders import (
    ACCOUNT,
    AGENCY_STAFF,
    APPLICATION,
    FACILITY,
    GRANT,
    INMATE,
    OTHER_ACCOUNT,
    OTHER_APPLICATION,
    OTHER_FACILITY,
    OTHER_GRANT,
    OTHER_INMATE,
    STAFF,
    T0,
    at,
    make_account,
    make_application,
    make_audit_event,
    make_facility,
    make_grant,
    make_inmate,
    make_message,
    make_notice,
    make_post,
    make_staff,
    make_stored_file,
    make_token,
    seed,
    seed_world,
)
from contactbook.testing.storage.checks import assert_every_field_set, walk

__all__ = [
    "ACCOUNT",
    "AGENCY_STAFF",
    "APPLICATION",
    "FACILITY",
    "GRANT",
    "INMATE",
    "OTHER_ACCOUNT",
    "OTHER_APPLICATION",
    "OTHER_FACILITY",
    "OTHER_GRANT",
    "OTHER_INMATE",
    "STAFF",
    "T0",
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
    "assert_every_field_set",
    "at",
    "make_account",
    "make_application",
    "make_audit_event",
    "make_facility",
    "make_grant",
    "make_inmate",
    "make_message",
    "make_notice",
    "make_post",
    "make_staff",
    "make_stored_file",
    "make_token",
    "seed",
    "seed_world",
    "walk",
]
