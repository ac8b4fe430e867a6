"""Eval run throughput: 1,000 cases x 2 releases against the fake model with 300 ms per call, at
most 64 calls in flight, against the ideal wall time (calls x latency / concurrency).

Measured twice over the same suite:

- **one process**: both runs executed here, one after the other, as the command's eager mode
  does (``run_inline``), one shard of 1,000 cases at concurrency 64;
- **N workers**: both runs started at once and executed by N real Celery worker processes (solo
  pool, one shard at a time each) over Redis (BENCH_BROKER_URL, default
  redis://127.0.0.1:6379/13, a queue of its own), in shards of 1,000 / N cases at concurrency
  64 / N: still at most 64 calls in flight in all. The clock runs from starting the runs to both
  being finished (finalized by the workers); starting the workers is not timed.

Every case calls the model (``use_cache=False``: the 1,000 cases repeat pedagogy-core's inputs,
and a shard could otherwise reuse the responses another one cached); ``model_calls`` counts them.
Each executor first runs a 4-case warm-up eval (its own release and inline problem), as a
long-lived worker has (the provider SDK imported, a database connection open), and the setup's
garbage is collected before the clock starts.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from bench.harness import ROOT, free_port

LATENCY_S = 0.3
CONCURRENCY = 64
WORKERS = 2
DEFAULT_BROKER_URL = "redis://127.0.0.1:6379/13"


def _cases(n: int) -> list:
    """n cases cycled from pedagogy-core (references into the demo course), with unique ids."""
    from evals.cases import parse_case

    lines = (ROOT / "evals/suites/pedagogy-core.jsonl").read_text().splitlines()[1:]
    templates = [json.loads(line) for line in lines]
    # distress cases never call a model
    templates = [t for t in templates if t["tags"]["scenario"] != "distress"]
    cases = []
    for i in range(n):
        data = dict(templates[i % len(templates)])
        data["id"] = f"{data['id']}-bench{i}"
        case, issues = parse_case(data)
        assert case is not None, issues
        cases.append(case)
    return cases


def _warm_up_cases(n: int) -> list:
    from evals.cases import Case, InlineProblem, StudentMessage

    problem = InlineProblem(
        prompt="Work out 2 + 3.",
        answer={"kind": "integer", "value": "5"},
        solution="2 + 3 = 5",
    )
    return [
        Case(id=f"warm-up-{i}", tags={"scenario": "confused", "language": "en", "pinned": False}, problem=problem,
             conversation=(), message=StudentMessage("chat", f"warm-up {i}: how do I start?"), student_was_wrong=False)
        for i in range(n)
    ]  # fmt: skip


@contextmanager
def fake_model_process(latency_s: float):
    """The fake model in its own process, so it does not share the runner's interpreter."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.openai_server", "--port", str(port), "--latency-ms", str(latency_s * 1000),
         "--reply", "What do you notice about the denominators? Try to find a common one."],
        cwd=ROOT, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(100):
            try:
                httpx.get(f"{base_url}/models", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=10)


def run(fake, quick: bool = False) -> dict:
    with fake_model_process(LATENCY_S) as base_url:
        n = 200 if quick else 1000
        suite = _setup(n)
        figures = _one_process(suite, base_url, n)
        figures["workers"] = _on_workers(suite, base_url, n, WORKERS)
        return figures


def _setup(n: int):
    from curriculum.demo import DEMO_COURSE_DIR
    from curriculum.importer import import_course
    from evals.actions import register_suite

    import_course(DEMO_COURSE_DIR)
    return register_suite(f"bench-{uuid.uuid4().hex[:6]}", _cases(n)).suite


def _releases(base_url: str, label: str, arms: tuple[str, ...] = ("a", "b")) -> list:
    from tutor.models import Release

    tag = uuid.uuid4().hex[:6]
    return [
        Release.objects.create(name=f"bench-{label}-{arm}-{tag}", backend="openai", model="gpt-4o-mini", base_url=base_url,
                               api_key_env="BENCH_FAKE_KEY", prompt_version="socratic-v1", params={"seed": f"{label}-{arm}"})
        for arm in arms
    ]  # fmt: skip


