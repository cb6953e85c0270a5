"""Staff TOTP (RFC 6238), kept by the web app until the library offers it.

Each staff member enrolls once: the app makes a secret, shows it (and its
``otpauth://`` URI) and stores it only after a first correct code. A code is
accepted once (the last used time step is remembered) within ±1 step.

Run ``python -m examples.web.totp SECRET`` to print the current code of a secret
(for the demo, instead of an authenticator app).
"""

from __future__ import annotations

import json
import os
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path

import pyotp

__all__ = ["TotpStore"]

ISSUER = "便民服務後臺管理系統"


class TotpStore:
    """Per-staff TOTP secrets, in memory or in a JSON file (mode 0600)."""

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self._path = Path(path) if path is not None else None
        self._lock = threading.Lock()
        self._secrets: dict[str, str] = {}
        self._last_step: dict[str, int] = {}
        if self._path is not None and self._path.is_file():
            self._secrets = dict(json.loads(self._path.read_text("utf-8")))

    def secret_of(self, staff_id: str) -> str | None:
        return self._secrets.get(staff_id)

    def is_enrolled(self, staff_id: str) -> bool:
        return staff_id in self._secrets

    @staticmethod
    def new_secret() -> str:
        return pyotp.random_base32()

    @staticmethod
    def uri(secret: str, username: str) -> str:
        return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)

    def enroll(self, staff_id: str, secret: str, code: str) -> bool:
        """Keep ``secret`` for ``staff_id`` if ``code`` is its current code."""
        step = _matching_step(secret, code)
        if step is None:
            return False
        with self._lock:
            self._secrets[staff_id] = secret
            self._last_step[staff_id] = step
            self._save()
        return True

    def set_secret(self, staff_id: str, secret: str) -> None:
        """Enroll without a code (seeding the demo)."""
        with self._lock:
            self._secrets[staff_id] = secret
            self._save()

    def verify(self, staff_id: str, code: str) -> bool:
        """Whether ``code`` is a fresh code of the staff member's secret (never twice)."""
        with self._lock:
            secret = self._secrets.get(staff_id)
            if secret is None:
                return False
            step = _matching_step(secret, code)
            if step is None or step <= self._last_step.get(staff_id, -1):
                return False
            self._last_step[staff_id] = step
            return True

    def _save(self) -> None:
        if self._path is None:
            return
        self._path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._path.with_suffix(".tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            json.dump(self._secrets, out)
        os.replace(temporary, self._path)


def _matching_step(secret: str, code: str) -> int | None:
    """The time step ``code`` belongs to (now ±1), or None."""
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now = totp.timecode(datetime.now(UTC))
    for step in (now, now - 1, now + 1):
        if pyotp.utils.strings_equal(totp.generate_otp(step), code):
            return step
    return None


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m examples.web.totp SECRET")
    print(pyotp.TOTP(sys.argv[1]).now())
