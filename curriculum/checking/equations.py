"""The equation kind.

A key's value is either in *solved form*, one or more `variable = value` parts ("x = 3",
"x = 2 or x = -2", "x = ±2", "x = 3, y = 4", "y = 2x + 1"), or a *general* equation
("2x + 3y = 6").

Solved form (an equation-solving problem): the student is correct when they give the same set of
`variable = value` parts, each with the variable alone on either side (`x = 3`, `3 = x`,
`x = 6/2`) and the value equivalent; when every value is a number, bare values are accepted too
("3", "2 or -2", "±2"). An equation that is equivalent but not solved (`2x = 6` for `x = 3`) is
not correct: it gets the built-in misconception "not-solved". Some but not all of the solutions
gets "incomplete".

General equation (a "write the equation" problem): any equivalent equation is correct, i.e. one
with the same solutions (see `equivalence.equations_equivalent`): `6 = 2x + 3y`, `4x + 6y = 12`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

import sympy

from . import spec as s
from .equivalence import equations_equivalent, equivalent
from .expressions import ParsedExpr, Problem, parse_expression
from .kinds import (
    Failure,
    Judgement,
    declared_variables,
    first_example,
    infer_variables,
    problem_message,
)

MAX_PARTS = 10
_SEPARATORS = re.compile(r"\s*(?:[;,]|\bor\b|\band\b)\s*")
_THOUSANDS = re.compile(r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?![\d,])")


@dataclass(frozen=True)
class Part:
    """`lhs = rhs`, or a bare value when lhs is None."""

    lhs: sympy.Expr | None
    rhs: sympy.Expr

    def solved(self) -> list[tuple[sympy.Symbol, sympy.Expr]]:
        """The ways to read this part as `variable = value`."""
        if self.lhs is None:
            return []
        readings = []
        for side, other in ((self.lhs, self.rhs), (self.rhs, self.lhs)):
            if side.is_Symbol and side not in other.free_symbols:
                readings.append((side, other))
        return readings

    @property
    def difference(self) -> sympy.Expr:
        return self.rhs if self.lhs is None else self.lhs - self.rhs

    def display(self) -> str:
        return str(self.rhs) if self.lhs is None else f"{self.lhs} = {self.rhs}"


def read_parts(text: str, variables: tuple[str, ...]) -> tuple[Part, ...] | Problem:
    text = _THOUSANDS.sub(
        lambda m: m.group().replace(",", ""),
        text.replace("==", "=").replace("+/-", "\u00b1"),
    )
    chunks = [chunk for chunk in _SEPARATORS.split(text) if chunk.strip()]
    if not chunks or len(chunks) > MAX_PARTS:
        return Problem("syntax")
    parts: list[Part] = []
    for chunk in chunks:
        if chunk.count("\u00b1") > 1:
            return Problem("syntax")
        for variant in (
            (chunk.replace("\u00b1", "+"), chunk.replace("\u00b1", "-"))
            if "\u00b1" in chunk
            else (chunk,)
        ):
            sides = variant.split("=")
            if len(sides) > 2:
                return Problem("syntax")
            parsed = [parse_expression(side, variables) for side in sides]
            for side in parsed:
                if isinstance(side, Problem):
                    return side
            exprs = [side.expr for side in parsed if isinstance(side, ParsedExpr)]
            parts.append(
                Part(exprs[0], exprs[1]) if len(exprs) == 2 else Part(None, exprs[0])
            )
    return tuple(parts)


class EquationChecker:
    def __init__(self, spec: s.AnswerSpec) -> None:
        self.spec = spec
        self.variables = declared_variables(spec) or infer_variables(spec.value)
        parts = read_parts(spec.value, self.variables)
        if isinstance(parts, Problem) or (len(parts) == 1 and parts[0].lhs is None):
            raise s.InvalidAnswerKey(
                f"{spec.value!r} is not an equation in {', '.join(self.variables) or 'numbers'}"
            )
        self.general: sympy.Expr | None = None
        self.pairs: list[tuple[sympy.Symbol, sympy.Expr]] = []
        if len(parts) == 1 and not parts[0].solved():
            self.general = parts[0].difference
        for part in parts if self.general is None else ():
            readings = part.solved() or (
                [(sympy.Symbol(self.variables[0]), part.rhs)]
                if part.lhs is None and len(self.variables) == 1
                else []
            )
            if not readings:
                raise s.InvalidAnswerKey(
                    f"{spec.value!r} mixes solved and unsolved equations"
                )
            self.pairs.append(readings[0])
        solved_vars = list(dict.fromkeys(str(v) for v, _ in self.pairs))
        self.bare_ok = len(solved_vars) == 1 and all(
            not value.free_symbols for _, value in self.pairs
        )
        v = (
            solved_vars[0]
            if solved_vars
            else (self.variables[0] if self.variables else "x")
        )
        self.var_name = " and ".join(solved_vars) if solved_vars else v
        self.generic = s.NOT_AN_EQUATION.format(
            example=first_example([f"{v} = {k}" for k in (3, 5, 7, 2)], self._is_value)
        )

    def _is_value(self, text: str) -> bool:
        parts = read_parts(text, self.variables)
        return not isinstance(parts, Problem) and self.judge(parts).correct

    def read(self, text: str) -> tuple[Part, ...] | Failure:
        parts = read_parts(text, self.variables)
        if isinstance(parts, Problem):
            return Failure(problem_message(parts, self.generic, self.variables))
        return parts

    def _part_matches(self, part: Part, index: int) -> bool:
        variable, value = self.pairs[index]
        if part.lhs is None:
            return self.bare_ok and equivalent(part.rhs, value)
        return any(v == variable and equivalent(val, value) for v, val in part.solved())

    def judge(self, parts: tuple[Part, ...]) -> Judgement:
        if self.general is not None:
            ok = (
                len(parts) == 1
                and parts[0].lhs is not None
                and equations_equivalent(parts[0].difference, self.general)
            )
            return Judgement(ok)
        covered: set[int] = set()
        every_part_matches = True
        for part in parts:
            hits = {i for i in range(len(self.pairs)) if self._part_matches(part, i)}
            every_part_matches = every_part_matches and bool(hits)
            covered |= hits
        if every_part_matches and len(covered) == len(self.pairs):
            return Judgement(True)
        if every_part_matches and covered:
            return Judgement(False, s.Misconception(s.INCOMPLETE, s.PART_OF_IT))
        return Judgement(False, self._builtin(parts))

    def _combined(self) -> sympy.Expr | None:
        """All the solutions as one equation `d = 0`, when that means the same thing."""
        if len(self.pairs) == 1:
            variable, value = self.pairs[0]
            return variable - value
        if self.bare_ok:
            return sympy.Mul(*(variable - value for variable, value in self.pairs))
        return None

    def _builtin(self, parts: tuple[Part, ...]) -> s.Misconception | None:
        if len(parts) != 1:
            return None
        part, combined = parts[0], self._combined()
        if combined is None:
            return None
        if (
            part.lhs is not None
            and not part.solved()
            and equations_equivalent(part.difference, combined)
        ):
            return s.Misconception(s.NOT_SOLVED, s.SOLVE_FOR.format(var=self.var_name))
        if (
            part.lhs is None
            and len(self.pairs) == 1
            and equivalent(part.rhs, self.pairs[0][1])
        ):
            return s.Misconception(
                s.WRONG_FORM, s.WRITE_EQUATION.format(var=self.var_name)
            )
        return None

    def matcher(self, answer: str) -> Callable[[tuple[Part, ...]], bool] | Failure:
        """Misconception answers: the student's answer would be correct if `answer` were the key."""
        try:
            other = EquationChecker(
                replace(self.spec, value=answer, variable=" ".join(self.variables))
            )
        except s.InvalidAnswerKey:
            return Failure(self.generic)
        return lambda parts: other.judge(parts).correct

    def display(self, parts: tuple[Part, ...]) -> str:
        return " or ".join(part.display() for part in parts)
