"""An SMS gateway in a list: tests and demos read what was sent."""

from __future__ import annotations

from collections import deque

from contactbook.ports.delivery import OutgoingSms

__all__ = ["MemorySmsGateway"]


class MemorySmsGateway:
    """Keeps every sent SMS in ``sent``; ``fail_next`` rehearses a broken gateway."""

    def __init__(self) -> None:
        self.sent: list[OutgoingSms] = []
        self._failures: deque[Exception] = deque()

    @classmethod
    def from_url(cls, url: str = "memory://") -> MemorySmsGateway:
        """The entry-point form of ``sms="memory://"``."""
        if url.split(":", 1)[0] != "memory":
            raise ValueError(f"not a memory SMS gateway URL: {url!r}")
        return cls()

    def fail_next(self, exc: Exception, times: int = 1) -> None:
        """Make the next ``times`` sends raise ``exc`` (e.g. ``TemporaryDeliveryFailure``)."""
        if times < 1:
            raise ValueError("times must be at least 1")
        self._failures.extend([exc] * times)

    def send(self, sms: OutgoingSms) -> None:
        if self._failures:
            raise self._failures.popleft().with_traceback(None)
        self.sent.append(sms)

    def clear(self) -> None:
        """Forget what was sent (between steps of a scenario)."""
        self.sent.clear()
