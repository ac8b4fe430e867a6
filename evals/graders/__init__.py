"""Pedagogical graders: pure, versioned functions from a tutor reply to a Grade.

``GRADERS`` maps a name to a ``Grader`` (name, version, fn, applies_to, kind, diagnostic).
``grade_all`` runs the rule graders (and any other synchronous grader) on one input;
``grade_all_async`` also runs the model judge through an injected ``call``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable

from . import (
    answer_leak,
    concision,
    judge,
    language,
    math_claims,
    mistake,
    naturalness,
    readability,
    safety,
    telling,
    tone,
)
from .base import Grade, GradeInput, Grader, Turn, always, not_applicable

__all__ = [
    "GRADERS",
    "Grade",
    "GradeInput",
    "Grader",
    "Turn",
    "grade_all",
    "grade_all_async",
    "grader_versions",
    "register",
]

GRADERS: dict[str, Grader] = {}


def register(grader: Grader) -> Grader:
    if grader.name in GRADERS and GRADERS[grader.name] is not grader:
        raise ValueError(f"grader {grader.name!r} is already registered")
    GRADERS[grader.name] = grader
    return grader


def _student_was_wrong(inp: GradeInput) -> bool:
    return inp.student_was_wrong is not False


def _not_solved(inp: GradeInput) -> bool:
    return not inp.student_solved


for _grader in (
    Grader(answer_leak.NAME, answer_leak.VERSION, answer_leak.grade, _not_solved),
    Grader(telling.NAME, telling.VERSION, telling.grade, always),
    Grader(
        mistake.ID_NAME,
        mistake.VERSION,
        mistake.grade_identification,
        _student_was_wrong,
    ),
    Grader(
        mistake.LOC_NAME, mistake.VERSION, mistake.grade_location, _student_was_wrong
    ),
    Grader(math_claims.NAME, math_claims.VERSION, math_claims.grade, always),
    Grader(tone.NAME, tone.VERSION, tone.grade, always),
    Grader(concision.NAME, concision.VERSION, concision.grade, always),
    Grader(
        readability.NAME, readability.VERSION, readability.grade, readability.applies
    ),
    Grader(naturalness.NAME, naturalness.VERSION, naturalness.grade, always),
    Grader(safety.NAME, safety.VERSION, safety.grade, safety.applies),
    Grader(language.NAME, language.VERSION, language.grade, always),
    Grader(
        judge.NAME,
        judge.VERSION,
        judge.grade_async,
        judge.applies,
        kind="judge",
        diagnostic=True,
    ),
):
    register(_grader)


def grader_versions(names: Iterable[str] | None = None) -> dict[str, str]:
    """name -> version, for hashing into an eval run."""
    selected = GRADERS if names is None else {n: GRADERS[n] for n in names}
    return {name: g.version for name, g in sorted(selected.items())}


def _run(grader: Grader, inp: GradeInput) -> Grade:
    if not grader.applies_to(inp):
        return not_applicable(
            grader.name, grader.version, "does not apply to this input"
        )
    grade: Grade = grader.fn(inp)
    return grade


def grade_all(inp: GradeInput, names: Iterable[str] | None = None) -> dict[str, Grade]:
    """Run the named graders (default: every synchronous one) on one input.

    A judge grader named explicitly comes back not applicable: it needs a model call, see
    ``grade_all_async``.
    """
    selected = list(GRADERS) if names is None else list(names)
    out: dict[str, Grade] = {}
    for name in selected:
        grader = GRADERS[name]
        if grader.kind == "judge":
            if names is not None:
                out[name] = not_applicable(
                    name, grader.version, "needs a model call: use grade_all_async"
                )
            continue
        out[name] = _run(grader, inp)
    return out


async def grade_all_async(
    inp: GradeInput,
    names: Iterable[str] | None = None,
    *,
    call: Callable[[list[dict[str, str]]], Awaitable[str]] | None = None,
) -> dict[str, Grade]:
    """Like ``grade_all``, and also runs judge graders through ``call`` when it is given."""
    selected = list(GRADERS) if names is None else list(names)
    out = grade_all(inp, [n for n in selected if GRADERS[n].kind != "judge"])
    for name in selected:
        grader = GRADERS[name]
        if grader.kind != "judge":
            continue
        if call is None or not grader.applies_to(inp):
            out[name] = not_applicable(
                name,
                grader.version,
                "no model call given" if call is None else "does not apply",
            )
            continue
        out[name] = await grader.fn(inp, call)
    return out
