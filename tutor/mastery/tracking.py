"""Mastery rows: apply a scored attempt to every skill it is tagged with, keeping every change.

The rules, on top of the pure BKT update (``tutor.mastery.bkt``):

* Only scored attempts count (the first attempt at a problem in a session). A correct answer
  given after hints is observed as "not known yet", as in the attempt log the fit reads.
* Every skill the problem is tagged with (``problem.skill`` and ``also_skills``) is updated with
  that skill's own BKT parameters, and each update is kept as a ``MasteryChange`` pointing at the
  attempt that caused it.
* Spaced review: reaching "mastered" schedules a review ``bkt.next_review_interval(0)`` days
  later. A scored attempt on a mastered skill once its review is due *is* the review: passing it
  extends the schedule (``next_review_interval(reviews_passed)``), failing it demotes the level
  (the last answer is wrong, so ``bkt.level`` cannot say "mastered"), clears the schedule and
  starts the ladder again at the next mastery. Practice before the review is due updates P(known)
  but leaves the schedule where it is: cramming does not earn a longer interval.
* "Mastered and retained" (no review due) versus "mastered, review due" is read with
  ``review_status``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from django.db import transaction
from django.utils import timezone

from tutor.mastery import bkt
from tutor.models import Attempt, Classroom, Level, Mastery, MasteryChange

if TYPE_CHECKING:
    from curriculum.models import Course, Problem, Skill
    from tutor.models import User

ReviewStatus = Literal["retained", "review_due"]


def params_for(skill: Skill) -> bkt.BKTParams:
    return bkt.BKTParams(**skill.bkt_params)


def observed_correct(correct: bool, hints_used: int) -> bool:
    """What knowledge tracing sees: a correct answer that needed hints counts as not known."""
    return bool(correct) and hints_used == 0


def skills_of(problem: Problem) -> list[Skill]:
    """The skills an attempt at the problem practises: its own skill, then its other tags."""
    others = [s for s in problem.also_skills.all() if s.pk != problem.skill_id]
    return [problem.skill, *others]


# --- the pure step ----------------------------------------------------------------------------


@dataclass(frozen=True)
class MasteryState:
    """One student's state on one skill: the fields of a Mastery row that the rules move."""

    p_known: float
    level: str = Level.NOT_STARTED
    n_scored: int = 0
    n_correct: int = 0
    last_correct: bool | None = None
    mastered_at: datetime | None = None
    next_review_at: datetime | None = None
    reviews_passed: int = 0

    @classmethod
    def of(cls, mastery: Mastery) -> MasteryState:
        return cls(
            p_known=mastery.p_known,
            level=mastery.level,
            n_scored=mastery.n_scored,
            n_correct=mastery.n_correct,
            last_correct=mastery.last_correct,
            mastered_at=mastery.mastered_at,
            next_review_at=mastery.next_review_at,
            reviews_passed=mastery.reviews_passed,
        )

    def review_due(self, at: datetime) -> bool:
        return (
            self.level == Level.MASTERED
            and self.next_review_at is not None
            and at >= self.next_review_at
        )


def advance(
    state: MasteryState, correct: bool, params: bkt.BKTParams, at: datetime
) -> tuple[MasteryState, str]:
    """The state after one scored attempt at time ``at``, and the change's reason (attempt | review)."""
    was_mastered = state.level == Level.MASTERED
    is_review = state.review_due(at)
    p_known = bkt.update(state.p_known, correct, params)
    n_scored = state.n_scored + 1
    level = bkt.level(p_known, n_scored, correct)
    new = replace(
        state,
        p_known=p_known,
        level=level,
        n_scored=n_scored,
        n_correct=state.n_correct + int(correct),
        last_correct=correct,
    )
    mastered = level == Level.MASTERED
    if mastered and not was_mastered:
        # Newly mastered: the first review in a day.
        new = replace(
            new, mastered_at=at, reviews_passed=0, next_review_at=_review_after(at, 0)
        )
    elif mastered and is_review:
        # Passed a review: the next one further out.
        passed = state.reviews_passed + 1
        new = replace(
            new, reviews_passed=passed, next_review_at=_review_after(at, passed)
        )
    elif was_mastered and not mastered:
        # Demoted (a failed review, or any miss): the ladder starts again at the next mastery.
        new = replace(new, mastered_at=None, reviews_passed=0, next_review_at=None)
    return new, ("review" if is_review else "attempt")


