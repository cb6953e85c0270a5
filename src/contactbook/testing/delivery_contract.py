"""The behaviour every ``Mailer`` and ``SmsGateway`` must have, as suites adapters subclass.

Each adapter's test class says how to read back what it delivered::

    class TestMyMailer(MailerContract):
        @pytest.fixture
        def mailer(self) -> Mailer: ...

        @pytest.fixture
        def sent_mails(self, ...) -> SentMails:
            return lambda: [(message_id, to, subject, body), ...]

A transport may normalise line endings and add a final newline to a body
(MIME does), so bodies are compared after that normalisation only.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from contactbook.ports.delivery import Mailer, OutgoingMail, OutgoingSms, SmsGateway

__all__ = ["MailerContract", "SentMails", "SentSms", "SmsGatewayContract"]

SentMails = Callable[[], list[tuple[str, str, str, str]]]
"""Reads back delivered mails as ``(message_id, to, subject, body)``."""
SentSms = Callable[[], list[tuple[str, str, str]]]
"""Reads back delivered SMS as ``(message_id, to, body)``."""

ZH_SUBJECT = (
    "【電子家庭聯絡簿】您的貼文已審核通過，請登入系統查看詳細內容並確認收件資訊是否正確無誤"
)
ZH_BODY = (
    "王小明 您好：\n"
    "\n"
    "您於 2025/06/01 送出的貼文已經由臺北監獄審核通過，將於近日轉交收容人。\n"
    "驗證連結：https://example.org/verify?token=abc_DEF-123\n"
    "這是一封系統自動發送的郵件，請勿直接回覆。😀\n"
    "— 法務部矯正署"
)
ZH_SMS = "【矯正署】您的驗證碼為 123456，10 分鐘內有效，請勿告訴他人。"


def normalise_body(body: str) -> str:
    """The body as any transport must preserve it: LF line endings, no trailing newlines."""
    return body.replace("\r\n", "\n").rstrip("\n")


class MailerContract:
    """Subclass as ``TestXxx``; override ``mailer`` and ``sent_mails``."""

    @pytest.fixture
    def mailer(self) -> Mailer:
        pytest.fail("override the mailer fixture")  # a subclass must provide it

    @pytest.fixture
    def sent_mails(self) -> SentMails:
        pytest.fail("override the sent_mails fixture")  # a subclass must provide it

    def _delivered(self, sent_mails: SentMails) -> list[tuple[str, str, str, str]]:
        return [(m, to, s, normalise_body(b)) for m, to, s, b in sent_mails()]

    def test_traditional_chinese_subject_and_body_round_trip(
        self, mailer: Mailer, sent_mails: SentMails
    ) -> None:
        mailer.send(OutgoingMail("msg-zh-1", "family@example.org", ZH_SUBJECT, ZH_BODY))
        assert self._delivered(sent_mails) == [
            ("msg-zh-1", "family@example.org", ZH_SUBJECT, normalise_body(ZH_BODY))
        ]

    def test_two_mails_are_both_delivered(self, mailer: Mailer, sent_mails: SentMails) -> None:
        mailer.send(OutgoingMail("msg-a", "a@example.org", "第一封", "內容一"))
        mailer.send(OutgoingMail("msg-b", "b@example.org", "第二封", "內容二"))
        delivered = sorted(self._delivered(sent_mails))
        assert delivered == [
            ("msg-a", "a@example.org", "第一封", "內容一"),
            ("msg-b", "b@example.org", "第二封", "內容二"),
        ]

    def test_same_message_id_sent_twice_is_recognisable(
        self, mailer: Mailer, sent_mails: SentMails
    ) -> None:
        mail = OutgoingMail("msg-retry", "family@example.org", "重送測試", "同一封信")
        mailer.send(mail)
        mailer.send(mail)  # a dispatcher retrying after a crash between send and commit
        delivered = self._delivered(sent_mails)
        assert delivered, "nothing delivered"
        assert {entry[0] for entry in delivered} == {"msg-retry"}
        assert set(delivered) == {("msg-retry", "family@example.org", "重送測試", "同一封信")}


class SmsGatewayContract:
    """Subclass as ``TestXxx``; override ``sms`` and ``sent_sms``."""

    @pytest.fixture
    def sms(self) -> SmsGateway:
        pytest.fail("override the sms fixture")  # a subclass must provide it

    @pytest.fixture
    def sent_sms(self) -> SentSms:
        pytest.fail("override the sent_sms fixture")  # a subclass must provide it

    def test_traditional_chinese_body_round_trip(self, sms: SmsGateway, sent_sms: SentSms) -> None:
        sms.send(OutgoingSms("sms-zh-1", "0912345678", ZH_SMS))
        assert sent_sms() == [("sms-zh-1", "0912345678", ZH_SMS)]

    def test_two_messages_are_both_delivered(self, sms: SmsGateway, sent_sms: SentSms) -> None:
        sms.send(OutgoingSms("sms-a", "0912345678", "第一則"))
        sms.send(OutgoingSms("sms-b", "0987654321", "第二則"))
        assert sorted(sent_sms()) == [
            ("sms-a", "0912345678", "第一則"),
            ("sms-b", "0987654321", "第二則"),
        ]

    def test_same_message_id_sent_twice_is_recognisable(
        self, sms: SmsGateway, sent_sms: SentSms
    ) -> None:
        message = OutgoingSms("sms-retry", "0912345678", "重送測試")
        sms.send(message)
        sms.send(message)
        delivered = sent_sms()
        assert delivered, "nothing delivered"
        assert set(delivered) == {("sms-retry", "0912345678", "重送測試")}
