"""Uploads: inspected by content, stored under random keys, removed on rollback."""

from __future__ import annotations

import functools
import io
import unicodedata
from collections.abc import Sequence
from pathlib import PurePath
from typing import BinaryIO

import attrs

from contactbook.domain.files import (
    EvidenceKind,
    InspectionContext,
    StoredFile,
    name_for_content,
)
from contactbook.errors import NotFound, UploadRejected, ValidationError
from contactbook.ports.storage import UnitOfWork
from contactbook.usecases._support.context import Context, new_id

__all__ = ["Download", "Upload", "open_download", "store_uploads"]

_TYPE_NAMES = {
    InspectionContext.PHOTO: ("PNG", "JPG", "JPEG"),
    InspectionContext.DOCUMENT: ("PDF", "PNG", "JPG", "JPEG"),
}
"""The types each context accepts, as the seed's screens name them."""
_NAMES_THE_TYPES = frozenset({"type_not_allowed", "unrecognized"})


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):g}"


@attrs.frozen
class Upload:
    """A file from a person: a name (for display only), a declared type, a stream.

    Neither the name nor the declared type decides anything: the stored file
    gets the inspector's sniffed type, and its name that type's extension.
    """

    filename: str
    stream: BinaryIO
    content_type: str = ""

    @classmethod
    def from_bytes(cls, filename: str, data: bytes, content_type: str = "") -> Upload:
        return cls(filename=filename, stream=io.BytesIO(data), content_type=content_type)

    @property
    def display_name(self) -> str:
        """The base name without path parts or control characters, at most 120 characters."""
        base = PurePath(self.filename.replace("\\", "/")).name
        cleaned = "".join(c for c in base if unicodedata.category(c)[0] != "C").strip()
        return cleaned[:120] or "file"


@attrs.frozen
class Download:
    """A stored file handed back through a use case."""

    stream: BinaryIO
    filename: str
    content_type: str
    size: int


def store_uploads(
    ctx: Context,
    uow: UnitOfWork,
    uploads: Sequence[Upload],
    *,
    context: InspectionContext,
    max_files: int,
    max_total_bytes: int,
    prefix: str,
    kinds: Sequence[EvidenceKind | None] | None = None,
) -> tuple[StoredFile, ...]:
    """Inspect and store every upload; files are deleted again if ``uow`` rolls back.

    What is stored is what the inspector returned (re-encoded images, a PDF cut
    after its last ``%%EOF``), under the sniffed type and a matching extension.
    """
    if len(uploads) > max_files:
        raise ValidationError(
            "too_many_attachments", fields={"attachments": "too_many_attachments"}, limit=max_files
        )
    stored: list[StoredFile] = []
    remaining = max_total_bytes
    for index, upload in enumerate(uploads):
        kind = kinds[index] if kinds else None
        file_context = kind.context if kind else context
        if remaining <= 0:
            raise UploadRejected(
                "too_large", upload.display_name, limit=_megabytes(max_total_bytes)
            )
        try:
            inspected = ctx.inspector.inspect(
                upload.stream,
                filename=upload.display_name,
                context=file_context,
                max_bytes=remaining,
            )
        except UploadRejected as exc:
            if exc.reason == "too_large":  # the message names this slot's limit
                raise UploadRejected(
                    exc.reason, exc.filename, limit=_megabytes(max_total_bytes)
                ) from exc
            if exc.reason not in _NAMES_THE_TYPES:
                raise
            # The message lists what this slot accepts (a photo slot takes no PDF).
            names = _TYPE_NAMES[file_context]
            raise UploadRejected(
                exc.reason, exc.filename, allowed="、".join(names), allowed_en=", ".join(names)
            ) from exc
        remaining -= inspected.size
        blob = ctx.files.put(inspected.data, prefix=prefix)
        uow.on_rollback(functools.partial(ctx.files.delete, blob.key))
        thumbnail_key = None
        if inspected.thumbnail is not None:
            thumb = ctx.files.put(io.BytesIO(inspected.thumbnail), prefix=f"{prefix}/thumbnails")
            uow.on_rollback(functools.partial(ctx.files.delete, thumb.key))
            thumbnail_key = thumb.key
        stored.append(
            StoredFile(
                id=new_id(),
                storage_key=blob.key,
                # The uploader's base name, with the extension of what it holds.
                display_name=name_for_content(upload.display_name, inspected.content_type),
                content_type=inspected.content_type,
                size=blob.size,
                sha256=blob.sha256,
                kind=kind,
                thumbnail_key=thumbnail_key,
            )
        )
    return tuple(stored)


def open_download(
    ctx: Context, files: Sequence[StoredFile], file_id: str, *, thumbnail: bool = False
) -> Download:
    """The stored file ``file_id`` among ``files`` (the ones the caller may see), or
    its small JPEG thumbnail (``NotFound`` when it has none)."""
    for stored in files:
        if stored.id != file_id:
            continue
        key = stored.thumbnail_key if thumbnail else stored.storage_key
        if key is None:
            raise NotFound("file_missing")
        try:
            stream = ctx.files.open(key)
        except FileNotFoundError as exc:
            raise NotFound("file_missing") from exc
        if thumbnail:  # a few kB: read it to know its size
            with stream:
                data = stream.read()
            stem = stored.display_name.rsplit(".", 1)[0]
            return Download(io.BytesIO(data), f"{stem}-thumbnail.jpg", "image/jpeg", len(data))
        # Files stored before names followed the content get the right extension here too.
        filename = name_for_content(stored.display_name, stored.content_type)
        return Download(stream, filename, stored.content_type, stored.size)
    raise NotFound()
