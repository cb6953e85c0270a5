"""The ``contactbook`` console script: database upgrades, the background workers, and
staff administration (accounts, password resets, lost authenticators).

Every command reads its adapters from the same URLs as ``contactbook.open``
(options or the CONTACTBOOK_*_URL environment variables).
"""

from __future__ import annotations

import contextlib
import csv
import functools
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import attrs
import click
from rich.console import Console
from rich.progress import track
from rich.table import Column, Table

import contactbook
from contactbook.errors import ContactBookError, NotFound
from contactbook.usecases.staff import StaffView

__all__ = ["main"]

_Command = TypeVar("_Command", bound=Callable[..., Any])

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


def _options(*options: Callable[[_Command], _Command]) -> Callable[[_Command], _Command]:
    """Several options as one decorator, listed in ``--help`` in the order given."""

    def apply(command: _Command) -> _Command:
        for option in reversed(options):
            command = option(command)
        return command

    return apply


_FILES = click.option(
    "--files", envvar="CONTACTBOOK_FILES_URL", default="var/files", show_default=True
)
_MAIL = click.option(
    "--mail", envvar="CONTACTBOOK_MAIL_URL", default="folder:var/outbox", show_default=True
)
_SMS = click.option("--sms", envvar="CONTACTBOOK_SMS_URL", default="memory://", show_default=True)
_AS_STAFF = click.option(
    "--as",
    "username",
    envvar="CONTACTBOOK_STAFF_USERNAME",
    required=True,
    help="The staff member acting (an administrator).",
)
_PASSWORD = click.option(
    "--password",
    envvar="CONTACTBOOK_STAFF_PASSWORD",
    prompt=True,
    hide_input=True,
    help="Their password (asked when not given).",
)
_TOTP = click.option("--totp", "totp_code", default=None, help="Their current TOTP code.")

_ADAPTERS = _options(_DATABASE, _FILES, _MAIL, _SMS)
"""Where the book keeps its data and sends its messages (as ``contactbook.open``)."""
_LOGIN_OPTIONS = _options(_AS_STAFF, _PASSWORD, _TOTP)


@contextlib.contextmanager
def _refusals_end_the_command(
    database: str, files: str, mail: str, sms: str
) -> Iterator[contactbook.ContactBook]:
    """The book, closed afterwards; a refusal of the library (a wrong password
    included) ends the command with its message instead of a traceback."""
    book = _open(database, files, mail, sms)
    try:
        yield book
    except ContactBookError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        book.close()


@attrs.frozen
class _StaffLogin:
    """Who acts (a staff member's login) and on which book (the adapter URLs)."""

    username: str
    password: str = attrs.field(repr=False)
    totp_code: str | None = attrs.field(repr=False)
    database: str
    files: str
    mail: str
    sms: str

    @contextlib.contextmanager
    def signed_in(self) -> Iterator[tuple[contactbook.ContactBook, contactbook.StaffPrincipal]]:
        """The book and the signed-in member (see :func:`_refusals_end_the_command`)."""
        with _refusals_end_the_command(self.database, self.files, self.mail, self.sms) as book:
            yield book, book.staff.authenticate(self.username, self.password, self.totp_code)


def _as_staff(command: Callable[..., None]) -> Callable[..., None]:
    """The login and adapter options, handed to ``command`` as one ``login`` argument."""

    @functools.wraps(command)
    def run(
        *args: Any,
        username: str,
        password: str,
        totp_code: str | None,
        database: str,
        files: str,
        mail: str,
        sms: str,
        **kwargs: Any,
    ) -> None:
        login = _StaffLogin(username, password, totp_code, database, files, mail, sms)
        command(*args, login=login, **kwargs)

    return _LOGIN_OPTIONS(_ADAPTERS(run))


@main.group()
def roster() -> None:
    """A facility's inmate roster."""


