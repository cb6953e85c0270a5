"""The ``contactbook`` console script: database upgrades and the background workers.

Every command reads its adapters from the same URLs as ``contactbook.open``
(options or the CONTACTBOOK_*_URL environment variables).
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

import click

import contactbook

__all__ = ["main"]

_DATABASE = click.option(
    "--database",
    envvar="CONTACTBOOK_DATABASE_URL",
    default="sqlite:///var/contactbook.db",
    show_default=True,
    help="SQLAlchemy URL of the database (or memory://).",
)


@click.group()
@click.version_option(contactbook.__version__, prog_name="contactbook")
def main() -> None:
    """contactbook — 電子家庭聯絡簿 library tools."""


@main.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@_DATABASE
def db_upgrade(database: str) -> None:
    """Create the tables or upgrade them to the current revision."""
    from contactbook.adapters.storage.sqlalchemy import SqlAlchemyStorage, safe_url

    storage = SqlAlchemyStorage(database)
    try:
        storage.migrate()
        click.echo(f"{safe_url(database)} is at revision {storage.schema_revision()}")
    finally:
        storage.close()


@db.command("current")
@_DATABASE
def db_current(database: str) -> None:
    """Show the schema revision of the database."""
    from contactbook.adapters.storage.sqlalchemy import SqlAlchemyStorage, safe_url

    storage = SqlAlchemyStorage(database)
    try:
        click.echo(f"{safe_url(database)}: {storage.schema_revision() or 'empty'}")
    finally:
        storage.close()


def _open(database: str, files: str, mail: str, sms: str) -> contactbook.ContactBook:
    return contactbook.open(database=database, files=files, mail=mail, sms=sms)


@main.command("dispatch")
@_DATABASE
@click.option("--files", envvar="CONTACTBOOK_FILES_URL", default="var/files", show_default=True)
@click.option(
    "--mail", envvar="CONTACTBOOK_MAIL_URL", default="folder:var/outbox", show_default=True
)
@click.option("--sms", envvar="CONTACTBOOK_SMS_URL", default="memory://", show_default=True)
@click.option("--batch", default=100, show_default=True, help="Messages per batch.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between batches.")
@click.option("--once", is_flag=True, help="Send one batch and stop.")
def dispatch(
    database: str, files: str, mail: str, sms: str, batch: int, interval: float, once: bool
) -> None:
    """Send pending mail and SMS until stopped (SIGINT/SIGTERM finish the batch first)."""
    book = _open(database, files, mail, sms)
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


@main.command("expire")
@_DATABASE
@click.option("--files", envvar="CONTACTBOOK_FILES_URL", default="var/files", show_default=True)
@click.option(
    "--mail", envvar="CONTACTBOOK_MAIL_URL", default="folder:var/outbox", show_default=True
)
@click.option("--sms", envvar="CONTACTBOOK_SMS_URL", default="memory://", show_default=True)
def expire(database: str, files: str, mail: str, sms: str) -> None:
    """Expire pending posts past their review deadline (run daily)."""
    book = _open(database, files, mail, sms)
    try:
        report = book.maintenance.expire_overdue()
        click.echo(f"expired {report.expired_posts} posts")
    finally:
        book.close()