def _review_after(at: datetime, reviews_passed: int) -> datetime:
    return at + timedelta(days=bkt.next_review_interval(reviews_passed))


def review_status(
    mastery: Mastery | None, now: datetime | None = None
) -> ReviewStatus | None:
    """'retained' (mastered, no review due), 'review_due' (mastered, review due), else None."""
    if mastery is None or mastery.level != Level.MASTERED:
        return None
    return "retained" if mastery.is_retained(now) else "review_due"


# --- the action -------------------------------------------------------------------------------


@transaction.atomic
def apply_attempt(attempt: Attempt) -> list[MasteryChange]:
    """Update mastery of every skill of the attempt's problem; return the changes made.

    Only scored attempts count. Safe to call twice: an attempt already applied returns its
    recorded changes and changes nothing.
    """
    if not attempt.scored:
        return []
    done = list(MasteryChange.objects.filter(attempt=attempt).select_related("mastery"))
    if done:
        return done
    at = attempt.created_at or timezone.now()
    correct = observed_correct(attempt.correct, attempt.hints_used)
    changes = []
    for skill in skills_of(attempt.problem):
        params = params_for(skill)
        mastery, _ = Mastery.objects.select_for_update().get_or_create(
            student_id=attempt.student_id,
            skill=skill,
            defaults={"p_known": params.prior},
        )
        before = MasteryState.of(mastery)
        after, reason = advance(before, correct, params, at)
        for name, value in vars(after).items():
            setattr(mastery, name, value)
        mastery.last_practiced_at = at
        mastery.updated_at = at
        mastery.save()
        changes.append(
            MasteryChange.objects.create(
                mastery=mastery,
                attempt=attempt,
                p_before=before.p_known,
                p_after=after.p_known,
                level_before=before.level,
                level_after=after.level,
                reason=reason,
                created_at=at,
            )
        )
    return changes


# --- reads ------------------------------------------------------------------------------------


def courses_for_student(student: User) -> list[Course]:
    """The courses of the classes the student attends (active enrollments), oldest class first."""
    classrooms = (
        Classroom.objects.attended_by(student)
        .filter(course__isnull=False, course__retired_at__isnull=True)
        .select_related("course")
        .order_by("created_at", "id")
    )
    return list(
        {c.course_id: c.course for c in classrooms if c.course is not None}.values()
    )


@dataclass(frozen=True)
class SkillMastery:
    """A student's standing on one skill, whether or not they have started it."""

    skill: Skill
    mastery: Mastery | None
    now: datetime

    @property
    def level(self) -> str:
        return self.mastery.level if self.mastery else Level.NOT_STARTED

    @property
    def p_known(self) -> float:
        return self.mastery.p_known if self.mastery else self.skill.bkt_prior

    @property
    def n_scored(self) -> int:
        return self.mastery.n_scored if self.mastery else 0

    @property
    def n_correct(self) -> int:
        return self.mastery.n_correct if self.mastery else 0

    @property
    def review_status(self) -> ReviewStatus | None:
        return review_status(self.mastery, self.now)


def skill_masteries(
    student: User, courses: list[Course], *, now: datetime | None = None
) -> list[SkillMastery]:
    """Every active skill of ``courses`` in course order, plus any other skill of those courses
    the student has a mastery row for (e.g. since retired). Two queries, whatever the size."""
    from curriculum.models import Skill

    now = now or timezone.now()
    course_ids = [c.pk for c in courses]
    masteries = {
        m.skill_id: m
        for m in Mastery.objects.filter(
            student=student, skill__course_id__in=course_ids
        ).select_related("skill__unit", "skill__course")
    }
    skills = {
        s.pk: s
        for s in Skill.objects.active()
        .filter(course_id__in=course_ids, unit__retired_at__isnull=True)
        .select_related("unit", "course")
    }
    for m in masteries.values():
        skills.setdefault(m.skill_id, m.skill)
    position = {pk: i for i, pk in enumerate(course_ids)}
    ordered = sorted(
        skills.values(),
        key=lambda s: (position[s.course_id], s.unit.position, s.position, s.pk),
    )
    return [
        SkillMastery(skill=s, mastery=masteries.get(s.pk), now=now) for s in ordered
    ]