@roster.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--facility", required=True, help="Facility code, e.g. KLP.")
@_as_staff
def roster_import(
    csv_file: Path,
    facility: str,
    login: _StaffLogin,
) -> None:
    """Make FACILITY's current inmates exactly the rows of CSV_FILE (UTF-8, header row:
    call_number,name,gender,birth_date,education_grade,admitted_on,admitted_here_on,
    custody_type,is_juvenile,has_minor_children,restrictions)."""
    console = Console()
    with login.signed_in() as (book, admin):
        with csv_file.open(encoding="utf-8-sig", newline="") as stream:
            rows: list[dict[str, Any]] = list(csv.DictReader(stream))
        cleaned = [
            {key: value for key, value in row.items() if key and value not in (None, "")}
            for row in track(rows, description="reading roster", console=console)
        ]
        with console.status("importing"):
            report = book.inmates.import_roster(admin, cleaned, facility_code=facility)
    console.print(
        f"added {report.added}, updated {report.updated}, left {report.left}, "
        f"rejected {len(report.rejected)}"
    )
    for line, code in report.rejected:
        console.print(f"  line {line + 1}: {code}")  # line 1 of the file is the header
    if report.rejected:
        sys.exit(1)


_ROLE = click.Choice([role.value for role in contactbook.Role])


@main.group()
def staff() -> None:
    """Staff accounts (one per person; no shared accounts)."""


@staff.command("create")
@click.argument("new_username")
@click.option("--name", required=True)
@click.option("--facility", default=None, help="Facility code; omit for Agency staff.")
@click.option("--role", "roles", multiple=True, required=True, type=_ROLE)
@click.option("--email", default=None, help="Where reset links are mailed.")
@click.option(
    "--new-password",
    prompt="Initial password for the new member",
    hide_input=True,
    confirmation_prompt=True,
)
@_as_staff
def staff_create(
    new_username: str,
    name: str,
    facility: str | None,
    roles: tuple[str, ...],
    email: str | None,
    new_password: str,
    login: _StaffLogin,
) -> None:
    """Create a staff account within the acting administrator's scope."""
    with login.signed_in() as (book, admin):
        view = book.staff.create(
            admin,
            new_username,
            name,
            new_password,
            facility,
            [contactbook.Role(role) for role in roles],
            email=email,
        )
    click.echo(f"created {view.username} ({', '.join(sorted(r.value for r in view.roles))})")


def _member_named(
    book: contactbook.ContactBook, admin: contactbook.StaffPrincipal, username: str
) -> StaffView:
    """The member with ``username`` among those ``admin`` manages (else NotFound)."""
    wanted = username.strip().casefold()
    for member in book.staff.members(admin):
        if member.username == wanted:
            return member
    raise NotFound()


@staff.command("list")
@click.option("--facility", default=None, help="Only this facility's members.")
@_as_staff
def staff_list(
    facility: str | None,
    login: _StaffLogin,
) -> None:
    """The staff accounts the acting administrator manages."""
    with login.signed_in() as (book, admin):
        members = book.staff.members(admin, facility)
    # the username is what the other commands take: shown whole, never cut short
    widest = max((len(member.username) for member in members), default=8)
    table = Table(
        Column("username", min_width=widest, no_wrap=True),
        "name",
        Column("facility", overflow="fold"),
        Column("roles", overflow="fold"),
        "TOTP",
        "active",
    )
    for member in members:
        table.add_row(
            member.username,
            member.name,
            member.facility_code or "(Agency)",
            ", ".join(sorted(role.value for role in member.roles)),
            "yes" if member.totp_enrolled else "no",
            "yes" if member.active else "no",
        )
    Console().print(table)


@staff.command("reset-password")
@click.argument("member_username")
@_as_staff
def staff_reset_password(
    member_username: str,
    login: _StaffLogin,
) -> None:
    """Start a password reset of MEMBER_USERNAME: the member gets a one-time link by
    mail, or (without an address) you get a one-time token to hand over in person.
    Only the member chooses the new password."""
    with login.signed_in() as (book, admin):
        ticket = book.staff.start_reset(admin, _member_named(book, admin, member_username).id)
    if ticket.mailed_to is not None:
        click.echo(f"reset link mailed to {ticket.mailed_to}")
    else:
        click.echo("no e-mail address: hand this one-time reset link to the member in person")
        click.echo(ticket.link)


