"""MailerContract on the in-memory outbox and the folder of .eml files, plus their extras."""

from __future__ import annotations

import email.policy
import os
import threading
import time
from datetime import UTC, datetime
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from tests.killed_writer import kill_midway

from contactbook.adapters.mail.folder import TEMPORARY_GRACE, FolderMailer
from contactbook.adapters.mail.memory import MemoryMailer
from contactbook.adapters.writers import host_tag
from contactbook.ports.delivery import (
    Mailer,
    OutgoingMail,
    PermanentDeliveryFailure,
    TemporaryDeliveryFailure,
)
from contactbook.testing.delivery_contract import ZH_SUBJECT, MailerContract, SentMails
from contactbook.testing.fakes import MovableClock

NO_SUCH_PID = 2**22 + 1
"""Above the largest pid Linux can give (its pid_max is at most 2**22): a dead writer."""
WAIT_SECONDS = 60


def parse_eml(path: Path) -> EmailMessage:
    with path.open("rb") as handle:
        return BytesParser(policy=email.policy.default).parse(handle)


def read_folder(folder: Path) -> list[tuple[str, str, str, str]]:
    mails = []
    for path in sorted(folder.glob("*.eml")):
        msg = parse_eml(path)
        message_id = str(msg["Message-ID"]).strip("<>").removesuffix("@contactbook")
        body = msg.get_body(("plain",))
        assert body is not None
        content = body.get_content()
        assert isinstance(content, str)
        mails.append((message_id, str(msg["To"]), str(msg["Subject"]), content))
    return mails


class TestMemoryMailer(MailerContract):
    @pytest.fixture
    def memory_mailer(self) -> MemoryMailer:
        return MemoryMailer.from_url("memory://")

    @pytest.fixture
    def mailer(self, memory_mailer: MemoryMailer) -> Mailer:
        return memory_mailer

    @pytest.fixture
    def sent_mails(self, memory_mailer: MemoryMailer) -> SentMails:
        return lambda: [(m.message_id, m.to, m.subject, m.body) for m in memory_mailer.outbox]

    def test_fail_next_raises_then_recovers(self, memory_mailer: MemoryMailer) -> None:
        mail = OutgoingMail("m1", "a@example.org", "s", "b")
        memory_mailer.fail_next(TemporaryDeliveryFailure("server down"), times=2)
        for _ in range(2):
            with pytest.raises(TemporaryDeliveryFailure, match="server down"):
                memory_mailer.send(mail)
        assert memory_mailer.outbox == []
        memory_mailer.send(mail)
        assert memory_mailer.outbox == [mail]

    def test_failures_queue_in_order(self, memory_mailer: MemoryMailer) -> None:
        memory_mailer.fail_next(TemporaryDeliveryFailure("first"))
        memory_mailer.fail_next(PermanentDeliveryFailure("second"))
        mail = OutgoingMail("m1", "a@example.org", "s", "b")
        with pytest.raises(TemporaryDeliveryFailure):
            memory_mailer.send(mail)
        with pytest.raises(PermanentDeliveryFailure):
            memory_mailer.send(mail)
        memory_mailer.send(mail)
        assert len(memory_mailer.outbox) == 1

    def test_fail_next_needs_a_positive_count(self, memory_mailer: MemoryMailer) -> None:
        with pytest.raises(ValueError):
            memory_mailer.fail_next(TemporaryDeliveryFailure("x"), times=0)

    def test_from_url_refuses_other_schemes(self) -> None:
        with pytest.raises(ValueError):
            MemoryMailer.from_url("smtp://localhost")


