"""Column types that behave the same on SQLite, PostgreSQL and MariaDB.

* :class:`UtcDateTime` stores a naive UTC timestamp with microseconds and gives
  back an aware UTC ``datetime``: the three databases disagree about time zones,
  so none of them is asked to handle one.
* :class:`JsonText` keeps small documents (a facility's policy, a post's
  attachments) as JSON in a plain ``TEXT`` column, which every backend reflects
  the same way (no backend-specific JSON type to drift on).
* :func:`key_string` is a ``VARCHAR`` that sorts by code point everywhere
  (``COLLATE "C"`` on PostgreSQL; SQLite's default and MariaDB's ``utf8mb4_bin``
  already do), so keyset pages break ties on ids exactly as Python does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, String, Text
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

__all__ = ["MYSQL_DIALECTS", "JsonText", "UtcDateTime", "key_string"]

MYSQL_DIALECTS = ("mysql", "mariadb")
"""Dialect names of MySQL-family databases (``mysql+pymysql://`` may be MariaDB)."""


_SQLITE_FORMAT = (
    "%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d.%(microsecond)06d"
)
"""The SQLite dialect's default ``DATETIME`` storage format."""


class UtcDateTime(TypeDecorator[datetime]):
    """An aware ``datetime`` stored as naive UTC; naive values are refused."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name in MYSQL_DIALECTS:
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime(timezone=False))

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("naive datetime: contactbook stores aware datetimes only")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            return value.astimezone(UTC)
        return value.replace(tzinfo=UTC)

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        impl = self.impl_instance.dialect_impl(dialect)
        if dialect.name != "sqlite" or getattr(impl, "_storage_format", None) != _SQLITE_FORMAT:
            return super().bind_processor(dialect)

        # SQLite stores the text the dialect would write (ISO 8601 with a space and
        # microseconds): written in one step instead of this decorator's call followed
        # by the dialect's own, which formats through a dict of seven fields.
        def to_text(value: datetime | None) -> str | None:
            if value is None:
                return None
            if value.tzinfo is None or value.utcoffset() is None:
                raise ValueError("naive datetime: contactbook stores aware datetimes only")
            if value.tzinfo is not UTC:
                value = value.astimezone(UTC)
            return value.replace(tzinfo=None).isoformat(" ", "microseconds")

        return to_text

    def result_processor(
        self, dialect: Dialect, coltype: object
    ) -> Callable[[Any], datetime | None] | None:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        # SQLite hands back the text SQLAlchemy wrote (ISO 8601): the C parser reads it
        # in one step, where the dialect's own processor runs a regular expression and
        # this decorator wraps it in a second call for every value of every row.
        def from_text(value: str | None) -> datetime | None:
            if value is None:
                return None
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is not None:
                return moment.astimezone(UTC)
            return moment.replace(tzinfo=UTC)

        return from_text


_encode_json = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode
"""``json.dumps`` with these options, the encoder made once (``dumps`` makes one per call
when given options)."""


class JsonText(TypeDecorator[Any]):
    """JSON (lists, dicts, strings, numbers) in a ``TEXT`` column, keys sorted."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return _encode_json(value)

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if self.impl_instance.dialect_impl(dialect).bind_processor(dialect):
            return super().bind_processor(dialect)

        def to_text(value: Any) -> str | None:  # one call per value instead of two
            return None if value is None else _encode_json(value)

        return to_text

    def process_result_value(self, value: str | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return json.loads(value)

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any] | None:
        if self.impl_instance.dialect_impl(dialect).result_processor(dialect, coltype):
            return super().result_processor(dialect, coltype)
        loads = json.loads

        def from_text(value: str | None) -> Any:  # one call per value instead of two
            return None if value is None else loads(value)

        return from_text


def key_string(length: int) -> TypeEngine[str]:
    """A ``VARCHAR(length)`` compared byte by byte (code point order) on every backend."""
    return String(length).with_variant(postgresql.VARCHAR(length, collation="C"), "postgresql")
