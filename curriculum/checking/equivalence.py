"""Equivalence of expressions and of equations.

Equivalence never expands or simplifies symbolically (that can be slow). Two expressions are
compared by evaluating both at several sample points chosen by a generator seeded from the pair:
exactly, with Fractions, when both are rational functions (a difference that is a non-zero
polynomial of degree d vanishes at a random point of a set of size N with probability <= d/N,
here far below 1e-6), otherwise in complex floating point with a relative tolerance of 1e-9,
using principal branches (so `sqrt(x^2)` is not `x`, `log(x^2)` is not `2 log(x)`).

"""

from __future__ import annotations

import cmath
import math
import random
import zlib
from collections.abc import Callable, Iterator
from fractions import Fraction
from functools import lru_cache

import sympy
from sympy import Integer

MAX_TOTAL_EXPONENT = 1000
# Above this degree, equations are compared numerically: expanding them gets slow.
MAX_SYMBOLIC_DEGREE = 24
_FLOAT_FUNCTIONS: dict[object, Callable[[complex], complex | float]] = {
    sympy.sin: cmath.sin,
    sympy.cos: cmath.cos,
    sympy.tan: cmath.tan,
    sympy.exp: cmath.exp,
    sympy.log: cmath.log,
    sympy.Abs: abs,
}


class _CannotEvaluate(Exception):
    pass


class _Pole(_CannotEvaluate):
    pass


def _exact(node: sympy.Basic, point: dict[sympy.Symbol, Fraction]) -> Fraction:
    if node.is_Rational:
        return Fraction(int(node.p), int(node.q))
    if node.is_Symbol:
        return point[node]
    if node.is_Add:
        return sum((_exact(arg, point) for arg in node.args), Fraction(0))
    if node.is_Mul:
        product = Fraction(1)
        for arg in node.args:
            product *= _exact(arg, point)
        return product
    if node.is_Pow and node.exp.is_Integer:
        base, exponent = _exact(node.base, point), int(node.exp)
        if base == 0 and exponent < 0:
            raise _Pole
        return base**exponent
    raise _CannotEvaluate


def _approx(node: sympy.Basic, point: dict[sympy.Symbol, complex]) -> complex:
    if node.is_Rational:
        return complex(int(node.p) / int(node.q))
    if node.is_Symbol:
        return point[node]
    if node.is_Float:
        return complex(float(node))
    if node is sympy.pi:
        return complex(math.pi)
    if node is sympy.E:
        return complex(math.e)
    if node is sympy.I:
        return 1j
    if node.is_Add:
        return sum((_approx(arg, point) for arg in node.args), 0j)
    if node.is_Mul:
        product = 1 + 0j
        for arg in node.args:
            product *= _approx(arg, point)
        return product
    if node.is_Pow:
        base, exponent = _approx(node.base, point), _approx(node.exp, point)
        if (
            exponent.imag == 0
            and exponent.real.is_integer()
            and abs(exponent.real) <= MAX_TOTAL_EXPONENT
        ):
            return base ** int(exponent.real)
        if base == 0:
            raise _Pole
        return cmath.exp(exponent * cmath.log(base))
    function = _FLOAT_FUNCTIONS.get(node.func)
    if function is not None and len(node.args) == 1:
        return complex(function(_approx(node.args[0], point)))
    raise _CannotEvaluate


def approximate(
    node: sympy.Basic, point: dict[sympy.Symbol, complex]
) -> complex | None:
    """The value of `node` at `point` in complex floating point, or None where undefined."""
    try:
        value = _approx(node, point)
    except (_CannotEvaluate, ArithmeticError, ValueError, KeyError):
        return None
    return value if cmath.isfinite(value) else None


def _close(a: complex, b: complex) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def _rng(*exprs: sympy.Basic) -> random.Random:
    return random.Random(zlib.crc32("|".join(sorted(map(str, exprs))).encode()))


def _exact_points(
    rng: random.Random, symbols: list[sympy.Symbol]
) -> Iterator[dict[sympy.Symbol, Fraction]]:
    for _ in range(8):
        yield {
            s: Fraction(rng.randint(-(10**6), 10**6), rng.randint(1, 10**4))
            for s in symbols
        }


