"""Driver errors the storage port reports as ``Conflict``.

A broken unique rule is ``Conflict("duplicate")``; a transaction the database gave
up on for another one's sake (deadlock, serialization failure) is
``Conflict("stale_version")``, as when another writer moved the version on. Each
driver says so its own way: MySQL error numbers, SQLite extended result codes,
SQLSTATEs.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError

from contactbook.errors import Conflict

__all__ = ["conflict_on_lost_race", "is_lost_race", "is_unique_violation"]

_UNIQUE_SQLSTATE = "23505"
_MYSQL_DUPLICATE_ERRNOS = frozenset({1022, 1062, 1586})
_SQLITE_UNIQUE_CODES = frozenset({1555, 2067})  # SQLITE_CONSTRAINT_PRIMARYKEY, _UNIQUE
_LOST_RACE_SQLSTATES = frozenset({"40001", "40P01"})  # serialization failure, deadlock
_MYSQL_LOST_RACE_ERRNOS = frozenset({1213})  # ER_LOCK_DEADLOCK


def is_unique_violation(error: DBAPIError) -> bool:
    """Whether a driver error says a unique rule (or the primary key) was broken."""
    orig = error.orig
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int):  # MySQL drivers: (errno, message)
        return args[0] in _MYSQL_DUPLICATE_ERRNOS
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code in _SQLITE_UNIQUE_CODES
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if isinstance(sqlstate, str):
        return sqlstate == _UNIQUE_SQLSTATE
    text = str(orig).lower()
    return "unique" in text or "duplicate" in text


def is_lost_race(error: DBAPIError) -> bool:
    """Whether the database gave up on this transaction for another one's sake
    (deadlock, serialization failure): another writer won, as with a stale version."""
    orig = error.orig
    args = getattr(orig, "args", ())
    if args and isinstance(args[0], int):
        return args[0] in _MYSQL_LOST_RACE_ERRNOS
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    return isinstance(sqlstate, str) and sqlstate in _LOST_RACE_SQLSTATES


class _ConflictOnLostRace:
    """``with conflict_on_lost_race:`` raises ``Conflict("stale_version")`` for a lost
    deadlock or serialization check; every other error passes through unchanged.

    A class rather than ``contextlib.contextmanager``: it wraps the hottest writes, and
    entering it costs no generator."""

    __slots__ = ()

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: object, exc: object, traceback: object) -> None:
        if isinstance(exc, DBAPIError) and is_lost_race(exc):
            raise Conflict("stale_version") from exc


conflict_on_lost_race = _ConflictOnLostRace()
