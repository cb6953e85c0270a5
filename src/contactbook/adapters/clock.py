"""The real clock; tests use ``contactbook.testing.fakes.MovableClock`` instead."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["SystemClock"]


class SystemClock:
    """The system time as an aware UTC datetime (never naive, never local)."""

    def now(self) -> datetime:
        return datetime.now(UTC)
