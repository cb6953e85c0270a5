"""The rules every repository shares — round trips, unique keys, compare-and-set —
written once and run by each mixin over its own repositories, so that opting into one
mixin checks them for exactly the repositories it covers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeAlias

import attrs
import pytest

from contactbook.errors import Conflict, NotFound
from contactbook.ports.storage import Storage, UnitOfWork
from contactbook.testing.storage.builders import seed

__all__ = [
    "Kind",
    "Rule",
    "add_with_a_taken_key_raises_duplicate",
    "assert_duplicate",
    "each_shared_rule",
    "replace_from_a_stale_state_raises_and_changes_nothing",
    "replace_of_an_absent_entity_raises_not_found",
    "replace_stores_the_new_state",
    "round_trip",
]


@attrs.frozen
class Kind:
    """How the shared tests reach one repository through the port.

    ``make`` builds an entity not in the world; ``same_key`` another entity with
    the key of its argument and no other unique value in common; ``changed``
    the next state of its argument (None: the repository has no ``replace``).
    """

    name: str
    make: Callable[[], Any]
    same_key: Callable[[Any], Any]
    changed: Callable[[Any], Any] | None


def _find(uow: UnitOfWork, kind: Kind, like: Any) -> Any:
    """The stored entity with the identity of ``like``, looked up through the port."""
    if kind.name == "tokens":
        return uow.tokens.by_hash(like.token_hash)
    if kind.name == "facilities":
        return uow.facilities.get(like.code)
    if kind.name == "audit":
        return next((event for event in uow.audit.in_order() if event.id == like.id), None)
    return getattr(uow, kind.name).get(like.id)


def _add(uow: UnitOfWork, kind: Kind, entity: Any) -> None:
    if kind.name == "audit":
        uow.audit.append(entity)
    else:
        getattr(uow, kind.name).add(entity)


def _changed(kind: Kind, entity: Any) -> Any:
    assert kind.changed is not None, f"{kind.name} has no replace"
    return kind.changed(entity)


def round_trip(storage: Storage, kind: Kind, *entities: Any) -> None:
    """Every field of every entity comes back equal from a fresh unit of work."""
    with storage.unit_of_work() as uow:
        for entity in entities:
            _add(uow, kind, entity)
        uow.commit()
    with storage.unit_of_work() as uow:
        for entity in entities:
            assert _find(uow, kind, entity) == entity


def assert_duplicate(storage: Storage, action: Callable[[UnitOfWork], None]) -> None:
    with storage.unit_of_work() as uow, pytest.raises(Conflict) as raised:
        action(uow)
    assert raised.value.code == "duplicate"


def add_with_a_taken_key_raises_duplicate(storage: Storage, kind: Kind) -> None:
    stored = kind.make()
    seed(storage, stored)
    with storage.unit_of_work() as uow, pytest.raises(Conflict) as raised:
        _add(uow, kind, kind.same_key(stored))
    assert raised.value.code == "duplicate"
    with storage.unit_of_work() as uow:
        assert _find(uow, kind, stored) == stored


def replace_stores_the_new_state(storage: Storage, kind: Kind) -> None:
    stored = kind.make()
    seed(storage, stored)
    with storage.unit_of_work() as uow:
        getattr(uow, kind.name).replace(stored, _changed(kind, stored))
        uow.commit()
    with storage.unit_of_work() as uow:
        assert _find(uow, kind, stored) == _changed(kind, stored)


def replace_from_a_stale_state_raises_and_changes_nothing(storage: Storage, kind: Kind) -> None:
    stored = kind.make()
    seed(storage, stored)
    winner = _changed(kind, stored)
    with storage.unit_of_work() as uow:
        getattr(uow, kind.name).replace(stored, winner)
        uow.commit()
    with storage.unit_of_work() as uow, pytest.raises(Conflict) as raised:
        getattr(uow, kind.name).replace(stored, _changed(kind, stored))
    assert raised.value.code == "stale_version"
    with storage.unit_of_work() as uow:
        assert _find(uow, kind, stored) == winner


def replace_of_an_absent_entity_raises_not_found(storage: Storage, kind: Kind) -> None:
    absent = kind.make()
    with storage.unit_of_work() as uow, pytest.raises(NotFound):
        getattr(uow, kind.name).replace(absent, _changed(kind, absent))
    with storage.unit_of_work() as uow:
        assert _find(uow, kind, absent) is None


Rule: TypeAlias = Callable[[Storage, Kind], None]

_ADD_RULES: tuple[Rule, ...] = (add_with_a_taken_key_raises_duplicate,)
_REPLACE_RULES: tuple[Rule, ...] = (
    replace_stores_the_new_state,
    replace_from_a_stale_state_raises_and_changes_nothing,
    replace_of_an_absent_entity_raises_not_found,
)


def each_shared_rule(*kinds: Kind) -> pytest.MarkDecorator:
    """Parametrize a test's ``rule`` and ``kind`` over the shared rules of ``kinds``
    (those of ``replace`` only where the repository has one), each id naming the rule
    and the repository: ``replace_stores_the_new_state-tokens``."""
    cases = [
        (rule, kind)
        for rule in (*_ADD_RULES, *_REPLACE_RULES)
        for kind in kinds
        if rule in _ADD_RULES or kind.changed is not None
    ]
    return pytest.mark.parametrize(
        "rule,kind", cases, ids=[f"{rule.__name__}-{kind.name}" for rule, kind in cases]
    )
