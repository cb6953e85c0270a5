"""Uploads: a 20 MB PDF and a 12 MP JPEG through ``posts.publish``, in fresh processes.

Each measurement runs in its own interpreter (``python -m benchmarks.uploads
probe …``) so that peak RSS (``resource.getrusage().ru_maxrss``) belongs to that
one operation: the probe imports and warms up everything with a small file first,
reads its current RSS, does the operation once, and reports the time and the
growth of the peak over the RSS it had just before. The kernel's peak mark
(``VmHWM``) is reset to the current RSS first (``/proc/self/clear_refs``), so an
earlier peak (imports, the warm-up) does not count. ``resource.getrusage``'s
``ru_maxrss`` cannot be reset; its growth is kept beside as an upper bound.
The library uses the production inspector
(``PillowPdfInspector``: parse and check the PDF; decode, re-encode and thumbnail
the photo) and the fsspec file store on a local folder.

Baselines. The PDF's target baseline is the least any correct implementation of
"accept an upload" must do: read every byte through Python in 1 MiB chunks, compute
the SHA-256 the library records, and write the bytes to a new file in the same
folder (``pdf_store``). ``shutil.copyfile`` (``pdf_copy``) is kept as a reported
reference only: it is a kernel ``copy_file_range``/``sendfile``, so no byte reaches
user space, nothing is hashed and nothing is checked; no upload path can be
compared with it fairly (the SHA-256 alone takes longer than the copy). On top of
the baseline the library must also validate the PDF (parse its cross-reference
data and every object for encryption and active content), so about 0.5× the
baseline is the target. The JPEG's baseline is Pillow re-encoding it by hand
(open, load, save at the same quality).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from benchmarks.timing import stats
from benchmarks.world import GrantRef

__all__ = ["make_jpeg", "make_pdf", "measure_uploads"]

PDF_BYTES = 20_000_000
"""20 MB (decimal): under the documents profile's 20 MiB total."""
JPEG_SIZE = (4000, 3000)
JPEG_QUALITY = 88  # the inspector's default re-encoding quality


def make_jpeg(path: Path) -> Path:
    """A 12 MP photo-like JPEG (gradients and grain), about 3–5 MB, made once."""
    if path.exists():
        return path
    from PIL import Image

    width, height = JPEG_SIZE
    gradient = Image.linear_gradient("L").resize((width, height))
    radial = Image.radial_gradient("L").resize((width, height))
    grain = Image.effect_noise((width, height), 24)
    red = Image.blend(gradient, grain, 0.25)
    green = Image.blend(radial, grain, 0.2)
    blue = Image.blend(gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT), radial, 0.5)
    photo = Image.merge("RGB", (red, green, blue))
    path.parent.mkdir(parents=True, exist_ok=True)
    photo.save(path, "JPEG", quality=92)
    return path


def _noise_jpeg(rng: random.Random, size: tuple[int, int]) -> bytes:
    from PIL import Image

    channels = [Image.effect_noise(size, 40 + rng.randrange(40)) for _ in range(3)]
    out = io.BytesIO()
    Image.merge("RGB", channels).save(out, "JPEG", quality=95)
    return out.getvalue()


def make_pdf(path: Path, total: int = PDF_BYTES) -> Path:
    """A passive PDF of scanned-looking pages (JPEG images) of exactly ``total`` bytes."""
    if path.exists() and path.stat().st_size == total:
        return path
    rng = random.Random(8)
    images = [_noise_jpeg(rng, (1240, 1754)) for _ in range(3)]
    objects: list[bytes] = [b"", b""]  # 1: catalog, 2: page tree (filled in at the end)
    pages: list[int] = []
    size = 2_000  # header, catalog, tree, xref and trailer, roughly

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    index = 0
    while True:
        image = images[index % len(images)]
        index += 1
        if size + len(image) + 1_000 > total - 50_000:
            break
        image_number = add(
            b"<< /Type /XObject /Subtype /Image /Width 1240 /Height 1754 /ColorSpace "
            b"/DeviceRGB /BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n%s\n"
            b"endstream" % (len(image), image)
        )
        content = b"q 595 0 0 842 0 0 cm /Im0 Do Q"
        content_number = add(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content))
        pages.append(
            add(
                b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /XObject "
                b"<< /Im0 %d 0 R >> >> /Contents %d 0 R >>" % (image_number, content_number)
            )
        )
        size += len(image) + 400
    objects[0] = b"<< /Type /Catalog /Pages 2 0 R >>"
    kids = b" ".join(b"%d 0 R" % number for number in pages)
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(pages))

    def render(padding: int) -> bytes:
        # A trailing comment stream pads to the exact size (a page's extra content).
        filler = b"%" + b" " * max(0, padding - 1)
        bodies = [*objects, b"<< /Length %d >>\nstream\n%s\nendstream" % (len(filler), filler)]
        out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        offsets = []
        for number, body in enumerate(bodies, start=1):
            offsets.append(len(out))
            out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(bodies) + 1)
        out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
        out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
            len(bodies) + 1,
            xref,
        )
        return bytes(out)

    draft = render(1)
    padding = total - len(draft) + 1
    data = render(padding)
    while len(data) != total:  # the /Length digits may change the size by a byte or two
        padding += total - len(data)
        data = render(padding)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# --- the probe (runs in a child process) ------------------------------------------------


