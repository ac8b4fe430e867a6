"""Deterministic answer checking: the tutor and the eval graders rely on it.

    check_answer(key, raw_text) -> Verdict
        judge a student's answer; never raises on student input
    validate_answer_key(key) -> list[str]
        authoring errors, for the curriculum importer (empty: valid)
    find_answer_in_text(key, text, known_values=()) -> AnswerMention | None
        does prose (a tutor reply) state the final answer?

The rules live with the code: numbers in `kinds.NumericChecker`, safe parsing of algebra in
`expressions`, equivalence in `equivalence`, the written form of an expression (simplified,
factorised) in `forms`, equations in `equations`, choices, text and ratios in `kinds`, mentions
in `mentions`. Plain data in and out; no Django.
"""

from .check import check_answer, validate_answer_key
from .mentions import find_answer_in_text
from .spec import (
    BUILTIN_CODES,
    INCOMPLETE,
    NOT_SIMPLIFIED,
    NOT_SOLVED,
    WRONG_FORM,
    AnswerKey,
    AnswerMention,
    AnswerSpec,
    InvalidAnswerKey,
    Misconception,
    Verdict,
)

__all__ = [
    "BUILTIN_CODES",
    "INCOMPLETE",
    "NOT_SIMPLIFIED",
    "NOT_SOLVED",
    "WRONG_FORM",
    "AnswerKey",
    "AnswerMention",
    "AnswerSpec",
    "InvalidAnswerKey",
    "Misconception",
    "Verdict",
    "check_answer",
    "find_answer_in_text",
    "validate_answer_key",
]
