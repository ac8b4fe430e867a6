"""The Celery wiring, end to end: a real worker process consumes a task from a real broker."""

import os
import subprocess
import sys
import time
import uuid

import pytest
from django.conf import settings
from django.db import connection

from tutor.models import WorkerHeartbeat
from tutor.tasks import record_worker_heartbeat

BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")


def _test_database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@pytest.mark.broker
@pytest.mark.skipif(not BROKER_URL, reason="CELERY_BROKER_URL is not set: no broker to run a real worker against")
@pytest.mark.skipif(
    "postgresql" not in settings.DATABASES["default"]["ENGINE"],
    reason="a worker process cannot see the in-memory SQLite test database; run with DATABASE_URL=postgres://...",
)
def test_it_runs_a_task_through_a_real_worker(transactional_db, settings):
    queue = f"test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "DATABASE_URL": _test_database_url(), "CELERY_BROKER_URL": BROKER_URL}
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tutor", "worker", "-Q", queue, "-c", "1", "--pool", "solo", "-l", "warning"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        settings.CELERY_TASK_ALWAYS_EAGER = False
        from tutor.celery import app

        app.conf.task_always_eager = False
        app.conf.broker_url = BROKER_URL
        record_worker_heartbeat.apply_async(args=[queue], queue=queue)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not WorkerHeartbeat.objects.filter(worker=queue).exists():
            assert worker.poll() is None, worker.stdout.read() if worker.stdout else "worker exited"
            time.sleep(0.25)
        assert WorkerHeartbeat.objects.filter(worker=queue).exists()
    finally:
        from tutor.celery import app

        app.conf.task_always_eager = True
        worker.terminate()
        worker.wait(timeout=20)
