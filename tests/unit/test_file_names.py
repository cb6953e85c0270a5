"""Stored and served names carry the extension of the sniffed content, not the uploader's."""

from __future__ import annotations

import io
from types import SimpleNamespace
from typing import Any, cast

import pytest

from contactbook.domain.files import StoredFile, name_for_content
from contactbook.usecases._support.context import Context
from contactbook.usecases.uploads import open_download

PDF, PNG, JPEG = "application/pdf", "image/png", "image/jpeg"


@pytest.mark.parametrize(
    ("name", "content_type", "expected"),
    [
        ("身分證.html", PDF, "身分證.pdf"),
        ("身分證.pdf", PDF, "身分證.pdf"),
        ("SCAN.PDF", PDF, "SCAN.PDF"),  # a matching extension is kept as written
        ("判決書.pdf.exe", PDF, "判決書.pdf.pdf"),
        ("photo.jpeg", JPEG, "photo.jpeg"),
        ("photo.JPG", JPEG, "photo.JPG"),
        ("photo.jpeg", PNG, "photo.png"),
        ("drawing.svg", PNG, "drawing.png"),
        ("全家福.jpg", PDF, "全家福.pdf"),
        ("no extension", PDF, "no extension.pdf"),
        ("v1.2 final", PDF, "v1.2 final.pdf"),  # ".2 final" is no extension
        ("archive.tar.gz", PNG, "archive.tar.png"),
        ("trailing dots.pdf. . ", PDF, "trailing dots.pdf"),
        (".html", PDF, "file.pdf"),
        ("", JPEG, "file.jpg"),
    ],
)
def test_the_extension_follows_the_content(name: str, content_type: str, expected: str) -> None:
    assert name_for_content(name, content_type) == expected


def test_a_type_without_a_known_extension_leaves_the_name_alone() -> None:
    assert name_for_content("notes.txt", "text/plain") == "notes.txt"


class _Files:
    def open(self, key: str) -> io.BytesIO:
        return io.BytesIO(b"%PDF-1.4 stored")


def test_a_file_stored_with_a_lying_name_is_served_with_the_right_extension() -> None:
    """Rows written before names followed the content are corrected on the way out."""
    stored = StoredFile(
        id="file-1",
        storage_key="posts/abc",
        display_name="身分證.html",
        content_type=PDF,
        size=15,
        sha256="0" * 64,
    )
    ctx = cast(Context, cast(Any, SimpleNamespace(files=_Files())))
    download = open_download(ctx, [stored], "file-1")
    assert (download.filename, download.content_type) == ("身分證.pdf", PDF)
