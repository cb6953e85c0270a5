"""Labels people read for enum values (status, relationship, service …)."""

from __future__ import annotations

import enum

from contactbook.i18n import translate

__all__ = ["label"]


def label(value: enum.Enum, locale: str = "zh_TW") -> str:
    """``label.<EnumName>.<value>`` from the catalog, e.g. 待審核 for PostStatus.PENDING."""
    return translate(f"label.{type(value).__name__}.{value.value}", locale)
