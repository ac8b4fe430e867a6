"""Teacher dashboard: p95 render time and query count for classes of 10, 40 and 200 students x 30
skills (6 units of 5), rendered through Django's test client against the bench PostgreSQL database."""

from __future__ import annotations

import time

from bench.harness import percentile

SIZES = (10, 40, 200)


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
        timings = []
        for _ in range(10 if quick else 40):
            started = time.perf_counter()
            response = client.get(url)
            timings.append(time.perf_counter() - started)
            assert response.status_code == 200
        rows.append({
            "students": size, "skills": len(skills), "queries": len(executed),
            "p50_ms": round(percentile(timings, 0.5) * 1000, 1), "p95_ms": round(percentile(timings, 0.95) * 1000, 1),
            "html_kb": round(len(response.content) / 1024, 1),
        })  # fmt: skip
    return rows
