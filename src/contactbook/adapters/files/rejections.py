"""Turning whatever a decoder raises on hostile bytes into one refusal."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from contactbook.errors import UploadRejected

__all__ = ["rejected_on_error"]


@contextmanager
def rejected_on_error(reason: str, filename: str) -> Iterator[None]:
    """Turn any parser failure on hostile bytes into ``UploadRejected(reason)``.

    Decoders raise a zoo of exceptions on malformed input (OSError, SyntaxError,
    ValueError, struct.error, zlib.error, ...); all of them mean the same thing.
    Out-of-memory is not the file's verdict, so it propagates.
    """
    try:
        yield
    except (UploadRejected, MemoryError):
        raise
    except Exception as error:
        raise UploadRejected(reason, filename) from error
