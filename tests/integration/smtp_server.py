"""A real SMTP server on a loopback port for tests: ``aiosmtpd`` behind a small recorder.

::

    with SmtpServer.running() as server:          # or a pytest fixture that yields one
        mailer = SmtpMailer.from_url(server.url())
        ...
        assert [r.message()["Subject"] for r in server.received] == [...]

* ``received`` lists every accepted mail (envelope, raw bytes, connection number,
  the user that authenticated); ``connections`` counts SMTP sessions.
* ``fail_next("451 4.3.0 Try again later", times=2, at="DATA")`` answers the next
  mails with that reply instead of accepting them (``at``: MAIL, RCPT or DATA).
* ``SmtpServer(password=...)`` offers AUTH (PLAIN, LOGIN) over plain text —
  acceptable on loopback only — and refuses MAIL before a successful AUTH.
* ``tls=`` (a server ``SSLContext``) offers STARTTLS, or with ``implicit_tls=True``
  speaks TLS from the first byte (smtps); ``self_signed_certificate`` makes one.
* ``stop()`` and ``start()`` again on the same port rehearse a server that goes
  away and comes back; a server built but never started is a closed port.
"""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from pathlib import Path
from typing import Any, Literal, Self
from urllib.parse import quote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

__all__ = [
    "TEST_PASSWORD",
    "TEST_USER",
    "Received",
    "SmtpServer",
    "Stage",
    "free_port",
    "self_signed_certificate",
]

HOST = "127.0.0.1"
TEST_USER = "mailer"
TEST_PASSWORD = "s3cret:p@ss/word"  # URL-special characters on purpose
Stage = Literal["MAIL", "RCPT", "DATA"]


