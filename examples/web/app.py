"""The web example: 便民服務入口網 (families) and 便民服務後臺管理系統 (staff).

Starlette + Jinja2, rendered on the server, zh-TW first with an English switch.
It calls only the public API of ``contactbook``; everything here is what a web
front end adds: sessions, CSRF, headers, upload caps, pages.

Run ``python -m examples.web`` from the repository root (``make demo``).
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

import contactbook
from contactbook.errors import ContactBookError

from . import (
    backoffice,
    backoffice_notices,
    backoffice_staff,
    portal_accounts,
    portal_contactbook,
    portal_services,
)
from .access_log import redact_access_log
from .common import (
    FamilyRequired,
    StaffRequired,
    contactbook_error,
    csrf_first,
    family_required,
    http_error,
    server_error,
    staff_required,
)
from .security import (
    MAX_BODY_BYTES,
    BodyLimitMiddleware,
    MemorySessionStore,
    SecurityHeadersMiddleware,
    SessionMiddleware,
)

__all__ = ["create_app", "main", "open_demo"]

HERE = Path(__file__).parent


def create_app(
    book: contactbook.ContactBook,
    *,
    secret_key: str,
    https: bool = False,
    session_store: MemorySessionStore | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> Starlette:
    """The ASGI app over ``book``. ``https`` marks cookies Secure and sends HSTS."""
    if len(secret_key) < 16:
        raise ValueError("secret_key must be at least 16 characters")
    app = Starlette(
        debug=False,
        routes=[
            *csrf_first(
                [
                    *portal_accounts.routes,
                    *portal_services.routes,
                    *portal_contactbook.routes,
                    *backoffice.routes,
                    *backoffice_notices.routes,
                    *backoffice_staff.routes,
                ]
            ),
            Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
        ],
        middleware=[
            Middleware(SecurityHeadersMiddleware, https=https),
            Middleware(BodyLimitMiddleware, limit=max_body_bytes),
            Middleware(
                SessionMiddleware,
                store=session_store or MemorySessionStore(),
                secret_key=secret_key,
                https=https,
            ),
        ],
        exception_handlers={
            HTTPException: http_error,
            ContactBookError: contactbook_error,
            FamilyRequired: family_required,
            StaffRequired: staff_required,
            Exception: server_error,
        },
    )
    app.state.book = book
    return app


def _dispatch_loop(book: contactbook.ContactBook, stop: threading.Event) -> None:
    """The outbox worker, for the demo (deployments run ``contactbook dispatch``)."""
    while not stop.wait(2.0):
        try:
            book.messages.dispatch()
        except Exception as exc:  # keep the demo serving; the next round retries
            print(f"dispatch failed: {type(exc).__name__}")


def open_demo(
    base_url: str, mail_url: str, *, require_staff_totp: bool
) -> tuple[contactbook.ContactBook, list[str]]:
    """The web's book (URLs from the environment) and the demo logins to print.

    The fictional data is seeded through a book without ``require_staff_totp``, as an
    embedding system's own set-up job would: the demo staff have not enrolled an
    authenticator yet, and do so at their first sign-in on the web.
    """
    from .seed import seed_demo

    setup = contactbook.open_from_env(
        migrate=True, settings=contactbook.Settings(base_url=base_url)
    )
    try:
        logins = seed_demo(setup, mail_url)
    finally:
        setup.close()
    settings = contactbook.Settings(
        base_url=base_url, require_staff_totp=require_staff_totp, totp_issuer="便民服務後臺管理系統"
    )
    return contactbook.open_from_env(settings=settings), logins


def main() -> None:
    """Open the book from the environment, seed the demo once, serve on 127.0.0.1:8000."""
    import secrets

    import uvicorn

    database = os.environ.get("CONTACTBOOK_DATABASE_URL", "sqlite:///var/contactbook.db")
    mail = os.environ.get("CONTACTBOOK_MAIL_URL", "folder:var/outbox")
    host = os.environ.get("CONTACTBOOK_WEB_HOST", "127.0.0.1")
    port = int(os.environ.get("CONTACTBOOK_WEB_PORT", "8000"))
    require_totp = os.environ.get("CONTACTBOOK_WEB_REQUIRE_TOTP", "1") != "0"
    book, logins = open_demo(f"http://{host}:{port}", mail, require_staff_totp=require_totp)
    secret_key = os.environ.get("CONTACTBOOK_WEB_SECRET_KEY") or secrets.token_urlsafe(32)
    app = create_app(book, secret_key=secret_key)

    print("contactbook web demo — 便民服務入口網 / 便民服務後臺管理系統")
    print(f"  portal:      http://{host}:{port}/")
    print(f"  back office: http://{host}:{port}/admin")
    print(f"  database:    {database}")
    print(f"  outbox:      {mail.removeprefix('folder:')}")
    print("               (verification and reset links land here as .eml files)")
    for line in logins:
        print(f"  {line}")
    if require_totp:
        print("  staff TOTP:  the first sign-in shows a key to add to an authenticator app;")
        print("               python -m examples.web.totp KEY prints its current code")
        print("               (CONTACTBOOK_WEB_REQUIRE_TOTP=0 turns the second step off)")

    stop = threading.Event()
    worker = threading.Thread(target=_dispatch_loop, args=(book, stop), daemon=True)
    worker.start()
    try:
        redact_access_log()
        uvicorn.run(app, host=host, port=port, log_level="info", server_header=False)
    finally:
        stop.set()
        worker.join(timeout=5)
        book.close()


if __name__ == "__main__":
    main()
