"""The behaviour every ``FileStore`` must have, as a test suite adapters subclass.

Usage (in an adapter's test module)::

    class TestMyFileStore(FileStoreContract):
        @pytest.fixture
        def file_store(self) -> FileStore:
            return MyFileStore(...)

A store that writes to temporary names can also override ``abandon_upload``
with a function that leaves one as a killed process would (a real SIGKILL is
best), so the contract checks it is listed apart from the keys and discarded.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

import pytest

from contactbook.ports.files import FileStore, StoredBlob

__all__ = ["FileStoreContract", "StallingSource", "stalled_put"]

MIB = 1024 * 1024
WAIT_SECONDS = 60
"""How long a test waits for the other thread: a bound for a hang, never a sleep."""


class StallingSource(io.RawIOBase):
    """A source that serves ``before`` bytes, then stalls until :meth:`resume`.

    ``stalled`` is set when the reader asks for more than ``before`` bytes, so
    everything it read before has been handed to the store's ``write``. After
    the stall it serves ``after`` more bytes, or raises ``failure``.
    """

    def __init__(self, before: int, after: int, failure: BaseException | None = None) -> None:
        super().__init__()
        self.data = os.urandom(before + after)
        self.stalled = threading.Event()
        self._resumed = threading.Event()
        self._before = before
        self._failure = failure
        self._served = 0

    def resume(self) -> None:
        self._resumed.set()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._served == self._before and not self.stalled.is_set():
            self.stalled.set()
            if not self._resumed.wait(WAIT_SECONDS):
                raise TimeoutError("the test never resumed the source")
            if self._failure is not None:
                raise self._failure
        count = min(len(buffer), len(self.data) - self._served, 256 * 1024)
        if self._served < self._before:
            count = min(count, self._before - self._served)
        buffer[:count] = self.data[self._served : self._served + count]
        self._served += count
        return count


class _PutInThread:
    """``file_store.put(source)`` in a thread, so a test can look at the store midway."""

    def __init__(self, file_store: FileStore, source: StallingSource) -> None:
        self.blob: StoredBlob | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(file_store, source), daemon=True)
        self._thread.start()

    def _run(self, file_store: FileStore, source: StallingSource) -> None:
        try:
            self.blob = file_store.put(io.BufferedReader(source), prefix="midway")
        except BaseException as exc:
            self.error = exc

    def join(self) -> None:
        self._thread.join(WAIT_SECONDS)
        assert not self._thread.is_alive(), "put did not finish"


@contextmanager
def stalled_put(file_store: FileStore, source: StallingSource) -> Iterator[_PutInThread]:
    """Start a put of ``source``; yield once it stalls; resume and join it afterwards."""
    put = _PutInThread(file_store, source)
    try:
        assert source.stalled.wait(WAIT_SECONDS), "put never read up to the stall"
        yield put
    finally:
        source.resume()
        put.join()


class FileStoreContract:
    """Subclass as ``TestXxx`` and override the ``file_store`` fixture."""

    @pytest.fixture
    def file_store(self) -> FileStore:
        pytest.fail("override the file_store fixture")  # a subclass must provide it

    @pytest.fixture
    def abandon_upload(self) -> Callable[[FileStore], None] | None:
        """Override with a function that leaves a partial upload in the store as a
        process killed midway ``put`` would; None: this store never leaves one."""
        return None

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

    def test_a_put_midway_shows_nothing_under_any_key(self, file_store: FileStore) -> None:
        source = StallingSource(before=2 * MIB, after=MIB + 5)
        with stalled_put(file_store, source) as put:
            # Two chunks are written somewhere, but no key (that a row could point to) has them.
            assert list(file_store.keys()) == []
            for partial in file_store.partial_uploads():
                assert partial.writer_alive is not False
                for operation in (file_store.open, file_store.delete, file_store.exists):
                    with pytest.raises(ValueError):
                        operation(partial.name)
        assert put.error is None and put.blob is not None
        assert put.blob.sha256 == hashlib.sha256(source.data).hexdigest()
        assert list(dict(file_store.keys())) == [put.blob.key]
        assert list(file_store.partial_uploads()) == []
        with file_store.open(put.blob.key) as stream:
            assert stream.read() == source.data

    def test_a_source_failing_midway_leaves_no_key_and_no_partial_upload(
        self, file_store: FileStore
    ) -> None:
        source = StallingSource(before=2 * MIB, after=MIB, failure=OSError("client went away"))
        with stalled_put(file_store, source) as put:
            pass
        assert isinstance(put.error, OSError) and put.blob is None
        assert list(file_store.keys()) == []
        assert list(file_store.partial_uploads()) == []

    def test_discard_partial_refuses_keys(self, file_store: FileStore) -> None:
        blob = file_store.put(io.BytesIO(b"a real blob"), prefix="evidence")
        for name in (blob.key, "evidence", "../outside/.x.tmp", "/abs/.x.tmp", ""):
            with pytest.raises(ValueError):
                file_store.discard_partial(name)
        with file_store.open(blob.key) as stream:
            assert stream.read() == b"a real blob"

    def test_a_partial_upload_of_a_killed_writer_is_listed_apart_and_discarded(
        self,
        file_store: FileStore,
        abandon_upload: Callable[[FileStore], None] | None,
    ) -> None:
        if abandon_upload is None:
            pytest.skip("no killed put can leave a partial upload in this store")
        kept = file_store.put(io.BytesIO(b"complete"), prefix="evidence")
        abandon_upload(file_store)
        assert list(dict(file_store.keys())) == [kept.key]
        [partial] = file_store.partial_uploads()
        assert partial.writer_alive is False
        assert partial.modified is None or partial.modified.utcoffset() is not None
        for operation in (file_store.open, file_store.delete, file_store.exists):
            with pytest.raises(ValueError):
                operation(partial.name)
        file_store.discard_partial(partial.name)
        file_store.discard_partial(partial.name)  # gone already: fine
        assert list(file_store.partial_uploads()) == []
        assert list(dict(file_store.keys())) == [kept.key]

    def test_discarding_the_partial_upload_of_a_live_writer_fails_its_put(
        self, file_store: FileStore
    ) -> None:
        """What a sweep does to a writer stalled past its grace: the put fails, and
        no key ever holds the bytes it had written before."""
        source = StallingSource(before=2 * MIB, after=MIB)
        with stalled_put(file_store, source) as put:
            partials = list(file_store.partial_uploads())
            for partial in partials:
                file_store.discard_partial(partial.name)
        if partials:
            assert put.blob is None and isinstance(put.error, OSError)
            assert list(file_store.keys()) == []
        else:  # a store that writes atomically by itself has nothing to discard
            assert put.error is None and put.blob is not None
        assert list(file_store.partial_uploads()) == []
