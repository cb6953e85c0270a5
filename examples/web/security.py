"""Web security the library cannot do itself.

* Server-side sessions: the cookie holds only a signed random id (HttpOnly,
  SameSite=Lax, Secure and ``__Host-`` prefixed over HTTPS); ``rotate()`` gives
  a new id at login so a planted id is worth nothing; idle and absolute expiry.
* CSRF: a synchronizer token bound to the session, checked on every POST by
  :func:`check_csrf` (forms go through ``common.read_form``, which calls it).
* Response headers: ``Cache-Control: no-store`` on every page (they are all
  personal or carry a CSRF token), ``nosniff``, frame and referrer policies, CSP.
* Request bodies are capped while they stream in: a declared ``Content-Length``
  over the cap is refused before one byte is read, and an undeclared one is
  cut off as soon as it passes the cap.
* Downloads carry an RFC 6266 ``Content-Disposition`` and ``nosniff``.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from itsdangerous import BadSignature, Signer
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection
from starlette.responses import Response, StreamingResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import contactbook

__all__ = [
    "MAX_BODY_BYTES",
    "BodyLimitMiddleware",
    "MemorySessionStore",
    "SecurityHeadersMiddleware",
    "ServerSession",
    "SessionMiddleware",
    "check_csrf",
    "csrf_token",
    "download_response",
]

MAX_BODY_BYTES = 25 * 1024 * 1024
"""Any request body above this is refused (413) before it is read to the end."""

IDLE_SECONDS = 30 * 60
ABSOLUTE_SECONDS = 12 * 60 * 60
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


class ServerSession(dict[str, Any]):
    """A session's data; ``rotate()`` asks for a new id, ``end()`` for none at all."""

    def __init__(self, sid: str | None, data: dict[str, Any] | None = None) -> None:
        super().__init__(data or {})
        self.sid = sid
        self.rotated = False
        self.ended = False

    def rotate(self, *, keep: tuple[str, ...] = ("lang",)) -> None:
        """New id and a new CSRF token; only ``keep`` survives (login, logout, TOTP)."""
        kept = {key: self[key] for key in keep if key in self}
        self.clear()
        self.update(kept)
        self.rotated = True

    def end(self) -> None:
        self.clear()
        self.ended = True


