"""The fixtures of the storage mixins, kept apart from the tests (as fsspec's
``AbstractFixtures``): an adapter provides ``storage``; the suite derives the rest."""

from __future__ import annotations

import pytest

from contactbook.ports.storage import Storage
from contactbook.testing.storage.builders import seed_world

__all__ = ["StorageFixtures"]


class StorageFixtures:
    """Base of every storage mixin.

    * ``storage`` — provide it: a fresh, empty (migrated) :class:`Storage` per test.
      Override it in the test class itself, or in a subclass of this class mixed in
      with the mixins (fsspec style), so that it wins over the placeholder here.
    * ``world`` — derived: ``storage`` with :func:`seed_world` committed. Seeding adds
      facilities, staff, accounts, inmates, applications and grants, so the mixins
      that use ``world`` need those repositories' ``add`` to work.
    """

    @pytest.fixture
    def storage(self) -> Storage:
        pytest.fail(
            "override the `storage` fixture in your storage contract class"
        )  # a subclass must provide it

    @pytest.fixture
    def world(self, storage: Storage) -> Storage:
        """The storage with :func:`seed_world` committed."""
        seed_world(storage)
        return storage