def _figures(runs: list, n: int, wall: float, concurrency: int) -> dict:
    from evals.models import EvalResult

    calls = 2 * n
    ideal = calls * LATENCY_S / CONCURRENCY
    results = EvalResult.objects.filter(run__in=runs)
    return {
        "cases": n, "releases": 2, "calls": calls, "latency_s": LATENCY_S, "concurrency": concurrency,
        "wall_s": round(wall, 2), "ideal_s": round(ideal, 2), "ratio": round(wall / ideal, 2),
        "errors": results.exclude(error="").count(), "model_calls": results.filter(source=EvalResult.Source.MODEL).count(),
    }  # fmt: skip


def _one_process(suite, base_url: str, n: int) -> dict:
    from evals.actions import register_suite, run_inline, start_eval_run

    warm_up = register_suite(
        f"bench-warm-{uuid.uuid4().hex[:6]}", _warm_up_cases(4)
    ).suite
    (warm_release,) = _releases(base_url, "warm-inline", ("a",))
    run_inline(
        start_eval_run(
            warm_up, warm_release, concurrency=4, shard_size=4, enqueue=False
        )
    )

    releases = _releases(base_url, "inline")
    # The setup's garbage (the course, 1,000 cases registered) is not the runs' to collect.
    gc.collect()
    started = time.perf_counter()
    runs = []
    for release in releases:
        run = start_eval_run(
            suite,
            release,
            concurrency=CONCURRENCY,
            shard_size=n,
            use_cache=False,
            enqueue=False,
        )
        runs.append(run_inline(run))
    return _figures(runs, n, time.perf_counter() - started, CONCURRENCY)


def _on_workers(suite, base_url: str, n: int, workers: int) -> dict:
    """The same two runs on ``workers`` Celery worker processes: shards of n / workers cases at
    concurrency 64 / workers, so that at most 64 calls are in flight across the workers."""
    from evals.actions import start_eval_run

    broker_url = os.environ.get("BENCH_BROKER_URL", DEFAULT_BROKER_URL)
    queue = f"bench-evals-{uuid.uuid4().hex[:8]}"
    shard_size = -(-n // workers)
    per_shard = CONCURRENCY // workers
    with (
        _broker(broker_url, queue),
        _celery_workers(workers, broker_url, queue) as logs,
    ):
        warm_up = _warm_workers(base_url, queue, workers, logs)
        releases = _releases(base_url, "workers")
        gc.collect()
        started = time.perf_counter()
        runs = [
            start_eval_run(
                suite,
                release,
                concurrency=per_shard,
                shard_size=shard_size,
                use_cache=False,
                queue=queue,
            )
            for release in releases
        ]
        _wait_until_finished(
            runs, started + 60 + 10 * (2 * n * LATENCY_S / CONCURRENCY), "the runs on the workers", logs
        )
        wall = time.perf_counter() - started
    figures = _figures(runs, n, wall, CONCURRENCY)
    figures.update(
        workers=workers,
        shards_per_run=-(-n // shard_size),
        shard_concurrency=per_shard,
        warm_up_s=warm_up,
    )
    return figures


@contextmanager
def _broker(broker_url: str, queue: str) -> Iterator[None]:
    """This process enqueues to Redis for a while (the bench runs with tasks eager otherwise)."""
    from django.conf import settings

    from tutor.celery import app

    saved = (
        settings.CELERY_TASK_ALWAYS_EAGER,
        app.conf.task_always_eager,
        app.conf.broker_url,
    )
    settings.CELERY_TASK_ALWAYS_EAGER = app.conf.task_always_eager = False
    app.conf.broker_url = broker_url
    _drop_broker_pools(app)
    try:
        yield
    finally:
        (
            settings.CELERY_TASK_ALWAYS_EAGER,
            app.conf.task_always_eager,
            app.conf.broker_url,
        ) = saved
        _drop_broker_pools(app)
        _forget_queue(broker_url, queue)


def _drop_broker_pools(app) -> None:
    """Forget the app's broker connection and producer pools, as Celery does in a forked child, so
    that the next message goes to the broker configured now. Eager tasks (the one-process run)
    create them for the default broker, amqp://localhost: a shard task sent through them never
    reaches the workers on Redis, and the runs never finish."""
    app._after_fork()
    # The control mailbox (ping) caches a producer pool of its own, once used.
    with contextlib.suppress(AttributeError):
        app.control._after_fork()


def _forget_queue(broker_url: str, queue: str) -> None:
    import redis

    client = redis.Redis.from_url(broker_url)
    client.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
    for tag, payload in client.hscan_iter("unacked"):
        try:
            routing_key = json.loads(payload)[2]
        except (ValueError, IndexError, TypeError):
            continue
        if routing_key == queue:
            client.hdel("unacked", tag)
            client.zrem("unacked_index", tag)


@contextmanager
def _celery_workers(count: int, broker_url: str, queue: str) -> Iterator[list[Path]]:
    """``count`` worker processes on ``queue``, against the bench database; always stopped."""
    from tutor.celery import app

    # The bench database (set by bench.harness.prepare_database) and the releases' api_key_env.
    env = {
        **os.environ,
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "BENCH_FAKE_KEY": os.environ.get("BENCH_FAKE_KEY", "sk-bench"),
        "DJANGO_SETTINGS_MODULE": "tutor.settings",
        "CELERY_BROKER_URL": broker_url,
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret",
        "LOG_LEVEL": "WARNING",
    }
    tag = uuid.uuid4().hex[:6]
    names = [f"{queue}-{i}-{tag}@bench" for i in range(count)]
    processes: list[subprocess.Popen] = []
    with tempfile.TemporaryDirectory(prefix="bench-evals-workers-") as logdir:
        logs = [Path(logdir) / f"worker-{i}.log" for i in range(count)]
        try:
            for name, log in zip(names, logs, strict=True):
                with log.open("w") as out:
                    processes.append(subprocess.Popen(
                        [sys.executable, "-m", "celery", "-A", "tutor", "worker", "-Q", queue, "-c", "1", "--pool", "solo",
                         "-l", "warning", "-n", name, "--without-gossip", "--without-mingle"],
                        cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                    ))  # fmt: skip
            _wait_for_pongs(app, names, processes, logs)
            yield logs
        finally:
            for process in processes:
                if process.poll() is None:
                    process.terminate()
            for process in processes:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)


def _wait_for_pongs(
    app, names: list[str], processes: list[subprocess.Popen], logs: list[Path]
) -> None:
    deadline = time.monotonic() + 60
    while True:
        if any(p.poll() is not None for p in processes):
            raise RuntimeError(f"a bench worker exited at start:\n{_tails(logs)}")
        answered = {
            name
            for reply in app.control.ping(destination=names, timeout=0.5)
            for name in reply
        }
        if answered >= set(names):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"the bench workers did not answer a ping in 60 s:\n{_tails(logs)}"
            )


