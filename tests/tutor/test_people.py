from django.core import mail
from django.urls import reverse

from tests.factories import PASSWORD
from tutor.models import Enrollment, User


def test_it_signs_up_a_student_and_logs_them_in(client, db):
    response = client.post(
        reverse("signup"), {"username": "zoe", "first_name": "Zoe", "email": "", "password": "maths-is-fun-42"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("join-class")
    zoe = User.objects.get(username="zoe")
    assert zoe.role == User.Role.STUDENT
    assert client.get(reverse("account")).status_code == 200


def test_it_refuses_a_taken_username_and_creates_nothing(client, student):
    response = client.post(reverse("signup"), {"username": "ALICE", "password": "maths-is-fun-42"})
    assert response.status_code == 200
    assert "That username is taken." in response.content.decode()
    assert User.objects.filter(username__iexact="alice").count() == 1


def test_it_refuses_a_weak_password(client, db):
    response = client.post(reverse("signup"), {"username": "zoe", "password": "12345678"})
    assert "too common" in response.content.decode()
    assert not User.objects.filter(username="zoe").exists()


def test_it_logs_in_and_out(client, student):
    response = client.post(reverse("login"), {"username": "alice", "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(reverse("home")).status_code == 200
    client.post(reverse("logout"))
    assert client.get(reverse("home")).status_code == 302


def test_it_rejects_a_wrong_password(client, student):
    response = client.post(reverse("login"), {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert "correct username and password" in response.content.decode()


def test_it_sends_a_password_reset_link_that_works(client, student):
    client.post(reverse("password_reset"), {"email": student.email})
    assert len(mail.outbox) == 1
    link = next(line for line in mail.outbox[0].body.splitlines() if "/password/reset/" in line)
    path = link.split("testserver", 1)[1]
    response = client.get(path, follow=True)
    form_url = response.redirect_chain[-1][0]
    response = client.post(form_url, {"new_password1": "a-brand-new-pass-9", "new_password2": "a-brand-new-pass-9"})
    assert response.status_code == 302
    student.refresh_from_db()
    assert student.check_password("a-brand-new-pass-9")


def test_it_lets_a_student_join_a_class_with_its_code(login, classroom, other_student):
    client = login(other_student)
    response = client.post(reverse("join-class"), {"code": classroom.join_code.lower()})
    assert response.status_code == 302
    assert Enrollment.objects.filter(classroom=classroom, student=other_student, removed_at=None).exists()


def test_it_refuses_a_wrong_join_code_and_creates_nothing(login, other_student):
    before = Enrollment.objects.count()
    response = login(other_student).post(reverse("join-class"), {"code": "ZZZZZZ"})
    assert response.status_code == 400
    assert "No class has the code ZZZZZZ" in response.content.decode()
    assert Enrollment.objects.count() == before


def test_it_refuses_join_codes_for_teachers(login, teacher, other_classroom):
    response = login(teacher).post(reverse("join-class"), {"code": other_classroom.join_code})
    assert response.status_code == 400
    assert not Enrollment.objects.filter(student=teacher).exists()


def test_it_lets_a_teacher_create_a_class_and_regenerate_its_code(login, teacher):
    client = login(teacher)
    response = client.post(reverse("teacher-classes"), {"name": "Algebra 1"})
    classroom = teacher.classrooms_taught.get(name="Algebra 1")
    assert response["Location"] == reverse("teacher-class", args=[classroom.id])
    old_code = classroom.join_code
    client.post(reverse("teacher-class-regenerate-code", args=[classroom.id]))
    classroom.refresh_from_db()
    assert classroom.join_code != old_code


def test_it_removes_a_student_from_a_class_keeping_the_enrollment_row(login, teacher, classroom, student):
    login(teacher).post(reverse("teacher-class-remove-student", args=[classroom.id, student.id]))
    enrollment = Enrollment.objects.get(classroom=classroom, student=student)
    assert enrollment.removed_at is not None
    assert not User.objects.in_classroom(classroom).filter(pk=student.pk).exists()
