"""Targets, the printed table and ``benchmarks/results/<backend>.json``."""

from __future__ import annotations

import json
import os
import platform
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

__all__ = ["Check", "check_targets", "machine", "print_table", "write_json"]

LIST_LIMITS = {"sqlite": 2.0, "postgresql": 1.5}
DEEP_LIMIT = 1.2
GROWTH_LIMIT = 1.3
WRITE_LIMIT = 0.5
DISPATCH_LIMIT = 0.7
UPLOAD_LIMIT = 0.5
RSS_LIMIT_MB = 64.0


@dataclass(frozen=True)
class Check:
    target: str
    measure: str
    value: float
    op: str
    limit: float

    @property
    def passed(self) -> bool:
        return self.value <= self.limit if self.op == "<=" else self.value >= self.limit

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "value": round(self.value, 4), "passed": self.passed}


def check_targets(
    backend: str, results: list[dict[str, Any]], growth: list[dict[str, Any]]
) -> list[Check]:
    by_name = {result["name"]: result for result in results}
    checks: list[Check] = []
    list_limit = LIST_LIMITS.get(backend, 2.0)
    for result in results:
        if result["group"] == "lists":
            checks.append(
                Check(
                    f"lists ≤ {list_limit}× raw",
                    f"{result['name']}: library p50 / raw p50",
                    result["ratio_p50"],
                    "<=",
                    list_limit,
                )
            )
    for prefix in ("queue_facility", "queue_agency"):
        first, deep = by_name.get(f"{prefix}_p1"), by_name.get(f"{prefix}_deep")
        if first and deep:
            page = deep["details"]["page"]
            checks.append(
                Check(
                    f"deep page ≤ {DEEP_LIMIT}× page 1",
                    f"{prefix}: library p50 page {page} / page 1",
                    deep["library"]["p50"] / first["library"]["p50"],
                    "<=",
                    DEEP_LIMIT,
                )
            )
    if len(growth) >= 2:
        first_stage, last_stage = growth[0], growth[-1]
        sizes = f"{last_stage['posts']:,} / {first_stage['posts']:,}"
        checks.append(
            Check(
                f"largest ≤ {GROWTH_LIMIT}× smallest",
                f"queue page library p50 at {sizes} posts",
                last_stage["library"]["p50"] / first_stage["library"]["p50"],
                "<=",
                GROWTH_LIMIT,
            )
        )
    for name, limit in (("publish", WRITE_LIMIT), ("approve", WRITE_LIMIT)):
        if name in by_name:
            checks.append(
                Check(
                    f"{name} ≥ {limit}× raw",
                    f"{name}: library / raw calls per second (medians)",
                    by_name[name]["ratio_throughput"],
                    ">=",
                    limit,
                )
            )
    if "dispatch" in by_name:
        checks.append(
            Check(
                f"dispatch ≥ {DISPATCH_LIMIT}× raw outbox",
                "dispatch: library / raw outbox (lease, smtplib, mark sent) mails per second",
                by_name["dispatch"]["ratio_throughput"],
                ">=",
                DISPATCH_LIMIT,
            )
        )
    if "pdf_20mb" in by_name:
        pdf = by_name["pdf_20mb"]
        checks.append(
            Check(
                f"20 MB PDF ≥ {UPLOAD_LIMIT}× raw read + SHA-256 + write",
                "pdf_20mb: library / raw MB per second",
                pdf["ratio_throughput"],
                ">=",
                UPLOAD_LIMIT,
            )
        )
        checks.append(
            Check(
                f"PDF peak RSS growth ≤ {RSS_LIMIT_MB:.0f} MB",
                "pdf_20mb: peak RSS growth of the publishing process (MB)",
                pdf["peak_rss_growth_mb"],
                "<=",
                RSS_LIMIT_MB,
            )
        )
    return checks


def machine(database_version: str, backend: str) -> dict[str, Any]:
    import sqlalchemy

    import contactbook

    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "source": _source(),
        "platform": platform.platform(),
        "cpu": model or platform.processor(),
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
        "backend": backend,
        "database_version": database_version,
        "sqlalchemy": sqlalchemy.__version__,
        "contactbook": contactbook.__version__,
        "load_average_at_start": [round(value, 2) for value in load],
    }


