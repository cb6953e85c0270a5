"""Attachments and thumbnails reach people only through use cases that check access."""

from __future__ import annotations

import io
from datetime import date

import pytest
from PIL import Image

import contactbook
import contactbook.views
from contactbook.errors import NotFound
from contactbook.testing import memory_book, sample_pdf, sample_png

PASSWORD = "correct-horse-battery-staple"


class Setting:
    def __init__(self) -> None:
        book = memory_book()
        book.staff.bootstrap_admin("agency.admin", "矯正署管理者", PASSWORD)
        self.admin = book.staff.authenticate("agency.admin", PASSWORD)
        for code, name in (("KLP", "基隆監獄"), ("TPD", "臺北看守所")):
            book.facilities.add(self.admin, code, name)
            book.staff.create(
                self.admin,
                f"{code.lower()}.staff",
                "陳審核",
                PASSWORD,
                code,
                [contactbook.Role.REVIEWER, contactbook.Role.PUBLISHER],
            )
        book.inmates.import_roster(
            self.admin,
            [{"call_number": "0609", "name": "李大華", "has_minor_children": True}],
            facility_code="KLP",
        )
        self.klp = book.staff.authenticate("klp.staff", PASSWORD)
        self.tpd = book.staff.authenticate("tpd.staff", PASSWORD)
        book.accounts.register(
            contactbook.RegistrationForm(
                consent=True,
                name="王小明",
                birth_date=date(1985, 3, 14),
                national_id="A123456789",
                email="ty.wang@example.com",
                password="family-passphrase-2020",
            )
        )
        book.messages.dispatch()
        token = book.mailer.outbox[-1].body.split("token=")[1].split()[0]
        book.accounts.verify_email(token)
        self.family = book.accounts.authenticate("ty.wang@example.com", "family-passphrase-2020")
        self.book = book

    def photo_post(self) -> contactbook.views.PostView:
        book = self.book
        book.applications.apply(
            self.family,
            contactbook.ApplicationForm(
                facility_code="KLP",
                call_number="0609",
                relationship=contactbook.Relationship.CHILD,
                services=frozenset({contactbook.Service.CONTACT_BOOK}),
                id_document=contactbook.Upload.from_bytes("id.pdf", sample_pdf()),
                relationship_proof=contactbook.Upload.from_bytes("proof.pdf", sample_pdf()),
                frontal_photo=contactbook.Upload.from_bytes("me.png", sample_png()),
            ),
        )
        pending = book.applications.queue(self.klp).items[0]
        book.applications.approve(self.klp, pending.id, None, pending.version)
        inmate = book.inmates.find(self.family, "KLP", "0609")
        return book.posts.publish(
            self.family,
            contactbook.PostDraft(
                inmate_id=inmate.inmate_id,
                title="近況",
                body="孩子們都很好。",
                attachments=[contactbook.Upload.from_bytes("C:\\照片\\全家福.png", sample_png())],
            ),
        )


@pytest.fixture
def setting() -> Setting:
    return Setting()


def test_post_photo_and_its_thumbnail(setting: Setting) -> None:
    post = setting.photo_post()
    [photo] = post.attachments
    assert photo.filename == "全家福.png"
    assert photo.has_thumbnail
    original = setting.book.moderation.attachment(setting.klp, post.id, photo.id)
    assert (original.filename, original.content_type) == ("全家福.png", "image/png")
    thumb = setting.book.moderation.thumbnail(setting.klp, post.id, photo.id)
    assert thumb.content_type == "image/jpeg"
    data = thumb.stream.read()
    assert len(data) == thumb.size
    assert Image.open(io.BytesIO(data)).format == "JPEG"
    assert setting.book.posts.thumbnail(setting.family, post.id, photo.id).size == thumb.size
    with pytest.raises(NotFound):
        setting.book.moderation.thumbnail(setting.tpd, post.id, photo.id)


