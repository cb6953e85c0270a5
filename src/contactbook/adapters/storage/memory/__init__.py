"""In-memory storage: the :mod:`~contactbook.ports.storage` port over dictionaries.

Used by the unit tests, the Gherkin steps and ``contactbook.open(database="memory://")``.
It must behave like the SQL adapters in everything the port promises — the same
unique rules, the same compare-and-set, the same keyset orderings — because use
cases are tested on it; :class:`~contactbook.testing.storage_contract.StorageContract`
checks both against one suite.

One module per reason to change: :mod:`.tables` (what is stored),
:mod:`.transaction` (snapshot isolation under one lock), :mod:`.repository` (the
rules every table shares), one module per aggregate (its look-ups and lists),
:mod:`.unit_of_work` (the wiring) and :mod:`.storage` (the entry point).
"""

from contactbook.adapters.storage.memory.storage import MemoryStorage
from contactbook.adapters.storage.memory.unit_of_work import MemoryUnitOfWork

__all__ = ["MemoryStorage", "MemoryUnitOfWork"]
