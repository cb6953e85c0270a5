"""The behaviour every ``FileStore`` must have, as a test suite adapters subclass.

Usage (in an adapter's test module)::

    class TestMyFileStore(FileStoreContract):
        @pytest.fixture
        def file_store(self) -> FileStore:
            return MyFileStore(...)
"""

from __future__ import annotations

import hashlib
import io
import os
import re
from datetime import datetime

import pytest

from contactbook.ports.files import FileStore

__all__ = ["FileStoreContract"]


class FileStoreContract:
    """Subclass as ``TestXxx`` and override the ``file_store`` fixture."""

    @pytest.fixture
    def file_store(self) -> FileStore:
        pytest.fail("override the file_store fixture")  # a subclass must provide it

    def test_put_then_open_returns_the_same_bytes_with_size_and_sha256(
        self, file_store: FileStore
    ) -> None:
        data = b"\x89PNG not really, but bytes \x00\xff"
        blob = file_store.put(io.BytesIO(data), prefix="evidence")
        assert blob.size == len(data)
        assert blob.sha256 == hashlib.sha256(data).hexdigest()
        with file_store.open(blob.key) as stream:
            assert stream.read() == data

    def test_empty_stream_is_stored_as_zero_bytes(self, file_store: FileStore) -> None:
        blob = file_store.put(io.BytesIO(b""), prefix="evidence")
        assert blob.size == 0
        assert blob.sha256 == hashlib.sha256(b"").hexdigest()
        with file_store.open(blob.key) as stream:
            assert stream.read() == b""

    def test_two_puts_get_different_keys(self, file_store: FileStore) -> None:
        first = file_store.put(io.BytesIO(b"same"), prefix="posts")
        second = file_store.put(io.BytesIO(b"same"), prefix="posts")
        assert first.key != second.key
        assert first.sha256 == second.sha256

    def test_key_is_under_the_prefix_and_random(self, file_store: FileStore) -> None:
        blob = file_store.put(io.BytesIO(b"x"), prefix="notices/attachments")
        assert blob.key.startswith("notices/attachments/")
        tail = blob.key.removeprefix("notices/attachments/")
        # Nothing a user chose can be in the key: the store is never given a name,
        # and the part after the prefix is plain ASCII safe in any path or URL.
        assert re.fullmatch(r"[A-Za-z0-9_\-]+(/[A-Za-z0-9_\-.]+)*", tail)
        assert ".." not in blob.key and not blob.key.startswith("/")

    def test_delete_then_open_raises_file_not_found(self, file_store: FileStore) -> None:
        blob = file_store.put(io.BytesIO(b"gone soon"), prefix="tmp")
        file_store.delete(blob.key)
        with pytest.raises(FileNotFoundError):
            file_store.open(blob.key)

    def test_open_of_a_key_never_put_raises_file_not_found(self, file_store: FileStore) -> None:
        with pytest.raises(FileNotFoundError):
            file_store.open("tmp/2000/01/0123456789abcdef0123456789abcdef")

    def test_delete_of_a_missing_key_is_fine(self, file_store: FileStore) -> None:
        file_store.delete("tmp/2000/01/0123456789abcdef0123456789abcdef")
        blob = file_store.put(io.BytesIO(b"twice"), prefix="tmp")
        file_store.delete(blob.key)
        file_store.delete(blob.key)

    def test_exists(self, file_store: FileStore) -> None:
        blob = file_store.put(io.BytesIO(b"here"), prefix="tmp")
        assert file_store.exists(blob.key)
        file_store.delete(blob.key)
        assert not file_store.exists(blob.key)
        assert not file_store.exists("tmp/2000/01/0123456789abcdef0123456789abcdef")

    def test_keys_lists_what_was_put_with_aware_times(self, file_store: FileStore) -> None:
        kept = file_store.put(io.BytesIO(b"a"), prefix="a")
        other = file_store.put(io.BytesIO(b"b"), prefix="b/c")
        dropped = file_store.put(io.BytesIO(b"d"), prefix="a")
        file_store.delete(dropped.key)
        listed = dict(file_store.keys())
        assert set(listed) == {kept.key, other.key}
        for modified in listed.values():
            assert modified is None or (
                isinstance(modified, datetime) and modified.utcoffset() is not None
            )

    def test_large_stream_round_trip(self, file_store: FileStore) -> None:
        data = os.urandom(5 * 1024 * 1024 + 7)
        blob = file_store.put(io.BytesIO(data), prefix="large")
        assert blob.size == len(data)
        assert blob.sha256 == hashlib.sha256(data).hexdigest()
        with file_store.open(blob.key) as stream:
            assert stream.read() == data

    @pytest.mark.parametrize(
        "key",
        [
            "../outside",
            "a/../../outside",
            "a/./b",
            "/etc/passwd",
            "",
            "a//b",
            "a\\..\\b",
            "C:/windows/system32",
        ],
    )
    def test_path_traversal_keys_are_refused(self, file_store: FileStore, key: str) -> None:
        for operation in (file_store.open, file_store.delete, file_store.exists):
            with pytest.raises(ValueError):
                operation(key)

    @pytest.mark.parametrize("prefix", ["../up", "/abs", "a/../../b"])
    def test_path_traversal_prefixes_are_refused(self, file_store: FileStore, prefix: str) -> None:
        with pytest.raises(ValueError):
            file_store.put(io.BytesIO(b"x"), prefix=prefix)
