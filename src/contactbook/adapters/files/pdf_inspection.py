"""PDF inspection: strict parsing, no encryption, no active content.

Moved out of :mod:`.inspector` (images stay there) so that the PDF checks can
grow without that module passing 500 lines.
"""

from __future__ import annotations

import io
import re
from typing import Any, Final

from pypdf import PdfReader
from pypdf.errors import DependencyError, FileNotDecryptedError
from pypdf.generic import (
    ArrayObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    StreamObject,
)

from contactbook.adapters.files.rejections import rejected_on_error
from contactbook.errors import UploadRejected

__all__ = ["check_pdf"]

_SKIPPED_READ: Final = 64 * 1024  # a read this large while parsing a dictionary is stream data
# "N G obj" at a cross-reference offset (PDF whitespace includes NUL and form feed).
_PDF_SPACE: Final = rb"[\x00\t\n\x0c\r ]"
_OBJECT_HEADER: Final = re.compile(rb"%s*(\d+)%s+(\d+)%s*obj" % ((_PDF_SPACE,) * 3))

# PDF names that run code, reach outside the file or carry other files.
# ``/EF`` (a file specification's embedded file) is refused too: a
# FileAttachment annotation embeds a file without any /EmbeddedFiles tree.
_ACTIVE_NAMES: Final = frozenset(
    {
        "/JavaScript",
        "/JS",
        "/OpenAction",
        "/AA",
        "/Launch",
        "/EmbeddedFiles",
        "/EF",
        "/XFA",
        "/RichMedia",
        "/SubmitForm",
        "/ImportData",
        "/GoToR",
        "/GoToE",
    }
)


def check_pdf(content: bytes, filename: str) -> None:
    """Refuse a PDF that does not parse strictly, is encrypted or has active content."""
    with rejected_on_error("corrupt", filename):
        source = _PdfSource(content)
        reader = _open_pdf(source, filename)
        if reader.is_encrypted:
            raise UploadRejected("encrypted", filename)
        found = _first_active_name(reader, source, _listed_objects(reader, content))
    if found is not None:
        rejection = UploadRejected("active_content", filename)
        rejection.add_note(f"PDF name {found}")  # for logs; people see the catalog message
        raise rejection


class _PdfSource(io.BufferedReader):
    """The PDF's bytes for pypdf, which can be told to pass over stream data unread.

    pypdf reads the raw data of a stream with one ``read(length)`` right after
    its dictionary, and copies it (page images: most of a scan). The walk in
    :func:`_first_active_name` only looks at dictionaries, so while it parses an
    ordinary object (not an object stream, whose data pypdf needs) it sets
    ``skip_stream_data``: a read of at least :data:`_SKIPPED_READ` bytes then
    moves past them, as a real read would, and answers ``b""``. pypdf's checks
    after the data (the ``endstream`` keyword at the declared end) still run.
    Token reads are a few bytes, so nothing else is ever skipped.
    (A BufferedReader also keeps pypdf from calling ``getbuffer()``, which would
    copy the bytes.)
    """

    def __init__(self, content: bytes) -> None:
        super().__init__(io.BytesIO(content))
        self._size = len(content)
        self.skip_stream_data = False

    def read(self, size: int | None = -1, /) -> bytes:
        if self.skip_stream_data and size is not None and size >= _SKIPPED_READ:
            here = self.tell()
            self.seek(min(here + size, max(here, self._size)))
            return b""
        return super().read(size)


def _open_pdf(source: _PdfSource, filename: str) -> PdfReader:
    """Parse strictly; what pypdf raises while opening an /Encrypt dictionary means encrypted.

    Opening an encrypted file tries the empty password, which fails with these
    errors when the cipher needs a provider we lack (AES) or is unknown. (An
    unsupported filter on a cross-reference stream raises the same types and
    would be called encrypted rather than corrupt: a refusal either way.)
    """
    try:
        return PdfReader(source, strict=True)
    except (DependencyError, FileNotDecryptedError, NotImplementedError) as error:
        raise UploadRejected("encrypted", filename) from error


def _listed_objects(reader: PdfReader, content: bytes) -> set[tuple[int, int]]:
    """(number, generation) of every object the cross-reference data lists.

    Each listed offset must start exactly that object: pypdf, even when
    strict, "repairs" a wrong offset by searching the whole file, once per
    object, which makes a crafted file cost quadratic time. We refuse instead.
    """
    listed = {(number, 0) for number in reader.xref_objStm}
    for generation, table in reader.xref.items():
        free = reader.xref_free_entry.get(generation, {})
        for number, offset in table.items():
            if not free.get(number, False):
                header = _OBJECT_HEADER.match(content, offset)
                if header is None or (int(header[1]), int(header[2])) != (number, generation):
                    raise ValueError(f"cross-reference offset of {number} {generation} is wrong")
            listed.add((number, generation))
    return listed


def _first_active_name(
    reader: PdfReader, source: _PdfSource, listed: set[tuple[int, int]]
) -> str | None:
    """The first active-content name in the parsed object graph, or None.

    Starts from the trailer (hence the catalog, page tree, annotations, name
    trees, AcroForm) and from every ``listed`` object, so unreferenced and
    compressed objects are seen too. Iterative, with a visited set of
    (number, generation), so cycles and deep nesting are safe. A reference to
    an unlisted object is refused (pypdf would search the whole file for it).
    Stream data is neither decoded nor even read, except for object streams
    (pypdf reads the compressed objects out of them): see :class:`_PdfSource`.
    """
    pending: list[Any] = [reader.trailer]
    pending += [IndirectObject(number, generation, reader) for number, generation in listed]
    visited: set[tuple[int, int]] = set()
    compressed = reader.xref_objStm
    object_streams = {number for number, _index in compressed.values()}
    # Object streams first, with their data, and they stay in pypdf's cache: every
    # compressed object is read through them, and so may be a stream's /Length
    # while an ordinary object is parsed with its data skipped.
    for number in sorted(object_streams):
        reader.get_object(number)
    while pending:
        item = pending.pop()
        if isinstance(item, IndirectObject):
            key = (item.idnum, item.generation)
            if key in visited:
                continue
            if key not in listed:
                raise ValueError(f"reference to {key} which the cross-reference lacks")
            visited.add(key)
            ordinary = key[0] not in object_streams and not (key[1] == 0 and key[0] in compressed)
            source.skip_stream_data = ordinary
            try:
                item = reader.get_object(item)
            finally:
                source.skip_stream_data = False
            if ordinary and isinstance(item, StreamObject):
                # Its data was skipped: never let pypdf hand this object out again.
                reader.resolved_objects.pop((key[1], key[0]), None)
        if isinstance(item, DictionaryObject):
            # dict.items: the raw values, so references go through the checks above
            for name, value in dict.items(item):
                if name in _ACTIVE_NAMES:
                    return str(name)
                if name == "/S" and _is_active_action(value, listed):
                    return str(value.get_object())
                pending.append(value)
        elif isinstance(item, ArrayObject):
            pending.extend(item)
    return None


def _is_active_action(value: Any, listed: set[tuple[int, int]]) -> bool:
    """Whether an /S value (a name, or a reference to one) names an active action."""
    if isinstance(value, IndirectObject):
        if (value.idnum, value.generation) not in listed:
            raise ValueError("action type refers to an unlisted object")
        value = value.get_object()
    return isinstance(value, NameObject) and value in _ACTIVE_NAMES
