"""An eval run on real Celery workers (Redis broker, PostgreSQL): kill the worker mid-shard with
SIGKILL, start another, resume, and the run completes with no duplicate results and no repeated
model calls for the cases finished before the kill (counted at the fake model server)."""

import json
import os
import re
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection

from evals import actions
from evals.cases import Case, InlineProblem, StudentMessage
from evals.models import CachedResponse, EvalResult, EvalRun, RunShard
from tutor.models import Release

pytest_plugins = ["tests.fakes.fixtures"]

BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
N_CASES = 40
REPEATS = 2
SHARD_SIZE = 5
CONCURRENCY = 4
CASE_IN_MESSAGE = re.compile(r"case (\d+):")

pytestmark = [
    pytest.mark.broker,
    pytest.mark.skipif(not BROKER_URL, reason="CELERY_BROKER_URL is not set: no broker to run real workers against"),
    pytest.mark.skipif(
        "postgresql" not in settings.DATABASES["default"]["ENGINE"],
        reason="worker processes cannot see the in-memory SQLite test database; run with DATABASE_URL=postgres://...",
    ),
]


def _test_database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def start_worker(queue: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": _test_database_url(), "CELERY_BROKER_URL": BROKER_URL, "LOG_LEVEL": "WARNING"}
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "tutor", "worker", "-Q", queue, "-c", "1", "--pool", "solo", "-l", "warning",
         "-n", f"{queue}-{uuid.uuid4().hex[:4]}@%h"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


def wait_for(condition, *, timeout: float, workers=(), what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        for worker in workers:
            if worker.poll() is not None:
                pytest.fail(f"a worker exited while waiting for {what}: {worker.stdout.read() if worker.stdout else ''}")
        time.sleep(0.02)
    pytest.fail(f"timed out waiting for {what}")


def requests_per_case(fake) -> Counter:
    counts: Counter = Counter()
    for request in fake.chat_requests:
        last = request.json["messages"][-1]["content"]
        match = CASE_IN_MESSAGE.search(last)
        if match:
            counts[f"case-{int(match.group(1)):02d}"] += 1
    return counts


def forget_queue(queue: str) -> None:
    """Drop the test queue and any unacknowledged message of it from Redis."""
    import redis

    client = redis.Redis.from_url(BROKER_URL)
    client.delete(queue)
    for tag, payload in client.hscan_iter("unacked"):
        try:
            routing_key = json.loads(payload)[2]
        except (ValueError, IndexError, TypeError):
            continue
        if routing_key == queue:
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)


@pytest.fixture
def workers():
    started: list[subprocess.Popen] = []
    yield started
    for worker in started:
        if worker.poll() is None:
            worker.terminate()
            try:
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                worker.kill()


@pytest.fixture
def broker(settings):
    from tutor.celery import app

    settings.CELERY_TASK_ALWAYS_EAGER = False
    app.conf.task_always_eager = False
    app.conf.broker_url = BROKER_URL
    queue = f"test-evals-{uuid.uuid4().hex[:8]}"
    yield queue
    app.conf.task_always_eager = True
    forget_queue(queue)


def test_a_run_survives_a_killed_worker_without_duplicates_or_paying_twice(transactional_db, fake_openai, broker, workers):
    queue = broker
    fake_openai.latency_s = 0.15
    problem = InlineProblem(prompt="Work out 1/2 + 1/4.", answer={"kind": "fraction", "value": "3/4"}, solution="2/4 + 1/4 = 3/4")
    cases = [
        Case(id=f"case-{i:02d}", tags={"scenario": "confused", "language": "en", "pinned": False}, problem=problem, conversation=(),
             message=StudentMessage("chat", f"case {i:02d}: I don't get how to start"), student_was_wrong=False)
        for i in range(N_CASES)
    ]  # fmt: skip
    suite = actions.register_suite("worker-suite", cases).suite
    release = Release.objects.create(name="fake-gpt", backend="openai", model="gpt-4o-mini", base_url=fake_openai.base_url, prompt_version="socratic-v1")
    first = start_worker(queue)
    workers.append(first)

    run = actions.start_eval_run(suite, release, REPEATS, shard_size=SHARD_SIZE, concurrency=CONCURRENCY, queue=queue)
    per_shard = SHARD_SIZE * REPEATS

    def mid_shard() -> bool:
        done = EvalResult.objects.filter(run=run).count()
        return done >= per_shard and 0 < done % per_shard < per_shard

    wait_for(mid_shard, timeout=90, workers=[first], what="the first worker to be in the middle of a shard")
    first.kill()  # SIGKILL: no cleanup, the shard's message stays unacknowledged
    first.wait(timeout=20)

    finished_before = set(EvalResult.objects.filter(run=run).values_list("case_key", "repeat"))
    calls_before = requests_per_case(fake_openai)
    (abandoned,) = RunShard.objects.filter(run=run, status=RunShard.Status.RUNNING)
    assert 0 < len(finished_before) < N_CASES * REPEATS

    second = start_worker(queue)
    workers.append(second)
    others_done = lambda: RunShard.objects.filter(run=run, status=RunShard.Status.DONE).count() == run.shards.count() - 1  # noqa: E731
    wait_for(others_done, timeout=120, workers=[second], what="the second worker to run the queued shards")
    assert RunShard.objects.get(pk=abandoned.pk).status == RunShard.Status.RUNNING  # nobody picked up the dead one

    assert actions.resume_run(run, stale_after=timedelta(seconds=1)) == [abandoned.index]
    wait_for(lambda: EvalRun.objects.get(pk=run.pk).status == EvalRun.Status.FINISHED, timeout=120, workers=[second], what="the run to finish")

    run.refresh_from_db()
    results = list(EvalResult.objects.filter(run=run).values_list("case_key", "repeat"))
    assert len(results) == len(set(results)) == N_CASES * REPEATS
    assert run.n_results == N_CASES * REPEATS and run.n_errors == 0
    assert CachedResponse.objects.count() == N_CASES * REPEATS
    calls = requests_per_case(fake_openai)
    for case_key in {key for key, _ in finished_before}:
        finished = sum(1 for key, _ in finished_before if key == case_key)
        assert calls[case_key] - calls_before[case_key] <= REPEATS - finished, f"{case_key} was called again after it finished"
    assert sum(calls.values()) <= N_CASES * REPEATS + CONCURRENCY  # at most the calls in flight at the kill, repeated
    assert RunShard.objects.get(pk=abandoned.pk).attempts == 2

    # The dead worker's message comes back once the broker's visibility timeout passes: harmless.
    from evals.tasks import run_shard

    total_calls = sum(calls.values())
    run_shard.apply_async(args=[run.pk, abandoned.index], queue=queue)
    time.sleep(2)
    assert second.poll() is None
    assert EvalResult.objects.filter(run=run).count() == N_CASES * REPEATS
    assert sum(requests_per_case(fake_openai).values()) == total_calls
