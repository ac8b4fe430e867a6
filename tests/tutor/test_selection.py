"""Next-problem choice: reviews first, then ready skills in course order near 70-80% success,
prerequisite review after repeated failure; never retired or recently solved problems."""

import math
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import CourseFactory, ProblemFactory, SkillFactory, UnitFactory
from tutor.mastery.selection import DIFFICULTY_LOGIT, next_problem, predicted_success
from tutor.mastery.tracking import apply_attempt, params_for
from tutor.models import Attempt, Level, Mastery

NOW = timezone.now()


@pytest.fixture
def course(db):
    return CourseFactory(code="ms-math", title="Maths")


@pytest.fixture
def unit(course):
    return UnitFactory(course=course, position=1)


def skill(unit, name, position, *prerequisites, **bkt):
    made = SkillFactory(
        unit=unit,
        course=unit.course,
        name=name,
        code=name.lower().replace(" ", "-"),
        position=position,
        **bkt,
    )
    made.prerequisites.set(prerequisites)
    return made


def problem(skill, position=1, difficulty=3, **fields):
    return ProblemFactory(
        skill=skill,
        course=skill.course,
        position=position,
        difficulty=difficulty,
        **fields,
    )


def set_mastery(
    student, skill, level=Level.MASTERED, p_known=0.97, next_review_at=None
):
    return Mastery.objects.create(
        student=student,
        skill=skill,
        p_known=p_known,
        level=level,
        n_scored=3,
        next_review_at=next_review_at
        or (NOW + timedelta(days=2) if level == Level.MASTERED else None),
    )


def answer(student, problem, correct, at):
    attempt = Attempt.objects.create(
        student=student,
        problem=problem,
        problem_version=1,
        answer="x",
        correct=correct,
        scored=True,
        created_at=at,
    )
    apply_attempt(attempt)
    return attempt


def test_it_starts_a_new_student_on_the_first_skill_in_course_order(
    student, course, unit
):
    fractions = skill(unit, "Equivalent fractions", 1)
    adding = skill(unit, "Adding fractions", 2, fractions)
    first = problem(fractions)
    problem(adding)
    recommendation = next_problem(student, course, now=NOW)
    assert (recommendation.problem, recommendation.skill) == (first, fractions)
    assert (recommendation.kind, recommendation.reason) == (
        "next",
        "Next up: Equivalent fractions",
    )
    assert recommendation.expected_success == pytest.approx(0.2 * 0.9 + 0.8 * 0.2)


def test_it_moves_on_once_the_prerequisites_are_mastered(student, course, unit):
    fractions = skill(unit, "Equivalent fractions", 1)
    adding = skill(unit, "Adding fractions", 2, fractions)
    problem(fractions)
    next_one = problem(adding)
    set_mastery(student, fractions)
    recommendation = next_problem(student, course, now=NOW)
    assert (recommendation.problem, recommendation.reason) == (
        next_one,
        "Next up: Adding fractions",
    )


def test_it_skips_skills_whose_prerequisites_are_not_mastered(student, course, unit):
    fractions = skill(unit, "Equivalent fractions", 1)
    rates = skill(unit, "Unit rates", 2, fractions)
    integers = skill(unit, "Integers", 3)  # no prerequisites: always ready
    problem(fractions)
    problem(rates)
    problem(integers)
    set_mastery(student, fractions, level=Level.PROFICIENT, p_known=0.9)
    assert (
        next_problem(student, course, now=NOW).reason == "Next up: Equivalent fractions"
    )
    Mastery.objects.filter(skill=fractions).update(
        level=Level.MASTERED, p_known=0.97, next_review_at=NOW + timedelta(days=1)
    )
    assert next_problem(student, course, now=NOW).reason == "Next up: Unit rates"
    set_mastery(student, rates)
    assert next_problem(student, course, now=NOW).reason == "Next up: Integers"


def test_it_treats_a_skill_without_prerequisites_as_ready_even_after_a_blocked_one(
    student, course, unit
):
    basics = skill(unit, "Basics", 9)
    blocked = skill(unit, "Blocked", 1, basics)
    problem(blocked)
    target = problem(basics)
    assert next_problem(student, course, now=NOW).problem == target


