"""The form an expression is written in: simplified, factorised, or neither.

sympy can't tell: it evaluates as it builds (3(x+4) becomes 3x + 12, 5a + 3 - 2a + 8 becomes
3a + 11), and even with evaluate=False it distributes a minus over brackets ("-(4a - 7)" comes
back as 7 - 4a) and drops double signs. So the form is read from the Python syntax tree of the
source that `expressions` wrote for the answer (`ast.parse` only parses: nothing runs, and the
source holds only our own names, numbers and operators).

An expression is *simplified* when, read as a sum of terms (brackets around a sum that is added
are harmless and dropped), there is nothing left of these, reported in this order:
- "brackets": a term multiplies, divides or negates a bracketed sum ("3(x+4)", "-(4a - 7)",
  "x - (y + 2)", "(x+1)/2"), or a bracketed sum or product is raised to a positive whole power
  ("(x+1)^2", "(2x)^2");
- "like-terms": two terms are the same product of variables and powers, up to the number in
  front ("5a + 3 - 2a + 8", "3xy + 5yx", "2pi + pi");
- "arithmetic": a term has more than one number on top or underneath, a fraction not in lowest
  terms, a power of numbers, a bracketed sum of numbers, or a zero ("2*3x", "6x/4", "x/1",
  "2^3 x", "(2+3)x", "0x", "x + 0"); also two numbers added when no term has a variable ("2+3");
- "powers": a factor appears twice in a term, on top or underneath ("x*x", "x^2/x", "(x^2)^3").
Function arguments and denominators are checked the same way, as expressions of their own.

An expression is *factorised* when it is a single term that multiplies bracketed sums and is
otherwise simplified (each bracket's contents included): "3(x+4)", "-2x(x - 5)", "(x+1)^2".
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache

ISSUES = ("brackets", "like-terms", "arithmetic", "powers")


@dataclass(frozen=True)
class Form:
    # the first thing left to simplify (one of ISSUES), or None when simplified
    issue: str | None
    # a single term multiplying bracketed sums: the source of each sum (a power counts as that
    # many copies); empty otherwise
    product: tuple[str, ...] = ()
    # for such a product, the first thing left to simplify apart from its brackets
    rest: str | None = None

    @property
    def factorised(self) -> bool:
        return bool(self.product) and self.rest is None


@dataclass
class _Term:
    sign: int
    numbers: list[int | float] = field(default_factory=list)
    divisors: list[int | float] = field(default_factory=list)
    # factor (as source) -> its total power, negative underneath: the term's "like" signature
    powers: dict[str, Fraction | str] = field(default_factory=dict)
    # bracketed sums multiplied on top
    compounds: list[ast.expr] = field(default_factory=list)
    factors: int = 0


@lru_cache(maxsize=4096)
def expression_form(code: str) -> Form:
    """The form of an expression, from the source `expressions._code` wrote for it."""
    try:
        node = ast.parse(code, mode="eval").body
    except (SyntaxError, ValueError, RecursionError):
        return Form(None)  # not reachable for source that sympy has already read
    reader = _Reader()
    terms = reader.sum_terms(node)
    reader.check_terms(terms)
    rest = _first(reader.issues)
    if len(terms) == 1 and terms[0].compounds:
        product = tuple(ast.unparse(c) for c in terms[0].compounds)
        return Form("brackets", product, rest)
    if any(term.compounds for term in terms):
        reader.issues.add("brackets")
    return Form(_first(reader.issues))


def _first(issues: set[str]) -> str | None:
    return next((issue for issue in ISSUES if issue in issues), None)


def _is_sum(node: ast.expr) -> bool:
    return isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add | ast.Sub)


def _is_product(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult | ast.Div)
    ) or isinstance(node, ast.UnaryOp)


def _has_names(node: ast.expr) -> bool:
    return any(isinstance(n, ast.Name) for n in ast.walk(node))


def _literal(node: ast.expr) -> Fraction | None:
    """The value of a number written as one: 2, -3, 0.5, 1/2 (in lowest terms), -2/3."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _literal(node.operand)
        return None if inner is None else -inner
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return Fraction(str(node.value))
    if (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Div)
        and isinstance(node.left, ast.Constant)
        and isinstance(node.right, ast.Constant)
        and isinstance(node.left.value, int)
        and isinstance(node.right.value, int)
        and node.right.value > 1
        and math.gcd(node.left.value, node.right.value) == 1
    ):
        return Fraction(node.left.value, node.right.value)
    return None