class TestFolderMailer(MailerContract):
    @pytest.fixture
    def folder(self, tmp_path: Path) -> Path:
        return tmp_path / "outbox"

    @pytest.fixture
    def mailer(self, folder: Path) -> Mailer:
        return FolderMailer(folder)

    @pytest.fixture
    def sent_mails(self, folder: Path) -> SentMails:
        return lambda: read_folder(folder)

    def test_creates_the_folder(self, folder: Path) -> None:
        FolderMailer(folder)
        assert folder.is_dir()

    def test_same_message_id_twice_is_one_file(self, mailer: Mailer, folder: Path) -> None:
        mailer.send(OutgoingMail("msg-1", "a@example.org", "舊主旨", "舊"))
        mailer.send(OutgoingMail("msg-1", "a@example.org", "新主旨", "新"))
        files = list(folder.glob("*.eml"))
        assert len(files) == 1
        assert str(parse_eml(files[0])["Subject"]) == "新主旨"

    def test_similar_message_ids_do_not_overwrite_each_other(
        self, mailer: Mailer, folder: Path
    ) -> None:
        mailer.send(OutgoingMail("b", "a@example.org", "one", "1"))
        mailer.send(OutgoingMail("a-b", "a@example.org", "two", "2"))
        assert len(list(folder.glob("*.eml"))) == 2

    def test_eml_headers(self, tmp_path: Path) -> None:
        moment = datetime(2025, 6, 1, 8, 30, 15, tzinfo=UTC)
        mailer = FolderMailer(tmp_path, clock=MovableClock(moment))
        mailer.send(OutgoingMail("abc123", "王小明 <family@example.org>", ZH_SUBJECT, "內容"))
        [path] = tmp_path.glob("*.eml")
        assert path.name == "20250601T083015000000Z-abc123.eml"
        raw = path.read_bytes()
        header_block = raw.split(b"\r\n\r\n", 1)[0]
        assert header_block.isascii(), "headers must be RFC 2047-encoded ASCII"
        msg = parse_eml(path)
        assert msg["Message-ID"] == "<abc123@contactbook>"
        assert msg["From"] == "contactbook@localhost"
        assert msg["To"].addresses[0].addr_spec == "family@example.org"
        assert msg["To"].addresses[0].display_name == "王小明"
        assert msg["Subject"] == ZH_SUBJECT
        assert parsedate_to_datetime(msg["Date"]) == moment
        assert msg.get_content_charset() == "utf-8"

    def test_sender_is_configurable(self, tmp_path: Path) -> None:
        FolderMailer(tmp_path, sender="noreply@moj.gov.tw").send(
            OutgoingMail("x1", "a@example.org", "s", "b")
        )
        [path] = tmp_path.glob("*.eml")
        assert parse_eml(path)["From"] == "noreply@moj.gov.tw"

    def test_a_send_killed_midway_leaves_a_temporary_file_the_next_mailer_removes(
        self, folder: Path
    ) -> None:
        """Issue 12, finding 14: a dispatcher SIGKILLed while writing the outbox left
        hidden .tmp files that nothing removed."""
        FolderMailer(folder).send(OutgoingMail("sent-1", "a@example.org", "s", "b"))
        [sent] = folder.glob("*.eml")
        sent_before = (sent.read_bytes(), sent.stat().st_mtime_ns)
        kill_midway("mail", str(folder))  # killed after writing, before the rename
        [leftover] = folder.glob(".*.tmp")
        assert sorted(folder.iterdir()) == sorted([sent, leftover])

        FolderMailer(folder)  # the dispatcher starts again

        assert list(folder.iterdir()) == [sent]
        assert (sent.read_bytes(), sent.stat().st_mtime_ns) == sent_before

    def test_the_sweep_removes_temporary_files_of_dead_or_hung_writers_only(
        self, folder: Path
    ) -> None:
        folder.mkdir()
        old = time.time() - TEMPORARY_GRACE.total_seconds() - 1
        here, me = host_tag(), os.getpid()
        names = {
            "20250601T083015000000Z-abc.eml": old,  # a sent mail, however old: never touched
            ".DS_Store": old,  # not a temporary file of ours
            f".{here}.{NO_SUCH_PID}.abcd1234.tmp": None,  # its writer was killed: goes now
            f".{here}.{me}.hung0000.tmp": old,  # its writer runs, but hung: goes
            f".{here}.{me}.busy1234.tmp": None,  # its writer is busy with it: stays
            f".00000000.{NO_SUCH_PID}.other123.tmp": None,  # another host's pid: stays…
            f".00000000.{NO_SUCH_PID}.other456.tmp": old,  # …until it is old
            ".k3j4h5g6.tmp": old,  # an earlier version's name, no writer: goes by age
            ".q1w2e3r4.tmp": None,
        }
        for name, modified in names.items():
            (folder / name).write_bytes(b"x")
            if modified is not None:
                os.utime(folder / name, (modified, modified))

        mailer = FolderMailer(folder)

        assert sorted(path.name for path in folder.iterdir()) == sorted(
            [
                "20250601T083015000000Z-abc.eml",
                ".DS_Store",
                f".{here}.{me}.busy1234.tmp",
                f".00000000.{NO_SUCH_PID}.other123.tmp",
                ".q1w2e3r4.tmp",
            ]
        )
        later = folder / f".{here}.{NO_SUCH_PID}.late5678.tmp"
        later.write_bytes(b"x")
        assert mailer.sweep_temporary_files() == [later]
        assert mailer.sweep_temporary_files() == []

    def test_a_sweep_leaves_a_mail_being_written_alone(
        self, folder: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        mailer = FolderMailer(folder)
        writing, release = threading.Event(), threading.Event()
        fsync = os.fsync

        def stalled_fsync(fd: int) -> None:
            writing.set()
            assert release.wait(WAIT_SECONDS)
            fsync(fd)

        monkeypatch.setattr(os, "fsync", stalled_fsync)
        sender = threading.Thread(
            target=mailer.send, args=(OutgoingMail("busy-1", "a@example.org", "s", "b"),)
        )
        sender.start()
        try:
            assert writing.wait(WAIT_SECONDS)
            [temporary] = folder.glob(".*.tmp")
            assert mailer.sweep_temporary_files() == []
            FolderMailer(folder)  # another dispatcher starting meanwhile
            assert temporary.exists()
        finally:
            release.set()
            sender.join(WAIT_SECONDS)
        [sent] = folder.iterdir()
        assert sent.name.endswith("-busy-1.eml")

    def test_a_negative_temporary_grace_is_refused(self, folder: Path) -> None:
        with pytest.raises(ValueError, match="grace"):
            FolderMailer(folder, temporary_grace=-TEMPORARY_GRACE)

    def test_no_temporary_files_are_left(self, mailer: Mailer, folder: Path) -> None:
        mailer.send(OutgoingMail("m1", "a@example.org", "s", "b"))
        assert [p.suffix for p in folder.iterdir()] == [".eml"]

    @pytest.mark.parametrize(
        "mail",
        [
            OutgoingMail("m1", "a@example.org\r\nBcc: victim@example.org", "s", "b"),
            OutgoingMail("m1", "a@example.org", "s\nBcc: victim@example.org", "b"),
            OutgoingMail("m1", "not an address", "s", "b"),
            OutgoingMail("m1", "", "s", "b"),
            OutgoingMail("../escape", "a@example.org", "s", "b"),
            OutgoingMail("a/b", "a@example.org", "s", "b"),
        ],
    )
    def test_unsendable_mail_is_a_permanent_failure(
        self, mailer: Mailer, folder: Path, mail: OutgoingMail
    ) -> None:
        with pytest.raises(PermanentDeliveryFailure):
            mailer.send(mail)
        assert list(folder.iterdir()) == []

    def test_unwritable_folder_is_a_temporary_failure(self, tmp_path: Path) -> None:
        blocker = tmp_path / "file-not-folder"
        mailer = FolderMailer(tmp_path / "outbox")
        (tmp_path / "outbox").rmdir()
        blocker.write_text("x")
        mailer.path = blocker
        with pytest.raises(TemporaryDeliveryFailure):
            mailer.send(OutgoingMail("m1", "a@example.org", "s", "b"))

    def test_from_url_relative_and_absolute(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(tmp_path)
        relative = FolderMailer.from_url("folder:var/outbox")
        assert relative.path == Path("var/outbox")
        assert (tmp_path / "var" / "outbox").is_dir()
        absolute = FolderMailer.from_url(f"folder://{tmp_path}/abs")
        assert absolute.path == tmp_path / "abs"
        assert absolute.sender == "contactbook@localhost"
        with_sender = FolderMailer.from_url("folder:out?from=noreply%40example.org")
        assert with_sender.sender == "noreply@example.org"

    @pytest.mark.parametrize("url", ["memory://", "folder:", "folder://host/path"])
    def test_from_url_refuses_bad_urls(self, url: str) -> None:
        with pytest.raises(ValueError):
            FolderMailer.from_url(url)
