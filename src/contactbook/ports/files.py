"""Where file bytes live. Keys are random and never derived from user input."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import BinaryIO, Protocol

import attrs

__all__ = ["FileStore", "StoredBlob"]


@attrs.frozen
class StoredBlob:
    key: str
    size: int
    sha256: str


class FileStore(Protocol):
    def put(self, data: BinaryIO, *, prefix: str) -> StoredBlob:
        """Stream ``data`` to a new random key under ``prefix``."""
        ...

    def open(self, key: str) -> BinaryIO:
        """A stream of the stored bytes; ``FileNotFoundError`` if missing."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key``; missing keys are ignored."""
        ...

    def exists(self, key: str) -> bool: ...

    def keys(self) -> Iterator[tuple[str, datetime | None]]:
        """Every stored key with its modification time when known."""
        ...
