"""SmtpMailer against a real SMTP server (aiosmtpd) on a loopback port."""

from __future__ import annotations

import shutil
import socket
import ssl
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

import contactbook
from contactbook.adapters.mail.smtp import SmtpMailer
from contactbook.ports.delivery import (
    Mailer,
    OutgoingMail,
    PermanentDeliveryFailure,
    TemporaryDeliveryFailure,
)
from contactbook.testing import FastPasswordHasher, MovableClock
from contactbook.testing.delivery_contract import (
    ZH_BODY,
    ZH_SUBJECT,
    MailerContract,
    SentMails,
    normalise_body,
)
from tests.integration.smtp_server import (
    TEST_PASSWORD,
    TEST_USER,
    Received,
    SmtpServer,
    Stage,
    free_port,
    self_signed_certificate,
)


def delivered(received: Received) -> tuple[str, str, str, str]:
    msg = received.message()
    message_id = str(msg["Message-ID"]).strip("<>").removesuffix("@contactbook")
    body = msg.get_body(("plain",))
    assert body is not None
    content = body.get_content()
    assert isinstance(content, str)
    return message_id, str(msg["To"]), str(msg["Subject"]), content


def mail(n: int = 1, *, to: str = "family@example.org") -> OutgoingMail:
    return OutgoingMail(f"msg-{n}", to, f"第 {n} 封通知", f"您好，這是第 {n} 封信。")


def headers_of(received: Received) -> bytes:
    return received.data.split(b"\r\n\r\n", 1)[0]


@pytest.fixture
def server() -> Iterator[SmtpServer]:
    with SmtpServer.running() as running:
        yield running


@pytest.fixture
def smtp_mailer(server: SmtpServer) -> Iterator[SmtpMailer]:
    with SmtpMailer.from_url(server.url(query={"from": "noreply@example.gov.tw"})) as mailer:
        yield mailer


class TestSmtpMailer(MailerContract):
    @pytest.fixture
    def mailer(self, smtp_mailer: SmtpMailer) -> Mailer:
        return smtp_mailer

    @pytest.fixture
    def sent_mails(self, server: SmtpServer) -> SentMails:
        return lambda: [delivered(received) for received in server.received]


# -- what arrives ---------------------------------------------------------------------


def test_zh_subject_is_rfc2047_encoded_on_the_wire(
    smtp_mailer: SmtpMailer, server: SmtpServer
) -> None:
    smtp_mailer.send(OutgoingMail("zh-1", "王小明 <family@example.org>", ZH_SUBJECT, ZH_BODY))
    [received] = server.received
    header_block = headers_of(received)
    assert header_block.isascii(), "headers must be 7-bit ASCII"
    subject_lines = header_block.split(b"Subject:", 1)[1].split(b"\r\n")
    assert subject_lines[0].strip().lower().startswith(b"=?utf-8?")
    assert all(len(line) <= 78 for line in header_block.split(b"\r\n"))
    msg = received.message()
    assert msg["Subject"] == ZH_SUBJECT
    assert msg["To"].addresses[0].display_name == "王小明"
    assert msg["To"].addresses[0].addr_spec == "family@example.org"


def test_body_is_utf8_and_7bit_clean(smtp_mailer: SmtpMailer, server: SmtpServer) -> None:
    smtp_mailer.send(OutgoingMail("zh-2", "family@example.org", ZH_SUBJECT, ZH_BODY))
    [received] = server.received
    assert received.data.isascii(), "the body is base64/quoted-printable, no 8BITMIME needed"
    msg = received.message()
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content_charset() == "utf-8"
    assert msg["Content-Transfer-Encoding"] in ("base64", "quoted-printable")
    content = msg.get_content()
    assert normalise_body(content) == normalise_body(ZH_BODY)
    assert "https://example.org/verify?token=abc_DEF-123" in content


def test_headers_and_envelope(smtp_mailer: SmtpMailer, server: SmtpServer) -> None:
    smtp_mailer.send(mail(7, to="王小明 <family@example.org>"))
    [received] = server.received
    msg = received.message()
    assert msg["Message-ID"] == "<msg-7@contactbook>"
    assert msg["From"] == "noreply@example.gov.tw"
    assert parsedate_to_datetime(str(msg["Date"])).tzinfo is not None
    assert received.mail_from == "noreply@example.gov.tw"
    assert received.rcpt_tos == ("family@example.org",)
    assert received.user is None
    assert not received.tls


