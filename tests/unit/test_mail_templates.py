"""Mail templates: one per cause and language, filled in, overridable by an embedder."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

import contactbook
from contactbook.domain.message import MessageCause
from contactbook.i18n import translate
from contactbook.mail_templates import render
from contactbook.testing import memory_book


@pytest.mark.parametrize("cause", list(MessageCause))
@pytest.mark.parametrize("locale", ["zh_TW", "en"])
def test_every_cause_has_a_template(cause: MessageCause, locale: str) -> None:
    mail = render(cause.value, locale, {"name": "王小明", "title": "近況", "link": "L"})
    assert mail.subject
    assert mail.body
    assert "${" not in mail.subject + mail.body


@pytest.mark.parametrize("cause", list(MessageCause))
@pytest.mark.parametrize("locale", ["zh_TW", "en"])
def test_the_catalog_carries_the_same_mail_text(cause: MessageCause, locale: str) -> None:
    """The shipped templates and the catalog's ``mail.<cause>.*`` entries (which
    translators work from) say the same, placeholders aside."""
    fields = {"name": "王小明", "username": "mei.chen", "link": "L", "title": "近況"}
    mail = render(cause.value, locale, fields)
    assert translate(f"mail.{cause.value}.subject", locale, **fields) == mail.subject
    assert translate(f"mail.{cause.value}.body", locale, **fields) == mail.body.rstrip("\n")


def test_verification_mail_carries_the_link_from_the_configured_base_url() -> None:
    book = memory_book(settings=contactbook.Settings(base_url="https://portal.example.gov.tw"))
    book.accounts.register(_form())
    book.messages.dispatch()
    [mail] = book.mailer.outbox
    assert mail.subject == "便民服務入口網 註冊通知 / Portal registration"
    assert "王小明 您好" in mail.body
    assert "https://portal.example.gov.tw/verify?token=" in mail.body
    assert mail.body.index("您好") < mail.body.index("Hello")


def test_an_embedder_can_replace_one_template(tmp_path: Path) -> None:
    (tmp_path / "registration_verification.zh_TW.txt").write_text(
        "Subject: 【某機關】請驗證您的帳號\n\n${name}，請開啟 ${link}\n", encoding="utf-8"
    )
    book = memory_book(settings=contactbook.Settings(mail_template_dir=str(tmp_path)))
    book.accounts.register(_form())
    book.messages.dispatch()
    [mail] = book.mailer.outbox
    assert mail.subject == "【某機關】請驗證您的帳號 / Portal registration"
    assert mail.body.startswith("王小明，請開啟 http://localhost:8000/verify?token=")


def _form() -> contactbook.RegistrationForm:
    return contactbook.RegistrationForm(
        consent=True,
        name="王小明",
        birth_date=date(1985, 3, 14),
        national_id="A123456789",
        email="ty.wang@example.com",
        password="family-passphrase-2020",
    )
