"""The ``contactbook`` console script: database upgrades, the background workers, and
staff administration (accounts, password resets, lost authenticators).

Every command reads its adapters from the same URLs as ``contactbook.open``
(options or the CONTACTBOOK_*_URL environment variables).
"""

from __future__ import annotations

import click

import contactbook
from contactbook.cli.database import db
from contactbook.cli.staff import roster, staff
from contactbook.cli.workers import demo, dispatch, expire, retention, serve, sweep_files

__all__ = ["main"]


@click.group()
@click.version_option(contactbook.__version__, prog_name="contactbook")
def main() -> None:
    """contactbook — 電子家庭聯絡簿 library tools."""


main.add_command(db)
main.add_command(roster)
main.add_command(staff)
main.add_command(sweep_files)
main.add_command(retention)
main.add_command(serve)
main.add_command(dispatch)
main.add_command(expire)
main.add_command(demo)
