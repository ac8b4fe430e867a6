"""One checker per answer kind: how to read an answer, and how to judge it against the key.

A checker reads text (the student's, the key's value, a misconception's answer) into a
"reading", or returns a `Failure` with the student-facing message. `judge` says whether a
reading is correct and, when it is not, may name a built-in misconception (right value in the
wrong form, fraction not simplified, ...). `matcher` turns a misconception's answer into a test
of a reading, with the same equivalence as the correct answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction

from . import spec as s
from .equivalence import equivalent
from .expressions import CONSTANTS, FUNCTIONS, ParsedExpr, Problem, parse_expression
from .numbers import ParsedNumber, looks_like_decimal_comma, parse_number
from .text import normalize_words

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

    Accepted forms: the kind's own (integer: whole numbers; decimal: whole numbers and decimals;
    fraction: fractions and whole numbers), the form the key's value is written in, and the
    spec's `allow` ("decimal", "percent", "mixed", "fraction"). A fraction or mixed number must
    be in lowest terms unless "unsimplified" is allowed (or the key itself isn't simplified).
    Tolerance: for the decimal kind it applies to every form (default 1e-9); for integer and
    fraction kinds only to decimal and percent forms (default exact).
    """

    def __init__(self, spec: s.AnswerSpec) -> None:
        self.kind = spec.kind
        target = parse_number(spec.value)
        if target is None:
            raise s.InvalidAnswerKey(f"{spec.value!r} is not a number")
        self.target = target
        self.forms = _BASE_FORMS[spec.kind] | ({target.form} | set(spec.allow)) - {
            "unsimplified"
        }
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

    def _is_value(self, text: str) -> bool:
        number = parse_number(text)
        return number is not None and number.value == self.target.value

    def read(self, text: str) -> ParsedNumber | Failure:
        number = parse_number(text)
        if number is not None:
            return number
        return Failure(
            self.comma_hint if looks_like_decimal_comma(text) else self.generic
        )

    def _equal(self, number: ParsedNumber, value: Fraction) -> bool:
        if self.kind == "decimal" or number.form in ("decimal", "percent"):
            return abs(number.value - value) <= self.tolerance
        return number.value == value

    def judge(self, number: ParsedNumber) -> Judgement:
        if not self._equal(number, self.target.value):
            return Judgement(False)
        if number.form not in self.forms:
            return Judgement(
                False, s.Misconception(s.WRONG_FORM, s.FORM_FEEDBACK[self.kind])
            )
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


class ExpressionChecker:
    """expression kind: any expression equivalent to the key's (so `2(x+3)` is `2x+6`)."""

    def __init__(self, spec: s.AnswerSpec) -> None:
        self.variables = declared_variables(spec) or infer_variables(spec.value)
        target = parse_expression(spec.value, self.variables)
        if isinstance(target, Problem):
            raise s.InvalidAnswerKey(
                f"{spec.value!r} is not an expression in {', '.join(self.variables) or 'numbers'}"
            )
        self.target = target
        v = self.variables[0] if self.variables else ""
        examples = [f"2{v} + 6", f"3{v} - 1", f"5{v} + 2"] if v else ["2 + 6", "3 - 1"]
        self.generic = s.NOT_AN_EXPRESSION.format(
            example=first_example(examples, self._is_value)
        )

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
        return Judgement(equivalent(parsed.expr, self.target.expr))

    def matcher(self, answer: str) -> Callable[[ParsedExpr], bool] | Failure:
        other = self.read(answer)
        if isinstance(other, Failure):
            return other
        return lambda parsed: equivalent(parsed.expr, other.expr)

    def display(self, parsed: ParsedExpr) -> str:
        return parsed.display


class ChoiceChecker:
    """choice kind: the option's letter (A, "(b)", "option C"), number (1-based) or text.

    Letters are not accepted when some option is itself a single letter, nor option numbers
    when some option is a number (then "2" means the option whose text is 2).
    """

    def __init__(self, spec: s.AnswerSpec) -> None:
        self.options = tuple(normalize_words(choice) for choice in spec.choices)
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
        normal = normalize_words(text)
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
                if option is not None and option.value == number.value
            ]
            return hits[0] if len(hits) == 1 else None
        labelled = re.fullmatch(r"\(?([a-z])[).:]\s*(.+)", normal)
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


class TextChecker:
    """text kind: the value or an accepted variant, ignoring case, spacing, NFKC and end punctuation."""

    def __init__(self, spec: s.AnswerSpec) -> None:
        self.accepted = frozenset(
            normalize_words(t) for t in (spec.value, *spec.accept)
        ) - {""}
        if not normalize_words(spec.value):
            raise s.InvalidAnswerKey("the value is empty")

    def read(self, text: str) -> str | Failure:
        return normalize_words(text) or Failure(s.EMPTY)

    def judge(self, text: str) -> Judgement:
        return Judgement(text in self.accepted)

    def matcher(self, answer: str) -> Callable[[str], bool] | Failure:
        other = self.read(answer)
        if isinstance(other, Failure):
            return other
        return lambda text: text == other

    def display(self, text: str) -> str:
        return text
