"""Simulated students: answers follow BKT; the demo history is real attempts with varied levels."""

import random
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import (
    CourseFactory,
    EnrollmentFactory,
    ProblemFactory,
    SkillFactory,
    UnitFactory,
    UserFactory,
)
from tutor.mastery import bkt
from tutor.mastery.demo import seed_history
from tutor.mastery.simulate import Learner, simulate_answers
from tutor.mastery.tracking import review_status
from tutor.models import Attempt, Level, Mastery, MasteryChange

NOW = timezone.now()


def test_it_answers_right_when_known_and_never_slips():
    known = bkt.BKTParams(prior=1.0, learn=0.0, guess=0.0, slip=0.0)
    assert simulate_answers(known, 20, random.Random(0)) == [True] * 20


def test_it_answers_wrong_while_unknown_and_never_learnt():
    unknown = bkt.BKTParams(prior=0.0, learn=0.0, guess=0.0, slip=0.0)
    assert simulate_answers(unknown, 20, random.Random(0)) == [False] * 20


def test_it_learns_after_the_first_attempt_with_learn_one():
    params = bkt.BKTParams(prior=0.0, learn=1.0, guess=0.0, slip=0.0)
    assert simulate_answers(params, 4, random.Random(0)) == [False, True, True, True]


def test_it_draws_first_answers_at_the_rate_bkt_predicts():
    params = bkt.BKTParams(prior=0.3, learn=0.2, guess=0.15, slip=0.1)
    rng = random.Random(3)
    firsts = [simulate_answers(params, 1, rng)[0] for _ in range(20000)]
    assert sum(firsts) / len(firsts) == pytest.approx(
        bkt.predict_correct(0.3, params), abs=0.01
    )


def test_it_forgets_a_known_skill_over_time_away(db):
    skill = SkillFactory(bkt_prior=1.0, bkt_learn=0.0, bkt_guess=0.0, bkt_slip=0.0)
    learner = Learner(random.Random(0), daily_forget=1.0)
    assert learner.answer([skill], NOW) is True
    assert learner.answer([skill], NOW + timedelta(days=1)) is False


@pytest.fixture
def demo_course(classroom):
    """Six skills: two roots, a chain and a join; five problems each, difficulty 1 to 5."""
    course = CourseFactory(code="demo", title="Demo maths")
    unit = UnitFactory(course=course, position=1)
    skills = {}
    for position, (code, prerequisites) in enumerate(
        [
            ("a", []),
            ("b", ["a"]),
            ("c", ["b"]),
            ("d", []),
            ("e", ["c", "d"]),
            ("f", ["e"]),
        ]
    ):
        skills[code] = SkillFactory(
            unit=unit, course=course, code=code, name=code.upper(), position=position
        )
        skills[code].prerequisites.set([skills[p] for p in prerequisites])
        for difficulty in range(1, 6):
            ProblemFactory(
                skill=skills[code],
                course=course,
                position=difficulty,
                difficulty=difficulty,
            )
    classroom.course = course
    classroom.save()
    return course


@pytest.fixture
def demo_class(classroom, student, demo_course):
    for i in range(11):
        EnrollmentFactory(
            classroom=classroom,
            student=UserFactory(
                username=f"demo{i:02}", organisation=classroom.organisation
            ),
        )
    return classroom


def test_it_seeds_a_varied_history_of_real_attempts(demo_class):
    lines = []
    made = seed_history(demo_class, lines.append, now=NOW)
    assert made == Attempt.objects.count() > 0
    assert lines == [f"demo history: {made} attempts for 12 students in Demo maths"]
    assert not Attempt.objects.filter(created_at__gt=NOW).exists()
    scored = Attempt.objects.filter(scored=True)
    # Every scored attempt went through apply_attempt: one change per skill (one per problem here).
    assert MasteryChange.objects.count() == scored.count()
    assert set(MasteryChange.objects.values_list("attempt_id", flat=True)) == set(
        scored.values_list("id", flat=True)
    )
    assert sum(Mastery.objects.values_list("n_scored", flat=True)) == scored.count()
    masteries = list(Mastery.objects.all())
    levels = Counter(m.level for m in masteries)
    assert {Level.ATTEMPTED, Level.MASTERED} <= set(levels)
    assert len(levels) >= 3, levels
    statuses = Counter(review_status(m, NOW) for m in masteries)
    assert statuses["retained"] >= 1, statuses
    assert statuses["review_due"] >= 1, statuses
    mastered_per_student = Counter(
        m.student_id for m in masteries if m.level == Level.MASTERED
    )
    students = demo_class.enrollments.values_list("student_id", flat=True)
    # Students at different places, someone struggling.
    assert len({mastered_per_student[s] for s in students}) >= 3
    assert any(mastered_per_student[s] == 0 for s in students)
    assert MasteryChange.objects.filter(reason="review").exists()


def test_it_does_nothing_when_the_class_already_has_attempts(
    classroom, student, demo_course
):
    seed_history(classroom, lambda line: None, now=NOW)
    counts = (
        Attempt.objects.count(),
        MasteryChange.objects.count(),
        Mastery.objects.count(),
    )
    lines = []
    assert seed_history(classroom, lines.append) == 0
    assert (
        Attempt.objects.count(),
        MasteryChange.objects.count(),
        Mastery.objects.count(),
    ) == counts
    assert lines == ["demo history: already there"]


def test_it_skips_a_class_without_a_course(classroom, student):
    lines = []
    assert seed_history(classroom, lines.append) == 0
    assert lines == ["demo history: skipped, the class has no course"]
    assert not Attempt.objects.exists()


def test_it_makes_the_same_history_every_time(classroom, student, demo_course):
    seed_history(classroom, lambda line: None, now=NOW)
    first = list(
        Attempt.objects.order_by("id").values_list(
            "student__username", "problem__code", "correct", "created_at"
        )
    )
    Attempt.objects.all().delete()
    Mastery.objects.all().delete()
    seed_history(classroom, lambda line: None, now=NOW)
    assert (
        list(
            Attempt.objects.order_by("id").values_list(
                "student__username", "problem__code", "correct", "created_at"
            )
        )
        == first
    )
