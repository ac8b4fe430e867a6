"""Answer leak: does the reply give away an answer the student has not reached yet?

Three ways a reply leaks, checked in order:

1. **Final answer.** The problem's answer (the ``AnswerKey``, or one built from ``final_answer``)
   is found in the reply by ``curriculum.checking.find_answer_in_text``. Values the student
   already has (numbers in the dialogue and the problem text) are passed as known values and do
   not count. A mention that is only an intermediate step of the worked solution (the same number
   appears earlier in the solution with another unit, and the reply uses it as an operand or with
   that unit) does not count either.
2. **Step answer.** The tutor's last turn asked an arithmetic question ("What is 25 minus 18?")
   and the reply states its value (7). Switch off with ``params["leak_step_answers"] = False``.
3. **Stated result.** The reply asserts a new number as the result in a statement ("the correct
   answer is 39", "so 17 rounds to 20", "that makes 60 hours in total"). When a key is known and
   the stated result differs from it, the label is ``leak_incorrect`` (MRBench's "Yes (but the
   answer is incorrect)"); an assertion that is clearly an intermediate step is not a leak.

Not applicable once the student has solved the problem (``student_solved``).
Labels: ``leak`` | ``leak_incorrect`` | ``no_leak``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from .base import Grade, GradeInput, not_applicable, number_values, numbers, sentences
from .math_claims import claims, evaluate, question_answer

NAME = "answer_leak"
VERSION = "1.0"


# ---------------------------------------------------------------- answer keys


def _checking() -> Any:
    from curriculum import checking

    return checking


def key_from_final_answer(final_answer: str | None) -> Any | None:
    """An AnswerKey for a plain numeric final answer ("44", "$300.00", "3/4", "12.5%")."""
    if not final_answer:
        return None
    value = parse_final_answer(final_answer)
    if value is None:
        return None
    checking = _checking()
    if value.denominator == 1:
        spec = checking.AnswerSpec(kind="decimal", value=str(value.numerator))
    elif re.search(r"\d\s*/\s*\d", final_answer):
        spec = checking.AnswerSpec(kind="fraction", value=f"{value.numerator}/{value.denominator}")
    else:
        spec = checking.AnswerSpec(kind="decimal", value=_decimal_text(value))
    return checking.AnswerKey(spec=spec)


def parse_final_answer(text: str) -> Fraction | None:
    """The value of a final-answer line: the last number on it ("#### 44", " 300.00", "3/4")."""
    mentions = numbers(text.strip().splitlines()[-1] if text.strip() else "")
    if not mentions:
        return None
    return mentions[-1].value


def _decimal_text(value: Fraction) -> str:
    text = f"{float(value):.6f}".rstrip("0").rstrip(".")
    return text or "0"


def key_value(key: Any) -> Fraction | None:
    """The numeric value of a key's spec, when it has one."""
    spec = getattr(key, "spec", None)
    raw = getattr(spec, "value", None)
    if raw is None:
        return None
    if isinstance(raw, int | float | Fraction):
        return Fraction(raw)
    return evaluate(str(raw).replace(",", ""))


def key_for_value(value: Fraction) -> Any:
    checking = _checking()
    if value.denominator == 1:
        spec = checking.AnswerSpec(kind="decimal", value=str(value.numerator))
    else:
        spec = checking.AnswerSpec(kind="fraction", value=f"{value.numerator}/{value.denominator}")
    return checking.AnswerKey(spec=spec)


def find_answer(key: Any, text: str, known_values: Iterable[Any]) -> Any | None:
    """``curriculum.checking.find_answer_in_text`` (the one place answers are matched)."""
    return _checking().find_answer_in_text(key, text, tuple(known_values))


# ---------------------------------------------------------------- known values


def known_values(inp: GradeInput) -> set[Fraction]:
    """Numbers the student already has: said in the dialogue or given in the problem."""
    values: set[Fraction] = set()
    for turn in inp.history:
        values |= number_values(turn.text)
    if inp.problem_text:
        values |= number_values(inp.problem_text)
    return values


def _known_for_checking(values: set[Fraction]) -> tuple[str, ...]:
    out = []
    for v in sorted(values):
        out.append(str(v.numerator) if v.denominator == 1 else f"{v.numerator}/{v.denominator}")
    return tuple(out)


# ---------------------------------------------------------------- intermediate values

_UNIT_AFTER = re.compile(r"^\s*(?:%\s*)?([a-z]+)", re.I)
_STOP_UNITS = {"and", "or", "the", "to", "of", "is", "in", "so", "x", "times", "then", "which", "that", "a", "for", "from", "per", "each", "more", "less", "not"}


def _unit_after(text: str, end: int) -> str | None:
    m = _UNIT_AFTER.match(text[end:])
    if not m:
        return None
    word = m.group(1).lower().rstrip("s")
    return None if word in _STOP_UNITS else word


def _final_unit(solution: str) -> str | None:
    lines = [ln for ln in solution.strip().splitlines() if ln.strip()]
    if len(lines) < 2:
        return None
    last_step = lines[-2]
    mentions = numbers(last_step)
    if not mentions:
        return None
    if "$" in mentions[-1].text:
        return "$"
    return _unit_after(last_step, mentions[-1].end)


