"""Units of work: what a commit makes visible, what leaving without one discards,
and when ``on_rollback`` callbacks run — the transaction rules every use case
relies on, probed through the facilities (and accounts) repositories."""

from __future__ import annotations

import pytest

from contactbook.domain.versioning import next_version
from contactbook.ports.storage import Storage
from contactbook.testing.storage.builders import (
    ACCOUNT,
    FACILITY,
    OTHER_FACILITY,
    make_account,
    make_facility,
)
from contactbook.testing.storage.fixtures import StorageFixtures

__all__ = ["UnitOfWorkContract"]


class _Boom(Exception):
    """An error raised inside a unit of work by a test."""


class UnitOfWorkContract(StorageFixtures):
    """Commit, rollback and ``on_rollback`` callbacks of :meth:`Storage.unit_of_work`.

    Fixtures: ``storage``, ``world`` (seeded from it).
    """

    # --- Units of work ----------------------------------------------------------------

    def test_commit_makes_changes_visible_to_a_new_unit_of_work(self, storage: Storage) -> None:
        facility = make_facility()
        with storage.unit_of_work() as uow:
            uow.facilities.add(facility)
            assert uow.facilities.get(FACILITY) == facility  # a transaction reads its writes
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.facilities.get(FACILITY) == facility

    def test_leaving_without_commit_discards_adds(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            uow.facilities.add(make_facility())
        with storage.unit_of_work() as uow:
            assert uow.facilities.get(FACILITY) is None
            assert list(uow.facilities.list()) == []

    def test_leaving_without_commit_discards_replaces(self, world: Storage) -> None:
        with world.unit_of_work() as uow:
            account = uow.accounts.get(ACCOUNT)
            assert account is not None
            uow.accounts.replace(account, next_version(account, name="王曉明"))
        with world.unit_of_work() as uow:
            assert uow.accounts.get(ACCOUNT) == make_account()

    def test_an_exception_inside_the_block_rolls_back_and_propagates(
        self, storage: Storage
    ) -> None:
        with pytest.raises(_Boom), storage.unit_of_work() as uow:
            uow.facilities.add(make_facility())
            raise _Boom
        with storage.unit_of_work() as uow:
            assert uow.facilities.get(FACILITY) is None

    def test_explicit_rollback_discards_changes(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            uow.facilities.add(make_facility())
            uow.rollback()
        with storage.unit_of_work() as uow:
            assert uow.facilities.get(FACILITY) is None

    def test_work_after_an_explicit_rollback_can_be_committed(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            uow.facilities.add(make_facility(FACILITY))
            uow.rollback()
            uow.facilities.add(make_facility(OTHER_FACILITY))
            uow.commit()
        with storage.unit_of_work() as uow:
            assert uow.facilities.get(FACILITY) is None
            assert uow.facilities.get(OTHER_FACILITY) == make_facility(OTHER_FACILITY)

    def test_changes_after_a_commit_need_another_commit(self, storage: Storage) -> None:
        with storage.unit_of_work() as uow:
            uow.facilities.add(make_facility(FACILITY))
            uow.commit()
            uow.facilities.add(make_facility(OTHER_FACILITY))
        with storage.unit_of_work() as uow:
            assert uow.facilities.get(FACILITY) == make_facility(FACILITY)
            assert uow.facilities.get(OTHER_FACILITY) is None

    def test_on_rollback_callbacks_run_when_leaving_without_commit(self, storage: Storage) -> None:
        calls: list[str] = []
        with storage.unit_of_work() as uow:
            uow.on_rollback(lambda: calls.append("remove photo"))
            uow.on_rollback(lambda: calls.append("remove thumbnail"))
            assert calls == []
        assert sorted(calls) == ["remove photo", "remove thumbnail"]

    def test_on_rollback_callbacks_run_when_an_exception_leaves_the_block(
        self, storage: Storage
    ) -> None:
        calls: list[str] = []
        with pytest.raises(_Boom), storage.unit_of_work() as uow:
            uow.on_rollback(lambda: calls.append("remove photo"))
            raise _Boom
        assert calls == ["remove photo"]

    def test_on_rollback_callbacks_run_once_on_explicit_rollback(self, storage: Storage) -> None:
        calls: list[str] = []
        with storage.unit_of_work() as uow:
            uow.on_rollback(lambda: calls.append("remove photo"))
            uow.rollback()
            assert calls == ["remove photo"]
        assert calls == ["remove photo"]

    def test_on_rollback_callbacks_do_not_run_after_commit(self, storage: Storage) -> None:
        calls: list[str] = []
        with storage.unit_of_work() as uow:
            uow.on_rollback(lambda: calls.append("remove photo"))
            uow.facilities.add(make_facility())
            uow.commit()
        assert calls == []
