"""Stored files as the domain sees them: metadata only, bytes live in a FileStore."""

from __future__ import annotations

import enum
from typing import Final

import attrs

__all__ = ["EvidenceKind", "InspectionContext", "StoredFile", "name_for_content"]

_EXTENSIONS: Final = {
    "application/pdf": (".pdf",),
    "image/png": (".png",),
    "image/jpeg": (".jpg", ".jpeg"),
}
"""The extensions each stored type is served with; the first is the usual one."""


class InspectionContext(enum.StrEnum):
    """What a file must be: a photo (PNG/JPEG) or a document (PDF/PNG/JPEG)."""

    PHOTO = "photo"
    DOCUMENT = "document"


class EvidenceKind(enum.StrEnum):
    """The three evidence slots of the application screen."""

    ID_DOCUMENT = "id_document"  # 身分證明文件
    RELATIONSHIP_PROOF = "relationship_proof"  # 關係證明文件
    FRONTAL_PHOTO = "frontal_photo"  # 正面清晰照片

    @property
    def context(self) -> InspectionContext:
        if self is EvidenceKind.FRONTAL_PHOTO:
            return InspectionContext.PHOTO
        return InspectionContext.DOCUMENT


@attrs.frozen
class StoredFile:
    """A file accepted after inspection. The user's name is for display only."""

    id: str
    storage_key: str
    display_name: str
    content_type: str
    size: int
    sha256: str
    kind: EvidenceKind | None = None
    thumbnail_key: str | None = None


def name_for_content(name: str, content_type: str) -> str:
    """``name`` with an extension that matches ``content_type`` (the sniffed type).

    Browsers and operating systems pick the program that opens a download by
    its extension, so a PDF named ``身分證.html`` must reach people as
    ``身分證.pdf``: the uploader's base name is kept, the extension follows the
    content. A matching extension (``.PDF``, ``.jpeg``) is kept as it is; a
    type without a known extension leaves the name alone.
    """
    extensions = _EXTENSIONS.get(content_type)
    if extensions is None:
        return name
    name = name.rstrip(". ")
    stem, dot, extension = name.rpartition(".")
    if not (dot and extension.isascii() and extension.isalnum() and len(extension) <= 8):
        stem = name  # no extension ("v1.2 report" has none either)
    elif f".{extension.lower()}" in extensions and stem.strip(". "):
        return name
    return f"{stem.rstrip('. ') or 'file'}{extensions[0]}"