def test_date_comes_from_the_clock(server: SmtpServer) -> None:
    from datetime import UTC, datetime

    moment = datetime(2025, 6, 1, 8, 30, 15, tzinfo=UTC)
    with SmtpMailer(server.host, server.port, clock=MovableClock(moment)) as mailer:
        mailer.send(mail())
    assert parsedate_to_datetime(str(server.received[0].message()["Date"])) == moment


def test_display_name_in_sender(server: SmtpServer) -> None:
    with SmtpMailer(server.host, server.port, sender="法務部矯正署 <noreply@moj.gov.tw>") as m:
        m.send(mail())
    [received] = server.received
    assert received.mail_from == "noreply@moj.gov.tw"
    sender = received.message()["From"]
    assert sender.addresses[0].display_name == "法務部矯正署"
    assert headers_of(received).isascii()


def test_message_id_is_stable_across_resends_and_mailers(server: SmtpServer) -> None:
    with SmtpMailer(server.host, server.port) as first:
        first.send(mail(1))
        first.send(mail(2))
    with SmtpMailer(server.host, server.port) as after_a_crash:
        after_a_crash.send(mail(1))
    assert server.message_ids() == [
        "<msg-1@contactbook>",
        "<msg-2@contactbook>",
        "<msg-1@contactbook>",
    ]


@pytest.mark.parametrize(
    "bad",
    [
        OutgoingMail("m1", "a@example.org\r\nBcc: victim@example.org", "s", "b"),
        OutgoingMail("m1", "a@example.org", "s\nBcc: victim@example.org", "b"),
        OutgoingMail("m1", "not an address", "s", "b"),
        OutgoingMail("m1", "", "s", "b"),
        OutgoingMail("m1", "a@example.org, b@example.org", "s", "b"),
        OutgoingMail("../escape", "a@example.org", "s", "b"),
        OutgoingMail("a b", "a@example.org", "s", "b"),
    ],
)
def test_unsendable_mail_is_permanent_and_nothing_is_sent(
    smtp_mailer: SmtpMailer, server: SmtpServer, bad: OutgoingMail
) -> None:
    with pytest.raises(PermanentDeliveryFailure):
        smtp_mailer.send(bad)
    assert server.received == []


@pytest.mark.parametrize(
    "subject",
    ["hi\x0bthere", "x\x1cy", "next\x85line", "para\u2029graph", "trailing\x0c"],
    ids=["vertical-tab", "file-separator", "NEL", "paragraph-separator", "trailing-form-feed"],
)
def test_a_subject_with_any_line_break_is_refused_before_sending(
    smtp_mailer: SmtpMailer, server: SmtpServer, subject: str
) -> None:
    with pytest.raises(PermanentDeliveryFailure, match="linefeed or carriage return"):
        smtp_mailer.send(OutgoingMail("msg-break", "family@example.org", subject, "本文"))
    assert server.received == []


def test_a_recipient_beyond_ascii_needs_a_server_with_smtputf8() -> None:
    """Refused as undeliverable, not an error that aborts the dispatch batch; the
    connection stays usable for the next mail."""
    with (
        SmtpServer.running(smtputf8=False) as server,
        SmtpMailer.from_url(server.url(query={"from": "noreply@example.gov.tw"})) as mailer,
    ):
        with pytest.raises(PermanentDeliveryFailure, match="SMTPUTF8"):
            mailer.send(mail(1, to="family@bücher.example"))
        mailer.send(mail(2))
        assert [received.rcpt_tos for received in server.received] == [("family@example.org",)]


def test_a_recipient_beyond_ascii_is_delivered_where_the_server_speaks_smtputf8(
    smtp_mailer: SmtpMailer, server: SmtpServer
) -> None:
    smtp_mailer.send(mail(1, to="family@例子.台灣"))
    smtp_mailer.send(mail(2))
    assert [received.rcpt_tos for received in server.received] == [
        ("family@例子.台灣",),
        ("family@example.org",),
    ]
    assert delivered(server.received[0])[1] == "family@例子.台灣"


# -- the connection -------------------------------------------------------------------


def test_one_connection_for_a_batch_of_five(smtp_mailer: SmtpMailer, server: SmtpServer) -> None:
    for n in range(5):
        smtp_mailer.send(mail(n))
    assert len(server.received) == 5
    assert server.connections == 1
    assert {received.connection for received in server.received} == {0}
    assert server.noops == 0, "a connection the server answered moments ago needs no NOOP"