def test_it_puts_a_due_review_before_new_skills(student, course, unit):
    fractions = skill(unit, "Equivalent fractions", 1)
    adding = skill(unit, "Adding fractions", 2, fractions)
    rates = skill(unit, "Unit rates", 3)
    review_problem = problem(fractions)
    problem(adding)
    problem(rates)
    set_mastery(student, fractions, next_review_at=NOW - timedelta(hours=1))
    recommendation = next_problem(student, course, now=NOW)
    assert (recommendation.problem, recommendation.kind) == (review_problem, "review")
    assert recommendation.reason == "Review due: Equivalent fractions"


def test_it_reviews_the_most_overdue_skill_first(student, course, unit):
    a, b = skill(unit, "A", 1), skill(unit, "B", 2)
    problem(a)
    problem(b)
    set_mastery(student, a, next_review_at=NOW - timedelta(days=1))
    set_mastery(student, b, next_review_at=NOW - timedelta(days=3))
    assert next_problem(student, course, now=NOW).reason == "Review due: B"


def test_it_does_not_review_a_skill_before_its_review_is_due(student, course, unit):
    fractions = skill(unit, "Equivalent fractions", 1)
    rates = skill(unit, "Unit rates", 2)
    problem(fractions)
    problem(rates)
    set_mastery(student, fractions, next_review_at=NOW + timedelta(minutes=1))
    assert next_problem(student, course, now=NOW).reason == "Next up: Unit rates"


def test_it_picks_the_problem_predicted_closest_to_the_target_band(
    student, course, unit
):
    rates = skill(unit, "Unit rates", 1)
    by_difficulty = {
        d: problem(rates, position=d, difficulty=d) for d in (1, 2, 3, 4, 5)
    }
    set_mastery(student, rates, level=Level.FAMILIAR, p_known=0.7)
    recommendation = next_problem(student, course, now=NOW)
    base = 0.7 * 0.9 + 0.3 * 0.2  # 0.69 on the skill's average (difficulty 3) problem
    # Difficulty 2 is one step easier than the mean.
    expected = 1 / (1 + math.exp(-(math.log(base / (1 - base)) + DIFFICULTY_LOGIT)))
    assert recommendation.problem == by_difficulty[2]
    assert recommendation.expected_success == pytest.approx(expected)
    assert 0.7 <= recommendation.expected_success <= 0.8


def test_it_predicts_harder_problems_lower_and_the_average_problem_at_bkt(db):
    params = params_for(SkillFactory.build())
    at_mean = predicted_success(0.5, params, 3, 3.0)
    assert at_mean == pytest.approx(0.5 * 0.9 + 0.5 * 0.2)
    assert (
        predicted_success(0.5, params, 5, 3.0)
        < at_mean
        < predicted_success(0.5, params, 1, 3.0)
    )


def test_it_never_recommends_a_retired_problem(student, course, unit):
    rates = skill(unit, "Unit rates", 1)
    problem(rates, position=1, retired_at=NOW)
    active = problem(rates, position=2)
    assert next_problem(student, course, now=NOW).problem == active


def test_it_does_not_offer_a_problem_solved_recently_outside_a_review(
    student, course, unit
):
    rates = skill(unit, "Unit rates", 1)
    integers = skill(unit, "Integers", 2)
    solved = problem(rates)
    other = problem(integers)
    answer(student, solved, True, NOW - timedelta(days=1))
    assert next_problem(student, course, now=NOW).problem == other


def test_it_offers_an_unsolved_problem_before_one_solved_long_ago(
    student, course, unit
):
    rates = skill(unit, "Unit rates", 1)
    old = problem(rates, position=1)
    fresh = problem(rates, position=2, difficulty=5)
    answer(student, old, True, NOW - timedelta(days=60))
    assert next_problem(student, course, now=NOW).problem == fresh
    Attempt.objects.create(
        student=student,
        problem=fresh,
        problem_version=1,
        answer="x",
        correct=True,
        created_at=NOW - timedelta(days=1),
    )
    # Every problem solved; the one solved long ago may come back.
    assert next_problem(student, course, now=NOW).problem == old


def test_it_offers_a_recently_solved_problem_when_it_is_the_only_one_for_a_review(
    student, course, unit
):
    fractions = skill(unit, "Equivalent fractions", 1)
    only = problem(fractions)
    Attempt.objects.create(
        student=student,
        problem=only,
        problem_version=1,
        answer="x",
        correct=True,
        created_at=NOW - timedelta(days=2),
    )
    set_mastery(student, fractions, next_review_at=NOW - timedelta(hours=1))
    recommendation = next_problem(student, course, now=NOW)
    assert (recommendation.problem, recommendation.kind) == (only, "review")


