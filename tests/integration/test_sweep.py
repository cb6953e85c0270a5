"""``book.maintenance.sweep_orphan_files`` on the memory and the SQLite wirings.

The store's modification times are real (the filesystem's), the book's clock is
a ``MovableClock``: each test reads the times back through ``book.files.keys()``
and sets the clock between them, so "older than the grace period" is exact and
no test sleeps for it.
"""

from __future__ import annotations

import io
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fsspec
import pytest

import contactbook
from contactbook.adapters.files.fsspec import CHUNK_SIZE
from contactbook.testing import FastPasswordHasher, MovableClock
from contactbook.testing.files_contract import MIB, StallingSource, stalled_put
from contactbook.usecases.maintenance import PARTIAL_GRACE, SweepReport
from tests.integration.test_uploads_public import Scene, build_scene, corpus
from tests.killed_writer import kill_midway

GRACE = timedelta(hours=24)
WIRINGS = ["memory", "sqlite"]


class SweepScene:
    """A :class:`Scene` whose file store URL is known, so a test can alter bytes."""

    def __init__(self, scene: Scene, files_url: str) -> None:
        self.scene = scene
        self.book = scene.book
        self.clock = scene.clock
        self.files_url = files_url

    def modified(self, key: str) -> datetime:
        when = dict(self.book.files.keys())[key]
        assert when is not None
        return when

    def orphan(self, data: bytes = b"nobody points here", prefix: str = "posts/KLP") -> str:
        return self.book.files.put(io.BytesIO(data), prefix=prefix).key

    def overwrite(self, key: str, data: bytes) -> None:
        """Change a stored file's bytes behind the book's back (disk rot, an intruder)."""
        with fsspec.open(f"{self.files_url}/{key}", "wb") as out:
            out.write(data)

    def sweep(self, grace: timedelta = GRACE, verify_hashes: bool = True) -> SweepReport:
        return self.book.maintenance.sweep_orphan_files(grace=grace, verify_hashes=verify_hashes)

    def post_with_photo(self) -> tuple[str, str, str]:
        """A post with one JPEG: (post id, its key, its thumbnail's key)."""
        view = self.scene.post(contactbook.Upload.from_bytes("photo.jpg", corpus("valid.jpg")))
        with self.book.storage.unit_of_work() as uow:
            post = uow.posts.get(view.id)
        assert post is not None
        [stored] = post.attachments
        assert stored.thumbnail_key is not None
        return post.id, stored.storage_key, stored.thumbnail_key

    def read_attachment(self, post_id: str) -> bytes:
        family = self.scene.family
        [attachment] = self.book.posts.get(family, post_id).attachments
        with self.book.posts.attachment(family, post_id, attachment.id).stream as stream:
            return stream.read()


@pytest.fixture(params=WIRINGS)
def sweep_scene(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SweepScene]:
    yield from open_scene(request.param, tmp_path)


@pytest.fixture
def folder_scene(tmp_path: Path) -> Iterator[SweepScene]:
    """The SQLite wiring, whose files are in a local folder another process can write."""
    yield from open_scene("sqlite", tmp_path)


def open_scene(wiring: str, tmp_path: Path) -> Iterator[SweepScene]:
    clock = MovableClock(datetime.now(UTC))
    if wiring == "sqlite":
        files_url = str(tmp_path / "files")
        database = f"sqlite:///{tmp_path / 'contactbook.db'}"
    else:
        files_url = f"memory://contactbook-sweep-{uuid.uuid4().hex}"
        database = "memory://"
    book = contactbook.open(
        database=database,
        files=files_url,
        mail="memory://",
        sms="memory://",
        clock=clock,
        hasher=FastPasswordHasher(),
        migrate=wiring == "sqlite",
    )
    try:
        yield SweepScene(build_scene(book, clock), files_url)
    finally:
        book.close()
        if wiring == "memory":
            fsspec.filesystem("memory").rm(files_url.removeprefix("memory://"), recursive=True)


