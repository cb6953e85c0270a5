"""HttpSmsGateway against a local HTTP server that plays a Taiwanese SMS provider."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest

import contactbook
from contactbook.adapters.sms.http import (
    GSM7,
    UCS2,
    HttpSmsGateway,
    segments,
    sms_encoding,
    sms_units,
)
from contactbook.domain.message import Channel, Message, MessageCause, MessageStatus
from contactbook.ports.delivery import (
    OutgoingSms,
    PermanentDeliveryFailure,
    SmsGateway,
    TemporaryDeliveryFailure,
)
from contactbook.testing import FastPasswordHasher, MovableClock
from contactbook.testing.delivery_contract import ZH_SMS, SentSms, SmsGatewayContract
from contactbook.usecases.messages import DispatchReport
from tests.integration.smtp_server import free_port

USER = "moj-portal"
PASSWORD = "sms-Pa55:w@rd"
PATH = "/api/mtk/SmSend"
MITAKE_STYLE = (
    "?method=POST&user_param=username&password_param=password&to_param=dstaddr"
    "&text_param=smbody&id_param=clientid&success=statuscode%3D%5B0-4%5D"
    "&query.CharsetURL=UTF-8&smsPointFlag=1"
)


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: str = "[1]\r\nmsgid=1010079522\r\nstatuscode=1\r\nAccountPoint=98\r\n"
    delay: float = 0.0
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    query: dict[str, str]
    form: dict[str, str]
    content_type: str


@dataclass
class FakeProvider:
    """Records every request; answers with the queued replies, then with success."""

    requests: list[Seen] = field(default_factory=list)
    replies: deque[Reply] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)
    port: int = 0

    def reply(self, *replies: Reply) -> None:
        with self.lock:
            self.replies.extend(replies)

    def url(self, query: str = MITAKE_STYLE, *, credentials: bool = True) -> str:
        from urllib.parse import quote

        user = f"{quote(USER, safe='')}:{quote(PASSWORD, safe='')}@" if credentials else ""
        return f"http://{user}127.0.0.1:{self.port}{PATH}{query}"

    def delivered(self, id_field: str = "clientid") -> list[tuple[str, str, str]]:
        with self.lock:
            seen = list(self.requests)
        return [
            (fields.get(id_field, ""), fields["dstaddr"], fields["smbody"])
            for fields in ({**s.query, **s.form} for s in seen)
        ]


def _handler(provider: FakeProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _serve(self) -> None:
            parts = urlsplit(self.path)
            content_type = self.headers.get("Content-Type", "")
            charset = "utf-8"
            if "charset=" in content_type:
                charset = content_type.split("charset=", 1)[1].strip()
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length).decode("ascii") if length else ""

            def single(text: str) -> dict[str, str]:
                pairs = parse_qs(text, keep_blank_values=True, encoding=charset)
                return {key: values[-1] for key, values in pairs.items()}

            with provider.lock:
                provider.requests.append(
                    Seen(self.command, parts.path, single(parts.query), single(raw), content_type)
                )
                reply = provider.replies.popleft() if provider.replies else Reply()
            if reply.delay:
                time.sleep(reply.delay)
            payload = reply.body.encode("utf-8")
            self.send_response(reply.status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            for name, value in reply.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = _serve
        do_POST = _serve

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that timed out and left is expected here


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    fake = FakeProvider()
    server = _QuietServer(("127.0.0.1", 0), _handler(fake))
    fake.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def sms(n: int = 1, body: str = ZH_SMS, to: str = "0912345678") -> OutgoingSms:
    return OutgoingSms(f"sms-{n}", to, body)


class TestHttpSmsGatewayPost(SmsGatewayContract):
    @pytest.fixture
    def sms(self, provider: FakeProvider) -> SmsGateway:
        return HttpSmsGateway.from_url(provider.url())

    @pytest.fixture
    def sent_sms(self, provider: FakeProvider) -> SentSms:
        return provider.delivered


class TestHttpSmsGatewayGet(SmsGatewayContract):
    @pytest.fixture
    def sms(self, provider: FakeProvider) -> SmsGateway:
        return HttpSmsGateway.from_url(provider.url(MITAKE_STYLE.replace("POST", "GET")))

    @pytest.fixture
    def sent_sms(self, provider: FakeProvider) -> SentSms:
        return provider.delivered


# -- the request ----------------------------------------------------------------------


def test_post_form_in_the_providers_shape(provider: FakeProvider) -> None:
    HttpSmsGateway.from_url(provider.url()).send(sms(1))
    [seen] = provider.requests
    assert (seen.method, seen.path) == ("POST", PATH)
    assert seen.query == {"CharsetURL": "UTF-8"}
    assert seen.content_type == "application/x-www-form-urlencoded; charset=utf-8"
    assert seen.form == {
        "username": USER,
        "password": PASSWORD,
        "dstaddr": "0912345678",
        "smbody": ZH_SMS,
        "clientid": "sms-1",
        "smsPointFlag": "1",
    }


def test_get_puts_everything_in_the_query(provider: FakeProvider) -> None:
    HttpSmsGateway.from_url(provider.url(MITAKE_STYLE.replace("POST", "GET"))).send(sms(2))
    [seen] = provider.requests
    assert seen.method == "GET"
    assert seen.form == {}
    assert seen.query["CharsetURL"] == "UTF-8"
    assert seen.query["smbody"] == ZH_SMS
    assert seen.query["password"] == PASSWORD


def test_keyword_construction_with_other_names(provider: FakeProvider) -> None:
    gateway = HttpSmsGateway(
        f"http://127.0.0.1:{provider.port}/send.php?lang=zh-TW",
        username="acct",
        password="k3y-k3y-k3y",
        user_param="UID",
        password_param="PWD",
        to_param="DEST",
        text_param="MSG",
        params={"SB": "系統通知"},
        success=r"^\d+(\.\d+)?,\d+,",  # every8d-style "credit,sent,cost,unsent,batch id"
    )
    provider.reply(Reply(body="97.0,1,1.0,0,c1e2f3"))
    gateway.send(sms(1, body="驗證碼 123456"))
    [seen] = provider.requests
    assert seen.path == "/send.php"
    assert seen.query == {"lang": "zh-TW"}
    assert seen.form == {
        "UID": "acct",
        "PWD": "k3y-k3y-k3y",
        "DEST": "0912345678",
        "MSG": "驗證碼 123456",
        "SB": "系統通知",
    }


def test_no_credentials_no_credential_fields(provider: FakeProvider) -> None:
    url = provider.url("?apikey=abc&to_param=to&text_param=text", credentials=False)
    HttpSmsGateway.from_url(url).send(sms(1))
    assert provider.requests[0].form == {"apikey": "abc", "to": "0912345678", "text": ZH_SMS}


def test_big5_form(provider: FakeProvider) -> None:
    gateway = HttpSmsGateway.from_url(provider.url(MITAKE_STYLE + "&charset=big5"))
    gateway.send(sms(1, body="您的驗證碼為 123456"))
    [seen] = provider.requests
    assert seen.content_type.endswith("charset=big5")
    assert seen.form["smbody"] == "您的驗證碼為 123456"


def test_text_that_the_charset_cannot_hold_is_permanent(provider: FakeProvider) -> None:
    gateway = HttpSmsGateway.from_url(provider.url(MITAKE_STYLE + "&charset=big5"))
    with pytest.raises(PermanentDeliveryFailure, match="big5"):
        gateway.send(sms(1, body="笑一個 😀"))
    assert provider.requests == []


# -- the provider's answers -----------------------------------------------------------


def test_statuscode_1_is_success(provider: FakeProvider) -> None:
    provider.reply(Reply(body="[1]\nmsgid=#000000001\nstatuscode=1\n"))
    HttpSmsGateway.from_url(provider.url()).send(sms())
    assert len(provider.requests) == 1


def test_statuscode_e_is_permanent(provider: FakeProvider) -> None:
    provider.reply(Reply(body=f"[1]\nstatuscode=e\nError=帳號 {USER} 密碼 {PASSWORD} 錯誤\n"))
    gateway = HttpSmsGateway.from_url(provider.url())
    with pytest.raises(PermanentDeliveryFailure) as caught:
        gateway.send(sms())
    text = str(caught.value)
    assert "statuscode=e" in text
    assert PASSWORD not in text, "a provider echoing the password must not leak it"


def test_configured_retry_body_is_temporary(provider: FakeProvider) -> None:
    provider.reply(Reply(body="statuscode=s\nError=system busy"))
    gateway = HttpSmsGateway.from_url(provider.url(MITAKE_STYLE + "&retry=statuscode%3Ds"))
    with pytest.raises(TemporaryDeliveryFailure, match="statuscode=s"):
        gateway.send(sms())


@pytest.mark.parametrize(
    ("status", "failure"),
    [
        (500, TemporaryDeliveryFailure),
        (502, TemporaryDeliveryFailure),
        (503, TemporaryDeliveryFailure),
        (429, TemporaryDeliveryFailure),
        (408, TemporaryDeliveryFailure),
        (400, PermanentDeliveryFailure),
        (401, PermanentDeliveryFailure),
        (404, PermanentDeliveryFailure),
    ],
)
def test_http_status(provider: FakeProvider, status: int, failure: type[Exception]) -> None:
    provider.reply(Reply(status=status, body="gateway says no"))
    with pytest.raises(failure) as caught:
        HttpSmsGateway.from_url(provider.url()).send(sms())
    assert f"HTTP {status}" in str(caught.value)
    assert "gateway says no" in str(caught.value)
    assert PASSWORD not in str(caught.value)


def test_redirect_is_not_followed(provider: FakeProvider) -> None:
    provider.reply(Reply(status=302, body="", headers=(("Location", "http://127.0.0.1:9/x"),)))
    with pytest.raises(PermanentDeliveryFailure, match="HTTP 302"):
        HttpSmsGateway.from_url(provider.url()).send(sms())
    assert len(provider.requests) == 1


def test_slow_provider_times_out_as_temporary(provider: FakeProvider) -> None:
    provider.reply(Reply(delay=1.5))
    gateway = HttpSmsGateway.from_url(provider.url(MITAKE_STYLE + "&timeout=0.3"))
    started = time.monotonic()
    with pytest.raises(TemporaryDeliveryFailure, match=r"(?i)timed out|timeout"):
        gateway.send(sms())
    assert time.monotonic() - started < 1.4


def test_connection_refused_is_temporary() -> None:
    gateway = HttpSmsGateway(f"http://127.0.0.1:{free_port()}/send", password="k3y-k3y-k3y")
    with pytest.raises(TemporaryDeliveryFailure, match="unreachable") as caught:
        gateway.send(sms())
    assert "k3y-k3y-k3y" not in str(caught.value)


# -- length and encoding --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "encoding", "count"),
    [
        ("中" * 70, UCS2, 1),
        ("中" * 71, UCS2, 2),
        ("中" * 134, UCS2, 2),
        ("中" * 135, UCS2, 3),
        ("中" * 335, UCS2, 5),
        ("中" * 336, UCS2, 6),
        ("a" * 160, GSM7, 1),
        ("a" * 161, GSM7, 2),
        ("a" * 306, GSM7, 2),
        ("a" * 307, GSM7, 3),
        ("a" * 765, GSM7, 5),
        ("a" * 766, GSM7, 6),
        ("Your code is 123456" + "a" * 140 + "é", GSM7, 1),  # é is in the GSM alphabet
        ("a" * 159 + "€", GSM7, 2),  # € takes two septets
        ("a" * 159 + "`", UCS2, 3),  # ` is not GSM-7: the whole text becomes UCS-2
        ("驗證碼 123456" + "x" * 60, UCS2, 1),  # any Chinese makes it all UCS-2
        ("😀" * 35, UCS2, 1),  # an emoji is two UTF-16 units
        ("😀" * 36, UCS2, 2),
        ("", GSM7, 1),
    ],
)
def test_segments(text: str, encoding: str, count: int) -> None:
    assert sms_encoding(text) == encoding
    assert segments(text) == count


def test_units() -> None:
    assert sms_units("中文") == 2
    assert sms_units("a€") == 3
    assert sms_units("😀") == 2


def test_segments_never_split_a_pair() -> None:
    # 66 units then an emoji: the emoji does not fit in the first 67-unit part whole
    assert segments("中" * 66 + "😀" + "中" * 66) == 3
    assert segments("a" * 152 + "€" + "a" * 152) == 3


def test_over_the_limit_is_refused_before_sending(provider: FakeProvider) -> None:
    gateway = HttpSmsGateway.from_url(provider.url())
    gateway.send(sms(1, body="中" * 335))
    with pytest.raises(PermanentDeliveryFailure) as caught:
        gateway.send(sms(2, body="中" * 336))
    reason = str(caught.value)
    assert "6 segments" in reason and "limit of 5" in reason and "UCS-2" in reason
    assert [d[0] for d in provider.delivered()] == ["sms-1"]


def test_the_limit_is_configurable(provider: FakeProvider) -> None:
    gateway = HttpSmsGateway.from_url(provider.url(MITAKE_STYLE + "&max_segments=1"))
    gateway.send(sms(1, body="中" * 70))
    with pytest.raises(PermanentDeliveryFailure, match="limit of 1"):
        gateway.send(sms(2, body="中" * 71))
    gateway.send(sms(3, body="a" * 160))
    with pytest.raises(PermanentDeliveryFailure, match="GSM-7"):
        gateway.send(sms(4, body="a" * 161))
    assert [d[0] for d in provider.delivered()] == ["sms-1", "sms-3"]


@pytest.mark.parametrize("to", ["", "abc", "0912-345-678", "09123", "0912345678; rm"])
def test_bad_destination_is_permanent(provider: FakeProvider, to: str) -> None:
    with pytest.raises(PermanentDeliveryFailure, match="destination"):
        HttpSmsGateway.from_url(provider.url()).send(sms(to=to))
    assert provider.requests == []


def test_empty_text_is_permanent(provider: FakeProvider) -> None:
    with pytest.raises(PermanentDeliveryFailure, match="empty"):
        HttpSmsGateway.from_url(provider.url()).send(sms(body=""))
    assert provider.requests == []


# -- configuration --------------------------------------------------------------------


def test_the_documented_url() -> None:
    gateway = HttpSmsGateway.from_url(
        "https://user:pw@sms.example.tw/send?method=POST&to_param=dstaddr&text_param=smbody"
        "&user_param=username&password_param=password&success=statuscode%3D%5B01%5D"
    )
    assert gateway.endpoint == "https://sms.example.tw/send"
    assert (gateway.method, gateway.username) == ("POST", "user")
    assert (gateway.to_param, gateway.text_param) == ("dstaddr", "smbody")
    assert gateway.success is not None and gateway.success.pattern == "statuscode=[01]"
    assert (gateway.timeout, gateway.max_segments, gateway.params) == (10.0, 5, {})


def test_param_prefix_and_url_decoded_credentials() -> None:
    gateway = HttpSmsGateway.from_url(
        "https://us%40er:p%3Aw%40d@sms.example.tw:8443/x?param.method=fixed&query.v=2&a=b"
    )
    assert (gateway.username, gateway._password) == ("us@er", "p:w@d")
    assert gateway.method == "POST"
    assert gateway.params == {"method": "fixed", "a": "b"}
    assert gateway.endpoint == "https://sms.example.tw:8443/x?v=2"


def test_password_never_in_repr() -> None:
    gateway = HttpSmsGateway.from_url(f"https://{USER}:sms-Pa55%3Aw%40rd@sms.example.tw/send")
    assert (
        repr(gateway) == f"HttpSmsGateway('https://{USER}:***@sms.example.tw/send', method='POST')"
    )
    assert "Pa55" not in repr(gateway)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://sms.example.tw/send",
        "https:///send",
        "https://sms.example.tw/send?method=PUT",
        "https://sms.example.tw/send?max_segments=0",
        "https://sms.example.tw/send?timeout=soon",
        "https://sms.example.tw/send?charset=no-such-charset",
        "https://sms.example.tw/send?to_param=x&text_param=x",
        "https://u:p@sms.example.tw/send?username=fixed",  # clashes with the user field
    ],
)
def test_bad_configuration_is_refused(url: str) -> None:
    with pytest.raises((ValueError, LookupError)):
        HttpSmsGateway.from_url(url)


def test_contactbook_open_wires_the_http_gateway() -> None:
    book = contactbook.open(
        database="memory://",
        files="memory://",
        mail="memory://",
        sms="https://user:pw@sms.example.tw/send?success=statuscode%3D1",
        clock=MovableClock(datetime(2020, 10, 7, 3, 0, tzinfo=UTC)),
        hasher=FastPasswordHasher(),
    )
    assert isinstance(book.sms, HttpSmsGateway)


def test_dispatcher_retries_after_a_gateway_error(provider: FakeProvider) -> None:
    clock = MovableClock(datetime(2020, 10, 7, 3, 0, tzinfo=UTC))
    book = contactbook.open(
        database="memory://",
        files="memory://",
        mail="memory://",
        sms=provider.url(),
        clock=clock,
        hasher=FastPasswordHasher(),
    )
    # No use case queues an SMS yet, so the message is put in the outbox directly.
    with book.storage.unit_of_work() as uow:
        uow.messages.add(
            Message(
                id="sms0001",
                channel=Channel.SMS,
                destination="0912345678",
                subject="",
                body=ZH_SMS,
                cause=MessageCause.PASSWORD_RESET,
                created_at=clock.now(),
            )
        )
        uow.commit()
    provider.reply(Reply(status=503, body="maintenance"))
    assert book.messages.dispatch() == DispatchReport(sent=0, retrying=1, failed=0)
    clock.advance(minutes=2)
    assert book.messages.dispatch() == DispatchReport(sent=1, retrying=0, failed=0)
    # the provider saw the same SMS twice: refused with 503, then accepted
    assert provider.delivered() == [("sms0001", "0912345678", ZH_SMS)] * 2
    with book.storage.unit_of_work() as uow:
        message = uow.messages.get("sms0001")
    assert message is not None
    assert (message.status, message.attempts) == (MessageStatus.SENT, 2)