def free_port() -> int:
    """A TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Received:
    """One mail the server accepted."""

    connection: int
    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    user: str | None
    tls: bool

    def message(self) -> EmailMessage:
        parsed = BytesParser(policy=default).parsebytes(self.data)
        assert isinstance(parsed, EmailMessage)
        return parsed

    @property
    def message_id(self) -> str:
        return str(self.message()["Message-ID"])


class _Recorder:
    """The aiosmtpd handler: records sessions and mails, answers as programmed."""

    def __init__(self, password: str | None) -> None:
        self.password = password
        self.lock = threading.Lock()
        self.received: list[Received] = []
        # One aiosmtpd SMTP object per connection (STARTTLS makes a new Session, not a
        # new SMTP object); kept alive so that identity means one connection.
        self.connections: list[SMTP] = []
        self.users: dict[int, str] = {}
        self.commands: list[str] = []
        self.planned: dict[Stage, deque[str]] = {"MAIL": deque(), "RCPT": deque(), "DATA": deque()}

    def connection_of(self, server: SMTP) -> int:
        with self.lock:
            for number, known in enumerate(self.connections):
                if known is server:
                    return number
            self.connections.append(server)
            return len(self.connections) - 1

    def planned_reply(self, stage: Stage) -> str | None:
        with self.lock:
            queue = self.planned[stage]
            return queue.popleft() if queue else None

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        session.host_name = hostname
        self.connection_of(server)
        return responses

    async def handle_NOOP(
        self, server: SMTP, session: Session, envelope: Envelope, arg: str
    ) -> str:
        with self.lock:
            self.commands.append("NOOP")
        return "250 OK"

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        if self.password is not None and not session.authenticated:
            return "530 5.7.0 Authentication required"
        reply = self.planned_reply("MAIL")
        if reply is not None:
            return reply
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        reply = self.planned_reply("RCPT")
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        reply = self.planned_reply("DATA")
        if reply is not None:
            return reply
        content = envelope.original_content or envelope.content or b""
        data = content if isinstance(content, bytes) else content.encode("utf-8")
        connection = self.connection_of(server)
        transport = server.transport
        tls = transport is not None and transport.get_extra_info("ssl_object") is not None
        with self.lock:
            self.received.append(
                Received(
                    connection=connection,
                    mail_from=str(envelope.mail_from),
                    rcpt_tos=tuple(envelope.rcpt_tos),
                    data=data,
                    user=self.users.get(connection),
                    tls=tls,
                )
            )
        return "250 2.0.0 Message accepted for delivery"

    def authenticate(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        if not isinstance(auth_data, LoginPassword) or self.password is None:
            return AuthResult(success=False, handled=False)
        user = auth_data.login.decode("utf-8", "replace")
        if user == TEST_USER and auth_data.password == self.password.encode("utf-8"):
            connection = self.connection_of(server)
            with self.lock:
                self.users[connection] = user
            return AuthResult(success=True, auth_data=auth_data)
        return AuthResult(success=False, handled=False)


class SmtpServer:
    """An aiosmtpd server on ``127.0.0.1:port`` that can be stopped and started again."""

    def __init__(
        self,
        port: int | None = None,
        *,
        password: str | None = None,
        tls: ssl.SSLContext | None = None,
        implicit_tls: bool = False,
        smtputf8: bool = True,
    ) -> None:
        self.host = HOST
        self.port = port if port is not None else free_port()
        self.password = password
        self._tls = tls
        self._implicit_tls = implicit_tls
        self._smtputf8 = smtputf8
        self._handler = _Recorder(password)
        self._controller: Controller | None = None

    @classmethod
    @contextmanager
    def running(cls, port: int | None = None, **options: Any) -> Iterator[Self]:
        """A started server, stopped on leaving the block."""
        server = cls(port, **options)
        server.start()
        try:
            yield server
        finally:
            server.stop()

    def start(self) -> None:
        if self._controller is not None:
            raise RuntimeError("already running")
        options: dict[str, Any] = {"hostname": self.host, "port": self.port}
        options["server_hostname"] = "contactbook-test-smtp"
        if self.password is not None:
            options["authenticator"] = self._handler.authenticate
            options["auth_require_tls"] = False  # loopback only
        if self._tls is not None:
            if self._implicit_tls:
                options["ssl_context"] = self._tls
            else:
                options["tls_context"] = self._tls
        options["enable_SMTPUTF8"] = self._smtputf8  # aiosmtpd's Controller offers it by default
        controller = Controller(self._handler, **options)
        controller.start()
        self._controller = controller

    def stop(self) -> None:
        """Stop listening and cut every open connection."""
        controller, self._controller = self._controller, None
        if controller is not None:
            controller.stop()

    @property
    def running_now(self) -> bool:
        return self._controller is not None

    def url(self, *, credentials: bool = False, query: Mapping[str, str] | None = None) -> str:
        """``smtp://127.0.0.1:port`` (``smtps://`` for implicit TLS), optionally with AUTH."""
        scheme = "smtps" if self._implicit_tls else "smtp"
        user = ""
        if credentials:
            assert self.password is not None, "this server has no password"
            user = f"{quote(TEST_USER, safe='')}:{quote(self.password, safe='')}@"
        tail = "&".join(f"{key}={quote(value, safe='')}" for key, value in (query or {}).items())
        return f"{scheme}://{user}{self.host}:{self.port}" + (f"?{tail}" if tail else "")

    def fail_next(self, reply: str, times: int = 1, *, at: Stage = "DATA") -> None:
        """Answer the next ``times`` commands ``at`` with ``reply`` (e.g. ``451 …``)."""
        with self._handler.lock:
            self._handler.planned[at].extend([reply] * times)

    @property
    def received(self) -> list[Received]:
        with self._handler.lock:
            return list(self._handler.received)

    @property
    def connections(self) -> int:
        """SMTP sessions that said EHLO (one per connection; STARTTLS does not add one)."""
        with self._handler.lock:
            return len(self._handler.connections)

    @property
    def noops(self) -> int:
        with self._handler.lock:
            return self._handler.commands.count("NOOP")

    def message_ids(self) -> list[str]:
        return [received.message_id for received in self.received]


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for ``localhost`` and ``127.0.0.1`` and its key, made by ``openssl``."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key