def _wait_until_finished(runs: list, deadline: float, what: str, logs: list[Path]) -> None:
    """Poll until every run is finished by the workers; past ``deadline`` (perf_counter), fail
    with the workers' log tails."""
    from evals.models import EvalRun

    while EvalRun.objects.filter(pk__in=[r.pk for r in runs]).exclude(status=EvalRun.Status.FINISHED).exists():
        if time.perf_counter() > deadline:
            raise RuntimeError(f"{what} did not finish in time; worker logs:\n{_tails(logs)}")
        time.sleep(0.05)


def _warm_workers(base_url: str, queue: str, workers: int, logs: list[Path]) -> float:
    """One single-case shard per worker (more if one worker took them all); seconds taken."""
    from evals.actions import register_suite, start_eval_run
    from evals.models import RunShard

    started = time.perf_counter()
    warm_up = register_suite(
        f"bench-warm-{uuid.uuid4().hex[:6]}", _warm_up_cases(2 * workers)
    ).suite
    warmed: set[str] = set()
    for attempt in range(5):
        (release,) = _releases(base_url, f"warm-workers-{attempt}", ("a",))
        run = start_eval_run(warm_up, release, concurrency=1, shard_size=1, queue=queue)
        _wait_until_finished([run], time.perf_counter() + 60, "the warm-up run on the workers", logs)
        warmed |= set(
            RunShard.objects.filter(run=run).values_list("claimed_by", flat=True)
        )
        if len(warmed) >= workers:
            break
    return round(time.perf_counter() - started, 2)


def _tails(logs: list[Path], lines: int = 30) -> str:
    return "\n".join(
        f"--- {log}\n"
        + "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
        for log in logs
    )
