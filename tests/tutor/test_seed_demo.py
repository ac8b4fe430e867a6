import re

from django.core.management import call_command

from tutor.models import Classroom, User


def _run_seed() -> list[tuple[str, str, str]]:
    from io import StringIO

    out = StringIO()
    call_command("seed_demo", stdout=out)
    return re.findall(r"^demo login: (student|teacher|admin) (\S+) (\S+)$", out.getvalue(), flags=re.M)


def test_it_creates_the_demo_school_and_every_printed_login_works(client, db):
    logins = _run_seed()
    roles = [role for role, _, _ in logins]
    assert roles.count("teacher") == 1
    assert roles.count("admin") == 1
    assert roles.count("student") == 12
    for role, username, password in logins:
        assert client.login(username=username, password=password), username
        assert User.objects.get(username=username).role == role
        assert client.get("/").status_code in (200, 302)
        client.logout()


def test_it_is_idempotent(db):
    _run_seed()
    counts = (User.objects.count(), Classroom.objects.count())
    _run_seed()
    assert (User.objects.count(), Classroom.objects.count()) == counts
    assert User.objects.in_classroom(Classroom.objects.get(join_code="DEMO42")).count() == 12