def test_notice_attachments_for_publishers_and_families(setting: Setting) -> None:
    setting.photo_post()  # gives the family a grant at KLP
    item = setting.book.notices.publish(
        setting.klp,
        contactbook.NoticeDraft(
            title="會客時間異動",
            body="十月份會客時間調整。",
            attachments=[contactbook.Upload.from_bytes("公告.pdf", sample_pdf())],
        ),
    )
    [pdf] = item.attachments
    admin_copy = setting.book.notices.attachment_admin(setting.klp, item.id, pdf.id)
    family_copy = setting.book.notices.attachment(setting.family, item.id, pdf.id)
    assert admin_copy.stream.read() == family_copy.stream.read() == sample_pdf()
    with pytest.raises(NotFound):
        setting.book.notices.attachment_admin(setting.tpd, item.id, pdf.id)
    with pytest.raises(NotFound):
        setting.book.notices.thumbnail(setting.family, item.id, pdf.id)  # PDFs have none


def test_public_notices_are_the_ones_for_every_family(setting: Setting) -> None:
    setting.book.notices.publish(
        setting.admin,
        contactbook.NoticeDraft(title="春節加開接見", body="全國矯正機關春節期間加開接見。"),
    )
    setting.book.notices.publish(
        setting.klp, contactbook.NoticeDraft(title="基隆監獄公告", body="僅限本監家屬。")
    )
    titles = [card.title for card in setting.book.notices.list_public()]
    assert titles == ["春節加開接見"]


def test_staff_find_inmates_of_their_scope_only(setting: Setting) -> None:
    found = setting.book.inmates.find_for_staff(setting.klp, "KLP", "0609")
    assert found.label == "0609李○○"
    with pytest.raises(NotFound):
        setting.book.inmates.find_for_staff(setting.tpd, "KLP", "0609")
    assert setting.book.inmates.find_for_staff(setting.admin, "KLP", "0609") == found


def test_labels_are_public() -> None:
    assert contactbook.label(contactbook.Service.CONTACT_BOOK) == "家庭聯絡簿"
    assert contactbook.label(contactbook.Service.CONTACT_BOOK, "en") == "Family contact book"


def test_a_partial_approval_names_the_services_approved(setting: Setting) -> None:
    book = setting.book
    book.applications.apply(
        setting.family,
        contactbook.ApplicationForm(
            facility_code="KLP",
            call_number="0609",
            relationship=contactbook.Relationship.CHILD,
            services=frozenset(
                {contactbook.Service.CONTACT_BOOK, contactbook.Service.REMOTE_VISIT}
            ),
            id_document=contactbook.Upload.from_bytes("id.pdf", sample_pdf()),
            relationship_proof=contactbook.Upload.from_bytes("proof.pdf", sample_pdf()),
            frontal_photo=contactbook.Upload.from_bytes("me.png", sample_png()),
        ),
    )
    pending = book.applications.queue(setting.klp).items[0]
    book.applications.approve(
        setting.klp, pending.id, frozenset({contactbook.Service.CONTACT_BOOK}), pending.version
    )
    [row] = book.applications.list_mine(setting.family).items
    assert row.services_label == "預約遠距接見、家庭聯絡簿"
    assert row.approved_services_label == "家庭聯絡簿"


def test_too_large_names_the_facilitys_own_limit(setting: Setting) -> None:
    book = setting.book
    small = contactbook.AttachmentProfile(
        name="small",
        max_files=1,
        max_total_bytes=1024 * 1024,
        context=contactbook.SINGLE_PHOTO_PROFILE.context,
    )
    book.facilities.set_policy(
        setting.admin, "KLP", contactbook.FacilityPolicy(attachment_profile=small)
    )
    setting.photo_post()  # the grant; a small photo passes
    inmate = book.inmates.find(setting.family, "KLP", "0609")
    setting.book.context.clock.advance(days=31)  # type: ignore[attr-defined]
    big = sample_png() + b"\0" * (1024 * 1024)
    with pytest.raises(contactbook.errors.UploadRejected) as caught:
        book.posts.publish(
            setting.family,
            contactbook.PostDraft(
                inmate_id=inmate.inmate_id,
                title="大照片",
                body="近況",
                attachments=[contactbook.Upload.from_bytes("大照片.png", big)],
            ),
        )
    assert caught.value.reason == "too_large"
    assert caught.value.message_zh == "檔案「大照片.png」超過大小限制（附件合計限制 1MB）。"
