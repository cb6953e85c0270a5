"""Build the upload corpus: one small sample file per inspector outcome.

Run ``python tests/corpus/generate.py [directory]`` to (re)write the files next
to this script (or into ``directory``). The output is deterministic for a given
Pillow/pypdf/zlib: no clocks, no randomness except a seeded ``random.Random``.
The tests call :func:`build_corpus` themselves, so the committed copies are for
people to look at and can never make a test pass on stale bytes.

PDFs are written by hand (with a correct cross-reference table) so each one
holds exactly the construct it is meant to test and nothing else.
"""

from __future__ import annotations

import io
import random
import struct
import sys
import zipfile
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

from PIL import ExifTags, Image, PngImagePlugin
from pypdf import PdfWriter
from pypdf.generic import ArrayObject, ByteStringObject

__all__ = [
    "build_corpus",
    "deflated",
    "pdf_document",
    "png_with_dimensions",
    "twice_deflated",
    "write_corpus",
]

_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_SIZE = (64, 32)  # wider than tall, so a 90° rotation is visible in the size
_FIXED_ID = b"contactbook-test"  # 16 bytes: the PDF /ID pypdf would randomise


def _halves(size: tuple[int, int] = _SIZE, mode: str = "RGB") -> Image.Image:
    """Left half red, right half blue: orientation shows in the pixels too."""
    image = Image.new(mode, size, "blue")
    image.paste("red", (0, 0, size[0] // 2, size[1]))
    return image


def _encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _noise(size: tuple[int, int]) -> Image.Image:
    """Incompressible pixels, so a truncation lands inside the image data."""
    data = random.Random(1949).randbytes(size[0] * size[1] * 3)
    return Image.frombytes("RGB", size, data)


# --- images -----------------------------------------------------------------


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)


def png_with_dimensions(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims ``width`` x ``height`` but carries one row of data.

    The header is valid (correct CRCs), so a decoder learns the size before
    allocating anything; refusing it must not need the pixels.
    """
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    one_row = zlib.compress(b"\x00" + b"\x00" * 3 * min(width, 64))
    return (
        _PNG_SIGNATURE
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", one_row)
        + _png_chunk(b"IEND", b"")
    )


def _exif_with_gps(orientation: int) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "CorpusCam"
    exif[ExifTags.Base.ImageDescription] = "secret description"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (25.0, 2.0, 30.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (121.0, 33.0, 45.0)
    return exif


_XMP = (
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF'
    b' xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    b"<rdf:Description>secret xmp</rdf:Description></rdf:RDF></x:xmpmeta>"
)


def _icc_profile() -> bytes:
    """A fixed ICC header (no date, no tags): enough for Pillow to carry it along."""
    header = struct.pack(
        ">I4sI4s4s4s12s4s4sIII12sI12s",
        128 + 4,  # profile size, header plus an empty tag table
        b"lcms",
        0x02100000,  # version 2.1
        b"mntr",
        b"RGB ",
        b"XYZ ",
        b"\0" * 12,  # creation date: left empty for determinism
        b"acsp",
        b"APPL",
        0,
        0,
        0,
        b"\0" * 12,
        0,
        b"\0" * 12,
    )
    return header.ljust(128, b"\0") + struct.pack(">I", 0)


def _jpeg_with_metadata() -> bytes:
    """EXIF (orientation 6, GPS), a COM comment, XMP, ICC, then junk after EOI."""
    jpeg = _encode(
        _halves(),
        "JPEG",
        quality=90,
        exif=_exif_with_gps(orientation=6).tobytes(),
        comment=b"secret comment",
        xmp=_XMP,
        icc_profile=_icc_profile(),
    )
    return jpeg + b"TRAILING-JUNK-AFTER-EOI" * 4


def _png_with_metadata() -> bytes:
    """tEXt, zTXt and iTXt chunks, an ICC profile (iCCP) and an eXIf chunk."""
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "secret tEXt")
    text.add_text("Author", "secret zTXt", zip=True)
    text.add_itxt("Description", "secret iTXt 秘密", lang="zh-TW", tkey="說明")
    return _encode(
        _halves(),
        "PNG",
        pnginfo=text,
        icc_profile=_icc_profile(),
        exif=_exif_with_gps(orientation=1).tobytes(),
    )


def _palette_with_transparency() -> bytes:
    image = _halves().convert("P", palette=Image.Palette.ADAPTIVE, colors=4)
    return _encode(image, "PNG", transparency=0)


def _grey16() -> bytes:
    image = Image.linear_gradient("L").resize(_SIZE).convert("I").point(lambda v: v * 257)
    return _encode(image.convert("I;16"), "PNG")


def _jpeg_with_dimensions(width: int, height: int) -> bytes:
    """A real JPEG whose SOF0 header is patched to claim another size."""
    jpeg = bytearray(_encode(_halves(), "JPEG", quality=80))
    sof = jpeg.index(b"\xff\xc0")
    jpeg[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(jpeg)


def _polyglot() -> bytes:
    """A valid JPEG followed by a whole PDF and an HTML page."""
    return (
        _encode(_halves(), "JPEG", quality=80)
        + pdf_document()
        + b"<html><script>alert('polyglot')</script></html>"
    )


# --- PDFs -------------------------------------------------------------------


def _pdf(objects: Sequence[bytes], *, version: bytes = b"1.4", trailer: bytes = b"") -> bytes:
    """Objects numbered from 1 (object 1 is the catalog), with an xref table."""
    out = bytearray(b"%PDF-" + version + b"\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R%s >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        trailer,
        xref,
    )
    return bytes(out)


def _page_objects(*, catalog: bytes = b"", page: bytes = b"") -> list[bytes]:
    """Objects 1–5 of a one-page document; callers append objects 6, 7, …"""
    content = b"BT /F1 12 Tf 10 40 Td (contactbook corpus) Tj ET"
    return [
        b"<< /Type /Catalog /Pages 2 0 R%s >>" % catalog,
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100]"
        b" /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R%s >>" % page,
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]


def pdf_document(*, catalog: bytes = b"", page: bytes = b"", extra: Sequence[bytes] = ()) -> bytes:
    """A valid one-page PDF; ``catalog``/``page`` go inside those dictionaries."""
    return _pdf([*_page_objects(catalog=catalog, page=page), *extra])


_ALERT = b"(app.alert\\(1\\))"


def _javascript_in_object_stream() -> bytes:
    """PDF 1.5: the JavaScript action hides in a compressed object stream.

    Object 6 is the object stream holding object 7 (the action), object 8 the
    cross-reference stream that says so; a link annotation points at 7 0 R.
    """
    return _object_stream_pdf(b"<< /S /JavaScript /JS " + _ALERT + b" >>")


def _object_stream_pdf(
    inner: bytes,
    *,
    object_stream: Callable[[bytes], tuple[bytes, bytes]] = lambda data: (b"", data),
    xref_stream: Callable[[bytes], tuple[bytes, bytes]] = lambda data: (b"", data),
) -> bytes:
    """PDF 1.5: object 7 (``inner``) compressed in object stream 6, object 8 the
    cross-reference stream, object 9 a link annotation whose action is 7 0 R.

    ``object_stream`` and ``xref_stream`` turn those streams' data into
    (extra dictionary entries, encoded data): ``(b" /Filter /FlateDecode", ...)``.
    """
    objects = _page_objects(page=b" /Annots [9 0 R]")
    index = b"7 0 "
    entries, stream = object_stream(index + inner)
    objects.append(
        b"<< /Type /ObjStm /N 1 /First %d%s /Length %d >>\nstream\n%s\nendstream"
        % (len(index), entries, len(stream), stream)
    )
    out = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number, body in enumerate(objects, start=1):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    offsets[9] = len(out)
    out += b"9 0 obj\n<< /Type /Annot /Subtype /Link /Rect [0 0 50 50] /A 7 0 R >>\nendobj\n"
    offsets[8] = len(out)
    rows = [struct.pack(">BIH", 0, 0, 0xFFFF)]
    for number in range(1, 10):
        if number == 7:
            rows.append(struct.pack(">BIH", 2, 6, 0))  # in object stream 6, index 0
        else:
            rows.append(struct.pack(">BIH", 1, offsets[number], 0))
    entries, table = xref_stream(b"".join(rows))
    out += (
        b"8 0 obj\n<< /Type /XRef /Size 10 /W [1 4 2] /Root 1 0 R%s /Length %d >>\n"
        b"stream\n%s\nendstream\nendobj\n" % (entries, len(table), table)
    )
    out += b"startxref\n%d\n%%%%EOF\n" % offsets[8]
    return bytes(out)


# --- decompression bombs ------------------------------------------------------

_MIB = 1024 * 1024
_GIB = 1024 * _MIB
_TWICE_FLATE = b" /Filter [/FlateDecode /FlateDecode]"


def deflated(prefix: bytes, zeros: int) -> bytes:
    """zlib data that inflates to ``prefix`` and then ``zeros`` zero bytes (whole MiBs).

    Built without ever holding or compressing ``zeros`` bytes: one fully flushed
    compressed mebibyte (it then depends on nothing before it) is repeated, and
    the Adler-32 checksum is computed, not summed (zeros leave its first half
    unchanged and add that half to the second once per byte).
    """
    assert zeros % _MIB == 0
    compressor = zlib.compressobj(9)
    head = compressor.compress(prefix) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(bytes(_MIB)) + compressor.flush(zlib.Z_FULL_FLUSH)
    final_block = compressor.flush()[:-4]  # without the checksum it ends with
    checksum = zlib.adler32(prefix)
    low, high = checksum & 0xFFFF, checksum >> 16
    high = (high + zeros * low) % 65521
    checksum_bytes = struct.pack(">I", (high << 16) | low)
    return head + block * (zeros // _MIB) + final_block + checksum_bytes


def twice_deflated(prefix: bytes, zeros: int) -> bytes:
    """Two Flate layers: a few kilobytes for a gibibyte."""
    return zlib.compress(deflated(prefix, zeros), 9)


def _bomb_in_content_stream() -> bytes:
    """A page whose content stream (zeros are PDF whitespace) inflates to 1 GiB."""
    data = twice_deflated(b"BT /F1 12 Tf 10 40 Td (bomb) Tj ET\n", _GIB)
    objects = _page_objects()
    objects[3] = b"<< /Length %d%s >>\nstream\n%s\nendstream" % (len(data), _TWICE_FLATE, data)
    return _pdf(objects)


def _bomb_in_object_stream() -> bytes:
    """An object stream holding a passive URI action, then 1 GiB of zeros."""
    return _object_stream_pdf(
        b"<< /S /URI /URI (https://www.mjac.moj.gov.tw/) >>",
        object_stream=lambda data: (_TWICE_FLATE, twice_deflated(data, _GIB)),
    )


def _bomb_in_xref_stream() -> bytes:
    """The cross-reference stream (decoded by pypdf while opening) inflates to 1 GiB."""
    return _object_stream_pdf(
        b"<< /S /URI /URI (https://www.mjac.moj.gov.tw/) >>",
        xref_stream=lambda rows: (_TWICE_FLATE, twice_deflated(rows, _GIB)),
    )


def _pdf_by_pypdf(password: str | None = None) -> bytes:
    """A blank page written by pypdf, optionally RC4-encrypted (no extra dependency)."""
    writer = PdfWriter()
    writer.add_blank_page(width=200, height=100)
    writer._ID = ArrayObject([ByteStringObject(_FIXED_ID)] * 2)
    if password is not None:
        writer.encrypt(password, algorithm="RC4-128")
        writer._ID = ArrayObject([ByteStringObject(_FIXED_ID)] * 2)  # undo the random 2nd ID
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _aes256_encrypted_header() -> bytes:
    """An /Encrypt dictionary for AES-256 (V5/R6) that cannot be opened without a key.

    It checks that encryption is reported as such even where pypdf has no AES
    provider installed.
    """
    encrypt = (
        b"<< /Filter /Standard /V 5 /R 6 /Length 256 /P -4"
        b" /CF << /StdCF << /AuthEvent /DocOpen /CFM /AESV3 /Length 32 >> >>"
        b" /StmF /StdCF /StrF /StdCF"
        b" /O <" + b"11" * 48 + b"> /U <" + b"22" * 48 + b">"
        b" /OE <" + b"33" * 32 + b"> /UE <" + b"44" * 32 + b"> /Perms <" + b"55" * 16 + b"> >>"
    )
    return _pdf(
        [*_page_objects(), encrypt],
        trailer=b" /Encrypt 6 0 R /ID [<%s> <%s>]" % ((_FIXED_ID.hex().encode(),) * 2),
    )


# --- everything else --------------------------------------------------------


def _zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr(zipfile.ZipInfo("word/document.xml", (2024, 1, 1, 0, 0, 0)), "<w/>")
    return out.getvalue()


def _random_bytes() -> bytes:
    data = random.Random(20240601).randbytes(512)
    assert data[:1] not in (b"\x89", b"\xff", b"%", b"G", b"R", b"B", b"I", b"M", b"P", b"<")
    return data


def _truncated(data: bytes, fraction: float = 0.6) -> bytes:
    return data[: int(len(data) * fraction)]


def _link(uri: bytes) -> bytes:
    """A valid PDF whose page has one link annotation to ``uri`` (a PDF string)."""
    return pdf_document(
        page=b" /Annots [6 0 R]",
        extra=[
            b"<< /Type /Annot /Subtype /Link /Rect [0 0 50 50] /A << /S /URI /URI %s >> >>" % uri
        ],
    )


_CORPUS: dict[str, Callable[[], bytes]] = {
    # accepted images
    "valid.png": lambda: _encode(_halves(), "PNG"),
    "valid.jpg": lambda: _encode(_halves(), "JPEG", quality=85),
    "valid_grey.jpg": lambda: _encode(_halves(mode="L"), "JPEG", quality=85),
    "exif_gps_orientation6_comment_trailing_junk.jpg": _jpeg_with_metadata,
    "text_chunks_icc_exif.png": _png_with_metadata,
    "palette_transparency.png": _palette_with_transparency,
    "grey_16bit.png": _grey16,
    "polyglot_jpeg_pdf_html.jpg": _polyglot,
    # accepted PDFs
    "valid.pdf": pdf_document,
    "valid_by_pypdf.pdf": _pdf_by_pypdf,
    "link_uri_annotation.pdf": lambda: pdf_document(
        page=b" /Annots [6 0 R]",
        extra=[
            b"<< /Type /Annot /Subtype /Link /Rect [0 0 50 50]"
            b" /A << /S /URI /URI (https://www.mjac.moj.gov.tw/) >> >>"
        ],
    ),
    "link_mailto_annotation.pdf": lambda: _link(b"(mailto:service@mjac.moj.gov.tw)"),
    # stored without what follows %%EOF
    "html_after_eof.pdf": lambda: pdf_document() + b"<html><script>alert(1)</script></html>\n",
    # refused before looking inside
    "empty.bin": lambda: b"",
    "image.gif": lambda: _encode(_halves(), "GIF"),
    "image.webp": lambda: _encode(_halves(), "WEBP", lossless=True),
    "image.bmp": lambda: _encode(_halves(), "BMP"),
    "image.tiff": lambda: _encode(_halves(), "TIFF"),
    "drawing.svg": lambda: (
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)">'
        b'<rect width="10" height="10"/></svg>\n'
    ),
    "drawing_with_xml_prolog.svg": lambda: (
        b'\xef\xbb\xbf<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg"/>\n'
    ),
    "page.html": lambda: b"\n  <!DOCTYPE html><html><script>alert(1)</script></html>\n",
    "fragment.html": lambda: b"<script>alert(document.cookie)</script>\n",
    "archive.zip": _zip,
    "program.exe": lambda: b"MZ\x90\x00\x03".ljust(64, b"\x00") + b"This program cannot be run",
    "program.elf": lambda: b"\x7fELF\x02\x01\x01" + b"\x00" * 57,
    "random.bin": _random_bytes,
    "plain.txt": lambda: "聯絡簿 plain text, no magic bytes\n".encode(),
    "junk_then_pdf_header.pdf": lambda: b"JUNK\n" + pdf_document(),
    # refused after decoding
    "truncated.png": lambda: _truncated(_encode(_noise((40, 40)), "PNG")),
    "truncated.jpg": lambda: _truncated(_encode(_noise((40, 40)), "JPEG", quality=95)),
    "too_many_pixels_7000x7000.png": lambda: png_with_dimensions(7000, 7000),
    "too_many_pixels_10000x10000.png": lambda: png_with_dimensions(10_000, 10_000),
    "too_many_pixels_9000x9000.jpg": lambda: _jpeg_with_dimensions(9000, 9000),
    "truncated.pdf": lambda: _truncated(pdf_document(), 0.5),
    # refused PDFs
    "encrypted_rc4.pdf": lambda: _pdf_by_pypdf(password="secret"),
    "encrypted_empty_password.pdf": lambda: _pdf_by_pypdf(password=""),
    "encrypted_aes256_header.pdf": _aes256_encrypted_header,
    "openaction_javascript.pdf": lambda: pdf_document(
        catalog=b" /OpenAction 6 0 R",
        extra=[b"<< /Type /Action /S /JavaScript /JS " + _ALERT + b" >>"],
    ),
    "openaction_fit_view.pdf": lambda: pdf_document(catalog=b" /OpenAction [3 0 R /Fit]"),
    "hex_escaped_javascript.pdf": lambda: pdf_document(
        page=b" /Annots [6 0 R]",
        extra=[
            b"<< /Type /Annot /Subtype /Link /Rect [0 0 50 50]"
            b" /A << /S /J#61vaScript /J#53 " + _ALERT + b" >> >>"
        ],
    ),
    "launch_action_annotation.pdf": lambda: pdf_document(
        page=b" /Annots [6 0 R]",
        extra=[
            b"<< /Type /Annot /Subtype /Link /Rect [0 0 50 50]"
            b" /A << /Type /Action /S /Launch /F (calc.exe) >> >>"
        ],
    ),
    "embedded_files.pdf": lambda: pdf_document(
        catalog=b" /Names << /EmbeddedFiles 6 0 R >>",
        extra=[
            b"<< /Names [(note.txt) 7 0 R] >>",
            b"<< /Type /Filespec /F (note.txt) /UF (note.txt) /EF << /F 8 0 R >> >>",
            b"<< /Type /EmbeddedFile /Length 5 >>\nstream\nhello\nendstream",
        ],
    ),
    "file_attachment_annotation.pdf": lambda: pdf_document(
        page=b" /Annots [6 0 R]",
        extra=[
            b"<< /Type /Annot /Subtype /FileAttachment /Rect [0 0 20 20]"
            b" /FS << /Type /Filespec /F (note.txt) /EF << /F 7 0 R >> >> >>",
            b"<< /Type /EmbeddedFile /Length 5 >>\nstream\nhello\nendstream",
        ],
    ),
    "page_additional_actions.pdf": lambda: pdf_document(
        page=b" /AA << /O 6 0 R >>",
        extra=[b"<< /Type /Action /S /URI /URI (https://example.org/) >>"],
    ),
    "acroform_xfa.pdf": lambda: pdf_document(
        catalog=b" /AcroForm << /Fields [] /XFA 6 0 R >>",
        extra=[b"<< /Length 7 >>\nstream\n<xdp/>\n\nendstream"],
    ),
    "javascript_in_object_stream.pdf": _javascript_in_object_stream,
    "uri_javascript_annotation.pdf": lambda: _link(b"(javascript:" + _ALERT[1:]),
    "uri_obfuscated_javascript_annotation.pdf": lambda: _link(b"( \\tJaVa\\tScRiPt:" + _ALERT[1:]),
    "uri_file_annotation.pdf": lambda: _link(b"(file:///C:/Windows/System32/calc.exe)"),
    "uri_data_annotation.pdf": lambda: _link(
        b"(data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)"
    ),
    # decompression bombs: a few kilobytes each, 1 GiB once inflated
    "flate_bomb_content_stream.pdf": _bomb_in_content_stream,
    "flate_bomb_object_stream.pdf": _bomb_in_object_stream,
    "flate_bomb_xref_stream.pdf": _bomb_in_xref_stream,
    "unreferenced_javascript_object.pdf": lambda: pdf_document(
        extra=[b"<< /S /JavaScript /JS " + _ALERT + b" >>"]
    ),
}


def build_corpus() -> dict[str, bytes]:
    """Every sample file by name; the same bytes on every call."""
    return {name: build() for name, build in _CORPUS.items()}


def write_corpus(directory: Path) -> dict[str, Path]:
    """Write every sample into ``directory`` and return the paths by name."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, data in build_corpus().items():
        path = directory / name
        path.write_bytes(data)
        paths[name] = path
    return paths


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
    for name, path in write_corpus(target).items():
        print(f"{path.stat().st_size:>7}  {name}")