def _source() -> dict[str, Any]:
    """The commit measured, and whether the library's sources had uncommitted changes."""
    import subprocess

    def git(*command: str) -> str:
        try:
            done = subprocess.run(
                ["git", *command], capture_output=True, text=True, check=False, timeout=10
            )
        except OSError:
            return ""
        return done.stdout.strip()

    changed = [line for line in git("status", "--porcelain", "src").splitlines() if line]
    return {
        "commit": git("rev-parse", "HEAD"),
        "uncommitted_src_files": len(changed),
        "described_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "library_path": str(Path(contactbook_file()).parent),
    }


def contactbook_file() -> str:
    """Where the measured ``contactbook`` was imported from (a patched copy shows here)."""
    import contactbook

    return str(contactbook.__file__)


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f}"


def rows_for_table(
    results: list[dict[str, Any]], growth: list[dict[str, Any]]
) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for result in results:
        library, raw = result["library"], result["raw"]
        if result["group"] == "lists":
            ratio = f"{result['ratio_p50']:.2f}× time"
            if "ratio_cpu_p50" in result:
                ratio += f" (CPU {result['ratio_cpu_p50']:.2f}×)"
        elif result["group"] == "uploads":
            ratio = f"{result['ratio_throughput']:.2f}× throughput"
            if "ratio_cpu_throughput" in result:
                ratio += f" (CPU {result['ratio_cpu_throughput']:.2f}×)"
            if result["name"] == "pdf_20mb":
                ratio += f", RSS +{result['peak_rss_growth_mb']:.0f} MB"
                if "ratio_throughput_vs_copy" in result:
                    ratio += f"; {result['ratio_throughput_vs_copy']:.2f}× a kernel copy"
            else:
                ratio += f", RSS +{result['peak_rss_growth_mb']:.0f} MB (raw +"
                ratio += f"{result['raw_peak_rss_growth_mb']:.0f})"
        else:
            ratio = f"{result['ratio_throughput']:.2f}× throughput"
            if "ratio_cpu_throughput" in result:
                ratio += f" (CPU {result['ratio_cpu_throughput']:.2f}×)"
        rows.append(
            (
                result["name"],
                f"{_ms(library['p50'])} / {_ms(library['p95'])}",
                f"{_ms(raw['p50'])} / {_ms(raw['p95'])}",
                ratio,
            )
        )
    for stage in growth:
        rows.append(
            (
                f"growth: queue at {stage['posts']:,} posts",
                f"{_ms(stage['library']['p50'])} / {_ms(stage['library']['p95'])}",
                f"{_ms(stage['raw']['p50'])} / {_ms(stage['raw']['p95'])}",
                f"{stage['library']['p50'] / stage['raw']['p50']:.2f}× time",
            )
        )
    return rows


HEADERS = ("measure", "library p50 / p95 ms", "raw p50 / p95 ms", "library vs raw")


def print_table(
    title: str, results: list[dict[str, Any]], growth: list[dict[str, Any]], checks: list[Check]
) -> None:
    rows = rows_for_table(results, growth)
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:  # plain text
        print(title)
        print(" | ".join(HEADERS))
        for row in rows:
            print(" | ".join(row))
        for check in checks:
            print(f"{'PASS' if check.passed else 'MISS'} {check.measure}: {check.value:.2f}")
        return
    table = Table(title=title)
    for header in HEADERS:
        table.add_column(header, justify="left" if header == "measure" else "right")
    for row in rows:
        table.add_row(*row)
    console = Console(width=120)
    console.print(table)
    targets = Table(title="targets")
    for header in ("target", "measure", "value", "result"):
        targets.add_column(header)
    for check in checks:
        targets.add_row(
            check.target,
            check.measure,
            f"{check.value:.2f}",
            "[green]pass[/green]" if check.passed else "[red]MISS[/red]",
        )
    console.print(targets)


def markdown_table(results: list[dict[str, Any]], growth: list[dict[str, Any]]) -> str:
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(row) + " |" for row in rows_for_table(results, growth)]
    return "\n".join(lines)


def write_json(path: Path, document: dict[str, Any]) -> None:
    document = {"written_at": datetime.now(UTC).isoformat(timespec="seconds"), **document}
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    document.setdefault("machine", {})["load_average_at_end"] = [round(v, 2) for v in load]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n")
