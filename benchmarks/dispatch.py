"""The outbox dispatcher against a hand-written outbox loop, both to a loopback server.

The server (:mod:`benchmarks.smtp_sink`, aiosmtpd) runs in its own process. Each
round puts the same number of due mails in the outbox and times:

* ``library``: ``book.messages.dispatch(limit=n)`` with ``SmtpMailer`` (claim,
  send each over one connection, record each outcome);
* ``raw``: the target's baseline, the least a correct outbox does, in plain SQL
  and ``smtplib``: claim the due rows with a lease in one transaction (one SELECT
  of due rows, locked where rows can be; one UPDATE of them all; COMMIT), then for
  each mail build it with ``EmailMessage`` (same headers), send it over one
  connection and mark it sent (an UPDATE, compare-and-set on the version, and a
  COMMIT, so that a killed sender resends at most the mail in flight);
* ``raw_smtp`` (for information): the same mails sent with ``smtplib`` over one
  connection and nothing else, no database at all.
"""

from __future__ import annotations

import email.policy
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from typing import Any

import contactbook
from benchmarks.target import RawDb, Target
from benchmarks.timing import stats
from benchmarks.world import World
from contactbook.adapters.storage.sqlalchemy import tables
from contactbook.testing import FastPasswordHasher, MovableClock

__all__ = ["measure_dispatch", "smtp_sink"]

HOST = "127.0.0.1"
SENDER = "contactbook@localhost"
_POLICY = email.policy.SMTP.clone(cte_type="7bit")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def smtp_sink() -> Iterator[int]:
    """Start the discarding server in a subprocess; yield its port; stop it."""
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.smtp_sink", str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("ready"):
            raise RuntimeError(f"the SMTP sink did not start: {line!r}")
        yield port
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.terminate()
            process.wait(timeout=10)


def _mail(message_id: str, to: str, subject: str, body: str, now: datetime) -> EmailMessage:
    mail = EmailMessage(policy=_POLICY)
    mail["Message-ID"] = f"<{message_id}@contactbook>"
    mail["Date"] = format_datetime(now.astimezone(UTC))
    mail["From"] = SENDER
    mail["To"] = to
    mail["Subject"] = subject
    mail.set_content(body, charset="utf-8")
    return mail


def raw_send(port: int, rows: list[dict[str, Any]], now: datetime) -> int:
    """Build and send every mail over one ``smtplib`` connection."""
    with smtplib.SMTP(HOST, port) as smtp:
        for row in rows:
            mail = _mail(row["id"], row["destination"], row["subject"], row["body"], now)
            smtp.send_message(mail, SENDER, [row["destination"]])
    return len(rows)


def raw_outbox(db: RawDb, port: int, now: datetime, limit: int, lease: timedelta) -> int:
    """Claim with a lease in one transaction, then send and mark each mail sent."""
    db.begin(write=True)
    rows = db.all(
        "SELECT id, destination, subject, body, version FROM messages "
        "WHERE status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= ?) "
        "ORDER BY created_at, id LIMIT ?" + db.skip_locked_suffix(),
        (db.dt(now), limit),
    )
    if rows:
        marks = ", ".join("?" for _ in rows)
        db.run(
            f"UPDATE messages SET next_attempt_at = ?, version = version + 1 WHERE id IN ({marks})",
            (db.dt(now + lease), *(row[0] for row in rows)),
        )
    db.commit()
    with smtplib.SMTP(HOST, port) as smtp:
        for message_id, destination, subject, body, version in rows:
            smtp.send_message(
                _mail(message_id, destination, subject, body, now), SENDER, [destination]
            )
            db.begin(write=True)
            db.run(
                "UPDATE messages SET status = 'sent', sent_at = ?, next_attempt_at = NULL, "
                "attempts = attempts + 1, version = ? WHERE id = ? AND version = ?",
                (db.dt(now), version + 2, message_id, version + 1),
            )
            db.commit()
    return len(rows)


def measure_dispatch(
    target: Target, world: World, db: RawDb, now: datetime, *, mails: int, rounds: int
) -> list[dict[str, Any]]:
    samples: dict[str, list[float]] = {"library": [], "raw": [], "raw_smtp": []}
    with smtp_sink() as port:
        book = contactbook.open(
            database=target.url_text,
            files=str(target.files),
            mail=f"smtp://{HOST}:{port}?timeout=30",
            clock=MovableClock(now),
            hasher=FastPasswordHasher(),
        )
        lease = book.context.settings.dispatch_lease
        try:
            for round_number in range(-1, rounds):  # round -1 warms up
                created = now - timedelta(hours=1)
                batch = world.pending_messages(mails, created)
                world.insert_rows(tables.messages, batch)
                began = time.perf_counter()
                report = book.messages.dispatch(limit=mails)
                library_seconds = time.perf_counter() - began
                if report.sent != mails:
                    raise RuntimeError(f"dispatch sent {report.sent} of {mails}: {report}")
                world.insert_rows(tables.messages, world.pending_messages(mails, created))
                began = time.perf_counter()
                sent = raw_outbox(db, port, now, mails, lease)
                outbox_seconds = time.perf_counter() - began
                if sent != mails:
                    raise RuntimeError(f"raw outbox sent {sent} of {mails}")
                began = time.perf_counter()
                raw_send(port, batch, now)
                smtp_seconds = time.perf_counter() - began
                if round_number >= 0:
                    samples["library"].append(library_seconds / mails)
                    samples["raw"].append(outbox_seconds / mails)
                    samples["raw_smtp"].append(smtp_seconds / mails)
        finally:
            book.close()
    library, raw, smtp = (stats(samples[key]) for key in ("library", "raw", "raw_smtp"))
    return [
        {
            "name": "dispatch",
            "group": "dispatch",
            "description": f"messages.dispatch of {mails} mails to a loopback aiosmtpd server",
            "library": library.as_dict(),
            "raw": raw.as_dict(),
            "raw_smtp": smtp.as_dict(),
            "library_per_second": 1 / library.p50,
            "raw_per_second": 1 / raw.p50,
            "raw_smtp_per_second": 1 / smtp.p50,
            "ratio_throughput": raw.p50 / library.p50,
            "ratio_throughput_vs_raw_smtp": smtp.p50 / library.p50,
            "details": {
                "mails_per_round": mails,
                "rounds": rounds,
                "unit": "seconds per mail (median over rounds)",
                "raw": "lease claim in one transaction, then send + UPDATE + COMMIT per mail",
            },
        }
    ]
