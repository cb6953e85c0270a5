"""The production ``FileInspector``: Pillow for images, pypdf for PDFs.

Uploads come from the public, so every byte is hostile until decoded. The
inspector trusts only content (never the file name or the declared type):

* it reads at most ``max_bytes + 1`` bytes, so an endless stream costs nothing;
* it sniffs magic bytes and refuses any type the context does not allow;
* images are decoded by the one Pillow plugin the magic bytes named, their size
  is checked *before* pixels are allocated, and they are re-encoded from the
  pixels alone, so EXIF/GPS, ICC, XMP, text chunks, comments and anything
  appended after the image (polyglots) cannot survive;
* PDFs are cut after their last ``%%EOF`` (what follows is no part of the
  document), parsed strictly, and refused when encrypted, when any object in
  the parsed graph carries active content (a link may only be http, https or
  mailto), or when their streams would inflate past a budget (decompression
  bombs): see :mod:`.pdf_inspection`.

Memory is bounded by the limits, not by the upload: at most ``max_bytes + 1``
input bytes, read in one call (about twice that for an instant when a stream
answers in short pieces that must be joined, and while a PDF's tail is cut
off); for images a few decoded copies of at most ``max_pixels`` pixels (Pillow
keeps RGB and RGBA at 4 bytes a pixel, so 40 MP is about 160 MB a copy; an
upright image is neither copied nor turned, and at most two copies live at once
while turning or converting); for PDFs the objects pypdf parses from at most
``max_bytes`` (as Python objects, several times the bytes they came from) plus
at most 16 MiB a stream pypdf decodes (cross-reference and object streams).
The raw data of an ordinary stream (a page image: most of a scan) is never
copied: it is measured by decoding it in 64 KiB chunks, never held decoded.
Time is linear in the input: cross-reference offsets are verified so pypdf
never falls back to searching the whole file once per object.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import BinaryIO, Final

from PIL import Image, ImageOps

from contactbook.adapters.files.pdf_inspection import (
    DEFAULT_MAX_INFLATE_RATIO,
    DEFAULT_MAX_INFLATED_BYTES,
    check_pdf,
)
from contactbook.adapters.files.rejections import rejected_on_error
from contactbook.domain.files import InspectionContext
from contactbook.errors import UploadRejected
from contactbook.ports.inspection import InspectedFile

__all__ = ["PillowPdfInspector"]

_PNG: Final = "image/png"
_JPEG: Final = "image/jpeg"
_PDF: Final = "application/pdf"
_FORBIDDEN: Final = "forbidden"  # a type we know and never accept

_CHUNK_SIZE: Final = 1024 * 1024  # for streams that answer short
_ALLOWED: Final = {
    InspectionContext.PHOTO: frozenset({_PNG, _JPEG}),
    InspectionContext.DOCUMENT: frozenset({_PDF, _PNG, _JPEG}),
}
_PILLOW_FORMAT: Final = {_PNG: "PNG", _JPEG: "JPEG"}

_SIGNATURES: Final = (
    (b"\x89PNG\r\n\x1a\n", _PNG),
    (b"\xff\xd8\xff", _JPEG),
    (b"%PDF-", _PDF),
    (b"GIF87a", _FORBIDDEN),
    (b"GIF89a", _FORBIDDEN),
    (b"BM", _FORBIDDEN),
    (b"II*\x00", _FORBIDDEN),  # TIFF, little- and big-endian, and BigTIFF
    (b"MM\x00*", _FORBIDDEN),
    (b"II+\x00", _FORBIDDEN),
    (b"MM\x00+", _FORBIDDEN),
    (b"PK\x03\x04", _FORBIDDEN),  # ZIP and everything built on it (docx, xlsx, odt, jar)
    (b"PK\x05\x06", _FORBIDDEN),
    (b"PK\x07\x08", _FORBIDDEN),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", _FORBIDDEN),  # OLE2: doc, xls, msi
    (b"MZ", _FORBIDDEN),  # Windows executables
    (b"\x7fELF", _FORBIDDEN),
)
# Markup a browser would render: the HTML openers of the WHATWG MIME sniffing
# standard (each followed by a space or ">"), plus XML and SVG.
_MARKUP_PREFIXES: Final = (b"<?xml", b"<!--")
_MARKUP_TAGS: Final = (
    b"<!doctype html",
    b"<html",
    b"<head",
    b"<script",
    b"<iframe",
    b"<h1",
    b"<div",
    b"<font",
    b"<table",
    b"<a",
    b"<style",
    b"<title",
    b"<b",
    b"<body",
    b"<br",
    b"<p",
    b"<svg",
)
_TAG_END: Final = frozenset(b" \t\n\r\x0c>")


class PillowPdfInspector:
    """Accepts PNG, JPEG (re-encoded, metadata-free) and passive, unencrypted PDFs.

    ``max_pixels`` caps width x height before decoding. Pillow's own
    decompression-bomb warning (above ``Image.MAX_IMAGE_PIXELS``, about 89 MP)
    is also a refusal, so a ``max_pixels`` above that has no effect.
    A PDF's streams may decode to at most ``max_inflated_bytes`` in total and to
    at most ``max_inflate_ratio`` times the file's size (see
    :mod:`.pdf_inspection` for why 256 MiB and 2000:1).
    """

    def __init__(
        self,
        max_pixels: int = 40_000_000,
        thumbnail_size: int = 240,
        jpeg_quality: int = 88,
        *,
        max_inflated_bytes: int = DEFAULT_MAX_INFLATED_BYTES,
        max_inflate_ratio: int = DEFAULT_MAX_INFLATE_RATIO,
    ) -> None:
        if max_pixels < 1 or thumbnail_size < 1 or not 1 <= jpeg_quality <= 100:
            raise ValueError("max_pixels and thumbnail_size must be positive, quality 1..100")
        if max_inflated_bytes < 0 or max_inflate_ratio < 1:
            raise ValueError("max_inflated_bytes must not be negative, max_inflate_ratio positive")
        self._max_pixels = max_pixels
        self._thumbnail_size = thumbnail_size
        self._jpeg_quality = jpeg_quality
        self._max_inflated_bytes = max_inflated_bytes
        self._max_inflate_ratio = max_inflate_ratio

    def inspect(
        self,
        data: BinaryIO,
        *,
        filename: str,
        context: InspectionContext,
        max_bytes: int,
    ) -> InspectedFile:
        """Accept the bytes or raise ``UploadRejected``; ``filename`` only labels the error."""
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        content = _read_at_most(data, max_bytes + 1)
        if not content:
            raise UploadRejected("empty", filename)
        if len(content) > max_bytes:
            raise UploadRejected("too_large", filename)
        content_type = _sniff(content)
        if content_type is None:
            raise UploadRejected("unrecognized", filename)
        if content_type not in _ALLOWED[context]:
            raise UploadRejected("type_not_allowed", filename)
        if content_type == _PDF:
            content = check_pdf(
                content,
                filename,
                max_inflated_bytes=self._max_inflated_bytes,
                max_inflate_ratio=self._max_inflate_ratio,
            )
            return InspectedFile(_PDF, io.BytesIO(content), len(content), thumbnail=None)
        return self._clean_image(content, content_type, filename)

    def _clean_image(self, content: bytes, content_type: str, filename: str) -> InspectedFile:
        """Decode fully, turn upright, and re-encode the pixels with nothing else."""
        pillow_format = _PILLOW_FORMAT[content_type]
        with rejected_on_error("corrupt", filename), _pixel_bombs_refused(filename):
            image = Image.open(io.BytesIO(content), formats=[pillow_format])
            width, height = image.size
            if width * height > self._max_pixels:
                raise UploadRejected("too_many_pixels", filename)
            image.load()
            # In place: an upright photo (the usual case) is not copied; a rotated
            # one gets its turned pixels instead of the original ones.
            ImageOps.exif_transpose(image, in_place=True)
            clean = _without_metadata(image, pillow_format)
            if clean is not image:
                image.close()  # converted: only the copy is needed from here on
        # Encoding our own clean pixels is not the uploader's fault: errors propagate.
        try:
            encoded = _encode(clean, pillow_format, self._jpeg_quality)
            thumbnail = _thumbnail(clean, self._thumbnail_size, self._jpeg_quality)
        finally:
            clean.close()
        return InspectedFile(content_type, io.BytesIO(encoded), len(encoded), thumbnail)


def _read_at_most(stream: BinaryIO, limit: int) -> bytes:
    """Read up to ``limit`` bytes, following short reads, never asking for more.

    The first call asks for everything: a file (or an in-memory buffer) answers
    with one bytes object of the final size, so the upload is copied once, with
    no growing buffer and no join. Only a stream that answers short is followed
    in chunks, which are joined once at the end (the file twice, for an instant).
    """
    if limit <= 0:
        return b""
    first = _as_bytes(stream.read(limit))
    if len(first) >= limit or not first:
        return first[:limit]  # a misbehaving stream may return more than asked
    parts = [first]
    remaining = limit - len(first)
    while remaining > 0:
        chunk = _as_bytes(stream.read(min(remaining, _CHUNK_SIZE)))
        if not chunk:
            break
        chunk = chunk[:remaining]
        parts.append(chunk)
        remaining -= len(chunk)
    return b"".join(parts)


def _as_bytes(chunk: bytes | bytearray | None) -> bytes:
    """What ``read`` returned as bytes (``None``, "no data yet", ends the read like EOF)."""
    if chunk is None:
        return b""
    return chunk if type(chunk) is bytes else bytes(chunk)


def _sniff(content: bytes) -> str | None:
    """The content type by magic bytes, ``_FORBIDDEN`` for known refused types, else None."""
    for signature, content_type in _SIGNATURES:
        if content.startswith(signature):
            return content_type
    if content.startswith(b"RIFF") and content[8:12] == b"WEBP":
        return _FORBIDDEN
    return _FORBIDDEN if _is_markup(content) else None


def _is_markup(content: bytes) -> bool:
    """Whether a browser would sniff this as HTML, XML or SVG (after a BOM and blanks)."""
    head = content[:1024].removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    if head.startswith(_MARKUP_PREFIXES):
        return True
    return any(
        head.startswith(tag) and len(head) > len(tag) and head[len(tag)] in _TAG_END
        for tag in _MARKUP_TAGS
    )


@contextmanager
def _pixel_bombs_refused(filename: str) -> Iterator[None]:
    """Make Pillow's decompression-bomb warning an error here only, and refuse both.

    ``catch_warnings`` restores the filters afterwards, so neither the global
    filters nor ``Image.MAX_IMAGE_PIXELS`` change. (It swaps process-wide state
    while active; a concurrent thread may briefly see the stricter filter.)
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            yield
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
            raise UploadRejected("too_many_pixels", filename) from error


