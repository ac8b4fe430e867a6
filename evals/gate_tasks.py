"""Celery tasks of the eval gate: thin translators from a queue message to one call of
``evals.gating``. Ids in, safe to run twice (``complete_gate`` writes a verdict once, with a
conditional UPDATE), acks late, explicit time limits, no result backend.

``evals.advance_gate`` is enqueued when a gate run starts: it judges the gate once both eval runs
are finished, else looks again ``GATE_POLL_SECONDS`` later (at most ``GATE_MAX_POLLS`` times).
``evals.advance_gates`` is the periodic safety net (add it to CELERY_BEAT_SCHEDULE, e.g. every
minute): it judges every running gate whose eval runs have ended.

Register these with the worker by importing this module from ``evals/tasks.py``.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from evals import gating
from evals.models import GateRun
from evals.tasks import TASK_OPTIONS

GATE_POLL_SECONDS = 5
GATE_MAX_POLLS = (
    24 * 3600 // GATE_POLL_SECONDS
)  # a day; the periodic task covers anything longer


def _eager() -> bool:
    from tutor.celery import app

    return bool(app.conf.task_always_eager or settings.CELERY_TASK_ALWAYS_EAGER)


@shared_task(name="evals.advance_gate", **TASK_OPTIONS)
def advance_gate(gate_id: int, polls: int = 0) -> str:
    """Judge a gate run if its eval runs are finished; otherwise look again shortly."""
    gate = gating.complete_gate(gate_id)
    if gate is None:
        return "missing"
    if (
        gate.status == GateRun.Status.RUNNING
        and not _eager()
        and polls < GATE_MAX_POLLS
    ):
        advance_gate.apply_async(args=[gate_id, polls + 1], countdown=GATE_POLL_SECONDS)
    return gate.status


@shared_task(name="evals.advance_gates", **TASK_OPTIONS)
def advance_gates() -> int:
    """Periodic: judge every running gate run whose eval runs have ended. Returns how many."""
    return gating.advance_running_gates()
