"""SQL storage on SQLAlchemy Core: SQLite, PostgreSQL and MariaDB/MySQL.

``contactbook.open(database="sqlite:///var/contactbook.db")`` (or a
``postgresql+psycopg://`` / ``mysql+pymysql://`` URL) uses
:meth:`SqlAlchemyStorage.from_url`. The schema is created and upgraded by the
Alembic migrations shipped here: :meth:`SqlAlchemyStorage.migrate`, or
``from_url(url, migrate=True)``; opening a database whose schema is not current
raises :class:`SchemaNotCurrent`, an unreachable one :class:`DatabaseUnavailable`.

What relies on SQLAlchemy's internals (hot statements run on the DBAPI connection,
SQLite's BEGIN IMMEDIATE in the dialect) is in :mod:`.fast_path`, behind one switch:
``SqlAlchemyStorage(url, fast_path=False)`` or ``CONTACTBOOK_SQL_FAST_PATH=0`` keeps to
SQLAlchemy's documented API, with the same results.
"""

from __future__ import annotations

from contactbook.adapters.storage.sqlalchemy.errors import (
    DatabaseUnavailable,
    SchemaNotCurrent,
    SqlStorageError,
)
from contactbook.adapters.storage.sqlalchemy.storage import (
    SqlAlchemyStorage,
    SqlAlchemyUnitOfWork,
    create_storage_engine,
    safe_url,
)
from contactbook.adapters.storage.sqlalchemy.tables import metadata

__all__ = [
    "DatabaseUnavailable",
    "SchemaNotCurrent",
    "SqlAlchemyStorage",
    "SqlAlchemyUnitOfWork",
    "SqlStorageError",
    "create_storage_engine",
    "metadata",
    "safe_url",
]
