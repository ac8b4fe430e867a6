"""The mastery API: a student sees only themself, a teacher only their students (404 otherwise);
mastery per skill, a skill's history with the attempts behind it, the next problem."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import include, path
from django.utils import timezone

from curriculum.models import Skill
from tests.factories import (
    CourseFactory,
    ProblemFactory,
    SkillFactory,
    UnitFactory,
    UserFactory,
)
from tutor.mastery.tracking import apply_attempt
from tutor.models import Attempt, Level, Mastery, MasteryChange, User

# Until the project URLconf includes it, the tests mount the module the lead will include under /api/.
urlpatterns = [path("api/", include("tutor.api.mastery_urls"))]
pytestmark = pytest.mark.urls(__name__)

T0 = timezone.now() - timedelta(days=3)


@pytest.fixture
def course(classroom):
    course = CourseFactory(code="ms-math", title="Maths")
    classroom.course = course
    classroom.save()
    return course


@pytest.fixture
def fractions(course):
    unit = UnitFactory(course=course, position=1, title="Fractions")
    return SkillFactory(
        unit=unit,
        course=course,
        code="frac-equivalent",
        name="Equivalent fractions",
        position=1,
    )


@pytest.fixture
def adding(fractions):
    skill = SkillFactory(
        unit=fractions.unit,
        course=fractions.course,
        code="frac-add",
        name="Adding fractions",
        position=2,
    )
    skill.prerequisites.add(fractions)
    return skill


def answer(student, problem, correct, at):
    attempt = Attempt.objects.create(
        student=student, problem=problem, problem_version=1, answer="3/4" if correct else "2/6", correct=correct,
        scored=True, created_at=at,
    )  # fmt: skip
    apply_attempt(attempt)
    return attempt


def skill_json(skill):
    return {
        "id": skill.pk,
        "code": skill.code,
        "name": skill.name,
        "course": "ms-math",
        "unit": "Fractions",
    }


def test_it_lists_the_students_mastery_of_every_skill_in_course_order(
    api_client, student, fractions, adding
):
    # One right answer: 0.25 -> 0.66.
    Skill.objects.filter(pk=fractions.pk).update(bkt_prior=0.25)
    problem = ProblemFactory(
        skill=Skill.objects.get(pk=fractions.pk), course=fractions.course
    )
    answer(student, problem, True, T0)
    api_client.force_authenticate(student)
    response = api_client.get(f"/api/students/{student.pk}/mastery/")
    assert response.status_code == 200
    assert response.json() == [
        {
            "skill": skill_json(fractions),
            "level": "familiar",
            "p_known": pytest.approx(0.66),
            "n_scored": 1,
            "n_correct": 1,
            "review_status": None,
            "mastered_at": None,
            "last_practiced_at": T0.isoformat().replace("+00:00", "Z"),
            "next_review_at": None,
        },
        {
            "skill": skill_json(adding),
            "level": "not_started",
            "p_known": 0.2,
            "n_scored": 0,
            "n_correct": 0,
            "review_status": None,
            "mastered_at": None,
            "last_practiced_at": None,
            "next_review_at": None,
        },
    ]


def test_it_tells_retained_from_review_due(api_client, student, fractions, adding):
    Mastery.objects.create(student=student, skill=fractions, p_known=0.97, level=Level.MASTERED, n_scored=3,
                           next_review_at=timezone.now() + timedelta(days=1))  # fmt: skip
    Mastery.objects.create(student=student, skill=adding, p_known=0.97, level=Level.MASTERED, n_scored=3,
                           next_review_at=timezone.now() - timedelta(days=1))  # fmt: skip
    api_client.force_authenticate(student)
    rows = api_client.get(f"/api/students/{student.pk}/mastery/").json()
    assert [(r["skill"]["code"], r["level"], r["review_status"]) for r in rows] == [
        ("frac-equivalent", "mastered", "retained"),
        ("frac-add", "mastered", "review_due"),
    ]


def test_it_shows_the_teacher_their_students_mastery(
    api_client, teacher, student, fractions
):
    api_client.force_authenticate(teacher)
    response = api_client.get(f"/api/students/{student.pk}/mastery/")
    assert response.status_code == 200
    assert [r["skill"]["code"] for r in response.json()] == ["frac-equivalent"]


def test_it_returns_404_for_another_students_mastery(
    api_client, student, other_student, fractions
):
    Mastery.objects.create(
        student=other_student,
        skill=fractions,
        p_known=0.9,
        level=Level.PROFICIENT,
        n_scored=4,
    )
    api_client.force_authenticate(student)
    for url in (
        f"/api/students/{other_student.pk}/mastery/",
        f"/api/students/{other_student.pk}/mastery/frac-equivalent/history/",
        f"/api/students/{other_student.pk}/next-problem/",
    ):
        response = api_client.get(url)
        assert response.status_code == 404, url
        assert response.json() == {"error": "not_found", "detail": "Not found."}


def test_it_returns_404_to_a_teacher_of_another_class(
    api_client, other_teacher, student, fractions
):
    api_client.force_authenticate(other_teacher)
    for url in (
        f"/api/students/{student.pk}/mastery/",
        f"/api/students/{student.pk}/mastery/frac-equivalent/history/",
        f"/api/students/{student.pk}/next-problem/",
    ):
        assert api_client.get(url).status_code == 404, url


def test_it_requires_a_signed_in_user(api_client, student, fractions):
    assert api_client.get(f"/api/students/{student.pk}/mastery/").status_code in (
        401,
        403,
    )


def test_it_returns_the_history_with_the_attempt_that_caused_each_change(
    api_client, teacher, student, fractions
):
    problem = ProblemFactory(
        skill=fractions, course=fractions.course, code="frac-equivalent-01"
    )
    wrong = answer(student, problem, False, T0)
    right = answer(student, problem, True, T0 + timedelta(minutes=1))
    first, second = MasteryChange.objects.order_by("id")
    api_client.force_authenticate(teacher)
    body = api_client.get(
        f"/api/students/{student.pk}/mastery/frac-equivalent/history/"
    ).json()
    assert body["mastery"]["level"] == "attempted"
    assert body["mastery"]["n_scored"] == 2
    assert body["changes"] == [
        {
            "at": T0.isoformat().replace("+00:00", "Z"),
            "reason": "attempt",
            "p_before": 0.2,
            "p_after": pytest.approx(first.p_after),
            "level_before": "not_started",
            "level_after": "attempted",
            "attempt": {
                "id": wrong.pk,
                "problem": "frac-equivalent-01",
                "answer": "2/6",
                "correct": False,
                "scored": True,
                "hints_used": 0,
                "created_at": T0.isoformat().replace("+00:00", "Z"),
            },
        },
        {
            "at": (T0 + timedelta(minutes=1)).isoformat().replace("+00:00", "Z"),
            "reason": "attempt",
            "p_before": pytest.approx(first.p_after),
            "p_after": pytest.approx(second.p_after),
            "level_before": "attempted",
            "level_after": "attempted",
            "attempt": {
                "id": right.pk,
                "problem": "frac-equivalent-01",
                "answer": "3/4",
                "correct": True,
                "scored": True,
                "hints_used": 0,
                "created_at": (T0 + timedelta(minutes=1))
                .isoformat()
                .replace("+00:00", "Z"),
            },
        },
    ]


def test_it_returns_an_empty_history_for_a_skill_not_started(
    api_client, student, fractions
):
    api_client.force_authenticate(student)
    body = api_client.get(
        f"/api/students/{student.pk}/mastery/frac-equivalent/history/"
    ).json()
    assert (body["mastery"]["level"], body["changes"]) == ("not_started", [])


def test_it_returns_404_for_a_skill_outside_the_students_courses(
    api_client, student, fractions
):
    SkillFactory(code="elsewhere")
    api_client.force_authenticate(student)
    assert (
        api_client.get(
            f"/api/students/{student.pk}/mastery/elsewhere/history/"
        ).status_code
        == 404
    )
    assert (
        api_client.get(f"/api/students/{student.pk}/mastery/nope/history/").status_code
        == 404
    )


def test_it_recommends_the_next_problem_with_a_reason(
    api_client, student, fractions, adding
):
    problem = ProblemFactory(
        skill=fractions,
        course=fractions.course,
        code="frac-equivalent-01",
        difficulty=3,
    )
    ProblemFactory(skill=adding, course=adding.course)
    api_client.force_authenticate(student)
    body = api_client.get(f"/api/students/{student.pk}/next-problem/").json()
    assert body == {
        "kind": "next",
        "reason": "Next up: Equivalent fractions",
        "problem": {
            "id": problem.pk,
            "code": "frac-equivalent-01",
            "prompt": problem.prompt,
            "difficulty": 3,
        },
        "skill": skill_json(fractions),
        "expected_success": pytest.approx(0.34),
    }


def test_it_says_so_when_there_is_no_course_to_practise(api_client, student):
    api_client.force_authenticate(student)
    body = api_client.get(f"/api/students/{student.pk}/next-problem/").json()
    assert body == {
        "kind": None, "reason": "No course yet: join a class to get problems.", "problem": None, "skill": None,
        "expected_success": None,
    }  # fmt: skip


def test_it_returns_404_for_an_unknown_course(api_client, student, fractions):
    api_client.force_authenticate(student)
    assert (
        api_client.get(f"/api/students/{student.pk}/mastery/?course=nope").status_code
        == 404
    )
    assert (
        api_client.get(
            f"/api/students/{student.pk}/mastery/?course=ms-math"
        ).status_code
        == 200
    )


def count_queries(api_client, url):
    with CaptureQueriesContext(connection) as queries:
        assert api_client.get(url).status_code == 200
    return len(queries)


def test_it_lists_mastery_in_a_constant_number_of_queries(
    api_client, student, fractions
):
    api_client.force_authenticate(student)
    url = f"/api/students/{student.pk}/mastery/"
    Mastery.objects.create(
        student=student, skill=fractions, p_known=0.5, level=Level.ATTEMPTED, n_scored=1
    )
    few = count_queries(api_client, url)
    for i in range(8):
        unit = UnitFactory(course=fractions.course, position=i + 2)
        skill = SkillFactory(unit=unit, course=fractions.course, position=1)
        if i % 2:
            Mastery.objects.create(
                student=student,
                skill=skill,
                p_known=0.5,
                level=Level.ATTEMPTED,
                n_scored=1,
            )
    assert len(api_client.get(url).json()) == 9
    assert count_queries(api_client, url) == few


def test_it_lets_staff_request_a_refit_that_runs_after_commit(
    api_client, admin_user, fractions, django_capture_on_commit_callbacks
):
    learners = User.objects.bulk_create(
        [User(username=f"s{i}", role=User.Role.STUDENT) for i in range(10)]
    )
    problem = ProblemFactory(skill=fractions, course=fractions.course)
    for i, learner in enumerate(learners):
        for j in range(3):
            Attempt.objects.create(student=learner, problem=problem, problem_version=1, answer="x",
                                   correct=(i + j) % 3 != 0, scored=True, created_at=T0 + timedelta(minutes=j))  # fmt: skip
    api_client.force_authenticate(admin_user)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = api_client.post(
            "/api/mastery/refit/", {"course": "ms-math"}, format="json"
        )
    assert (response.status_code, response.json()) == (
        202,
        {"queued": True, "course": "ms-math"},
    )
    assert len(callbacks) == 1
    assert Skill.objects.get(pk=fractions.pk).bkt_fit_attempts == 30


def test_it_refuses_a_refit_to_anyone_but_staff(
    api_client, teacher, fractions, django_capture_on_commit_callbacks
):
    api_client.force_authenticate(teacher)
    with django_capture_on_commit_callbacks() as callbacks:
        response = api_client.post("/api/mastery/refit/", {}, format="json")
    assert response.status_code == 403
    assert callbacks == []
    assert Skill.objects.get(pk=fractions.pk).bkt_fitted_at is None


def test_it_lets_an_admin_of_the_organisation_read_any_of_its_students(
    api_client, admin_user, student, fractions
):
    api_client.force_authenticate(admin_user)
    assert api_client.get(f"/api/students/{student.pk}/mastery/").status_code == 200
    stranger = UserFactory(role=User.Role.STUDENT)
    assert api_client.get(f"/api/students/{stranger.pk}/mastery/").status_code == 404
