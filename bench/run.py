"""The benchmarks: `make bench` (python -m bench.run). Prints a table and writes bench/RESULTS.md.

Needs PostgreSQL (BENCH_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/tutor_bench; the
database is dropped and re-created). Figures, never pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import sys
from pathlib import Path

from bench.harness import DEFAULT_DB_URL, Server, machine_description, prepare_database

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
SECTIONS = ("turn", "stream", "dashboard", "evals", "mastery")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default=",".join(SECTIONS), help=f"comma-separated subset of {SECTIONS}")
    parser.add_argument("--quick", action="store_true", help="fewer requests, for a smoke run")
    parser.add_argument("--json", action="store_true", help="print the figures as one JSON line at the end")
    parser.add_argument("--no-write", action="store_true", help="do not rewrite bench/RESULTS.md")
    args = parser.parse_args(argv)
    only = set(args.only.split(","))
    db_url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB_URL)
    os.environ["BENCH_FAKE_KEY"] = "sk-bench"
    os.environ.setdefault("TUTOR_RATE_LIMIT_PER_MINUTE", "100000000")
    prepare_database(db_url)

    from tests.fakes.openai_server import FakeOpenAI

    figures: dict = {"machine": machine_description(), "date": dt.date.today().isoformat()}
    with FakeOpenAI(reply=lambda body: "What do you notice about the denominators?") as fake:
        if only & {"turn", "stream"}:
            figures.update(asyncio.run(_tutor(fake, only, args.quick)))
        if "dashboard" in only:
            from bench.dashboard_bench import run as dashboard

            figures["dashboard"] = dashboard(quick=args.quick)
        if "evals" in only:
            from bench.evals_bench import run as evals

            figures["evals"] = evals(fake, quick=args.quick)
    if "mastery" in only:
        from bench.mastery_bench import run as mastery

        figures["mastery"] = mastery(quick=args.quick)
    report = render(figures)
    print(report)
    if not args.no_write:
        write_results(report)
    if args.json:
        print(json.dumps(figures))
    return 0


async def _tutor(fake, only: set[str], quick: bool) -> dict:
    from asgiref.sync import sync_to_async

    from bench import tutor_bench

    data = await sync_to_async(tutor_bench.seed)(fake.base_url)
    env = {
        "DATABASE_URL": os.environ["DATABASE_URL"],
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DB_POOL_MAX_SIZE": "20",
        "TUTOR_RATE_LIMIT_PER_MINUTE": "100000000",
        "BENCH_FAKE_KEY": "sk-bench",
        "LOG_LEVEL": "WARNING",
    }
    figures: dict = {}
    with Server(env) as server:
        if "turn" in only:
            figures["turn"] = []
            for concurrency in (1, 16, 64):
                n = (60 if quick else 300) if concurrency == 1 else (160 if quick else 800)
                figures["turn"].append(await tutor_bench.turn_overhead(server, data, fake, concurrency, n))
        if "stream" in only:
            figures["first_byte"] = await tutor_bench.first_byte_overhead(server, data, fake, 10 if quick else 30)
            figures["streams"] = await tutor_bench.concurrent_streams(server, data, fake, 100 if quick else 500)
    if "turn" in only:
        # Production scales out with more processes: the same comparison on one process per core.
        workers = os.cpu_count() or 1
        with Server(env, workers=workers) as server:
            row = await tutor_bench.turn_overhead(server, data, fake, 16, 160 if quick else 800)
            figures["turn_scaled"] = {**row, "workers": workers}
    return figures


def render(f: dict) -> str:
    lines = [f"Machine: {f['machine']}; run {f['date']}.", ""]
    if "turn" in f:
        lines += ["Tutor turn (zero-latency fake model) vs reference (authenticated DRF POST inserting one row):", ""]
        lines += ["| concurrency | turn p50 ms | turn p95 ms | turns/s | ref p50 ms | ref p95 ms | p95 ratio | errors |",
                  "|---|---|---|---|---|---|---|---|"]  # fmt: skip
        for row in f["turn"]:
            t, r = row["turn"], row["reference"]
            lines.append(
                f"| {row['concurrency']} | {t['p50_ms']} | {t['p95_ms']} | {t['per_second']} | {r['p50_ms']} | "
                f"{r['p95_ms']} | {row['p95_ratio']} | {t['errors']}+{r['errors']} |"
            )
        if "turn_scaled" in f:
            row = f["turn_scaled"]
            t, r = row["turn"], row["reference"]
            lines.append(
                f"| {row['concurrency']}, {row['workers']} uvicorn workers | {t['p50_ms']} | {t['p95_ms']} | "
                f"{t['per_second']} | {r['p50_ms']} | {r['p95_ms']} | {row['p95_ratio']} | {t['errors']}+{r['errors']} |"
            )
        lines.append("")
    if "first_byte" in f:
        fb = f["first_byte"]
        lines.append(f"Streaming first-byte overhead (fake's first token -> client's first delta): p50 {fb['p50_ms']} ms, "
                     f"p95 {fb['p95_ms']} ms over {fb['samples']} turns.")  # fmt: skip
    if "streams" in f:
        s = f["streams"]
        lines.append(f"Concurrent SSE streams on one uvicorn process: {s['streams']} streams of 40 tokens over 4 s: "
                     f"{s['completed']} completed, {s['errors']} errors, wall {s['wall_s']} s; server RSS "
                     f"{s['rss_before_mb']} -> {s['rss_after_mb']} MiB (peak {s['rss_peak_mb']} MiB).")  # fmt: skip
        lines.append("")
    if "dashboard" in f:
        lines += ["Teacher class dashboard (heatmap, summary, needs help, flags), test client, PostgreSQL; reference: "
                  "the teacher's account page, alternating with it:", "",
                  "| students x skills | queries | p50 ms | p95 ms | ref p50 ms | ref p95 ms | p95 ratio | page KiB |",
                  "|---|---|---|---|---|---|---|---|"]
        lines += [f"| {r['students']} x {r['skills']} | {r['queries']} | {r['p50_ms']} | {r['p95_ms']} | {r['ref_p50_ms']} | "
                  f"{r['ref_p95_ms']} | {r['p95_ratio']} | {r['html_kb']} |" for r in f["dashboard"]]
        lines.append("")
    if "evals" in f:
        e = f["evals"]
        lines.append(f"Eval run: {e['cases']} cases x {e['releases']} releases, fake model {e['latency_s'] * 1000:.0f} ms per call, "
                     f"concurrency {e['concurrency']}: wall {e['wall_s']} s vs ideal {e['ideal_s']} s = {e['ratio']}x; "
                     f"{e['errors']} errors.")  # fmt: skip
        if "workers" in e:
            w = e["workers"]
            lines.append(f"The same on {w['workers']} Celery worker processes (Redis; {w['shards_per_run']} shards per run at "
                         f"concurrency {w['shard_concurrency']}, at most {w['concurrency']} calls in flight): wall {w['wall_s']} s "
                         f"vs ideal {w['ideal_s']} s = {w['ratio']}x; {w['model_calls']} model calls, {w['errors']} errors.")  # fmt: skip
        lines.append("")
    for key in ("mastery",):
        if key in f:
            lines += [f"{key}: {json.dumps(f[key])}", ""]
    return "\n".join(lines)


def write_results(report: str) -> None:
    marker_start, marker_end = "<!-- bench.run:start -->", "<!-- bench.run:end -->"
    block = f"{marker_start}\n## Platform benchmarks (`make bench`)\n\n{report}\n{marker_end}"
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if marker_start in text:
        before, rest = text.split(marker_start, 1)
        after = rest.split(marker_end, 1)[1] if marker_end in rest else ""
        text = before + block + after
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    RESULTS.write_text(text)


if __name__ == "__main__":
    sys.exit(main())
