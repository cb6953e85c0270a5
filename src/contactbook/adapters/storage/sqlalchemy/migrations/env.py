"""Alembic environment: run our migrations on the connection we are handed.

``SqlAlchemyStorage.migrate()`` passes its connection in
``config.attributes["connection"]``; with none (the ``alembic`` command line and
``sqlalchemy.url`` set), an engine is built with the storage's own settings.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from contactbook.adapters.storage.sqlalchemy.schema import context_options


def _run(connection: Connection) -> None:
    context.configure(connection=connection, **context_options(connection.dialect.name))
    with context.begin_transaction():
        context.run_migrations()


def _run_offline() -> None:
    """``alembic upgrade --sql``: print the DDL for ``sqlalchemy.url``'s dialect."""
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("set sqlalchemy.url to render migrations as SQL")
    from sqlalchemy.engine import make_url

    options = context_options(make_url(url).get_dialect().name)
    context.configure(url=url, literal_binds=True, **options)
    with context.begin_transaction():
        context.run_migrations()


def _run_online() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.config.get_main_option("sqlalchemy.url")
    if url is None:
        raise RuntimeError("pass a connection in config.attributes or set sqlalchemy.url")
    from contactbook.adapters.storage.sqlalchemy.engine import create_storage_engine

    engine = create_storage_engine(url)
    try:
        with engine.begin() as own_connection:
            _run(own_connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    _run_offline()
else:
    _run_online()
