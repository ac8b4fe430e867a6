"""check_answer and validate_answer_key."""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from . import spec as s
from .equations import EquationChecker
from .kinds import (
    ChoiceChecker,
    ExpressionChecker,
    Failure,
    NumericChecker,
    TextChecker,
    bad_variable_names,
    declared_variables,
    infer_variables,
    whole_ratio,
)
from .numbers import parse_number
from .text import clean_input, normalize_option, normalize_words

logger = logging.getLogger(__name__)

MAX_INPUT_CHARS = 200
_CHECKERS: dict[str, Callable[[s.AnswerSpec], Any]] = {
    "integer": NumericChecker,
    "decimal": NumericChecker,
    "fraction": NumericChecker,
    "expression": ExpressionChecker,
    "equation": EquationChecker,
    "choice": ChoiceChecker,
    "text": TextChecker,
}
# A group that repeats and holds a repeat, e.g. (a+)+ or (\w*)*: exponential backtracking.
_NESTED_REPEAT = re.compile(r"\((?:[^()\\]|\\.)*[+*}](?:[^()\\]|\\.)*\)[+*{]")


@dataclass(frozen=True)
class _Rule:
    misconception: s.Misconception
    matches_answer: Callable[[Any], bool] | None
    pattern: re.Pattern[str] | None


@dataclass(frozen=True)
class CompiledKey:
    checker: Any
    rules: tuple[_Rule, ...]


def _clean(text: str) -> str:
    return clean_input(text, limit=10 * MAX_INPUT_CHARS) or ""


def compile_key(key: s.AnswerKey) -> CompiledKey:
    """The checker for a key, cached. Raises InvalidAnswerKey when its value can't be read."""
    try:
        return _compile_cached(key)
    except TypeError:
        # an unhashable key (lists instead of tuples): compile it without the cache
        return _compile(key)


@lru_cache(maxsize=1024)
def _compile_cached(key: s.AnswerKey) -> CompiledKey:
    return _compile(key)


def _compile(key: s.AnswerKey) -> CompiledKey:
    spec = key.spec
    make = _CHECKERS.get(spec.kind)
    if make is None:
        raise s.InvalidAnswerKey(f"unknown kind {spec.kind!r}")
    value = spec.value if spec.kind in ("choice", "text") else _clean(spec.value)
    checker = make(replace(spec, value=value))
    rules = []
    for misconception in key.misconceptions:
        matches_answer = pattern = None
        if misconception.answer is not None:
            answer = (
                misconception.answer
                if spec.kind in ("choice", "text")
                else _clean(misconception.answer)
            )
            found = checker.matcher(answer)
            matches_answer = None if isinstance(found, Failure) else found
        if misconception.pattern is not None:
            try:
                pattern = re.compile(misconception.pattern)
            except (re.error, TypeError):
                pattern = None
        if matches_answer is not None or pattern is not None:
            rules.append(_Rule(misconception, matches_answer, pattern))
    return CompiledKey(checker, tuple(rules))


def check_answer(key: s.AnswerKey, raw_text: str) -> s.Verdict:
    """Judge a student's answer. Never raises on student input: unreadable input gets a
    friendly parse_error (an invalid key raises InvalidAnswerKey; keys are validated on import).

    Per kind (details in the checker classes):
    - integer / decimal / fraction: exact Fractions; unicode minus, "1,000", "+5", "$5", "5 cm",
      "x = 5", "10/-3", number words; "15.0" for a whole number. Forms beyond the kind's own
      need `allow`; a right value in a form that isn't allowed gets the built-in misconception
      "wrong-form", an unsimplified fraction "not-simplified" (unless "unsimplified" is
      allowed). A key written as a percent ("35%") reads a bare "35" as 35% and wants a percent
      ("0.35" is "wrong-form" unless "decimal" is allowed); an integer key reads "35%" as 35.
      Decimal tolerance defaults to 1e-9.
    - expression: an equivalent expression ("12 + 3x" for "3x + 12"), parsed safely, in the
      key's form: simplified ("3(x+4)" or "5x - 2x + 12" is "not-simplified") or, when the key
      is factorised, factorised the same way ("3x + 12" for "3(x+4)" is "wrong-form"). With
      `allow: [unsimplified]` any equivalent form. See `forms`.
    - equation: solved form "x = 3" needs "x = v" (either side) or the bare value; "2x = 6" is
      "not-solved". A general equation accepts any equivalent equation. See `equations`.
    - choice: the option's letter, number or text (never another spelling of its value).
      text: case, spacing, ":" spacing and NFKC insensitive; a ratio value ("2:3") also takes
      "2 to 3", and an equivalent ratio not in lowest terms ("4:6") is "not-simplified".

    Order: a correct answer wins; then the key's misconceptions, first match wins (by `answer`,
    with the same equivalence as the correct answer but by value only for numbers, or by
    `pattern`, a regex that must fullmatch the normalised answer or the cleaned text); then the
    built-in misconceptions. A pattern may also match input that can't be read: the verdict
    then has both a parse_error and the misconception, whose feedback is shown.
    """
    compiled = compile_key(key)
    try:
        return _check(compiled, raw_text)
    except Exception:
        # the last line of defence: student input must never crash a tutor turn
        logger.exception(
            "check_answer failed on input of length %s", len(str(raw_text))
        )
        message = getattr(compiled.checker, "generic", s.NOT_A_NUMBER)
        return s.Verdict(False, None, None, message, message)


