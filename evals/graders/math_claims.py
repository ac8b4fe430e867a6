"""Correctness of the arithmetic and algebra claims a tutor reply makes.

Finds claims such as "3 × 4 = 12", "5 times 14 is 70", "2/4 = 1/2", "20% of 20 = 4",
chains "5+1=6, 6+3=9" and "x = 5", evaluates the left side exactly with Fractions (no eval, no
float drift) and fails the reply when any claim is false. "x = 5" is checked with sympy against an
equation in x found in the problem text or the dialogue, and only when one is found.

Also exports ``evaluate`` (a small exact expression evaluator) and ``question_answer`` (the value
that answers an arithmetic question such as "What is the product of 9 and 8?"), used by the
answer-leak grader.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from .base import Grade, GradeInput, sentences

NAME = "math_claims"
VERSION = "1.0"

# ---------------------------------------------------------------- exact expression evaluator

_WORD_OPS = [
    (r"\bmultiplied\s+by\b", "*"),
    (r"\bdivided\s+by\b", "/"),
    (r"\bgroups?\s+of\b", "*"),
    (r"\btimes\b", "*"),
    (r"\bplus\b", "+"),
    (r"\bminus\b", "-"),
    (r"\bover\b", "/"),
    (r"\bsquared\b", "^2"),
    (r"\bcubed\b", "^3"),
    (r"\bto\s+the\s+power\s+of\b", "^"),
    (r"%\s*of\b", "%*"),
]
_SYMBOL_OPS = str.maketrans(
    {"×": "*", "✕": "*", "·": "*", "⋅": "*", "÷": "/", "−": "-", "–": "-", "—": "-"}
)
_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?|\.\d+)|(\*\*|[-+*/^()%x]))")


def _normalise_expr(text: str) -> str:
    text = text.translate(_SYMBOL_OPS)
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    text = text.replace("$", "")
    for pattern, op in _WORD_OPS:
        text = re.sub(pattern, f" {op} ", text, flags=re.IGNORECASE)
    # "3 x 4" / "3x4" means times; an "x" next to a letter stays a variable.
    text = re.sub(r"(?<=[\d)\s])[xX](?=\s*[\d(])", "*", text)
    return text


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.i = 0

    def peek(self) -> str | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> str:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def expr(self) -> Fraction:
        value = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()
            rhs = self.term()
            value = value + rhs if op == "+" else value - rhs
        return value

    def term(self) -> Fraction:
        value = self.power()
        while self.peek() in ("*", "/"):
            op = self.take()
            rhs = self.power()
            if op == "*":
                value *= rhs
            else:
                if rhs == 0:
                    raise ZeroDivisionError
                value /= rhs
        return value

    def power(self) -> Fraction:
        base = self.unary()
        if self.peek() in ("^", "**"):
            self.take()
            exponent = self.power()
            if exponent.denominator != 1 or abs(exponent) > 12:
                raise ValueError("unsupported exponent")
            return base ** int(exponent)
        return base

    def unary(self) -> Fraction:
        if self.peek() == "-":
            self.take()
            return -self.unary()
        if self.peek() == "+":
            self.take()
            return self.unary()
        return self.atom()

    def atom(self) -> Fraction:
        tok = self.peek()
        if tok is None:
            raise ValueError("unexpected end")
        if tok == "(":
            self.take()
            value = self.expr()
            if self.peek() != ")":
                raise ValueError("unbalanced")
            self.take()
            return self._percent(value)
        if tok[0].isdigit() or tok[0] == ".":
            self.take()
            return self._percent(Fraction(tok))
        raise ValueError(f"unexpected token {tok}")

    def _percent(self, value: Fraction) -> Fraction:
        if self.peek() == "%":
            self.take()
            return value / 100
        return value


@lru_cache(maxsize=4096)
def evaluate(text: str) -> Fraction | None:
    """Exact value of a plain arithmetic expression, or None if it is not one.

    Accepts digits, + - * / ^, parentheses, percent, "×", "÷", "x" between numbers and the word
    operators "times", "multiplied by", "plus", "minus", "divided by", "groups of", "% of".
    """
    src = _normalise_expr(text).strip()
    tokens: list[str] = []
    pos = 0
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if not m:
            if src[pos:].strip() == "":
                break
            return None
        tokens.append(m.group(1) or m.group(2))
        pos = m.end()
    if not tokens:
        return None
    parser = _Parser(tokens)
    try:
        value = parser.expr()
    except (ValueError, ZeroDivisionError, IndexError, OverflowError):
        return None
    if parser.i != len(tokens):
        return None
    return value


# ---------------------------------------------------------------- answers to arithmetic questions

_NUM = r"-?\$?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
_EXPR_CHARS = r"[\d\s.,+\-*/^()%x×÷−$]"
_QUESTION_FORMS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(rf"\bsum\s+of\s+({_NUM})\s+and\s+({_NUM})", re.I), "{0}+{1}"),
    (re.compile(rf"\bproduct\s+of\s+({_NUM})\s+and\s+({_NUM})", re.I), "{0}*{1}"),
    (
        re.compile(rf"\bdifference\s+(?:between|of)\s+({_NUM})\s+and\s+({_NUM})", re.I),
        "abs:{0}-{1}",
    ),
    (
        re.compile(
            rf"\bquotient\s+of\s+({_NUM})\s+(?:and|divided\s+by|by)\s+({_NUM})", re.I
        ),
        "{0}/{1}",
    ),
    (
        re.compile(
            rf"\bhow\s+many\s+times\s+(?:does|do|will|can)?\s*({_NUM})\s+(?:will\s+|can\s+)?(?:go|goes|fit|fits)\s+(?:in|into)\s+({_NUM})",
            re.I,
        ),
        "floor:{1}/{0}",
    ),
    (
        re.compile(
            rf"\bwhat\s+(?:number\s+)?times\s+({_NUM})\s+(?:is|equals|gives(?:\s+us)?|makes)\s+({_NUM})",
            re.I,
        ),
        "{1}/{0}",
    ),
    (re.compile(rf"({_NUM})\s*%\s*of\s+({_NUM})", re.I), "{0}/100*{1}"),
    (
        re.compile(
            rf"\b(?:greatest|largest|biggest|greater|larger|bigger)\b.{{0,30}}?\b(?:among|between|of)\s+({_NUM})\s*(?:,|and|or)\s*({_NUM})",
            re.I,
        ),
        "max:{0},{1}",
    ),
    (
        re.compile(
            rf"\b(?:smallest|least|smaller|lesser)\b.{{0,30}}?\b(?:among|between|of)\s+({_NUM})\s*(?:,|and|or)\s*({_NUM})",
            re.I,
        ),
        "min:{0},{1}",
    ),
]
_VALUE_OF = re.compile(
    rf"(?:what\s+is|what's|find|calculate|compute|solve|evaluate)\s+(?:the\s+(?:value|sum|product|result|answer)\s+(?:of|to)\s+)?"
    rf"(?P<expr>(?:{_EXPR_CHARS}|\b(?:times|plus|minus|multiplied\s+by|divided\s+by|over)\b)+)",
    re.I,
)
_BARE = re.compile(rf"(?P<expr>{_EXPR_CHARS}+?)\s*=\s*\?")


def _fill(template: str, groups: tuple[str, ...]) -> Fraction | None:
    mode = ""
    if ":" in template:
        mode, template = template.split(":", 1)
    if mode in ("max", "min"):
        values = [evaluate(g) for g in groups]
        if any(v is None for v in values):
            return None
        return max(values) if mode == "max" else min(values)  # type: ignore[type-var]
    value = evaluate(template.format(*groups))
    if value is None:
        return None
    if mode == "abs":
        return abs(value)
    if mode == "floor":
        return Fraction(value.numerator // value.denominator)
    return value


def question_answer(text: str) -> Fraction | None:
    """The value that answers an arithmetic question, e.g. "What is 25 minus 18?" -> 7.

    Looks at the last question in ``text``; None when it is not a recognisable computation.
    """
    candidates = [s for s in sentences(text) if "?" in s or "=" in s] or [text]
    question = candidates[-1]
    for pattern, template in _QUESTION_FORMS:
        m = pattern.search(question)
        if m:
            return _fill(template, m.groups())
    for pattern in (_BARE, _VALUE_OF):
        m = pattern.search(question)
        if m:
            expr = m.group("expr").strip(" ?.,")
            if re.search(r"\d", expr) and re.search(
                r"[-+*/^×÷x%]|times|plus|minus|by|over", expr
            ):
                value = evaluate(expr)
                if value is not None:
                    return value
    return None


# ---------------------------------------------------------------- claims


@dataclass(frozen=True)
class Claim:
    text: str
    lhs: str
    stated: Fraction
    actual: Fraction | None
    approximate: bool

    @property
    def correct(self) -> bool | None:
        if self.actual is None:
            return None
        if self.approximate or (
            self.stated.denominator != 1 and _decimals(self.text) is not None
        ):
            return _close(self.actual, self.stated, self.text)
        return self.actual == self.stated


def _decimals(text: str) -> int | None:
    m = re.search(r"(?:=|≈|equals|is)\s*-?\$?\d[\d,]*\.(\d+)", text)
    return len(m.group(1)) if m else None


def _close(actual: Fraction, stated: Fraction, text: str) -> bool:
    places = _decimals(text)
    if places is not None:
        return abs(actual - stated) <= Fraction(1, 2 * 10**places) + Fraction(1, 10**12)
    return abs(actual - stated) <= abs(actual) / 100 + Fraction(1, 10**9)


_OPERAND = rf"(?:\(\s*)*{_NUM}(?:\s*/\s*\d+(?!\d|\.\d))?(?:\s*%)?(?:\s*\))*"
_OPWORD = r"(?:[-+*/^×÷−x]|\*\*|times|plus|minus|multiplied\s+by|divided\s+by|groups?\s+of|%\s*of|over)"
_UNIT = r"(?:\s+(?!(?:times|plus|minus|multiplied|divided|groups?|over|of|is|equals|and|or|not|to|x|gives|makes|get)\b)[a-z]+\b)?"
_RELATION = r"(?:=|≈|equals|is\s+equal\s+to|is\s+approximately|is\s+about|is\s+actually|is|gives(?:\s+(?:us|you))?|makes|get)"
_CLAIM = re.compile(
    rf"(?P<lhs>{_OPERAND}{_UNIT}(?:\s*{_OPWORD}\s*{_OPERAND}{_UNIT})*)\s*"
    rf"(?P<rel>{_RELATION})\s*(?P<approx>approximately\s+|about\s+|around\s+|roughly\s+)?"
    rf"(?P<rhs>{_NUM}(?:\s*/\s*\d+(?!\d|\.\d))?)(?P<pct>\s*%)?(?!\s*[-+*/×÷^x]\s*\d)",
    re.IGNORECASE,
)


def _strip_units(lhs: str) -> str:
    return re.sub(
        r"(?<=[\d%)])\s+(?!(?:times|plus|minus|multiplied|divided|groups?|over|of|x)\b)[a-z]+\b",
        " ",
        lhs,
        flags=re.I,
    )


def _value(text: str) -> Fraction | None:
    return evaluate(text)


def claims(text: str) -> list[Claim]:
    """Arithmetic claims in the declarative sentences of ``text``.

    A claim needs an operator on its left side ("5 is in the hundreds place" is not one). Claims
    inside questions are skipped: asking "is 3 × 4 = 12?" asserts nothing.
    """
    found: list[Claim] = []
    for sentence in sentences(text):
        if sentence.rstrip().endswith("?"):
            continue
        for part in re.split(
            r"(?<=\d)\s*[,;]\s+(?=\d)|\s+and\s+then\s+|\bthen\b", sentence
        ):
            found.extend(_claims_in(part))
    return found


def _claims_in(part: str) -> list[Claim]:
    out: list[Claim] = []
    part = re.sub(
        r"(?<=[\d)])\s*\((?=\s*[\d.])", "*(", part
    )  # "1000(1.05)" -> "1000*(1.05)"
    # chains "a = b = c": split on "=" and check each adjacent pair
    if part.count("=") >= 2:
        pieces = [p.strip() for p in part.split("=")]
        expr = rf"{_OPERAND}(?:\s*{_OPWORD}\s*{_OPERAND})*"
        for left, right in itertools.pairwise(pieces):
            right_expr = re.match(rf"^{expr}", right.strip())
            left_expr = re.search(rf"{expr}\s*$", left)
            if not right_expr or not left_expr:
                continue
            lhs_text, rhs_text = left_expr.group().strip(), right_expr.group().strip()
            if not re.search(
                r"[-+*/^×÷x%]", lhs_text.lstrip("-") + rhs_text.lstrip("-")
            ):
                continue
            stated = evaluate(rhs_text)
            if stated is None:
                continue
            out.append(
                Claim(
                    f"{lhs_text} = {rhs_text}",
                    lhs_text,
                    stated,
                    evaluate(lhs_text),
                    False,
                )
            )
        return out
    for m in _CLAIM.finditer(part):
        lhs = m.group("lhs").strip()
        ops = re.sub(r"\d[\d,]*(?:\.\d+)?", "", lhs)
        if not re.search(
            r"[-+*/^×÷−%]|times|plus|minus|multiplied|divided|groups?\s+of|over|\bx\b",
            ops,
            re.I,
        ):
            continue
        if m.group("rel").lower() in ("is", "get", "makes") and not re.search(
            r"[-+*/^×÷−=]|times|plus|minus|multiplied|divided|groups?\s+of", lhs, re.I
        ):
            continue
        rhs_text = m.group("rhs") + (m.group("pct") or "")
        stated = evaluate(rhs_text)
        if stated is None:
            continue
        actual = _value(_strip_units(lhs))
        approx = (
            bool(m.group("approx"))
            or "≈" in m.group("rel")
            or "approx" in m.group("rel").lower()
            or "about" in m.group("rel").lower()
        )
        out.append(Claim(m.group().strip(), lhs, stated, actual, approx))
    return out


# ---------------------------------------------------------------- "x = 5"

_VAR_CLAIM = re.compile(
    rf"(?<![\w^*/])(?P<var>[a-z])\s*(?:=|equals|is\s+equal\s+to)\s*(?P<rhs>{_NUM}(?:\s*/\s*\d+)?)(?!\d|\.\d|\s*[-+*/^])",
    re.I,
)
_EQ_SIDE = r"(?:[-+*/^().\d ]|(?<![a-z])[a-z](?![a-z]))+"
_EQUATION = re.compile(rf"(?P<eq>{_EQ_SIDE}=(?!\s*\?){_EQ_SIDE})", re.I)


def _equations_for(var: str, inp: GradeInput) -> list[str]:
    first_tutor = [t.text for t in inp.history if t.role == "tutor"][:1]
    texts = [inp.problem_text or "", *first_tutor]
    eqs: list[str] = []
    for text in texts:
        for m in _EQUATION.finditer(text):
            eq = m.group("eq").strip()
            left, _, right = eq.partition("=")
            letters = set(re.findall(r"[a-z]", eq, re.I))
            if letters != {var} or not left.strip() or not right.strip():
                continue
            if re.fullmatch(rf"\s*{var}\s*", left) and evaluate(right) is not None:
                continue  # "x = 5" itself is not an equation to solve
            eqs.append(eq)
    return eqs


def _solve(eq: str, var: str) -> set[Fraction] | None:
    try:
        import sympy
        from sympy.parsing.sympy_parser import (
            implicit_multiplication_application,
            parse_expr,
            standard_transformations,
        )

        transformations = (
            *standard_transformations,
            implicit_multiplication_application,
        )
        left, right = eq.replace("^", "**").split("=", 1)
        symbol = sympy.Symbol(var)
        local = {var: symbol}
        expr = parse_expr(
            left, local_dict=local, transformations=transformations
        ) - parse_expr(right, local_dict=local, transformations=transformations)
        roots = sympy.solve(expr, symbol)
        values = set()
        for root in roots:
            if root.is_real and root.is_Rational:
                values.add(Fraction(int(root.p), int(root.q)))
            elif root.is_real:
                values.add(Fraction(str(float(root))).limit_denominator(10**6))
        return values
    except Exception:  # sympy raises many types on malformed input
        return None


def variable_claims(inp: GradeInput) -> list[tuple[str, bool]]:
    """("x = 5", correct?) for each variable claim that a known equation can check."""
    out: list[tuple[str, bool]] = []
    for sentence in sentences(inp.response):
        if sentence.rstrip().endswith("?"):
            continue
        for m in _VAR_CLAIM.finditer(sentence):
            var = m.group("var").lower()
            if var in ("a", "i"):
                continue
            stated = evaluate(m.group("rhs"))
            if stated is None:
                continue
            for eq in _equations_for(var, inp):
                roots = _solve(eq.lower(), var)
                if roots:
                    out.append((m.group().strip(), stated in roots))
                    break
    return out


# ---------------------------------------------------------------- grader


def grade(inp: GradeInput) -> Grade:
    arithmetic = [c for c in claims(inp.response) if c.correct is not None]
    algebra = variable_claims(inp)
    checked = [(c.text, bool(c.correct)) for c in arithmetic] + algebra
    if not checked:
        return Grade(
            NAME,
            VERSION,
            None,
            None,
            "no_claims",
            "no checkable arithmetic or algebra claim",
        )
    wrong = [text for text, ok in checked if not ok]
    if wrong:
        return Grade(
            NAME,
            VERSION,
            False,
            1 - len(wrong) / len(checked),
            "incorrect",
            f"{len(wrong)}/{len(checked)} claims false: "
            + "; ".join(f'"{w}"' for w in wrong[:3]),
        )
    return Grade(
        NAME, VERSION, True, 1.0, "correct", f"{len(checked)} claims checked, all true"
    )
