"""One checker per answer kind: how to read an answer, and how to judge it against the key.

A checker reads text (the student's, the key's value, a misconception's answer) into a
"reading", or returns a `Failure` with the student-facing message. `judge` says whether a
reading is correct and, when it is not, may name a built-in misconception (right value in the
wrong form, fraction not simplified, ...). `matcher` turns a misconception's answer into a test
of a reading, with the same equivalence as the correct answer.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

import sympy

from . import spec as s
from .equivalence import equivalent
from .expressions import (
    CONSTANTS,
    FUNCTIONS,
    ParsedExpr,
    Problem,
    expression_from_code,
    parse_expression,
)
from .forms import expression_form
from .numbers import ParsedNumber, looks_like_decimal_comma, parse_number
from .text import normalize_answer_text, normalize_option, normalize_words

_NAME = re.compile(r"[A-Za-z]+(?:_[A-Za-z0-9]+)?")
_VARIABLE_NAME = re.compile(r"[A-Za-z](?:[A-Za-z]*|_[A-Za-z0-9]+)")
_BASE_FORMS = {
    "integer": {"integer"},
    "decimal": {"integer", "decimal"},
    "fraction": {"fraction", "integer"},
}
_NAMED_LHS = re.compile(
    r"\s*[A-Za-z]\w{0,10}(?:\s*\(\s*[A-Za-z]\s*\))?\s*=(?P<rhs>[^=]+)"
)


@dataclass(frozen=True)
class Failure:
    message: str


@dataclass(frozen=True)
class Judgement:
    correct: bool
    builtin: s.Misconception | None = None


def first_example(candidates: list[str], is_answer: Callable[[str], bool]) -> str:
    """The first example that isn't itself the answer (so a parse error never gives it away)."""
    return next((c for c in candidates if not is_answer(c)), candidates[-1])


def problem_message(problem: Problem, generic: str, variables: tuple[str, ...]) -> str:
    if problem.reason == "unknown":
        name = problem.name if len(problem.name) <= 15 else problem.name[:15] + "\u2026"
        if variables:
            use = (
                f"Use {', '.join(variables)} and numbers."
                if len(variables) > 1
                else f"Use {variables[0]} and numbers."
            )
        else:
            use = "Use numbers only."
        return s.UNKNOWN_NAME.format(name=name, use=use)
    if problem.reason == "zero":
        return s.DIVIDES_BY_ZERO
    if problem.reason == "big":
        return s.TOO_BIG
    return generic


def declared_variables(spec: s.AnswerSpec) -> tuple[str, ...]:
    if not spec.variable:
        return ()
    return tuple(
        dict.fromkeys(
            name for name in re.split(r"[\s,;]+", spec.variable.strip()) if name
        )
    )


def infer_variables(text: str) -> tuple[str, ...]:
    """Variables in an authored value: names that aren't functions or constants, letter by letter."""
    found: list[str] = []
    for name in _NAME.findall(text):
        if "_" in name:
            found.append(name)
            continue
        pos = 0
        while pos < len(name):
            word = max(
                (w for w in (*FUNCTIONS, *CONSTANTS) if name.startswith(w, pos)),
                key=len,
                default="",
            )
            if word:
                pos += len(word)
            else:
                found.append(name[pos])
                pos += 1
    return tuple(dict.fromkeys(found))


def bad_variable_names(spec: s.AnswerSpec) -> list[str]:
    return [
        name
        for name in declared_variables(spec)
        if not _VARIABLE_NAME.fullmatch(name) or name in FUNCTIONS
    ]


