"""find_answer_in_text: does prose (a tutor reply) state the problem's final answer?

Used as an output guard (it must catch leaks) and as an eval grader (it must not cry wolf), so
it looks for the answer's *value* in every way prose states one, and only where it stands alone:

- numeric kinds: any stated number whose value is the answer: "3/4", "0.75", "75%",
  "three quarters", "\\frac{3}{4}", and a rounded decimal with 2+ places ("0.33" for 1/3); a
  percent also mentions its own number ("75%" mentions 75), and for a key written as a percent
  ("25%") the bare number does too ("it is 25", "25 percent"). Not "3" inside "13", "3.5",
  "x^3", "3x", "3rd", "step 3"; not an unsimplified fraction such as "12/4" or "6/8" (a step,
  unless the key accepts unsimplified answers). See `prose_numbers`.
- expression: a maximal run of maths in the text (split at "=") that `check_answer` would accept:
  equivalent, and in the key's form ("3(x + 4)" is a step towards "3x + 12", not the answer).
- equation, solved form: "x = 3", "3 = x", "x = 6/2 = 3", "x is 3"; and, when every value is a
  number, the bare value where it stands outside any expression holding a variable ("so it's 3",
  but not "x + 3 = 6"). General equation: an equivalent equation.
- choice: the correct option's text (options shorter than 4 characters only as a number), or
  its letter in "the answer is B", "option B", "(b) is correct", "choose B"; "option 2".
- text: the value or an accepted variant as whole words ("3 : 4" for "3:4", "20-ounce" for
  "20 ounce").

`known_values` are things already on the table (the student's own answers, the problem prompt):
for numbers and algebra each string is scanned like the text and a mention is dropped when it
is written the same way as something known (same form: "6/8" in the prompt doesn't excuse
"3/4" in the reply, nor "0.75" "75%", but "3/4" in the prompt excuses "3/4"). Decimals that are
numerically equal count as written the same way: "0.5" excuses "0.50" and ".5", "5" excuses
"5.0". For choice and text a known string counts when it is, as a whole, the correct answer;
then nothing is reported.
"""

from __future__ import annotations

import bisect
import itertools
import logging
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache

import sympy

from . import spec as s
from .check import compile_key
from .equations import EquationChecker
from .equivalence import equations_equivalent, equivalent
from .expressions import ParsedExpr, parse_expression, split_name
from .kinds import ChoiceChecker, ExpressionChecker, NumericChecker, TextChecker
from .numbers import parse_number
from .prose_numbers import Candidate, matches_value, numbers_in
from .text import Mapped, clean_input, map_text, normalize_answer_text

logger = logging.getLogger(__name__)

MAX_TEXT_CHARS = 100_000
MAX_SIDE_CHARS = 200
_MATH_TOKEN = re.compile(
    r"(?P<num>\d{1,3}(?:,\d{3})+(?!\d)(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)|(?P<name>[A-Za-z]+(?:_[A-Za-z0-9]+)?)"
    r"|(?P<op>[-+*/^()=\u00b1])|(?P<space>\s+)|(?P<other>.)",
    re.DOTALL,
)
_COPULA = re.compile(
    r"\b(?P<var>[A-Za-z](?:_[A-Za-z0-9]+)?)\s+(?:is|equals|would be|will be|must be|should be|has to be"
    r"|comes out to|works out to|becomes)\s+(?:equal to\s+)?(?:exactly\s+|just\s+)?"
)
_LETTER_PATTERNS = (
    r"(?i:\b(?:option|choice))\s*\(?(?P<l>[A-Za-z])\)?(?![\w'])",
    r"(?i:\banswer)\s*(?:(?i:is|would be|should be|will be|must be)\s+|[:=]\s*)\(?(?P<l>[A-Z])\)?(?![\w'])",
    r"(?<![\w(])\(?(?P<l>[A-Z])\)?\s+(?i:is\s+(?:the\s+)?(?:correct|right))",
    r"(?i:\b(?:choose|pick|select|go with|circle))\s+\(?(?P<l>[A-Z])\)?(?![\w'])",
)


@dataclass(frozen=True)
class Side:
    start: int
    end: int
    parsed: ParsedExpr | None
    has_variable: bool


@dataclass
class _Known:
    number_keys: set[tuple[object, ...]] = field(default_factory=set)
    side_keys: set[str] = field(default_factory=set)
    equation_keys: set[tuple[str, str]] = field(default_factory=set)


