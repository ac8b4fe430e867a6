"""Plain data types shared by every grader, and small text helpers.

A grader is a pure function ``GradeInput -> Grade``: no database, no network, no clock. Each one
carries a version string; change it whenever a change could alter any grade, because grader
versions are hashed into eval runs.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - import only for type checkers
    from curriculum.checking import AnswerKey


@dataclass(frozen=True)
class Turn:
    role: str  # "student" | "tutor"
    text: str


@dataclass(frozen=True)
class GradeInput:
    response: str
    history: tuple[Turn, ...] = ()
    answer_key: AnswerKey | None = None
    final_answer: str | None = None
    solution: str | None = None
    problem_text: str | None = None
    student_solved: bool = False
    student_was_wrong: bool | None = None
    grade_band: str | None = None
    language: str | None = None
    scenario: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)

    def last_student_text(self) -> str:
        for turn in reversed(self.history):
            if turn.role == "student":
                return turn.text
        return ""

    def last_tutor_text(self) -> str:
        for turn in reversed(self.history):
            if turn.role == "tutor":
                return turn.text
        return ""

    def student_texts(self) -> list[str]:
        return [t.text for t in self.history if t.role == "student"]


@dataclass(frozen=True)
class Grade:
    grader: str
    version: str
    passed: bool | None  # None = not applicable
    score: float | None  # 0..1, higher is better
    label: str
    detail: str


GradeFn = Callable[[GradeInput], Grade]


@dataclass(frozen=True)
class Grader:
    name: str
    version: str
    fn: Callable[..., Any]
    applies_to: Callable[[GradeInput], bool]
    kind: str = "rule"  # "rule" | "judge" | "learned"
    diagnostic: bool = False  # diagnostic graders never gate a release


def always(_: GradeInput) -> bool:
    return True


def not_applicable(grader: str, version: str, detail: str) -> Grade:
    return Grade(
        grader=grader,
        version=version,
        passed=None,
        score=None,
        label="n/a",
        detail=detail,
    )


# ---------------------------------------------------------------- text helpers

_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\n+")
_ABBREV = re.compile(r"\b(?:e\.g|i\.e|etc|vs|Mr|Mrs|Ms|Dr|approx)\.$", re.IGNORECASE)
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*", re.UNICODE)
# "1,000", "4.8", "-3", "3/4", "$12.00", "25%"
_NUMBER = re.compile(
    r"(?<![\w.,/])(?P<sign>[-−])?\$?(?P<num>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
    r"(?:\s*/\s*(?P<den>\d+)(?!\d|\.\d))?(?P<pct>\s*%)?"
)


def sentences(text: str) -> list[str]:
    """Split into sentences; decimal points and common abbreviations do not split."""
    parts: list[str] = []
    buffer = ""
    for chunk in _SENTENCE_END.split(text.strip()):
        if not chunk:
            continue
        buffer = f"{buffer} {chunk}".strip() if buffer else chunk.strip()
        if _ABBREV.search(buffer):
            continue
        if buffer:
            parts.append(buffer)
        buffer = ""
    if buffer:
        parts.append(buffer)
    return [p for p in parts if p.strip()]


def words(text: str) -> list[str]:
    return _WORD.findall(text)


def normalise(text: str) -> str:
    """Lower case, curly quotes straightened, whitespace collapsed."""
    text = text.replace("’", "'").replace("‘", "'").replace("“", '"').replace("”", '"')
    return re.sub(r"\s+", " ", text).strip().lower()


@dataclass(frozen=True)
class NumberMention:
    value: Fraction
    start: int
    end: int
    text: str


def numbers(text: str) -> list[NumberMention]:
    """Every number in ``text`` as an exact Fraction with its span.

    "3/4" is one mention (0.75); "25%" is 25 (the percent sign is kept in ``text``). Dates,
    times and other number-like tokens are read naively; callers decide what matters.
    """
    out: list[NumberMention] = []
    for m in _NUMBER.finditer(text):
        raw = m.group("num").replace(",", "")
        try:
            value = Fraction(raw)
        except (ValueError, ZeroDivisionError):
            continue
        if m.group("den"):
            den = int(m.group("den"))
            if den == 0:
                continue
            value = value / den
        if m.group("sign"):
            value = -value
        out.append(
            NumberMention(value=value, start=m.start(), end=m.end(), text=m.group())
        )
    return out


def number_values(text: str) -> set[Fraction]:
    """Number values in ``text``; a fraction "a/b" also contributes a and b."""
    return set(_number_values(text))


@lru_cache(maxsize=4096)
def _number_values(text: str) -> frozenset[Fraction]:
    # Cached: graders read the same dialogue and problem texts for every reply to a case.
    values: set[Fraction] = set()
    for mention in numbers(text):
        values.add(mention.value)
        if "/" in mention.text:
            for part in re.findall(r"\d+(?:\.\d+)?", mention.text):
                values.add(Fraction(part))
    return frozenset(values)


def word_list(text: str) -> tuple[str, ...]:
    """The whitespace-separated words of ``text`` (keeps long word lists readable)."""
    return tuple(text.split())


def word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


def count_questions(text: str) -> int:
    """Question marks, counting a run like "??" once."""
    return len(re.findall(r"\?+", text))


def compile_phrases(phrases: list[str] | tuple[str, ...]) -> re.Pattern[str]:
    """One case-insensitive regex matching any phrase on word boundaries.

    Phrases are regex fragments; plain spaces match any run of whitespace.
    """
    body = "|".join(p.replace(" ", r"\s+") for p in phrases)
    return re.compile(rf"(?<![\w])(?:{body})(?![\w])", re.IGNORECASE)