def _rss_now_kb() -> int:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


def _peak_kb() -> int:
    """The peak RSS: ``VmHWM`` (which ``clear_refs`` resets), else ``ru_maxrss``."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _reset_peak() -> bool:
    """Reset the kernel's peak-RSS mark to the current RSS (Linux ``clear_refs`` 5), so the
    peak read after the operation is the operation's own; False where that is impossible."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def _probe(args: dict[str, Any]) -> dict[str, Any]:
    case = args["case"]
    source = Path(args["input"])
    out_dir = Path(args["files"])
    if case in ("pdf_library", "jpeg_library"):
        import contactbook
        from benchmarks.world import NOW
        from contactbook.testing import FastPasswordHasher, MovableClock, sample_jpeg, sample_pdf

        book = contactbook.open(
            database=args["database"],
            files=str(out_dir),
            mail="memory://",
            clock=MovableClock(NOW),
            hasher=FastPasswordHasher(),
        )
        warm_account, warm_inmate = args["warmup"]
        account, inmate = args["grant"]
        small = sample_pdf() if case == "pdf_library" else sample_jpeg()
        name = "scan.pdf" if case == "pdf_library" else "photo.jpg"

        def publish(account_id: str, inmate_id: str, stream: Any) -> None:
            draft = contactbook.PostDraft(
                inmate_id=inmate_id,
                title="附件",
                body="請查收附件。",
                attachments=[contactbook.Upload(name, stream)],
            )
            view = book.posts.publish(contactbook.FamilyPrincipal(account_id), draft)
            assert view.attachments, "the attachment was not stored"

        publish(warm_account, warm_inmate, io.BytesIO(small))
        reset = _reset_peak()
        before = _rss_now_kb()
        with source.open("rb") as stream:
            began, began_cpu = time.perf_counter(), time.process_time()
            publish(account, inmate, stream)
            elapsed = time.perf_counter() - began
            cpu = time.process_time() - began_cpu
        book.close()
    elif case == "pdf_store":
        buffer = bytearray(1024 * 1024)

        def store(source: Path, target: Path) -> str:
            digest = hashlib.sha256()
            view = memoryview(buffer)
            with source.open("rb", buffering=0) as stream, target.open("wb") as out:
                while count := stream.readinto(view):
                    digest.update(view[:count])
                    out.write(view[:count])
            return digest.hexdigest()

        warm = out_dir / "warm.bin"
        warm.write_bytes(b"x")
        store(warm, out_dir / "warm-store.bin")
        target = out_dir / f"store-{os.getpid()}.pdf"
        reset = _reset_peak()
        before = _rss_now_kb()
        began, began_cpu = time.perf_counter(), time.process_time()
        store(source, target)
        elapsed = time.perf_counter() - began
        cpu = time.process_time() - began_cpu
    elif case == "pdf_copy":
        warm = out_dir / "warm.bin"
        warm.write_bytes(b"x")
        shutil.copyfile(warm, out_dir / "warm-copy.bin")
        target = out_dir / f"copy-{os.getpid()}.pdf"
        reset = _reset_peak()
        before = _rss_now_kb()
        began, began_cpu = time.perf_counter(), time.process_time()
        shutil.copyfile(source, target)
        elapsed = time.perf_counter() - began
        cpu = time.process_time() - began_cpu
    elif case == "jpeg_pillow":
        from PIL import Image

        from contactbook.testing import sample_jpeg

        def reencode(data: Any) -> bytes:
            image = Image.open(data, formats=["JPEG"])
            image.load()
            out = io.BytesIO()
            image.save(out, "JPEG", quality=JPEG_QUALITY)
            return out.getvalue()

        reencode(io.BytesIO(sample_jpeg()))
        reset = _reset_peak()
        before = _rss_now_kb()
        with source.open("rb") as stream:
            began, began_cpu = time.perf_counter(), time.process_time()
            reencode(stream)
            elapsed = time.perf_counter() - began
            cpu = time.process_time() - began_cpu
    else:
        raise SystemExit(f"unknown probe case {case}")
    growth_kb = max(0, _peak_kb() - before)
    maxrss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "seconds": elapsed,
        "cpu_seconds": cpu,
        "rss_before_kb": before,
        "peak_growth_kb": growth_kb,
        "peak_reset": reset,
        # getrusage's peak cannot be reset: an upper bound polluted by import-time peaks
        "ru_maxrss_growth_kb": max(0, maxrss_kb - before),
    }


