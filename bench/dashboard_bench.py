"""Teacher dashboard: p95 render time and query count for classes of 10, 40 and 200 students x 30
skills (6 units of 5), rendered through Django's test client against the bench PostgreSQL database,
next to the teacher's account page as the reference."""

from __future__ import annotations

import time

from bench.harness import percentile

SIZES = (10, 40, 200)
ROUNDS = 4
# The reference: the smallest signed-in page (session, user, the base template and its navigation).
REFERENCE = "/account/"


def run(quick: bool = False) -> list[dict]:
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections, connection, reset_queries
    from django.test import Client

    from tests.factories import PASSWORD, ClassroomFactory, UserFactory
    from tests.tutor.test_dashboards import make_course, populate
    from tutor.models import User

    # As Django's test runner does: keep one connection and its query log across requests.
    request_started.disconnect(reset_queries)
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    rows = []
    for size in SIZES:
        teacher = UserFactory(username=f"bench-teacher-{size}", role=User.Role.TEACHER)
        classroom = ClassroomFactory(teacher=teacher)
        skills = make_course(classroom, units=6, per_unit=5, code=f"bench{size}")
        populate(classroom, size, skills, prefix=f"b{size}-")
        client = Client()
        assert client.login(username=teacher.username, password=PASSWORD)
        url = f"/classes/{classroom.pk}/"
        assert client.get(url).status_code == 200  # warm
        executed: list[str] = []

        def count(execute, sql, params, many, context, executed=executed):
            executed.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            client.get(url)
        assert client.get(REFERENCE).status_code == 200  # warm
        timings: list[float] = []
        reference: list[float] = []
        per_round = 3 if quick else 10
        # The page and its reference alternate, so both see the same machine (this VM drifts).
        for _ in range(ROUNDS):
            response = _time_gets(client, url, per_round, timings)
            _time_gets(client, REFERENCE, per_round, reference)
        p95 = percentile(timings, 0.95)
        rows.append({
            "students": size, "skills": len(skills), "queries": len(executed),
            "p50_ms": round(percentile(timings, 0.5) * 1000, 1), "p95_ms": round(p95 * 1000, 1),
            "ref_p50_ms": round(percentile(reference, 0.5) * 1000, 1),
            "ref_p95_ms": round(percentile(reference, 0.95) * 1000, 1),
            "p95_ratio": round(p95 / percentile(reference, 0.95), 1),
            "html_kb": round(len(response.content) / 1024, 1),
        })  # fmt: skip
    return rows


def _time_gets(client, url: str, n: int, timings: list[float]):
    for _ in range(n):
        started = time.perf_counter()
        response = client.get(url)
        timings.append(time.perf_counter() - started)
        assert response.status_code == 200
    return response
