"""Simulated students: answers drawn from BKT's generative model, written as real Attempt rows.

Used by the demo (``tutor.mastery.demo``) and by the tests that check the fit recovers known
parameters. The generative model is the one ``bkt.update`` inverts: the student starts knowing
the skill with probability ``prior``; each attempt is correct with probability ``1 - slip`` if
known and ``guess`` if not; after it, an unknown skill is learnt with probability ``learn`` and a
known one forgotten with probability ``forget``.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.db import transaction

from tutor.mastery import bkt
from tutor.mastery.tracking import apply_attempt, params_for
from tutor.models import Attempt

if TYPE_CHECKING:
    from curriculum.models import Problem, Skill
    from tutor.models import User


def simulate_answers(
    params: bkt.BKTParams, n_attempts: int, rng: random.Random
) -> list[bool]:
    """One student's answers on one skill, drawn from BKT with ``params``."""
    known = rng.random() < params.prior
    answers = []
    for _ in range(n_attempts):
        answers.append(rng.random() < (1.0 - params.slip if known else params.guess))
        known = rng.random() >= params.forget if known else rng.random() < params.learn
    return answers


@dataclass
class Learner:
    """A simulated student with a hidden knowledge state per skill.

    Their parameters on a skill are the skill's, with prior and learn scaled (a quicker or slower
    learner); ``daily_forget`` is the chance per day away from a known skill of forgetting it, so
    spaced reviews sometimes fail.
    """

    rng: random.Random
    prior_scale: float = 1.0
    learn_scale: float = 1.0
    daily_forget: float = 0.0
    known: dict[int, bool] = field(default_factory=dict)
    last_seen: dict[int, datetime] = field(default_factory=dict)

    def params(self, skill: Skill) -> bkt.BKTParams:
        base = params_for(skill)
        return bkt.BKTParams(
            prior=min(base.prior * self.prior_scale, 0.95),
            learn=min(base.learn * self.learn_scale, 0.95),
            guess=base.guess,
            slip=base.slip,
            forget=base.forget,
        )

    def answer(self, skills: Sequence[Skill], at: datetime) -> bool:
        """Answer a problem tagged with ``skills`` (the first decides correctness); all learn."""
        for skill in skills:
            self._wake(skill, at)
        primary = self.params(skills[0])
        correct = self.rng.random() < (
            1.0 - primary.slip if self.known[skills[0].pk] else primary.guess
        )
        for skill in skills:
            params = self.params(skill)
            if self.known[skill.pk]:
                self.known[skill.pk] = self.rng.random() >= params.forget
            else:
                self.known[skill.pk] = self.rng.random() < params.learn
        return correct

    def _wake(self, skill: Skill, at: datetime) -> None:
        if skill.pk not in self.known:
            self.known[skill.pk] = self.rng.random() < self.params(skill).prior
        elif self.known[skill.pk] and skill.pk in self.last_seen:
            days = max((at - self.last_seen[skill.pk]).total_seconds() / 86400.0, 0.0)
            if self.rng.random() < 1.0 - (1.0 - self.daily_forget) ** days:
                self.known[skill.pk] = False
        self.last_seen[skill.pk] = at


def attempt_for(
    student: User,
    problem: Problem,
    correct: bool,
    at: datetime,
    rng: random.Random,
    *,
    scored: bool = True,
    hints_used: int = 0,
) -> Attempt:
    """An unsaved Attempt with a plausible answer: the key, or a known misconception, or a slip."""
    answer, misconception = problem.final_answer, ""
    if not correct:
        known_wrong = [m for m in problem.misconceptions if m.get("answer")]
        if known_wrong and rng.random() < 0.6:
            chosen = rng.choice(known_wrong)
            answer, misconception = str(chosen["answer"]), str(chosen.get("code", ""))
        else:
            answer = "1" if answer.strip() == "0" else "0"
    return Attempt(
        student=student,
        problem=problem,
        problem_version=problem.version,
        answer=answer,
        normalized=answer[:300],
        correct=correct,
        misconception_code=misconception[:80],
        scored=scored,
        hints_used=hints_used,
        created_at=at,
    )


def record(attempts: Iterable[Attempt], *, track: bool = True) -> list[Attempt]:
    """Save attempts in order; with ``track`` each goes through ``apply_attempt`` like a real one."""
    if not track:
        return Attempt.objects.bulk_create(list(attempts), batch_size=1000)
    saved = []
    with transaction.atomic():
        for attempt in attempts:
            attempt.save()
            apply_attempt(attempt)
            saved.append(attempt)
    return saved


def simulate_cohort(
    students: Sequence[User],
    problems_by_skill: Mapping[Skill, Sequence[Problem]],
    true_params: Mapping[int, bkt.BKTParams],
    *,
    attempts_per_skill: int,
    start: datetime,
    seed: int = 0,
    track: bool = False,
) -> list[Attempt]:
    """Every student answers ``attempts_per_skill`` problems of every skill (cycling through the
    skill's problems), drawn from BKT with ``true_params[skill.pk]``; saved as scored attempts
    an hour apart per student. Without ``track`` the rows are bulk-inserted and mastery is not
    updated (for fitting tests); with it each attempt is applied like a real one."""
    rng = random.Random(seed)
    attempts = []
    for i, student in enumerate(students):
        at = start + timedelta(minutes=i)
        for skill, problems in problems_by_skill.items():
            answers = simulate_answers(true_params[skill.pk], attempts_per_skill, rng)
            for j, correct in enumerate(answers):
                attempts.append(
                    attempt_for(student, problems[j % len(problems)], correct, at, rng)
                )
                at += timedelta(hours=1)
    return record(attempts, track=track)