def _check(compiled: CompiledKey, raw_text: str) -> s.Verdict:
    text = clean_input(raw_text, limit=MAX_INPUT_CHARS)
    if text is None:
        return s.Verdict(False, None, None, s.TOO_LONG, s.TOO_LONG)
    if not text:
        return s.Verdict(False, None, None, s.EMPTY, s.EMPTY)
    checker = compiled.checker
    reading = checker.read(text)
    if isinstance(reading, Failure):
        rule = next(
            (r for r in compiled.rules if r.pattern and r.pattern.fullmatch(text)), None
        )
        if rule is not None:
            return s.Verdict(
                False,
                None,
                rule.misconception,
                rule.misconception.feedback,
                reading.message,
            )
        return s.Verdict(False, None, None, reading.message, reading.message)
    normalized = checker.display(reading)
    judgement = checker.judge(reading)
    if judgement.correct:
        return s.Verdict(True, normalized, None, s.CORRECT, None)
    for rule in compiled.rules:
        if (rule.matches_answer is not None and rule.matches_answer(reading)) or (
            rule.pattern is not None
            and (rule.pattern.fullmatch(normalized) or rule.pattern.fullmatch(text))
        ):
            return s.Verdict(
                False, normalized, rule.misconception, rule.misconception.feedback, None
            )
    if judgement.builtin is not None:
        return s.Verdict(
            False, normalized, judgement.builtin, judgement.builtin.feedback, None
        )
    return s.Verdict(False, normalized, None, s.INCORRECT, None)


def validate_answer_key(key: s.AnswerKey) -> list[str]:
    """Authoring errors in a key, for the curriculum importer. Empty list: the key is valid."""
    spec = key.spec
    if spec.kind not in s.KINDS:
        return [
            f"kind: unknown kind {spec.kind!r}; expected one of {', '.join(s.KINDS)}"
        ]
    errors = _spec_errors(spec)
    if not str(spec.value).strip():
        return errors
    try:
        compiled = _compile(key)
    except s.InvalidAnswerKey as error:
        return [*errors, f"value: {error}"]
    except Exception as error:
        # a key so broken that the checker can't even be built
        return [*errors, f"value: can't be checked ({type(error).__name__})"]
    if not check_answer(key, spec.value).correct:
        errors.append(
            f"value: {spec.value!r} is not accepted as correct by its own key"
        )
    for variant in spec.accept if spec.kind == "text" else ():
        if not normalize_words(variant):
            errors.append(f"accept: {variant!r} is empty")
    errors.extend(_misconception_errors(key, compiled))
    return errors


