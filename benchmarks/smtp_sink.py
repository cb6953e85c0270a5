"""A loopback SMTP server that accepts and discards mail: ``python -m benchmarks.smtp_sink``.

It runs in its own process, so the server's work does not share the benchmark's
interpreter lock; it prints ``ready <port>`` once it listens on 127.0.0.1 and
serves until its standard input closes (or it is terminated). The port is
the first argument (aiosmtpd's controller needs a fixed one).
"""

from __future__ import annotations

import sys
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

HOST = "127.0.0.1"


class Discard:
    """Accept every mail, keep nothing but a count."""

    def __init__(self) -> None:
        self.accepted = 0

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.accepted += 1
        return "250 2.0.0 Message accepted for delivery"


def main(argv: list[str]) -> int:
    port = int(argv[0])
    handler = Discard()
    options: dict[str, Any] = {"hostname": HOST, "port": port}
    controller = Controller(handler, server_hostname="bench-sink", **options)
    controller.start()
    try:
        print(f"ready {controller.port}", flush=True)
        sys.stdin.read()  # until the parent closes our standard input
    finally:
        controller.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
