"""PDF inspection: strict parsing, no encryption, no active content, bounded inflation.

The checks, in order:

* bytes after the last ``%%EOF`` (an appended HTML page, a second file) are
  dropped *before* parsing, so what is inspected is exactly what is stored;
* the file parses strictly and every cross-reference offset is exact (pypdf
  would otherwise search the whole file once per object: quadratic time);
* it is not encrypted;
* no object in the parsed graph (from the trailer and from every listed
  object, compressed ones included) carries active content: names are compared
  after pypdf decoded them (``/J#61vaScript`` is ``/JavaScript``), never by
  grepping bytes, and a ``/URI`` must be an absolute ``http:``, ``https:`` or
  ``mailto:`` link (see :func:`_unsafe_uri`);
* every stream's filter chain is decoded in small chunks against one budget
  for the document (see :mod:`.pdf_filters`): at most ``max_inflated_bytes``
  and at most ``max_inflate_ratio`` times the file's size. Page content,
  images, fonts and object streams are all measured, large ones included,
  without holding their decoded bytes; an object stream is measured before
  pypdf decodes it. The cross-reference streams pypdf decodes while opening
  the file are held to :data:`PYPDF_DECODE_LIMIT` each by pypdf itself.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, Final

from pypdf import PdfReader, apply_configuration
from pypdf.errors import DependencyError, FileNotDecryptedError, LimitReachedError
from pypdf.generic import (
    ArrayObject,
    ByteStringObject,
    DictionaryObject,
    IndirectObject,
    NameObject,
    StreamObject,
    TextStringObject,
)

from contactbook.adapters.files.pdf_filters import InflateBudget, InflateLimitExceeded
from contactbook.adapters.files.rejections import rejected_on_error
from contactbook.errors import UploadRejected

__all__ = [
    "DEFAULT_MAX_INFLATED_BYTES",
    "DEFAULT_MAX_INFLATE_RATIO",
    "PYPDF_DECODE_LIMIT",
    "check_pdf",
]

_MIB: Final = 1024 * 1024
DEFAULT_MAX_INFLATED_BYTES: Final = 256 * _MIB
"""Decoded bytes all streams of one PDF may produce: ten times the largest upload
(20 MB), far more than any page a person scans, far less than a bomb."""
DEFAULT_MAX_INFLATE_RATIO: Final = 2_000
"""Decoded bytes per byte of file: twice what one Flate layer can reach (about
1032:1), so only chained filters built to amplify go past it. It is what refuses
the small bombs (a 2 KB file may decode to 4 MB), the absolute limit the big ones."""
PYPDF_DECODE_LIMIT: Final = 16 * _MIB
"""The most pypdf may decode from one stream while inspecting (cross-reference and
object streams: structure, about two million objects' worth; pypdf's default is 75 MB)."""

_SKIPPED_READ: Final = 64 * 1024  # a read this large while parsing a dictionary is stream data
_MAX_FILTERS: Final = 16  # filters in one chain (pypdf's own limit)
# "N G obj" at a cross-reference offset (PDF whitespace includes NUL and form feed).
_PDF_SPACE: Final = rb"[\x00\t\n\x0c\r ]"
_OBJECT_HEADER: Final = re.compile(rb"%s*(\d+)%s+(\d+)%s*obj" % ((_PDF_SPACE,) * 3))
_EOF_MARKER: Final = b"%%EOF"

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
# Links a reader may follow: web pages and writing an e-mail. Everything else
# (javascript:, file:, data:, smb:, custom app schemes, relative references) is refused.
_SAFE_URI_SCHEMES: Final = frozenset({"http", "https", "mailto"})
_URI_SCHEME: Final = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
# What URL parsers drop or trim before reading the scheme (WHATWG strips C0
# controls and spaces at the ends and tabs and newlines anywhere): dropped
# everywhere here, so "java\tscript:" and " JaVaScRiPt:" are seen as javascript.
_URI_IGNORED: Final = dict.fromkeys([*range(0x21), 0x7F])


def check_pdf(
    content: bytes, filename: str, *, max_inflated_bytes: int, max_inflate_ratio: int
) -> bytes:
    """The PDF to store (``content`` up to its last ``%%EOF``), or ``UploadRejected``.

    Refused: ``corrupt`` (does not parse strictly, or uses a filter whose output
    cannot be measured), ``encrypted``, ``active_content``, and ``too_large``
    when its streams decode past the budget or pypdf's limits.
    """
    content = _through_last_eof(content, filename)
    budget = InflateBudget(min(max_inflated_bytes, max_inflate_ratio * len(content)))
    with rejected_on_error("corrupt", filename), _limits_too_large(filename), _pypdf_limits():
        source = _PdfSource(content)
        reader = _open_pdf(source, filename)
        if reader.is_encrypted:
            raise UploadRejected("encrypted", filename)
        listed = _listed_objects(reader, content)
        found = _first_active_name(reader, source, listed, budget)
    if found is not None:
        rejection = UploadRejected("active_content", filename)
        rejection.add_note(f"PDF name {found}")  # for logs; people see the catalog message
        raise rejection
    return content


def _through_last_eof(content: bytes, filename: str) -> bytes:
    """``content`` up to its last ``%%EOF`` and one end-of-line after it.

    Whatever follows (an HTML page, another file, junk) is no part of the
    document: it is cut before parsing, so the stored file is the inspected one.
    """
    marker = content.rfind(_EOF_MARKER)
    if marker < 0:
        raise UploadRejected("corrupt", filename)
    end = marker + len(_EOF_MARKER)
    if content.startswith(b"\r\n", end):
        end += 2
    elif content.startswith((b"\n", b"\r"), end):
        end += 1
    return content if end == len(content) else content[:end]


@contextmanager
def _limits_too_large(filename: str) -> Iterator[None]:
    """A limit reached while decoding (ours, or pypdf's even when it wraps it in
    another error, as it does while reading the trailer) means ``too_large``."""
    try:
        yield
    except UploadRejected:
        raise
    except Exception as error:
        cause: BaseException | None = error
        seen: set[int] = set()
        while cause is not None and id(cause) not in seen:
            if isinstance(cause, InflateLimitExceeded | LimitReachedError):
                raise UploadRejected("too_large", filename) from error
            seen.add(id(cause))
            cause = cause.__cause__ or cause.__context__
        raise


@contextmanager
def _pypdf_limits() -> Iterator[None]:
    """pypdf's own decoding limits, lowered for this inspection only.

    A context variable: other threads, and pypdf used elsewhere in the process,
    keep their configuration.
    """
    with apply_configuration(
        zlib_maximum_output_length=PYPDF_DECODE_LIMIT,
        lzw_maximum_output_length=PYPDF_DECODE_LIMIT,
        run_length_maximum_output_length=PYPDF_DECODE_LIMIT,
    ):
        yield


class _PdfSource(io.BufferedReader):
    """The PDF's bytes for pypdf, which can be told to pass over stream data unread.

    pypdf reads the raw data of a stream with one ``read(length)`` right after
    its dictionary, and copies it (page images: most of a scan). The walk in
    :func:`_first_active_name` only looks at dictionaries, so while it parses an
    ordinary object (not an object stream, whose data pypdf needs) it sets
    ``skip_stream_data``: a read of at least :data:`_SKIPPED_READ` bytes then
    moves past them, as a real read would, and answers ``b""``; ``skipped`` is
    then a view of the bytes passed over (no copy), which are measured against
    the inflate budget. pypdf's checks after the data (the ``endstream``
    keyword at the declared end) still run. Token reads are a few bytes, so
    nothing else is ever skipped. (A BufferedReader also keeps pypdf from
    calling ``getbuffer()``, which would copy the bytes.)
    """

    def __init__(self, content: bytes) -> None:
        super().__init__(io.BytesIO(content))
        self._view = memoryview(content)
        self.skip_stream_data = False
        self.skipped: memoryview | None = None

    def read(self, size: int | None = -1, /) -> bytes:
        if self.skip_stream_data and size is not None and size >= _SKIPPED_READ:
            here = self.tell()
            end = min(here + size, max(here, len(self._view)))
            self.skipped = self._view[here:end]
            self.seek(end)
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
    reader: PdfReader, source: _PdfSource, listed: set[tuple[int, int]], budget: InflateBudget
) -> str | None:
    """The first active-content name in the parsed object graph, or None.

    Starts from the trailer (hence the catalog, page tree, annotations, name
    trees, AcroForm) and from every ``listed`` object, so unreferenced and
    compressed objects are seen too. Iterative, with a visited set of
    (number, generation), so cycles and deep nesting are safe. A reference to
    an unlisted object is refused (pypdf would search the whole file for it).
    Every stream's raw data is measured against ``budget``; only object
    streams are decoded by pypdf (it reads the compressed objects out of
    them), after being measured. See :class:`_PdfSource`.
    """
    pending: list[Any] = [reader.trailer]
    pending += [IndirectObject(number, generation, reader) for number, generation in listed]
    visited: set[tuple[int, int]] = set()
    compressed = reader.xref_objStm
    object_streams = {number for number, _index in compressed.values()}
    # Object streams first, measured before pypdf decodes them, and they stay in
    # pypdf's cache: every compressed object is read through them, and so may be a
    # stream's /Length while an ordinary object is parsed with its data skipped.
    for number in sorted(object_streams):
        object_stream = reader.get_object(number)
        if isinstance(object_stream, StreamObject):
            _measure(object_stream, object_stream._data, budget, listed)
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
            source.skipped = None
            try:
                item = reader.get_object(item)
            finally:
                source.skip_stream_data = False
            if ordinary and isinstance(item, StreamObject):
                raw = item._data if source.skipped is None else source.skipped
                _measure(item, raw, budget, listed)
                # Its data may have been skipped: never let pypdf hand this object out again.
                reader.resolved_objects.pop((key[1], key[0]), None)
        if isinstance(item, DictionaryObject):
            # dict.items: the raw values, so references go through the checks above
            for name, value in dict.items(item):
                if name in _ACTIVE_NAMES:
                    return str(name)
                if name == "/S" and _is_active_action(value, listed):
                    return str(value.get_object())
                if name == "/URI" and (scheme := _unsafe_uri(value, listed)) is not None:
                    return f"/URI {scheme}"
                pending.append(value)
        elif isinstance(item, ArrayObject):
            pending.extend(item)
    return None


def _resolved(value: Any, listed: set[tuple[int, int]]) -> Any:
    """``value``, or the object it refers to when that object is listed."""
    if isinstance(value, IndirectObject):
        if (value.idnum, value.generation) not in listed:
            raise ValueError("a reference to an unlisted object")
        return value.get_object()
    return value


def _is_active_action(value: Any, listed: set[tuple[int, int]]) -> bool:
    """Whether an /S value (a name, or a reference to one) names an active action."""
    value = _resolved(value, listed)
    return isinstance(value, NameObject) and value in _ACTIVE_NAMES


def _unsafe_uri(value: Any, listed: set[tuple[int, int]]) -> str | None:
    """Why a /URI value is refused (its scheme, or what it is), or None when it is safe.

    A string must be an absolute http, https or mailto URI once the characters
    URL parsers ignore are dropped; a dictionary is the catalog's URI
    dictionary (its /Base matters only for relative links, which are refused).
    """
    value = _resolved(value, listed)
    if isinstance(value, DictionaryObject):
        return None
    if isinstance(value, TextStringObject):
        text = str(value)
    elif isinstance(value, ByteStringObject):
        text = bytes(value).decode("latin-1")
    else:
        return "(not a string)"
    scheme = _URI_SCHEME.match(text.translate(_URI_IGNORED))
    if scheme is None:
        return "(no scheme)"
    name = scheme[1].lower()
    return None if name in _SAFE_URI_SCHEMES else f"{name}:"


def _measure(
    stream: StreamObject,
    raw: bytes | memoryview,
    budget: InflateBudget,
    listed: set[tuple[int, int]],
) -> None:
    """Count what ``stream``'s filters decode ``raw`` to against ``budget``."""
    filters = _resolved(dict.get(stream, "/Filter"), listed)
    if filters is None:
        return
    if not isinstance(filters, list):
        filters = [filters]
    names = [_resolved(name, listed) for name in filters]
    if len(names) > _MAX_FILTERS or not all(isinstance(name, NameObject) for name in names):
        raise ValueError("an unusable /Filter")
    parameters = _resolved(dict.get(stream, "/DecodeParms"), listed)
    if not isinstance(parameters, list):
        parameters = [parameters]
    budget.measure(raw, [str(name) for name in names], [_direct(p, listed) for p in parameters])


def _direct(parameters: Any, listed: set[tuple[int, int]]) -> Mapping[str, object]:
    """A /DecodeParms entry as a plain mapping of its direct values (nothing else is used)."""
    parameters = _resolved(parameters, listed)
    if not isinstance(parameters, DictionaryObject):
        return {}
    return {
        str(key): value
        for key, value in dict.items(parameters)
        if not isinstance(value, IndirectObject)
    }
