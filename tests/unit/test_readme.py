"""The README's embedding example runs as written and prints what it promises."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

from tests.security.test_authorization_matrix import public_use_cases

from contactbook.testing import memory_book

README = Path(__file__).resolve().parents[2] / "README.md"


def embedding_example() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## Embedding", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README has no python block under Embedding"
    return match.group(1)


def test_embedding_example_is_20_to_40_lines() -> None:
    lines = [line for line in embedding_example().splitlines() if line.strip()]
    assert 20 <= len(lines) <= 40


def test_embedding_example_runs_and_prints_the_review_result() -> None:
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        exec(compile(embedding_example(), str(README), "exec"), {"__name__": "readme"})
    printed = output.getvalue().splitlines()
    assert printed[0].startswith("TO : 0609-李○○ 標題 : 近況 內文 : 孩子們都很好")
    assert printed[0].endswith("待審核")
    assert printed[1] == "審核通過"


def test_the_use_case_table_lists_every_public_use_case() -> None:
    """The README's table of ``book.<group>`` methods is what the book really offers."""
    listed = {
        f"{group}.{name}"
        for group, names in re.findall(
            r"^\| `book\.(\w+)` \| (.+) \|$", README.read_text("utf-8"), re.M
        )
        for name in re.findall(r"`(\w+)`", names)
    }
    book = memory_book()
    try:
        offered = set(public_use_cases(book))
    finally:
        book.close()
    assert sorted(offered - listed) == [], "use cases missing from the README table"
    assert sorted(listed - offered) == [], "README lists use cases that do not exist"