@staff.command("clear-totp")
@click.argument("member_username")
@_as_staff
def staff_clear_totp(
    member_username: str,
    login: _StaffLogin,
) -> None:
    """Clear the lost authenticator of MEMBER_USERNAME (not your own): the member's
    sessions end and the next sign-in sets up a new one."""
    with login.signed_in() as (book, admin):
        book.staff.clear_totp(admin, _member_named(book, admin, member_username).id)
    click.echo(f"two-step verification of {member_username.strip().casefold()} cleared")


@staff.command("set-roles")
@click.argument("member_username")
@click.option("--role", "roles", multiple=True, required=True, type=_ROLE)
@_as_staff
def staff_set_roles(member_username: str, roles: tuple[str, ...], login: _StaffLogin) -> None:
    """Give MEMBER_USERNAME exactly these roles (not yourself)."""
    with login.signed_in() as (book, admin):
        member = _member_named(book, admin, member_username)
        view = book.staff.set_roles(admin, member.id, [contactbook.Role(r) for r in roles])
    click.echo(f"{view.username}: {', '.join(sorted(r.value for r in view.roles))}")


@staff.command("deactivate")
@click.argument("member_username")
@_as_staff
def staff_deactivate(member_username: str, login: _StaffLogin) -> None:
    """Close the account of MEMBER_USERNAME, who left: sign-ins fail, sessions end."""
    with login.signed_in() as (book, admin):
        view = book.staff.deactivate(admin, _member_named(book, admin, member_username).id)
    click.echo(f"{view.username} deactivated")


@staff.command("reactivate")
@click.argument("member_username")
@_as_staff
def staff_reactivate(member_username: str, login: _StaffLogin) -> None:
    """Open the deactivated account of MEMBER_USERNAME again."""
    with login.signed_in() as (book, admin):
        view = book.staff.reactivate(admin, _member_named(book, admin, member_username).id)
    click.echo(f"{view.username} reactivated")


@staff.command("recover-admin")
@click.argument("admin_username")
@click.option("--reason", required=True, help="Why, for the audit trail (e.g. a ticket number).")
@_ADAPTERS
def staff_recover_admin(
    admin_username: str, reason: str, database: str, files: str, mail: str, sms: str
) -> None:
    """Break glass: clear the lost authenticator of the Agency's ONLY active
    administrator, whom no other admin can help. Needs direct access to the
    database; recorded in the audit trail as the system's act, with REASON."""
    with _refusals_end_the_command(database, files, mail, sms) as book:
        book.staff.recover_agency_admin(admin_username, reason)
    click.echo(f"two-step verification of {admin_username.strip().casefold()} cleared")


@main.command("sweep-files")
@click.option("--grace-hours", default=24.0, show_default=True)
@click.option("--no-verify-hashes", is_flag=True, help="Skip re-reading every file.")
@_ADAPTERS
def sweep_files(
    grace_hours: float, no_verify_hashes: bool, database: str, files: str, mail: str, sms: str
) -> None:
    """Remove stored files no row points to; report missing or altered ones."""
    from datetime import timedelta

    book = _open(database, files, mail, sms)
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


@main.command("retention")
@_ADAPTERS
def retention(database: str, files: str, mail: str, sms: str) -> None:
    """Remove what no retention period keeps (old posts, their files, messages, closed
    accounts); the periods are the book's Settings."""
    import attrs

    book = _open(database, files, mail, sms)
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


@main.command("serve")
def serve() -> None:
    """Run the web example (portal and back office) on 127.0.0.1:8000."""
    _web().main()


@main.command("dispatch")
@_ADAPTERS
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
@_ADAPTERS
def expire(database: str, files: str, mail: str, sms: str) -> None:
    """Expire pending posts past their review deadline (run daily)."""
    book = _open(database, files, mail, sms)
    try:
        report = book.maintenance.expire_overdue()
        click.echo(f"expired {report.expired_posts} posts")
    finally:
        book.close()


@main.group()
def demo() -> None:
    """Fictional demo data (from a source checkout)."""


@demo.command("seed")
@_ADAPTERS
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
