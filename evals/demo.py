"""Demo step: register the pedagogy-core suite (idempotent: a second run changes nothing).

The suite refers to the demo course's problems by code, so run it after the curriculum step.
"""

from __future__ import annotations

from collections.abc import Callable

from evals.actions import register_suite_file
from evals.models import Suite
from evals.suites import PEDAGOGY_CORE
from tutor.models import Classroom


def seed_evals(classroom: Classroom, log: Callable[[str], None]) -> Suite:
    registered = register_suite_file(PEDAGOGY_CORE)
    suite = registered.suite
    state = "registered" if registered.created else "unchanged"
    log(f"evals: suite {suite.label} ({suite.n_cases} cases, hash {suite.content_hash[:12]}) {state}")
    log("evals: run it with `manage.py evals run --suite pedagogy-core --release offline-v1`")
    return suite