def test_an_idle_connection_is_checked_with_noop(
    smtp_mailer: SmtpMailer, server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtp_mailer.send(mail(1))
    monkeypatch.setattr("contactbook.adapters.mail.smtp.REUSE_WITHOUT_NOOP", 0.0)
    smtp_mailer.send(mail(2))
    assert server.noops == 1
    assert server.connections == 1
    assert [delivered(r)[0] for r in server.received] == ["msg-1", "msg-2"]


def test_connection_is_opened_lazily_and_closed(server: SmtpServer) -> None:
    mailer = SmtpMailer(server.host, server.port)
    assert not mailer.connected
    assert server.connections == 0
    mailer.send(mail(1))
    assert mailer.connected
    mailer.close()
    assert not mailer.connected
    mailer.close()  # twice is harmless
    mailer.send(mail(2))  # usable again: a new connection
    mailer.close()
    assert server.connections == 2
    assert len(server.received) == 2


def test_context_manager_closes(server: SmtpServer) -> None:
    with SmtpMailer(server.host, server.port) as mailer:
        mailer.send(mail())
        assert mailer.connected
    assert not mailer.connected


def test_reconnects_once_when_the_server_dropped_the_connection(server: SmtpServer) -> None:
    with SmtpMailer(server.host, server.port) as mailer:
        mailer.send(mail(1))
        server.stop()  # cuts the open connection
        server.start()  # same port
        mailer.send(mail(2))
    assert [delivered(r)[0] for r in server.received] == ["msg-1", "msg-2"]
    assert server.connections == 2


def test_server_down_is_temporary(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    with SmtpMailer("127.0.0.1", port, timeout=2) as mailer:
        with pytest.raises(TemporaryDeliveryFailure, match="connect") as caught:
            mailer.send(mail())
        assert str(port) in str(caught.value)
        assert not mailer.connected


def test_server_that_goes_away_then_comes_back(server: SmtpServer) -> None:
    with SmtpMailer(server.host, server.port, timeout=2) as mailer:
        mailer.send(mail(1))
        server.stop()
        with pytest.raises(TemporaryDeliveryFailure):
            mailer.send(mail(2))
        server.start()
        mailer.send(mail(2))
    assert [delivered(r)[0] for r in server.received] == ["msg-1", "msg-2"]


def test_silent_server_times_out_as_temporary() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)  # the kernel accepts, nobody ever greets
        port = listener.getsockname()[1]
        with (
            SmtpMailer("127.0.0.1", port, timeout=0.5) as mailer,
            pytest.raises(TemporaryDeliveryFailure, match=r"(?i)timeout|timed out"),
        ):
            mailer.send(mail())


# -- server replies -------------------------------------------------------------------


def test_451_is_temporary_and_the_connection_stays_usable(
    smtp_mailer: SmtpMailer, server: SmtpServer
) -> None:
    server.fail_next("451 4.3.0 Mailbox busy, try later")
    with pytest.raises(TemporaryDeliveryFailure) as caught:
        smtp_mailer.send(mail(1))
    assert "451" in str(caught.value)
    assert "Mailbox busy" in str(caught.value)
    assert server.received == []
    smtp_mailer.send(mail(1))
    assert [delivered(r)[0] for r in server.received] == ["msg-1"]
    assert server.connections == 1


def test_550_is_permanent(smtp_mailer: SmtpMailer, server: SmtpServer) -> None:
    server.fail_next("550 5.7.1 Message rejected as spam")
    with pytest.raises(PermanentDeliveryFailure) as caught:
        smtp_mailer.send(mail(1))
    assert "550" in str(caught.value)
    assert "rejected as spam" in str(caught.value)
    assert server.received == []


@pytest.mark.parametrize(
    ("reply", "at", "failure"),
    [
        ("550 5.1.1 No such user", "RCPT", PermanentDeliveryFailure),
        ("452 4.2.2 Mailbox full", "RCPT", TemporaryDeliveryFailure),
        ("553 5.1.8 Sender domain refused", "MAIL", PermanentDeliveryFailure),
        ("450 4.7.1 Greylisted", "MAIL", TemporaryDeliveryFailure),
        ("421 4.3.2 Shutting down", "DATA", TemporaryDeliveryFailure),
    ],
)
def test_refusals_by_code(
    smtp_mailer: SmtpMailer,
    server: SmtpServer,
    reply: str,
    at: Stage,
    failure: type[Exception],
) -> None:
    server.fail_next(reply, at=at)
    with pytest.raises(failure) as caught:
        smtp_mailer.send(mail(1))
    assert reply.split()[0] in str(caught.value)
    assert "family@example.org" not in str(caught.value)
    assert server.received == []
    smtp_mailer.send(mail(2))  # the mailer recovers (reconnects after 421)
    assert [delivered(r)[0] for r in server.received] == ["msg-2"]


# -- AUTH -----------------------------------------------------------------------------


@pytest.fixture
def auth_server() -> Iterator[SmtpServer]:
    with SmtpServer.running(password=TEST_PASSWORD) as running:
        yield running


def test_auth_with_url_decoded_credentials(auth_server: SmtpServer) -> None:
    url = auth_server.url(credentials=True)
    assert "%40" in url and "%3A" in url  # the password travels percent-encoded in the URL
    with SmtpMailer.from_url(url) as mailer:
        assert mailer.username == TEST_USER
        mailer.send(mail(1))
        mailer.send(mail(2))
    assert [r.user for r in auth_server.received] == [TEST_USER, TEST_USER]
    assert auth_server.connections == 1


def test_wrong_password_is_temporary_and_never_shown(auth_server: SmtpServer) -> None:
    wrong = "wrong-Passw0rd-123"
    mailer = SmtpMailer(auth_server.host, auth_server.port, username=TEST_USER, password=wrong)
    with pytest.raises(TemporaryDeliveryFailure) as caught:
        mailer.send(mail())
    text = str(caught.value)
    assert "AUTH" in text and "535" in text
    assert wrong not in text
    assert wrong not in repr(caught.value)
    assert caught.value.__cause__ is None
    assert auth_server.received == []


def test_no_credentials_where_auth_is_required_is_refused(auth_server: SmtpServer) -> None:
    with (
        SmtpMailer(auth_server.host, auth_server.port) as mailer,
        pytest.raises(PermanentDeliveryFailure, match="530"),
    ):
        mailer.send(mail())


def test_password_is_never_in_repr_or_url(auth_server: SmtpServer) -> None:
    mailer = SmtpMailer.from_url(auth_server.url(credentials=True))
    for text in (repr(mailer), str(mailer), mailer.url):
        assert TEST_PASSWORD not in text
        assert "s3cret" not in text
        assert "***" in text
    assert repr(mailer) == f"SmtpMailer('smtp://mailer:***@127.0.0.1:{auth_server.port}')"


def test_password_is_never_in_a_failure(auth_server: SmtpServer) -> None:
    mailer = SmtpMailer.from_url(auth_server.url(credentials=True))
    auth_server.stop()
    with pytest.raises(TemporaryDeliveryFailure) as caught:
        mailer.send(mail())
    assert TEST_PASSWORD not in str(caught.value)
    auth_server.start()
    auth_server.fail_next("550 5.7.1 no")
    with pytest.raises(PermanentDeliveryFailure) as refused:
        mailer.send(mail())
    assert TEST_PASSWORD not in str(refused.value)
    mailer.close()


# -- TLS ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def server_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


@pytest.fixture
def client_tls(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(certificate[0]))


def test_starttls_with_auth(server_tls: ssl.SSLContext, client_tls: ssl.SSLContext) -> None:
    with SmtpServer.running(password=TEST_PASSWORD, tls=server_tls) as server:
        url = server.url(credentials=True, query={"starttls": "1"}).replace(
            "127.0.0.1", "localhost"
        )
        with SmtpMailer.from_url(url, ssl_context=client_tls) as mailer:
            mailer.send(mail(1))
            mailer.send(mail(2))
        assert [(r.tls, r.user) for r in server.received] == [(True, TEST_USER)] * 2
        assert server.connections == 1


def test_starttls_refuses_an_unverifiable_certificate(server_tls: ssl.SSLContext) -> None:
    with SmtpServer.running(tls=server_tls) as server:
        with (
            SmtpMailer(server.host, server.port, security="starttls") as mailer,
            pytest.raises(TemporaryDeliveryFailure, match="STARTTLS") as caught,
        ):
            mailer.send(mail())
        assert "certificate" in str(caught.value).lower()
        assert server.received == []


def test_starttls_required_but_not_offered_never_falls_back(server: SmtpServer) -> None:
    with (
        SmtpMailer(server.host, server.port, security="starttls") as mailer,
        pytest.raises(TemporaryDeliveryFailure, match="STARTTLS"),
    ):
        mailer.send(mail())
    assert server.received == []


def test_smtps_implicit_tls(server_tls: ssl.SSLContext, client_tls: ssl.SSLContext) -> None:
    with SmtpServer.running(tls=server_tls, implicit_tls=True) as server:
        url = server.url(credentials=False)
        assert url.startswith("smtps://")
        with SmtpMailer.from_url(url, ssl_context=client_tls) as mailer:
            assert mailer.security == "tls"
            mailer.send(mail())
        assert [r.tls for r in server.received] == [True]


# -- configuration --------------------------------------------------------------------


def test_from_url_defaults() -> None:
    plain = SmtpMailer.from_url("smtp://mail.example.gov.tw")
    assert (plain.host, plain.port, plain.security) == ("mail.example.gov.tw", 25, "none")
    assert plain.timeout == 10
    assert plain.sender == "contactbook@localhost"
    assert plain.username is None
    submission = SmtpMailer.from_url("smtp://mail.example.gov.tw?starttls=1")
    assert (submission.port, submission.security) == (587, "starttls")
    implicit = SmtpMailer.from_url("smtps://mail.example.gov.tw")
    assert (implicit.port, implicit.security) == (465, "tls")


def test_from_url_full() -> None:
    mailer = SmtpMailer.from_url(
        "smtp://user%40moj:p%40ss%3Aw%2Fd@mail.example.gov.tw:2587"
        "?starttls=true&timeout=2.5&from=noreply%40example.gov.tw&helo=portal.moj.gov.tw"
    )
    assert mailer.username == "user@moj"
    assert mailer._password == "p@ss:w/d"
    assert (mailer.port, mailer.security, mailer.timeout) == (2587, "starttls", 2.5)
    assert mailer.sender == "noreply@example.gov.tw"
    assert mailer.local_hostname == "portal.moj.gov.tw"
    assert "p@ss" not in repr(mailer)


@pytest.mark.parametrize(
    "url",
    [
        "folder:var/outbox",
        "smtp://",
        "smtp://host/path",
        "smtp://host?starttls=maybe",
        "smtp://host?timeout=soon",
        "smtp://host?timeout=0",
        "smtp://host?tls=1",  # unknown parameter (a typo must not pass silently)
        "smtps://host?starttls=1",
        "smtp://user@host.example.org?starttls=1",  # user without password
        "smtp://host?from=not-an-address",
        "smtp://user:pw@mail.example.gov.tw",  # credentials in clear to a remote host
    ],
)
def test_from_url_refuses(url: str) -> None:
    with pytest.raises(ValueError):
        SmtpMailer.from_url(url)


def test_plain_auth_to_a_remote_host_needs_an_explicit_yes() -> None:
    mailer = SmtpMailer.from_url("smtp://user:pw@relay.internal?auth_without_tls=1")
    assert mailer.username == "user"
    assert SmtpMailer.from_url("smtp://user:pw@127.0.0.1").username == "user"


def test_contactbook_open_wires_the_smtp_mailer(server: SmtpServer) -> None:
    book = contactbook.open(
        database="memory://",
        files="memory://",
        mail=server.url(),
        clock=MovableClock(parsedate_to_datetime("Wed, 07 Oct 2020 03:00:00 +0000")),
        hasher=FastPasswordHasher(),
    )
    assert isinstance(book.mailer, SmtpMailer)
    assert book.mailer.port == server.port


def test_an_interrupted_send_never_reuses_the_connection(
    smtp_mailer: SmtpMailer, server: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    smtp_mailer.send(mail(1))

    def killed(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt  # e.g. Ctrl-C while the connection is inside DATA

    monkeypatch.setattr("smtplib.SMTP.sendmail", killed)
    with pytest.raises(KeyboardInterrupt):
        smtp_mailer.send(mail(2))
    assert not smtp_mailer.connected
    monkeypatch.undo()
    smtp_mailer.send(mail(3))
    assert [delivered(r)[0] for r in server.received] == ["msg-1", "msg-3"]
    assert server.connections == 2
