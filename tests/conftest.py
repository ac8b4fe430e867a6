"""Personas shared by the whole suite: a school with a teacher, a class, two students and an admin,
plus a second teacher whose class the first must never see."""

import pytest

from tests.factories import (
    PASSWORD,
    ClassroomFactory,
    EnrollmentFactory,
    OrganisationFactory,
    UserFactory,
)
from tutor.models import User

pytest_plugins = ["tests.fakes.fixtures"]


def pytest_collection_modifyitems(items):
    """Browser tests last: Playwright's sync API holds an event loop while it runs."""
    for item in items:
        if "/tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
    items.sort(key=lambda item: "/tests/e2e/" in str(item.fspath))


@pytest.fixture
def school(db):
    return OrganisationFactory(name="Hillside School", slug="hillside")


@pytest.fixture
def teacher(school):
    return UserFactory(username="teacher", role=User.Role.TEACHER, organisation=school)


@pytest.fixture
def other_teacher(school):
    return UserFactory(username="other-teacher", role=User.Role.TEACHER, organisation=school)


@pytest.fixture
def admin_user(school):
    return UserFactory(username="admin", role=User.Role.ADMIN, organisation=school, is_staff=True)


@pytest.fixture
def classroom(teacher):
    return ClassroomFactory(teacher=teacher, name="Maths 7B")


@pytest.fixture
def other_classroom(other_teacher):
    return ClassroomFactory(teacher=other_teacher, name="Maths 8A")


@pytest.fixture
def student(classroom):
    user = UserFactory(username="alice", first_name="Alice", organisation=classroom.organisation)
    EnrollmentFactory(classroom=classroom, student=user)
    return user


@pytest.fixture
def other_student(other_classroom):
    user = UserFactory(username="bob", first_name="Bob", organisation=other_classroom.organisation)
    EnrollmentFactory(classroom=other_classroom, student=user)
    return user


@pytest.fixture
def login(client):
    def _login(user: User):
        assert client.login(username=user.username, password=PASSWORD)
        return client

    return _login


@pytest.fixture
def api_client():
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def problem(db):
    from tests.factories import ProblemFactory

    return ProblemFactory()
