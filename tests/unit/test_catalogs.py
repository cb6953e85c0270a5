"""Every text a person can be shown exists in both catalogs, Chinese first."""

from __future__ import annotations

import ast
import enum
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import contactbook
from contactbook import errors
from contactbook.i18n import catalog, translate
from contactbook.usecases.labels import label

SRC = Path(contactbook.__file__).parent


def _raised_codes() -> set[str]:
    """Codes passed as the first string argument to an error constructor in the source."""
    names = {name for name in errors.__all__}
    codes: set[str] = set()
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in names
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                code = node.args[0].value
                codes.add(f"upload_{code}" if node.func.id == "UploadRejected" else code)
            if isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if (
                        isinstance(key, ast.Constant)
                        and isinstance(value, ast.Constant)
                        and isinstance(value.value, str)
                        and re.fullmatch(r"[a-z_]+", value.value)
                        and value.value.endswith(
                            ("_required", "_format", "_too_long", "_characters", "_attachments")
                        )
                    ):
                        codes.add(value.value)
    return codes


def _default_codes() -> set[str]:
    classes = [getattr(errors, name) for name in errors.__all__]
    return {cls.default_code for cls in classes} | {
        f"upload_{reason}" for reason in errors.UploadRejected.REASONS
    }


@pytest.mark.parametrize("locale", ["zh_TW", "en"])
def test_every_error_code_has_a_message(locale: str) -> None:
    missing = sorted(
        code
        for code in _raised_codes() | _default_codes()
        if f"error.{code}" not in catalog(locale)
    )
    assert missing == []


def _enums() -> list[type[enum.Enum]]:
    found: list[type[enum.Enum]] = []
    for module_info in pkgutil.iter_modules([str(SRC / "domain")]):
        module = importlib.import_module(f"contactbook.domain.{module_info.name}")
        for value in vars(module).values():
            if (
                isinstance(value, type)
                and issubclass(value, enum.Enum)
                and value.__module__ == module.__name__
            ):
                found.append(value)
    return found


@pytest.mark.parametrize("locale", ["zh_TW", "en"])
def test_every_shown_enum_has_a_label(locale: str) -> None:
    shown = [
        e
        for e in _enums()
        if e.__name__ not in {"MessageCause", "TokenPurpose", "AudienceScope", "InspectionContext"}
    ]
    missing = [
        f"{e.__name__}.{member.value}"
        for e in shown
        for member in e
        if f"label.{e.__name__}.{member.value}" not in catalog(locale)
    ]
    assert missing == []


def test_catalogs_have_the_same_ids() -> None:
    assert set(catalog("zh_TW")) == set(catalog("en"))


def test_every_mail_cause_has_subject_and_body() -> None:
    from contactbook.domain.message import MessageCause

    for cause in MessageCause:
        for part in ("subject", "body"):
            assert f"mail.{cause.value}.{part}" in catalog("zh_TW")


def test_labels_and_messages_are_chinese_first() -> None:
    assert label(contactbook.PostStatus.PENDING) == "待審核"
    assert label(contactbook.PostStatus.EXPIRED, "en") == "Expired"
    error = errors.QuotaExceeded(next_allowed="2020/11/06 11:00:00", days=30)
    assert error.message_zh.startswith("發佈頻率已達上限")
    assert "2020/11/06" in error.message_en
    assert str(error).index("發佈") < str(error).index("You have")


def test_field_messages_fill_in_the_errors_parameters() -> None:
    error = errors.ValidationError(
        "password_too_short", fields={"password": "password_too_short"}, min=15
    )
    assert error.field_messages() == {"password": "密碼至少需要 15 個字元。"}
    assert error.field_messages("en")["password"] == error.message_en
    assert "15" in error.message_en


def test_missing_text_falls_back_to_the_msgid() -> None:
    assert translate("no.such.text", "zh_TW") == "no.such.text"


@pytest.mark.parametrize("tag", ["zh_TW", "zh-TW", "zh-tw", "zh_Hant_TW", "zh-Hant-TW", "zh"])
def test_a_chinese_locale_tag_reads_the_chinese_catalog(tag: str) -> None:
    assert errors.PermissionDenied("totp_clear_own").message(tag).startswith("不能清除自己")


@pytest.mark.parametrize("tag", ["en", "en-US", "en_GB", "fr-FR"])
def test_other_locale_tags_read_english(tag: str) -> None:
    assert translate("error.account_locked", tag) == translate("error.account_locked", "en")
