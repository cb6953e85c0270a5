"""A writer SIGKILLed midway, as the fault-injection probe did it (issue 12).

``kill_midway(...)`` runs this file as a child process that starts a write and,
midway, prints ``midway`` and blocks reading its stdin; the parent reads that
line, sends SIGKILL and reaps the child. No sleeps: the line is the signal, and a
timer only bounds a hang. Two writes are offered:

* ``put URL BYTES``: ``FsspecFileStore(URL).put`` of a stream that stalls after
  BYTES bytes (a multiple of the store's chunk size, so all of them were written);
* ``mail FOLDER``: ``FolderMailer(FOLDER).send`` stalled in its ``fsync``, after
  the temporary file is written and before it is renamed into place.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading

WAIT_SECONDS = 60


def kill_midway(*args: str) -> None:
    """Run this file with ``args``; SIGKILL it once it reports being midway."""
    child = subprocess.Popen(
        [sys.executable, __file__, *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    bound = threading.Timer(WAIT_SECONDS, child.kill)
    bound.start()
    try:
        assert child.stdout is not None and child.stderr is not None
        line = child.stdout.readline()
        child.send_signal(signal.SIGKILL)
        child.wait()
        assert line == b"midway\n", child.stderr.read().decode(errors="replace")
        assert child.returncode == -signal.SIGKILL
    finally:
        bound.cancel()
        child.kill()
        child.wait()  # reaped: its pid is gone, not a zombie that reads as alive
        for pipe in (child.stdin, child.stdout, child.stderr):
            if pipe is not None:
                pipe.close()


def _midway() -> None:
    """Tell the parent, then block until it kills us (or give up if it went away)."""
    sys.stdout.write("midway\n")
    sys.stdout.flush()
    sys.stdin.buffer.read(1)
    raise OSError("the parent went away without killing this writer")


class _Source(io.RawIOBase):
    """``size`` bytes, then :func:`_midway` instead of more."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self._left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._left == 0:
            _midway()
        count = min(len(buffer), self._left)
        buffer[:count] = b"\xa5" * count
        self._left -= count
        return count


def _put(url: str, size: int) -> None:
    from contactbook.adapters.files.fsspec import FsspecFileStore

    FsspecFileStore(url).put(io.BufferedReader(_Source(size)), prefix="posts/KLP")


def _mail(folder: str) -> None:
    from contactbook.adapters.mail.folder import FolderMailer
    from contactbook.ports.delivery import OutgoingMail

    mailer = FolderMailer(folder)
    os.fsync = lambda fd: _midway()  # the mailer fsyncs its temporary file before the rename
    mailer.send(OutgoingMail("killed-1", "family@example.org", "主旨", "內容"))


if __name__ == "__main__":
    if sys.argv[1] == "put":
        _put(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1] == "mail":
        _mail(sys.argv[2])
    else:
        raise SystemExit(f"unknown write {sys.argv[1]!r}")
    raise SystemExit("finished: the parent should have killed this writer midway")
