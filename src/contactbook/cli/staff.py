"""Staff administration from the console: the roster, accounts, resets, lost
authenticators and the break glass for the Agency's only administrator."""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import track
from rich.table import Column, Table

import contactbook
from contactbook.cli.options import (
    ADAPTERS,
    StaffLogin,
    as_staff,
    refusals_end_the_command,
)
from contactbook.errors import NotFound
from contactbook.usecases.staff import StaffView


@click.group()
def roster() -> None:
    """A facility's inmate roster."""


@roster.command("import")
@click.argument("csv_file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--facility", required=True, help="Facility code, e.g. KLP.")
@as_staff
def roster_import(
    csv_file: Path,
    facility: str,
    login: StaffLogin,
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


@click.group()
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
@as_staff
def staff_create(
    new_username: str,
    name: str,
    facility: str | None,
    roles: tuple[str, ...],
    email: str | None,
    new_password: str,
    login: StaffLogin,
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
@as_staff
def staff_list(
    facility: str | None,
    login: StaffLogin,
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
@as_staff
def staff_reset_password(
    member_username: str,
    login: StaffLogin,
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
@as_staff
def staff_clear_totp(
    member_username: str,
    login: StaffLogin,
) -> None:
    """Clear the lost authenticator of MEMBER_USERNAME (not your own): the member's
    sessions end and the next sign-in sets up a new one."""
    with login.signed_in() as (book, admin):
        book.staff.clear_totp(admin, _member_named(book, admin, member_username).id)
    click.echo(f"two-step verification of {member_username.strip().casefold()} cleared")


@staff.command("set-roles")
@click.argument("member_username")
@click.option("--role", "roles", multiple=True, required=True, type=_ROLE)
@as_staff
def staff_set_roles(member_username: str, roles: tuple[str, ...], login: StaffLogin) -> None:
    """Give MEMBER_USERNAME exactly these roles (not yourself)."""
    with login.signed_in() as (book, admin):
        member = _member_named(book, admin, member_username)
        view = book.staff.set_roles(admin, member.id, [contactbook.Role(r) for r in roles])
    click.echo(f"{view.username}: {', '.join(sorted(r.value for r in view.roles))}")


@staff.command("deactivate")
@click.argument("member_username")
@as_staff
def staff_deactivate(member_username: str, login: StaffLogin) -> None:
    """Close the account of MEMBER_USERNAME, who left: sign-ins fail, sessions end."""
    with login.signed_in() as (book, admin):
        view = book.staff.deactivate(admin, _member_named(book, admin, member_username).id)
    click.echo(f"{view.username} deactivated")


@staff.command("reactivate")
@click.argument("member_username")
@as_staff
def staff_reactivate(member_username: str, login: StaffLogin) -> None:
    """Open the deactivated account of MEMBER_USERNAME again."""
    with login.signed_in() as (book, admin):
        view = book.staff.reactivate(admin, _member_named(book, admin, member_username).id)
    click.echo(f"{view.username} reactivated")


@staff.command("recover-admin")
@click.argument("admin_username")
@click.option("--reason", required=True, help="Why, for the audit trail (e.g. a ticket number).")
@ADAPTERS
def staff_recover_admin(
    admin_username: str, reason: str, database: str, files: str, mail: str, sms: str
) -> None:
    """Break glass: clear the lost authenticator of the Agency's ONLY active
    administrator, whom no other admin can help. Needs direct access to the
    database; recorded in the audit trail as the system's act, with REASON."""
    with refusals_end_the_command(database, files, mail, sms) as book:
        book.staff.recover_agency_admin(admin_username, reason)
    click.echo(f"two-step verification of {admin_username.strip().casefold()} cleared")