class NumericChecker:
    """integer, decimal and fraction kinds. Values are exact Fractions.

    Accepted forms: the kind's own (integer: whole numbers, also written "15.0"; decimal: whole
    numbers and decimals; fraction: fractions and whole numbers), the form the key's value is
    written in, and the spec's `allow` ("decimal", "percent", "mixed", "fraction"). A fraction or
    mixed number must be in lowest terms unless "unsimplified" is allowed (or the key itself
    isn't simplified). A fraction may carry its sign on the denominator: "10/-3" is -10/3.

    A key written as a percent ("35%") wants a percent. A bare number is read as one ("35" is
    35%, like "35%" and "35 percent"), unless it is the key's own value unconverted ("0.35" for
    35%, "1.2" for 120%, the prompt of a "write as a percent" item): that, like 7/20, is the
    right value in the wrong form ("wrong-form") unless `allow` lists "decimal" (or "fraction",
    "mixed"). An integer key that allows "percent" reads a percent sign as a label, like a
    unit: "35%" and "35 percent" are 35, for "what percent" questions; without it "35%" is 0.35
    (so "Find 10% of 350" does not accept "35%").

    Tolerance: for the decimal kind it applies to every form (default 1e-9); for integer and
    fraction kinds only to decimal and percent forms (default exact).
    """

    def __init__(self, spec: s.AnswerSpec) -> None:
        self.kind = spec.kind
        target = parse_number(spec.value)
        if target is None:
            raise s.InvalidAnswerKey(f"{spec.value!r} is not a number")
        self.target = target
        allowed = set(spec.allow) - {"unsimplified"}
        self.percent_key = target.form == "percent"
        if self.percent_key:
            # a whole number that is the value unconverted ("1" for 100%) is a decimal too
            self.forms = (
                {"percent"} | allowed | ({"integer"} if "decimal" in allowed else set())
            )
        else:
            self.forms = _BASE_FORMS[spec.kind] | {target.form} | allowed
        self.percent_label = (
            spec.kind == "integer" and not self.percent_key and "percent" in allowed
        )
        self.unsimplified_ok = "unsimplified" in spec.allow or not target.simplified
        if spec.tolerance is not None:
            self.tolerance = Fraction(str(spec.tolerance))
        else:
            self.tolerance = (
                Fraction(str(s.DEFAULT_DECIMAL_TOLERANCE))
                if spec.kind == "decimal"
                else Fraction(0)
            )
        is_answer = self._is_value
        if spec.kind == "fraction":
            self.generic = s.NOT_A_FRACTION.format(
                example=first_example(["3/4", "2/5", "5/8"], is_answer)
            )
        else:
            self.generic = s.NOT_A_NUMBER
        self.comma_hint = s.DECIMAL_COMMA.format(
            example=first_example(["2.5", "1.5"], is_answer)
        )
        self.form_feedback = (
            s.WRITE_PERCENT.format(
                example=first_example(["40%", "50%", "25%"], is_answer)
            )
            if self.percent_key
            else s.FORM_FEEDBACK[spec.kind]
        )

    def _is_value(self, text: str) -> bool:
        number = parse_number(text)
        return number is not None and number.value == self.target.value

    def read(self, text: str) -> ParsedNumber | Failure:
        number = parse_number(text)
        if number is None:
            return Failure(
                self.comma_hint if looks_like_decimal_comma(text) else self.generic
            )
        if self.percent_key and number.form in ("integer", "decimal"):
            percent = _as_percent(number)
            unconverted = self._equal(number, self.target.value)
            if not unconverted or self._equal(percent, self.target.value):
                return percent
        if self.percent_label and number.form == "percent":
            return _as_label(number)
        return number

    def _equal(self, number: ParsedNumber, value: Fraction) -> bool:
        if self.kind == "decimal" or number.form in ("decimal", "percent"):
            return abs(number.value - value) <= self.tolerance
        return number.value == value

    def judge(self, number: ParsedNumber) -> Judgement:
        if not self._equal(number, self.target.value):
            return Judgement(False)
        form = number.form
        if (
            self.kind == "integer"
            and form == "decimal"
            and number.value.denominator == 1
        ):
            form = "integer"  # "15.0": the same whole number
        if form not in self.forms:
            return Judgement(False, s.Misconception(s.WRONG_FORM, self.form_feedback))
        if not number.simplified and not self.unsimplified_ok:
            return Judgement(False, s.Misconception(s.NOT_SIMPLIFIED, s.SIMPLIFY))
        return Judgement(True)

    def matcher(self, answer: str) -> Callable[[ParsedNumber], bool] | Failure:
        other = self.read(answer)
        if isinstance(other, Failure):
            return other
        return lambda number: self._equal(number, other.value)

    def display(self, number: ParsedNumber) -> str:
        return number.display


