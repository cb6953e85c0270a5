"""Turning form fields and JSON into input types (cattrs at the edge).

Every problem comes back as one ``ValidationError`` whose ``fields`` map a
field path to an error code — never a stack trace.
"""

from __future__ import annotations

import enum
import functools
from datetime import date, datetime
from typing import Any, TypeVar

import cattrs
from cattrs.errors import ClassValidationError, IterableValidationError
from cattrs.v import transform_error

from contactbook.errors import ValidationError
from contactbook.usecases.uploads import Upload

__all__ = ["converter", "structure"]

T = TypeVar("T")
_TRUE = {"1", "true", "yes", "on", "y", "是", "t"}
_FALSE = {"0", "false", "no", "off", "n", "否", "f", ""}


def _date(value: Any, _: type) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip().replace("/", "-"))
        except ValueError:
            raise ValueError("date_format") from None
    raise ValueError("date_format")


def _datetime(value: Any, _: type) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError("date_format") from None
    raise ValueError("date_format")


def _bool(value: Any, _: type) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError("boolean_format")


def _upload(value: Any, _: type) -> Upload:
    if isinstance(value, Upload):
        return value
    raise ValueError("upload_required")


def _enum_set(value: Any, cls: Any) -> frozenset[Any]:
    (member_type,) = cls.__args__
    if isinstance(value, str):
        value = [part for part in value.replace("、", ",").split(",") if part.strip()]
    return frozenset(member_type(str(item).strip()) for item in value)


@functools.cache
def converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=True)
    conv.register_structure_hook(date, _date)
    conv.register_structure_hook(datetime, _datetime)
    conv.register_structure_hook(bool, _bool)
    conv.register_structure_hook(Upload, _upload)
    conv.register_structure_hook_func(
        lambda t: (
            getattr(t, "__origin__", None) is frozenset
            and isinstance(getattr(t, "__args__", (None,))[0], type)
            and issubclass(t.__args__[0], enum.Enum)
        ),
        _enum_set,
    )
    return conv


def _code(exc: BaseException, _type: Any) -> str:
    if isinstance(exc, KeyError):
        return "field_required"
    if isinstance(exc, ValueError) and exc.args and str(exc.args[0]).isidentifier():
        text = str(exc.args[0])
        if text.islower():
            return text
    return "invalid_value"


def structure(cls: type[T], data: Any) -> T:
    """``cls`` built from ``data``, or ``ValidationError`` with a code per field path."""
    try:
        return converter().structure(data, cls)
    except (ClassValidationError, IterableValidationError) as exc:
        fields: dict[str, str] = {}
        for line in transform_error(exc, path="", format_exception=_code):
            code, _, path = line.rpartition(" @ ")
            fields[path.lstrip(".") or "$"] = code
        raise ValidationError("invalid_input", fields=fields) from None