class MemorySessionStore:
    """Sessions in this process, least recently used dropped past ``capacity``.

    Enough for the example (one process); a deployment puts them in Redis or SQL.
    """

    def __init__(self, capacity: int = 10_000) -> None:
        self._capacity = capacity
        self._rows: OrderedDict[str, tuple[float, float, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def load(self, sid: str) -> dict[str, Any] | None:
        now = time.monotonic()
        with self._lock:
            row = self._rows.get(sid)
            if row is None:
                return None
            created, touched, data = row
            if now - touched > IDLE_SECONDS or now - created > ABSOLUTE_SECONDS:
                del self._rows[sid]
                return None
            self._rows[sid] = (created, now, data)
            self._rows.move_to_end(sid)
            return dict(data)

    def save(self, sid: str, data: dict[str, Any]) -> None:
        now = time.monotonic()
        with self._lock:
            created = self._rows[sid][0] if sid in self._rows else now
            self._rows[sid] = (created, now, dict(data))
            self._rows.move_to_end(sid)
            while len(self._rows) > self._capacity:
                self._rows.popitem(last=False)

    def delete(self, sid: str) -> None:
        with self._lock:
            self._rows.pop(sid, None)

    def __len__(self) -> int:
        return len(self._rows)


class SessionMiddleware:
    """Puts a :class:`ServerSession` in ``scope["session"]`` (so ``request.session`` works)."""

    def __init__(
        self, app: ASGIApp, *, store: MemorySessionStore, secret_key: str, https: bool
    ) -> None:
        self.app = app
        self.store = store
        self.signer = Signer(secret_key, salt="contactbook-web-session")
        self.https = https
        self.cookie = "__Host-cbsid" if https else "cbsid"

    def _incoming(self, scope: Scope) -> ServerSession:
        raw = HTTPConnection(scope).cookies.get(self.cookie)
        if raw:
            try:
                sid = self.signer.unsign(raw).decode("ascii")
            except (BadSignature, UnicodeDecodeError):
                sid = ""
            data = self.store.load(sid) if sid else None
            if data is not None:
                return ServerSession(sid, data)
        return ServerSession(None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        session = self._incoming(scope)
        scope["session"] = session
        before = dict(session)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie = self._persist(session, before)
                if cookie is not None:
                    MutableHeaders(scope=message).append("set-cookie", cookie)
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    def _persist(self, session: ServerSession, before: dict[str, Any]) -> str | None:
        """Save the session; the Set-Cookie value when the browser's id must change."""
        old = session.sid
        if session.ended or (old is None and not session):
            if old is not None:
                self.store.delete(old)
                return self._cookie("", max_age=0)
            return None
        if session.rotated or old is None:
            if old is not None:
                self.store.delete(old)
            session.sid = secrets.token_urlsafe(32)
            self.store.save(session.sid, dict(session))
            return self._cookie(self.signer.sign(session.sid).decode("ascii"))
        if dict(session) != before:
            self.store.save(old, dict(session))
        return None

    def _cookie(self, value: str, max_age: int | None = None) -> str:
        parts = [f"{self.cookie}={value}", "Path=/", "HttpOnly", "SameSite=Lax"]
        if max_age is not None:
            parts.append(f"Max-Age={max_age}")
        if self.https:
            parts.append("Secure")
        return "; ".join(parts)


def csrf_token(session: dict[str, Any]) -> str:
    """The session's CSRF token, made on first use."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def check_csrf(session: dict[str, Any], submitted: object) -> None:
    """403 unless ``submitted`` is this session's token (compared in constant time)."""
    expected = session.get("csrf")
    if (
        not isinstance(expected, str)
        or not isinstance(submitted, str)
        or not hmac.compare_digest(expected.encode(), submitted.encode())
    ):
        raise HTTPException(status_code=403, detail="csrf")


class SecurityHeadersMiddleware:
    """Headers every response carries; static files may be cached, nothing else."""

    def __init__(self, app: ASGIApp, *, https: bool) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "no-referrer")
                headers.setdefault("Content-Security-Policy", CSP)
                headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
                headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
                if static:
                    headers["Cache-Control"] = "public, max-age=3600"
                else:
                    headers["Cache-Control"] = "no-store"
                    headers["Pragma"] = "no-cache"
                if self.https:
                    headers.setdefault("Strict-Transport-Security", "max-age=31536000")
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimitMiddleware:
    """Refuse request bodies over ``limit`` bytes without reading them to the end."""

    def __init__(self, app: ASGIApp, *, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = HTTPConnection(scope).headers.get("content-length", "")
        if declared.strip().isdigit() and int(declared) > self.limit:
            await _too_large(send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise HTTPException(status_code=413)
            return message

        await self.app(scope, counting_receive, send)


async def _too_large(send: Send) -> None:
    body = (
        "<!doctype html><meta charset=utf-8><title>413</title>"
        "<p>上傳資料超過 25 MB 上限。</p><p>The upload exceeds the 25 MB limit.</p>"
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"text/html; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """RFC 6266: an ASCII fallback and the UTF-8 name in ``filename*``."""
    fallback = "".join(
        c if c.isascii() and c.isprintable() and c not in '"\\;' else "_" for c in filename
    )
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback or 'file'}\"; filename*=UTF-8''{quote(filename, safe='')}"


def download_response(download: contactbook.Download, *, inline: bool = False) -> Response:
    """Stream a file a use case handed back; never from a path the browser chose."""

    def chunks() -> Iterator[bytes]:
        try:
            while chunk := download.stream.read(64 * 1024):
                yield chunk
        finally:
            download.stream.close()

    return StreamingResponse(
        chunks(),
        media_type=download.content_type,
        headers={
            "Content-Disposition": content_disposition(download.filename, inline=inline),
            "Content-Length": str(download.size),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
        },
    )
