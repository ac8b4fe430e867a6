"""Next-problem choice: what a student should work on now, and why.

In order:

1. **Reviews due.** A mastered skill whose review date has passed (most overdue first) gets a
   problem: "Review due: Adding fractions".
2. **Next up.** Otherwise the first skill in course order (unit, then skill position) that is
   *ready* (every active prerequisite mastered; a skill with no prerequisites is always ready),
   not mastered, and has a problem to offer: "Next up: Unit rates".
3. **Repeated failure** on that skill (its last ``STRUGGLE_STREAK`` scored attempts wrong and
   P(known) still below ``STRUGGLE_BELOW``) routes to its weakest prerequisite first (unmastered
   ones before mastered ones, then lowest P(known)): "Let's revisit Equivalent fractions first".
   One scored attempt at the prerequisite after the last failure is the revisit; then the
   student goes back to the skill (and is routed again if they keep failing). If the revisit
   fails, the prerequisite is no longer mastered, so the skill is no longer ready and rule 2
   brings the student to the prerequisite until it is mastered again.

Within a skill the problem is an *unsolved* one (no correct attempt yet) whose predicted success
is closest to the ``bkt.TARGET_SUCCESS`` band (0.7-0.8), then the earliest in authored order. If
every problem of the skill has been solved, one solved more than ``RECENTLY`` ago may come back;
one solved recently never does, except as a review or revisit (and then only when nothing else
is left). Retired problems and skills are never recommended.

Predicted success: BKT's ``expected_success`` for the skill is the probability of a correct
answer on the skill's *average* problem. A problem's authored difficulty (1-5) moves it on the
logit scale by ``DIFFICULTY_LOGIT`` per step away from the mean difficulty of the skill's active
problems (harder: lower), so the skill's problems average out near BKT's prediction:
``sigmoid(logit(p) - DIFFICULTY_LOGIT * (difficulty - mean difficulty))``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from django.db.models import Prefetch
from django.utils import timezone

from tutor.mastery import bkt
from tutor.mastery.tracking import observed_correct, params_for
from tutor.models import Attempt, Level, Mastery

if TYPE_CHECKING:
    from curriculum.models import Course, Problem, Skill
    from tutor.models import User

STRUGGLE_STREAK = 3  # wrong scored attempts in a row on a skill ...
STRUGGLE_BELOW = bkt.FAMILIAR_AT  # ... with P(known) still below this
# A problem solved within this window is not offered again (outside a review).
RECENTLY = timedelta(days=14)
DIFFICULTY_LOGIT = 0.5  # logit shift per difficulty step away from the skill's mean

Kind = Literal["review", "revisit", "next"]


@dataclass(frozen=True)
class Recommendation:
    problem: Problem
    skill: Skill
    reason: str
    expected_success: float
    kind: Kind


@dataclass
class CourseCatalog:
    """A course's active skills (in course order, with prerequisites) and problems.

    Load it once to choose for many students (``seed_history`` does); four queries.
    """

    course: Course
    skills: list[Skill]
    problems_by_skill: dict[int, list[Problem]]  # active problems tagged with the skill
    skills_by_problem: dict[int, list[int]]  # every problem of the course, retired too
    mean_difficulty: dict[int, float] = field(default_factory=dict)
    prerequisites: dict[int, list[Skill]] = field(default_factory=dict)  # active ones

    @classmethod
    def load(cls, course: Course) -> CourseCatalog:
        from curriculum.models import Problem, Skill

        active_skills = Skill.objects.active().filter(unit__retired_at__isnull=True)
        skills = list(
            active_skills.filter(course=course)
            .select_related("unit")
            .prefetch_related(
                Prefetch("prerequisites", queryset=Skill.objects.active())
            )
            .order_by("unit__position", "position", "id")
        )
        known = {s.pk for s in skills}
        problems = list(
            Problem.objects.filter(course=course)
            .prefetch_related("also_skills")
            .order_by("position", "id")
        )
        problems_by_skill: dict[int, list[Problem]] = defaultdict(list)
        skills_by_problem: dict[int, list[int]] = {}
        for problem in problems:
            tags = list(
                dict.fromkeys(
                    [problem.skill_id, *(s.pk for s in problem.also_skills.all())]
                )
            )
            skills_by_problem[problem.pk] = tags
            if problem.retired_at is None:
                for skill_id in tags:
                    if skill_id in known:
                        problems_by_skill[skill_id].append(problem)
        # The skill's own problems before those only tagged with it.
        for skill_id, tagged in problems_by_skill.items():
            own = [p for p in tagged if p.skill_id == skill_id]
            problems_by_skill[skill_id] = own + [
                p for p in tagged if p.skill_id != skill_id
            ]
        mean = {
            skill_id: sum(p.difficulty for p in ps) / len(ps)
            for skill_id, ps in problems_by_skill.items()
        }
        prerequisites = {s.pk: list(s.prerequisites.all()) for s in skills}
        return cls(
            course,
            skills,
            dict(problems_by_skill),
            skills_by_problem,
            mean,
            prerequisites,
        )


def predicted_success(
    p_known: float, params: bkt.BKTParams, difficulty: int, mean_difficulty: float
) -> float:
    """BKT's expected success on the skill, moved along the logit scale by relative difficulty."""
    p = min(max(bkt.expected_success(p_known, params), 1e-6), 1.0 - 1e-6)
    logit = math.log(p / (1.0 - p)) - DIFFICULTY_LOGIT * (difficulty - mean_difficulty)
    return 1.0 / (1.0 + math.exp(-logit))


