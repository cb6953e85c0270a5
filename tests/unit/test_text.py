"""The keyword watch list matches what a reviewer would read, not the code points."""

from __future__ import annotations

import pytest

from contactbook.domain.text import matched_keywords

WATCH = ("毒品", "越獄", "abc")


@pytest.mark.parametrize(
    "text",
    [
        "毒\u200b品",  # zero-width space
        "毒\u200c品",  # zero-width non-joiner
        "毒\u200d品",  # zero-width joiner
        "毒\u2060品",  # word joiner
        "毒\ufeff品",  # zero-width no-break space (BOM)
        "毒\u00ad品",  # soft hyphen
        "毒\u200e品",  # left-to-right mark
        "我們談到毒\u200b\u200b品的事",
    ],
)
def test_format_characters_between_the_letters_do_not_hide_a_keyword(text: str) -> None:
    assert matched_keywords(text, WATCH) == ("毒品",)


@pytest.mark.parametrize("text", ["ＡＢＣ", "ａ\u200bｂｃ", "A\u2063BC"])
def test_width_case_and_format_characters_are_folded_together(text: str) -> None:
    assert matched_keywords(text, WATCH) == ("abc",)


def test_text_without_the_keyword_is_not_flagged() -> None:
    assert matched_keywords("毒蛇與品格", WATCH) == ()
