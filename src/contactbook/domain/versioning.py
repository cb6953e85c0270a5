"""Optimistic concurrency: every decision names the version it was made on."""

from __future__ import annotations

from typing import Any, Protocol, TypeVar

import attrs

from contactbook.errors import Conflict

__all__ = ["Versioned", "next_version", "require_version"]

E = TypeVar("E")


class Versioned(Protocol):
    @property
    def version(self) -> int: ...


def require_version(entity: Versioned, version: int) -> None:
    """Refuse a decision made on a version other than the current one."""
    if entity.version != version:
        raise Conflict("stale_version", expected=version, current=entity.version)


def next_version(entity: E, **changes: Any) -> E:
    """``entity`` with ``changes`` and its version moved on: the one place a version
    goes up, which the stores' compare-and-set relies on."""
    return attrs.evolve(entity, version=entity.version + 1, **changes)  # type: ignore[attr-defined, misc]
