"""An outbox in a list, like Django's locmem backend: tests and demos read what was sent."""

from __future__ import annotations

from collections import deque

from contactbook.ports.delivery import OutgoingMail

__all__ = ["MemoryMailer"]


class MemoryMailer:
    """Keeps every sent mail in ``outbox``; ``fail_next`` rehearses a broken server."""

    def __init__(self) -> None:
        self.outbox: list[OutgoingMail] = []
        self._failures: deque[Exception] = deque()

    @classmethod
    def from_url(cls, url: str = "memory://") -> MemoryMailer:
        """The entry-point form of ``mail="memory://"``."""
        if url.split(":", 1)[0] != "memory":
            raise ValueError(f"not a memory mailer URL: {url!r}")
        return cls()

    def fail_next(self, exc: Exception, times: int = 1) -> None:
        """Make the next ``times`` sends raise ``exc`` (e.g. ``TemporaryDeliveryFailure``)."""
        if times < 1:
            raise ValueError("times must be at least 1")
        self._failures.extend([exc] * times)

    def send(self, mail: OutgoingMail) -> None:
        if self._failures:
            raise self._failures.popleft().with_traceback(None)
        self.outbox.append(mail)

    def clear(self) -> None:
        """Forget what was sent (between steps of a scenario)."""
        self.outbox.clear()
