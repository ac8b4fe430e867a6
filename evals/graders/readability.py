"""Readability: a Flesch-Kincaid grade estimate against the student's grade band.

FK grade = 0.39 * words/sentence + 11.8 * syllables/word - 15.59, with a heuristic syllable
count (vowel groups, silent final "e", "-le"). Numbers and symbols are not words. Passes when
the estimate is at most the band's top grade plus a slack of 2 (``params["slack"]``). English
only; too-short replies (fewer than 8 words) are not graded because FK is meaningless there.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .base import Grade, GradeInput, not_applicable, sentences, words

NAME = "readability"
VERSION = "1.0"
MIN_WORDS = 8
DEFAULT_SLACK = 2.0
BAND_TOP: dict[str, int] = {"K-2": 2, "3-5": 5, "6-8": 8, "9-12": 12, "adult": 14}


def applies(inp: GradeInput) -> bool:
    return (inp.language or "en").lower().startswith("en")


@lru_cache(maxsize=8192)
def syllables(word: str) -> int:
    w = word.lower().strip("'")
    if not w:
        return 0
    if len(w) <= 3:
        return 1
    w = re.sub(r"(?:es|ed)$", "", w) if not re.search(r"[td]ed$|[cgsxz]es$", w) else w
    w = re.sub(r"e$", "", w) if not w.endswith("le") else w
    groups = re.findall(r"[aeiouy]+", w)
    return max(1, len(groups))


def fk_grade(text: str) -> float | None:
    text = re.sub(r"[#*_`>]", " ", text)
    sents = [s for s in sentences(text) if words(s)]
    ws = words(text)
    if not ws or not sents:
        return None
    n_syll = sum(syllables(w) for w in ws)
    return 0.39 * len(ws) / len(sents) + 11.8 * n_syll / len(ws) - 15.59


def band_top(band: str | None) -> int:
    if band in BAND_TOP:
        return BAND_TOP[band]
    if band:
        m = re.search(r"(\d+)\s*$", band)
        if m:
            return int(m.group(1))
    return BAND_TOP["6-8"]


def grade(inp: GradeInput) -> Grade:
    if len(words(inp.response)) < MIN_WORDS:
        return not_applicable(NAME, VERSION, f"fewer than {MIN_WORDS} words")
    estimate = fk_grade(inp.response)
    if estimate is None:
        return not_applicable(NAME, VERSION, "no words")
    top = band_top(inp.grade_band)
    limit = top + float(inp.params.get("slack", DEFAULT_SLACK))
    passed = estimate <= limit
    score = 1.0 if passed else max(0.0, 1 - (estimate - limit) / 6)
    label = "readable" if passed else "too_hard"
    detail = (
        f"FK grade {estimate:.1f} vs limit {limit:.1f} (band {inp.grade_band or '6-8'})"
    )
    return Grade(NAME, VERSION, passed, round(score, 4), label, detail)
