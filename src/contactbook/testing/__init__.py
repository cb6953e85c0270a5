"""What third parties need to test against contactbook.

* Contract suites (``StorageContract``, ``FileStoreContract``, ``MailerContract``,
  ``SmsGatewayContract``): subclass one as ``class TestMyAdapter(StorageContract)``
  and override its fixture. They need pytest, so they are imported on first use.
* In-memory fakes and a ready wiring: ``memory_book()``, ``MovableClock``,
  ``FakeFileInspector``, ``FastPasswordHasher``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib import import_module
from typing import Any

from contactbook.testing.fakes import (
    FakeFileInspector,
    FastPasswordHasher,
    MovableClock,
    sample_jpeg,
    sample_pdf,
    sample_png,
)

__all__ = [
    "FakeFileInspector",
    "FastPasswordHasher",
    "FileStoreContract",
    "MailerContract",
    "MovableClock",
    "SmsGatewayContract",
    "StorageContract",
    "memory_book",
    "sample_jpeg",
    "sample_pdf",
    "sample_png",
]

_CONTRACTS = {
    "StorageContract": "contactbook.testing.storage_contract",
    "FileStoreContract": "contactbook.testing.files_contract",
    "MailerContract": "contactbook.testing.delivery_contract",
    "SmsGatewayContract": "contactbook.testing.delivery_contract",
}


def __getattr__(name: str) -> Any:
    if name in _CONTRACTS:
        return getattr(import_module(_CONTRACTS[name]), name)
    raise AttributeError(name)


def memory_book(
    *,
    clock: MovableClock | None = None,
    database: str = "memory://",
    files: str = "memory://",
    mail: str = "memory://",
    sms: str = "memory://",
    **options: Any,
) -> Any:
    """A ``ContactBook`` on in-memory adapters with a movable clock and a fast hasher.

    ``book.mailer.outbox`` lists what ``book.messages.dispatch()`` sent.
    """
    import contactbook

    options.setdefault("hasher", FastPasswordHasher())
    return contactbook.open(
        database=database,
        files=files,
        mail=mail,
        sms=sms,
        clock=clock or MovableClock(datetime(2020, 10, 7, 3, 0, tzinfo=UTC)),
        **options,
    )
