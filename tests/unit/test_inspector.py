"""PillowPdfInspector: the generated corpus, cleaning, limits and the PDF walk."""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import io
import struct
import tracemalloc
import warnings
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile
from pypdf._codecs._codecs import LzwCodec
from pypdf.generic import NameObject

from contactbook.adapters.files.inspector import PillowPdfInspector
from contactbook.adapters.files.pdf_inspection import (
    DEFAULT_MAX_INFLATED_BYTES,
    PYPDF_DECODE_LIMIT,
)
from contactbook.domain.files import InspectionContext
from contactbook.errors import UploadRejected
from contactbook.ports.inspection import FileInspector, InspectedFile

CORPUS_DIR = Path(__file__).resolve().parents[1] / "corpus"
PHOTO = InspectionContext.PHOTO
DOCUMENT = InspectionContext.DOCUMENT
PNG, JPEG, PDF = "image/png", "image/jpeg", "application/pdf"
LIMIT = 100_000


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("corpus_generate", CORPUS_DIR / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generate = _load_generator()

# name -> (outcome in the photo context, outcome in the document context);
# an outcome is the accepted content type or the rejection reason.
EXPECTED: dict[str, tuple[str, str]] = {
    "valid.png": (PNG, PNG),
    "valid.jpg": (JPEG, JPEG),
    "valid_grey.jpg": (JPEG, JPEG),
    "exif_gps_orientation6_comment_trailing_junk.jpg": (JPEG, JPEG),
    "text_chunks_icc_exif.png": (PNG, PNG),
    "palette_transparency.png": (PNG, PNG),
    "grey_16bit.png": (PNG, PNG),
    "polyglot_jpeg_pdf_html.jpg": (JPEG, JPEG),
    "valid.pdf": ("type_not_allowed", PDF),
    "valid_by_pypdf.pdf": ("type_not_allowed", PDF),
    "link_uri_annotation.pdf": ("type_not_allowed", PDF),
    "link_mailto_annotation.pdf": ("type_not_allowed", PDF),
    "html_after_eof.pdf": ("type_not_allowed", PDF),  # stored without the HTML
    "empty.bin": ("empty", "empty"),
    "image.gif": ("type_not_allowed", "type_not_allowed"),
    "image.webp": ("type_not_allowed", "type_not_allowed"),
    "image.bmp": ("type_not_allowed", "type_not_allowed"),
    "image.tiff": ("type_not_allowed", "type_not_allowed"),
    "drawing.svg": ("type_not_allowed", "type_not_allowed"),
    "drawing_with_xml_prolog.svg": ("type_not_allowed", "type_not_allowed"),
    "page.html": ("type_not_allowed", "type_not_allowed"),
    "fragment.html": ("type_not_allowed", "type_not_allowed"),
    "archive.zip": ("type_not_allowed", "type_not_allowed"),
    "program.exe": ("type_not_allowed", "type_not_allowed"),
    "program.elf": ("type_not_allowed", "type_not_allowed"),
    "random.bin": ("unrecognized", "unrecognized"),
    "plain.txt": ("unrecognized", "unrecognized"),
    "junk_then_pdf_header.pdf": ("unrecognized", "unrecognized"),
    "truncated.png": ("corrupt", "corrupt"),
    "truncated.jpg": ("corrupt", "corrupt"),
    "too_many_pixels_7000x7000.png": ("too_many_pixels", "too_many_pixels"),
    "too_many_pixels_10000x10000.png": ("too_many_pixels", "too_many_pixels"),
    "too_many_pixels_9000x9000.jpg": ("too_many_pixels", "too_many_pixels"),
    "truncated.pdf": ("type_not_allowed", "corrupt"),
    "encrypted_rc4.pdf": ("type_not_allowed", "encrypted"),
    "encrypted_empty_password.pdf": ("type_not_allowed", "encrypted"),
    "encrypted_aes256_header.pdf": ("type_not_allowed", "encrypted"),
    "openaction_javascript.pdf": ("type_not_allowed", "active_content"),
    # Deliberately strict: even a harmless "open at this view" /OpenAction is refused.
    "openaction_fit_view.pdf": ("type_not_allowed", "active_content"),
    "hex_escaped_javascript.pdf": ("type_not_allowed", "active_content"),
    "launch_action_annotation.pdf": ("type_not_allowed", "active_content"),
    "embedded_files.pdf": ("type_not_allowed", "active_content"),
    "file_attachment_annotation.pdf": ("type_not_allowed", "active_content"),
    "page_additional_actions.pdf": ("type_not_allowed", "active_content"),
    "acroform_xfa.pdf": ("type_not_allowed", "active_content"),
    "javascript_in_object_stream.pdf": ("type_not_allowed", "active_content"),
    "unreferenced_javascript_object.pdf": ("type_not_allowed", "active_content"),
    "uri_javascript_annotation.pdf": ("type_not_allowed", "active_content"),
    "uri_obfuscated_javascript_annotation.pdf": ("type_not_allowed", "active_content"),
    "uri_file_annotation.pdf": ("type_not_allowed", "active_content"),
    "uri_data_annotation.pdf": ("type_not_allowed", "active_content"),
    "flate_bomb_content_stream.pdf": ("type_not_allowed", "too_large"),
    "flate_bomb_object_stream.pdf": ("type_not_allowed", "too_large"),
    "flate_bomb_xref_stream.pdf": ("type_not_allowed", "too_large"),
}
ACCEPTED_IMAGES = sorted(name for name, (photo, _) in EXPECTED.items() if photo in (PNG, JPEG))


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Generated fresh for the session, so the tests never run on stale files."""
    paths = generate.write_corpus(tmp_path_factory.mktemp("corpus"))
    return {name: path.read_bytes() for name, path in paths.items()}


def inspect(
    data: bytes,
    context: InspectionContext = DOCUMENT,
    *,
    filename: str = "上傳檔案",
    max_bytes: int = LIMIT,
    inspector: PillowPdfInspector | None = None,
) -> InspectedFile:
    return (inspector or PillowPdfInspector()).inspect(
        io.BytesIO(data), filename=filename, context=context, max_bytes=max_bytes
    )


def outcome(data: bytes, context: InspectionContext = DOCUMENT, **options: Any) -> str:
    """The accepted content type, or the rejection reason."""
    try:
        return inspect(data, context, **options).content_type
    except UploadRejected as rejection:
        return rejection.reason


def reason(data: bytes, context: InspectionContext = DOCUMENT, **options: Any) -> str:
    with pytest.raises(UploadRejected) as caught:
        inspect(data, context, **options)
    return caught.value.reason


def opened(data: bytes, fmt: str) -> Image.Image:
    image = Image.open(io.BytesIO(data), formats=[fmt])
    image.load()
    return image


def png_chunk_types(data: bytes) -> list[bytes]:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    offset, kinds = 8, []
    while offset < len(data):
        (length,) = struct.unpack(">I", data[offset : offset + 4])
        kinds.append(data[offset + 4 : offset + 8])
        offset += 12 + length
    return kinds


def jpeg_marker_segments(data: bytes) -> list[int]:
    """The markers before the scan (APPn, COM, DQT, SOF, DHT …)."""
    assert data.startswith(b"\xff\xd8")
    offset, markers = 2, []
    while data[offset] == 0xFF and data[offset + 1] != 0xDA:
        markers.append(data[offset + 1])
        (length,) = struct.unpack(">H", data[offset + 2 : offset + 4])
        offset += 2 + length
    return markers


# --- the corpus ---------------------------------------------------------------


@pytest.mark.parametrize("context", [PHOTO, DOCUMENT], ids=str)
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_file_outcome(
    corpus: dict[str, bytes], name: str, context: InspectionContext
) -> None:
    expected = EXPECTED[name][0 if context is PHOTO else 1]
    try:
        inspected = inspect(corpus[name], context, filename=name)
    except UploadRejected as rejection:
        assert (rejection.reason, rejection.filename) == (expected, name)
    else:
        assert inspected.content_type == expected


def test_every_generated_and_committed_file_has_an_expectation(corpus: dict[str, bytes]) -> None:
    assert set(corpus) == set(EXPECTED)
    committed = {path.name for path in CORPUS_DIR.iterdir() if path.name != "generate.py"}
    committed.discard("__pycache__")
    assert committed == set(EXPECTED), "run: python tests/corpus/generate.py"


def test_corpus_files_are_small_and_generated_deterministically(corpus: dict[str, bytes]) -> None:
    assert all(len(data) < 100_000 for data in corpus.values())
    assert generate.build_corpus() == corpus


# --- images are cleaned -------------------------------------------------------


def test_jpeg_is_turned_upright_and_loses_exif_gps_comment_and_trailing_bytes(
    corpus: dict[str, bytes],
) -> None:
    original = corpus["exif_gps_orientation6_comment_trailing_junk.jpg"]
    before = opened(original, "JPEG")
    assert before.size == (64, 32) and before.getexif()[0x0112] == 6
    assert {"exif", "comment", "xmp", "icc_profile"} <= before.info.keys()

    inspected = inspect(original, PHOTO)
    clean = inspected.data.read()
    assert inspected.size == len(clean)
    image = opened(clean, "JPEG")
    assert image.size == (32, 64)  # orientation 6: rotated a quarter turn clockwise
    top, bottom = image.getpixel((16, 4)), image.getpixel((16, 60))
    assert isinstance(top, tuple) and isinstance(bottom, tuple)
    assert top[0] > 200 and top[2] < 60  # the stored left half (red) is now on top
    assert bottom[2] > 200 and bottom[0] < 60
    assert not image.getexif()
    assert not {"exif", "comment", "xmp", "icc_profile"} & image.info.keys()
    assert clean.endswith(b"\xff\xd9") and clean.count(b"\xff\xd9") == 1
    for secret in (b"Exif", b"secret", b"CorpusCam", b"TRAILING-JUNK", b"ICC_PROFILE", b"xmp"):
        assert secret not in clean
    assert 0xFE not in jpeg_marker_segments(clean)  # no COM
    assert not {0xE1, 0xE2} & set(jpeg_marker_segments(clean))  # no APP1 (EXIF/XMP), APP2 (ICC)


def test_polyglot_loses_everything_after_the_image(corpus: dict[str, bytes]) -> None:
    original = corpus["polyglot_jpeg_pdf_html.jpg"]
    assert b"%PDF-" in original and b"<script>" in original
    clean = inspect(original, PHOTO).data.read()
    assert b"%PDF" not in clean and b"<script>" not in clean and b"<html>" not in clean
    assert clean.endswith(b"\xff\xd9")


def test_png_loses_text_chunks_icc_and_exif(corpus: dict[str, bytes]) -> None:
    original = corpus["text_chunks_icc_exif.png"]
    assert {b"tEXt", b"zTXt", b"iTXt", b"iCCP", b"eXIf"} <= set(png_chunk_types(original))
    clean = inspect(original, PHOTO).data.read()
    assert set(png_chunk_types(clean)) == {b"IHDR", b"IDAT", b"IEND"}
    image = opened(clean, "PNG")
    assert image.mode == "RGB" and image.size == (64, 32)
    assert not image.info and not image.getexif()
    assert b"secret" not in clean


def test_png_palette_transparency_becomes_an_alpha_channel(corpus: dict[str, bytes]) -> None:
    original = opened(corpus["palette_transparency.png"], "PNG")
    assert original.mode == "P" and "transparency" in original.info
    image = opened(inspect(corpus["palette_transparency.png"], PHOTO).data.read(), "PNG")
    assert image.mode == "RGBA"
    alpha = image.getchannel("A")
    assert alpha.getextrema() == (0, 255)  # some pixels stay transparent, some opaque


def test_png_16_bit_grey_keeps_its_depth_and_gets_a_grey_thumbnail(
    corpus: dict[str, bytes],
) -> None:
    inspected = inspect(corpus["grey_16bit.png"], PHOTO)
    assert opened(inspected.data.read(), "PNG").mode == "I;16"
    assert inspected.thumbnail is not None
    thumbnail = opened(inspected.thumbnail, "JPEG")
    low, high = thumbnail.convert("L").getextrema()
    assert isinstance(low, int) and isinstance(high, int)
    assert low < 40 and high > 215  # scaled to 8 bits, not clipped to white


@pytest.mark.parametrize("name", ACCEPTED_IMAGES)
def test_accepted_images_are_re_encoded_in_their_own_format(
    corpus: dict[str, bytes], name: str
) -> None:
    inspected = inspect(corpus[name], PHOTO)
    fmt = "PNG" if inspected.content_type == PNG else "JPEG"
    image = opened(inspected.data.read(), fmt)
    assert image.format == fmt
    if fmt == "JPEG":
        assert image.mode in ("L", "RGB")


@pytest.mark.parametrize("name", ACCEPTED_IMAGES)
def test_thumbnail_is_a_small_jpeg(corpus: dict[str, bytes], name: str) -> None:
    inspected = inspect(corpus[name], PHOTO, inspector=PillowPdfInspector(thumbnail_size=16))
    assert inspected.thumbnail is not None
    thumbnail = opened(inspected.thumbnail, "JPEG")
    cleaned = opened(inspected.data.read(), "PNG" if inspected.content_type == PNG else "JPEG")
    assert max(thumbnail.size) == 16
    assert thumbnail.width / thumbnail.height == cleaned.width / cleaned.height
    assert thumbnail.mode in ("L", "RGB") and not thumbnail.getexif()


def test_thumbnail_is_never_enlarged(corpus: dict[str, bytes]) -> None:
    inspected = inspect(corpus["valid.png"], PHOTO)  # 64x32, default thumbnail_size 240
    assert inspected.thumbnail is not None
    assert opened(inspected.thumbnail, "JPEG").size == (64, 32)


def test_jpeg_quality_is_used() -> None:
    noisy = Image.frombytes("RGB", (64, 64), bytes(range(256)) * 48)
    out = io.BytesIO()
    noisy.save(out, "JPEG", quality=100)
    low = inspect(out.getvalue(), inspector=PillowPdfInspector(jpeg_quality=20)).size
    high = inspect(out.getvalue(), inspector=PillowPdfInspector(jpeg_quality=95)).size
    assert low < high


# --- pixel limits ---------------------------------------------------------------


def test_pixel_limit_is_checked_by_the_inspector(corpus: dict[str, bytes]) -> None:
    png = corpus["valid.png"]  # 64 x 32
    assert outcome(png, inspector=PillowPdfInspector(max_pixels=64 * 32)) == PNG
    assert reason(png, inspector=PillowPdfInspector(max_pixels=64 * 32 - 1)) == "too_many_pixels"


@pytest.mark.parametrize("name", ["too_many_pixels_7000x7000.png", "too_many_pixels_9000x9000.jpg"])
def test_too_many_pixels_is_refused_before_decoding(
    corpus: dict[str, bytes], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[object] = []
    original_load = ImageFile.ImageFile.load

    def spy(self: ImageFile.ImageFile) -> Any:
        loads.append(self)
        return original_load(self)

    monkeypatch.setattr(ImageFile.ImageFile, "load", spy)
    with pytest.raises(UploadRejected) as caught:
        inspect(corpus[name])
    assert caught.value.reason == "too_many_pixels"
    assert caught.value.__cause__ is None  # our own check, not Pillow's warning
    assert loads == []


@pytest.mark.parametrize(
    ("size", "pillow_signal"),
    [
        ((10_000, 10_000), Image.DecompressionBombWarning),  # > MAX_IMAGE_PIXELS
        ((20_000, 20_000), Image.DecompressionBombError),  # > 2 x MAX_IMAGE_PIXELS
    ],
)
def test_pillows_decompression_bomb_signals_are_refusals_without_global_changes(
    size: tuple[int, int], pillow_signal: type[Exception]
) -> None:
    limit_before = Image.MAX_IMAGE_PIXELS
    filters_before = list(warnings.filters)
    lenient = PillowPdfInspector(max_pixels=10**12)  # so only Pillow's own check can fire
    with pytest.raises(UploadRejected) as caught:
        inspect(generate.png_with_dimensions(*size), PHOTO, inspector=lenient)
    assert caught.value.reason == "too_many_pixels"
    assert isinstance(caught.value.__cause__, pillow_signal)
    assert limit_before == Image.MAX_IMAGE_PIXELS
    assert warnings.filters == filters_before


# --- PDFs -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["valid.pdf", "valid_by_pypdf.pdf", "link_uri_annotation.pdf", "link_mailto_annotation.pdf"],
)
def test_accepted_pdfs_are_returned_unchanged_without_thumbnail(
    corpus: dict[str, bytes], name: str
) -> None:
    inspected = inspect(corpus[name], DOCUMENT)
    assert (inspected.content_type, inspected.thumbnail) == (PDF, None)
    assert inspected.data.read() == corpus[name]
    assert inspected.size == len(corpus[name])


def test_pypdf_decodes_hex_escapes_in_names(corpus: dict[str, bytes]) -> None:
    assert NameObject.read_from_stream(io.BytesIO(b"/J#61vaScript "), None) == "/JavaScript"
    assert NameObject.read_from_stream(io.BytesIO(b"/J#53 "), None) == "/JS"
    data = corpus["hex_escaped_javascript.pdf"]
    assert b"/JavaScript" not in data and b"/JS " not in data  # a byte grep would miss it
    assert reason(data) == "active_content"


def test_objects_nothing_refers_to_are_inspected_too(corpus: dict[str, bytes]) -> None:
    data = corpus["unreferenced_javascript_object.pdf"]
    assert b"6 0 R" not in data
    assert reason(data) == "active_content"


def test_compressed_objects_are_inspected(corpus: dict[str, bytes]) -> None:
    data = corpus["javascript_in_object_stream.pdf"]
    assert b"/ObjStm" in data and b"/XRef" in data
    assert reason(data) == "active_content"


ACTIVE_NAMES = [
    "JavaScript",
    "JS",
    "OpenAction",
    "AA",
    "Launch",
    "EmbeddedFiles",
    "EF",
    "XFA",
    "RichMedia",
    "SubmitForm",
    "ImportData",
    "GoToR",
    "GoToE",
]


def annotated_pdf(action: bytes) -> bytes:
    data: bytes = generate.pdf_document(
        page=b" /Annots [6 0 R]",
        extra=[b"<< /Type /Annot /Subtype /Link /Rect [0 0 9 9] /A 7 0 R >>", action],
    )
    return data


@pytest.mark.parametrize("name", ACTIVE_NAMES)
def test_every_active_name_is_refused_as_a_key(name: str) -> None:
    assert reason(annotated_pdf(b"<< /%s (x) >>" % name.encode())) == "active_content"


@pytest.mark.parametrize("name", ACTIVE_NAMES)
def test_every_active_name_is_refused_as_an_action_type(name: str) -> None:
    assert reason(annotated_pdf(b"<< /Type /Action /S /%s >>" % name.encode())) == "active_content"


def test_an_action_type_behind_a_reference_is_resolved() -> None:
    data = generate.pdf_document(
        page=b" /Annots [6 0 R]",
        extra=[b"<< /Subtype /Link /Rect [0 0 9 9] /A << /S 7 0 R >> >>", b"/Launch"],
    )
    assert reason(data) == "active_content"


@pytest.mark.parametrize("action", [b"/URI /URI (https://example.org/)", b"/GoTo /D [3 0 R /Fit]"])
def test_passive_actions_are_accepted(action: bytes) -> None:
    assert outcome(annotated_pdf(b"<< /Type /Action /S " + action + b" >>")) == PDF


def test_active_names_as_plain_values_or_text_are_not_refused() -> None:
    data = generate.pdf_document(catalog=b" /Note /JavaScript /Lang (JavaScript /JS)")
    assert outcome(data) == PDF


def test_reference_cycles_end() -> None:
    data = generate.pdf_document(
        catalog=b" /Loop 6 0 R",
        extra=[b"<< /Self 6 0 R /Both [6 0 R 1 0 R 7 0 R] >>", b"[6 0 R 7 0 R]"],
    )
    assert outcome(data) == PDF


def test_deep_nesting_is_corrupt_not_a_crash() -> None:
    nested = b"[" * 5_000 + b"]" * 5_000
    assert reason(generate.pdf_document(catalog=b" /D " + nested)) == "corrupt"


BIG = b"%" + b" /JavaScript (x) 7 0 R endstream" * 4_000  # stream data: never a finding


def big_stream_pdf(dictionary: bytes = b"", *, data: bytes = BIG, length: bytes = b"") -> bytes:
    """A one-page PDF whose page content is ``data`` (over 64 KiB: passed over unread)."""
    objects = generate._page_objects()
    objects[3] = b"<< /Length %s%s >>\nstream\n%s\nendstream" % (
        length or b"%d" % len(data),
        dictionary,
        data,
    )
    result: bytes = generate._pdf(objects)
    return result


def test_large_stream_data_is_passed_over_but_its_dictionary_is_checked() -> None:
    assert len(BIG) > 64 * 1024
    assert outcome(big_stream_pdf(), max_bytes=LIMIT * 2) == PDF
    active = big_stream_pdf(b" /AA << /O 6 0 R >>")
    assert reason(active, max_bytes=LIMIT * 2) == "active_content"


@pytest.mark.parametrize(
    ("error", "expected"),
    [(-5, "corrupt"), (-1, "corrupt"), (1, PDF), (5, "corrupt"), (10_000, "corrupt")],
)
def test_a_large_stream_with_a_wrong_length_is_judged_as_pypdf_reads_it(
    error: int, expected: str
) -> None:
    # pypdf tolerates a length that also counts the end-of-line before "endstream".
    data = big_stream_pdf(length=b"%d" % (len(BIG) + error))
    assert outcome(data, max_bytes=LIMIT * 2) == expected


def objstm_pdf(compressed: dict[int, bytes], *, content_length: bytes) -> bytes:
    """PDF 1.5: a large page content (object 4) whose /Length is ``content_length``;
    ``compressed`` objects (numbered from 7) live in object stream 6, object 8 is the
    cross-reference stream and object 9 a link annotation whose action is 7 0 R."""
    objects = generate._page_objects(page=b" /Annots [9 0 R]")
    objects[3] = b"<< /Length %s >>\nstream\n%s\nendstream" % (content_length, BIG)
    numbers = sorted(compressed)
    bodies = [compressed[number] for number in numbers]
    positions, at = [], 0
    for body in bodies:
        positions.append(at)
        at += len(body) + 1
    index = b" ".join(b"%d %d" % pair for pair in zip(numbers, positions, strict=True)) + b" "
    stream = index + b" ".join(bodies)
    objects.append(
        b"<< /Type /ObjStm /N %d /First %d /Length %d >>\nstream\n%s\nendstream"
        % (len(numbers), len(index), len(stream), stream)
    )
    out = bytearray(b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n")
    offsets = {}
    for number, body in enumerate(objects, start=1):
        offsets[number] = len(out)
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    offsets[9] = len(out)
    out += b"9 0 obj\n<< /Type /Annot /Subtype /Link /Rect [0 0 50 50] /A 7 0 R >>\nendobj\n"
    offsets[8] = len(out)
    size = max(9, *numbers) + 1
    rows = [struct.pack(">BIH", 0, 0, 0xFFFF)]
    for number in range(1, size):
        if number in compressed:
            rows.append(struct.pack(">BIH", 2, 6, numbers.index(number)))
        elif number in offsets:
            rows.append(struct.pack(">BIH", 1, offsets[number], 0))
        else:
            rows.append(struct.pack(">BIH", 0, 0, 0))
    table = b"".join(rows)
    out += (
        b"8 0 obj\n<< /Type /XRef /Size %d /W [1 4 2] /Root 1 0 R /Length %d >>\n"
        b"stream\n%s\nendstream\nendobj\n" % (size, len(table), table)
    )
    out += b"startxref\n%d\n%%%%EOF\n" % offsets[8]
    return bytes(out)


def test_a_large_stream_whose_length_is_a_compressed_object_is_read() -> None:
    link = b"<< /S /URI /URI (https://example.org/) >>"
    data = objstm_pdf({7: link, 10: b"%d" % len(BIG)}, content_length=b"10 0 R")
    assert outcome(data, max_bytes=LIMIT * 2) == PDF
    script = b"<< /S /JavaScript /JS (app.alert\\(1\\)) >>"
    data = objstm_pdf({7: script, 10: b"%d" % len(BIG)}, content_length=b"10 0 R")
    assert reason(data, max_bytes=LIMIT * 2) == "active_content"


# --- decompression bombs ------------------------------------------------------------

MIB = 1024 * 1024
BOMBS = [
    "flate_bomb_content_stream.pdf",
    "flate_bomb_object_stream.pdf",
    "flate_bomb_xref_stream.pdf",
]


def run_length_encoded(data: bytes) -> bytes:
    """RunLengthDecode data for ``data``: runs of up to 128 equal bytes, then EOD."""
    out = bytearray()
    for start in range(0, len(data), 128):
        run = data[start : start + 128]
        if run == run[:1] * len(run) and len(run) > 1:
            out += bytes((257 - len(run), run[0]))
        else:
            out += bytes((len(run) - 1,)) + run
    return bytes(out + b"\x80")


@pytest.mark.parametrize("name", BOMBS)
def test_a_few_kilobytes_that_inflate_to_a_gibibyte_are_too_large(
    corpus: dict[str, bytes], name: str
) -> None:
    data = corpus[name]
    assert len(data) < 4096 and data.count(b"/FlateDecode") == 2
    with pytest.raises(UploadRejected) as caught:
        inspect(data)
    assert (caught.value.reason, caught.value.filename) == ("too_large", "上傳檔案")


@pytest.mark.parametrize(
    ("name", "peak_limit"),
    [
        # measured in 64 KiB chunks: nothing inflated is held
        ("flate_bomb_content_stream.pdf", 2 * MIB),
        # measured before pypdf decodes it (pypdf would hold up to its limit)
        ("flate_bomb_object_stream.pdf", 2 * MIB),
        # decoded by pypdf while opening: to PYPDF_DECODE_LIMIT (pypdf's default: 75 MB),
        # twice that for an instant while zlib grows its output
        ("flate_bomb_xref_stream.pdf", 2 * PYPDF_DECODE_LIMIT + 4 * MIB),
    ],
)
def test_inspecting_a_bomb_never_holds_what_it_inflates_to(
    corpus: dict[str, bytes], name: str, peak_limit: int
) -> None:
    tracemalloc.start()
    try:
        with contextlib.suppress(UploadRejected):
            inspect(corpus[name])
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < peak_limit


def test_a_large_stream_passed_over_unread_is_measured_too() -> None:
    data = generate.deflated(b"", 80 * MIB)  # one Flate layer: about 80 KB
    assert len(data) > 64 * 1024  # so the walk skips its bytes (see _PdfSource)
    pdf = big_stream_pdf(b" /Filter /FlateDecode", data=data)
    assert outcome(pdf, max_bytes=len(pdf)) == PDF  # 80 MiB: under both default limits
    tight = PillowPdfInspector(max_inflated_bytes=16 * MIB)
    assert reason(pdf, max_bytes=len(pdf), inspector=tight) == "too_large"


def test_a_small_file_may_inflate_only_so_many_times_its_size() -> None:
    pdf = big_stream_pdf(
        b" /Filter [/FlateDecode /FlateDecode]", data=generate.twice_deflated(b"", 16 * MIB)
    )
    assert 2_000 * len(pdf) < 16 * MIB < DEFAULT_MAX_INFLATED_BYTES
    assert reason(pdf) == "too_large"
    assert outcome(pdf, inspector=PillowPdfInspector(max_inflate_ratio=100_000)) == PDF


def test_the_budget_is_shared_by_every_stream_of_the_document() -> None:
    stream = generate.deflated(b"", 3 * MIB)
    body = b"<< /Length %d /Filter /FlateDecode >>\nstream\n%s\nendstream" % (len(stream), stream)
    objects = generate._page_objects()
    objects[3] = body
    one = generate._pdf(objects)
    two = generate._pdf([*objects, body])  # the second one is referenced by nothing
    inspector = PillowPdfInspector(max_inflated_bytes=5 * MIB)
    assert outcome(one, inspector=inspector) == PDF
    assert reason(two, inspector=inspector) == "too_large"


FILTER_CHAINS: dict[str, tuple[bytes, Callable[[bytes], bytes]]] = {
    "Flate": (b"/FlateDecode", lambda data: zlib.compress(data, 9)),
    "Fl": (b"/Fl", lambda data: zlib.compress(data, 9)),
    "LZW": (b"/LZWDecode", lambda data: LzwCodec().encode(data)),
    "RunLength": (b"/RunLengthDecode", run_length_encoded),
    "ASCIIHex, Flate": (
        b"[/ASCIIHexDecode /FlateDecode]",
        lambda data: zlib.compress(data, 9).hex().encode() + b">",
    ),
    "ASCII85, Flate": (
        b"[/ASCII85Decode /FlateDecode]",
        lambda data: base64.a85encode(zlib.compress(data, 9), wrapcol=72) + b"~>",
    ),
    "Flate, RunLength": (
        b"[/FlateDecode /RunLengthDecode]",
        lambda data: zlib.compress(run_length_encoded(data), 9),
    ),
    "indirect": (b"6 0 R", lambda data: zlib.compress(data, 9)),  # object 6 names the filter
}


@pytest.mark.parametrize("chain", sorted(FILTER_CHAINS))
def test_every_inflating_filter_is_measured(chain: str) -> None:
    filters, encode = FILTER_CHAINS[chain]
    objects = generate._page_objects()
    data = encode(b"BT ET " + bytes(2 * MIB))  # zero bytes are PDF whitespace
    objects[3] = b"<< /Length %d /Filter %s >>\nstream\n%s\nendstream" % (len(data), filters, data)
    pdf = generate._pdf([*objects, b"/FlateDecode"])
    # Chains amplify past the default ratio: here only the absolute limit decides.
    roomy, tight = (
        PillowPdfInspector(max_inflated_bytes=size * MIB, max_inflate_ratio=10**6)
        for size in (3, 1)
    )
    assert outcome(pdf, inspector=roomy) == PDF
    assert reason(pdf, inspector=tight) == "too_large"


def test_image_codecs_end_the_measurement() -> None:
    tight = PillowPdfInspector(max_inflated_bytes=1 * MIB)
    jpeg = big_stream_pdf(b" /Filter /DCTDecode", data=b"\xff\xd8 never decoded here")
    assert outcome(jpeg, inspector=tight) == PDF
    pixels = zlib.compress(bytes(2 * MIB))
    flate_jpeg = big_stream_pdf(b" /Filter [/FlateDecode /DCTDecode]", data=pixels)
    assert reason(flate_jpeg, inspector=tight) == "too_large"


@pytest.mark.parametrize(
    "filters",
    [
        b"/BrotliDecode",  # PDF 2.0's newest filter: nothing here can measure it
        b"/NoSuchDecode",
        b"[/FlateDecode /BrotliDecode]",
        b"[" + b"/FlateDecode " * 17 + b"]",  # longer than any chain pypdf decodes
        b"42",
    ],
)
def test_a_filter_that_cannot_be_measured_is_corrupt(filters: bytes) -> None:
    assert reason(big_stream_pdf(b" /Filter " + filters, data=b"x")) == "corrupt"


def test_a_stream_that_fails_to_decode_counts_what_it_decoded() -> None:
    tight = PillowPdfInspector(max_inflated_bytes=1 * MIB)
    bomb = generate.deflated(b"", 4 * MIB)
    broken = bomb[: len(bomb) // 2] + b"\xff" * 64  # a bad block after 2 MiB
    assert reason(big_stream_pdf(b" /Filter /FlateDecode", data=broken), inspector=tight) == (
        "too_large"
    )
    not_zlib = big_stream_pdf(b" /Filter /FlateDecode", data=b"not zlib at all")
    assert outcome(not_zlib, inspector=tight) == PDF  # a viewer shows nothing either


def test_deflated_zeros_are_valid_zlib() -> None:
    """The corpus builds its bombs without compressing a gibibyte: check the trick small."""
    assert zlib.decompress(generate.deflated(b"", 3 * MIB)) == bytes(3 * MIB)
    assert zlib.decompress(generate.deflated(b"7 0 << >>", 2 * MIB)) == b"7 0 << >>" + bytes(
        2 * MIB
    )
    assert zlib.decompress(zlib.decompress(generate.twice_deflated(b"x", MIB))) == b"x" + bytes(MIB)


# --- links ------------------------------------------------------------------------------

UNSAFE_URIS = {
    "javascript": b"(javascript:app.alert\\(1\\))",
    "mixed case": b"(JaVaScRiPt:app.alert\\(1\\))",
    "leading space": b"(  javascript:app.alert\\(1\\))",
    "tabs inside": b"(\\tjava\\tscript:app.alert\\(1\\))",
    "newline inside": b"(java\\nscript:x)",
    "carriage return inside": b"(java\\rscript:x)",
    "leading NUL": b"(\\000javascript:x)",
    "hex string": b"<" + b"javascript:x".hex().encode() + b">",
    "UTF-16 string": b"<" + "\ufeffJavaScript:x".encode("utf-16-be").hex().encode() + b">",
    "vbscript": b"(vbscript:msgbox)",
    "file": b"(file:///C:/Windows/System32/calc.exe)",
    "file upper case": b"(FILE://server/share/setup.exe)",
    "data": b"(data:text/html,<script>alert\\(1\\)</script>)",
    "smb": b"(smb://attacker.example/share)",
    "app scheme": b"(ms-msdt:/id PCWDiagnostic)",
    "scheme relative": b"(//attacker.example/page)",
    "relative path": b"(page.html)",
    "empty": b"()",
    "not a string": b"42",
    "an array": b"[(https://example.org/)]",
}
SAFE_URIS = {
    "https": b"(https://www.mjac.moj.gov.tw/)",
    "http with query": b"(http://example.org/a?b=c#d)",
    "upper case": b"(HTTPS://EXAMPLE.ORG/)",
    "padded": b"( https://example.org/ )",
    "mailto": b"(mailto:service@mjac.moj.gov.tw?subject=%E8%81%AF%E7%B5%A1%E7%B0%BF)",
}


@pytest.mark.parametrize("uri", sorted(UNSAFE_URIS))
def test_a_link_that_is_not_http_https_or_mailto_is_active_content(uri: str) -> None:
    assert reason(annotated_pdf(b"<< /S /URI /URI %s >>" % UNSAFE_URIS[uri])) == "active_content"


@pytest.mark.parametrize("uri", sorted(SAFE_URIS))
def test_http_https_and_mailto_links_are_accepted(uri: str) -> None:
    assert outcome(annotated_pdf(b"<< /S /URI /URI %s >>" % SAFE_URIS[uri])) == PDF


def test_a_link_behind_a_reference_is_resolved() -> None:
    data = generate.pdf_document(
        page=b" /Annots [6 0 R]",
        extra=[
            b"<< /Subtype /Link /Rect [0 0 9 9] /A 7 0 R >>",
            b"<< /S /URI /URI 8 0 R >>",
            b"(javascript:x)",
        ],
    )
    assert reason(data) == "active_content"


def test_the_catalogs_uri_dictionary_is_no_link() -> None:
    data = generate.pdf_document(catalog=b" /URI << /Base (https://www.mjac.moj.gov.tw/) >>")
    assert outcome(data) == PDF


# --- bytes after %%EOF ---------------------------------------------------------------------


def test_an_html_page_after_eof_is_cut_off(corpus: dict[str, bytes]) -> None:
    original = corpus["html_after_eof.pdf"]
    assert b"<script>" in original.rsplit(b"%%EOF", 1)[1]
    inspected = inspect(original)
    stored = inspected.data.read()
    assert stored == generate.pdf_document()
    assert stored.endswith(b"%%EOF\n") and inspected.size == len(stored)


@pytest.mark.parametrize("end_of_line", [b"", b"\n", b"\r\n", b"\r"])
@pytest.mark.parametrize(
    "tail", [b"<html><script>alert(1)</script></html>", b"\x00" * 300, b"PK\x03\x04zip", b"%%EO"]
)
def test_the_stored_pdf_ends_at_its_last_eof_and_one_end_of_line(
    end_of_line: bytes, tail: bytes
) -> None:
    document = generate.pdf_document().removesuffix(b"\n") + end_of_line
    inspected = inspect(document + tail)
    assert inspected.data.read() == document
    assert inspected.size == len(document)


def test_a_pdf_without_eof_is_corrupt() -> None:
    assert reason(generate.pdf_document().replace(b"%%EOF", b"%%END")) == "corrupt"


def shifted_offsets(data: bytes, first: int, count: int, by: int = 3) -> bytes:
    """``data`` with the xref offsets of objects first..first+count-1 moved by ``by``."""
    xref = data.rindex(b"\nxref\n") + 1
    lines = data[xref:].split(b"\n")
    for number in range(first, first + count):
        line = lines[2 + number]  # "xref", "0 N", then one line per object from 0
        lines[2 + number] = b"%010d" % (int(line[:10]) + by) + line[10:]
    return data[:xref] + b"\n".join(lines)


def test_a_wrong_cross_reference_offset_is_corrupt_not_repaired() -> None:
    # pypdf would find each object by searching the whole file: quadratic time.
    many = generate.pdf_document(extra=[b"<< /N %d >>" % n for n in range(2_000)])
    assert outcome(many, max_bytes=len(many)) == PDF
    shifted = shifted_offsets(many, first=6, count=2_000)
    assert reason(shifted, max_bytes=len(shifted)) == "corrupt"
    one_off = shifted_offsets(generate.pdf_document(), first=3, count=1, by=1)
    assert reason(one_off) == "corrupt"


def test_a_reference_to_an_object_the_cross_reference_lacks_is_corrupt() -> None:
    data = generate.pdf_document(catalog=b" /Extra 6 0 R")
    xref = data.rindex(b"\nxref\n") + 1
    hidden = b"6 0 obj\n<< /Hidden true >>\nendobj\n"
    startxref = data.rindex(b"startxref\n") + len(b"startxref\n")
    data = data[:xref] + hidden + data[xref:startxref] + b"%d\n%%%%EOF\n" % (xref + len(hidden))
    assert reason(data) == "corrupt"


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.7\n",
        b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF",
        b"%PDF-\x00\xff garbage",
    ],
)
def test_unparsable_pdfs_are_corrupt(data: bytes) -> None:
    assert reason(data) == "corrupt"


# --- reading limits ---------------------------------------------------------------


class Endless(io.RawIOBase):
    """An endless stream of zeros after ``prefix`` that counts what it handed out."""

    def __init__(self, prefix: bytes = b"\x89PNG\r\n\x1a\n") -> None:
        self._prefix = prefix
        self.handed_out = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        size = len(view)
        head = self._prefix[self.handed_out : self.handed_out + size]
        chunk = head + b"\0" * (size - len(head))
        view[:size] = chunk
        self.handed_out += size
        return size


def test_reading_stops_one_byte_past_the_limit() -> None:
    stream = Endless()
    with pytest.raises(UploadRejected) as caught:
        PillowPdfInspector().inspect(
            stream,  # type: ignore[arg-type]
            filename="endless.png",
            context=PHOTO,
            max_bytes=1_000_000,
        )
    assert caught.value.reason == "too_large"
    assert stream.handed_out == 1_000_001


def test_exactly_max_bytes_is_accepted_one_more_is_too_large(corpus: dict[str, bytes]) -> None:
    for name in ("valid.png", "valid.pdf"):
        data = corpus[name]
        assert outcome(data, max_bytes=len(data)) in (PNG, PDF)
        assert reason(data, max_bytes=len(data) - 1) == "too_large"


def test_empty_wins_over_any_limit() -> None:
    assert reason(b"", max_bytes=0) == "empty"
    assert reason(b"x", max_bytes=0) == "too_large"


def test_short_reads_are_followed(corpus: dict[str, bytes]) -> None:
    class Trickle(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._data = data

        def readable(self) -> bool:
            return True

        def read(self, size: int = -1) -> bytes:
            chunk, self._data = self._data[:7], self._data[7:]
            return chunk

    data = corpus["valid.pdf"]
    inspected = PillowPdfInspector().inspect(
        Trickle(data),  # type: ignore[arg-type]
        filename="a.pdf",
        context=DOCUMENT,
        max_bytes=LIMIT,
    )
    assert inspected.data.read() == data


# --- names never matter -------------------------------------------------------------


@pytest.mark.parametrize("context", [PHOTO, DOCUMENT], ids=str)
def test_a_png_named_pdf_is_a_png(corpus: dict[str, bytes], context: InspectionContext) -> None:
    assert inspect(corpus["valid.png"], context, filename="x.pdf").content_type == PNG


@pytest.mark.parametrize("context", [PHOTO, DOCUMENT], ids=str)
def test_html_named_jpg_is_refused(corpus: dict[str, bytes], context: InspectionContext) -> None:
    with pytest.raises(UploadRejected) as caught:
        inspect(corpus["page.html"], context, filename="photo.jpg")
    assert (caught.value.reason, caught.value.filename) == ("type_not_allowed", "photo.jpg")


@pytest.mark.parametrize("name", ["valid.jpg", "valid.pdf", "drawing.svg", "random.bin"])
def test_the_filename_never_changes_the_outcome(corpus: dict[str, bytes], name: str) -> None:
    names = ["", "photo.jpg", "scan.pdf", "x.png", "evil.svg", "a.exe", "../../etc/passwd", "證件"]
    assert {outcome(corpus[name], filename=filename) for filename in names} == {EXPECTED[name][1]}


# --- sniffing ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        b"GIF87a\x01\x00",
        b"RIFF\x24\x00\x00\x00WEBPVP8 ",
        b"II*\x00\x08\x00",
        b"MM\x00*\x00\x00",
        b"PK\x05\x06" + b"\0" * 18,
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
        b"  \n\t<?xml version='1.0'?><svg/>",
        b"<svg\nxmlns='http://www.w3.org/2000/svg'/>",
        b"\r\n<!doctype HTML>",
        b"<BODY onload=x>",
        b"<a href='javascript:x'>",
        b"<!-- comment --><p>",
    ],
)
@pytest.mark.parametrize("context", [PHOTO, DOCUMENT], ids=str)
def test_known_types_are_not_allowed(data: bytes, context: InspectionContext) -> None:
    assert reason(data, context) == "type_not_allowed"


@pytest.mark.parametrize(
    "data",
    [
        b"%PD",
        b" %PDF-1.4\n",
        b"\x00\x00\x00 ftypheic",
        b"RIFF\x24\x00\x00\x00WAVEfmt ",
        b"\x89PNG",  # too short for the signature
        b"<abbr>x</abbr>",
        b"hello",
    ],
)
def test_unknown_content_is_unrecognized(data: bytes) -> None:
    assert reason(data) == "unrecognized"


@pytest.mark.parametrize("data", [b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"\xff\xd8\xff\xe0junk"])
def test_a_bare_signature_is_corrupt(data: bytes) -> None:
    assert reason(data) == "corrupt"


# --- robustness: nothing but acceptance or UploadRejected -------------------------


def _never_crashes(data: bytes, context: InspectionContext) -> None:
    with contextlib.suppress(UploadRejected):
        inspect(data, context, inspector=PillowPdfInspector(max_pixels=1_000_000))


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    prefix=st.sampled_from([b"", b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff", b"%PDF-1.4\n"]),
    body=st.binary(max_size=512),
    context=st.sampled_from([PHOTO, DOCUMENT]),
)
def test_random_bytes_never_crash(prefix: bytes, body: bytes, context: InspectionContext) -> None:
    _never_crashes(prefix + body, context)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    name=st.sampled_from(
        [
            "valid.png",
            "valid.jpg",
            "valid.pdf",
            "javascript_in_object_stream.pdf",
            "flate_bomb_object_stream.pdf",
        ]
    ),
    flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), max_size=4),
)
def test_mutated_files_never_crash(
    corpus: dict[str, bytes], name: str, flips: list[tuple[int, int]]
) -> None:
    data = bytearray(corpus[name])
    for position, value in flips:
        data[position % len(data)] = value
    _never_crashes(bytes(data), DOCUMENT)


# --- construction and the port -------------------------------------------------------


def test_satisfies_the_port() -> None:
    inspector: FileInspector = PillowPdfInspector()  # checked by mypy
    assert isinstance(inspector, PillowPdfInspector)


@pytest.mark.parametrize(
    "options",
    [
        {"max_pixels": 0},
        {"thumbnail_size": 0},
        {"jpeg_quality": 0},
        {"jpeg_quality": 101},
        {"max_inflated_bytes": -1},
        {"max_inflate_ratio": 0},
    ],
)
def test_constructor_refuses_nonsense(options: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        PillowPdfInspector(**options)


def test_negative_max_bytes_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        inspect(b"x", max_bytes=-1)


@pytest.fixture(autouse=True)
def _no_warning_filter_leaks() -> Iterator[None]:
    before = list(warnings.filters)
    yield
    assert warnings.filters == before