def test_an_orphan_older_than_grace_goes_a_recent_one_and_referenced_ones_stay(
    sweep_scene: SweepScene,
) -> None:
    scene = sweep_scene
    post_id, key, thumbnail = scene.post_with_photo()
    old = scene.orphan(b"left by a crash")
    old_thumbnail = scene.orphan(b"its thumbnail", prefix="posts/KLP/thumbnails")
    recent = scene.orphan(b"a transaction still in flight wrote me")
    while scene.modified(recent) <= max(scene.modified(old), scene.modified(old_thumbnail)):
        recent = scene.orphan(b"a transaction still in flight wrote me")  # coarse clocks
    older, newer = max(scene.modified(old), scene.modified(old_thumbnail)), scene.modified(recent)
    # Between the two: the old ones are past the grace period, the recent one is not.
    scene.clock.set(newer + GRACE - (newer - older) / 2)
    referenced_before = set(dict(scene.book.files.keys())) - {old, old_thumbnail, recent}

    report = scene.sweep(grace=GRACE)

    assert sorted(report.removed) == sorted([old, old_thumbnail])
    assert report.kept_recent == 1
    assert (report.missing, report.corrupted) == ((), ())
    stored = set(dict(scene.book.files.keys()))
    assert stored == referenced_before | {recent}
    assert {key, thumbnail} <= stored  # old enough, but a post points to them
    assert scene.read_attachment(post_id).startswith(b"\xff\xd8\xff")

    # Once the grace period is over for it too, the recent orphan goes; nothing else does.
    scene.clock.advance(hours=24)
    again = scene.sweep(grace=GRACE)
    assert again.removed == (recent,)
    assert again.kept_recent == 0
    assert set(dict(scene.book.files.keys())) == referenced_before


def test_a_row_whose_file_was_deleted_is_reported_missing(sweep_scene: SweepScene) -> None:
    scene = sweep_scene
    post_id, key, thumbnail = scene.post_with_photo()
    scene.book.files.delete(key)
    scene.book.files.delete(thumbnail)
    for verify_hashes in (True, False):
        report = scene.sweep(grace=GRACE, verify_hashes=verify_hashes)
        assert report.missing == (("post", post_id, key), ("post", post_id, thumbnail))
        assert report.corrupted == ()
        assert report.removed == ()


def test_a_file_whose_bytes_changed_is_reported_corrupted(sweep_scene: SweepScene) -> None:
    scene = sweep_scene
    post_id, key, _ = scene.post_with_photo()
    notice = scene.scene.notice(contactbook.Upload.from_bytes("報名表.pdf", corpus("valid.pdf")))
    with scene.book.storage.unit_of_work() as uow:
        stored = uow.notices.get(notice.id)
    assert stored is not None
    [notice_file] = stored.attachments
    scene.overwrite(key, b"\xff\xd8\xff not the photo any more")
    scene.overwrite(notice_file.storage_key, corpus("valid.pdf") + b"%appended\n")

    report = scene.sweep(grace=GRACE)
    assert set(report.corrupted) == {
        ("post", post_id, key),
        ("notice", notice.id, notice_file.storage_key),
    }
    assert (report.missing, report.removed) == ((), ())
    # Without reading the files back only existence is checked.
    assert scene.sweep(grace=GRACE, verify_hashes=False).corrupted == ()


def test_deleted_notices_still_hold_their_files(sweep_scene: SweepScene) -> None:
    scene = sweep_scene
    notice = scene.scene.notice(contactbook.Upload.from_bytes("附件.jpg", corpus("valid.jpg")))
    scene.book.notices.delete(scene.scene.reviewer, notice.id)
    before = set(dict(scene.book.files.keys()))
    scene.clock.advance(days=30)
    report = scene.sweep(grace=GRACE)
    assert report.removed == ()
    assert set(dict(scene.book.files.keys())) == before


def test_every_sweep_is_audited_with_its_counts(sweep_scene: SweepScene) -> None:
    scene = sweep_scene
    scene.orphan()
    scene.clock.advance(days=2)
    report = scene.sweep(grace=GRACE, verify_hashes=False)
    assert len(report.removed) == 1
    with scene.book.storage.unit_of_work() as uow:
        event = uow.audit.last()
    assert event is not None
    assert (event.action, event.actor_kind, event.actor_id) == (
        "maintenance.sweep_files",
        "system",
        None,
    )
    details = dict(event.details)
    assert details["removed"] == "1"
    assert (details["missing"], details["corrupted"], details["kept_recent"]) == ("0", "0", "0")
    assert (details["partials_removed"], details["partials_kept"]) == ("0", "0")
    assert details["hashes_verified"] == "no"
    assert int(details["checked"]) > 0  # the scene's evidence
    assert scene.book.audit.verify()


def test_a_negative_grace_is_refused(sweep_scene: SweepScene) -> None:
    with pytest.raises(ValueError, match="grace"):
        sweep_scene.sweep(grace=timedelta(seconds=-1))
    with pytest.raises(ValueError, match="grace"):
        sweep_scene.book.maintenance.sweep_orphan_files(partial_grace=timedelta(seconds=-1))