def _as_percent(number: ParsedNumber) -> ParsedNumber:
    """A bare number read as a percent: "35" is 35%."""
    return ParsedNumber(
        number.value / 100,
        "percent",
        number.display + "%",
        True,
        ("percent", number.value),
    )


def _as_label(number: ParsedNumber) -> ParsedNumber:
    """A percent whose sign is a label: "35%" is the number 35 (the display stays "35%")."""
    value = number.value * 100
    form = "decimal" if "." in number.display else "integer"
    return ParsedNumber(value, form, number.display, True, ("number", value))


class ExpressionChecker:
    """expression kind: an expression equivalent to the key's, written in the key's form.

    The form (see `forms`): when the key's value is simplified ("3x + 12"), the answer must be
    simplified too: "3(x+4)", "12 + 3x + 0" or "5x - 2x + 12" get the built-in
    "not-simplified", with the step left ("expand the brackets", "combine like terms", ...).
    When the key is factorised ("3(x+4)"), the answer must be factorised into the same brackets,
    up to order and sign ("(x+4)*3", "-3(-x-4)"): "3x + 12" or "6(x/2 + 2)" get "wrong-form". A
    key in neither form, or `allow: [unsimplified]`, accepts any equivalent expression.
    """

    def __init__(self, spec: s.AnswerSpec) -> None:
        self.variables = declared_variables(spec) or infer_variables(spec.value)
        target = parse_expression(spec.value, self.variables)
        if isinstance(target, Problem):
            raise s.InvalidAnswerKey(
                f"{spec.value!r} is not an expression in {', '.join(self.variables) or 'numbers'}"
            )
        self.target = target
        form = expression_form(target.code)
        self.factors: tuple[sympy.Expr, ...] = ()
        if "unsimplified" in spec.allow:
            self.mode = "any"
        elif form.issue is None:
            self.mode = "simplified"
        elif form.factorised:
            self.mode = "factorised"
            self.factors = self._factors(form.product)
        else:
            self.mode = "any"
        v = self.variables[0] if self.variables else ""
        examples = [f"2{v} + 6", f"3{v} - 1", f"5{v} + 2"] if v else ["2 + 6", "3 - 1"]
        self.generic = s.NOT_AN_EXPRESSION.format(
            example=first_example(examples, self._is_value)
        )

    def _factors(self, sources: tuple[str, ...]) -> tuple[sympy.Expr, ...]:
        found = [expression_from_code(source, self.variables) for source in sources]
        return tuple(f for f in found if not isinstance(f, Problem))

    def _is_value(self, text: str) -> bool:
        parsed = parse_expression(text, self.variables)
        return isinstance(parsed, ParsedExpr) and equivalent(
            parsed.expr, self.target.expr
        )

    def read(self, text: str) -> ParsedExpr | Failure:
        if text.count("=") == 1:
            named = _NAMED_LHS.fullmatch(text)  # "y = 2x + 6", "f(x) = 2x + 6"
            if named is None:
                return Failure(self.generic)
            text = named.group("rhs")
        parsed = parse_expression(text, self.variables)
        if isinstance(parsed, Problem):
            return Failure(problem_message(parsed, self.generic, self.variables))
        return parsed

    def judge(self, parsed: ParsedExpr) -> Judgement:
        if not equivalent(parsed.expr, self.target.expr):
            return Judgement(False)
        if self.mode == "any":
            return Judgement(True)
        form = expression_form(parsed.code)
        if self.mode == "simplified":
            return (
                Judgement(True) if form.issue is None else _not_simplified(form.issue)
            )
        if form.product and self._same_factors(self._factors(form.product)):
            return Judgement(True) if form.rest is None else _not_simplified(form.rest)
        return Judgement(False, s.Misconception(s.WRONG_FORM, s.NOT_FACTORISED))

    def _same_factors(self, factors: tuple[sympy.Expr, ...]) -> bool:
        """The same brackets as the key's, in any order, each up to its sign."""
        left = list(self.factors)
        if len(factors) != len(left):
            return False
        for factor in factors:
            match = next(
                (
                    i
                    for i, other in enumerate(left)
                    if equivalent(factor, other) or equivalent(factor, -other)
                ),
                None,
            )
            if match is None:
                return False
            left.pop(match)
        return True

    def matcher(self, answer: str) -> Callable[[ParsedExpr], bool] | Failure:
        other = self.read(answer)
        if isinstance(other, Failure):
            return other
        return lambda parsed: equivalent(parsed.expr, other.expr)

    def display(self, parsed: ParsedExpr) -> str:
        """sympy's form when the answer was simplified; otherwise as written, so that feedback
        on an unsimplified answer never shows it simplified (that would be the answer)."""
        simplified = expression_form(parsed.code).issue is None
        return parsed.display if simplified else parsed.written


