"""A ``FileStore`` on any fsspec URL: a local path, ``file://``, ``memory://``, ``s3://`` …

Keys are random (``prefix/yyyy/mm/<uuid4 hex>``) so nothing a user typed ever
reaches a path; the month folders keep directories small and make sweeping by
age cheap. Bytes are streamed in chunks so a large upload never sits in memory.

Options of the filesystem (credentials, an S3 endpoint …) are passed as keyword
arguments and handed to fsspec unchanged::

    FsspecFileStore("s3://bucket/contactbook", endpoint_url="http://127.0.0.1:9000",
                    key="…", secret="…")

For ``s3://`` (the ``s3`` extra: s3fs) botocore also reads the usual environment
(``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_ENDPOINT_URL`` …), so
``contactbook.open(files="s3://bucket/prefix")`` needs no options in code.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import re
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, BinaryIO, cast

from fsspec.core import url_to_fs
from fsspec.implementations.memory import MemoryFileSystem

from contactbook.ports.clock import Clock
from contactbook.ports.files import StoredBlob

__all__ = ["FsspecFileStore"]

CHUNK_SIZE = 1024 * 1024
# One path segment: no separators, no drive letters, not "." or "..".
_SEGMENT = re.compile(r"[A-Za-z0-9_\-][A-Za-z0-9_.\-]*")
# Where each backend reports a file's modification time in ``info()``.
_MTIME_FIELDS = ("mtime", "LastModified", "last_modified", "updated", "modified", "created")


class FsspecFileStore:
    """Stores blobs under the root of ``url``; see the module docstring for the key scheme."""

    def __init__(self, url: str, *, clock: Clock | None = None, **storage_options: Any) -> None:
        fs, root = url_to_fs(url, **storage_options)
        if isinstance(fs, MemoryFileSystem) and not root.strip("/"):
            # The memory filesystem is one dict for the whole process: give each
            # store its own root so two stores (two tests) never see each other.
            root = f"/contactbook-{uuid.uuid4().hex}"
        if not root.strip("/"):
            raise ValueError(f"file store URL {url!r} names no folder or bucket")
        self._fs: Any = fs
        self._root: str = root.rstrip("/")
        self._clock = clock

    @classmethod
    def from_url(cls, url: str, **storage_options: Any) -> FsspecFileStore:
        """The entry-point form: ``files=`` URLs resolve to this; ``storage_options``
        go to the fsspec filesystem (e.g. ``endpoint_url`` for S3)."""
        return cls(url, **storage_options)

    def __repr__(self) -> str:
        # The root only: a URL may carry credentials, and reprs end up in logs.
        return f"FsspecFileStore(root={self._root!r})"

    def put(self, data: BinaryIO, *, prefix: str) -> StoredBlob:
        """Stream ``data`` to a fresh random key, hashing and counting on the way."""
        prefix = prefix.rstrip("/")
        if prefix:
            _check_key(prefix)
        now = self._clock.now() if self._clock else datetime.now(UTC)
        now = now.astimezone(UTC)
        name = f"{now:%Y}/{now:%m}/{uuid.uuid4().hex}"
        key = f"{prefix}/{name}" if prefix else name
        path = self._path(key)
        self._fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        try:
            with self._fs.open(path, "wb") as out:
                for chunk in _chunks(data):
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
        except BaseException:
            # Leave no half-written object behind for the sweeper to guess about.
            with contextlib.suppress(OSError):
                self._remove(path)
            raise
        return StoredBlob(key=key, size=size, sha256=digest.hexdigest())

    def open(self, key: str) -> BinaryIO:
        """A binary stream of ``key``; ``FileNotFoundError`` (naming the key only) if missing."""
        path = self._path(key)
        try:
            if isinstance(self._fs, MemoryFileSystem):
                # fsspec's memory filesystem hands every reader the *same* file object,
                # so two open streams of one key would share (and steal) one position.
                return io.BytesIO(self._fs.cat_file(path))
            return cast(BinaryIO, self._fs.open(path, "rb"))
        except (FileNotFoundError, IsADirectoryError):
            raise FileNotFoundError(key) from None

    def delete(self, key: str) -> None:
        """Remove ``key``; deleting twice (a retried rollback) is not an error."""
        self._remove(self._path(key))

    def exists(self, key: str) -> bool:
        return bool(self._fs.isfile(self._path(key)))

    def keys(self) -> Iterator[tuple[str, datetime | None]]:
        """Every stored key with its UTC modification time (for the orphan sweeper)."""
        found: Mapping[str, Mapping[str, Any]] = self._fs.find(self._root, detail=True)
        start = len(self._root) + 1
        for path, info in found.items():
            if info.get("type", "file") == "file":
                yield path[start:], _modified(info)

    def _path(self, key: str) -> str:
        _check_key(key)
        return f"{self._root}/{key}"

    def _remove(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._fs.rm_file(path)


def _chunks(data: BinaryIO) -> Iterator[bytes | memoryview]:
    """``data`` in chunks of up to :data:`CHUNK_SIZE` bytes.

    A buffered stream (a file, ``BytesIO``) fills one reused buffer, so a large
    blob costs no allocation per chunk; each chunk is valid only until the next
    one (the ``io`` contract: ``write`` must not keep what it was given).
    """
    if not isinstance(data, io.BufferedIOBase):
        while chunk := data.read(CHUNK_SIZE):
            yield chunk
        return
    buffer = memoryview(bytearray(CHUNK_SIZE))
    while count := data.readinto(buffer):
        yield buffer[:count]


def _check_key(key: str) -> None:
    """Refuse anything that could leave the store's root (``..``, absolute, drive, ``\\``)."""
    if not key or len(key) > 1024 or key.startswith("/"):
        raise ValueError(f"invalid file key {key!r}")
    if not all(_SEGMENT.fullmatch(part) for part in key.split("/")):
        raise ValueError(f"invalid file key {key!r}")


def _modified(info: Mapping[str, Any]) -> datetime | None:
    """The modification time in ``info`` as aware UTC, whatever the backend calls it."""
    for field in _MTIME_FIELDS:
        value = info.get(field)
        if isinstance(value, datetime):
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value, UTC)
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                continue
            return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    return None
