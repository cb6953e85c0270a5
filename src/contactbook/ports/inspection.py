"""Judging uploads by their content, never by their names or declared types."""

from __future__ import annotations

from typing import BinaryIO, Protocol

import attrs

from contactbook.domain.files import InspectionContext

__all__ = ["FileInspector", "InspectedFile"]


@attrs.frozen
class InspectedFile:
    """What the inspector accepted: the sniffed type and the bytes to store.

    The bytes are cleaned (images re-encoded from their pixels, a PDF cut after
    its last ``%%EOF``), so nothing outside the sniffed format is kept.
    """

    content_type: str
    data: BinaryIO
    size: int
    thumbnail: bytes | None = None


class FileInspector(Protocol):
    def inspect(
        self,
        data: BinaryIO,
        *,
        filename: str,
        context: InspectionContext,
        max_bytes: int,
    ) -> InspectedFile:
        """Accept the bytes or raise ``contactbook.errors.UploadRejected``."""
        ...
