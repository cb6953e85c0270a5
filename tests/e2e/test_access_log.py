"""The web example's server log keeps no one-time token from a mailed link."""

from __future__ import annotations

import logging
import threading
import time
import urllib.request
from typing import Any

import pytest

from .conftest import web_modules

web_modules()

import uvicorn  # noqa: E402
from examples.web.access_log import ACCESS_LOGGER, RedactTokens, redact, redact_access_log  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.responses import PlainTextResponse  # noqa: E402
from starlette.routing import Route  # noqa: E402
from uvicorn.logging import AccessFormatter  # noqa: E402

from .conftest import _free_port  # noqa: E402

SECRET = "Zx9-fictional-one-time-token_Q"


@pytest.mark.parametrize(
    ("path", "logged"),
    [
        (f"/verify?token={SECRET}", "/verify?token=[redacted]"),
        (f"/reset-password?token={SECRET}", "/reset-password?token=[redacted]"),
        (
            f"/staff/reset-password?staff=st-1&token={SECRET}&lang=en",
            "/staff/reset-password?staff=st-1&token=[redacted]&lang=en",
        ),
        (
            f"/lang/en?next=%2Freset-password%3Ftoken%3D{SECRET}%26x%3D1",
            "/lang/en?next=%2Freset-password%3Ftoken%3D[redacted]%26x%3D1",
        ),
        ("/notices?month=2020-10", "/notices?month=2020-10"),  # nothing secret: kept
        ("/tokens?notoken=1", "/tokens?notoken=1"),
    ],
)
def test_redact_replaces_only_token_values(path: str, logged: str) -> None:
    assert redact(path) == logged


def _formatted(record: logging.LogRecord) -> str:
    return AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s').format(record)


def test_the_filter_redacts_an_access_record_before_it_is_formatted() -> None:
    record = logging.LogRecord(
        ACCESS_LOGGER,
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:50000", "GET", f"/verify?token={SECRET}", "1.1", 303),
        None,
    )
    assert RedactTokens().filter(record)
    line = _formatted(record)
    assert SECRET not in line
    assert '"GET /verify?token=[redacted] HTTP/1.1" 303' in line


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(_formatted(record))


def test_a_served_link_leaves_no_token_in_the_access_log() -> None:
    """A real uvicorn with its default logging, as ``make demo`` runs it."""

    async def verify(_request: Any) -> PlainTextResponse:
        return PlainTextResponse("ok")

    port = _free_port()
    app = Starlette(routes=[Route("/verify", verify)])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="info"))
    redact_access_log()  # after the Config applied uvicorn's logging setup
    lines = _Lines()
    access = logging.getLogger(ACCESS_LOGGER)
    access.addHandler(lines)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.02)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/verify?token={SECRET}") as reply:
            assert reply.read() == b"ok"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        access.removeHandler(lines)
    assert any("GET /verify?token=[redacted] HTTP/1.1" in line for line in lines.lines), lines.lines
    assert not any(SECRET in line for line in lines.lines)
