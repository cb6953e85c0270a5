"""How a unit of work runs its prebuilt statements: the plain way.

:data:`THROUGH_SQLALCHEMY` runs each one with ``Connection.execute``, SQLAlchemy's
documented API. :mod:`~contactbook.adapters.storage.sqlalchemy.fast_path` offers
other :class:`Statements` with the same results and less overhead, built on
SQLAlchemy's internals; the unit of work picks one when it opens.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Executable
from sqlalchemy.engine import Connection

__all__ = ["THROUGH_SQLALCHEMY", "Run", "Statements"]

R = TypeVar("R")

Run = Callable[[Connection, Executable, Mapping[str, Any]], R]
"""Runs a statement built once, with ``values`` bound, on a unit of work's connection."""


class Statements(NamedTuple):
    """One way to run prebuilt statements."""

    first_row: Run[Sequence[Any] | None]
    """The first row of a SELECT, or None."""
    all_rows: Run[Sequence[Sequence[Any]]]
    """Every row of a SELECT."""
    row_count: Run[int]
    """Run an INSERT or UPDATE; the number of rows it matched."""


def _first_row(
    connection: Connection, statement: Executable, values: Mapping[str, Any]
) -> Sequence[Any] | None:
    return connection.execute(statement, values).first()


def _all_rows(
    connection: Connection, statement: Executable, values: Mapping[str, Any]
) -> Sequence[Sequence[Any]]:
    return connection.execute(statement, values).all()


def _row_count(connection: Connection, statement: Executable, values: Mapping[str, Any]) -> int:
    return int(connection.execute(statement, values).rowcount)


THROUGH_SQLALCHEMY = Statements(_first_row, _all_rows, _row_count)
"""Every statement through ``Connection.execute``."""