def _float_points(
    rng: random.Random, symbols: list[sympy.Symbol]
) -> Iterator[dict[sympy.Symbol, complex]]:
    for _ in range(16):
        yield {s: complex(rng.uniform(0.3, 2.5) * rng.choice((-1, 1))) for s in symbols}


def equivalent(a: sympy.Expr, b: sympy.Expr) -> bool:
    """Whether two expressions are equal as functions of their variables."""
    return a == b or _equivalent(a, b)


@lru_cache(maxsize=4096)
def _equivalent(a: sympy.Expr, b: sympy.Expr) -> bool:
    symbols = sorted(a.free_symbols | b.free_symbols, key=str)
    needed = 3 if symbols else 1
    rng = _rng(a, b)
    agreed = 0
    try:
        for point in _exact_points(rng, symbols):
            try:
                same = _exact(a, point) == _exact(b, point)
            except _Pole:
                continue
            if not same:
                return False
            agreed += 1
            if agreed == needed:
                return True
        return False
    except _CannotEvaluate:
        agreed = 0
    for sample in _float_points(rng, symbols):
        value_a, value_b = approximate(a, sample), approximate(b, sample)
        if value_a is None or value_b is None:
            continue
        if not _close(value_a, value_b):
            return False
        agreed += 1
        if agreed == needed:
            return True
    return False


def equations_equivalent(d1: sympy.Expr, d2: sympy.Expr) -> bool:
    """Whether `d1 = 0` and `d2 = 0` have the same solutions (d = left side - right side).

    Polynomial and rational equations: the square-free parts of the numerators (after cancelling)
    are proportional, i.e. the same solution set over the complex numbers, so `2x = 6`,
    `x/3 = 1` and `1/x = 1/3` are all equivalent to `x = 3`. Others (trigonometric...): the
    two sides differ by a constant non-zero factor.
    """
    return _equations_equivalent(d1, d2)


@lru_cache(maxsize=1024)
def _equations_equivalent(d1: sympy.Expr, d2: sympy.Expr) -> bool:
    zero = Integer(0)
    zero1, zero2 = equivalent(d1, zero), equivalent(d2, zero)
    if zero1 or zero2:
        return zero1 and zero2
    symbols = sorted(d1.free_symbols | d2.free_symbols, key=str)
    if not symbols:
        return True  # two false statements: both have no solution
    first, second = _square_free(d1, symbols), _square_free(d2, symbols)
    if first is not None and second is not None:
        return bool(first == second)
    return _constant_ratio(d1, d2, symbols)


def _degree_bound(node: sympy.Basic) -> float:
    if node.is_Symbol:
        return 1
    if node.is_number:
        return 0
    if node.is_Add or node.is_Mul:
        return sum(_degree_bound(arg) for arg in node.args)
    if node.is_Pow and node.exp.is_Integer:
        return _degree_bound(node.base) * abs(int(node.exp))
    return math.inf


def _square_free(d: sympy.Expr, symbols: list[sympy.Symbol]) -> sympy.Poly | None:
    degree = _degree_bound(d)
    if (
        degree > MAX_SYMBOLIC_DEGREE
        or math.comb(int(degree) + len(symbols), len(symbols)) > 500
    ):
        return None
    if not d.is_rational_function(*symbols) or d.has(sympy.I, sympy.pi, sympy.E):
        return None
    try:
        numerator, _ = sympy.fraction(sympy.cancel(sympy.together(d)))
        poly = sympy.Poly(numerator, *symbols)
        if not (poly.domain.is_ZZ or poly.domain.is_QQ):
            return None
        return poly.sqf_part().to_field().monic()
    except Exception:
        # sympy refusing an exotic form says nothing about the answer: use the numeric test
        return None


def _constant_ratio(
    d1: sympy.Expr, d2: sympy.Expr, symbols: list[sympy.Symbol]
) -> bool:
    ratio, agreed = None, 0
    for point in _float_points(_rng(d1, d2), symbols):
        value_1, value_2 = approximate(d1, point), approximate(d2, point)
        if value_1 is None or value_2 is None or abs(value_2) < 1e-12:
            continue
        current = value_1 / value_2
        if abs(current) < 1e-12 or (ratio is not None and not _close(current, ratio)):
            return False
        ratio, agreed = current, agreed + 1
        if agreed == 3:
            return True
    return False