def _not_simplified(issue: str) -> Judgement:
    feedback = s.NOT_SIMPLIFIED_YET.format(step=s.SIMPLIFY_STEPS[issue])
    return Judgement(False, s.Misconception(s.NOT_SIMPLIFIED, feedback))


class ChoiceChecker:
    """choice kind: the answer must identify one option, by its letter (A, "(b)", "option C"),
    its number (1-based) or its text, compared after `normalize_option` (case, spacing, unicode,
    edge punctuation, "20-ounce" = "20 ounce", a leading "the"/"a"/"an" ignored).

    An option that is a number is also picked by the same number written the same way ("15.0"
    is "15", "3 / 4" is "3/4", "62 percent" is "62%"), never by a different spelling of its
    value: "3/4", "0.75" or "75%" do not pick the option "6/8". Letters are not accepted when
    some option is itself a single letter, nor option numbers when some option is a number
    (then "2" means the option whose text is 2).
    """

    def __init__(self, spec: s.AnswerSpec) -> None:
        self.options = tuple(normalize_option(choice) for choice in spec.choices)
        self.numbers = tuple(parse_number(choice) for choice in spec.choices)
        self.letters_ok = not any(len(o) == 1 and o.isalpha() for o in self.options)
        self.numbers_ok = not any(self.numbers)
        last = chr(ord("A") + len(self.options) - 1) if self.options else "A"
        letters = f"A to {last}" if self.letters_ok else f"1 to {len(self.options)}"
        self.generic = s.NOT_A_CHOICE.format(letters=letters)
        target = self.read(spec.value)
        if isinstance(target, Failure):
            raise s.InvalidAnswerKey(f"{spec.value!r} is not one of the choices")
        self.target = target

    def resolve(self, text: str) -> int | None:
        normal = normalize_option(text)
        if normal in self.options:
            return self.options.index(normal)
        bare = re.sub(r"^(?:option|choice|answer)\s+", "", normal)
        if (
            self.letters_ok
            and re.fullmatch(r"[a-z]", bare)
            and ord(bare) - ord("a") < len(self.options)
        ):
            return ord(bare) - ord("a")
        if (
            self.numbers_ok
            and re.fullmatch(r"\d{1,3}", bare)
            and 1 <= int(bare) <= len(self.options)
        ):
            return int(bare) - 1
        number = parse_number(text) if not self.numbers_ok else None
        if number is not None:
            hits = [
                i
                for i, option in enumerate(self.numbers)
                if option is not None and option.key == number.key
            ]
            return hits[0] if len(hits) == 1 else None
        labelled = re.fullmatch(r"\(?([a-z])[).:]\s*(.+)", normalize_words(text))
        if labelled and self.letters_ok:
            index = ord(labelled.group(1)) - ord("a")
            return index if self.resolve(labelled.group(2)) == index else None
        return None

    def read(self, text: str) -> int | Failure:
        index = self.resolve(text)
        return Failure(self.generic) if index is None else index

    def judge(self, index: int) -> Judgement:
        return Judgement(index == self.target)

    def matcher(self, answer: str) -> Callable[[int], bool] | Failure:
        other = self.read(answer)
        if isinstance(other, Failure):
            return other
        return lambda index: index == other

    def display(self, index: int) -> str:
        return chr(ord("A") + index)


