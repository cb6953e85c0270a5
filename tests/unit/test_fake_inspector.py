"""The magic-byte FakeFileInspector, the sample file builders and MovableClock."""

from __future__ import annotations

import io
import struct
import zlib
from datetime import UTC, datetime, timedelta, timezone

import pytest

from contactbook.domain.files import InspectionContext
from contactbook.errors import UploadRejected
from contactbook.ports.clock import Clock
from contactbook.ports.inspection import FileInspector
from contactbook.testing.fakes import (
    FakeFileInspector,
    MovableClock,
    sample_jpeg,
    sample_pdf,
    sample_png,
)

PHOTO = InspectionContext.PHOTO
DOCUMENT = InspectionContext.DOCUMENT
LIMIT = 1024


def reason(data: bytes, context: InspectionContext = DOCUMENT, max_bytes: int = LIMIT) -> str:
    with pytest.raises(UploadRejected) as caught:
        FakeFileInspector().inspect(
            io.BytesIO(data), filename="上傳.bin", context=context, max_bytes=max_bytes
        )
    assert caught.value.filename == "上傳.bin"
    return caught.value.reason


@pytest.mark.parametrize(
    ("data", "context", "content_type"),
    [
        (sample_png(), PHOTO, "image/png"),
        (sample_jpeg(), PHOTO, "image/jpeg"),
        (sample_png(), DOCUMENT, "image/png"),
        (sample_jpeg(), DOCUMENT, "image/jpeg"),
        (sample_pdf(), DOCUMENT, "application/pdf"),
    ],
)
def test_accepted_types(data: bytes, context: InspectionContext, content_type: str) -> None:
    inspected = FakeFileInspector().inspect(
        io.BytesIO(data), filename="證明.pdf", context=context, max_bytes=LIMIT
    )
    assert inspected.content_type == content_type
    assert inspected.size == len(data)
    assert inspected.data.read() == data
    assert inspected.thumbnail is None


def test_fakes_satisfy_their_ports() -> None:
    inspector: FileInspector = FakeFileInspector()  # checked by mypy, not at run time
    clock: Clock = MovableClock(datetime(2025, 1, 1, tzinfo=UTC))
    assert inspector is not None and clock.now().year == 2025


def test_empty() -> None:
    assert reason(b"") == "empty"


def test_too_large_reads_at_most_one_byte_past_the_limit() -> None:
    stream = io.BytesIO(sample_png() + b"\0" * 10_000)
    with pytest.raises(UploadRejected) as caught:
        FakeFileInspector().inspect(stream, filename="big.png", context=PHOTO, max_bytes=100)
    assert caught.value.reason == "too_large"
    assert stream.tell() == 101


def test_exactly_the_limit_is_accepted() -> None:
    data = sample_png()
    inspected = FakeFileInspector().inspect(
        io.BytesIO(data), filename="a.png", context=PHOTO, max_bytes=len(data)
    )
    assert inspected.size == len(data)


def test_short_reads_are_followed_to_the_end() -> None:
    class Trickle(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._data = data

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            chunk, self._data = self._data[:3], self._data[3:]
            return chunk

    inspected = FakeFileInspector().inspect(
        Trickle(sample_pdf()),  # type: ignore[arg-type]
        filename="a.pdf",
        context=DOCUMENT,
        max_bytes=LIMIT,
    )
    assert inspected.size == len(sample_pdf())


def test_pdf_is_not_a_photo() -> None:
    assert reason(sample_pdf(), PHOTO) == "type_not_allowed"


@pytest.mark.parametrize(
    "data",
    [
        b"GIF89a\x01\x00\x01\x00",
        b"RIFF\x24\x00\x00\x00WEBPVP8 ",
        b"BM\x3a\x00\x00\x00",
        b"PK\x03\x04\x14\x00",
        b"MZ\x90\x00",
        b"\x7fELF\x02\x01\x01",
        b"<svg xmlns='http://www.w3.org/2000/svg'/>",
        b"  \n\t<?xml version='1.0'?><svg/>",
        b"<HTML><body>hi</body></HTML>",
        b"\xef\xbb\xbf<!DOCTYPE html><html></html>",
        b"\r\n<!doctype HTML>",
    ],
)
@pytest.mark.parametrize("context", [PHOTO, DOCUMENT])
def test_known_but_forbidden_types(data: bytes, context: InspectionContext) -> None:
    assert reason(data, context) == "type_not_allowed"


@pytest.mark.parametrize(
    "data", [b"hello, world", b"RIFF\x24\x00\x00\x00WAVEfmt ", b"\x00\x00\x00 ftypheic", b"%PD"]
)
def test_anything_else_is_unrecognized(data: bytes) -> None:
    assert reason(data) == "unrecognized"


def test_sample_png_is_a_well_formed_1x1_png() -> None:
    data = sample_png()
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    offset, chunks = 8, []
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        body = data[offset + 8 : offset + 8 + length]
        (crc,) = struct.unpack(">I", data[offset + 8 + length : offset + 12 + length])
        assert crc == zlib.crc32(kind + body)
        chunks.append((kind, body))
        offset += 12 + length
    assert [kind for kind, _ in chunks] == [b"IHDR", b"IDAT", b"IEND"]
    width, height = struct.unpack(">II", chunks[0][1][:8])
    assert (width, height) == (1, 1)
    assert len(zlib.decompress(chunks[1][1])) == 1 + 3  # filter byte + one RGB pixel


def test_sample_jpeg_has_the_baseline_markers() -> None:
    data = sample_jpeg()
    assert data.startswith(b"\xff\xd8\xff") and data.endswith(b"\xff\xd9")
    for marker in (b"\xff\xdb", b"\xff\xc0", b"\xff\xc4", b"\xff\xda"):
        assert marker in data


def test_sample_pdf_xref_offsets_point_at_objects() -> None:
    data = sample_pdf()
    assert data.startswith(b"%PDF-1.4") and data.rstrip().endswith(b"%%EOF")
    startxref = int(data.rsplit(b"startxref", 1)[1].split()[0])
    assert data[startxref:].startswith(b"xref")
    entries = data[startxref:].split(b"\n")[3:8]
    for number, entry in enumerate(entries, start=1):
        offset = int(entry[:10])
        assert data[offset:].startswith(b"%d 0 obj" % number)
    assert b"/Count 1" in data


def test_movable_clock_advances_and_sets() -> None:
    taipei = timezone(timedelta(hours=8))
    clock = MovableClock(datetime(2025, 6, 1, 9, 0, tzinfo=taipei))
    assert clock.now() == datetime(2025, 6, 1, 1, 0, tzinfo=UTC)
    assert clock.now().tzinfo is UTC
    assert clock.advance(days=7, hours=1) == datetime(2025, 6, 8, 2, 0, tzinfo=UTC)
    assert clock.now() == datetime(2025, 6, 8, 2, 0, tzinfo=UTC)
    clock.set(datetime(2030, 1, 1, tzinfo=UTC))
    assert clock.now() == datetime(2030, 1, 1, tzinfo=UTC)


def test_movable_clock_refuses_naive_times() -> None:
    with pytest.raises(ValueError):
        MovableClock(datetime(2025, 6, 1))
    clock = MovableClock(datetime(2025, 6, 1, tzinfo=UTC))
    with pytest.raises(ValueError):
        clock.set(datetime(2025, 6, 1))
