"""Time rules of DOMAIN.md §4: stored in UTC, shown and counted in Taiwan time."""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

TAIPEI = ZoneInfo("Asia/Taipei")

__all__ = ["TAIPEI", "add_months", "format_date", "format_datetime", "in_taipei", "utc"]


def utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC datetime; naive datetimes are refused."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: contactbook needs aware datetimes")
    return moment.astimezone(UTC)


def in_taipei(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: contactbook needs aware datetimes")
    return moment.astimezone(TAIPEI)


def format_date(moment: datetime | date) -> str:
    """The seed's date format, ``2020/10/07``, in Taiwan time."""
    day = in_taipei(moment).date() if isinstance(moment, datetime) else moment
    return day.strftime("%Y/%m/%d")


def format_datetime(moment: datetime) -> str:
    return in_taipei(moment).strftime("%Y/%m/%d %H:%M:%S")


def add_months(moment: datetime, months: int) -> datetime:
    """Same wall-clock time ``months`` calendar months later in Taiwan (day clamped)."""
    local = in_taipei(moment)
    index = local.month - 1 + months
    year, month = local.year + index // 12, index % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return utc(local.replace(year=year, month=month, day=day))


def days(n: int) -> timedelta:
    return timedelta(days=n)


def taipei_day_start(day: date) -> datetime:
    """The UTC instant a Taiwan calendar day begins (date filters are Taiwan days)."""
    return utc(datetime.combine(day, datetime.min.time(), tzinfo=TAIPEI))
