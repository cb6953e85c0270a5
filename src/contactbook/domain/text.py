"""Free text rules: NFC, characters counted (not bytes), no control characters."""

from __future__ import annotations

import unicodedata

from contactbook.errors import ValidationError

__all__ = [
    "clean_line",
    "clean_text",
    "count_characters",
    "has_control_characters",
    "matched_keywords",
]

_MULTILINE_CONTROLS = frozenset("\n\t")
# Bidirectional overrides can disguise text for the reviewer (Trojan Source).
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def count_characters(text: str) -> int:
    """Characters as a person counts them: code points after NFC (CRLF counts once)."""
    return len(unicodedata.normalize("NFC", text.replace("\r\n", "\n")))


def clean_text(raw: str, *, field: str, max_chars: int, required: bool = True) -> str:
    """Multi-line text (a body, a note): normalised (NFC, CRLF → LF, trimmed), newlines
    and tabs kept, any other control character refused, at most ``max_chars``."""
    return _clean(raw, field, max_chars, required, _MULTILINE_CONTROLS)


def clean_line(raw: str, *, field: str, max_chars: int, required: bool = True) -> str:
    """One line (a name, a title, a code): as :func:`clean_text`, but a newline or a
    tab is refused too — it would break the line wherever the text is shown."""
    return _clean(raw, field, max_chars, required, frozenset())


def has_control_characters(text: str, allowed: frozenset[str] = _MULTILINE_CONTROLS) -> bool:
    """Whether ``text`` holds a C0/C1 control (NUL, ESC, DEL …) other than ``allowed``
    or a lone surrogate: characters no field may hold, which no database stores alike
    (PostgreSQL refuses NUL in text, no driver encodes a lone surrogate)."""
    return any(char not in allowed and unicodedata.category(char) in {"Cc", "Cs"} for char in text)


def _clean(raw: str, field: str, max_chars: int, required: bool, allowed: frozenset[str]) -> str:
    text = unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if required and not text:
        raise ValidationError("text_required", fields={field: "text_required"}, field=field)
    if has_control_characters(text, allowed) or not _BIDI_CONTROLS.isdisjoint(text):
        raise ValidationError(
            "text_control_characters", fields={field: "text_control_characters"}, field=field
        )
    if len(text) > max_chars:
        raise ValidationError(
            "text_too_long",
            fields={field: "text_too_long"},
            field=field,
            limit=max_chars,
            length=len(text),
        )
    return text


def _fold(text: str) -> str:
    """``text`` as the watch list compares it: format characters (Unicode Cf: zero-width
    spaces and joiners, soft hyphens, bidi marks) removed, so ``毒\u200b品`` reads as
    ``毒品``; then NFKC (full- and half-width alike) and case-folded."""
    visible = "".join(char for char in text if unicodedata.category(char) != "Cf")
    return unicodedata.normalize("NFKC", visible).casefold()


def matched_keywords(text: str, keywords: tuple[str, ...]) -> tuple[str, ...]:
    """The watch-list keywords found in ``text`` (substring match after :func:`_fold`)."""
    folded = _fold(text)
    return tuple(word for word in keywords if word.strip() and _fold(word.strip()) in folded)