def distance_to_target(success: float) -> float:
    low, high = bkt.TARGET_SUCCESS
    return max(low - success, 0.0, success - high)


@dataclass
class _StudentView:
    """What the rules read about one student in one course at time ``now``."""

    catalog: CourseCatalog
    now: datetime
    masteries: dict[int, Mastery]
    solved_at: dict[int, datetime]  # problem id -> last correct attempt
    # Skill id -> scored observations (time, observed correct), in order.
    scored: dict[int, list[tuple[datetime, bool]]]

    @classmethod
    def load(cls, student: User, catalog: CourseCatalog, now: datetime) -> _StudentView:
        skill_ids = {s.pk for s in catalog.skills} | {
            p.pk for ps in catalog.prerequisites.values() for p in ps
        }
        masteries = {
            m.skill_id: m
            for m in Mastery.objects.filter(student=student, skill_id__in=skill_ids)
        }
        attempts = (
            Attempt.objects.filter(
                student=student, problem__course=catalog.course, created_at__lte=now
            )
            .order_by("created_at", "id")
            .values_list("problem_id", "correct", "scored", "hints_used", "created_at")
        )
        solved_at: dict[int, datetime] = {}
        scored: dict[int, list[tuple[datetime, bool]]] = defaultdict(list)
        for problem_id, correct, is_scored, hints_used, at in attempts:
            if correct:
                solved_at[problem_id] = at
            if is_scored:
                for skill_id in catalog.skills_by_problem.get(problem_id, []):
                    scored[skill_id].append((at, observed_correct(correct, hints_used)))
        return cls(catalog, now, masteries, solved_at, scored)

    def is_mastered(self, skill: Skill) -> bool:
        mastery = self.masteries.get(skill.pk)
        return mastery is not None and mastery.level == Level.MASTERED

    def p_known(self, skill: Skill) -> float:
        mastery = self.masteries.get(skill.pk)
        return mastery.p_known if mastery else skill.bkt_prior

    def is_ready(self, skill: Skill) -> bool:
        return all(
            self.is_mastered(p) for p in self.catalog.prerequisites.get(skill.pk, [])
        )

    def is_struggling(self, skill: Skill) -> bool:
        recent = self.scored.get(skill.pk, [])[-STRUGGLE_STREAK:]
        return (
            len(recent) == STRUGGLE_STREAK
            and not any(correct for _, correct in recent)
            and self.p_known(skill) < STRUGGLE_BELOW
        )

    def last_scored_at(self, skill: Skill) -> datetime | None:
        history = self.scored.get(skill.pk)
        return history[-1][0] if history else None

    def pick(self, skill: Skill, *, review: bool) -> tuple[Problem, float] | None:
        """The problem of ``skill`` to offer, with its predicted success, or None."""
        params = params_for(skill)
        p_known = self.p_known(skill)
        mean = self.catalog.mean_difficulty.get(skill.pk, 0.0)
        recent_cutoff = self.now - RECENTLY
        best: tuple[tuple, Problem, float] | None = None
        for position, problem in enumerate(
            self.catalog.problems_by_skill.get(skill.pk, [])
        ):
            solved = self.solved_at.get(problem.pk)
            if solved is None:
                tier = 0
            elif solved <= recent_cutoff:
                tier = 0 if review else 1
            elif review:
                tier = 2
            else:
                continue  # solved recently: not offered again outside a review
            success = predicted_success(p_known, params, problem.difficulty, mean)
            key = (
                tier,
                distance_to_target(success),
                abs(success - sum(bkt.TARGET_SUCCESS) / 2),
                position,
            )
            if best is None or key < best[0]:
                best = (key, problem, success)
        return (best[1], best[2]) if best else None


