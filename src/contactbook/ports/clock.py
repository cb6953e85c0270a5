"""Time as a port, so tests and demos can move it."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

__all__ = ["Clock"]


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware datetime."""
        ...