class _Reader:
    def __init__(self) -> None:
        self.issues: set[str] = set()

    def sum_terms(
        self, node: ast.expr, sign: int = 1, out: list[_Term] | None = None
    ) -> list[_Term]:
        """The terms of a sum; a subtracted or negated bracketed sum stays one term."""
        out = [] if out is None else out
        if _is_sum(node):
            assert isinstance(node, ast.BinOp)
            self.sum_terms(node.left, sign, out)
            if isinstance(node.op, ast.Add):
                self.sum_terms(node.right, sign, out)
            elif _is_sum(node.right):
                out.append(self.term(node.right, -sign))
            else:
                self.sum_terms(node.right, -sign, out)
        elif isinstance(node, ast.UnaryOp) and not (
            isinstance(node.op, ast.USub) and _is_sum(node.operand)
        ):
            negated = isinstance(node.op, ast.USub)
            self.sum_terms(node.operand, -sign if negated else sign, out)
        else:
            out.append(self.term(node, sign))
        return out

    def term(self, node: ast.expr, sign: int) -> _Term:
        term = _Term(sign)
        self.factor(node, term, top=True)
        return term

    def factor(self, node: ast.expr, term: _Term, *, top: bool) -> None:
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult | ast.Div):
            self.factor(node.left, term, top=top)
            self.factor(node.right, term, top=top == isinstance(node.op, ast.Mult))
        elif isinstance(node, ast.UnaryOp):
            term.sign *= -1 if isinstance(node.op, ast.USub) else 1
            self.factor(node.operand, term, top=top)
        elif isinstance(node, ast.Constant) and isinstance(node.value, int | float):
            (term.numbers if top else term.divisors).append(node.value)
        elif _is_sum(node):
            self.bracketed(node, term, 1, top=top)
        elif isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            self.power(node, term, top=top)
        else:
            if isinstance(node, ast.Call):
                for argument in node.args:
                    self.inside(argument)
            self.atom(ast.unparse(node), Fraction(1), term, top=top)

    def bracketed(self, node: ast.expr, term: _Term, copies: int, *, top: bool) -> None:
        if not _has_names(node):
            self.issues.add("arithmetic")  # "(2 + 3)x"
            return
        self.inside(node)
        if top:
            term.compounds.extend([node] * copies)
            term.factors += 1
        else:
            self.atom(ast.unparse(node), Fraction(copies), term, top=False)

    def power(self, node: ast.BinOp, term: _Term, *, top: bool) -> None:
        base, exponent = node.left, node.right
        if not _has_names(node):
            self.issues.add("arithmetic")  # "2^3"
            return
        value = _literal(exponent)
        if value is None and not _has_names(exponent):
            self.issues.add("arithmetic")  # "x^(1+1)"
            return
        if value == 0:
            self.issues.add("arithmetic")
            return
        whole = value is not None and value.denominator == 1
        if _is_sum(base) and whole:
            assert value is not None
            self.bracketed(base, term, abs(int(value)), top=top == (value > 0))
        elif _is_product(base) and whole:
            self.issues.add("brackets")  # "(2x)^2"
        elif isinstance(base, ast.BinOp) and isinstance(base.op, ast.Pow):
            self.issues.add("powers")  # "(x^2)^3"
        elif value is None:
            self.inside(base)
            self.atom(ast.unparse(node), Fraction(1), term, top=top)  # "2^x", "x^y"
        else:
            if _is_sum(base) or _is_product(base):
                self.inside(base)  # "(x + 1)^(1/2)"
            elif isinstance(base, ast.Call):
                for argument in base.args:
                    self.inside(argument)
            self.atom(ast.unparse(base), value, term, top=top)

    def atom(self, key: str, power: Fraction, term: _Term, *, top: bool) -> None:
        term.factors += 1
        if key in term.powers:
            self.issues.add("powers")  # "x*x", "x^2/x"
            return
        term.powers[key] = power if top else -power

    def inside(self, node: ast.expr) -> None:
        """A bracket's contents, a denominator or a function's argument: simplified on its own."""
        if isinstance(node, ast.Constant):
            return
        terms = self.sum_terms(node)
        self.check_terms(terms)
        if any(term.compounds for term in terms):
            self.issues.add("brackets")

    def check_terms(self, terms: list[_Term]) -> None:
        for term in terms:
            self.check_numbers(term, alone=len(terms) == 1)
        seen: set[frozenset[tuple[str, Fraction | str]]] = set()
        has_variables = any(t.powers or t.compounds for t in terms)
        for term in terms:
            if term.compounds:
                continue
            signature = frozenset(term.powers.items())
            if signature in seen:
                self.issues.add(
                    "like-terms" if signature or has_variables else "arithmetic"
                )
            seen.add(signature)

    def check_numbers(self, term: _Term, *, alone: bool) -> None:
        numbers, divisors = term.numbers, term.divisors
        if len(numbers) > 1 or len(divisors) > 1:
            self.issues.add("arithmetic")  # "2*3x", "x/2/3"
        elif divisors:
            top, bottom = numbers[0] if numbers else 1, divisors[0]
            if not (
                isinstance(top, int)
                and isinstance(bottom, int)
                and bottom > 1
                and math.gcd(top, bottom) == 1
            ):
                self.issues.add("arithmetic")  # "6x/4", "x/1", "0.5/2"
        if 0 in numbers and (term.factors or not alone):
            self.issues.add("arithmetic")  # "0x", "x + 0"
