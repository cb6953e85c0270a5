"""Print how many contract tests passed on each adapter, so CI output shows the
storage contract's count per backend (memory, SQLite, PostgreSQL, MariaDB …)."""

from __future__ import annotations

from collections import Counter

import pytest

_passed: Counter[str] = Counter()
_other: Counter[str] = Counter()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call" and not (report.when == "setup" and report.outcome != "passed"):
        return
    parts = report.nodeid.split("::")
    if len(parts) < 3 or not parts[0].startswith("tests/contract/"):
        return
    (_passed if report.outcome == "passed" else _other)[parts[1]] += 1


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not _passed and not _other:
        return
    terminalreporter.section("contract suites per adapter")
    for name in sorted(set(_passed) | set(_other)):
        extra = f", {_other[name]} not passed" if _other[name] else ""
        terminalreporter.write_line(f"{name}: {_passed[name]} passed{extra}")
