"""The demo school: an organisation, a teacher, an admin, a class with a dozen students.

Every step is idempotent (looked up by stable names) so `make run` can call it each time.
Later steps (curriculum, attempt history, model releases) hook in through DEMO_STEPS.
"""

from collections.abc import Callable

from django.db import transaction

from tutor.models import Classroom, Enrollment, Organisation, User

DEMO_PASSWORD = "tutor-demo-2026"
DEMO_JOIN_CODE = "DEMO42"
DEMO_STUDENTS = [
    ("ada", "Ada", "Okafor"), ("ben", "Ben", "Larsen"), ("chloe", "Chloé", "Martin"),
    ("dev", "Dev", "Patel"), ("elena", "Elena", "Rossi"), ("farid", "Farid", "Haddad"),
    ("grace", "Grace", "Kim"), ("hugo", "Hugo", "Silva"), ("ines", "Inès", "Dubois"),
    ("jamal", "Jamal", "Brown"), ("keiko", "Keiko", "Tanaka"), ("liam", "Liam", "Walsh"),
]  # fmt: skip

Logins = list[tuple[str, str, str]]


def _person(username: str, role: str, organisation: Organisation, first: str, last: str) -> User:
    user, created = User.objects.get_or_create(
        username=username,
        defaults={"role": role, "organisation": organisation, "first_name": first, "last_name": last},
    )
    if created or not user.check_password(DEMO_PASSWORD):
        user.set_password(DEMO_PASSWORD)
        user.save()
    return user


@transaction.atomic
def seed_people() -> tuple[Classroom, Logins]:
    organisation, _ = Organisation.objects.get_or_create(slug="demo-school", defaults={"name": "Demo Middle School"})
    teacher = _person("teacher", User.Role.TEACHER, organisation, "Maria", "Lopez")
    admin = _person("admin", User.Role.ADMIN, organisation, "Sam", "Admin")
    if not admin.is_staff:
        admin.is_staff = admin.is_superuser = True
        admin.save(update_fields=["is_staff", "is_superuser"])
    classroom, _ = Classroom.objects.get_or_create(
        join_code=DEMO_JOIN_CODE, defaults={"organisation": organisation, "teacher": teacher, "name": "Maths 7B"}
    )
    logins: Logins = [("teacher", teacher.username, DEMO_PASSWORD), ("admin", admin.username, DEMO_PASSWORD)]
    for username, first, last in DEMO_STUDENTS:
        student = _person(username, User.Role.STUDENT, organisation, first, last)
        Enrollment.objects.get_or_create(classroom=classroom, student=student)
        logins.append(("student", username, DEMO_PASSWORD))
    return classroom, logins


def demo_steps() -> list[Callable[[Classroom, Callable[[str], None]], object]]:
    """Later steps, in order: content first, then history that refers to it."""
    from curriculum.demo import seed_curriculum
    from evals.demo import seed_evals
    from tutor.demo_releases import seed_releases
    from tutor.mastery.demo import seed_history

    return [seed_curriculum, seed_history, seed_releases, seed_evals]


def seed_demo(log: Callable[[str], None] = print) -> Logins:
    classroom, logins = seed_people()
    for step in demo_steps():
        step(classroom, log)
    return logins
