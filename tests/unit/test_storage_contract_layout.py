"""The storage contract's mixins stay composable: a third party may take any of them.

A test name shared by two mixins would silently drop one test from their union, a
helper shared through a base class would tie mixins together, and a docstring that
names the wrong fixtures would mislead the adapter author; these tests catch all three,
and keep the README's table of mixins true.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import contactbook.testing
import contactbook.testing.storage as suite
from contactbook.testing import storage_contract
from contactbook.testing.storage import MIXINS, StorageContract, StorageFixtures

README = Path(__file__).resolve().parents[2] / "README.md"


def _tests(cls: type) -> dict[str, Callable[..., Any]]:
    """The test functions ``cls`` defines itself (not those it inherits)."""
    return {name: fn for name, fn in vars(cls).items() if name.startswith("test_")}


def _fixtures_used(fn: Callable[..., Any]) -> set[str]:
    parametrized = {
        name.strip()
        for mark in getattr(fn, "pytestmark", [])
        if mark.name == "parametrize"
        for name in mark.args[0].split(",")
    }
    return set(inspect.signature(fn).parameters) - {"self"} - parametrized


def _fixtures_documented(cls: type) -> set[str]:
    """The ``names`` on the docstring's ``Fixtures:`` line, before any remark in brackets."""
    match = re.search(r"^\s*Fixtures: ([^(\n]*)", inspect.getdoc(cls) or "", re.M)
    assert match, f"{cls.__name__} does not say which fixtures it needs"
    return set(re.findall(r"``(\w+)``", match.group(1)))


def _mixins_in_the_package() -> Iterator[type]:
    for module in pkgutil.iter_modules(suite.__path__):
        for value in vars(importlib.import_module(f"{suite.__name__}.{module.name}")).values():
            if (
                inspect.isclass(value)
                and issubclass(value, StorageFixtures)
                and value.__module__.startswith(suite.__name__ + ".")
                and value is not StorageFixtures
            ):
                yield value


def test_storage_contract_is_every_mixin_of_the_package() -> None:
    assert set(MIXINS) == set(_mixins_in_the_package())
    assert StorageContract.__bases__ == MIXINS
    assert _tests(StorageContract) == {}


def test_no_two_mixins_share_a_test_name() -> None:
    seen: dict[str, str] = {}
    for mixin in MIXINS:
        for name in _tests(mixin):
            assert name not in seen, f"{name} is in {seen[name]} and {mixin.__name__}"
            seen[name] = mixin.__name__


@pytest.mark.parametrize("mixin", MIXINS, ids=lambda mixin: mixin.__name__)
def test_a_mixin_holds_only_tests_and_names_the_fixtures_they_use(mixin: type) -> None:
    """Fixtures and helpers live elsewhere (fixtures.py, builders.py, rules.py …), so no
    mixin reaches into another one."""
    assert mixin.__bases__ == (StorageFixtures,)
    own = {name for name in vars(mixin) if not (name.startswith("__") and name.endswith("__"))}
    assert own == set(_tests(mixin)), f"{mixin.__name__} defines more than tests"
    used = set().union(*(_fixtures_used(fn) for fn in _tests(mixin).values()))
    assert used <= {"storage", "world"}, f"{mixin.__name__} uses an undocumented fixture"
    assert _fixtures_documented(mixin) == used


def test_the_old_names_still_import() -> None:
    assert contactbook.testing.StorageContract is StorageContract
    assert storage_contract.StorageContract is StorageContract
    for name in storage_contract.__all__:
        assert getattr(storage_contract, name) is not None


def test_the_readme_table_lists_every_mixin_with_its_fixtures() -> None:
    rows = re.findall(r"^\| `(\w+Contract)` \| .+ \| (.+) \|$", README.read_text("utf-8"), re.M)
    listed = {name: set(re.findall(r"`(\w+)`", fixtures)) for name, fixtures in rows}
    assert listed == {mixin.__name__: _fixtures_documented(mixin) for mixin in MIXINS}
