"""An SMS gateway over HTTP(S) in the shape Taiwanese SMS providers use (stdlib ``urllib``).

Providers such as 三竹 (Mitake) take a form with user name, password,
destination and text, by GET or POST, and answer HTTP 200 with a body such as
``statuscode=1`` for success or ``statuscode=e`` for a refusal. Every part of
that is configurable, by keyword arguments or by one URL
(``contactbook.open(sms=...)``)::

    https://user:pw@sms.example.tw/send?method=POST&to_param=dstaddr&text_param=smbody
        &user_param=username&password_param=password&success=statuscode%3D%5B01%5D

* user name and password come from the URL's user part (URL-decoded) and are sent
  as the parameters named by ``user_param`` (default ``username``) and
  ``password_param`` (default ``password``); without them none are sent;
* ``method``: ``POST`` (a form body, the default) or ``GET`` (all in the query);
* ``to_param`` (default ``dstaddr``), ``text_param`` (default ``smbody``);
  ``id_param`` (no default) sends the message id too — e.g. Mitake's
  ``clientid``, which lets the provider drop a resend after a crash;
* ``success``: a regular expression searched in the body of a 2xx answer (default:
  none, any 2xx is success); ``retry``: one whose match means a temporary
  refusal (e.g. ``statuscode=[s]``); any other body is a permanent refusal;
* ``timeout`` (seconds, default 10), ``max_segments`` (default 5), ``charset``
  (of the form, default ``utf-8``; ``big5`` for providers that want it);
* ``query.NAME=value`` stays in the request URL (e.g. Mitake's
  ``query.CharsetURL=UTF-8``); ``param.NAME=value`` and any other parameter is
  sent with every message as a fixed form field (use ``param.`` for a field
  whose name is one of the settings above).

Before anything is sent the text is measured (``segments``): GSM-7 text takes
160 characters in one SMS and 153 per part when concatenated; anything else is
UCS-2 — Chinese — with 70 and 67. Text over ``max_segments`` parts is a
``PermanentDeliveryFailure``.

Outcomes: HTTP 5xx, 408, 429, a timeout or a connection error →
``TemporaryDeliveryFailure``; other 4xx, a redirect (not followed: it would
carry the credentials elsewhere) and a body that fails success detection →
``PermanentDeliveryFailure``. Error texts never contain the password.
"""

from __future__ import annotations

import codecs
import http.client
import re
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from email.message import Message
from typing import IO, Literal
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit, urlunsplit

from contactbook.ports.delivery import (
    DeliveryServiceUnavailable,
    OutgoingSms,
    PermanentDeliveryFailure,
    TemporaryDeliveryFailure,
)

__all__ = [
    "DEFAULT_MAX_SEGMENTS",
    "GSM7",
    "UCS2",
    "HttpSmsGateway",
    "SmsEncoding",
    "segments",
    "sms_encoding",
    "sms_units",
]

SmsEncoding = Literal["GSM-7", "UCS-2"]
GSM7: SmsEncoding = "GSM-7"
UCS2: SmsEncoding = "UCS-2"
DEFAULT_MAX_SEGMENTS = 5
DEFAULT_TIMEOUT = 10.0

# GSM 03.38 default alphabet (one septet each) and its extension table (two: ESC + char).
_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")
# (one message, each part of a concatenated message), in septets or UTF-16 units.
_CAPACITY: dict[SmsEncoding, tuple[int, int]] = {GSM7: (160, 153), UCS2: (70, 67)}

_SETTINGS = frozenset(
    {
        "method",
        "user_param",
        "password_param",
        "to_param",
        "text_param",
        "id_param",
        "success",
        "retry",
        "timeout",
        "max_segments",
        "charset",
    }
)
_DESTINATION = re.compile(r"\+?[0-9]{6,15}")
_RETRYABLE_STATUS = frozenset({408, 425, 429})
_MAX_BODY = 64 * 1024
_EXCERPT = 200
_MIN_SCRUBBED_PASSWORD = 4


def sms_encoding(text: str) -> SmsEncoding:
    """``GSM-7`` when every character is in the GSM alphabet, else ``UCS-2`` (e.g. Chinese)."""
    if all(c in _GSM7_BASIC or c in _GSM7_EXTENSION for c in text):
        return GSM7
    return UCS2


def _weights(text: str, encoding: SmsEncoding) -> Iterator[int]:
    """What each character costs: septets (GSM-7) or UTF-16 code units (UCS-2)."""
    for c in text:
        if encoding == GSM7:
            yield 2 if c in _GSM7_EXTENSION else 1
        else:
            yield 2 if ord(c) > 0xFFFF else 1


def sms_units(text: str) -> int:
    """Length as the network counts it: septets for GSM-7, UTF-16 code units for UCS-2."""
    return sum(_weights(text, sms_encoding(text)))


