"""One repository per aggregate, each a thin layer of Core statements.

Shared rules (see :mod:`contactbook.ports.storage`):

* ``add`` inserts inside a SAVEPOINT, so a broken unique rule becomes
  ``Conflict("duplicate")`` and the transaction stays usable. A write that loses
  a deadlock or a serialization check is ``Conflict("stale_version")`` too.
* ``replace(old, new)`` is ``UPDATE … WHERE id = :id AND version = :old_version``
  (tokens: ``used_at`` unchanged) and checks that exactly one row matched;
  otherwise ``NotFound`` when the row is absent, else ``Conflict("stale_version")``.
* Lists are keyset pages: ``ORDER BY t, id`` (both descending for "newest
  first") and, after a position ``(t0, id0)``, ``t >= t0 AND (t > t0 OR id > id0)``
  (mirrored when descending), which every backend turns into an index range.

One module per aggregate (accounts and tokens, facilities and inmates, staff,
applications and grants, posts, notices, messages, audit, stored files), each
repository a :class:`~.base.TableRepository` that states only its own queries;
what they share is in :mod:`.base` (add, get, replace, remove), :mod:`.rows`
(one table: fetch, insert, compare-and-set), :mod:`.conflicts` (driver errors as
``Conflict``) and :mod:`.queries` (keyset pages, IN lists, time ranges).
"""

from __future__ import annotations

from contactbook.adapters.storage.sqlalchemy.repositories.accounts import (
    SqlAccountRepository,
    SqlTokenRepository,
)
from contactbook.adapters.storage.sqlalchemy.repositories.applications import (
    SqlApplicationRepository,
    SqlGrantRepository,
)
from contactbook.adapters.storage.sqlalchemy.repositories.audit import SqlAuditRepository
from contactbook.adapters.storage.sqlalchemy.repositories.facilities import (
    SqlFacilityRepository,
    SqlInmateRepository,
)
from contactbook.adapters.storage.sqlalchemy.repositories.messages import SqlMessageRepository
from contactbook.adapters.storage.sqlalchemy.repositories.notices import SqlNoticeRepository
from contactbook.adapters.storage.sqlalchemy.repositories.posts import (
    SqlPostRepository,
    post_queue_statement,
)
from contactbook.adapters.storage.sqlalchemy.repositories.staff import SqlStaffRepository
from contactbook.adapters.storage.sqlalchemy.repositories.stored_files import SqlStoredFiles

__all__ = [
    "SqlAccountRepository",
    "SqlApplicationRepository",
    "SqlAuditRepository",
    "SqlFacilityRepository",
    "SqlGrantRepository",
    "SqlInmateRepository",
    "SqlMessageRepository",
    "SqlNoticeRepository",
    "SqlPostRepository",
    "SqlStaffRepository",
    "SqlStoredFiles",
    "SqlTokenRepository",
    "post_queue_statement",
]