def find_answer_in_text(
    key: s.AnswerKey, text: str, known_values: Iterable[str] = ()
) -> s.AnswerMention | None:
    """The first place `text` states the key's final answer, or None. Never raises on the text
    (an invalid key raises InvalidAnswerKey).

    Pass `known_values` as raw texts with their numbers as written: the prompt, the student's
    messages. Don't re-spell them first (a Fraction turned into "1/2", `Verdict.normalized`,
    sympy's form of an expression): a known value only excuses a mention written the same way,
    so "1/2" made from a "0.5" in the prompt no longer excuses "0.5" in the reply, and a
    normalised "3*x + 12" made from "3(x + 4)" would excuse the answer itself.
    """
    checker = compile_key(key).checker
    try:
        if not isinstance(text, str):
            text = "" if text is None else str(text)
        text = text[:MAX_TEXT_CHARS]
        if isinstance(known_values, str):
            known_values = [known_values]
        known = [str(k)[:MAX_TEXT_CHARS] for k in known_values or () if k is not None]
        span = _find(key.spec, checker, text, known)
    except Exception:
        # a guard must not take the tutor down: log it and report nothing found
        logger.exception(
            "find_answer_in_text failed on a text of length %s", len(str(text))
        )
        return None
    if span is None:
        return None
    return s.AnswerMention(text[span[0] : span[1]], span)


def _find(
    spec: s.AnswerSpec, checker: object, text: str, known: list[str]
) -> tuple[int, int] | None:
    if isinstance(checker, ChoiceChecker):
        return _find_choice(checker, spec, text, known)
    if isinstance(checker, TextChecker):
        return _find_text(checker, spec, text, known)
    mapped = map_text(text, prose=True)
    spans: list[tuple[int, int]] = []
    if isinstance(checker, NumericChecker):
        numbers = numbers_in(mapped.text)
        target, tolerance = checker.target.value, checker.tolerance
        spans = _number_spans(
            numbers,
            [target],
            tolerance,
            checker.unsimplified_ok,
            _known(known, ()),
            bare_targets=[target * 100] if checker.percent_key else [],
        )
    elif isinstance(checker, ExpressionChecker):
        spans = _expression_spans(
            checker, mapped.text, _known(known, checker.variables)
        )
    elif isinstance(checker, EquationChecker):
        spans = _equation_spans(checker, mapped.text, _known(known, checker.variables))
    if not spans:
        return None
    start, end = _first(spans)
    return mapped.span(start, end)


def _number_spans(
    numbers: list[Candidate],
    targets: list[Fraction],
    tolerance: Fraction,
    unsimplified_ok: bool,
    known: _Known,
    *,
    bare_targets: Sequence[Fraction] = (),
) -> list[tuple[int, int]]:
    """Candidates stating a target; `bare_targets` count only as a number without a percent
    sign or a fraction ("25" for the key "25%")."""
    return [
        (c.start, c.end)
        for c in numbers
        if c.number.key not in known.number_keys
        and (
            any(matches_value(c, t, tolerance, unsimplified_ok) for t in targets)
            or (
                c.number.form in ("integer", "decimal")
                and any(matches_value(c, t, tolerance, False) for t in bare_targets)
            )
        )
    ]


def _known(strings: list[str], variables: tuple[str, ...]) -> _Known:
    known = _Known()
    for string in strings:
        numbers, sides, equations = _known_from(string, variables)
        known.number_keys |= numbers
        known.side_keys |= sides
        known.equation_keys |= equations
    return known


@lru_cache(maxsize=512)
def _known_from(
    string: str, variables: tuple[str, ...]
) -> tuple[frozenset[tuple[object, ...]], frozenset[str], frozenset[tuple[str, str]]]:
    mapped = map_text(string, prose=True).text
    numbers = {c.number.key for c in numbers_in(mapped, variables)}
    cleaned = clean_input(string, limit=MAX_SIDE_CHARS) or ""
    whole_number = parse_number(cleaned) if cleaned else None
    if whole_number is not None:
        numbers.add(whole_number.key)
    sides: set[str] = set()
    equations: set[tuple[str, str]] = set()
    if variables:
        whole = parse_expression(cleaned, variables) if cleaned else None
        if isinstance(whole, ParsedExpr):
            sides.add(whole.key)
        for run in math_runs(mapped, variables):
            keys = [side.parsed.key for side in run if side.parsed is not None]
            sides.update(keys)
            equations.update(itertools.pairwise(keys))
            equations.update((b, a) for a, b in itertools.pairwise(keys))
    return frozenset(numbers), frozenset(sides), frozenset(equations)


def math_runs(text: str, variables: tuple[str, ...]) -> list[list[Side]]:
    """Maximal stretches of maths in mapped prose, each split at "=" into sides."""
    runs: list[list[Side]] = []
    current: list[tuple[str, int, int, str]] = []
    for match in _MATH_TOKEN.finditer(text):
        kind, value = match.lastgroup or "other", match.group()
        if kind == "name" and split_name(value, variables) is None:
            kind = "other"
        if kind == "other":
            if current:
                runs.append(_sides(text, current, variables))
                current = []
            continue
        current.append((kind, match.start(), match.end(), value))
    if current:
        runs.append(_sides(text, current, variables))
    return [run for run in runs if run]