def segments(text: str) -> int:
    """How many SMS ``text`` takes: 1 up to 160 GSM-7 / 70 UCS-2 units, else parts of
    153 / 67 units. An escaped GSM character or an emoji is never split between
    two parts, as phones do. The empty text is one (empty) SMS."""
    encoding = sms_encoding(text)
    single, part = _CAPACITY[encoding]
    weights = list(_weights(text, encoding))
    if sum(weights) <= single:
        return 1
    count, used = 1, 0
    for weight in weights:
        if used + weight > part:
            count, used = count + 1, 0
        used += weight
    return count


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects raise ``HTTPError``: following one would send the credentials elsewhere."""

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: IO[bytes],
        code: int,
        msg: str,
        headers: Message,
        newurl: str,
    ) -> urllib.request.Request | None:
        return None


class HttpSmsGateway:
    """Sends each SMS as one HTTP request to a provider; see the module docstring."""

    def __init__(
        self,
        endpoint: str,
        *,
        method: str = "POST",
        username: str | None = None,
        password: str | None = None,
        user_param: str = "username",
        password_param: str = "password",
        to_param: str = "dstaddr",
        text_param: str = "smbody",
        id_param: str | None = None,
        params: Mapping[str, str] | None = None,
        success: str | re.Pattern[str] | None = None,
        retry: str | re.Pattern[str] | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        max_segments: int = DEFAULT_MAX_SEGMENTS,
        charset: str = "utf-8",
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        parts = urlsplit(endpoint)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError("the SMS endpoint must be an http:// or https:// URL with a host")
        if parts.username is not None or parts.password is not None:
            raise ValueError("give credentials as username= and password=, not in the endpoint")
        self.method = method.upper()
        if self.method not in ("GET", "POST"):
            raise ValueError(f"method must be GET or POST, not {method!r}")
        if timeout <= 0:
            raise ValueError("timeout must be positive")
        if max_segments < 1:
            raise ValueError("max_segments must be at least 1")
        codecs.lookup(charset)  # LookupError for an unknown charset, now rather than per SMS
        names = [to_param, text_param]
        if username is not None:
            names.append(user_param)
        if password is not None:
            names.append(password_param)
        if id_param is not None:
            names.append(id_param)
        if any(not name for name in names) or len(set(names)) != len(names):
            raise ValueError("parameter names must be non-empty and distinct")
        self.endpoint = endpoint
        self.username = username
        self._password = password
        self.user_param = user_param
        self.password_param = password_param
        self.to_param = to_param
        self.text_param = text_param
        self.id_param = id_param
        self.params: dict[str, str] = dict(params or {})
        clash = sorted(set(self.params) & set(names))
        if clash:
            raise ValueError(f"fixed parameters {clash} clash with the message's own")
        self.success = re.compile(success) if isinstance(success, str) else success
        self.retry = re.compile(retry) if isinstance(retry, str) else retry
        self.timeout = timeout
        self.max_segments = max_segments
        self.charset = charset
        handlers: list[urllib.request.BaseHandler] = [_NoRedirect()]
        if ssl_context is not None:
            handlers.append(urllib.request.HTTPSHandler(context=ssl_context))
        self._opener = urllib.request.build_opener(*handlers)

    @classmethod
    def from_url(cls, url: str, *, ssl_context: ssl.SSLContext | None = None) -> HttpSmsGateway:
        """Build from one URL; the settings are its query parameters (module docstring)."""
        parts = urlsplit(url)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
            raise ValueError("not an HTTP SMS gateway URL (use http:// or https:// with a host)")
        settings: dict[str, str] = {}
        kept: list[tuple[str, str]] = []
        params: dict[str, str] = {}
        for key, value in parse_qsl(parts.query, keep_blank_values=True):
            if key.startswith("query."):
                kept.append((key.removeprefix("query."), value))
            elif key.startswith("param."):
                params[key.removeprefix("param.")] = value
            elif key in _SETTINGS:
                settings[key] = value
            else:
                params[key] = value
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        netloc = f"{host}:{parts.port}" if parts.port is not None else host
        endpoint = urlunsplit((parts.scheme, netloc, parts.path, urlencode(kept), ""))
        try:
            timeout = float(settings.get("timeout", DEFAULT_TIMEOUT))
            max_segments = int(settings.get("max_segments", DEFAULT_MAX_SEGMENTS))
        except ValueError:
            raise ValueError("timeout and max_segments must be numbers") from None
        return cls(
            endpoint,
            method=settings.get("method", "POST"),
            username=unquote(parts.username) if parts.username is not None else None,
            password=unquote(parts.password) if parts.password is not None else None,
            user_param=settings.get("user_param", "username"),
            password_param=settings.get("password_param", "password"),
            to_param=settings.get("to_param", "dstaddr"),
            text_param=settings.get("text_param", "smbody"),
            id_param=settings.get("id_param") or None,
            params=params,
            success=settings.get("success") or None,
            retry=settings.get("retry") or None,
            timeout=timeout,
            max_segments=max_segments,
            charset=settings.get("charset", "utf-8"),
            ssl_context=ssl_context,
        )

    def __repr__(self) -> str:
        parts = urlsplit(self.endpoint)
        user = f"{quote(self.username, safe='')}:***@" if self.username is not None else ""
        host = parts.netloc.rpartition("@")[2]
        shown = urlunsplit((parts.scheme, f"{user}{host}", parts.path, "", ""))
        return f"HttpSmsGateway({shown!r}, method={self.method!r})"

    def check(self, sms: OutgoingSms) -> None:
        """Raise ``PermanentDeliveryFailure`` if ``sms`` can never be sent as it is."""
        if not _DESTINATION.fullmatch(sms.to):
            raise PermanentDeliveryFailure("the destination is not a mobile number")
        if not sms.body:
            raise PermanentDeliveryFailure("the SMS text is empty")
        count = segments(sms.body)
        if count > self.max_segments:
            encoding = sms_encoding(sms.body)
            single, part = _CAPACITY[encoding]
            raise PermanentDeliveryFailure(
                f"the SMS text is too long: {len(sms.body)} characters of {encoding} need "
                f"{count} segments ({single} in one SMS, {part} per part), more than the "
                f"limit of {self.max_segments}"
            )

    def send(self, sms: OutgoingSms) -> None:
        """Send ``sms``; raise ``TemporaryDeliveryFailure`` or ``PermanentDeliveryFailure``."""
        self.check(sms)
        request = self._request(sms)
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                status = int(response.status)
                body = self._decode(response.read(_MAX_BODY), response.headers)
        except urllib.error.HTTPError as exc:
            with exc:
                body = self._decode(_read_quietly(exc), exc.headers)
            raise self._http_failure(exc.code, body) from None
        except urllib.error.URLError as exc:
            reason = exc.reason
            what = f"{type(reason).__name__}: {reason}" if isinstance(reason, Exception) else reason
            raise DeliveryServiceUnavailable(
                self._scrub(f"SMS gateway {self._where()} unreachable: {what}")
            ) from None
        except (OSError, http.client.HTTPException) as exc:  # timeouts, resets, bad replies
            raise TemporaryDeliveryFailure(
                self._scrub(f"SMS gateway {self._where()} failed: {type(exc).__name__}: {exc}")
            ) from None
        if not 200 <= status < 300:
            raise self._http_failure(status, body)
        if self.success is not None and not self.success.search(body):
            failure: type[Exception] = PermanentDeliveryFailure
            if self.retry is not None and self.retry.search(body):
                failure = TemporaryDeliveryFailure
            raise failure(self._scrub(f"SMS gateway refused the message: {_excerpt(body)}"))

    # -- helpers ----------------------------------------------------------------------

    def _request(self, sms: OutgoingSms) -> urllib.request.Request:
        fields = dict(self.params)
        if self.username is not None:
            fields[self.user_param] = self.username
        if self._password is not None:
            fields[self.password_param] = self._password
        if self.id_param is not None:
            fields[self.id_param] = sms.message_id
        fields[self.to_param] = sms.to
        fields[self.text_param] = sms.body
        try:
            form = urlencode(fields, encoding=self.charset)
        except UnicodeEncodeError:
            raise PermanentDeliveryFailure(
                f"the SMS text cannot be written in {self.charset}"
            ) from None
        if self.method == "GET":
            separator = "&" if urlsplit(self.endpoint).query else "?"
            return urllib.request.Request(f"{self.endpoint}{separator}{form}", method="GET")
        return urllib.request.Request(
            self.endpoint,
            data=form.encode("ascii"),
            method="POST",
            headers={"Content-Type": f"application/x-www-form-urlencoded; charset={self.charset}"},
        )

    def _decode(self, raw: bytes, headers: Message | None) -> str:
        charset = (headers.get_content_charset() if headers is not None else None) or self.charset
        try:
            return raw.decode(charset, "replace")
        except LookupError:
            return raw.decode(self.charset, "replace")

    def _http_failure(
        self, status: int, body: str
    ) -> TemporaryDeliveryFailure | PermanentDeliveryFailure:
        reason = self._scrub(f"SMS gateway answered HTTP {status}: {_excerpt(body)}".rstrip(": "))
        if status >= 500 or status in _RETRYABLE_STATUS:
            return TemporaryDeliveryFailure(reason)
        return PermanentDeliveryFailure(reason)

    def _where(self) -> str:
        parts = urlsplit(self.endpoint)
        return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))

    def _scrub(self, text: str) -> str:
        if self._password and len(self._password) >= _MIN_SCRUBBED_PASSWORD:
            for form in {self._password, quote(self._password, safe=""), quote(self._password)}:
                text = text.replace(form, "***")
        return text


def _read_quietly(response: urllib.error.HTTPError) -> bytes:
    try:
        return response.read(_MAX_BODY)
    except (OSError, http.client.HTTPException):
        return b""


def _excerpt(body: str) -> str:
    text = " ".join(body.split())
    return text if len(text) <= _EXCERPT else text[: _EXCERPT - 1] + "…"
