"""The storage contract against the in-memory adapter: a worked example for adapter authors.

A third-party storage adapter is checked exactly like this one. Subclass the
contract class(es) shipped in :mod:`contactbook.testing.storage_contract` (here
:class:`StorageContract`) and override the fixture(s) they ask for, as
:class:`TestMemoryStorage` does: here only ``storage``, which yields a fresh, empty
storage and closes it afterwards. Pytest then runs every inherited test against
your adapter. What your adapter promises beyond the port (here: the ``memory://``
URL, one lock per storage, nested units of work) goes in plain tests beside it,
like those below. For ``contactbook.open(database=...)`` to find the adapter,
register its ``from_url`` in the ``contactbook.storage`` entry-point group under
its URL scheme.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import attrs
import pytest

from contactbook.adapters.storage.memory import MemoryStorage
from contactbook.ports.storage import Storage
from contactbook.testing.storage_contract import (
    FACILITY,
    OTHER_FACILITY,
    StorageContract,
    make_facility,
    seed,
)


class TestMemoryStorage(StorageContract):
    """Every contract test, on a new ``MemoryStorage`` each time."""

    @pytest.fixture
    def storage(self) -> Iterator[Storage]:
        storage = MemoryStorage.from_url("memory://")
        yield storage
        storage.close()


def test_from_url_takes_only_memory_urls() -> None:
    assert isinstance(MemoryStorage.from_url("memory://"), MemoryStorage)
    with pytest.raises(ValueError, match="memory://"):
        MemoryStorage.from_url("sqlite://")


def test_each_storage_from_url_is_a_new_empty_one() -> None:
    first = MemoryStorage.from_url("memory://")
    seed(first, make_facility())
    with MemoryStorage.from_url("memory://").unit_of_work() as uow:
        assert uow.facilities.get(FACILITY) is None


def test_repositories_refuse_use_outside_the_with_block() -> None:
    uow = MemoryStorage().unit_of_work()
    with pytest.raises(RuntimeError, match="not open"):
        uow.facilities.get(FACILITY)
    with uow:
        pass
    with pytest.raises(RuntimeError):
        uow.facilities.add(make_facility())
    with pytest.raises(RuntimeError):
        uow.commit()


def test_an_open_unit_of_work_cannot_be_entered_again() -> None:
    with MemoryStorage().unit_of_work() as uow, pytest.raises(RuntimeError), uow:
        pass


def test_units_of_work_on_threads_run_one_after_another() -> None:
    """Read-modify-write from many threads loses no update and never conflicts."""
    storage = MemoryStorage()
    seed(storage, make_facility())
    errors: list[BaseException] = []

    def bump(times: int) -> None:
        try:
            for _ in range(times):
                with storage.unit_of_work() as uow:
                    facility = uow.facilities.get(FACILITY)
                    assert facility is not None
                    uow.facilities.replace(
                        facility, attrs.evolve(facility, version=facility.version + 1)
                    )
                    uow.commit()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=bump, args=(50,)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with storage.unit_of_work() as uow:
        facility = uow.facilities.get(FACILITY)
    assert facility is not None and facility.version == 1 + 4 * 50


def test_nested_writers_on_one_thread_fail_rather_than_lose_an_update() -> None:
    storage = MemoryStorage()
    with storage.unit_of_work() as outer:
        outer.facilities.add(make_facility(FACILITY))
        with storage.unit_of_work() as inner:
            inner.facilities.add(make_facility(OTHER_FACILITY))
            inner.commit()
        with pytest.raises(RuntimeError, match="nested"):
            outer.commit()
    with storage.unit_of_work() as uow:
        assert uow.facilities.get(OTHER_FACILITY) is not None
        assert uow.facilities.get(FACILITY) is None


def test_a_nested_reader_does_not_disturb_the_outer_writer() -> None:
    storage = MemoryStorage()
    with storage.unit_of_work() as outer:
        outer.facilities.add(make_facility())
        with storage.unit_of_work() as inner:
            assert inner.facilities.get(FACILITY) is None  # not committed yet
            inner.commit()
        outer.commit()
    with storage.unit_of_work() as uow:
        assert uow.facilities.get(FACILITY) == make_facility()


def test_every_on_rollback_callback_runs_even_if_one_fails() -> None:
    calls: list[str] = []

    def failing() -> None:
        raise OSError("file already gone")

    with pytest.raises(OSError, match="already gone"), MemoryStorage().unit_of_work() as uow:
        uow.on_rollback(failing)
        uow.on_rollback(lambda: calls.append("second"))
    assert calls == ["second"]
