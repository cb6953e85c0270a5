"""The schema's revisions: Alembic migrations shipped inside this package.

Migrations run programmatically on a connection the caller owns (passed to the
migrations' ``env.py`` in ``Config.attributes["connection"]``), so they use the
same engine settings as the storage and run in its transaction where the
database allows transactional DDL (PostgreSQL, SQLite).

The revision is kept in ``contactbook_alembic_version`` rather than Alembic's
default ``alembic_version``, so a system embedding contactbook in its own
database can keep its own migrations beside ours.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from importlib.resources import files
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from contactbook.adapters.storage.sqlalchemy.tables import include_object, metadata

__all__ = [
    "VERSION_TABLE",
    "alembic_config",
    "current_revision",
    "downgrade",
    "head_revision",
    "include_object_for",
    "schema_differences",
    "script_location",
    "upgrade",
]

VERSION_TABLE = "contactbook_alembic_version"


def script_location() -> str:
    """The ``migrations`` folder inside this package, wherever it is installed."""
    return str(files("contactbook.adapters.storage.sqlalchemy").joinpath("migrations"))


def alembic_config(connection: Connection | None = None, *, url: str | None = None) -> Config:
    """An Alembic ``Config`` for our migrations, on ``connection`` (preferred) or ``url``."""
    config = Config()
    config.set_main_option("script_location", script_location())
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def include_object_for(dialect_name: str) -> Callable[..., bool]:
    """The ``include_object`` hook for comparisons on ``dialect_name``."""

    def include(item: Any, name: str | None, type_: Any, reflected: bool, compare_to: Any) -> bool:
        return include_object(item, name, type_, reflected, compare_to, dialect_name=dialect_name)

    return include


def context_options(dialect_name: str) -> dict[str, Any]:
    """Options for ``MigrationContext.configure``, shared by ``env.py`` and checks."""
    return {
        "version_table": VERSION_TABLE,
        "target_metadata": metadata,
        "include_object": include_object_for(dialect_name),
        "compare_type": True,
        "render_as_batch": dialect_name == "sqlite",
    }


@functools.cache
def script_directory() -> ScriptDirectory:
    """The shipped revisions (read once: they do not change while running)."""
    return ScriptDirectory.from_config(alembic_config())


def head_revision() -> str:
    """The revision this version of contactbook needs."""
    head = script_directory().get_current_head()
    if head is None:  # pragma: no cover - the package ships revisions
        raise RuntimeError("contactbook ships no migrations")
    return head


def current_revision(connection: Connection) -> str | None:
    """The database's revision, or None when no contactbook migration has run."""
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def upgrade(connection: Connection, revision: str = "head") -> None:
    """Migrate the database of ``connection`` up to ``revision`` (in its transaction)."""
    command.upgrade(alembic_config(connection), revision)


def downgrade(connection: Connection, revision: str) -> None:
    """Migrate down to ``revision`` (``"base"``: drop every contactbook table)."""
    command.downgrade(alembic_config(connection), revision)


def schema_differences(connection: Connection) -> list[Any]:
    """What autogenerate would change to make the database match the tables
    (empty when there is no drift): the programmatic ``alembic check``."""
    options = context_options(connection.dialect.name)
    context = MigrationContext.configure(connection, opts=options)
    return list(compare_metadata(context, metadata))
