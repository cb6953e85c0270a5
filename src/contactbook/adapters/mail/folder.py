"""A mailer that writes RFC 5322 ``.eml`` files to a folder — the embedded default.

A folder outbox needs no server, opens in any mail client, and is what a
developer or a tester inspects. Each file is written to a temporary name and
renamed, so a reader never sees half a mail; a message sent again (a retried
dispatch) replaces its earlier file instead of adding a second one.

A dispatcher killed between the two steps leaves its hidden temporary file,
``.<host tag>.<pid>.<random>.tmp``, behind. A mailer sweeps them when it starts
(and on :meth:`FolderMailer.sweep_temporary_files`), minding writers that are
still busy: a file goes at once when its writer ran on this host and is gone,
otherwise once it is ``temporary_grace`` old (by its modification time against
the system clock) — a mail takes milliseconds to write, so only a hung writer is
ever that slow, and it then fails with a temporary failure and is retried.
Processes sharing the folder from several hosts or containers need different
host names for the first rule. Temporary files of earlier versions
(``.<random>.tmp``) carry no writer and go by age.
"""

from __future__ import annotations

import email.policy
import os
import re
import tempfile
import time
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

from contactbook.adapters.writers import host_tag, writer_alive
from contactbook.ports.clock import Clock
from contactbook.ports.delivery import (
    OutgoingMail,
    PermanentDeliveryFailure,
    TemporaryDeliveryFailure,
)

__all__ = ["FolderMailer"]

DEFAULT_SENDER = "contactbook@localhost"
TEMPORARY_GRACE = timedelta(minutes=10)
# A message id must be usable both as a file name and as the left part of a Message-ID.
_MESSAGE_ID = re.compile(r"[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*")
# Temporary files: ".<host tag>.<pid>.<mkstemp's 8 characters>.tmp", and without the
# writer (".<8 characters>.tmp") as versions before the writer was named wrote them.
_TEMPORARY = re.compile(r"\.(?:([0-9a-f]{8})\.([0-9]{1,10})\.)?[a-z0-9_]{8}\.tmp")


class FolderMailer:
    """Writes each mail to ``<folder>/<UTC timestamp>-<message_id>.eml``."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        sender: str = DEFAULT_SENDER,
        clock: Clock | None = None,
        temporary_grace: timedelta = TEMPORARY_GRACE,
    ) -> None:
        self.path = Path(path)
        self.sender = sender
        self._clock = clock
        if temporary_grace < timedelta(0):
            raise ValueError("temporary_grace must not be negative")
        self._temporary_grace = temporary_grace
        self.path.mkdir(parents=True, exist_ok=True)
        self.sweep_temporary_files()

    @classmethod
    def from_url(cls, url: str) -> FolderMailer:
        """``folder:var/outbox`` (relative), ``folder:///abs/path``; ``?from=`` sets the sender."""
        parts = urlsplit(url)
        if parts.scheme != "folder":
            raise ValueError(f"not a folder mailer URL: {url!r}")
        if parts.netloc not in ("", "localhost"):
            raise ValueError(f"use folder:relative/path or folder:///absolute/path, not {url!r}")
        path = unquote(parts.path)
        if not path:
            raise ValueError(f"folder mailer URL {url!r} names no folder")
        sender = parse_qs(parts.query).get("from", [DEFAULT_SENDER])[-1]
        return cls(path, sender=sender)

    def __repr__(self) -> str:
        return f"FolderMailer({str(self.path)!r})"

    def send(self, mail: OutgoingMail) -> None:
        """Write ``mail`` atomically; a bad mail is permanent, a disk problem temporary."""
        if not _MESSAGE_ID.fullmatch(mail.message_id) or len(mail.message_id) > 200:
            raise PermanentDeliveryFailure(f"message id {mail.message_id!r} is not usable")
        now = (self._clock.now() if self._clock else datetime.now(UTC)).astimezone(UTC)
        try:
            raw = self._render(mail, now)
        except ValueError as exc:  # header injection, unparsable address …
            raise PermanentDeliveryFailure(str(exc)) from exc
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            target = self._existing(mail.message_id) or self.path / (
                f"{now:%Y%m%dT%H%M%S%fZ}-{mail.message_id}.eml"
            )
            _write_atomically(target, raw)
        except OSError as exc:
            raise TemporaryDeliveryFailure(str(exc)) from exc

    def sweep_temporary_files(self) -> list[Path]:
        """Remove the temporary files of writers that died midway (see the module
        docstring for which); the paths removed. Never touches an ``.eml``."""
        removed: list[Path] = []
        oldest = time.time() - self._temporary_grace.total_seconds()
        with os.scandir(self.path) as entries:
            for entry in entries:
                match = _TEMPORARY.fullmatch(entry.name)
                if match is None:
                    continue
                host, pid = match.groups()
                try:
                    dead = host is not None and writer_alive(host, int(pid)) is False
                    if dead or entry.stat(follow_symlinks=False).st_mtime <= oldest:
                        os.unlink(entry.path)
                        removed.append(Path(entry.path))
                except OSError:
                    continue  # renamed into place or swept meanwhile, or not ours to remove
        return removed

    def _render(self, mail: OutgoingMail, now: datetime) -> bytes:
        msg = EmailMessage(policy=email.policy.SMTP)
        msg["Message-ID"] = f"<{mail.message_id}@contactbook>"
        msg["Date"] = format_datetime(now)
        msg["From"] = self.sender
        msg["To"] = mail.to
        msg["Subject"] = mail.subject  # RFC 2047-encoded on output when not ASCII
        msg.set_content(mail.body, charset="utf-8")
        for header in ("From", "To"):
            if msg[header].defects or not msg[header].addresses:
                raise ValueError(f"invalid {header} address {str(msg[header])!r}")
        return msg.as_bytes()

    def _existing(self, message_id: str) -> Path | None:
        """The file an earlier send of ``message_id`` wrote, if any."""
        suffix = f"-{message_id}.eml"
        with os.scandir(self.path) as entries:
            for entry in entries:
                # Timestamps contain no "-", so the first "-" ends the timestamp.
                if entry.name.endswith(suffix) and "-" not in entry.name[: -len(suffix)]:
                    return Path(entry.path)
        return None


def _write_atomically(target: Path, data: bytes) -> None:
    """Write to a hidden temporary file in the same folder, then rename over ``target``.

    The temporary name carries this host's tag and pid, so a sweep can tell
    whether the file's writer still runs.
    """
    prefix = f".{host_tag()}.{os.getpid()}."
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=prefix, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
