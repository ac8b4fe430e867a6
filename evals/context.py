"""From an eval case to what the tutor sees: the same TutorContext and the same input screening as a
live turn (tutor.tutoring), so a release is evaluated the way the platform runs it.

The live rules reused here, by calling the engine's public functions rather than copying them:
- input moderation (``classify_offline``) and the fixed replies that never reach a model
  (``safety_reply``): a student in distress gets the care message, whatever the release;
- the deterministic verdict on an answer (``check_answer``) that the model is told;
- the hint ladder position (hint requests so far, this one included), the history window
  (``window_history``), the lesson excerpt, the texts whose values the student already has (``known_values``);
- the output guard (``LeakGuard``) and output moderation are *recorded* (``guard_outcome``) but
  do not change the graded text: the metrics judge what the release itself said.

Problems given by reference are read from the curriculum at the version the run pinned (a later
re-import does not change a running eval); inline problems are used as written.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from curriculum.checking import AnswerKey, check_answer
from curriculum.keys import answer_key_from_data
from evals.cases import Case, InlineProblem, ProblemRef, canonical_hash
from evals.graders import GradeInput, Turn
from tutor.engine import context as ctx
from tutor.engine.guard import LeakGuard
from tutor.engine.safety import screen
from tutor.providers.moderation import classify_offline

if TYPE_CHECKING:  # pragma: no cover - typing only: the functions import the models when called
    from curriculum.models import Problem

STUDENT_NAME = "Student"  # cases carry no real names; the live tutor sends a pseudonym
TURN_KINDS = {"chat": "chat", "answer": "answer", "hint": "hint_request"}


class ProblemNotFound(LookupError):
    pass


@dataclass(frozen=True)
class ResolvedProblem:
    prompt: str
    answer_spec: Mapping[str, Any] | None
    solution: str
    hints: tuple[dict[str, Any], ...]
    misconceptions: tuple[dict[str, Any], ...]
    skill_name: str = ""
    skill_code: str = ""
    lesson: str = ""
    grade: int | None = None
    prerequisites: tuple[ctx.SkillMastery, ...] = ()
    version: int | None = None
    content_hash: str = ""

    def answer_key(self) -> AnswerKey | None:
        return self._answer_key

    @cached_property
    def _answer_key(self) -> AnswerKey | None:  # built once: every case of the problem has the same key
        if not self.answer_spec:
            return None
        return answer_key_from_data(self.answer_spec, self.misconceptions)

    @property
    def final_answer(self) -> str:
        return str((self.answer_spec or {}).get("value", ""))


def problem_key(ref: ProblemRef) -> str:
    return f"{ref.course}/{ref.code}"


def inline_problem(problem: InlineProblem) -> ResolvedProblem:
    return ResolvedProblem(
        prompt=problem.prompt,
        answer_spec=dict(problem.answer) if problem.answer else None,
        solution=problem.solution,
        hints=tuple(dict(h) for h in problem.hints),
        misconceptions=tuple(dict(m) for m in problem.misconceptions),
        skill_name=problem.skill,
        skill_code="",
        lesson=problem.lesson,
        grade=problem.grade,
        content_hash=canonical_hash(problem.to_json()),
    )


def load_problem(ref: ProblemRef, version: int | None = None) -> ResolvedProblem:
    """A referenced problem at ``version`` (default: the case's pin, else the current version)."""
    from curriculum.models import Problem

    problem = (
        Problem.objects.select_related("skill").filter(course__code=ref.course, code=ref.code).first()
    )
    if problem is None:
        raise ProblemNotFound(f"problem {ref.code!r} of course {ref.course!r} is not in the curriculum (import the course first)")
    return _resolved(problem, ref, version or ref.version or problem.version)


def _resolved(problem: Problem, ref: ProblemRef, wanted: int) -> ResolvedProblem:
    """A curriculum Problem (with its skill) at version ``wanted``: its own content when current,
    else its revision's."""
    from curriculum.models import ProblemRevision

    skill = problem.skill
    prerequisites = tuple(ctx.SkillMastery(p.name, "not_started", p.bkt_prior) for p in skill.prerequisites.all())
    lesson = ctx.lesson_excerpt(skill.lesson)
    if wanted == problem.version:
        return ResolvedProblem(
            prompt=problem.prompt,
            answer_spec=problem.answer_spec,
            solution=problem.solution,
            hints=tuple(problem.hints),
            misconceptions=tuple(problem.misconceptions),
            skill_name=skill.name,
            skill_code=skill.code,
            lesson=lesson,
            grade=problem.grade,
            prerequisites=prerequisites,
            version=wanted,
            content_hash=problem.content_hash or canonical_hash([problem.prompt, problem.answer_spec, problem.solution, problem.hints]),
        )
    revision = ProblemRevision.objects.filter(problem=problem, version=wanted).first()
    if revision is None:
        raise ProblemNotFound(f"problem {ref.course}/{ref.code} has no version {wanted} (current: {problem.version})")
    content = revision.content
    return ResolvedProblem(
        prompt=content["prompt"],
        answer_spec=content.get("answer"),
        solution=content.get("solution", ""),
        hints=tuple(content.get("hints") or ()),
        misconceptions=tuple(content.get("misconceptions") or ()),
        skill_name=skill.name,
        skill_code=skill.code,
        lesson=lesson,
        grade=content.get("grade"),
        prerequisites=prerequisites,
        version=wanted,
        content_hash=revision.content_hash,
    )


def resolve_problem(case: Case, pinned: Mapping[str, int | None] | None = None) -> ResolvedProblem | None:
    """The case's problem: inline as written, a reference at the pinned version; None without one."""
    if case.problem is None:
        return None
    if isinstance(case.problem, InlineProblem):
        return inline_problem(case.problem)
    version = (pinned or {}).get(problem_key(case.problem))
    return load_problem(case.problem, version)


# ---------------------------------------------------------------------------- screening


def screen_input(text: str, kind: str) -> tuple[tuple[str, ...], str | None]:
    """The live tutor's input rule: (flagged categories, fixed reply or None).

    Hint requests are not moderated; anything flagged gets the engine's fixed safety reply and is
    never sent to a model (tutor.tutoring._plan).
    """
    if kind == "hint" or not text:
        return (), None
    moderation = classify_offline(text)
    screening = screen(text, moderation.categories if moderation.flagged else ())
    return screening.categories, screening.reply


def guard_outcome(response: str, key: AnswerKey | None, known_values: tuple[str, ...], *, active: bool) -> dict[str, Any]:
    """What the live output guards would have done with this reply (recorded, not applied)."""
    guard = LeakGuard(key=key, known_values=known_values, active=active)
    guard.feed(response)
    guard.finish()
    outcome: dict[str, Any] = {"answer_leak": "would_replace" if guard.leaked is not None else ("pass" if active and key else "inactive")}
    if guard.leaked is not None:
        outcome["leaked_value"] = guard.leaked
    output = classify_offline(response)
    if output.flagged:
        outcome["output_moderation"] = list(output.categories)
    return outcome


# ---------------------------------------------------------------------------- the context


@dataclass(frozen=True)
class CaseContext:
    case: Case
    problem: ResolvedProblem | None
    context: ctx.TutorContext
    flagged: tuple[str, ...]
    safety_text: str | None
    solved_before: bool  # an earlier answer in the conversation was correct
    student_solved: bool  # ... or this turn's answer is
    student_was_wrong: bool | None
    answer_key: AnswerKey | None = field(default=None, repr=False)

    @cached_property
    def cache_key(self) -> str:
        """Hash of everything the tutor sees for this case: its input and the resolved problem."""
        problem_hash = self.problem.content_hash if self.problem is not None else ""
        return hashlib.sha256(f"{self.case.input_hash}:{problem_hash}".encode()).hexdigest()

    def history_turns(self) -> tuple[Turn, ...]:
        turns = tuple(Turn(t.role, t.text) for t in self.case.conversation)
        if self.case.message is not None:
            turns += (Turn("student", self.case.message.text),)
        return turns

    @cached_property
    def _grade_fields(self) -> dict[str, Any]:
        """Everything in a GradeInput but the response and the grader's params: the same for every
        reply to this case, so built once."""
        problem = self.problem
        return {
            "history": self.history_turns(),
            "answer_key": self.answer_key,
            "final_answer": (problem.final_answer or None) if problem else None,
            "solution": (problem.solution or None) if problem else None,
            "problem_text": (problem.prompt or None) if problem else None,
            "student_solved": self.student_solved,
            "student_was_wrong": self.student_was_wrong,
            "grade_band": str(self.case.tags.get("grade_band") or "") or None,
            "language": self.case.language,
            "scenario": self.case.scenario or None,
        }

    def grade_input(self, response: str, params: Mapping[str, Any] | None = None) -> GradeInput:
        return GradeInput(response=response, params=dict(params or {}), **self._grade_fields)

    def guard(self, response: str) -> dict[str, Any]:
        return guard_outcome(response, self.answer_key, self.context.known_values, active=not self.solved_before)


def _correct(key: AnswerKey | None, text: str) -> bool:
    return key is not None and check_answer(key, text).correct


def build_case_context(case: Case, problem: ResolvedProblem | None) -> CaseContext:
    """The live turn's context for this case (pure: the problem is already resolved)."""
    problem = problem or ResolvedProblem(prompt="", answer_spec=None, solution="", hints=(), misconceptions=())
    key = problem.answer_key()
    message = case.message
    kind = message.kind if message is not None else "chat"
    text = message.text if message is not None else ""
    earlier_students = [t for t in case.conversation if t.role == "student"]
    solved_before = any(t.kind == "answer" and _correct(key, t.text) for t in earlier_students)

    verdict = None
    if kind == "answer" and key is not None:
        checked = check_answer(key, text)
        verdict = ctx.VerdictInfo(
            correct=checked.correct,
            normalized=checked.normalized,
            feedback=checked.feedback,
            parse_error=checked.parse_error,
            misconception_code=checked.misconception.code if checked.misconception else None,
            misconception_feedback=checked.misconception.feedback if checked.misconception else None,
        )
    hint_requests = sum(1 for t in earlier_students if t.kind == "hint") + (1 if kind == "hint" else 0)
    student_texts = [t.text for t in earlier_students] + ([text] if text else [])
    known = ctx.known_values(problem.prompt, student_texts)
    flagged, safety_text = screen_input(text, kind)

    if case.student_was_wrong is not None:
        wrong: bool | None = case.student_was_wrong
    elif message is None:
        wrong = None
    elif verdict is not None and not verdict.parse_error:
        wrong = not verdict.correct
    elif kind == "answer":
        wrong = None
    else:
        wrong = False

    context = ctx.TutorContext(
        turn_kind=TURN_KINDS[kind],
        student_text=text,
        student_name=STUDENT_NAME,
        skill_name=problem.skill_name,
        skill_code=problem.skill_code,
        lesson_excerpt=problem.lesson,
        problem_prompt=problem.prompt,
        solution=problem.solution,
        final_answer=problem.final_answer,
        answer_kind=str((problem.answer_spec or {}).get("kind", "")),
        hints=problem.hints,
        hints_given=min(len(problem.hints), hint_requests),
        grade=problem.grade,
        language=case.language,
        verdict=verdict,
        solved=solved_before,
        history=ctx.window_history([ctx.HistoryTurn(t.role, t.text) for t in case.conversation]),
        prerequisites=problem.prerequisites,
        known_values=known,
        flagged_categories=flagged,
        extra={"case_id": case.id},
    )
    return CaseContext(
        case=case,
        problem=problem if case.problem is not None else None,
        context=context,
        flagged=flagged,
        safety_text=safety_text,
        solved_before=solved_before,
        student_solved=solved_before or bool(verdict and verdict.correct),
        student_was_wrong=wrong,
        answer_key=key,
    )


def _problems_key(case: Case, pinned: Mapping[str, int | None] | None) -> tuple[str, int | None] | None:
    """The key of the case's reference in ``case_context``'s cache of resolved problems."""
    if not isinstance(case.problem, ProblemRef):
        return None
    key = problem_key(case.problem)
    return key, (pinned or {}).get(key)


def case_context(
    case: Case, pinned: Mapping[str, int | None] | None = None, problems: dict | None = None
) -> CaseContext:
    """Resolve the case's problem (database for references) and build its context. ``problems``
    caches resolved references across the cases of a shard (many cases share a problem)."""
    key = _problems_key(case, pinned)
    if problems is None or key is None:
        return build_case_context(case, resolve_problem(case, pinned))
    if key not in problems:
        problems[key] = resolve_problem(case, pinned)
    return build_case_context(case, problems[key])


def preload_problems(cases: Iterable[Case], pinned: Mapping[str, int | None] | None, problems: dict) -> None:
    """Resolve the references of many cases into ``case_context``'s cache in two queries, rather
    than two per problem. A reference this cannot resolve (not in the curriculum, or a missing
    version) is left out: ``case_context`` resolves it alone, and raises for that case only."""
    from curriculum.models import Problem

    first_refs: dict[tuple[str, int | None], ProblemRef] = {}
    for case in cases:
        key = _problems_key(case, pinned)
        if key is not None and key not in problems and key not in first_refs:
            assert isinstance(case.problem, ProblemRef)
            first_refs[key] = case.problem  # the first case with a key resolves it, as case_context does
    if not first_refs:
        return
    found = (
        Problem.objects.select_related("skill", "course")
        .prefetch_related("skill__prerequisites")
        .filter(course__code__in={r.course for r in first_refs.values()}, code__in={r.code for r in first_refs.values()})
    )
    by_ref = {(p.course.code, p.code): p for p in found}
    for key, ref in first_refs.items():
        problem = by_ref.get((ref.course, ref.code))
        if problem is None:
            continue
        try:
            problems[key] = _resolved(problem, ref, key[1] or ref.version or problem.version)
        except Exception:  # that case's error: case_context raises it again for that case alone
            continue
