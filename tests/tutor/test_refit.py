"""Fitting BKT parameters from the attempt log: recovers known parameters from simulated students,
keeps skills with too little data, runs the same twice, is enqueued after commit."""

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from curriculum.models import DEFAULT_BKT, Skill
from tests.factories import CourseFactory, ProblemFactory, SkillFactory, UnitFactory
from tutor.mastery import bkt
from tutor.mastery.refit import attempt_sequences, refit_skills, request_refit
from tutor.mastery.simulate import attempt_for, record, simulate_cohort
from tutor.mastery.tasks import fit_all_skills
from tutor.models import User

START = timezone.now() - timedelta(days=200)
TRUE = {
    "fractions": bkt.BKTParams(prior=0.3, learn=0.2, guess=0.15, slip=0.1),
    "rates": bkt.BKTParams(prior=0.55, learn=0.1, guess=0.25, slip=0.05),
}


@pytest.fixture
def course(db):
    return CourseFactory(code="ms-math")


@pytest.fixture
def skills(course):
    unit = UnitFactory(course=course)
    return {code: SkillFactory(unit=unit, course=course, code=code) for code in TRUE}


@pytest.fixture
def problems(skills):
    return {
        s: [ProblemFactory(skill=s, course=s.course, position=i) for i in range(4)]
        for s in skills.values()
    }


def cohort(n, prefix="sim"):
    return User.objects.bulk_create(
        [User(username=f"{prefix}{i}", role=User.Role.STUDENT) for i in range(n)]
    )


def simulate(problems, students, attempts_per_skill=12, seed=7):
    true_params = {s.pk: TRUE[s.code] for s in problems}
    return simulate_cohort(
        students,
        problems,
        true_params,
        attempts_per_skill=attempts_per_skill,
        start=START,
        seed=seed,
    )


def test_it_recovers_the_parameters_students_were_simulated_from(
    course, skills, problems
):
    # 800 students x 12 attempts per skill: over 20 seeds the worst parameter error was 0.053,
    # so 0.06 is about three standard errors, not a tuned seed.
    simulate(problems, cohort(800))
    report = refit_skills(course, forgetting=False)  # the students were simulated without forgetting
    assert report["n_attempts"] == 2 * 800 * 12
    for code, true in TRUE.items():
        skill = Skill.objects.get(pk=skills[code].pk)
        fitted = skill.bkt_params
        for name in ("prior", "learn", "guess", "slip"):
            assert fitted[name] == pytest.approx(getattr(true, name), abs=0.06), (
                code,
                name,
                fitted,
            )
        assert fitted["forget"] == 0.0
        assert skill.bkt_fit_attempts == 800 * 12
        assert skill.bkt_fitted_at is not None
        assert report["skills"][code]["source"] == "fitted"


def test_it_writes_the_same_parameters_when_run_twice(course, skills, problems):
    simulate(problems, cohort(60))
    first = refit_skills(course)
    params = {s.code: s.bkt_params for s in Skill.objects.all()}
    second = refit_skills(course)
    assert {s.code: s.bkt_params for s in Skill.objects.all()} == params
    assert first["skills"] == second["skills"]


def test_it_keeps_the_parameters_of_a_skill_with_too_little_data(
    course, skills, problems
):
    students = cohort(30)
    simulate({skills["fractions"]: problems[skills["fractions"]]}, students)
    rates_problem = problems[skills["rates"]][0]
    rng = random.Random(1)
    record(
        [attempt_for(s, rates_problem, True, START, rng) for s in students[:4]],
        track=False,
    )
    report = refit_skills(course, min_attempts=10)
    rates = Skill.objects.get(pk=skills["rates"].pk)
    assert rates.bkt_params == DEFAULT_BKT
    assert (rates.bkt_fitted_at, rates.bkt_fit_attempts) == (None, 0)
    assert report["skills"]["rates"] == {
        "id": rates.pk, "n_attempts": 4, "source": "kept", "reason": None, "params": DEFAULT_BKT,
    }  # fmt: skip
    assert Skill.objects.get(pk=skills["fractions"].pk).bkt_fit_attempts == 30 * 12


def test_it_does_nothing_without_enough_attempts(course, skills):
    report = refit_skills(course)
    assert report == {
        "course": "ms-math",
        "n_attempts": 0,
        "pooled": None,
        "skills": {},
    }
    assert all(s.bkt_fitted_at is None for s in Skill.objects.all())


def test_it_reads_scored_attempts_per_student_in_order_and_counts_hinted_answers_as_wrong(
    student, other_student, course, skills, problems
):
    fractions, rates = skills["fractions"], skills["rates"]
    shared = problems[fractions][0]
    shared.also_skills.add(rates)
    rng = random.Random(0)
    record(
        [
            attempt_for(student, shared, True, START + timedelta(minutes=2), rng),
            attempt_for(other_student, shared, False, START, rng),
            attempt_for(
                student,
                problems[fractions][1],
                True,
                START + timedelta(minutes=1),
                rng,
                hints_used=1,
            ),
            attempt_for(
                student,
                problems[fractions][2],
                False,
                START + timedelta(minutes=3),
                rng,
                scored=False,
            ),
        ],
        track=False,
    )
    assert attempt_sequences(course) == {
        fractions.pk: [[False, True], [False]]
        if student.pk < other_student.pk
        else [[False], [False, True]],
        rates.pk: [[True], [False]]
        if student.pk < other_student.pk
        else [[False], [True]],
    }


def test_it_fits_only_the_course_asked_for(course, skills, problems):
    other = SkillFactory(code="elsewhere")
    other_problem = ProblemFactory(skill=other, course=other.course)
    students = cohort(40)
    simulate(problems, students)
    rng = random.Random(2)
    record(
        [
            attempt_for(s, other_problem, rng.random() < 0.5, START, rng)
            for s in students
        ],
        track=False,
    )
    report = refit_skills(course)
    assert set(report["skills"]) == {"fractions", "rates"}
    assert Skill.objects.get(pk=other.pk).bkt_fitted_at is None


def test_it_enqueues_the_refit_only_once_the_transaction_commits(
    course, skills, problems, django_capture_on_commit_callbacks
):
    simulate(problems, cohort(40))
    with django_capture_on_commit_callbacks() as callbacks:
        request_refit(course)
        assert Skill.objects.filter(bkt_fitted_at__isnull=False).count() == 0
    assert len(callbacks) == 1
    callbacks[0]()  # the commit: Celery runs eagerly in tests
    assert Skill.objects.filter(bkt_fitted_at__isnull=False).count() == 2


def test_it_runs_the_nightly_task_over_every_course_and_twice_harmlessly(
    course, skills, problems
):
    simulate(problems, cohort(40))
    fit_all_skills.delay()
    params = {s.code: s.bkt_params for s in Skill.objects.all()}
    assert all(s.bkt_fit_attempts == 40 * 12 for s in Skill.objects.all())
    fit_all_skills.delay()
    assert {s.code: s.bkt_params for s in Skill.objects.all()} == params


def test_it_ignores_a_task_for_a_course_deleted_since(course, skills, problems):
    simulate(problems, cohort(40))
    fit_all_skills.delay(course.pk + 1000)
    assert Skill.objects.filter(bkt_fitted_at__isnull=False).count() == 0
