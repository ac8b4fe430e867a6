"""Eval run throughput: 1,000 cases x 2 releases against the fake model with 300 ms per call at
concurrency 64, against the ideal wall time (calls x latency / concurrency)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager

import httpx

from bench.harness import ROOT, free_port

LATENCY_S = 0.3
CONCURRENCY = 64


def _cases(n: int) -> list:
    """n cases cycled from pedagogy-core (references into the demo course), with unique ids."""
    from evals.cases import parse_case

    lines = (ROOT / "evals/suites/pedagogy-core.jsonl").read_text().splitlines()[1:]
    templates = [json.loads(line) for line in lines]
    templates = [t for t in templates if t["tags"]["scenario"] != "distress"]  # those never call a model
    cases = []
    for i in range(n):
        data = dict(templates[i % len(templates)])
        data["id"] = f"{data['id']}-bench{i}"
        case, issues = parse_case(data)
        assert case is not None, issues
        cases.append(case)
    return cases


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
        return _run(base_url, quick)


def _run(base_url: str, quick: bool) -> dict:
    from curriculum.demo import DEMO_COURSE_DIR
    from curriculum.importer import import_course
    from evals.actions import register_suite, run_inline, start_eval_run
    from evals.models import EvalResult
    from tutor.models import Release

    import_course(DEMO_COURSE_DIR)
    n = 200 if quick else 1000
    suite = register_suite(f"bench-{uuid.uuid4().hex[:6]}", _cases(n)).suite
    tag = uuid.uuid4().hex[:6]
    releases = [
        Release.objects.create(name=f"bench-{arm}-{tag}", backend="openai", model="gpt-4o-mini", base_url=base_url,
                               api_key_env="BENCH_FAKE_KEY", prompt_version="socratic-v1", params={"seed": arm})
        for arm in ("a", "b")
    ]  # fmt: skip
    started = time.perf_counter()
    runs = []
    for release in releases:
        run = start_eval_run(suite, release, concurrency=CONCURRENCY, shard_size=n, enqueue=False)
        runs.append(run_inline(run))
    wall = time.perf_counter() - started
    calls = 2 * n
    ideal = calls * LATENCY_S / CONCURRENCY
    errors = EvalResult.objects.filter(run__in=runs).exclude(error="").count()
    return {
        "cases": n, "releases": 2, "calls": calls, "latency_s": LATENCY_S, "concurrency": CONCURRENCY,
        "wall_s": round(wall, 2), "ideal_s": round(ideal, 2), "ratio": round(wall / ideal, 2), "errors": errors,
    }  # fmt: skip
