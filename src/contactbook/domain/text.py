"""Free text rules: NFC, characters counted (not bytes), no control characters."""

from __future__ import annotations

import unicodedata

from contactbook.errors import ValidationError

__all__ = ["clean_text", "count_characters", "matched_keywords"]

_ALLOWED_CONTROLS = {"\n"}
# Bidirectional overrides can disguise text for the reviewer (Trojan Source).
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def count_characters(text: str) -> int:
    """Characters as a person counts them: code points after NFC (CRLF counts once)."""
    return len(unicodedata.normalize("NFC", text.replace("\r\n", "\n")))


def clean_text(raw: str, *, field: str, max_chars: int, required: bool = True) -> str:
    """Normalise ``raw`` (NFC, CRLF → LF, trimmed) and enforce the field's limit."""
    text = unicodedata.normalize("NFC", raw.replace("\r\n", "\n").replace("\r", "\n")).strip()
    if required and not text:
        raise ValidationError("text_required", fields={field: "text_required"}, field=field)
    for char in text:
        if char in _ALLOWED_CONTROLS:
            continue
        if unicodedata.category(char) in {"Cc", "Cs"} or char in _BIDI_CONTROLS:
            raise ValidationError(
                "text_control_characters",
                fields={field: "text_control_characters"},
                field=field,
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
