"""A mailer that speaks SMTP (stdlib ``smtplib``): plain, STARTTLS or implicit TLS, AUTH.

URLs (``contactbook.open(mail=...)``)::

    smtp://host                      port 25, no TLS
    smtp://host?starttls=1           port 587, STARTTLS required (never falls back to plain)
    smtps://host                     port 465, implicit TLS
    smtp://user:pw@host:587?starttls=1&timeout=10&from=noreply%40example.gov.tw

Query parameters: ``starttls`` (1/0, true/false, yes/no, on/off), ``timeout``
(seconds, default 10), ``from`` (the sender, may carry a display name),
``helo`` (the name given in EHLO; default: this host's FQDN) and
``auth_without_tls`` (1 lets credentials travel unencrypted to a host that is
not loopback; refused otherwise). User name and password are URL-decoded, so a
password containing ``@``, ``:`` or ``/`` is written percent-encoded.

One connection serves a whole batch: it is opened on the first ``send`` and closed
by ``close()`` or on leaving a ``with`` block. Before each further mail it is
checked: a connection the server answered moments ago (under
``REUSE_WITHOUT_NOOP`` seconds) is used as it is if nothing has arrived on it
since (no bytes, no end of stream: the server neither spoke nor hung up);
otherwise it must answer NOOP, and is reopened once if the server dropped it.

Failures tell the dispatcher what to do:

* the server refused the mail (MAIL FROM, RCPT TO or DATA): 4xx →
  ``TemporaryDeliveryFailure``, 5xx → ``PermanentDeliveryFailure``;
* no session could be had (connection refused, timeout, TLS error, greeting or
  AUTH refused, STARTTLS not offered): ``TemporaryDeliveryFailure`` — the mail is
  not at fault, so it stays queued until the server or the settings are fixed;
* the connection broke while sending: ``TemporaryDeliveryFailure`` (the mail may
  have arrived; a resend carries the same ``Message-ID``);
* a mail that cannot be written (bad address, header injection, unusable id):
  ``PermanentDeliveryFailure``.

Error texts carry the SMTP code and the server's text, never the password.
"""

from __future__ import annotations

import email
import email.policy
import ipaddress
import select
import smtplib
import socket
import ssl
import threading
import time
from datetime import UTC, datetime
from types import TracebackType
from typing import Literal, Self
from urllib.parse import parse_qs, quote, unquote, urlsplit

from contactbook.adapters.mail.smtp_message import POLICY, render_message, sender_address
from contactbook.ports.clock import Clock
from contactbook.ports.delivery import (
    DeliveryServiceUnavailable,
    OutgoingMail,
    PermanentDeliveryFailure,
    TemporaryDeliveryFailure,
)

__all__ = ["DEFAULT_SENDER", "DEFAULT_TIMEOUT", "REUSE_WITHOUT_NOOP", "Security", "SmtpMailer"]

Security = Literal["none", "starttls", "tls"]
"""How the connection is protected: not at all, STARTTLS, or TLS from the first byte."""

DEFAULT_SENDER = "contactbook@localhost"
DEFAULT_TIMEOUT = 10.0
_DEFAULT_PORTS: dict[Security, int] = {"none": 25, "starttls": 587, "tls": 465}
_QUERY_KEYS = frozenset({"starttls", "timeout", "from", "helo", "auth_without_tls"})
_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


_MIN_SCRUBBED_PASSWORD = 4
REUSE_WITHOUT_NOOP = 5.0
"""Seconds after the server's last reply during which a quiet connection is reused
without a NOOP round trip (servers wait minutes for the next command, RFC 5321
§4.5.3.2.7)."""


