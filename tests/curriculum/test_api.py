"""The read-only curriculum API: what everyone sees, and what only teachers and admins see."""

import json
from pathlib import Path

import pytest

from curriculum.importer import import_course
from curriculum.models import Problem, Skill

GOOD = Path(__file__).parent / "data" / "good"
STAFF_ONLY = ("answer_spec", "solution", "hints", "misconceptions")


@pytest.fixture
def course(db):
    import_course(GOOD)


def get(api_client, user, url):
    if user is not None:
        api_client.force_authenticate(user)
    return api_client.get(url)


def test_it_lists_courses(api_client, student, course):
    response = get(api_client, student, "/api/courses/")

    assert response.status_code == 200
    assert response.json() == [
        {
            "code": "tiny-math",
            "title": "Tiny Mathematics",
            "description": "A small course for the tests.",
            "language": "en",
            "grade_band": "6",
            "version": 2,
            "n_units": 2,
            "n_skills": 3,
        }
    ]


def test_it_shows_a_course_with_its_units_and_skill_codes(api_client, student, course):
    response = get(api_client, student, "/api/courses/tiny-math/")

    assert response.status_code == 200
    assert response.json()["units"] == [
        {
            "code": "basics",
            "title": "Basics",
            "position": 0,
            "skills": ["adding", "halves"],
        },
        {"code": "beyond", "title": "Beyond", "position": 1, "skills": ["doubling"]},
    ]


def test_it_lists_skills_with_prerequisites_and_bkt_parameters(
    api_client, student, course
):
    response = get(api_client, student, "/api/courses/tiny-math/skills/")

    assert response.status_code == 200
    skills = response.json()
    assert [(s["code"], s["unit"], sorted(s["prerequisites"])) for s in skills] == [
        ("adding", "basics", []),
        ("halves", "basics", ["adding"]),
        ("doubling", "beyond", ["adding", "halves"]),
    ]
    assert skills[1]["bkt"] == {
        "prior": 0.3,
        "learn": 0.15,
        "guess": 0.2,
        "slip": 0.05,
        "forget": 0.0,
    }
    assert skills[1]["bkt_fitted_at"] is None


def test_it_shows_a_skill_with_its_lesson(api_client, student, course):
    response = get(api_client, student, "/api/courses/tiny-math/skills/halves/")

    assert response.status_code == 200
    assert response.json()["lesson"] == "Half of a number $n$ is $\\frac{n}{2}$.\n"


def test_it_never_sends_a_student_the_answer_solution_hints_or_misconceptions(
    api_client, student, course
):
    response = get(
        api_client, student, "/api/courses/tiny-math/skills/adding/problems/"
    )

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    first, second = body["results"]
    assert first == {
        "code": "adding-01",
        "position": 0,
        "version": 1,
        "prompt": "What is $4817 + 1000$?\n",
        "answer_kind": "integer",
        "choices": [],
        "difficulty": 1,
        "grade": 6,
        "tags": ["place-value"],
        "hint_count": 3,
    }
    assert second["choices"] == ["6 + 5", "7 + 5", "8 + 5"]
    text = response.content.decode()
    for key in STAFF_ONLY:
        assert f'"{key}"' not in text
    assert "5817" not in text  # the answer
    assert "4917" not in text  # a misconception's answer
    assert "thousands digit" not in text  # the hints and the solution


def test_a_teacher_sees_the_answer_key_solution_and_hints(api_client, teacher, course):
    response = get(
        api_client, teacher, "/api/courses/tiny-math/skills/adding/problems/"
    )

    assert response.status_code == 200
    first = response.json()["results"][0]
    assert first["answer_spec"] == {"kind": "integer", "value": "5817"}
    assert (
        first["solution"]
        == "Adding 1000 adds one to the thousands digit: $4817 + 1000 = 5817$.\n"
    )
    assert [hint["kind"] for hint in first["hints"]] == [
        "hint",
        "scaffold",
        "bottom_out",
    ]
    assert first["misconceptions"] == [
        {
            "code": "added-a-hundred",
            "answer": "4917",
            "feedback": "You added 100, not 1000. Look at the thousands digit.",
        }
    ]


