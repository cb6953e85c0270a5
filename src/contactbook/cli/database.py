"""The database schema: ``contactbook db upgrade`` and ``db current``."""

from __future__ import annotations

import click

from contactbook.cli.options import (
    DATABASE,
)


@click.group()
def db() -> None:
    """The database schema."""


@db.command("upgrade")
@DATABASE
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
@DATABASE
def db_current(database: str) -> None:
    """Show the schema revision of the database."""
    from contactbook.adapters.storage.sqlalchemy import SqlAlchemyStorage, safe_url

    storage = SqlAlchemyStorage(database)
    try:
        click.echo(f"{safe_url(database)}: {storage.schema_revision() or 'empty'}")
    finally:
        storage.close()
