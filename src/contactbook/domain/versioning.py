"""Optimistic concurrency: every decision names the version it was made on."""

from __future__ import annotations

from typing import Protocol

from contactbook.errors import Conflict

__all__ = ["Versioned", "require_version"]


class Versioned(Protocol):
    @property
    def version(self) -> int: ...


def require_version(entity: Versioned, version: int) -> None:
    """Refuse a decision made on a version other than the current one."""
    if entity.version != version:
        raise Conflict("stale_version", expected=version, current=entity.version)
