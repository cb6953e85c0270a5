"""Where file bytes live. Keys are random and never derived from user input.

Uploads are written *before* the unit of work that points a row at them commits,
and a process can be killed at any moment. So a store promises that a key names
complete bytes or nothing: a ``put`` that fails or is killed midway never leaves
a partial file under a key a row could point to. A store that cannot write a key
atomically writes to a temporary name first and moves it into place; what such a
write leaves behind when its process dies is a :class:`PartialUpload`, listed by
``partial_uploads()`` apart from the keys, for the orphan sweep to discard.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import BinaryIO, Protocol

import attrs

__all__ = ["FileStore", "PartialUpload", "StoredBlob"]


@attrs.frozen
class StoredBlob:
    key: str
    size: int
    sha256: str


@attrs.frozen
class PartialUpload:
    """Bytes of a ``put`` still being written, or never to be finished.

    ``name`` is not a key: no ``put`` ever returns it, so no row can point to it,
    and ``open``/``delete``/``exists`` refuse it. ``modified`` is the last write
    (or the start of the write) when known. ``writer_alive`` says whether the
    writing process still runs, when the store can tell (False: it was killed, the
    bytes are garbage now); None when it cannot (another host, no process info).
    """

    name: str
    modified: datetime | None
    writer_alive: bool | None


class FileStore(Protocol):
    def put(self, data: BinaryIO, *, prefix: str) -> StoredBlob:
        """Stream ``data`` to a new random key under ``prefix``.

        Atomic: the key appears only once every byte is stored. If ``data`` raises
        (or the process dies) midway, nothing stands under the key; an exception
        leaves no partial upload either, a killed process may leave one.
        """
        ...

    def open(self, key: str) -> BinaryIO:
        """A stream of the stored bytes; ``FileNotFoundError`` if missing."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key``; missing keys are ignored."""
        ...

    def exists(self, key: str) -> bool: ...

    def keys(self) -> Iterator[tuple[str, datetime | None]]:
        """Every stored key with its modification time when known.

        Complete blobs only: never a partial upload, nor anything else in the
        store that is not a key (a ``.DS_Store`` someone copied in).
        """
        ...

    def partial_uploads(self) -> Iterator[PartialUpload]:
        """Writes not (yet) moved into place: in flight, or left by a killed process.

        A store whose writes are atomic by themselves (an S3 ``PUT``) has none.
        """
        ...

    def discard_partial(self, name: str) -> None:
        """Remove a partial upload; a missing one is ignored.

        ``ValueError`` for a name that is not a partial upload's (a key): this
        can never remove a stored blob. Discarding the bytes of a writer that
        still runs makes its ``put`` fail instead of storing them.
        """
        ...