def _sides(
    text: str, tokens: list[tuple[str, int, int, str]], variables: tuple[str, ...]
) -> list[Side]:
    sides: list[Side] = []
    chunk: list[tuple[str, int, int, str]] = []
    for token in [*tokens, ("op", -1, -1, "=")]:
        if token[3] != "=":
            chunk.append(token)
            continue
        side = _side(text, chunk, variables)
        if side is not None:
            sides.append(side)
        chunk = []
    return sides


def _side(
    text: str, tokens: list[tuple[str, int, int, str]], variables: tuple[str, ...]
) -> Side | None:
    tokens = [t for t in tokens if t[0] != "space"]
    while tokens and tokens[0][3] in "*/^)\u00b1":
        tokens.pop(0)
    while tokens and tokens[-1][3] in "+-*/^(\u00b1":
        tokens.pop()
    while (
        tokens
        and sum(t[3] == "(" for t in tokens) > sum(t[3] == ")" for t in tokens)
        and tokens[0][3] == "("
    ):
        tokens.pop(0)
    while (
        tokens
        and sum(t[3] == ")" for t in tokens) > sum(t[3] == "(" for t in tokens)
        and tokens[-1][3] == ")"
    ):
        tokens.pop()
    if not any(t[0] in ("num", "name") for t in tokens):
        return None
    start, end = tokens[0][1], tokens[-1][2]
    has_variable = any(
        kind == "var"
        for t in tokens
        if t[0] == "name"
        for kind, _ in (split_name(t[3], variables) or [])
    )
    parsed = (
        parse_expression(text[start:end], variables)
        if end - start <= MAX_SIDE_CHARS
        else None
    )
    return Side(
        start, end, parsed if isinstance(parsed, ParsedExpr) else None, has_variable
    )


def _rational(value: sympy.Expr) -> Fraction | None:
    return Fraction(int(value.p), int(value.q)) if value.is_Rational else None


def _expression_spans(
    checker: ExpressionChecker, text: str, known: _Known
) -> list[tuple[int, int]]:
    target = checker.target.expr
    constant = not target.free_symbols
    spans = []
    for run in math_runs(text, checker.variables):
        for side in run:
            if side.parsed is None or side.parsed.key in known.side_keys:
                continue
            if (side.has_variable or constant) and checker.judge(side.parsed).correct:
                spans.append((side.start, side.end))
    value = _rational(target)
    if value is not None:
        spans += _number_spans(
            numbers_in(text, checker.variables), [value], Fraction(0), False, known
        )
    return spans


def _equation_spans(
    checker: EquationChecker, text: str, known: _Known
) -> list[tuple[int, int]]:
    runs = math_runs(text, checker.variables)
    if checker.general is not None:
        return [span for run in runs for span in _general_spans(checker, run, known)]
    spans = [span for run in runs for span in _solved_spans(checker, run, known)]
    return (
        spans
        + _copula_spans(checker, text, runs, known)
        + _value_spans(checker, text, runs, known)
    )


def _copula_spans(
    checker: EquationChecker, text: str, runs: list[list[Side]], known: _Known
) -> list[tuple[int, int]]:
    """ "x is 3", "x equals 2y + 1" """
    first_sides = {run[0].start: run[0] for run in runs}
    spans = []
    for match in _COPULA.finditer(text):
        side = first_sides.get(match.end())
        if (
            side is not None
            and side.parsed is not None
            and side.parsed.key not in known.side_keys
            and _is_value_of(checker, match.group("var"), side.parsed.expr)
        ):
            spans.append((match.start(), side.end))
    return spans


def _value_spans(
    checker: EquationChecker, text: str, runs: list[list[Side]], known: _Known
) -> list[tuple[int, int]]:
    """A value stated on its own: a number outside any expression holding a variable (when every
    value is a number), or a stretch of maths equivalent to a value that isn't a plain number."""
    values = [value for _, value in checker.pairs]
    spans = []
    if checker.bare_ok:
        variable_sides = sorted(
            (side.start, side.end) for run in runs for side in run if side.has_variable
        )
        starts = [start for start, _ in variable_sides]
        numbers = [
            c
            for c in numbers_in(text, checker.variables)
            if not _inside(c, variable_sides, starts)
        ]
        rationals = [r for r in map(_rational, values) if r is not None]
        spans += _number_spans(numbers, rationals, Fraction(0), False, known)
    others = [value for value in values if _rational(value) is None]
    for side in (side for run in runs for side in run) if others else ():
        if side.parsed is None or side.parsed.key in known.side_keys:
            continue
        if any(
            bool(value.free_symbols) == side.has_variable
            and equivalent(side.parsed.expr, value)
            for value in others
        ):
            spans.append((side.start, side.end))
    return spans


