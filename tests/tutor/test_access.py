"""Nobody sees what is not theirs: 404 (never a hint that it exists), and nothing changes."""

from django.urls import reverse

from tutor.models import Classroom, Enrollment


def test_it_hides_another_teachers_class_page(login, teacher, other_classroom):
    response = login(teacher).get(reverse("teacher-class", args=[other_classroom.id]))
    assert response.status_code == 404


def test_it_refuses_to_regenerate_another_teachers_code(login, teacher, other_classroom):
    code = other_classroom.join_code
    response = login(teacher).post(reverse("teacher-class-regenerate-code", args=[other_classroom.id]))
    assert response.status_code == 404
    assert Classroom.objects.get(pk=other_classroom.pk).join_code == code


def test_it_refuses_to_remove_a_student_from_another_teachers_class(login, teacher, other_classroom, other_student):
    response = login(teacher).post(
        reverse("teacher-class-remove-student", args=[other_classroom.id, other_student.id])
    )
    assert response.status_code == 404
    assert Enrollment.objects.get(student=other_student).removed_at is None


def test_it_hides_class_pages_from_students(login, student, classroom):
    assert login(student).get(reverse("teacher-class", args=[classroom.id])).status_code == 404


def test_it_lets_an_admin_see_every_class_of_the_organisation(login, admin_user, classroom, other_classroom):
    client = login(admin_user)
    assert client.get(reverse("teacher-class", args=[classroom.id])).status_code == 200
    assert client.get(reverse("teacher-class", args=[other_classroom.id])).status_code == 200


def test_it_shows_an_admin_without_an_organisation_no_class(login, classroom):
    from tests.factories import UserFactory
    from tutor.models import User

    client = login(UserFactory(role=User.Role.ADMIN, organisation=None))
    assert client.get(reverse("teacher-class", args=[classroom.id])).status_code == 404
    assert "Maths 7B" not in client.get(reverse("account")).content.decode()


def test_an_admin_without_an_organisation_cannot_read_a_student_without_one(api_client, problem):
    from tests.factories import UserFactory
    from tutor import actions, tutoring
    from tutor.models import User

    loner = actions.sign_up_student("loner", "correct-horse-battery")  # in no class, so in no organisation
    session = tutoring.start_session(loner, problem.pk)
    api_client.force_authenticate(UserFactory(role=User.Role.ADMIN, organisation=None))

    assert api_client.get(reverse("api-session", args=[session.pk])).status_code == 404
    assert api_client.get(reverse("api-student-mastery", args=[loner.pk])).status_code == 404


def test_it_lists_only_the_teachers_own_classes_in_the_api(api_client, teacher, classroom, other_classroom):
    api_client.force_authenticate(teacher)
    response = api_client.get("/api/classes/")
    assert [c["name"] for c in response.json()] == ["Maths 7B"]


def test_it_returns_404_for_another_teachers_class_in_the_api(api_client, teacher, other_classroom):
    api_client.force_authenticate(teacher)
    response = api_client.get(f"/api/classes/{other_classroom.id}/")
    assert response.status_code == 404
    assert response.json() == {"error": "not_found", "detail": "Not found."}


def test_it_returns_404_to_a_student_asking_for_a_class_roster(api_client, student, classroom):
    api_client.force_authenticate(student)
    assert api_client.get(f"/api/classes/{classroom.id}/").status_code == 404


def test_it_shows_a_student_only_their_own_classes_without_join_codes(api_client, student, classroom, other_classroom):
    api_client.force_authenticate(student)
    assert api_client.get("/api/classes/").json() == [
        {"id": classroom.id, "name": "Maths 7B", "teacher": classroom.teacher.display_name, "join_code": None}
    ]


def test_it_refuses_class_creation_by_a_student(api_client, student):
    api_client.force_authenticate(student)
    before = Classroom.objects.count()
    response = api_client.post("/api/classes/", {"name": "Mine"}, format="json")
    assert response.status_code == 403
    assert Classroom.objects.count() == before


def test_it_joins_a_class_through_the_api_with_a_clear_error_for_a_wrong_code(api_client, other_student, classroom):
    api_client.force_authenticate(other_student)
    bad = api_client.post("/api/classes/join/", {"code": "nope"}, format="json")
    assert bad.status_code == 404
    assert bad.json()["error"] == "unknown_code"
    assert not Enrollment.objects.filter(classroom=classroom, student=other_student).exists()
    good = api_client.post("/api/classes/join/", {"code": classroom.join_code}, format="json")
    assert good.status_code == 201
    assert Enrollment.objects.filter(classroom=classroom, student=other_student).exists()


def test_it_issues_api_tokens(api_client, student):
    from tests.factories import PASSWORD

    token = api_client.post("/api/auth/token/", {"username": "alice", "password": PASSWORD}, format="json").json()
    api_client.credentials(HTTP_AUTHORIZATION=f"Token {token['token']}")
    assert api_client.get("/api/me/").json()["username"] == "alice"


def test_it_requires_authentication_for_the_api(api_client, db):
    assert api_client.get("/api/me/").status_code in (401, 403)
