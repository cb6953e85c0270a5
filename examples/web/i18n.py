"""zh-TW first, English second: the page texts of the web example.

Templates write both languages side by side, ``t("家庭聯絡簿", "Family contact book")``,
so a page reads as the seed's screens do. The labels of the library's enums are the
library's own (``contactbook.label(value, locale)``, from its catalogs).
"""

from __future__ import annotations

from collections.abc import Callable

from contactbook.i18n import catalog

__all__ = ["LANGS", "Translator", "label_text", "translator"]

LANGS = ("zh_TW", "en")

Translator = Callable[[str, str], str]


def label_text(text: str, lang: str) -> str:
    """A label the library handed back only as zh-TW text, in ``lang``.

    A few views carry a label without its enum value: ``ApplicationView.relationship``
    and ``.rejection_reason_label``, the review sheet's ``family["relationship"]``,
    the evidence kinds of ``ApplicationSheet.evidence`` and ``MessageLogEntry.category``.
    Their English is the catalog's text for the label with that zh-TW text (the
    catalogs give no two labels the same zh-TW text with different English).
    """
    if lang != "en":
        return text
    zh, en = catalog("zh_TW"), catalog("en")
    return next(
        (
            en.get(msgid, text)
            for msgid, zh_text in zh.items()
            if zh_text == text and msgid.startswith("label.")
        ),
        text,
    )


def translator(lang: str) -> Translator:
    """``t(zh, en)``: the text for ``lang``."""

    def t(zh: str, en: str) -> str:
        return en if lang == "en" else zh

    return t