def test_it_routes_repeated_failure_to_the_weakest_prerequisite(student, course, unit):
    fractions = skill(unit, "Equivalent fractions", 1)
    multiplying = skill(unit, "Multiplying fractions", 2)
    rates = skill(unit, "Unit rates", 3, fractions, multiplying)
    weakest = problem(fractions)
    problem(multiplying)
    hard = problem(rates)
    set_mastery(student, fractions, p_known=0.955)
    set_mastery(student, multiplying, p_known=0.99)
    for i in range(3):
        answer(student, hard, False, NOW - timedelta(minutes=10 - i))
    assert Mastery.objects.get(skill=rates).p_known < 0.6
    recommendation = next_problem(student, course, now=NOW)
    assert (recommendation.problem, recommendation.skill, recommendation.kind) == (
        weakest,
        fractions,
        "revisit",
    )
    assert recommendation.reason == "Let's revisit Equivalent fractions first"


def test_it_goes_back_to_the_skill_after_the_revisit(student, course, unit):
    fractions = skill(unit, "Equivalent fractions", 1)
    rates = skill(unit, "Unit rates", 2, fractions)
    revisit = problem(fractions)
    hard = problem(rates)
    set_mastery(student, fractions, p_known=0.99)
    for i in range(3):
        answer(student, hard, False, NOW - timedelta(minutes=10 - i))
    assert next_problem(student, course, now=NOW).kind == "revisit"
    answer(student, revisit, True, NOW - timedelta(minutes=5))
    recommendation = next_problem(student, course, now=NOW)
    assert (recommendation.problem, recommendation.reason) == (
        hard,
        "Next up: Unit rates",
    )
    # Still failing: revisit again.
    answer(student, hard, False, NOW - timedelta(minutes=4))
    assert (
        next_problem(student, course, now=NOW).reason
        == "Let's revisit Equivalent fractions first"
    )


def test_it_brings_back_a_prerequisite_whose_revisit_failed_until_it_is_mastered_again(
    student, course, unit
):
    fractions = skill(unit, "Equivalent fractions", 1)
    rates = skill(unit, "Unit rates", 2, fractions)
    revisit = problem(fractions)
    problem(fractions, position=2)
    hard = problem(rates)
    set_mastery(student, fractions, p_known=0.96)
    for i in range(3):
        answer(student, hard, False, NOW - timedelta(minutes=10 - i))
    answer(student, revisit, False, NOW - timedelta(minutes=5))
    assert Mastery.objects.get(skill=fractions).level != Level.MASTERED
    recommendation = next_problem(student, course, now=NOW)
    assert (recommendation.skill, recommendation.reason) == (
        fractions,
        "Next up: Equivalent fractions",
    )


def test_it_does_not_route_after_only_two_failures(student, course, unit):
    fractions = skill(unit, "Equivalent fractions", 1)
    rates = skill(unit, "Unit rates", 2, fractions)
    problem(fractions)
    hard = problem(rates)
    set_mastery(student, fractions)
    for i in range(2):
        answer(student, hard, False, NOW - timedelta(minutes=10 - i))
    assert next_problem(student, course, now=NOW).reason == "Next up: Unit rates"


def test_it_stays_on_a_skill_without_prerequisites_after_repeated_failure(
    student, course, unit
):
    integers = skill(unit, "Integers", 1)
    first, easier = (
        problem(integers, position=1, difficulty=3),
        problem(integers, position=2, difficulty=1),
    )
    for i in range(3):
        answer(student, first, False, NOW - timedelta(minutes=10 - i))
    recommendation = next_problem(student, course, now=NOW)
    assert (recommendation.problem, recommendation.reason) == (
        easier,
        "Next up: Integers",
    )


def test_it_returns_none_when_every_skill_is_mastered_and_no_review_is_due(
    student, course, unit
):
    fractions = skill(unit, "Equivalent fractions", 1)
    problem(fractions)
    set_mastery(student, fractions)
    assert next_problem(student, course, now=NOW) is None


def test_it_reads_one_students_history_only(student, other_student, course, unit):
    fractions = skill(unit, "Equivalent fractions", 1)
    rates = skill(unit, "Unit rates", 2, fractions)
    problem(fractions)
    problem(rates)
    set_mastery(other_student, fractions)
    assert (
        next_problem(student, course, now=NOW).reason == "Next up: Equivalent fractions"
    )
