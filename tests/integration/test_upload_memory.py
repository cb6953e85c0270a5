"""Peak memory of a large upload: storing a 20 MB PDF through ``book.posts.publish``
raises the process's peak RSS by at most 64 MB.

Measured in a fresh subprocess with ``resource.getrusage(RUSAGE_SELF).ru_maxrss``
(the kernel's high-water mark, not a timer or a sampler): after a warm-up publish
of a small file (so imports, caches and the database are warm), the peak is read,
the 20 MB PDF is published from a file on disk (as a web server hands over a
spooled upload), and the peak is read again. The wiring is the embedded default:
SQLite and a local folder (a ``memory://`` store would itself hold the 20 MB).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

MB = 1024 * 1024
PDF_SIZE = 20 * MB  # exactly the DOCUMENTS_PROFILE total: the largest accepted upload
PEAK_GROWTH_LIMIT = 64 * MB
ROOT = Path(__file__).resolve().parents[2]

_PAGE_OBJECTS = (
    b"<< /Type /Catalog /Pages 2 0 R >>",
    b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
    b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 100]"
    b" /Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
    b"<< /Length 49 >>\nstream\nBT /F1 12 Tf 10 40 Td (contactbook corpus) Tj ET\nendstream",
    b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
)


STREAM_END = b"\nendstream\nendobj\n"


def write_padded_pdf(path: Path, size: int) -> None:
    """A valid one-page PDF of exactly ``size`` bytes: object 6 is a stream of padding
    (written in chunks, never held whole), with a correct cross-reference table."""
    prefix = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, obj in enumerate(_PAGE_OBJECTS, start=1):
        offsets.append(len(prefix))
        prefix += b"%d 0 obj\n%s\nendobj\n" % (number, obj)

    def layout(length: int) -> tuple[bytes, bytes]:
        """The padding stream's header and the file's tail, for a padding of ``length``."""
        head = b"6 0 obj\n<< /Length %d >>\nstream\n" % length
        xref_at = len(prefix) + len(head) + length + len(STREAM_END)
        rows = b"".join(b"%010d 00000 n \n" % offset for offset in [*offsets, len(prefix)])
        tail = b"xref\n0 7\n0000000000 65535 f \n" + rows
        tail += b"trailer\n<< /Size 7 /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % xref_at
        return head, tail

    length = size - len(prefix)
    for _ in range(5):  # the digits of /Length and startxref settle at once
        head, tail = layout(length)
        total = len(prefix) + len(head) + length + len(STREAM_END) + len(tail)
        if total == size:
            break
        length -= total - size
    else:  # pragma: no cover
        raise AssertionError("no padding length gives that size")
    line = b"% padding " + b"." * 53 + b"\n"
    chunk = line * (MB // len(line))
    with path.open("wb") as out:
        out.write(prefix + head)
        remaining = length
        while remaining > 0:
            out.write(chunk[: min(remaining, len(chunk))])
            remaining -= min(remaining, len(chunk))
        out.write(STREAM_END + tail)
    assert path.stat().st_size == size


def _current_rss() -> int | None:
    """Resident set size now, in bytes (Linux), else None."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


def _peak_rss() -> int:
    """The process's peak RSS in bytes (Linux reports kilobytes, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def measure(pdf_path: str, folder: str) -> dict[str, int | None]:
    """Run in the subprocess: publish ``pdf_path`` and report the peak RSS growth."""
    import contactbook
    from contactbook.testing import MovableClock
    from tests.integration.test_uploads_public import build_scene, corpus, open_book

    clock = MovableClock(datetime(2020, 10, 7, 3, 0, tzinfo=UTC))
    book = open_book("sqlite", Path(folder), clock)
    scene = build_scene(book, clock)
    scene.post(contactbook.Upload.from_bytes("warm-up.pdf", corpus("valid.pdf")))
    scene.clock.advance(days=31)
    peak_before, rss_before = _peak_rss(), _current_rss()
    with open(pdf_path, "rb") as stream:
        view = scene.post(contactbook.Upload("判決書.pdf", stream, "application/pdf"))
    peak_after = _peak_rss()
    [attachment] = view.attachments
    book.close()
    return {
        "peak_before": peak_before,
        "rss_before": rss_before,
        "peak_after": peak_after,
        "stored_size": attachment.size,
    }


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="resource.getrusage is POSIX only")
def test_storing_a_20_mb_pdf_raises_peak_rss_by_at_most_64_mb(tmp_path: Path) -> None:
    pdf = tmp_path / "large.pdf"
    write_padded_pdf(pdf, PDF_SIZE)
    script = (
        "import json, sys\n"
        "from tests.integration.test_upload_memory import measure\n"
        "print(json.dumps(measure(sys.argv[1], sys.argv[2])))\n"
    )
    # Linux carries a process's peak RSS across fork and exec: a child started from
    # this (large) pytest process would report pytest's peak as its own. A small
    # launcher in between gives the measuring process a clean high-water mark.
    launcher = (
        "import subprocess, sys\n"
        "sys.exit(subprocess.run([sys.executable, '-c', *sys.argv[1:]]).returncode)\n"
    )
    folder = tmp_path / "book"
    folder.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", launcher, script, str(pdf), str(folder)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), *sys.path])},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["stored_size"] == PDF_SIZE
    growth = result["peak_after"] - result["peak_before"]
    print(f"peak RSS growth storing a 20 MB PDF: {growth / MB:.1f} MB ({result})")
    if result["rss_before"] is not None:
        # The baseline is the process's own: no inherited or earlier spike above the
        # memory in use right before the call could hide growth under it.
        assert result["peak_before"] - result["rss_before"] < 16 * MB, result
    assert growth <= PEAK_GROWTH_LIMIT, f"peak RSS grew by {growth / MB:.1f} MB"