def files_on_disk(folder: str) -> set[str]:
    """Every file under ``folder``, hidden ones included, relative to it."""
    return {
        path.relative_to(folder).as_posix() for path in Path(folder).rglob("*") if path.is_file()
    }


def test_an_upload_killed_midway_leaves_no_key_and_its_leftover_goes_at_once(
    folder_scene: SweepScene,
) -> None:
    """Issue 12, finding 13: SIGKILL midway left a truncated photo under its key
    (removed only after the 24 hours' grace)."""
    scene = folder_scene
    before = files_on_disk(scene.files_url)
    kill_midway("put", scene.files_url, str(3 * CHUNK_SIZE))
    [leftover] = files_on_disk(scene.files_url) - before
    assert leftover.rpartition("/")[2].startswith(".")  # a temporary name, never a key
    assert set(dict(scene.book.files.keys())) == before

    report = scene.sweep(grace=GRACE)  # the book's clock has not moved: no grace is over

    assert report.partials_removed == (leftover,)
    assert (report.partials_kept, report.removed, report.kept_recent) == (0, (), 0)
    assert files_on_disk(scene.files_url) == before


def test_an_upload_in_flight_is_left_alone_and_completes(sweep_scene: SweepScene) -> None:
    scene = sweep_scene
    source = StallingSource(before=2 * MIB, after=MIB)
    with stalled_put(scene.book.files, source) as put:
        report = scene.sweep(grace=GRACE)
        assert (report.partials_removed, report.partials_kept) == ((), 1)
    assert put.error is None and put.blob is not None
    with scene.book.files.open(put.blob.key) as stream:
        assert stream.read() == source.data
    assert list(scene.book.files.partial_uploads()) == []


def test_a_partial_upload_of_a_writer_that_may_live_goes_after_the_partial_grace(
    folder_scene: SweepScene,
) -> None:
    """Another host's writer (or one whose pid was reused) cannot be asked: its
    file goes once it has not been written to for ``partial_grace``."""
    scene = folder_scene
    folder = Path(scene.files_url) / "posts" / "KLP" / "2025" / "03"
    folder.mkdir(parents=True)
    name = f".{uuid.uuid4().hex}.00000000.{os.getpid()}.1741500000.tmp"
    (folder / name).write_bytes(b"half a photo from another host")
    [partial] = scene.book.files.partial_uploads()
    assert partial.writer_alive is None and partial.modified is not None

    scene.clock.set(partial.modified + PARTIAL_GRACE - timedelta(seconds=1))
    assert scene.sweep(grace=GRACE).partials_kept == 1
    assert (folder / name).exists()

    scene.clock.advance(seconds=1)
    assert scene.sweep(grace=GRACE).partials_removed == (f"posts/KLP/2025/03/{name}",)
    assert not (folder / name).exists()


def test_sql_stored_files_read_past_one_chunk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The SQL adapter pages through each table by id; rows across chunks all count."""
    from contactbook.adapters.storage.sqlalchemy import SqlAlchemyStorage
    from contactbook.adapters.storage.sqlalchemy.repositories import stored_files
    from contactbook.testing.storage_contract import (
        make_notice,
        make_post,
        make_stored_file,
        seed,
        seed_world,
    )

    monkeypatch.setattr(stored_files, "_STORED_FILES_CHUNK", 2)
    storage = SqlAlchemyStorage.from_url(f"sqlite:///{tmp_path / 'chunks.db'}", migrate=True)
    try:
        seed_world(storage)
        posts = [
            make_post(f"post-{n}", attachments=(make_stored_file(f"post-{n}-file"),))
            for n in range(5)
        ]
        notices = [
            make_notice(f"notice-{n}", attachments=(make_stored_file(f"notice-{n}-file"),))
            for n in range(3)
        ]
        seed(storage, *posts, *notices)
        with storage.unit_of_work() as uow:
            listed = [(owner, owner_id, f.id) for owner, owner_id, f in uow.stored_files()]
    finally:
        storage.close()
    assert [row for row in listed if row[0] != "application"] == [
        *(("post", f"post-{n}", f"post-{n}-file") for n in range(5)),
        *(("notice", f"notice-{n}", f"notice-{n}-file") for n in range(3)),
    ]
    assert len([row for row in listed if row[0] == "application"]) == 6
