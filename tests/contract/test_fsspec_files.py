"""FileStoreContract on fsspec's memory filesystem, a local folder and a file:// URL."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.killed_writer import kill_midway

from contactbook.adapters.files.fsspec import CHUNK_SIZE, FsspecFileStore
from contactbook.ports.files import FileStore
from contactbook.testing.fakes import MovableClock
from contactbook.testing.files_contract import FileStoreContract


def files_on_disk(folder: Path) -> list[Path]:
    """Every file under ``folder``, hidden ones included, relative to it."""
    return sorted(path.relative_to(folder) for path in folder.rglob("*") if path.is_file())


def killed_put(url: str) -> None:
    """A process ``put``s 3 MiB into the store at ``url`` and is SIGKILLed midway."""
    kill_midway("put", url, str(3 * CHUNK_SIZE))


class TestMemoryFileStore(FileStoreContract):
    @pytest.fixture
    def file_store(self) -> FileStore:
        return FsspecFileStore("memory://")

    def test_two_bare_memory_stores_never_see_each_other(self) -> None:
        first, second = FsspecFileStore("memory://"), FsspecFileStore.from_url("memory://")
        blob = first.put(io.BytesIO(b"mine"), prefix="p")
        assert first.exists(blob.key)
        assert not second.exists(blob.key)
        assert list(second.keys()) == []

    def test_memory_url_with_a_path_is_shared_like_fsspec(self) -> None:
        # An explicit memory path is a place, as in fsspec: two stores on it agree.
        first = FsspecFileStore("memory://contactbook-test-shared")
        second = FsspecFileStore("memory://contactbook-test-shared")
        blob = first.put(io.BytesIO(b"ours"), prefix="p")
        try:
            assert second.open(blob.key).read() == b"ours"
        finally:
            first.delete(blob.key)


class TestLocalFileStore(FileStoreContract):
    @pytest.fixture
    def file_store(self, tmp_path: Path) -> FileStore:
        return FsspecFileStore(str(tmp_path / "files"))

    @pytest.fixture
    def abandon_upload(self, tmp_path: Path) -> Callable[[FileStore], None]:
        return lambda _: killed_put(str(tmp_path / "files"))

    def test_a_put_killed_midway_leaves_no_file_under_a_key(self, tmp_path: Path) -> None:
        """Issue 12, finding 13: a SIGKILL midway left 1.5 MB of a photo under its key."""
        folder = tmp_path / "files"
        store = FsspecFileStore(str(folder))
        killed_put(str(folder))
        assert list(store.keys()) == []
        [leftover] = files_on_disk(folder)
        assert leftover.name.startswith(".") and leftover.name.endswith(".tmp")
        assert (folder / leftover).stat().st_size == 3 * CHUNK_SIZE  # all it was given
        [partial] = store.partial_uploads()
        assert (partial.name, partial.writer_alive) == (leftover.as_posix(), False)

    def test_hidden_files_that_are_no_keys_are_neither_listed_nor_partial(
        self, tmp_path: Path
    ) -> None:
        """A ``.DS_Store`` copied in is no key: the sweep must never be handed one."""
        store = FsspecFileStore(str(tmp_path / "files"))
        blob = store.put(io.BytesIO(b"kept"), prefix="p")
        (tmp_path / "files" / "p" / ".DS_Store").write_bytes(b"Finder")
        (tmp_path / "files" / ".x.tmp").write_bytes(b"not in a key's folder")
        assert list(dict(store.keys())) == [blob.key]
        assert list(store.partial_uploads()) == []

    def test_a_partial_upload_of_another_host_reports_no_writer_fate(self, tmp_path: Path) -> None:
        store = FsspecFileStore(str(tmp_path / "files"))
        folder = tmp_path / "files" / "p" / "2025" / "03"
        folder.mkdir(parents=True)
        name = f".{'ab' * 16}.00000000.{os.getpid()}.1741500000.tmp"
        (folder / name).write_bytes(b"half")
        os.utime(folder / name, (1741500000, 1741500000))
        [partial] = store.partial_uploads()
        assert partial.name == f"p/2025/03/{name}"
        assert partial.writer_alive is None  # the pid is ours, but the host is not
        assert partial.modified == datetime.fromtimestamp(1741500000, UTC)

    def test_key_is_prefix_year_month_uuid_and_file_is_under_the_root(self, tmp_path: Path) -> None:
        clock = MovableClock(datetime(2025, 3, 9, 23, 30, tzinfo=UTC))
        store = FsspecFileStore(str(tmp_path / "files"), clock=clock)
        blob = store.put(io.BytesIO(b"abc"), prefix="evidence")
        prefix, year, month, name = blob.key.split("/")
        assert (prefix, year, month) == ("evidence", "2025", "03")
        assert len(name) == 32 and int(name, 16) >= 0
        assert (tmp_path / "files" / blob.key).read_bytes() == b"abc"

    def test_keys_report_the_modification_time_in_utc(self, tmp_path: Path) -> None:
        store = FsspecFileStore(str(tmp_path / "files"))
        before = datetime.now(UTC).replace(microsecond=0)
        blob = store.put(io.BytesIO(b"abc"), prefix="p")
        [(key, modified)] = list(store.keys())
        assert key == blob.key
        assert modified is not None and modified.tzinfo is UTC
        assert modified >= before

    def test_a_failing_source_leaves_no_partial_file(self, tmp_path: Path) -> None:
        class Broken(io.RawIOBase):
            def readable(self) -> bool:
                return True

            def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
                raise OSError("connection reset")

        store = FsspecFileStore(str(tmp_path / "files"))
        with pytest.raises(OSError, match="connection reset"):
            store.put(io.BufferedReader(Broken()), prefix="p")
        assert list(store.keys()) == []


class TestFileUrlStore(FileStoreContract):
    @pytest.fixture
    def file_store(self, tmp_path: Path) -> FileStore:
        return FsspecFileStore.from_url((tmp_path / "via-url").as_uri())

    @pytest.fixture
    def abandon_upload(self, tmp_path: Path) -> Callable[[FileStore], None]:
        return lambda _: killed_put((tmp_path / "via-url").as_uri())

    def test_writes_into_the_folder_of_the_url(self, tmp_path: Path) -> None:
        store = FsspecFileStore.from_url((tmp_path / "via-url").as_uri())
        blob = store.put(io.BytesIO(b"on disk"), prefix="p")
        assert (tmp_path / "via-url" / blob.key).read_bytes() == b"on disk"
