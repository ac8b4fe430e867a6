"""Concision: short turns with at most one question, by grade band.

Limits (words, questions) per band; override with ``params["max_words"]`` /
``params["max_questions"]``. Unknown or missing band: the 6-8 limits.

| band  | words | questions |
|-------|------:|----------:|
| K-2   |    35 |         1 |
| 3-5   |    50 |         1 |
| 6-8   |    60 |         1 |
| 9-12  |    90 |         2 |
| adult |   120 |         2 |

Score: 1 within limits, decreasing linearly to 0 at twice the word limit; an extra question
costs 0.25 each.
"""

from __future__ import annotations

import re

from .base import Grade, GradeInput, count_questions

NAME = "concision"
VERSION = "1.0"

LIMITS: dict[str, tuple[int, int]] = {
    "K-2": (35, 1),
    "3-5": (50, 1),
    "6-8": (60, 1),
    "9-12": (90, 2),
    "adult": (120, 2),
}
DEFAULT_BAND = "6-8"


def band_limits(band: str | None) -> tuple[int, int]:
    if band in LIMITS:
        return LIMITS[band]
    if band:
        m = re.match(r"^\s*(\d+|k)\s*[-–]\s*(\d+)\s*$", band, re.IGNORECASE)
        if m:
            upper = int(m.group(2))
            for name, limits in LIMITS.items():
                hi = name.split("-")[-1]
                if hi.isdigit() and upper <= int(hi):
                    return limits
            return LIMITS["adult"]
    return LIMITS[DEFAULT_BAND]


def word_count(text: str) -> int:
    return len(re.findall(r"\S+", text))


def grade(inp: GradeInput) -> Grade:
    max_words, max_questions = band_limits(inp.grade_band)
    max_words = int(inp.params.get("max_words", max_words))
    max_questions = int(inp.params.get("max_questions", max_questions))
    n_words = word_count(inp.response)
    n_questions = count_questions(inp.response)
    over_words = max(0, n_words - max_words)
    over_questions = max(0, n_questions - max_questions)
    score = max(0.0, 1 - over_words / max_words) - 0.25 * over_questions
    score = round(max(0.0, min(1.0, score)), 4)
    passed = over_words == 0 and over_questions == 0
    label = (
        "concise" if passed else ("too_long" if over_words else "too_many_questions")
    )
    detail = f"{n_words} words (max {max_words}), {n_questions} questions (max {max_questions})"
    return Grade(NAME, VERSION, passed, score, label, detail)
