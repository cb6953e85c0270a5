"""A scripted walk through the whole contact-book flow on the embedded default.

SQLite + local files + a folder outbox under ``var/demo``: registration,
verification, application, approval, post, review, delivery, notice and the
message log, each step printed. Run with ``make demo``.
"""

from __future__ import annotations

import re
import shutil
import sys
from datetime import UTC, date, datetime
from email import policy
from email.parser import BytesParser
from pathlib import Path

import contactbook
from contactbook.testing import MovableClock, sample_pdf, sample_png

ROOT = Path("var/demo")
FAMILY_PASSWORD = "a-long-family-passphrase"
STAFF_PASSWORD = "correct-horse-battery-staple"


def step(number: int, title: str) -> None:
    print(f"\n[{number:02d}] {title}")


def show(label: str, value: object) -> None:
    print(f"     {label}: {value}")


def latest_mail(outbox: Path, subject_part: str) -> tuple[str, str]:
    """Subject and body of the newest .eml file whose subject contains ``subject_part``."""
    for path in sorted(outbox.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        if subject_part in str(message["Subject"]):
            body = message.get_body(preferencelist=("plain",))
            return str(message["Subject"]), body.get_content() if body else ""
    raise SystemExit(f"no mail with {subject_part!r} in {outbox}")


def main() -> int:
    shutil.rmtree(ROOT, ignore_errors=True)
    ROOT.mkdir(parents=True)
    outbox = ROOT / "outbox"
    clock = MovableClock(datetime(2020, 10, 7, 3, 11, tzinfo=UTC))
    book = contactbook.open(
        database=f"sqlite:///{ROOT / 'contactbook.db'}",
        files=str(ROOT / "files"),
        mail=f"folder:{outbox}",
        sms="memory://",
        clock=clock,
        migrate=True,
    )
    print("contactbook demo — 電子家庭聯絡簿 on SQLite, local files and a folder outbox")
    show("database", ROOT / "contactbook.db")
    show("outbox", outbox)

    step(1, "機關設定 Agency admin, facility, staff and roster")
    book.staff.bootstrap_admin("agency.admin", "矯正署管理者", STAFF_PASSWORD)
    admin = book.staff.authenticate("agency.admin", STAFF_PASSWORD)
    book.facilities.add(admin, "KLP", "基隆監獄")
    book.staff.create(
        admin,
        "klp.reviewer",
        "陳審核",
        STAFF_PASSWORD,
        "KLP",
        [contactbook.Role.REVIEWER, contactbook.Role.PUBLISHER],
    )
    report = book.inmates.import_roster(
        admin,
        [
            {
                "call_number": "0609",
                "name": "李大華",
                "gender": "男",
                "custody_type": "受刑人",
                "education_grade": "4",
                "admitted_here_on": "2019-09-17",
                "has_minor_children": "是",
            }
        ],
        facility_code="KLP",
    )
    show("roster", f"added {report.added}, rejected {len(report.rejected)}")
    reviewer = book.staff.authenticate("klp.reviewer", STAFF_PASSWORD)

    step(2, "基本資料建檔 registration (個資聲明 accepted)")
    notice = book.accounts.consent_notice()
    show("consent notice", f"{notice.title} (version {notice.version})")
    receipt = book.accounts.register(
        contactbook.RegistrationForm(
            consent=True,
            name="王小明",
            birth_date=date(1985, 3, 14),
            national_id="A123456789",
            email="ty.wang@example.com",
            password=FAMILY_PASSWORD,
            mobile="0912345678",
            notify_delivery=True,
        )
    )
    show("page", receipt.message)
    book.messages.dispatch()
    subject, body = latest_mail(outbox, "註冊通知")
    link = re.search(r"https?://\S+", body)
    assert link is not None
    show("mail", subject)
    show("link", link.group(0))

    step(3, "帳號驗證 verification through the mailed link")
    book.accounts.verify_email(link.group(0).split("token=", 1)[1])
    family = book.accounts.authenticate("ty.wang@example.com", FAMILY_PASSWORD)
    show("page", "帳號驗證成功, logged in")

    step(4, "服務項目申請 application with evidence")
    inmate = book.inmates.find(family, "KLP", "0609")
    show("申請對象", inmate.label)
    book.applications.apply(
        family,
        contactbook.ApplicationForm(
            facility_code="KLP",
            call_number="0609",
            relationship=contactbook.Relationship.CHILD,
            services=frozenset(
                {contactbook.Service.CONTACT_BOOK, contactbook.Service.REMOTE_VISIT}
            ),
            id_document=contactbook.Upload.from_bytes("身分證.pdf", sample_pdf()),
            relationship_proof=contactbook.Upload.from_bytes("戶口名簿.png", sample_png()),
            frontal_photo=contactbook.Upload.from_bytes("正面照.png", sample_png()),
        ),
    )
    for row in book.applications.list_mine(family):
        show(
            "狀態",
            f"{row.facility_name} | {row.inmate} | {row.relationship} | "
            f"{row.services_label} | {row.status_label} | {row.submitted_on}",
        )

    step(5, "服務項目管理 staff approves the application")
    queued = book.applications.queue(reviewer).items[0]
    approved = book.applications.approve(reviewer, queued.id, None, queued.version)
    show("result", f"{approved.status_label} {approved.reviewed_on}")
    book.messages.dispatch()
    show("mail", latest_mail(outbox, "服務項目申請")[0])

    step(6, "發佈家庭聯絡簿 the family posts")
    clock.advance(hours=2)
    post = book.posts.publish(
        family,
        contactbook.PostDraft(
            inmate_id=inmate.inmate_id,
            title="測試家庭聯絡簿1007",
            body="爸爸，孩子們這週都很好，期末考也考得不錯。",
            attachments=[contactbook.Upload.from_bytes("測試用照片.png", sample_png())],
        ),
    )
    show("post", f"{post.to} {post.title} — {post.status_label}")

    step(7, "家庭聯絡簿審查 review queue and decision")
    for item in book.moderation.queue(reviewer):
        show(
            "queue",
            f"{item.facility_name} | {item.content} | {item.submitted_on} | {item.status_label}",
        )
    sheet = book.moderation.open(reviewer, post.id)
    show("收容人", f"{sheet.inmate['call_number']} {sheet.inmate['name']}")
    show("家屬", f"{sheet.family['name']} {sheet.family['national_id']} {sheet.family['email']}")
    decided = book.moderation.approve(reviewer, post.id, sheet.post.version)
    show("審核結果", decided.status_label)

    step(8, "交由收容人查閱 delivery")
    delivered = book.delivery.mark_delivered(reviewer, post.id)
    show("delivered", delivered.delivered_on)

    step(9, "發佈機關聯絡簿 a notice for the facility's families")
    book.notices.publish(
        reviewer,
        contactbook.NoticeDraft(
            title="測試機關聯絡簿1007-2",
            body="測試機關聯絡簿1007-2 機關聯絡簿內文",
            attachments=[contactbook.Upload.from_bytes("測試用文件1.pdf", sample_pdf())],
        ),
    )
    for month in book.notices.months_for_family(family):
        show("發佈年月", month.label)
    for card in book.notices.list_for_family(family):
        show("card", f"{card.published_on} {card.title} From {card.publisher} — {card.excerpt}")

    step(10, "查詢簡訊電子郵件紀錄 the family's message log")
    book.messages.dispatch()
    for entry in book.messages.log_for(family):
        show(entry.category, f"{entry.sent_time} | {entry.destination} | {entry.subject}")

    step(11, "audit trail")
    show("hash chain intact", book.audit.verify())
    print(f"\nDone. Open the mails in {outbox} to read them.")
    book.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