_PNG_MODES: Final = frozenset({"1", "L", "LA", "RGB", "RGBA", "I;16"})


def _without_metadata(image: Image.Image, pillow_format: str) -> Image.Image:
    """The pixels in a mode the format stores well, with ``info`` emptied.

    Pillow's savers fall back to ``info`` for the ICC profile, comments and
    transparency, so it must be empty; a palette or colour-key transparency is
    turned into an alpha channel first so that nothing visible is lost.
    (16-bit grey keeps its depth; its rare colour key is dropped.)
    """
    keyed = "transparency" in image.info
    mode = image.mode
    if pillow_format == "JPEG":
        target = mode if mode in ("L", "RGB") else "RGB"
    elif keyed and mode in ("1", "L"):
        target = "LA"
    elif keyed and mode == "RGB":
        target = "RGBA"
    elif mode in _PNG_MODES:
        target = mode
    else:  # palette and anything exotic
        target = "RGBA" if keyed or "A" in image.getbands() else "RGB"
    clean = image if mode == target else image.convert(target)
    clean.info = {}
    return clean


def _encode(image: Image.Image, pillow_format: str, quality: int) -> bytes:
    out = io.BytesIO()
    if pillow_format == "JPEG":
        image.save(out, "JPEG", quality=quality)
    else:
        image.save(out, "PNG")
    return out.getvalue()


def _thumbnail(image: Image.Image, longest: int, quality: int) -> bytes:
    """A JPEG preview whose longest side is at most ``longest`` (never enlarged)."""
    small = _eight_bit(image)
    scale = longest / max(small.size)
    if scale < 1:
        size = (max(1, round(small.width * scale)), max(1, round(small.height * scale)))
        small = small.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    if small.mode in ("LA", "RGBA"):  # JPEG has no alpha: show it on white
        background = Image.new("RGBA", small.size, "white")
        background.alpha_composite(small.convert("RGBA"))
        small = background.convert("RGB")
    return _encode(small, "JPEG", quality)


def _eight_bit(image: Image.Image) -> Image.Image:
    """Bilevel and 16-bit grey as 8-bit grey (Pillow's own I;16 to L conversion clips)."""
    if image.mode == "1":
        return image.convert("L")
    if image.mode == "I;16":
        return image.convert("I").point(lambda value: value * (1 / 257)).convert("L")
    return image
