"""Fictional demo data for the web example, made through the public API only.

Every person here is invented. The family is verified the way a person is:
the registration mail is read from the outbox and its link's token used.
"""

from __future__ import annotations

import io
import re
from datetime import date
from email import policy
from email.parser import BytesParser
from pathlib import Path

import contactbook
from contactbook.errors import AuthenticationFailed
from contactbook.testing import sample_pdf

__all__ = [
    "FAMILY_EMAIL",
    "FAMILY_PASSWORD",
    "STAFF_PASSWORD",
    "demo_picture",
    "seed_demo",
    "verification_token",
]

STAFF_PASSWORD = "correct-horse-battery-staple"
FAMILY_EMAIL = "ty.wang@example.com"
FAMILY_PASSWORD = "a-long-family-passphrase"
STAFF = (
    ("agency.admin", "矯正署管理者"),
    ("klp.reviewer", "陳審核"),
)
ROSTER = {
    "KLP": [
        {
            "call_number": "0609",
            "name": "李大華",
            "gender": "男",
            "custody_type": "受刑人",
            "education_grade": "4",
            "admitted_here_on": "2019-09-17",
            "has_minor_children": "是",
        },
        {
            "call_number": "0619",
            "name": "葉志明",
            "gender": "男",
            "custody_type": "受刑人",
            "has_minor_children": "是",
        },
        {"call_number": "1024", "name": "張國強", "gender": "男", "custody_type": "被告"},
    ],
    "DJS": [
        {"call_number": "0102", "name": "林小宇", "gender": "男", "custody_type": "少年受刑人"},
    ],
}


def demo_picture(width: int = 480, height: int = 320, seed: int = 0) -> bytes:
    """A small, real PNG (a landscape of coloured shapes) for demo posts and notices."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), (135 + seed * 20 % 100, 190, 235))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, height * 2 // 3, width, height), fill=(96, 160, 80))
    draw.ellipse((width - 130, 30, width - 50, 110), fill=(250, 210, 60))
    draw.polygon([(40, height * 2 // 3), (170, 90), (300, height * 2 // 3)], fill=(120, 110, 150))
    draw.rectangle((width // 2, height // 2, width // 2 + 90, height * 2 // 3), fill=(200, 80, 60))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def verification_token(book: contactbook.ContactBook, mail_url: str, email: str) -> str:
    """The token of the newest verification link mailed to ``email``."""
    bodies: list[str] = []
    if mail_url.startswith("folder:"):
        folder = Path(mail_url.removeprefix("folder:").split("?", 1)[0].removeprefix("//"))
        for path in sorted(folder.glob("*.eml"), key=lambda p: p.name):
            message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
            if str(message["To"]) == email:
                part = message.get_body(preferencelist=("plain",))
                bodies.append(str(part.get_content()) if part is not None else "")
    else:
        bodies = [str(m.body) for m in getattr(book.mailer, "outbox", []) if m.to == email]
    for text in reversed(bodies):
        match = re.search(r"/verify\?token=(\S+)", text)
        if match:
            return match.group(1)
    raise LookupError(f"no verification mail to {email} in {mail_url}")


def _staff_logins(book: contactbook.ContactBook) -> list[str]:
    """The demo's staff logins, checked: a ``totp_required`` answer means the password
    was right and the member already enrolled an authenticator."""
    lines = []
    for username, _ in STAFF:
        try:
            book.staff.authenticate(username, STAFF_PASSWORD)
        except AuthenticationFailed as exc:
            if exc.code != "totp_required":
                raise
        lines.append(f"staff:       {username} / {STAFF_PASSWORD}")
    return lines


def seed_demo(book: contactbook.ContactBook, mail_url: str) -> list[str]:
    """Seed once (when no facility exists); the demo logins to print, every time."""
    logins = [f"family:      {FAMILY_EMAIL} / {FAMILY_PASSWORD}"]
    if book.facilities.list():
        try:
            return logins + _staff_logins(book)
        except AuthenticationFailed:
            return ["(the database was not seeded by this demo: use your own logins)"]
    book.staff.bootstrap_admin("agency.admin", "矯正署管理者", STAFF_PASSWORD)
    admin = book.staff.authenticate("agency.admin", STAFF_PASSWORD)
    book.facilities.add(
        admin,
        "KLP",
        "基隆監獄",
        policy=contactbook.FacilityPolicy(attachment_profile=contactbook.DOCUMENTS_PROFILE),
    )
    book.facilities.add(admin, "DJS", "示範少年矯正學校", is_juvenile=True)
    book.staff.create(
        admin,
        "klp.reviewer",
        "陳審核",
        STAFF_PASSWORD,
        "KLP",
        [contactbook.Role.REVIEWER, contactbook.Role.PUBLISHER],
    )
    for code, rows in ROSTER.items():
        book.inmates.import_roster(admin, rows, facility_code=code)
    reviewer = book.staff.authenticate("klp.reviewer", STAFF_PASSWORD)

    book.accounts.register(
        contactbook.RegistrationForm(
            consent=True,
            name="王小明",
            birth_date=date(1985, 3, 14),
            national_id="A123456789",
            email=FAMILY_EMAIL,
            password=FAMILY_PASSWORD,
            mobile="0912345678",
            notify_delivery=True,
            notify_notices=True,
        )
    )
    book.messages.dispatch()
    book.accounts.verify_email(verification_token(book, mail_url, FAMILY_EMAIL))
    family = book.accounts.authenticate(FAMILY_EMAIL, FAMILY_PASSWORD)
    book.applications.apply(
        family,
        contactbook.ApplicationForm(
            facility_code="KLP",
            call_number="0609",
            relationship=contactbook.Relationship.CHILD,
            services=frozenset({contactbook.Service.CONTACT_BOOK}),
            id_document=contactbook.Upload.from_bytes("身分證.pdf", sample_pdf()),
            relationship_proof=contactbook.Upload.from_bytes("戶口名簿.png", demo_picture(seed=1)),
            frontal_photo=contactbook.Upload.from_bytes("正面照.png", demo_picture(seed=2)),
        ),
    )
    pending = book.applications.queue(reviewer).items[0]
    book.applications.approve(reviewer, pending.id, None, pending.version)
    book.notices.publish(
        reviewer,
        contactbook.NoticeDraft(
            title="中秋節懇親活動公告",
            body="本監將於中秋節前舉辦懇親活動，歡迎家屬踴躍報名。詳細時間與報名方式請見附件。",
            attachments=[
                contactbook.Upload.from_bytes("懇親活動照片.png", demo_picture(seed=3)),
                contactbook.Upload.from_bytes("報名表.pdf", sample_pdf()),
            ],
        ),
    )
    book.messages.dispatch()
    return logins + _staff_logins(book)
