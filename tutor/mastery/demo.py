"""Demo step: a plausible attempt history for the demo class, so dashboards show something real.

Each student is a simulated learner (``tutor.mastery.simulate.Learner``) with a profile (quick,
steady or struggling) who practised on a handful of days over the past weeks, on the problems
``next_problem`` chose for them at the time, answering as BKT with their parameters says. Every
answer is a real ``Attempt`` applied through ``apply_attempt``, so levels, reviews and the
MasteryChange history are the ones the platform computes. Students stopped at different times,
so some have reviews overdue. Deterministic (seeded by username) and idempotent: a class that
already has attempts is left alone.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from tutor.mastery.selection import CourseCatalog, next_problem
from tutor.mastery.simulate import Learner, attempt_for, record
from tutor.models import Attempt, Classroom, User

SEED = "demo-history-v1"


@dataclass(frozen=True)
class Profile:
    name: str
    prior_scale: float
    learn_scale: float
    daily_forget: float
    days_active: tuple[int, int]  # how many days they practised (low, high)
    per_day: tuple[int, int]  # problems per day (low, high)


QUICK = Profile(
    "quick",
    prior_scale=2.2,
    learn_scale=2.5,
    daily_forget=0.02,
    days_active=(8, 12),
    per_day=(6, 9),
)
STEADY = Profile(
    "steady",
    prior_scale=1.0,
    learn_scale=1.4,
    daily_forget=0.03,
    days_active=(6, 11),
    per_day=(4, 8),
)
STRUGGLING = Profile(
    "struggling",
    prior_scale=0.3,
    learn_scale=0.35,
    daily_forget=0.05,
    days_active=(5, 9),
    per_day=(4, 7),
)
# By position in the roster (sorted by username), repeating: 3 quick, 6 steady, 3 struggling in 12.
ROSTER = (QUICK, STEADY, STRUGGLING, STEADY)
# Days since each student's last practice, by position: some today, some with reviews overdue.
LAST_ACTIVE_DAYS_AGO = (0, 1, 4, 0, 8, 2, 12, 0, 5, 1, 10, 3)


def seed_history(
    classroom: Classroom,
    log: Callable[[str], None] = print,
    *,
    now: datetime | None = None,
) -> int:
    """Simulate the class's practice history on its course; returns the number of attempts made."""
    course = classroom.course
    if course is None:
        log("demo history: skipped, the class has no course")
        return 0
    students = list(User.objects.in_classroom(classroom).order_by("username"))
    if Attempt.objects.filter(student__in=students).exists():
        log("demo history: already there")
        return 0
    now = now or timezone.now()
    catalog = CourseCatalog.load(course)
    total = 0
    with transaction.atomic():
        for i, student in enumerate(students):
            profile = ROSTER[i % len(ROSTER)]
            last_active = LAST_ACTIVE_DAYS_AGO[i % len(LAST_ACTIVE_DAYS_AGO)]
            total += _practise(student, profile, last_active, catalog, now)
    log(
        f"demo history: {total} attempts for {len(students)} students in {course.title}"
    )
    return total


def _practise(
    student: User,
    profile: Profile,
    last_active: int,
    catalog: CourseCatalog,
    now: datetime,
) -> int:
    rng = random.Random(f"{SEED}:{student.username}")
    learner = Learner(
        rng, profile.prior_scale, profile.learn_scale, profile.daily_forget
    )
    n_days = rng.randint(*profile.days_active)
    days_ago = sorted(
        [
            last_active,
            *rng.sample(range(last_active + 1, last_active + 36), n_days - 1),
        ],
        reverse=True,
    )
    made = 0
    for day in days_ago:
        at = now - timedelta(days=day, hours=rng.uniform(1.0, 6.0))
        for _ in range(rng.randint(*profile.per_day)):
            recommendation = next_problem(
                student, catalog.course, now=at, catalog=catalog
            )
            if recommendation is None:
                break  # nothing to do today; reviews may come due later
            problem = recommendation.problem
            skills = [
                s
                for s in catalog.skills
                if s.pk in catalog.skills_by_problem[problem.pk]
            ]
            skills.sort(key=lambda s: s.pk != problem.skill_id)
            correct = learner.answer(skills, at)
            attempts = [attempt_for(student, problem, correct, at, rng)]
            # Often a wrong answer is followed by a hint and a right (unscored) answer.
            if not correct and rng.random() < 0.7:
                attempts.append(
                    attempt_for(
                        student,
                        problem,
                        True,
                        at + timedelta(minutes=2),
                        rng,
                        scored=False,
                        hints_used=1,
                    )
                )
            made += len(record(attempts))
            at += timedelta(minutes=rng.uniform(3.0, 8.0))
    return made