def _inside(
    candidate: Candidate, spans: list[tuple[int, int]], starts: list[int]
) -> bool:
    """Whether the candidate lies within one of the sorted, disjoint spans."""
    i = bisect.bisect_right(starts, candidate.start) - 1
    return i >= 0 and candidate.end <= spans[i][1]


def _is_value_of(checker: EquationChecker, variable: str, expr: sympy.Expr) -> bool:
    return any(
        str(v) == variable and equivalent(expr, value) for v, value in checker.pairs
    )


def _solved_spans(
    checker: EquationChecker, run: list[Side], known: _Known
) -> list[tuple[int, int]]:
    spans = []
    for i, first in enumerate(run):
        for second in run[i + 1 :]:
            if first.parsed is None or second.parsed is None:
                continue
            for var_side, value_side in ((first, second), (second, first)):
                variable = var_side.parsed.expr if var_side.parsed is not None else None
                if (
                    variable is None
                    or not variable.is_Symbol
                    or value_side.parsed is None
                ):
                    continue
                if value_side.parsed.key in known.side_keys:
                    continue
                if _is_value_of(checker, str(variable), value_side.parsed.expr):
                    spans.append((first.start, second.end))
    return spans


def _general_spans(
    checker: EquationChecker, run: list[Side], known: _Known
) -> list[tuple[int, int]]:
    spans = []
    for left, right in itertools.pairwise(run):
        if (
            left.parsed is None
            or right.parsed is None
            or not (left.has_variable or right.has_variable)
        ):
            continue
        if (left.parsed.key, right.parsed.key) in known.equation_keys:
            continue
        assert checker.general is not None
        if equations_equivalent(left.parsed.expr - right.parsed.expr, checker.general):
            spans.append((left.start, right.end))
    return spans


def _find_choice(
    checker: ChoiceChecker, spec: s.AnswerSpec, text: str, known: list[str]
) -> tuple[int, int] | None:
    if any(
        checker.resolve(clean_input(k, limit=MAX_SIDE_CHARS) or "") == checker.target
        for k in known
    ):
        return None
    mapped = map_text(text, prose=True)
    numbers = numbers_in(mapped.text) if not checker.numbers_ok else []
    said = [
        _option_spans(checker, i, text, mapped, numbers)
        for i in range(len(spec.choices))
    ]
    # every option named: the tutor is restating the question, not giving the answer away
    spans = [] if all(said) else said[checker.target]
    letter = chr(ord("A") + checker.target)
    for pattern in _LETTER_PATTERNS if checker.letters_ok else ():
        for match in re.finditer(pattern, text):
            if match.group("l").upper() == letter:
                spans.append(match.span())
    if checker.numbers_ok:
        for match in re.finditer(r"(?i:\b(?:option|choice))\s*#?(?P<n>\d+)\b", text):
            if int(match.group("n")) == checker.target + 1:
                spans.append(match.span())
    return _first(spans) if spans else None


def _option_spans(
    checker: ChoiceChecker,
    index: int,
    text: str,
    mapped: Mapped,
    numbers: list[Candidate],
) -> list[tuple[int, int]]:
    """Where an option's text is stated: by value for a number, as whole words if 4+ letters."""
    number = checker.numbers[index]
    if number is not None:
        return [
            mapped.span(c.start, c.end)
            for c in numbers
            if c.number.value == number.value
        ]
    if len(checker.options[index]) >= 4:
        return _phrase_spans(checker.options[index], text)
    return []


def _first(spans: list[tuple[int, int]]) -> tuple[int, int]:
    """The earliest mention; of those starting together, the longest ("x = 3", not "x")."""
    return min(spans, key=lambda span: (span[0], -span[1]))


def _phrase_spans(phrase: str, text: str) -> list[tuple[int, int]]:
    """Where a phrase stands as whole words, spaced in any way: "3 : 4" for "3:4", "20-ounce"
    for "20 ounce"."""
    normal = normalize_answer_text(phrase)
    if not normal:
        return []
    separators = {" ": r"[\s\-]+", ":": r"\s*:\s*", "/": r"\s*/\s*"}
    body = "".join(separators.get(char) or re.escape(char) for char in normal)
    pattern = r"(?<!\w)" + body + r"(?!\w)"
    return [match.span() for match in re.finditer(pattern, text, re.IGNORECASE)]


def _find_text(
    checker: TextChecker, spec: s.AnswerSpec, text: str, known: list[str]
) -> tuple[int, int] | None:
    if any(normalize_answer_text(k) in checker.accepted for k in known):
        return None
    spans = []
    for variant in (spec.value, *spec.accept):
        spans += _phrase_spans(variant, text)
    return _first(spans) if spans else None
