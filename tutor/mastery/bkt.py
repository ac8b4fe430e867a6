"""Bayesian Knowledge Tracing: the online update, mastery levels and spaced review.

Pure functions over plain floats; no Django, no numpy. One skill's state for one student is a
single number, ``p_known`` = P(the student knows the skill), updated after every scored attempt.

The model is pyBKT's standard one (Corbett & Anderson 1995, with optional forgetting):

    P(correct)           = p * (1 - slip) + (1 - p) * guess
    P(known | correct)   = p * (1 - slip) / P(correct)
    P(known | incorrect) = p * slip / (1 - P(correct))
    next p               = post * (1 - forget) + (1 - post) * learn

Given the same parameters, ``predict_correct`` / ``update`` reproduce pyBKT's one-step
predictions (checked by ``python -m bench.kt``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Literal

Level = Literal["not_started", "attempted", "familiar", "proficient", "mastered"]
LEVELS: tuple[Level, ...] = (
    "not_started",
    "attempted",
    "familiar",
    "proficient",
    "mastered",
)

# Level thresholds on P(known). "Mastered" also needs MASTERY_MIN_ATTEMPTS scored attempts with
# the last one correct, so a lucky first answer on an easy skill is never called mastery.
FAMILIAR_AT = 0.6
PROFICIENT_AT = 0.8
MASTERED_AT = 0.95
MASTERY_MIN_ATTEMPTS = 3

# Target band of expected success when choosing the next problem (desirable difficulty).
TARGET_SUCCESS = (0.7, 0.8)

# Spaced review: days until the n-th review after mastery (n = successful reviews so far).
# Past the table each interval is the previous one times REVIEW_GROWTH, capped at
# MAX_REVIEW_INTERVAL_DAYS.
REVIEW_INTERVALS_DAYS = (1.0, 3.0, 7.0, 16.0, 35.0)
REVIEW_GROWTH = 2.2
MAX_REVIEW_INTERVAL_DAYS = 180.0


@dataclass(frozen=True)
class BKTParams:
    """Parameters of one skill. All are probabilities in [0, 1].

    prior: P(known) before the first attempt. learn: P(unknown -> known) after an attempt.
    guess: P(correct | unknown). slip: P(incorrect | known). forget: P(known -> unknown).
    Fitting bounds guess and slip to <= 0.3 (see ``tutor.mastery.fit``); this class only checks
    ranges.
    """

    prior: float
    learn: float
    guess: float
    slip: float
    forget: float = 0.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = float(getattr(self, f.name))  # numpy scalars become plain floats
            if not (0.0 <= value <= 1.0):  # also rejects NaN
                raise ValueError(f"BKTParams.{f.name} must be in [0, 1], got {value!r}")
            object.__setattr__(self, f.name, value)

    def as_dict(self) -> dict[str, float]:
        return {f.name: float(getattr(self, f.name)) for f in fields(self)}


# Used for skills nobody has practised yet and when there is no fitted pooled prior. learn,
# guess and slip are rounded from the pooled fits (all skills as one) on ASSISTments 2009 and
# Statics 2011 (bench/RESULTS.md: learn 0.03-0.18, guess 0.18-0.30, slip 0.12-0.21). Those logs
# are mostly practice on material already known (fitted prior 0.74-0.86); a new skill here
# starts at 0.3 instead, so mastery is earned: three correct answers in a row reach 0.95.
POOLED_DEFAULTS = BKTParams(prior=0.3, learn=0.1, guess=0.25, slip=0.2)


def predict_correct(p_known: float, params: BKTParams) -> float:
    """P(the next attempt is correct) given P(known) before it."""
    return p_known * (1.0 - params.slip) + (1.0 - p_known) * params.guess


def expected_success(p_known: float, params: BKTParams) -> float:
    """Expected success on the next problem of this skill; aim for ``TARGET_SUCCESS``."""
    return predict_correct(p_known, params)


def posterior(p_known: float, correct: bool, params: BKTParams) -> float:
    """P(known) after seeing one attempt (Bayes step, no learning yet).

    An observation the model calls impossible (e.g. an error with slip = 0 and p_known = 1)
    leaves p_known unchanged.
    """
    if correct:
        known = p_known * (1.0 - params.slip)
        unknown = (1.0 - p_known) * params.guess
    else:
        known = p_known * params.slip
        unknown = (1.0 - p_known) * (1.0 - params.guess)
    total = known + unknown
    if total <= 0.0:
        return p_known
    return known / total


def update(p_known: float, correct: bool, params: BKTParams) -> float:
    """P(known) before the next attempt: the Bayes step, then learning / forgetting."""
    post = posterior(p_known, correct, params)
    return post * (1.0 - params.forget) + (1.0 - post) * params.learn


def level(p_known: float, n_scored_attempts: int, last_correct: bool | None) -> Level:
    """The level shown to people.

    not_started: no scored attempt. mastered: P(known) >= 0.95 after at least 3 scored attempts,
    the last one correct. proficient: P(known) >= 0.8. familiar: P(known) >= 0.6.
    attempted: anything else.
    """
    if n_scored_attempts <= 0:
        return "not_started"
    if (
        p_known >= MASTERED_AT
        and n_scored_attempts >= MASTERY_MIN_ATTEMPTS
        and last_correct
    ):
        return "mastered"
    if p_known >= PROFICIENT_AT:
        return "proficient"
    if p_known >= FAMILIAR_AT:
        return "familiar"
    return "attempted"


def retention(
    p_known: float, days_since_last_practice: float, half_life_days: float
) -> float:
    """P(known) decayed along an exponential forgetting curve: halves every half_life_days.

    Use it to decide when a mastered skill is due for review (e.g. when retention drops below
    PROFICIENT_AT); a natural half-life is the current ``next_review_interval``.
    """
    if half_life_days <= 0:
        raise ValueError(f"half_life_days must be > 0, got {half_life_days!r}")
    if days_since_last_practice < 0:
        raise ValueError(
            f"days_since_last_practice must be >= 0, got {days_since_last_practice!r}"
        )
    return p_known * math.pow(2.0, -days_since_last_practice / half_life_days)


def next_review_interval(n_successful_reviews: int) -> float:
    """Days until the next review: 1, 3, 7, 16, 35, then x2.2 each time, at most 180 days."""
    if n_successful_reviews < 0:
        raise ValueError(
            f"n_successful_reviews must be >= 0, got {n_successful_reviews!r}"
        )
    if n_successful_reviews < len(REVIEW_INTERVALS_DAYS):
        return REVIEW_INTERVALS_DAYS[n_successful_reviews]
    days = REVIEW_INTERVALS_DAYS[-1]
    for _ in range(len(REVIEW_INTERVALS_DAYS) - 1, n_successful_reviews):
        days *= REVIEW_GROWTH
        if days >= MAX_REVIEW_INTERVAL_DAYS:
            return MAX_REVIEW_INTERVAL_DAYS
    return days
