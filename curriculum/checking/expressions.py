"""Safe reading of algebra typed by students: expressions in the allowed variables.

Reading never calls `eval` or `sympify` on what a person typed. Our own tokenizer accepts only
numbers, `+ - * / ^ ( )`, the allowed variables and a whitelist of functions and constants;
anything else (a stray character, `__`, a letter that forms no known name) is refused before
sympy sees it. The tokenizer also makes implicit multiplication explicit (`2x`, `2(x+3)`,
`x(x+1)`, `(x+1)(x-1)`) and turns `^` into `**`, so identifier splitting and the whitelist stay
in one place we control. The resulting string, which can only hold our own mangled names, goes to
`sympy.parsing.sympy_parser.parse_expr` with a restricted global and local dict, the number
transformations (`auto_number`, `rationalize`: 0.5 becomes 1/2) and `evaluate=False`; functions
are inert placeholders while parsing. Only then is the tree evaluated, bottom-up, refusing powers
whose exponent is over 100 (or towers such as `x**10**10`) and numbers with too many digits, so
nothing can run for long.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import lru_cache

import sympy
from sympy import Add, Float, Integer, Mul, Pow, Rational, Symbol
from sympy.parsing.sympy_parser import auto_number, parse_expr, rationalize

from .equivalence import MAX_TOTAL_EXPONENT, approximate

MAX_EXPONENT = 100
MAX_BITS = 8000
MAX_DEPTH = 25
MAX_POWER_NESTING = 4
FUNCTIONS = {
    "sqrt": sympy.sqrt,
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "log": sympy.log,
    "ln": sympy.log,
    "exp": sympy.exp,
    "abs": sympy.Abs,
}
CONSTANTS = {"pi": sympy.pi, "e": sympy.E}
_PLACEHOLDERS = {name: sympy.Function(f"safe_{name}") for name in FUNCTIONS}
_REAL_FUNCTION = {
    placeholder: FUNCTIONS[name] for name, placeholder in _PLACEHOLDERS.items()
}
_GLOBALS = {
    "__builtins__": {},
    "Integer": Integer,
    "Float": Float,
    "Rational": Rational,
    "Add": Add,
    "Mul": Mul,
    "Pow": Pow,
    "Symbol": Symbol,
}
_TOKEN = re.compile(
    r"(?P<num>\d+(?:\.\d*)?|\.\d+)|(?P<name>[A-Za-z]+(?:_[A-Za-z0-9]+)?)|(?P<op>\*\*|[-+*/^()])|(?P<space>\s+)"
)
_THOUSANDS = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?![\d,])")


@dataclass(frozen=True)
class Problem:
    """Why a text could not be read: "syntax", "unknown" (with the name), "zero" or "big"."""

    reason: str
    name: str = ""


@dataclass(frozen=True)
class ParsedExpr:
    expr: sympy.Expr
    # the written form with explicit operators, e.g. "2*(x+3)", to compare with known values;
    # numbers as values, so "0.50" and ".5" are "0.5"
    key: str
    # the Python source given to sympy (our own names), for reading the written form
    code: str = field(default="", compare=False)
    # the written form for people, e.g. "2*(x + 3)" (sympy's str would expand it)
    written: str = field(default="", compare=False)

    @property
    def display(self) -> str:
        return str(self.expr)


class _TooBig(Exception):
    pass


def parse_expression(text: str, variables: tuple[str, ...]) -> ParsedExpr | Problem:
    """Read `text` (already cleaned) as an expression in `variables`."""
    return _parse_expression(text.strip(), variables)


@lru_cache(maxsize=4096)
def _parse_expression(text: str, variables: tuple[str, ...]) -> ParsedExpr | Problem:
    tokens = _tokens(text, variables)
    if isinstance(tokens, Problem):
        return tokens
    written = _code(tokens, variables)
    if isinstance(written, Problem):
        return written
    code, key, display = written
    expr = expression_from_code(code, variables)
    if isinstance(expr, Problem):
        return expr
    return ParsedExpr(expr, key, code, display)


def expression_from_code(code: str, variables: tuple[str, ...]) -> sympy.Expr | Problem:
    """Evaluate Python source written by `_code` (or a piece of it, re-written by `ast.unparse`):
    only our own names, numbers and operators."""
    local_dict: dict[str, object] = {
        f"v{i}": Symbol(name) for i, name in enumerate(variables)
    }
    local_dict.update(
        {f"f_{name}": placeholder for name, placeholder in _PLACEHOLDERS.items()}
    )
    local_dict.update({f"c_{name}": constant for name, constant in CONSTANTS.items()})
    try:
        tree = parse_expr(
            code,
            local_dict=local_dict,
            global_dict=dict(_GLOBALS),
            transformations=(auto_number, rationalize),
            evaluate=False,
        )
        expr = _build(tree)
    except _TooBig:
        return Problem("big")
    except Exception:
        # any failure to read student input is a parse error, never a crash
        return Problem("syntax")
    if not isinstance(expr, sympy.Expr):
        return Problem("syntax")
    if expr.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
        return Problem("zero")
    if _too_big(expr):
        return Problem("big")
    return expr


def _tokens(text: str, variables: tuple[str, ...]) -> list[tuple[str, str]] | Problem:
    if "__" in text:
        return Problem("syntax")
    text = _THOUSANDS.sub(lambda match: match.group().replace(",", ""), text)
    tokens: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            return Problem("syntax")
        pos = match.end()
        kind, value = match.lastgroup, match.group()
        if kind == "name":
            parts = split_name(value, variables)
            if parts is None:
                return Problem("unknown", value)
            tokens.extend(parts)
        elif kind == "op":
            tokens.append(("op", "^" if value == "**" else value))
        elif kind == "num":
            if len(value) > 120:
                return Problem("big")
            tokens.append(("num", value))
    return tokens


def split_name(name: str, variables: tuple[str, ...]) -> list[tuple[str, str]] | None:
    """Split a run of letters into variables, functions and constants ("xsinx" is x sin x)."""
    if name in variables:
        return [("var", name)]
    vocabulary = (*variables, *FUNCTIONS, *CONSTANTS)
    for candidate in dict.fromkeys((name, name.lower())):
        if "_" in candidate:
            continue
        parts, pos = [], 0
        while pos < len(candidate):
            best = max(
                (word for word in vocabulary if candidate.startswith(word, pos)),
                key=len,
                default="",
            )
            if not best:
                break
            kind = (
                "var" if best in variables else "func" if best in FUNCTIONS else "const"
            )
            parts.append((kind, best))
            pos += len(best)
        else:
            return parts
    return None


def _number_code(text: str) -> str:
    whole, dot, fraction = text.partition(".")
    whole = str(int(whole)) if whole else "0"
    return f"{whole}.{fraction or '0'}" if dot else whole


def _number_key(text: str) -> str:
    """A number as a value: "0.50", ".5" and "0.5" are all "0.5"; "5.0" is "5"."""
    whole, _, fraction = text.partition(".")
    whole, fraction = str(int(whole)) if whole else "0", fraction.rstrip("0")
    return f"{whole}.{fraction}" if fraction else whole


def _code(
    tokens: list[tuple[str, str]], variables: tuple[str, ...]
) -> tuple[str, str, str] | Problem:
    """Python source over our own names, the written-form key and the written form for people;
    explicit `*` and `**`."""
    code: list[str] = []
    key: list[str] = []
    display: list[str] = []
    previous, depth = "", 0

    def emit(kind: str, value: str) -> None:
        if kind == "var":
            code.append(f"v{variables.index(value)}")
        elif kind == "func":
            code.append(f"f_{value}")
        elif kind == "const":
            code.append(f"c_{value}")
        elif kind == "num":
            code.append(_number_code(value))
        else:
            code.append("**" if value == "^" else value)
        key.append(_number_key(value) if kind == "num" else value)
        binary = value in "+-" and kind == "op" and previous == "atom"
        shown = _number_code(value) if kind == "num" else value
        display.append(f" {shown} " if binary else shown)

    for index, (kind, value) in enumerate(tokens):
        if value == ")" and index and tokens[index - 1][1] == "(":
            return Problem("syntax")  # "()" would be an empty tuple
        starts_atom = kind in ("var", "const", "func") or value == "("
        if kind == "num" and previous == "atom":
            return Problem("syntax")
        if previous == "func" and value != "(":
            if kind not in ("num", "var", "const"):
                return Problem("syntax")
            emit("op", "(")
            emit(kind, value)
            emit("op", ")")
            previous = "atom"
            continue
        if previous == "atom" and starts_atom:
            emit("op", "*")
        emit(kind, value)
        depth += value == "("
        depth -= value == ")"
        if depth < 0 or depth > MAX_DEPTH:
            return Problem("syntax")
        is_atom = kind in ("num", "var", "const") or value == ")"
        previous = "atom" if is_atom else "func" if kind == "func" else "op"
    if depth or not tokens or previous == "func":
        return Problem("syntax")
    return (
        " ".join(code),
        "".join(key).replace("^", "**"),
        "".join(display).replace("^", "**"),
    )


def _build(node: sympy.Basic, exponent_depth: int = 0) -> sympy.Basic:
    """Evaluate an unevaluated tree bottom-up, refusing anything that would take long."""
    if not node.args:
        return node
    if node.func is Pow:
        if exponent_depth >= MAX_POWER_NESTING:
            # a tower such as x^x^x^x^x: sympy's own evaluation of it gets slow
            raise _TooBig
        base, exponent = (
            _build(node.args[0], exponent_depth),
            _build(node.args[1], exponent_depth + 1),
        )
        _check_power(base, exponent)
        return Pow(base, exponent)
    args = [_build(arg, exponent_depth) for arg in node.args]
    function = _REAL_FUNCTION.get(node.func)
    if function is not None:
        return function(*args)
    return node.func(*args)


def _check_power(base: sympy.Basic, exponent: sympy.Basic) -> None:
    if exponent.is_Rational:
        if abs(exponent) > MAX_EXPONENT:
            raise _TooBig
        if base.is_Rational:
            bits = int(base.p).bit_length() + int(base.q).bit_length()
            if bits * math.ceil(abs(exponent)) > MAX_BITS:
                raise _TooBig
    elif not exponent.free_symbols:
        value = approximate(exponent, {})
        if value is None or abs(value) > MAX_EXPONENT:
            raise _TooBig


def _too_big(expr: sympy.Expr) -> bool:
    for power in expr.atoms(Pow):
        if power.exp.is_Rational and abs(power.exp) > MAX_TOTAL_EXPONENT:
            return True
    return any(
        int(n.p).bit_length() + int(n.q).bit_length() > MAX_BITS
        for n in expr.atoms(Rational)
    )