def test_an_admin_sees_the_answer_key(api_client, admin_user, course):
    response = get(
        api_client, admin_user, "/api/courses/tiny-math/skills/halves/problems/"
    )

    assert response.json()["results"][0]["answer_spec"] == {
        "kind": "fraction",
        "value": "3/8",
        "allow": ["decimal"],
    }


def test_it_paginates_problems(api_client, teacher, course):
    skill = Skill.objects.get(code="adding")
    template = Problem.objects.get(code="adding-01")
    for n in range(60):
        Problem.objects.create(
            course=template.course,
            skill=skill,
            code=f"extra-{n:02}",
            position=10 + n,
            prompt="p",
            answer_spec=template.answer_spec,
            solution="s",
        )

    first = get(
        api_client, teacher, "/api/courses/tiny-math/skills/adding/problems/"
    ).json()
    second = api_client.get(
        "/api/courses/tiny-math/skills/adding/problems/?page=2"
    ).json()

    assert (first["count"], len(first["results"]), len(second["results"])) == (
        62,
        50,
        12,
    )
    assert second["next"] is None


def test_it_hides_retired_problems_and_skills(api_client, student, course):
    Problem.objects.filter(code="adding-02").update(retired_at="2026-01-01T00:00:00Z")
    Skill.objects.filter(code="doubling").update(retired_at="2026-01-01T00:00:00Z")

    problems = get(
        api_client, student, "/api/courses/tiny-math/skills/adding/problems/"
    ).json()
    skills = api_client.get("/api/courses/tiny-math/skills/").json()
    retired = api_client.get("/api/courses/tiny-math/skills/doubling/")

    assert [p["code"] for p in problems["results"]] == ["adding-01"]
    assert [s["code"] for s in skills] == ["adding", "halves"]
    assert retired.status_code == 404


def test_it_answers_404_for_an_unknown_course_or_skill(api_client, student, course):
    assert get(api_client, student, "/api/courses/nope/").status_code == 404
    assert (
        api_client.get("/api/courses/tiny-math/skills/nope/problems/").status_code
        == 404
    )
    assert api_client.get("/api/courses/nope/skills/adding/").json() == {
        "error": "not_found",
        "detail": "Not found.",
    }


def test_it_refuses_anonymous_requests(api_client, course):
    for url in ("/api/courses/", "/api/courses/tiny-math/skills/adding/problems/"):
        response = api_client.get(url)
        assert response.status_code in (401, 403)
        assert "tiny-math" not in response.content.decode()


def test_it_is_read_only(api_client, teacher, course):
    api_client.force_authenticate(teacher)

    response = api_client.post(
        "/api/courses/tiny-math/skills/adding/problems/", {"code": "x"}, format="json"
    )

    assert response.status_code == 405
    assert Problem.objects.count() == 5


def test_the_openapi_schema_documents_the_curriculum_endpoints(api_client, admin_user):
    api_client.force_authenticate(admin_user)

    response = api_client.get("/api/schema/?format=json")

    schema = json.loads(response.content)
    assert {
        "/api/courses/",
        "/api/courses/{course_code}/",
        "/api/courses/{course_code}/skills/",
        "/api/courses/{course_code}/skills/{skill_code}/",
        "/api/courses/{course_code}/skills/{skill_code}/problems/",
    } <= set(schema["paths"])
    problems = schema["paths"][
        "/api/courses/{course_code}/skills/{skill_code}/problems/"
    ]["get"]
    assert problems["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PaginatedProblemForRoleList"
    }
    assert {"StudentProblemOutput", "StaffProblemOutput"} <= set(
        schema["components"]["schemas"]
    )
    assert (
        "answer_spec"
        not in schema["components"]["schemas"]["StudentProblemOutput"]["properties"]
    )
