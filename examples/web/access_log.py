"""Keep one-time tokens out of the server's access log.

Mailed links carry their token in the query string (``/verify?token=…``,
``/reset-password?token=…``, ``/staff/reset-password?staff=…&token=…``): a mail
can hold nothing else. The pages move it out of the address at once, but the
server has logged the request line by then. This filter, on uvicorn's access
logger, writes such values as ``[redacted]`` before any handler sees them.
"""

from __future__ import annotations

import logging
import re

__all__ = ["ACCESS_LOGGER", "RedactTokens", "redact", "redact_access_log"]

ACCESS_LOGGER = "uvicorn.access"
_SECRET_PARAMETER = re.compile(r"(?i)([?&]token=)[^&#\s]*")
_ENCODED_SECRET_PARAMETER = re.compile(r"(?i)((?:%3F|%26)token%3D)(?:(?!%26)[^&#\s])*")
"""The same inside another parameter's value (a ``next=`` that names a page with a token)."""


def redact(path: str) -> str:
    """``path`` with the value of every ``token=`` parameter replaced, also where it is
    percent-encoded inside another parameter."""
    path = _SECRET_PARAMETER.sub(r"\1[redacted]", path)
    return _ENCODED_SECRET_PARAMETER.sub(r"\1[redacted]", path)


class RedactTokens(logging.Filter):
    """Redacts the request path of uvicorn's access records (their 3rd argument)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def redact_access_log() -> None:
    """Install the filter on uvicorn's access logger (once)."""
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, RedactTokens) for f in logger.filters):
        logger.addFilter(RedactTokens())
