"""Stored files as the domain sees them: metadata only, bytes live in a FileStore."""

from __future__ import annotations

import enum

import attrs

__all__ = ["EvidenceKind", "InspectionContext", "StoredFile"]


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
