"""Celery tasks of eval runs: thin translators from a queue message to one call of domain code.

Every task takes ids, acks late (a worker that dies mid-task has its message redelivered) and is
safe to run twice: shards are claimed with a conditional UPDATE, results are unique per
(run, case, repeat), finalize_run recomputes the same totals.

Periodic (add to CELERY_BEAT_SCHEDULE): ``evals.rescue_stalled_runs`` every minute puts shards
whose worker stopped beating back in the queue.
"""

from __future__ import annotations

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from evals import actions, runner

log = logging.getLogger(__name__)

TASK_OPTIONS = {
    "acks_late": True,
    "ignore_result": True,
    "soft_time_limit": settings.CELERY_TASK_SOFT_TIME_LIMIT,
    "time_limit": settings.CELERY_TASK_TIME_LIMIT,
}


@shared_task(name="evals.run_shard", **TASK_OPTIONS)
def run_shard(run_id: int, shard_index: int) -> str:
    """Run one shard of an eval run (skipped when another worker has it or it is done)."""
    try:
        return runner.execute_shard(run_id, shard_index)
    except SoftTimeLimitExceeded:
        # The claim was released and finished cases are written: continue in a fresh task.
        log.warning("shard %s of run %s hit the soft time limit; re-enqueued", shard_index, run_id)
        from evals.models import EvalRun

        queue = EvalRun.objects.filter(pk=run_id).values_list("queue", flat=True).first() or None
        run_shard.apply_async(args=[run_id, shard_index], queue=queue)
        return "requeued"


@shared_task(name="evals.finalize_run", **TASK_OPTIONS)
def finalize_run(run_id: int) -> None:
    """Sum cost, tokens and latency of a run; mark it finished when every shard is done."""
    actions.finalize_run(run_id)


@shared_task(name="evals.rescue_stalled_runs", **TASK_OPTIONS)
def rescue_stalled_runs() -> int:
    """Periodic: re-enqueue shards whose worker died (stale heartbeat)."""
    return actions.rescue_stalled_runs()

from evals import gate_tasks  # noqa: E402, F401  registers the gate tasks with workers