def next_problem(
    student: User,
    course: Course,
    *,
    now: datetime | None = None,
    catalog: CourseCatalog | None = None,
) -> Recommendation | None:
    """What the student should work on next in ``course``; None when there is nothing to offer."""
    now = now or timezone.now()
    catalog = catalog or CourseCatalog.load(course)
    view = _StudentView.load(student, catalog, now)
    return _review_due(view) or _next_up(view)


def _review_due(view: _StudentView) -> Recommendation | None:
    due = [
        (view.masteries[s.pk].next_review_at, i, s)
        for i, s in enumerate(view.catalog.skills)
        if view.is_mastered(s) and not view.masteries[s.pk].is_retained(view.now)
    ]
    for _, _, skill in sorted(due, key=lambda d: (d[0] or view.now, d[1])):
        picked = view.pick(skill, review=True)
        if picked:
            return Recommendation(
                picked[0], skill, f"Review due: {skill.name}", picked[1], "review"
            )
    return None


def _next_up(view: _StudentView) -> Recommendation | None:
    for skill in view.catalog.skills:
        if view.is_mastered(skill) or not view.is_ready(skill):
            continue
        picked = view.pick(skill, review=False)
        if picked is None:
            continue  # nothing left to offer on this skill: move on
        if view.is_struggling(skill):
            revisit = _revisit_prerequisite(view, skill)
            if revisit:
                return revisit
        return Recommendation(
            picked[0], skill, f"Next up: {skill.name}", picked[1], "next"
        )
    return None


def _revisit_prerequisite(view: _StudentView, skill: Skill) -> Recommendation | None:
    """A problem of the weakest prerequisite of ``skill``, unless one was revisited since the last failure."""
    failed_at = view.last_scored_at(skill)
    prerequisites = view.catalog.prerequisites.get(skill.pk, [])
    if failed_at is None or any(
        (view.last_scored_at(p) or failed_at) > failed_at for p in prerequisites
    ):
        return None  # revisited already: back to the skill
    order = {s.pk: i for i, s in enumerate(view.catalog.skills)}
    for prerequisite in sorted(
        prerequisites,
        key=lambda p: (
            view.is_mastered(p),
            view.p_known(p),
            order.get(p.pk, len(order)),
        ),
    ):
        picked = view.pick(prerequisite, review=True)
        if picked:
            return Recommendation(
                picked[0],
                prerequisite,
                f"Let's revisit {prerequisite.name} first",
                picked[1],
                "revisit",
            )
    return None
