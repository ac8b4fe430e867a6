import socket

from celery import shared_task
from django.utils import timezone

from tutor.models import WorkerHeartbeat


@shared_task(name="tutor.tasks.record_worker_heartbeat", ignore_result=True)
def record_worker_heartbeat(worker: str | None = None) -> None:
    """Periodic: record that a worker is alive. Safe to run twice (upsert on the worker name)."""
    WorkerHeartbeat.objects.update_or_create(
        worker=worker or socket.gethostname(), defaults={"seen_at": timezone.now()}
    )


# Tasks of the tutor's sub-packages, registered with the worker through this module.
from tutor.mastery import tasks as mastery_tasks  # noqa: E402, F401


@shared_task(name="tutor.tasks.monitor_canaries", ignore_result=True)
def monitor_canaries() -> None:
    """Periodic: check every active canary against its guardrails (rolls back on a trip)."""
    from tutor.models import Rollout
    from tutor.releases import monitor_rollout

    for rollout_id in Rollout.objects.active().values_list("pk", flat=True):
        monitor_rollout(rollout_id)