def _run_probe(args: dict[str, Any]) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.uploads", "probe", json.dumps(args)],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"probe {args['case']} failed:\n{completed.stderr}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def measure_uploads(
    database: str,
    files: Path,
    assets: Path,
    documents_grants: Iterator[GrantRef],
    photo_grants: Iterator[GrantRef],
    *,
    repeat: int,
) -> list[dict[str, Any]]:
    pdf = make_pdf(assets / "scan-20MB.pdf")
    jpeg = make_jpeg(assets / "photo-12MP.jpg")
    runs: dict[str, list[dict[str, Any]]] = {
        "pdf_library": [],
        "pdf_store": [],
        "pdf_copy": [],
        "jpeg_library": [],
        "jpeg_pillow": [],
    }
    for _ in range(repeat):
        for case in runs:
            args: dict[str, Any] = {"case": case, "files": str(files), "database": database}
            args["input"] = str(pdf if case.startswith("pdf") else jpeg)
            if case.endswith("library"):
                grants = documents_grants if case.startswith("pdf") else photo_grants
                warm, real = next(grants), next(grants)
                args["warmup"] = (warm.account_id, warm.inmate_id)
                args["grant"] = (real.account_id, real.inmate_id)
            runs[case].append(_run_probe(args))
    # The copies stay until every probe ran, as the library's stored files do: on a
    # VM, writing into page cache that an unlinked file just freed is several times
    # cheaper than into fresh pages, which would favour the baselines.
    for leftover in [*files.glob("store-*.pdf"), *files.glob("copy-*.pdf")]:
        leftover.unlink()
    results = []
    pdf_mb = pdf.stat().st_size / 1e6
    jpeg_mb = jpeg.stat().st_size / 1e6
    for name, library_case, raw_case, megabytes, description, baseline in (
        (
            "pdf_20mb",
            "pdf_library",
            "pdf_store",
            pdf_mb,
            "posts.publish of a 20 MB PDF vs read + SHA-256 + write",
            "read + SHA-256 + write in 1 MiB chunks (shutil.copyfile in 'copy')",
        ),
        (
            "jpeg_12mp",
            "jpeg_library",
            "jpeg_pillow",
            jpeg_mb,
            "posts.publish of a 12 MP JPEG",
            "Pillow re-encode",
        ),
    ):
        library = stats([run["seconds"] for run in runs[library_case]])
        raw = stats([run["seconds"] for run in runs[raw_case]])
        library_cpu = stats([run["cpu_seconds"] for run in runs[library_case]])
        raw_cpu = stats([run["cpu_seconds"] for run in runs[raw_case]])
        growth = max(run["peak_growth_kb"] for run in runs[library_case]) / 1024
        raw_growth = max(run["peak_growth_kb"] for run in runs[raw_case]) / 1024
        result: dict[str, Any] = {
            "name": name,
            "group": "uploads",
            "description": description,
            "library": library.as_dict(),
            "raw": raw.as_dict(),
            "library_mb_per_second": megabytes / library.p50,
            "raw_mb_per_second": megabytes / raw.p50,
            "ratio_throughput": raw.p50 / library.p50,
            # CPU time of the probe process: on 2 shared cores, wall time swings
            # with the neighbours' load; this shows the work itself.
            "library_cpu": library_cpu.as_dict(),
            "raw_cpu": raw_cpu.as_dict(),
            "ratio_cpu_throughput": raw_cpu.p50 / max(library_cpu.p50, 1e-9),
            "peak_rss_growth_mb": growth,
            "raw_peak_rss_growth_mb": raw_growth,
            "details": {"file_mb": round(megabytes, 3), "baseline": baseline, "probes": repeat},
        }
        if name == "pdf_20mb":  # the kernel copy, for reference (not the target's baseline)
            copy = stats([run["seconds"] for run in runs["pdf_copy"]])
            result["copy"] = copy.as_dict()
            result["copy_mb_per_second"] = megabytes / copy.p50
            result["ratio_throughput_vs_copy"] = copy.p50 / library.p50
        results.append(result)
    return results


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "probe":
        raise SystemExit("usage: python -m benchmarks.uploads probe '<json arguments>'")
    print(json.dumps(_probe(json.loads(sys.argv[2]))))
