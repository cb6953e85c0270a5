"""``python -m examples.web.totp KEY``: the current TOTP code of a key.

For the demo, instead of an authenticator app: the back office's first sign-in
shows the key (the library's ``staff.enroll_totp``); every later sign-in asks for
the code this prints (or a recovery code).
"""

from __future__ import annotations

import sys

import pyotp

__all__ = ["current_code"]


def current_code(key: str) -> str:
    return pyotp.TOTP(key.replace(" ", "").upper()).now()


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m examples.web.totp KEY")
    print(current_code(sys.argv[1]))
