"""Words people read, from gettext catalogs (``locale/<lang>/LC_MESSAGES``).

Catalogs are ``.po`` files read with Babel the first time a text is needed —
never at import time — so embedding systems can override a catalog by passing
their own directory to :func:`use_catalog_dir`.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["LOCALES", "catalog", "shipped_locale", "translate", "use_catalog_dir"]

LOCALES = ("zh_TW", "en")
DOMAIN = "contactbook"
_override_dirs: list[Path] = []


def use_catalog_dir(path: str | Path) -> None:
    """Prefer ``path/<lang>/LC_MESSAGES/contactbook.po`` entries over the shipped ones."""
    _override_dirs.insert(0, Path(path))
    catalog.cache_clear()


def _read(po_path: Any) -> dict[str, str]:
    from babel.messages.pofile import read_po

    with po_path.open("rb") as stream:
        parsed = read_po(stream)
    return {str(m.id): str(m.string) for m in parsed if m.id and m.string}


@functools.lru_cache(maxsize=8)
def catalog(locale: str) -> dict[str, str]:
    """Every msgid → text of ``locale``, overrides applied."""
    shipped = resources.files("contactbook") / "locale" / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
    texts = _read(shipped) if shipped.is_file() else {}
    for directory in reversed(_override_dirs):
        extra = directory / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
        if extra.is_file():
            texts.update(_read(extra))
    return texts


def shipped_locale(locale: str) -> str:
    """The catalog a locale tag reads: any Chinese tag (``zh-TW``, ``zh_Hant_TW``,
    ``zh``) reads ``zh_TW``, any English one (``en-US``) ``en``; others stay as given
    (an override directory may have them) and fall back to English."""
    language = locale.replace("-", "_").split("_", 1)[0].casefold()
    return {"zh": "zh_TW", "en": "en"}.get(language, locale)


def translate(msgid: str, locale: str = "zh_TW", /, **params: Any) -> str:
    """The text of ``msgid`` in ``locale`` with ``{name}`` fields filled in.

    ``locale`` may be written as a browser sends it (``zh-TW``, ``en-US``): see
    :func:`shipped_locale`. Falls back to English, then to the msgid itself, so a
    missing text is visible but never a crash; a missing parameter is left empty.
    """
    text = catalog(shipped_locale(locale)).get(msgid) or catalog("en").get(msgid) or msgid
    if not params and "{" not in text:
        return text  # a label: nothing to fill in (read for every row of a list)
    try:
        return text.format_map(_Blanks(params))
    except (IndexError, ValueError):
        return text


class _Blanks(dict[str, Any]):
    """Parameters for a text; one the caller did not give reads as empty, never as
    a raw ``{placeholder}`` in front of a person."""

    def __missing__(self, key: str) -> str:
        return ""