class SmtpMailer:
    """Sends each mail over one reusable SMTP connection; see the module docstring."""

    def __init__(
        self,
        host: str,
        port: int | None = None,
        *,
        security: Security = "none",
        username: str | None = None,
        password: str | None = None,
        sender: str = DEFAULT_SENDER,
        timeout: float = DEFAULT_TIMEOUT,
        local_hostname: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
        auth_without_tls: bool = False,
        clock: Clock | None = None,
    ) -> None:
        if not host:
            raise ValueError("an SMTP mailer needs a host")
        if security not in _DEFAULT_PORTS:
            raise ValueError(f"security must be one of {sorted(_DEFAULT_PORTS)}, not {security!r}")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if (username is None) != (password is None) or username == "":
            raise ValueError("give both a user name and a password, or neither")
        if (
            username is not None
            and security == "none"
            and not auth_without_tls
            and not _is_loopback(host)
        ):
            raise ValueError(
                "refusing to send SMTP credentials unencrypted to a remote host: use "
                "smtps://, starttls=1, or auth_without_tls=1 if the network is trusted"
            )
        self.host = host
        self.port = port if port is not None else _DEFAULT_PORTS[security]
        self.security: Security = security
        self.username = username
        self._password = password
        self.sender = sender
        self.envelope_sender = sender_address(sender)
        self.timeout = timeout
        self.local_hostname = local_hostname
        self._ssl_context = ssl_context
        self._clock = clock
        self._smtp: smtplib.SMTP | None = None
        self._answered_at = 0.0  # time.monotonic() of the server's last good reply
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, *, ssl_context: ssl.SSLContext | None = None) -> SmtpMailer:
        """Build from ``smtp://`` or ``smtps://`` (see the module docstring for the parameters)."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in ("smtp", "smtps"):
            raise ValueError("not an SMTP mailer URL (use smtp:// or smtps://)")
        host = parts.hostname
        if not host:
            raise ValueError("SMTP mailer URL names no host")
        if parts.path not in ("", "/"):
            raise ValueError("an SMTP mailer URL has no path")
        query = {key: values[-1] for key, values in parse_qs(parts.query, True).items()}
        unknown = sorted(set(query) - _QUERY_KEYS)
        if unknown:
            known = ", ".join(sorted(_QUERY_KEYS))
            raise ValueError(f"unknown SMTP URL parameter(s) {unknown} (known: {known})")
        starttls = _flag(query.get("starttls", "0"), "starttls")
        if scheme == "smtps" and starttls:
            raise ValueError("smtps:// is TLS from the start; starttls=1 does not apply")
        security: Security = "tls" if scheme == "smtps" else "starttls" if starttls else "none"
        try:
            timeout = float(query.get("timeout", DEFAULT_TIMEOUT))
        except ValueError:
            raise ValueError("timeout must be a number of seconds") from None
        username = unquote(parts.username) if parts.username is not None else None
        password = unquote(parts.password) if parts.password is not None else None
        if username is not None and password is None:
            raise ValueError("the SMTP URL gives a user name but no password")
        return cls(
            host,
            parts.port,
            security=security,
            username=username,
            password=password,
            sender=query.get("from", DEFAULT_SENDER),
            timeout=timeout,
            local_hostname=query.get("helo") or None,
            ssl_context=ssl_context,
            auth_without_tls=_flag(query.get("auth_without_tls", "0"), "auth_without_tls"),
        )

    @property
    def url(self) -> str:
        """The URL this mailer stands for, with the password masked."""
        scheme = "smtps" if self.security == "tls" else "smtp"
        user = f"{quote(self.username, safe='')}:***@" if self.username is not None else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        query = "?starttls=1" if self.security == "starttls" else ""
        return f"{scheme}://{user}{host}:{self.port}{query}"

    def __repr__(self) -> str:
        return f"SmtpMailer({self.url!r})"

    @property
    def connected(self) -> bool:
        """Whether a connection is open (it may still have been dropped by the server)."""
        return self._smtp is not None

    def send(self, mail: OutgoingMail) -> None:
        """Send ``mail``; raise ``TemporaryDeliveryFailure`` or ``PermanentDeliveryFailure``."""
        recipient, data = self._render(mail)
        with self._lock:
            smtp = self._connection()
            try:
                if recipient.isascii() and self.envelope_sender.isascii():
                    smtp.sendmail(self.envelope_sender, [recipient], data)
                else:
                    # An address beyond ASCII: smtplib negotiates SMTPUTF8 and writes the
                    # headers as UTF-8, or refuses (SMTPNotSupportedError) when the
                    # server cannot take it. Rare enough to go the slow way.
                    message = email.message_from_bytes(data, policy=POLICY)
                    smtp.send_message(message, self.envelope_sender, [recipient])
                self._answered_at = time.monotonic()
            except smtplib.SMTPRecipientsRefused as exc:
                code, text = next(iter(exc.recipients.values()), (554, b"recipient refused"))
                raise self._failure("recipient refused", code, text) from None
            except smtplib.SMTPSenderRefused as exc:
                raise self._failure("sender refused", exc.smtp_code, exc.smtp_error) from None
            except smtplib.SMTPDataError as exc:
                raise self._failure("message refused", exc.smtp_code, exc.smtp_error) from None
            except smtplib.SMTPResponseException as exc:
                self._drop()
                raise self._failure("server refused", exc.smtp_code, exc.smtp_error) from None
            except (smtplib.SMTPNotSupportedError, UnicodeError) as exc:
                # e.g. a non-ASCII address and a server without SMTPUTF8
                reason = f"cannot send this mail: {_text(exc)}"
                raise PermanentDeliveryFailure(self._scrub(reason)) from None
            except (smtplib.SMTPException, OSError) as exc:
                self._drop()
                reason = f"connection to {self._where()} lost while sending: {_describe(exc)}"
                raise TemporaryDeliveryFailure(self._scrub(reason)) from None
            except BaseException:
                # Interrupted mid-conversation (KeyboardInterrupt, SystemExit …): the
                # connection may be inside DATA, so it must never be reused.
                self._drop()
                raise

    def close(self) -> None:
        """Say QUIT and close the connection, if one is open; the mailer stays usable."""
        with self._lock:
            smtp, self._smtp = self._smtp, None
            if smtp is None:
                return
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- the message ------------------------------------------------------------------

    def _render(self, mail: OutgoingMail) -> tuple[str, bytes]:
        now = (self._clock.now() if self._clock else datetime.now(UTC)).astimezone(UTC)
        return render_message(mail, self.sender, now)

    # -- the connection ---------------------------------------------------------------

    def _connection(self) -> smtplib.SMTP:
        """The open connection if it is fresh and quiet or still answers NOOP, else a
        new one."""
        if self._smtp is not None:
            recent = time.monotonic() - self._answered_at < REUSE_WITHOUT_NOOP
            if recent and _quiet(self._smtp.sock):
                return self._smtp
            try:
                code, _ = self._smtp.noop()
            except (smtplib.SMTPException, OSError):
                code = 0
            if code == 250:
                self._answered_at = time.monotonic()
                return self._smtp
            self._drop()
        self._smtp = self._open()
        self._answered_at = time.monotonic()
        return self._smtp

    def _open(self) -> smtplib.SMTP:
        smtp: smtplib.SMTP | None = None
        stage = "connect"
        try:
            # Host and port go to the constructor: it connects, checks the 220 greeting
            # and remembers the host name that TLS verifies the certificate against.
            if self.security == "tls":
                smtp = smtplib.SMTP_SSL(
                    self.host,
                    self.port,
                    local_hostname=self.local_hostname,
                    timeout=self.timeout,
                    context=self._context(),
                )
            else:
                smtp = smtplib.SMTP(
                    self.host, self.port, local_hostname=self.local_hostname, timeout=self.timeout
                )
            stage = "EHLO"
            smtp.ehlo_or_helo_if_needed()
            if self.security == "starttls":
                stage = "STARTTLS"
                smtp.starttls(context=self._context())
                smtp.ehlo()
            if self.username is not None and self._password is not None:
                stage = "AUTH"
                smtp.login(self.username, self._password)
        except smtplib.SMTPResponseException as exc:
            _close_quietly(smtp)
            reason = f"{stage} refused by {self._where()}: {exc.smtp_code} {_text(exc.smtp_error)}"
            raise DeliveryServiceUnavailable(self._scrub(reason)) from None
        except (smtplib.SMTPException, OSError, ValueError) as exc:
            _close_quietly(smtp)
            reason = f"{stage} with {self._where()} failed: {_describe(exc)}"
            raise DeliveryServiceUnavailable(self._scrub(reason)) from None
        except BaseException:
            _close_quietly(smtp)
            raise
        return smtp

    def _context(self) -> ssl.SSLContext:
        if self._ssl_context is None:
            self._ssl_context = ssl.create_default_context()
        return self._ssl_context

    def _drop(self) -> None:
        """Forget the connection without a word to the server (it may be gone)."""
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

    # -- errors -----------------------------------------------------------------------

    def _failure(
        self, what: str, code: int, text: bytes | str
    ) -> TemporaryDeliveryFailure | PermanentDeliveryFailure:
        reason = self._scrub(f"{what}: {code} {_text(text)}".rstrip())
        if code == 421:  # the server is closing the connection
            self._drop()
        if 400 <= code < 500:
            return TemporaryDeliveryFailure(reason)
        return PermanentDeliveryFailure(reason)

    def _where(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def _scrub(self, text: str) -> str:
        if self._password and len(self._password) >= _MIN_SCRUBBED_PASSWORD:
            return text.replace(self._password, "***")
        return text


def _text(value: object) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace").strip()
    if isinstance(value, smtplib.SMTPResponseException):
        return f"{value.smtp_code} {_text(value.smtp_error)}"
    return str(value).strip()


def _quiet(sock: socket.socket | None) -> bool:
    """Whether nothing at all waits on ``sock``: no reply, no end of stream, no error.

    Between two mails the server has nothing to say; a byte or a hang-up waiting
    means it spoke (e.g. a 421) or closed, and the connection needs a real check.
    """
    if sock is None:
        return False
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return False
    try:
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(sock, select.POLLIN | select.POLLPRI)
            return not poller.poll(0)
        readable, _, broken = select.select([sock], [], [sock], 0)
    except (OSError, ValueError):
        return False
    return not readable and not broken


def _close_quietly(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        smtp.close()


def _describe(exc: BaseException) -> str:
    """``ConnectionRefusedError: [Errno 111] Connection refused`` and the like."""
    return f"{type(exc).__name__}: {_text(exc)}".rstrip(": ")


def _flag(value: str, name: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ValueError(f"{name} must be 1 or 0, not {value!r}")


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