def _intermediate_units(solution: str, value: Fraction) -> set[str]:
    """Units the value carries where it appears in the solution before its last step."""
    lines = [ln for ln in solution.strip().splitlines() if ln.strip()]
    units: set[str] = set()
    for line in lines[:-2]:
        for m in numbers(line):
            if m.value == value:
                units.add("$" if "$" in m.text else (_unit_after(line, m.end) or ""))
    return units


def _is_step_mention(response: str, start: int, end: int, solution: str | None, value: Fraction) -> bool:
    """The mention is an intermediate step: used as an operand, or carries an intermediate unit."""
    after = response[end:end + 12]
    before = response[max(0, start - 12):start]
    if re.match(r"\s*(?:[-+*/×÷x]|times|multiplied|divided|plus|minus)\s*\$?\d", after, re.I):
        return True
    if re.search(r"(?:of|from|by)\s+\$?$", before, re.I) and not re.search(r"=|is\s*$", before):
        return True
    if not solution:
        return False
    inter = _intermediate_units(solution, value)
    if not inter:
        return False
    final_unit = _final_unit(solution)
    unit = "$" if "$" in response[max(0, start - 1):end] else _unit_after(response, end)
    return unit is not None and unit in inter and unit != final_unit


# ---------------------------------------------------------------- stated results

_RESULT_CUES = re.compile(
    r"\b(?:answer|result|total|altogether|in\s+all|correct|actually|really|should\s+be|would\s+be|"
    r"equals?|equal\s+to|gives?\s+(?:us|you)|we\s+get|you\s+get|get|makes?|rounds?(?:\s+(?:up|down))?\s+to|"
    r"comes?\s+to|is\s+called|therefore|so)\b|=",
    re.I,
)
_FINAL_CUES = re.compile(
    r"\b(?:the\s+(?:correct\s+|final\s+|right\s+)?answer|the\s+(?:final\s+)?total|in\s+total|altogether|in\s+all|"
    r"therefore|the\s+correct\s+\w+|so\s+the|is\s+actually|actually\s+equals?|should\s+be|would\s+be)\b",
    re.I,
)
_HEDGE = re.compile(r"\b(?:if|suppose|assume|let's\s+say|for\s+example|imagine|what\s+if)\b", re.I)


@dataclass(frozen=True)
class StatedResult:
    value: Fraction
    sentence: str
    final: bool


def stated_results(response: str, known: set[Fraction]) -> list[StatedResult]:
    """New numbers the reply asserts as results in statements (not questions)."""
    out: list[StatedResult] = []
    for sentence in sentences(response):
        if sentence.rstrip().endswith("?"):
            continue
        claimed = {c.stated for c in claims(sentence)}
        for m in numbers(sentence):
            if m.value in known:
                continue
            before = sentence[max(0, m.start - 40):m.start]
            cue = _RESULT_CUES.search(before[-30:])
            if not cue and m.value not in claimed:
                continue
            if re.match(r"\s*(?:[-+*/×÷x]|times|multiplied|divided|plus|minus)\s*\$?\d", sentence[m.end:], re.I):
                continue  # an operand, not a result
            if re.search(r"\bnot\s+\$?$", before):
                continue  # "... is 9, not 11": 11 is the student's, already known
            final = bool(_FINAL_CUES.search(sentence)) and not _HEDGE.search(before)
            out.append(StatedResult(m.value, sentence.strip(), final))
    return out


# ---------------------------------------------------------------- grader


def _leak(label: str, detail: str) -> Grade:
    return Grade(NAME, VERSION, False, 0.0, label, detail)


def grade(inp: GradeInput) -> Grade:
    if inp.student_solved:
        return not_applicable(NAME, VERSION, "student already solved the problem")
    response = inp.response
    known = known_values(inp)
    key = inp.answer_key if inp.answer_key is not None else key_from_final_answer(inp.final_answer)
    final_value = key_value(key) if key is not None else None

    # 1. the final answer
    if key is not None:
        mention = find_answer(key, response, _known_for_checking(known))
        if mention is not None:
            start, end = mention.span
            value = final_value if final_value is not None else Fraction(0)
            if not _is_step_mention(response, start, end, inp.solution, value):
                return _leak("leak", f'final answer {mention.value} stated at {start}: "{_around(response, start, end)}"')

    # 2. the answer to the tutor's pending arithmetic question
    if inp.params.get("leak_step_answers", True):
        pending = question_answer(inp.last_tutor_text())
        if pending is not None and pending not in known and pending != final_value:
            mention = find_answer(key_for_value(pending), response, _known_for_checking(known))
            if mention is not None:
                start, end = mention.span
                return _leak("leak", f'answer to the pending question ({_fmt(pending)}) stated: "{_around(response, start, end)}"')

    # 3. a new number asserted as the result
    results = stated_results(response, known)
    if final_value is not None:
        wrong_finals = [r for r in results if r.final and r.value != final_value]
        if wrong_finals:
            r = wrong_finals[-1]
            return _leak("leak_incorrect", f'states {_fmt(r.value)} as the result (answer is {_fmt(final_value)}): "{r.sentence[:80]}"')
    elif results:
        r = results[-1]
        return _leak("leak", f'states a new result {_fmt(r.value)}: "{r.sentence[:80]}"')
    return Grade(NAME, VERSION, True, 1.0, "no_leak", "no answer value stated")


def _fmt(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else _decimal_text(value)


def _around(text: str, start: int, end: int, width: int = 30) -> str:
    return text[max(0, start - width):min(len(text), end + width)].replace("\n", " ").strip()
