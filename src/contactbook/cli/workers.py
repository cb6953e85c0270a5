"""The background work a deployment schedules (dispatch, expiry, retention, the
orphan-file sweep), the demo server and its seed."""

from __future__ import annotations

import signal
import sys
import threading
from types import FrameType
from typing import Any

import attrs
import click
from rich.console import Console

import contactbook
from contactbook.cli.options import (
    ADAPTERS,
    open_book,
)


@click.command("sweep-files")
@click.option("--grace-hours", default=24.0, show_default=True)
@click.option("--no-verify-hashes", is_flag=True, help="Skip re-reading every file.")
@ADAPTERS
def sweep_files(
    grace_hours: float, no_verify_hashes: bool, database: str, files: str, mail: str, sms: str
) -> None:
    """Remove stored files no row points to; report missing or altered ones."""
    from datetime import timedelta

    book = open_book(database, files, mail, sms)
    try:
        report = book.maintenance.sweep_orphan_files(
            grace=timedelta(hours=grace_hours), verify_hashes=not no_verify_hashes
        )
    finally:
        book.close()
    click.echo(
        f"removed {len(report.removed)}, missing {len(report.missing)}, "
        f"corrupted {len(report.corrupted)}, kept (recent) {report.kept_recent}"
    )
    for kind, owner, key in (*report.missing, *report.corrupted):
        click.echo(f"  {kind} {owner}: {key}")
    if report.missing or report.corrupted:
        sys.exit(1)


@click.command("retention")
@ADAPTERS
def retention(database: str, files: str, mail: str, sms: str) -> None:
    """Remove what no retention period keeps (old posts, their files, messages, closed
    accounts); the periods are the book's Settings."""

    book = open_book(database, files, mail, sms)
    try:
        with Console().status("applying retention"):
            report = book.maintenance.apply_retention()
    finally:
        book.close()
    counts = attrs.asdict(report)
    click.echo(", ".join(f"{name.replace('_', ' ')} {value}" for name, value in counts.items()))


def _web() -> Any:
    try:
        import examples.web.app as web_app
    except ImportError as exc:
        raise click.ClickException(
            "the web example lives in examples/web of a source checkout: run this from the "
            f"repository root with the 'web' extra installed ({exc})"
        ) from None
    return web_app


@click.command("serve")
def serve() -> None:
    """Run the web example (portal and back office) on 127.0.0.1:8000."""
    _web().main()


@click.command("dispatch")
@ADAPTERS
@click.option("--batch", default=100, show_default=True, help="Messages per batch.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between batches.")
@click.option("--once", is_flag=True, help="Send one batch and stop.")
def dispatch(
    database: str, files: str, mail: str, sms: str, batch: int, interval: float, once: bool
) -> None:
    """Send pending mail and SMS until stopped (SIGINT/SIGTERM finish the batch first)."""
    book = open_book(database, files, mail, sms)
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        click.echo(f"signal {signum}: stopping after this batch")
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        while True:
            report = book.messages.dispatch(limit=batch)
            if report.sent or report.retrying or report.failed:
                click.echo(
                    f"sent {report.sent}, retrying {report.retrying}, failed {report.failed}"
                )
            if once or stop.is_set():
                break
            if report.sent < batch:
                stop.wait(interval)
            if stop.is_set():
                break
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        book.close()


@click.command("expire")
@ADAPTERS
def expire(database: str, files: str, mail: str, sms: str) -> None:
    """Expire pending posts past their review deadline (run daily)."""
    book = open_book(database, files, mail, sms)
    try:
        report = book.maintenance.expire_overdue()
        click.echo(f"expired {report.expired_posts} posts")
    finally:
        book.close()


@click.group()
def demo() -> None:
    """Fictional demo data (from a source checkout)."""


@demo.command("seed")
@ADAPTERS
def demo_seed(database: str, files: str, mail: str, sms: str) -> None:
    """Seed fictional facilities, inmates, staff and a family (once) and print the logins."""
    _web()
    from examples.web.seed import seed_demo

    book = contactbook.open(database=database, files=files, mail=mail, sms=sms, migrate=True)
    try:
        for line in seed_demo(book, mail):
            click.echo(line)
    finally:
        book.close()
