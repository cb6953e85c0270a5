"""Uploads through the public use cases, on the memory and the SQLite wirings.

Every rejection reason of the inspector is produced by a file of the generated
corpus (``tests/corpus/generate.py``) through each path a file enters by: a post
attachment (``book.posts.publish``), application evidence
(``book.applications.apply``) and a notice attachment (``book.notices.publish``).
A rejection leaves nothing behind: no row, and no file in the store (each case
uploads a valid file *before* the refused one, so the rollback of a file already
written is tested every time). Accepted images are read back through the
downloads and carry no metadata and no trailing bytes.
"""

from __future__ import annotations

import importlib.util
import io
import re
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs
import pytest
from PIL import Image

import contactbook
from contactbook.errors import UploadRejected
from contactbook.testing import FastPasswordHasher, MovableClock, sample_pdf, sample_png

CORPUS_DIR = Path(__file__).resolve().parents[1] / "corpus"
START = datetime(2020, 10, 7, 3, 0, tzinfo=UTC)
FAMILY_PASSWORD = "family-passphrase-2020"
STAFF_PASSWORD = "staff-passphrase-2020!"
FACILITY = "KLP"
CALL_NUMBER = "0609"  # the family's granted inmate (posts)
OTHER_CALL_NUMBER = "0610"  # applied for in the evidence tests
MB = 1024 * 1024
LIMIT = 20 * MB  # every path's total: posts (DOCUMENTS_PROFILE), evidence, notices
WIRINGS = ["memory", "sqlite"]


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("corpus_generate", CORPUS_DIR / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_CORPUS: dict[str, bytes] = _load_generator().build_corpus()


def corpus(name: str) -> bytes:
    """The bytes of one corpus file, generated afresh (never the committed copy)."""
    return _CORPUS[name]


# --- A small world, built through the public API only ----------------------------------


@attrs.define
class Scene:
    """One facility (DOCUMENTS_PROFILE), its reviewer-publisher, two inmates, and a
    verified family granted the contact book for the first inmate."""

    book: contactbook.ContactBook
    clock: MovableClock
    admin: contactbook.StaffPrincipal
    reviewer: contactbook.StaffPrincipal
    family: contactbook.FamilyPrincipal
    inmate_id: str

    def stored_keys(self) -> set[str]:
        return set(dict(self.book.files.keys()))

    def post(self, *uploads: contactbook.Upload, title: str = "近況") -> contactbook.PostView:
        """Publish a post with ``uploads``; the clock moves past the posting interval
        first, so every call may post."""
        self.clock.advance(days=31)
        draft = contactbook.PostDraft(
            inmate_id=self.inmate_id, title=title, body="家裡一切都好。", attachments=uploads
        )
        return self.book.posts.publish(self.family, draft)

    def apply(
        self,
        id_document: contactbook.Upload,
        relationship_proof: contactbook.Upload,
        frontal_photo: contactbook.Upload,
    ) -> Any:
        return self.book.applications.apply(
            self.family,
            contactbook.ApplicationForm(
                facility_code=FACILITY,
                call_number=OTHER_CALL_NUMBER,
                relationship=contactbook.Relationship.CHILD,
                services=frozenset({contactbook.Service.REMOTE_VISIT}),
                id_document=id_document,
                relationship_proof=relationship_proof,
                frontal_photo=frontal_photo,
            ),
        )

    def notice(self, *uploads: contactbook.Upload) -> Any:
        return self.book.notices.publish(
            self.reviewer,
            contactbook.NoticeDraft(title="懇親活動", body="請於月底前報名。", attachments=uploads),
        )

    def counts(self) -> tuple[int, int, int]:
        """How many posts and applications the family has, and notices the facility has."""
        return (
            len(self.book.posts.list_mine(self.family, limit=100).items),
            len(self.book.applications.list_mine(self.family, limit=100).items),
            len(self.book.notices.list_admin(self.reviewer, limit=100).items),
        )


def open_book(wiring: str, folder: Path, clock: MovableClock) -> contactbook.ContactBook:
    """The memory wiring (memory storage, memory:// files) or the SQLite one (a file
    database and a local folder), mail and SMS in memory."""
    if wiring == "sqlite":
        return contactbook.open(
            database=f"sqlite:///{folder / 'contactbook.db'}",
            files=str(folder / "files"),
            mail="memory://",
            sms="memory://",
            clock=clock,
            hasher=FastPasswordHasher(),
            migrate=True,
        )
    return contactbook.open(
        database="memory://",
        files="memory://",
        mail="memory://",
        sms="memory://",
        clock=clock,
        hasher=FastPasswordHasher(),
    )


def build_scene(book: contactbook.ContactBook, clock: MovableClock) -> Scene:
    book.staff.bootstrap_admin("agency.admin", "矯正署管理者", STAFF_PASSWORD)
    admin = book.staff.authenticate("agency.admin", STAFF_PASSWORD)
    book.facilities.add(admin, FACILITY, "基隆監獄")
    policy = book.facilities.policy(FACILITY)
    book.facilities.set_policy(
        admin,
        FACILITY,
        attrs.evolve(policy, attachment_profile=contactbook.DOCUMENTS_PROFILE),
    )
    book.staff.create(
        admin,
        "klp.reviewer",
        "陳審核",
        STAFF_PASSWORD,
        FACILITY,
        [contactbook.Role.REVIEWER, contactbook.Role.PUBLISHER],
    )
    reviewer = book.staff.authenticate("klp.reviewer", STAFF_PASSWORD)
    row = {
        "gender": "男",
        "custody_type": "受刑人",
        "education_grade": "4",
        "admitted_here_on": "2019-09-17",
        "has_minor_children": "是",
    }
    report = book.inmates.import_roster(
        admin,
        [
            {"call_number": CALL_NUMBER, "name": "李大華", **row},
            {"call_number": OTHER_CALL_NUMBER, "name": "李小華", **row},
        ],
        facility_code=FACILITY,
    )
    assert not report.rejected, report.rejected
    book.accounts.register(
        contactbook.RegistrationForm(
            consent=True,
            name="王小明",
            birth_date=date(1985, 3, 14),
            national_id="A123456789",
            email="ty.wang@example.com",
            password=FAMILY_PASSWORD,
            mobile="0912345678",
        )
    )
    book.messages.dispatch()
    outbox = list(book.mailer.outbox)  # type: ignore[attr-defined]
    link = next(
        found
        for mail in reversed(outbox)
        if (found := re.search(r"token=(\S+)", mail.body)) is not None
    )
    book.accounts.verify_email(link.group(1))
    family = book.accounts.authenticate("ty.wang@example.com", FAMILY_PASSWORD)
    book.applications.apply(
        family,
        contactbook.ApplicationForm(
            facility_code=FACILITY,
            call_number=CALL_NUMBER,
            relationship=contactbook.Relationship.CHILD,
            services=frozenset({contactbook.Service.CONTACT_BOOK}),
            id_document=contactbook.Upload.from_bytes("id.pdf", sample_pdf()),
            relationship_proof=contactbook.Upload.from_bytes("proof.png", sample_png()),
            frontal_photo=contactbook.Upload.from_bytes("photo.png", sample_png()),
        ),
    )
    queued = book.applications.queue(admin).items[0]
    book.applications.approve(admin, queued.id, None, queued.version)
    inmate_id = book.inmates.find(family, FACILITY, CALL_NUMBER).inmate_id
    return Scene(book, clock, admin, reviewer, family, inmate_id)


@pytest.fixture(scope="module", params=WIRINGS)
def shared_scene(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Scene]:
    """One scene per wiring for the rejection cases (they must change nothing)."""
    clock = MovableClock(START)
    book = open_book(str(request.param), tmp_path_factory.mktemp("uploads"), clock)
    try:
        yield build_scene(book, clock)
    finally:
        book.close()


@pytest.fixture(params=WIRINGS)
def scene(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Scene]:
    clock = MovableClock(START)
    book = open_book(str(request.param), tmp_path, clock)
    try:
        yield build_scene(book, clock)
    finally:
        book.close()


# --- Every rejection reason, through every path --------------------------------------


class _Padded(io.RawIOBase):
    """``head`` followed by zero bytes up to ``size``, made as it is read (a large
    upload that never exists whole in the test)."""

    def __init__(self, head: bytes, size: int) -> None:
        self._head = head
        self._size = size
        self._position = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        count = min(len(view), self._size - self._position)
        start = self._position
        head = self._head[start : start + count]
        view[: len(head)] = head
        view[len(head) : count] = bytes(count - len(head))
        self._position += count
        return count


def _upload(name: str, filename: str) -> contactbook.Upload:
    if name == "valid.pdf+padding":  # a valid PDF with bytes after it, past the limit
        return contactbook.Upload(filename, io.BufferedReader(_Padded(corpus("valid.pdf"), LIMIT)))
    return contactbook.Upload.from_bytes(filename, corpus(name), content_type="image/png")


# reason -> corpus files producing it in a document slot (each with a name that lies)
REJECTIONS: dict[str, tuple[str, ...]] = {
    "empty": ("empty.bin",),
    "too_large": ("valid.pdf+padding", "flate_bomb_content_stream.pdf"),
    "type_not_allowed": ("image.gif", "drawing.svg", "archive.zip", "program.exe"),
    "unrecognized": ("random.bin", "junk_then_pdf_header.pdf"),
    "corrupt": ("truncated.pdf", "truncated.jpg"),
    "too_many_pixels": ("too_many_pixels_10000x10000.png", "too_many_pixels_9000x9000.jpg"),
    "active_content": (
        "hex_escaped_javascript.pdf",
        "javascript_in_object_stream.pdf",
        "uri_obfuscated_javascript_annotation.pdf",
    ),
    "encrypted": ("encrypted_rc4.pdf", "encrypted_aes256_header.pdf"),
}
CASES = [(reason, name) for reason, names in REJECTIONS.items() for name in names]
# A user's path: the store must never see it, the message shows only the base name.
HOSTILE_NAME = "C:\\Users\\王小明\\Desktop\\..\\證明文件.png"
DISPLAY_NAME = "證明文件.png"


def test_every_reason_has_a_case() -> None:
    assert set(REJECTIONS) == UploadRejected.REASONS


PATHS: dict[str, Callable[[Scene, contactbook.Upload], object]] = {
    # A valid file goes first, so a file already written must be removed again.
    "post": lambda scene, bad: scene.post(
        contactbook.Upload.from_bytes("ok.jpg", corpus("valid.jpg")), bad
    ),
    "application": lambda scene, bad: scene.apply(
        contactbook.Upload.from_bytes("id.pdf", corpus("valid.pdf")),
        bad,  # relationship proof: a document slot, written after the ID
        contactbook.Upload.from_bytes("photo.png", corpus("valid.png")),
    ),
    "notice": lambda scene, bad: scene.notice(
        contactbook.Upload.from_bytes("ok.pdf", corpus("valid.pdf")), bad
    ),
}


@pytest.mark.parametrize("path", sorted(PATHS))
@pytest.mark.parametrize(("reason", "name"), CASES)
def test_rejected_upload_leaves_nothing_behind(
    shared_scene: Scene, path: str, reason: str, name: str
) -> None:
    scene = shared_scene
    keys_before, counts_before = scene.stored_keys(), scene.counts()
    with pytest.raises(UploadRejected) as caught:
        PATHS[path](scene, _upload(name, HOSTILE_NAME))
    assert caught.value.reason == reason
    assert caught.value.filename == DISPLAY_NAME
    assert caught.value.code == f"upload_{reason}"
    assert scene.stored_keys() == keys_before
    assert scene.counts() == counts_before


def test_a_photo_slot_refuses_a_pdf(shared_scene: Scene) -> None:
    keys_before = shared_scene.stored_keys()
    with pytest.raises(UploadRejected) as caught:
        shared_scene.apply(
            contactbook.Upload.from_bytes("id.pdf", corpus("valid.pdf")),
            contactbook.Upload.from_bytes("proof.pdf", corpus("valid.pdf")),
            contactbook.Upload.from_bytes("正面照.jpg", corpus("valid.pdf")),
        )
    assert (caught.value.reason, caught.value.filename) == ("type_not_allowed", "正面照.jpg")
    assert shared_scene.stored_keys() == keys_before


def test_a_rollback_after_the_files_were_written_removes_them(scene: Scene) -> None:
    """The second attachment is refused after the first (and its thumbnail) were stored."""
    keys_before = scene.stored_keys()
    with pytest.raises(UploadRejected):
        scene.post(
            contactbook.Upload.from_bytes("first.jpg", corpus("valid.jpg")),
            contactbook.Upload.from_bytes("second.pdf", corpus("truncated.pdf")),
        )
    assert scene.stored_keys() == keys_before
    # ...while the same first file alone is stored, with its thumbnail.
    view = scene.post(contactbook.Upload.from_bytes("first.jpg", corpus("valid.jpg")))
    assert len(scene.stored_keys() - keys_before) == 2
    assert view.attachments[0].has_thumbnail


# --- Accepted files read back -----------------------------------------------------------


def _assert_clean_jpeg(data: bytes) -> Image.Image:
    """A JPEG with nothing but pixels: no EXIF/GPS, comment, XMP, ICC, nor trailing bytes."""
    assert data.startswith(b"\xff\xd8\xff")
    assert data.endswith(b"\xff\xd9")
    for secret in (b"TRAILING-JUNK", b"secret", b"CorpusCam", b"Exif\x00\x00", b"<x:xmpmeta"):
        assert secret not in data
    image = Image.open(io.BytesIO(data), formats=["JPEG"])
    image.load()
    assert image.format == "JPEG"
    assert len(image.getexif()) == 0
    for key in ("exif", "comment", "icc_profile", "xmp", "XML:com.adobe.xmp"):
        assert key not in image.info
    return image


def test_a_stored_jpeg_has_no_metadata_and_no_trailing_bytes(scene: Scene) -> None:
    original = corpus("exif_gps_orientation6_comment_trailing_junk.jpg")
    assert b"TRAILING-JUNK" in original and b"secret comment" in original  # the corpus holds them
    view = scene.post(
        contactbook.Upload.from_bytes(
            "C:\\fakepath\\照片/全家福.jpg", original, content_type="application/octet-stream"
        )
    )
    [attachment] = view.attachments
    assert attachment.filename == "全家福.jpg"
    assert attachment.content_type == "image/jpeg"
    assert attachment.has_thumbnail
    downloads = [
        scene.book.posts.attachment(scene.family, view.id, attachment.id),
        scene.book.moderation.attachment(scene.reviewer, view.id, attachment.id),
    ]
    for download in downloads:
        assert download.content_type == "image/jpeg"
        assert download.filename == "全家福.jpg"
        with download.stream as stream:
            data = stream.read()
        assert download.size == len(data)
        image = _assert_clean_jpeg(data)
        assert image.size == (32, 64)  # orientation 6 applied: 64x32 turned upright
    # the thumbnail is stored beside it, a clean small JPEG too
    with scene.book.storage.unit_of_work() as uow:
        post = uow.posts.get(view.id)
    assert post is not None
    [stored] = post.attachments
    assert stored.thumbnail_key is not None and stored.thumbnail_key != stored.storage_key
    assert "全家福" not in stored.storage_key and "fakepath" not in stored.storage_key
    with scene.book.files.open(stored.thumbnail_key) as stream:
        thumbnail = _assert_clean_jpeg(stream.read())
    assert max(thumbnail.size) <= 240


def test_the_content_type_is_sniffed_not_declared(scene: Scene) -> None:
    png_named_jpeg = contactbook.Upload.from_bytes(
        "../../etc/picture.jpg", corpus("text_chunks_icc_exif.png"), content_type="image/jpeg"
    )
    view = scene.post(png_named_jpeg)
    [attachment] = view.attachments
    assert attachment.filename == "picture.png"  # the extension follows the content
    download = scene.book.posts.attachment(scene.family, view.id, attachment.id)
    assert (download.content_type, download.filename) == ("image/png", "picture.png")
    with download.stream as stream:
        data = stream.read()
    assert b"secret" not in data
    image = Image.open(io.BytesIO(data), formats=["PNG"])
    assert not {"icc_profile", "exif", "Comment", "Author", "Description"} & set(image.info)


def test_evidence_and_notice_files_read_back_through_their_use_cases(scene: Scene) -> None:
    scene.apply(
        contactbook.Upload.from_bytes("身分證.pdf", corpus("valid.pdf")),
        contactbook.Upload.from_bytes("/tmp/戶口名簿.jpg", corpus("polyglot_jpeg_pdf_html.jpg")),
        contactbook.Upload.from_bytes(
            "正面照.jpg", corpus("exif_gps_orientation6_comment_trailing_junk.jpg")
        ),
    )
    [queued] = scene.book.applications.queue(scene.admin).items  # the pending one
    sheet = scene.book.applications.open(scene.admin, queued.id)
    id_document, proof, photo = (view for _, view in sheet.evidence)  # the form's order
    pdf = scene.book.applications.evidence(scene.admin, queued.id, id_document.id)
    assert (pdf.content_type, pdf.filename) == ("application/pdf", "身分證.pdf")
    with pdf.stream as stream:
        assert stream.read() == corpus("valid.pdf")  # PDFs are stored as uploaded
    assert not id_document.has_thumbnail
    for view, filename in ((proof, "戶口名簿.jpg"), (photo, "正面照.jpg")):
        assert view.has_thumbnail
        download = scene.book.applications.evidence(scene.admin, queued.id, view.id)
        assert (download.content_type, download.filename) == ("image/jpeg", filename)
        with download.stream as stream:
            data = stream.read()
        _assert_clean_jpeg(data)
        assert b"%PDF" not in data and b"<script" not in data  # the polyglot's tail is gone

    notice = scene.notice(
        contactbook.Upload.from_bytes("公告\\附件.jpg", corpus("valid.jpg")),
        contactbook.Upload.from_bytes("報名表.pdf", corpus("valid_by_pypdf.pdf")),
    )
    image, document = notice.attachments
    assert image.has_thumbnail and not document.has_thumbnail
    download = scene.book.notices.attachment(scene.family, notice.id, image.id)
    assert (download.content_type, download.filename) == ("image/jpeg", "附件.jpg")
    with download.stream as stream:
        _assert_clean_jpeg(stream.read())


def test_a_pdf_named_html_is_stored_and_served_as_a_pdf_without_its_tail(scene: Scene) -> None:
    """Through each path a file enters by: the name's extension and the type follow the
    content, and what followed the PDF's last %%EOF (an HTML page) is not stored."""
    original, document = corpus("html_after_eof.pdf"), corpus("valid.pdf")
    assert original.startswith(document) and b"<script>" in original[len(document) :]

    def upload() -> contactbook.Upload:
        return contactbook.Upload.from_bytes(
            "C:\\證件\\身分證.html", original, content_type="text/html"
        )

    post = scene.post(upload())
    [attachment] = post.attachments
    served = [
        (attachment.filename, scene.book.posts.attachment(scene.family, post.id, attachment.id)),
        (
            attachment.filename,
            scene.book.moderation.attachment(scene.reviewer, post.id, attachment.id),
        ),
    ]
    scene.apply(
        upload(),
        contactbook.Upload.from_bytes("proof.png", corpus("valid.png")),
        contactbook.Upload.from_bytes("photo.png", corpus("valid.png")),
    )
    [queued] = scene.book.applications.queue(scene.admin).items
    sheet = scene.book.applications.open(scene.admin, queued.id)
    id_document = next(view for _, view in sheet.evidence)
    served.append(
        (
            id_document.filename,
            scene.book.applications.evidence(scene.admin, queued.id, id_document.id),
        )
    )
    notice = scene.notice(upload())
    [notice_file] = notice.attachments
    served.append(
        (
            notice_file.filename,
            scene.book.notices.attachment(scene.family, notice.id, notice_file.id),
        )
    )
    for listed_name, download in served:
        assert listed_name == "身分證.pdf"
        assert (download.filename, download.content_type) == ("身分證.pdf", "application/pdf")
        with download.stream as stream:
            data = stream.read()
        assert data == document and data.endswith(b"%%EOF\n")
        assert download.size == len(data)
