"""A ``FileStore`` on any fsspec URL: a local path, ``file://``, ``memory://``, ``s3://`` …

Keys are random (``prefix/yyyy/mm/<uuid4 hex>``) so nothing a user typed ever
reaches a path; the month folders keep directories small and make sweeping by
age cheap. Bytes are streamed in chunks so a large upload never sits in memory.

A key names complete bytes or nothing, even if the process is killed midway
(the ``FileStore`` promise), by one of two means:

* S3 (``s3://``, ``s3a://``) writes the object directly: it appears only when its
  single ``PUT`` (or its multipart upload's completion) succeeds. A failing
  source aborts the upload. A process killed during a multipart upload (objects
  larger than s3fs' 50 MiB block) leaves an invisible incomplete upload: give the
  bucket a lifecycle rule ``AbortIncompleteMultipartUpload`` to reclaim its parts.
* Every other filesystem (a local folder, ``memory://`` …) writes to a temporary
  name in the key's folder, ``.<uuid>.<host>.<pid>.<start>.tmp``, and renames it
  into place (local files are fsynced first, so not even a power cut leaves a
  short file under a key). A leading ``.`` is never part of a key, so no row can
  point to a temporary file. One that a killed process left behind is listed by
  ``partial_uploads()``: its ``<host>`` (a hash of the host name) and ``<pid>``
  tell whether its writer still runs when it ran on this host; otherwise only its
  age can (see ``Maintenance.sweep_orphan_files``). Two hosts (or containers)
  sharing a folder need different host names for that.

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
import os
import re
import uuid
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any, BinaryIO, cast

from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem
from fsspec.implementations.memory import MemoryFileSystem

from contactbook.adapters.writers import host_tag, writer_alive
from contactbook.ports.clock import Clock
from contactbook.ports.files import PartialUpload, StoredBlob

__all__ = ["FsspecFileStore"]

CHUNK_SIZE = 1024 * 1024
# One path segment: no separators, no drive letters, not "." or "..".
_SEGMENT = re.compile(r"[A-Za-z0-9_\-][A-Za-z0-9_.\-]*")
# A temporary name: .<uuid hex>.<host tag>.<pid>.<unix seconds at start>.tmp
_PARTIAL = re.compile(r"\.([0-9a-f]{32})\.([0-9a-f]{8})\.([0-9]{1,10})\.([0-9]{1,12})\.tmp")
# Filesystems whose object appears only once its upload completes: written directly.
_ATOMIC_UPLOAD_PROTOCOLS = frozenset({"s3", "s3a"})
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
        protocols = {fs.protocol} if isinstance(fs.protocol, str) else set(fs.protocol)
        self._direct = bool(protocols & _ATOMIC_UPLOAD_PROTOCOLS)

    @classmethod
    def from_url(cls, url: str, **storage_options: Any) -> FsspecFileStore:
        """The entry-point form: ``files=`` URLs resolve to this; ``storage_options``
        go to the fsspec filesystem (e.g. ``endpoint_url`` for S3)."""
        return cls(url, **storage_options)

    def __repr__(self) -> str:
        # The root only: a URL may carry credentials, and reprs end up in logs.
        return f"FsspecFileStore(root={self._root!r})"

    def put(self, data: BinaryIO, *, prefix: str) -> StoredBlob:
        """Stream ``data`` to a fresh random key, hashing and counting on the way;
        the key appears only once every byte is written (see the module docstring)."""
        prefix = prefix.rstrip("/")
        if prefix:
            _check_key(prefix)
        now = self._clock.now() if self._clock else datetime.now(UTC)
        now = now.astimezone(UTC)
        folder = f"{prefix}/{now:%Y}/{now:%m}" if prefix else f"{now:%Y}/{now:%m}"
        name = uuid.uuid4().hex
        key = f"{folder}/{name}"
        path = self._path(key)
        self._fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        if self._direct:
            size, sha256 = self._write_directly(data, path)
        else:
            partial = f"{self._root}/{folder}/{_partial_name(name, now)}"
            size, sha256 = self._write_and_move(data, partial, path)
        return StoredBlob(key=key, size=size, sha256=sha256)

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
        """Every stored key with its UTC modification time (for the orphan sweeper);
        temporary names and anything else that is not a key are left out."""
        for name, info in self._listing():
            if _is_key(name):
                yield name, _modified(info)

    def partial_uploads(self) -> Iterator[PartialUpload]:
        """Temporary files of writes not moved into place, with their writer's fate
        when it ran on this host."""
        for name, info in self._listing():
            folder, _, base = name.rpartition("/")
            match = _PARTIAL.fullmatch(base)
            if match is None or not _is_key(folder):
                continue
            _, host, pid, started = match.groups()
            modified = _modified(info) or datetime.fromtimestamp(int(started), UTC)
            yield PartialUpload(name, modified, writer_alive(host, int(pid)))

    def discard_partial(self, name: str) -> None:
        """Remove a temporary file; anything that is not one (a key) is refused."""
        folder, _, base = name.rpartition("/")
        if not _is_key(folder) or not _PARTIAL.fullmatch(base):
            raise ValueError(f"not a partial upload: {name!r}")
        self._remove(f"{self._root}/{name}")

    def _write_directly(self, data: BinaryIO, path: str) -> tuple[int, str]:
        """Upload to ``path`` itself; a failure aborts the upload instead of committing it."""
        out = self._fs.open(path, "wb")
        try:
            counted = _copy(data, out)
            out.close()  # the object appears here: one PUT, or the multipart's completion
        except BaseException:
            _abandon(out)
            with contextlib.suppress(OSError):
                self._remove(path)  # in case the failure came after the completion
            raise
        return counted

    def _write_and_move(self, data: BinaryIO, partial: str, path: str) -> tuple[int, str]:
        """Write to the temporary ``partial``, then rename it to ``path`` in one step."""
        try:
            with self._fs.open(partial, "wb") as out:
                counted = _copy(data, out)
                if isinstance(self._fs, LocalFileSystem):
                    out.flush()
                    os.fsync(out.fileno())
            # Fails (FileNotFoundError) if a sweep discarded the file of a writer
            # that stalled past the grace period: the upload fails, nothing is lost.
            self._fs.mv(partial, path)
        except BaseException:
            with contextlib.suppress(OSError):
                self._remove(partial)
            raise
        return counted

    def _listing(self) -> Iterator[tuple[str, Mapping[str, Any]]]:
        """Every file under the root: (path relative to the root, its fsspec info)."""
        found: Mapping[str, Mapping[str, Any]] = self._fs.find(self._root, detail=True)
        start = len(self._root) + 1
        for path, info in found.items():
            if info.get("type", "file") == "file":
                yield path[start:], info

    def _path(self, key: str) -> str:
        _check_key(key)
        return f"{self._root}/{key}"

    def _remove(self, path: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self._fs.rm_file(path)


def _copy(data: BinaryIO, out: Any) -> tuple[int, str]:
    """Write ``data`` to ``out`` in chunks: (bytes written, their SHA-256)."""
    digest = hashlib.sha256()
    size = 0
    for chunk in _chunks(data):
        digest.update(chunk)
        size += len(chunk)
        out.write(chunk)
    return size, digest.hexdigest()


def _abandon(out: Any) -> None:
    """Drop an unfinished upload without committing it.

    ``discard`` aborts a multipart upload; marking the file closed keeps
    ``close()`` (and the garbage collector's ``__del__``) from uploading the
    partial object after all.
    """
    with contextlib.suppress(Exception):
        out.discard()
    out.closed = True


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


def _partial_name(name: str, now: datetime) -> str:
    """The temporary name of the upload of ``name``: who writes it, since when."""
    started = max(0, int(now.timestamp()))
    return f".{name}.{host_tag()}.{os.getpid()}.{started}.tmp"


def _check_key(key: str) -> None:
    """Refuse anything that could leave the store's root (``..``, absolute, drive, ``\\``)."""
    if not _is_key(key):
        raise ValueError(f"invalid file key {key!r}")


def _is_key(key: str) -> bool:
    """Whether ``key`` could be a key: safe segments, none of them hidden or ``..``."""
    if not key or len(key) > 1024 or key.startswith("/"):
        return False
    return all(_SEGMENT.fullmatch(part) for part in key.split("/"))


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