def _spec_errors(spec: s.AnswerSpec) -> list[str]:
    errors = []
    if not str(spec.value).strip():
        errors.append("value: is empty")
    if spec.tolerance is not None:
        if spec.kind not in s.NUMERIC_KINDS:
            errors.append(
                f"tolerance: only numeric kinds take a tolerance, not {spec.kind}"
            )
        elif (
            not isinstance(spec.tolerance, int | float)
            or not math.isfinite(spec.tolerance)
            or spec.tolerance < 0
        ):
            errors.append(
                f"tolerance: must be a finite number >= 0, got {spec.tolerance!r}"
            )
    for form in spec.allow:
        if form not in s.ALLOW_FORMS:
            errors.append(
                f"allow: unknown form {form!r}; expected one of {', '.join(s.ALLOW_FORMS)}"
            )
        elif spec.kind not in s.ALLOW_KINDS[form]:
            where = (
                "numeric kinds"
                if s.ALLOW_KINDS[form] == s.NUMERIC_KINDS
                else "numeric, expression and ratio answers"
            )
            errors.append(f"allow: {form!r} only applies to {where}, not {spec.kind}")
        elif spec.kind == "text" and whole_ratio(spec.value) is None:
            errors.append(
                f"allow: {form!r} only applies to a text answer that is a ratio like 2:3"
            )
    if spec.kind == "choice":
        options = [normalize_option(choice) for choice in spec.choices]
        if len(options) < 2:
            errors.append("choices: a choice question needs at least two options")
        if len(options) > 26:
            errors.append("choices: at most 26 options (A to Z)")
        if "" in options:
            errors.append("choices: an option is empty")
        if len(set(options)) != len(options):
            errors.append(
                "choices: two options are the same (ignoring case and spacing)"
            )
    elif spec.choices:
        errors.append(f"choices: only the choice kind has choices, not {spec.kind}")
    if spec.accept and spec.kind != "text":
        errors.append(
            f"accept: only the text kind has accepted variants, not {spec.kind}"
        )
    if spec.variable is not None:
        if spec.kind not in s.ALGEBRA_KINDS:
            errors.append(
                f"variable: only expression and equation kinds have variables, not {spec.kind}"
            )
        elif not declared_variables(spec) or bad_variable_names(spec):
            errors.append(
                f"variable: {spec.variable!r} is not a list of variable names like 'x' or 'x, y'"
            )
        else:
            unknown = (
                set(infer_variables(_clean(spec.value)))
                - set(declared_variables(spec))
                - {"e"}
            )
            if unknown:
                errors.append(
                    f"variable: the value uses {', '.join(sorted(unknown))}, not declared in {spec.variable!r}"
                )
    if spec.kind in ("integer", "fraction") and not errors:
        errors.extend(_numeric_form_errors(spec))
    if spec.kind == "expression" and "=" in spec.value:
        errors.append("value: an expression has no '='; use the equation kind")
    if spec.kind == "equation" and "=" not in spec.value:
        errors.append("value: an equation needs '=', e.g. 'x = 3'")
    return errors


def _numeric_form_errors(spec: s.AnswerSpec) -> list[str]:
    number = parse_number(_clean(spec.value))
    if number is None:
        return []  # reported when the checker is built
    if spec.kind == "integer" and number.value.denominator != 1:
        return [
            f"value: {spec.value!r} is not a whole number; use the decimal or fraction kind"
        ]
    if spec.kind == "fraction" and number.form in ("decimal", "percent"):
        return [f"value: {spec.value!r} should be written as a fraction, e.g. 3/4"]
    return []


def _misconception_errors(key: s.AnswerKey, compiled: CompiledKey) -> list[str]:
    errors = []
    codes: set[str] = set()
    for i, m in enumerate(key.misconceptions):
        where = f"misconceptions[{i}] ({m.code})"
        if not m.code or not m.code.strip():
            errors.append(f"misconceptions[{i}]: code is empty")
        elif m.code in s.BUILTIN_CODES:
            errors.append(
                f"{where}: code {m.code!r} is reserved for the checker's own feedback"
            )
        elif m.code in codes:
            errors.append(f"{where}: code is used twice")
        codes.add(m.code)
        if not m.feedback or not m.feedback.strip():
            errors.append(f"{where}: feedback is empty")
        if m.answer is None and m.pattern is None:
            errors.append(f"{where}: needs an answer or a pattern")
        if m.answer is not None:
            errors.extend(_misconception_answer_errors(key, compiled, m, where))
        if m.pattern is not None:
            errors.extend(_pattern_errors(key, m.pattern, where))
    return errors


def _misconception_answer_errors(
    key: s.AnswerKey, compiled: CompiledKey, m: s.Misconception, where: str
) -> list[str]:
    rule = next((r for r in compiled.rules if r.misconception is m), None)
    if rule is None or rule.matches_answer is None:
        return [
            f"{where}: answer {m.answer!r} can't be read as an answer of kind {key.spec.kind}"
        ]
    if check_answer(s.AnswerKey(key.spec), m.answer or "").correct:
        return [f"{where}: answer {m.answer!r} would be accepted as correct"]
    return []


def _pattern_errors(key: s.AnswerKey, pattern: str, where: str) -> list[str]:
    try:
        compiled = re.compile(pattern)
    except (re.error, TypeError) as error:
        return [f"{where}: pattern {pattern!r} is not a valid regex ({error})"]
    if _NESTED_REPEAT.search(pattern):
        return [
            f"{where}: pattern {pattern!r} nests repeats, which can make matching hang"
        ]
    value = _clean(key.spec.value)
    if compiled.fullmatch(value) or compiled.fullmatch(key.spec.value):
        return [f"{where}: pattern {pattern!r} matches the correct answer"]
    return []
