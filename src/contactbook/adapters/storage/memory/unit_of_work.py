"""The unit of work: a transaction with one repository per aggregate."""

from __future__ import annotations

from collections.abc import Iterator

from contactbook.adapters.storage.memory.accounts import (
    MemoryAccountRepository,
    MemoryTokenRepository,
)
from contactbook.adapters.storage.memory.applications import (
    MemoryApplicationRepository,
    MemoryGrantRepository,
)
from contactbook.adapters.storage.memory.audit import MemoryAuditRepository
from contactbook.adapters.storage.memory.facilities import (
    MemoryFacilityRepository,
    MemoryInmateRepository,
)
from contactbook.adapters.storage.memory.messages import MemoryMessageRepository
from contactbook.adapters.storage.memory.notices import MemoryNoticeRepository
from contactbook.adapters.storage.memory.posts import MemoryPostRepository
from contactbook.adapters.storage.memory.staff import MemoryStaffRepository
from contactbook.adapters.storage.memory.transaction import CommittedTables, Transaction
from contactbook.domain.files import StoredFile
from contactbook.ports import storage as port

__all__ = ["MemoryUnitOfWork"]


class MemoryUnitOfWork(Transaction):
    """Each repository is wired to its table here.

    The repositories are typed as the port's protocols, which is what callers
    may rely on; the concrete classes are an implementation detail.
    """

    accounts: port.AccountRepository
    tokens: port.TokenRepository
    facilities: port.FacilityRepository
    inmates: port.InmateRepository
    applications: port.ApplicationRepository
    grants: port.GrantRepository
    posts: port.PostRepository
    notices: port.NoticeRepository
    messages: port.MessageRepository
    staff: port.StaffRepository
    audit: port.AuditRepository

    def __init__(self, committed: CommittedTables) -> None:
        super().__init__(committed)
        self.accounts = MemoryAccountRepository(self, lambda tables: tables.accounts)
        self.tokens = MemoryTokenRepository(self, lambda tables: tables.tokens)
        self.facilities = MemoryFacilityRepository(self, lambda tables: tables.facilities)
        self.inmates = MemoryInmateRepository(self, lambda tables: tables.inmates)
        self.applications = MemoryApplicationRepository(self, lambda tables: tables.applications)
        self.grants = MemoryGrantRepository(self, lambda tables: tables.grants)
        self.posts = MemoryPostRepository(self, lambda tables: tables.posts)
        self.notices = MemoryNoticeRepository(self, lambda tables: tables.notices)
        self.messages = MemoryMessageRepository(self, lambda tables: tables.messages)
        self.staff = MemoryStaffRepository(self, lambda tables: tables.staff)
        self.audit = MemoryAuditRepository(self, lambda tables: tables.audit)

    def stored_files(self) -> Iterator[tuple[port.StoredFileOwner, str, StoredFile]]:
        """Read from this transaction's tables as they are at the call, in one go."""
        tables = self.working_tables()
        owners: list[tuple[port.StoredFileOwner, dict[str, tuple[StoredFile, ...]]]] = [
            ("application", {key: row.evidence for key, row in tables.applications.items()}),
            ("post", {key: row.attachments for key, row in tables.posts.items()}),
            ("notice", {key: row.attachments for key, row in tables.notices.items()}),
        ]
        return (
            (kind, owner_id, stored)
            for kind, files_by_owner in owners
            for owner_id in sorted(files_by_owner)
            for stored in files_by_owner[owner_id]
        )
