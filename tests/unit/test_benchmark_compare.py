"""``python -m benchmarks.compare``: result files side by side, one row per target
measure, matched across scales (page 443 at a million posts is page 45 at 100 000)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from benchmarks.compare import comparison_table, main


def _result(backend: str, checks: list[tuple[str, str, float, bool]]) -> dict[str, Any]:
    return {
        "backend": backend,
        "scale": 1000,
        "targets": [
            {"target": target, "measure": measure, "value": value, "passed": passed}
            for target, measure, value, passed in checks
        ],
    }


BEFORE = _result(
    "sqlite",
    [
        ("lists ≤ 2.0× raw", "my_posts: library p50 / raw p50", 6.41, False),
        ("deep page ≤ 1.2× page 1", "queue_agency: library p50 page 10000 / page 1", 9.91, False),
        ("dispatch ≥ 0.7× raw smtplib", "dispatch: library / raw mails per second", 0.49, False),
    ],
)
NOW = _result(
    "sqlite",
    [
        ("lists ≤ 2.0× raw", "my_posts: library p50 / raw p50", 1.88, True),
        ("deep page ≤ 1.2× page 1", "queue_agency: library p50 page 100 / page 1", 1.0, True),
        (
            "dispatch ≥ 0.7× raw outbox",
            "dispatch: library / raw outbox mails per second",
            1.05,
            True,
        ),
        ("PDF peak RSS growth ≤ 64 MB", "pdf_20mb: peak RSS growth (MB)", 19.82, True),
    ],
)


def test_rows_match_across_files_and_take_the_last_wording() -> None:
    table = comparison_table([("before", BEFORE), ("now", NOW)]).splitlines()
    assert table[0] == "| target | measure | before | now |"
    assert "| lists ≤ 2.0× raw | my_posts | 6.41 ✗ | 1.88 ✓ |" in table
    assert "| deep page ≤ 1.2× page 1 | queue_agency | 9.91 ✗ | 1.00 ✓ |" in table
    assert "| dispatch ≥ 0.7× raw outbox | dispatch | 0.49 ✗ | 1.05 ✓ |" in table
    assert "| PDF peak RSS growth ≤ 64 MB | pdf_20mb | – | 19.82 ✓ |" in table
    assert len(table) == 2 + 4


def test_the_command_reads_titled_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before, now = tmp_path / "before.json", tmp_path / "now.json"
    before.write_text(json.dumps(BEFORE), encoding="utf-8")
    now.write_text(json.dumps(NOW), encoding="utf-8")
    assert main([f"first={before}", str(now)]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert header == "| target | measure | first | sqlite (1,000 posts) |"
    assert main([]) == 2
