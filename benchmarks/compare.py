"""``python -m benchmarks.compare FILE...``: the target checks of several result files
side by side, as the Markdown table in the README's "Performance" section.

Each file is a ``benchmarks/results`` JSON document; its column is titled with the
backend and, when given as ``TITLE=FILE``, with TITLE instead. A row is one measure
of one target; a file that lacks it shows a dash (an older run measured against an
older baseline is labelled so by its own ``target`` text).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["comparison_table", "main"]


def _load(argument: str) -> tuple[str, dict[str, Any]]:
    title, _, path = argument.rpartition("=")
    document = json.loads(Path(path).read_text(encoding="utf-8"))
    return title or f"{document['backend']} ({document.get('scale', 0):,} posts)", document


def _measure_key(check: dict[str, Any]) -> tuple[str, str]:
    """The target's subject and the measure's name, without numbers that change with the
    scale or the baseline (page 443 at one scale is page 45 at another)."""
    subject = str(check["target"]).split(" ≤")[0].split(" ≥")[0]
    measure = str(check["measure"]).split(":")[0].split(" library p50")[0]
    return subject, measure


def comparison_table(columns: list[tuple[str, dict[str, Any]]]) -> str:
    rows: dict[tuple[str, str], dict[str, str]] = {}
    targets: dict[tuple[str, str], str] = {}
    for title, document in columns:
        for check in document["targets"]:
            key = _measure_key(check)
            targets[key] = str(check["target"])  # the last file's wording
            mark = "✓" if check["passed"] else "✗"
            rows.setdefault(key, {})[title] = f"{check['value']:.2f} {mark}"
    titles = [title for title, _ in columns]
    lines = [
        "| target | measure | " + " | ".join(titles) + " |",
        "|---|---|" + "---|" * len(titles),
    ]
    for key, values in rows.items():
        cells = " | ".join(values.get(title, "–") for title in titles)
        lines.append(f"| {targets[key]} | {key[1]} | {cells} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if not arguments:
        print(__doc__, file=sys.stderr)
        return 2
    print(comparison_table([_load(argument) for argument in arguments]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
