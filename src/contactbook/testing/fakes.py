"""Stand-ins for tests and the demo: a clock that moves, a fast hasher, a magic-byte inspector.

None of these is for production. They are small enough to read in a minute
and strict enough that a test passing on them means something: the inspector
refuses what the real one refuses by type, the hasher really salts and
compares in constant time. Sample builders make tiny *valid* files without
Pillow or pypdf, so tests do not carry binary fixtures.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import struct
import zlib
from datetime import datetime, timedelta
from typing import BinaryIO

from contactbook.domain.files import InspectionContext
from contactbook.domain.time import utc
from contactbook.errors import UploadRejected
from contactbook.ports.inspection import InspectedFile

__all__ = [
    "FakeFileInspector",
    "FastPasswordHasher",
    "MovableClock",
    "sample_jpeg",
    "sample_pdf",
    "sample_png",
]


class MovableClock:
    """A clock tests set and advance; always answers aware UTC."""

    def __init__(self, start: datetime) -> None:
        self._now = utc(start)

    def now(self) -> datetime:
        return self._now

    def advance(self, **delta: float) -> datetime:
        """Move forward by ``timedelta(**delta)`` (e.g. ``days=7``); returns the new time."""
        self._now += timedelta(**delta)
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = utc(moment)


class FastPasswordHasher:
    """Salted SHA-256 with a ``fake$`` prefix: FOR TESTS ONLY, argon2 makes suites slow.

    One SHA-256 round is trivially brute-forced; never wire this into a real book.
    """

    PREFIX = "fake$"

    def hash(self, password: str) -> str:
        salt = os.urandom(16).hex()
        return f"{self.PREFIX}{salt}${self._digest(salt, password)}"

    def verify(self, password_hash: str, password: str) -> bool:
        parts = password_hash.split("$")
        if len(parts) != 3 or f"{parts[0]}$" != self.PREFIX:
            return False
        _, salt, expected = parts
        return hmac.compare_digest(self._digest(salt, password), expected)

    def needs_rehash(self, password_hash: str) -> bool:
        return not password_hash.startswith(self.PREFIX)

    @staticmethod
    def _digest(salt: str, password: str) -> str:
        return hashlib.sha256(f"{salt}${password}".encode("utf-8", "surrogatepass")).hexdigest()


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Recognised but never accepted: images we do not serve, archives, markup, executables.
_REFUSED_PREFIXES = (b"GIF8", b"BM", b"PK\x03\x04", b"MZ", b"\x7fELF")
_REFUSED_MARKUP = (b"<svg", b"<?xml", b"<html", b"<!doctype html")
_ALLOWED = {
    InspectionContext.PHOTO: frozenset({"image/png", "image/jpeg"}),
    InspectionContext.DOCUMENT: frozenset({"application/pdf", "image/png", "image/jpeg"}),
}


class FakeFileInspector:
    """Judges by magic bytes only (no decoding, no re-encoding) until the Pillow/pypdf one lands.

    Reasons it gives: ``empty``, ``too_large``, ``type_not_allowed``, ``unrecognized``.
    """

    def inspect(
        self,
        data: BinaryIO,
        *,
        filename: str,
        context: InspectionContext,
        max_bytes: int,
    ) -> InspectedFile:
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
        return InspectedFile(content_type, io.BytesIO(content), len(content), thumbnail=None)


def _read_at_most(data: BinaryIO, limit: int) -> bytes:
    """Read up to ``limit`` bytes even from streams that return short reads."""
    chunks: list[bytes] = []
    remaining = limit
    while remaining > 0:
        chunk = data.read(min(remaining, 1024 * 1024))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def _sniff(content: bytes) -> str | None:
    """The content type of ``content``; ``"refused"`` for known-but-forbidden types."""
    if content.startswith(b"%PDF-"):
        return "application/pdf"
    if content.startswith(_PNG_SIGNATURE):
        return "image/png"
    if content.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if content.startswith(_REFUSED_PREFIXES) or (
        content.startswith(b"RIFF") and content[8:12] == b"WEBP"
    ):
        return "refused"
    head = content[:1024].lstrip(b"\xef\xbb\xbf").lstrip().lower()
    if head.startswith(_REFUSED_MARKUP):
        return "refused"
    return None


def sample_png() -> bytes:
    """A real 1x1 red RGB PNG (signature, IHDR, IDAT, IEND with correct CRCs)."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1x1, 8-bit, truecolour
    pixels = zlib.compress(b"\x00\xff\x00\x00")  # filter byte 0, then one red pixel
    return _PNG_SIGNATURE + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


# A 1x1 grey baseline JPEG: JFIF, flat quantisation table, one-symbol Huffman
# tables, one 8x8 block coded as "DC difference 0, end of block".
_SAMPLE_JPEG = bytes.fromhex(
    "".join(
        [
            "ffd8",  # SOI
            "ffe000104a46494600010100000100010000",  # APP0: JFIF 1.1
            "ffdb004300" + "01" * 64,  # DQT 0: every step 1
            "ffc0000b080001000101011100",  # SOF0: 8-bit, 1x1, one component
            "ffc4001400" + "01" + "00" * 15 + "00",  # DHT DC 0: code "0" = category 0
            "ffc4001410" + "01" + "00" * 15 + "00",  # DHT AC 0: code "0" = end of block
            "ffda0008010100003f00",  # SOS: component 1, tables 0/0, spectral 0..63
            "3f",  # bits "0" (DC diff 0) "0" (EOB), padded with ones
            "ffd9",  # EOI
        ]
    )
)


def sample_jpeg() -> bytes:
    """A minimal valid 1x1 baseline JPEG."""
    return _SAMPLE_JPEG


def sample_pdf() -> bytes:
    """A minimal valid one-page PDF 1.4 with a correct cross-reference table."""
    content = b"BT /F1 12 Tf 10 30 Td (contactbook) Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 144 72]"
        b" /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)
