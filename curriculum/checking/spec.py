"""The plain data the checker works on: answer keys in, verdicts and mentions out."""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("integer", "decimal", "fraction", "expression", "equation", "choice", "text")
NUMERIC_KINDS = ("integer", "decimal", "fraction")
ALGEBRA_KINDS = ("expression", "equation")
# Extra forms an answer may be written in (`allow`). For numeric kinds: "decimal", "percent",
# "mixed" and "fraction" (it lets a decimal or integer answer accept 1/4; for a percent key,
# "decimal" accepts 0.35 and "fraction" 7/20 for 35%), and "unsimplified" (a fraction or mixed
# number not in lowest terms). For the expression kind only "unsimplified": any equivalent
# expression, not just the simplified (or, for a factorised key, factorised) one. For a text
# answer that is a ratio (2:3) only "unsimplified": an equivalent ratio such as 4:6.
ALLOW_FORMS = ("decimal", "percent", "mixed", "fraction", "unsimplified")
# Which kinds each form applies to.
ALLOW_KINDS = {
    "decimal": NUMERIC_KINDS,
    "percent": NUMERIC_KINDS,
    "mixed": NUMERIC_KINDS,
    "fraction": NUMERIC_KINDS,
    "unsimplified": (*NUMERIC_KINDS, "expression", "text"),
}
DEFAULT_DECIMAL_TOLERANCE = 1e-9

# Codes of the misconceptions the checker reports by itself (authored codes may not use them).
NOT_SIMPLIFIED = "not-simplified"
WRONG_FORM = "wrong-form"
NOT_SOLVED = "not-solved"
INCOMPLETE = "incomplete"
BUILTIN_CODES = (NOT_SIMPLIFIED, WRONG_FORM, NOT_SOLVED, INCOMPLETE)


@dataclass(frozen=True)
class AnswerSpec:
    kind: str
    value: str
    tolerance: float | None = None
    allow: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    accept: tuple[str, ...] = ()
    variable: str | None = None


@dataclass(frozen=True)
class Misconception:
    code: str
    feedback: str
    answer: str | None = None
    pattern: str | None = None


@dataclass(frozen=True)
class AnswerKey:
    spec: AnswerSpec
    misconceptions: tuple[Misconception, ...] = ()


@dataclass(frozen=True)
class Verdict:
    correct: bool
    normalized: str | None
    misconception: Misconception | None
    feedback: str
    parse_error: str | None


@dataclass(frozen=True)
class AnswerMention:
    value: str
    span: tuple[int, int]


class InvalidAnswerKey(ValueError):
    """The key's own value can't be read for its kind: an authoring error, not student input."""


# Student-facing messages. Examples inside messages are picked so they never equal the answer.
CORRECT = "That's right, well done!"
INCORRECT = "Not quite. Have another look."
EMPTY = "Please type an answer first."
TOO_LONG = "That's too long to be an answer. Please type just your answer."
NOT_A_NUMBER = "I couldn't read that as a number."
NOT_A_FRACTION = "I couldn't read that as a fraction like {example}."
DECIMAL_COMMA = (
    "I couldn't read that as a number. Use a point for decimals, like {example}."
)
NOT_AN_EXPRESSION = "I couldn't read that expression. Try something like {example}."
NOT_AN_EQUATION = "I couldn't read that equation. Try something like {example}."
UNKNOWN_NAME = "I don't know what \u201c{name}\u201d means here. {use}"
DIVIDES_BY_ZERO = "That divides by zero, so I can't work with it."
TOO_BIG = "Those numbers are too big for me to check. Try writing it more simply."
NOT_A_CHOICE = (
    "Please pick one of the options: type its letter ({letters}) or its text."
)
SIMPLIFY = (
    "That's equivalent, but it isn't in simplest form. Can you simplify your fraction?"
)
FORM_FEEDBACK = {
    "integer": "Write your answer as a whole number.",
    "decimal": "Write your answer as a decimal.",
    "fraction": "Write your answer as a fraction, a numerator over a denominator.",
}
WRITE_PERCENT = "Write it as a percent, like {example}."
NOT_SIMPLIFIED_YET = "That's equivalent, but not simplified yet: {step}."
SIMPLIFY_STEPS = {
    "brackets": "expand the brackets",
    "like-terms": "combine like terms",
    "arithmetic": "work out the arithmetic with the numbers",
    "powers": "combine the powers of the same factor",
    "ratio": "simplify the ratio",
}
NOT_FACTORISED = (
    "That's equivalent, but not factorised: write it as a product, taking out every "
    "common factor."
)
SOLVE_FOR = "That equation is true, but it isn't solved yet. Get {var} on its own."
WRITE_EQUATION = "Write your answer as an equation with {var} on one side."
PART_OF_IT = "That's right as far as it goes, but it isn't the whole answer."
