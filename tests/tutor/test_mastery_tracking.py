"""Mastery moves as BKT's closed-form equations say, on every tagged skill, with reviews on a schedule."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import ProblemFactory, SkillFactory
from tutor.mastery.tracking import apply_attempt, review_status
from tutor.models import Attempt, Level, Mastery, MasteryChange

# The Skill defaults: prior 0.2, learn 0.15, guess 0.2, slip 0.1, forget 0.
T0 = timezone.now() - timedelta(days=60)


def bkt_next(p, correct, *, learn=0.15, guess=0.2, slip=0.1, forget=0.0):
    """Corbett & Anderson, written out independently of tutor.mastery.bkt."""
    if correct:
        post = p * (1 - slip) / (p * (1 - slip) + (1 - p) * guess)
    else:
        post = p * slip / (p * slip + (1 - p) * (1 - guess))
    return post * (1 - forget) + (1 - post) * learn


def answer(student, problem, correct, at=T0, *, hints_used=0, scored=True):
    attempt = Attempt.objects.create(
        student=student,
        problem=problem,
        problem_version=1,
        answer="3/4" if correct else "2/6",
        correct=correct,
        scored=scored,
        hints_used=hints_used,
        created_at=at,
    )
    return attempt, apply_attempt(attempt)


def test_it_raises_mastery_on_a_correct_answer_as_the_closed_form_says(
    student, problem
):
    _, [change] = answer(student, problem, True)
    mastery = Mastery.objects.get(student=student, skill=problem.skill)
    assert mastery.p_known == pytest.approx(bkt_next(0.2, True))
    assert mastery.p_known == pytest.approx(0.6)
    assert (change.p_before, change.p_after, change.level_before) == (
        0.2,
        mastery.p_known,
        Level.NOT_STARTED,
    )
    assert (mastery.n_scored, mastery.n_correct, mastery.last_correct) == (1, 1, True)


def test_it_lowers_mastery_on_a_wrong_answer_as_the_closed_form_says(student, problem):
    answer(student, problem, False)
    mastery = Mastery.objects.get(student=student, skill=problem.skill)
    assert mastery.p_known == pytest.approx(bkt_next(0.2, False))
    assert mastery.p_known == pytest.approx(0.02 / 0.66 + (1 - 0.02 / 0.66) * 0.15)
    assert (mastery.level, mastery.n_scored, mastery.n_correct, mastery.last_correct) == (
        Level.ATTEMPTED, 1, 0, False,
    )  # fmt: skip


def test_it_follows_the_closed_form_over_a_sequence_with_the_skills_own_parameters(
    student,
):
    problem = ProblemFactory(
        skill=SkillFactory(
            bkt_prior=0.35,
            bkt_learn=0.08,
            bkt_guess=0.25,
            bkt_slip=0.05,
            bkt_forget=0.02,
        )
    )
    expected, p = [], 0.35
    for i, correct in enumerate([False, True, False, True, True, True]):
        p = bkt_next(p, correct, learn=0.08, guess=0.25, slip=0.05, forget=0.02)
        expected.append(p)
        answer(student, problem, correct, T0 + timedelta(minutes=i))
    changes = MasteryChange.objects.filter(mastery__student=student)
    assert [c.p_after for c in changes] == pytest.approx(expected)
    assert [c.p_before for c in changes] == pytest.approx([0.35, *expected[:-1]])


def test_it_counts_a_correct_answer_after_hints_as_not_known(student, problem):
    answer(student, problem, True, hints_used=1)
    mastery = Mastery.objects.get(student=student)
    assert mastery.p_known == pytest.approx(bkt_next(0.2, False))
    assert (mastery.n_correct, mastery.last_correct) == (0, False)


def test_it_ignores_unscored_attempts(student, problem):
    _, changes = answer(student, problem, True, scored=False)
    assert changes == []
    assert not Mastery.objects.exists()
    assert not MasteryChange.objects.exists()


def test_it_updates_every_tagged_skill_with_its_own_parameters(student):
    main, other = (
        SkillFactory(),
        SkillFactory(bkt_prior=0.5, bkt_guess=0.3, bkt_slip=0.2, bkt_learn=0.1),
    )
    problem = ProblemFactory(skill=main)
    problem.also_skills.add(other)
    attempt, changes = answer(student, problem, True)
    assert [c.mastery.skill for c in changes] == [main, other]
    assert [c.attempt for c in changes] == [attempt, attempt]
    assert Mastery.objects.get(skill=main).p_known == pytest.approx(bkt_next(0.2, True))
    assert Mastery.objects.get(skill=other).p_known == pytest.approx(
        bkt_next(0.5, True, learn=0.1, guess=0.3, slip=0.2)
    )


def test_it_keeps_every_change_with_the_attempt_that_caused_it(student, problem):
    first, _ = answer(student, problem, False, T0)
    second, _ = answer(student, problem, True, T0 + timedelta(minutes=5))
    changes = list(Mastery.objects.get(student=student).changes.all())
    assert [(c.attempt, c.reason, c.created_at) for c in changes] == [
        (first, "attempt", T0),
        (second, "attempt", T0 + timedelta(minutes=5)),
    ]
    assert changes[1].p_before == changes[0].p_after


def test_it_changes_nothing_when_an_attempt_is_applied_twice(student, problem):
    attempt, changes = answer(student, problem, True)
    assert apply_attempt(attempt) == changes
    mastery = Mastery.objects.get(student=student)
    assert (mastery.n_scored, mastery.p_known) == (1, pytest.approx(0.6))
    assert MasteryChange.objects.count() == 1


def test_it_walks_up_the_levels(student, problem):
    levels = []
    for i, correct in enumerate([False, True, True, True]):
        _, [change] = answer(student, problem, correct, T0 + timedelta(minutes=i))
        levels.append(change.level_after)
    assert levels == [
        Level.ATTEMPTED,
        Level.ATTEMPTED,
        Level.PROFICIENT,
        Level.MASTERED,
    ]
    other = ProblemFactory(skill=SkillFactory(bkt_prior=0.25))  # p: 0.66, 0.91, 0.99
    levels = [
        answer(student, other, True, T0 + timedelta(minutes=i))[1][0].level_after
        for i in range(3)
    ]
    assert levels == [Level.FAMILIAR, Level.PROFICIENT, Level.MASTERED]


def test_it_needs_three_scored_attempts_for_mastery_however_high_p_known_is(student):
    problem = ProblemFactory(skill=SkillFactory(bkt_prior=0.9))
    changes = [
        answer(student, problem, True, T0 + timedelta(minutes=i))[1][0]
        for i in range(3)
    ]
    assert changes[0].p_after >= 0.95
    assert [c.level_after for c in changes] == [
        Level.PROFICIENT,
        Level.PROFICIENT,
        Level.MASTERED,
    ]


def test_it_calls_three_right_answers_in_a_row_mastery_and_schedules_a_review_a_day_later(
    student, problem
):
    for i in range(3):
        answer(student, problem, True, T0 + timedelta(minutes=i))
    mastery = Mastery.objects.get(student=student)
    at = T0 + timedelta(minutes=2)
    assert mastery.p_known == pytest.approx(
        bkt_next(bkt_next(bkt_next(0.2, True), True), True)
    )
    assert (mastery.level, mastery.mastered_at, mastery.next_review_at) == (
        Level.MASTERED,
        at,
        at + timedelta(days=1),
    )
    assert mastery.reviews_passed == 0


def master(student, problem):
    for i in range(3):
        answer(student, problem, True, T0 + timedelta(minutes=i))
    return T0 + timedelta(minutes=2)


def test_it_extends_the_interval_after_each_passed_review(student, problem):
    at = master(student, problem)
    schedule = []
    for _ in range(3):
        at = Mastery.objects.get(student=student).next_review_at + timedelta(hours=2)
        _, [change] = answer(student, problem, True, at)
        mastery = Mastery.objects.get(student=student)
        schedule.append(
            (change.reason, mastery.reviews_passed, mastery.next_review_at - at)
        )
    assert schedule == [
        ("review", 1, timedelta(days=3)),
        ("review", 2, timedelta(days=7)),
        ("review", 3, timedelta(days=16)),
    ]
    assert mastery.level == Level.MASTERED


def test_it_does_not_extend_the_interval_for_practice_before_the_review_is_due(
    student, problem
):
    at = master(student, problem)
    _, [change] = answer(student, problem, True, at + timedelta(hours=3))
    mastery = Mastery.objects.get(student=student)
    assert change.reason == "attempt"
    assert (mastery.reviews_passed, mastery.next_review_at) == (
        0,
        at + timedelta(days=1),
    )


def test_it_demotes_the_level_when_a_review_fails(student, problem):
    master(student, problem)
    before = Mastery.objects.get(student=student)
    due = before.next_review_at + timedelta(days=2)
    _, [change] = answer(student, problem, False, due)
    mastery = Mastery.objects.get(student=student)
    assert (change.reason, change.level_before) == ("review", Level.MASTERED)
    assert mastery.p_known == pytest.approx(bkt_next(before.p_known, False))
    assert mastery.level == change.level_after == Level.PROFICIENT
    assert (mastery.next_review_at, mastery.mastered_at, mastery.reviews_passed) == (
        None,
        None,
        0,
    )


def test_it_starts_the_review_ladder_again_after_mastery_is_regained(student, problem):
    master(student, problem)
    due = Mastery.objects.get(student=student).next_review_at
    answer(student, problem, True, due)  # passed: next in 3 days
    failed_at = due + timedelta(days=3)
    answer(student, problem, False, failed_at)
    answer(student, problem, True, failed_at + timedelta(minutes=1))
    mastery = Mastery.objects.get(student=student)
    regained = failed_at + timedelta(minutes=1)
    assert (mastery.level, mastery.mastered_at, mastery.next_review_at) == (
        Level.MASTERED, regained, regained + timedelta(days=1),
    )  # fmt: skip


def test_it_tells_mastered_and_retained_from_mastered_with_a_review_due(
    student, problem
):
    at = master(student, problem)
    mastery = Mastery.objects.get(student=student)
    assert review_status(mastery, at + timedelta(hours=23)) == "retained"
    assert review_status(mastery, at + timedelta(days=1)) == "review_due"
    mastery.level = Level.PROFICIENT
    assert review_status(mastery, at) is None
    assert review_status(None, at) is None
