"""File stores: where uploaded bytes live, chosen by an fsspec URL."""

from contactbook.adapters.files.fsspec import FsspecFileStore

__all__ = ["FsspecFileStore"]