_RATIO_PART = r"\d+(?:\.\d+)?"
_RATIO = re.compile(rf"{_RATIO_PART}(?:(?::| to ){_RATIO_PART})+")
_RATIO_SEPARATOR = re.compile(r":| to ")


@dataclass(frozen=True)
class TextReading:
    text: str
    # "4:6", "4 to 6": the parts, when the text is a ratio
    ratio: tuple[Fraction, ...] | None = None


def read_ratio(text: str) -> tuple[Fraction, ...] | None:
    """The parts of a ratio in normalised text ("3:4:10", "3 to 4"), or None."""
    if _RATIO.fullmatch(text) is None:
        return None
    return tuple(Fraction(part) for part in _RATIO_SEPARATOR.split(text))


def whole_ratio(text: str) -> tuple[Fraction, ...] | None:
    """A text answer's value as a ratio of whole numbers ("2:3", "3:4:10"), or None."""
    ratio = read_ratio(normalize_answer_text(text))
    return ratio if ratio and all(p.denominator == 1 for p in ratio) else None


def proportional(a: tuple[Fraction, ...], b: tuple[Fraction, ...]) -> bool:
    """Whether two ratios have the same proportions (4:6 and 2:3)."""
    if len(a) != len(b) or not any(a):
        return False
    i = next(i for i, part in enumerate(a) if part)
    scale = b[i] / a[i]
    return scale > 0 and all(y == scale * x for x, y in zip(a, b, strict=True))


def lowest_terms(ratio: tuple[Fraction, ...]) -> bool:
    return all(p.denominator == 1 for p in ratio) and math.gcd(*map(int, ratio)) == 1


class TextChecker:
    """text kind: the value or an accepted variant, compared after `normalize_answer_text`
    (case, spacing, NFKC, end punctuation, no spaces around ":" and "/": "3 : 4" is "3:4").

    A value that is a ratio of whole numbers ("2:3", "3:4:10") also accepts the same ratio
    written "2 to 3"; an equivalent ratio that isn't in lowest terms ("4:6", "2.5:1.5") gets the
    built-in "not-simplified", unless `allow` lists "unsimplified" (or the value itself isn't in
    lowest terms), when it is correct. Misconception answers match the same way: "3 : 2" and
    "6:4" match a misconception written "3:2".
    """

    def __init__(self, spec: s.AnswerSpec) -> None:
        self.accepted = frozenset(
            normalize_answer_text(t) for t in (spec.value, *spec.accept)
        ) - {""}
        if not normalize_answer_text(spec.value):
            raise s.InvalidAnswerKey("the value is empty")
        self.ratio = whole_ratio(spec.value)
        self.unsimplified_ok = "unsimplified" in spec.allow or (
            self.ratio is not None and not lowest_terms(self.ratio)
        )

    def read(self, text: str) -> TextReading | Failure:
        normal = normalize_answer_text(text)
        if not normal:
            return Failure(s.EMPTY)
        return TextReading(normal, read_ratio(normal))

    def judge(self, reading: TextReading) -> Judgement:
        if reading.text in self.accepted:
            return Judgement(True)
        if (
            self.ratio is None
            or reading.ratio is None
            or not proportional(reading.ratio, self.ratio)
        ):
            return Judgement(False)
        if self.unsimplified_ok or lowest_terms(reading.ratio):
            return Judgement(True)
        feedback = s.NOT_SIMPLIFIED_YET.format(step=s.SIMPLIFY_STEPS["ratio"])
        return Judgement(False, s.Misconception(s.NOT_SIMPLIFIED, feedback))

    def matcher(self, answer: str) -> Callable[[TextReading], bool] | Failure:
        other = self.read(answer)
        if isinstance(other, Failure):
            return other
        return lambda reading: (
            reading.text == other.text
            or (
                reading.ratio is not None
                and other.ratio is not None
                and proportional(reading.ratio, other.ratio)
            )
        )

    def display(self, reading: TextReading) -> str:
        return reading.text
