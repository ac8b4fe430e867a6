"""``manage.py evals gate``: decide whether a candidate release may replace the baseline.

    evals gate --candidate X [--baseline production] [--policy P] [--suite S] [--json-report PATH]

Runs (or reuses) the eval runs of both releases on the suite with the policy's repeats, right here
when no broker is configured (a progress line), else on the workers (followed until judged), then
prints the verdict with every reason and the tables behind it, and writes the JSON report.
Exit code: 0 PASS, 100 FAIL, 2 INCONCLUSIVE, 3 INVALID (``evals.gate.EXIT_CODES``): usable in CI.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.core.management.base import CommandError
from django.db.models import Max

from evals import actions, gating
from evals.models import EvalRun, GateRun

if TYPE_CHECKING:
    from evals.management.commands.evals import Command

HELP = "Decide whether a candidate release may replace the baseline (exit 0 PASS, 100 FAIL, 2 INCONCLUSIVE, 3 INVALID)."


def configure_gate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--candidate", required=True, help="The release to judge, e.g. offline-v2."
    )
    parser.add_argument(
        "--baseline",
        default="production",
        help="The release to compare with (default: production now).",
    )
    parser.add_argument(
        "--policy",
        default=None,
        help=f"A policy name in evals/policies/ or a YAML path (default: {gating.DEFAULT_POLICY}).",
    )
    parser.add_argument(
        "--suite",
        default=None,
        help="Suite name or name@version (default: the policy's suite).",
    )
    parser.add_argument(
        "--json-report",
        default=None,
        metavar="PATH",
        help="Write the report as JSON here.",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=gating.DEFAULT_SEED,
        help="Bootstrap seed (part of the gate's inputs).",
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=actions.DEFAULT_CONCURRENCY,
        help="Model calls in flight per shard.",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="With a broker: stop following after this many seconds.",
    )


def handle_gate(command: Command, options: dict[str, Any]) -> int | None:
    from evals.management.commands.evals import ProgressBar, _eager

    eager = _eager()
    before = EvalRun.objects.aggregate(last=Max("pk"))["last"] or 0
    gate = gating.start_gate(
        None, options["candidate"], options["baseline"], policy=options["policy"], suite=options["suite"],
        seed=options["seed"], enqueue=not eager, concurrency=options["concurrency"],
    )  # fmt: skip
    out = command.stdout
    out.write(describe(gate, before))
    if gate.status == GateRun.Status.RUNNING:
        bar = ProgressBar(out)
        if all(run.is_finished for run in gating.gate_eval_runs(gate)):
            out.write("both eval runs are finished: judging")
            gate = gating.complete_gate(gate.pk) or gate
        elif eager:
            out.write("running here (no broker configured)")
            gate = gating.run_gate_inline(
                gate, on_result=lambda: bar.update(gating.gate_progress(gate).total)
            )
            bar.close(gating.gate_progress(gate).total)
        else:
            out.write("running on the workers")
            gate = _follow(gate, bar, timeout_s=options["timeout"])
            bar.close(gating.gate_progress(gate).total)
    else:
        out.write(
            f"gate run {gate.pk} already judged these inputs ({gate.created_at:%Y-%m-%d %H:%M})"
        )
    gate = GateRun.objects.select_related("candidate", "baseline", "suite").get(
        pk=gate.pk
    )
    if gate.status == GateRun.Status.RUNNING:
        raise CommandError(
            f"Gate run {gate.pk} is still running: follow it on /releases/gates/{gate.pk}/ or run this again."
        )
    if gate.status == GateRun.Status.CANCELLED:
        raise CommandError(f"Gate run {gate.pk} was cancelled: {gate.detail}")
    out.write(format_report(gate.report))
    if options["json_report"]:
        path = Path(options["json_report"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(
                gating.report_json(gate), indent=2, sort_keys=True, allow_nan=False
            )
            + "\n",
            encoding="utf-8",
        )
        out.write(f"JSON report written to {path}")
    return gate.exit_code


def _follow(
    gate: GateRun, bar, *, timeout_s: float | None, poll_s: float = 0.5
) -> GateRun:
    started = time.monotonic()
    progress = gating.gate_progress(gate)
    while not progress.finished:
        bar.update(progress.total)
        if timeout_s is not None and time.monotonic() - started > timeout_s:
            break
        time.sleep(poll_s)
        progress = gating.gate_progress(gate)
    gate.refresh_from_db()
    return gate


def describe(gate: GateRun, runs_before: int) -> str:
    def run(label: str, run: EvalRun) -> str:
        state = (
            "reused, finished"
            if run.pk <= runs_before and run.is_finished
            else ("new" if run.pk > runs_before else run.status)
        )
        return f"{label} run {run.pk} ({state})"

    return "\n".join(
        [
            f"gate run {gate.pk}: {gate.candidate.name} (candidate, config {gate.candidate_hash[:12]}) vs "
            f"{gate.baseline.name} (baseline, config {gate.baseline_hash[:12]})",
            f"suite {gate.suite.label} ({gate.suite.n_cases} cases, hash {gate.suite_hash[:12]}), policy {gate.policy_name} "
            f"(hash {gate.policy_hash[:12]}), {gate.repeats} repeat(s), seed {gate.seed}",
            f"eval runs: {run('baseline', gate.baseline_run)}, {run('candidate', gate.candidate_run)}",
        ]
    )


def _num(value: float | None, fmt: str = "+.3f") -> str:
    return (
        "unbounded" if value is None or not math.isfinite(value) else format(value, fmt)
    )


def format_report(report: dict[str, Any]) -> str:
    """The verdict with every reason, then the primary, slice, hard-rule, efficiency and error tables."""
    lines = [f"verdict: {report['verdict']} (exit {report['exit_code']})"]
    lines += [f"  {reason}" for reason in report["reasons"]]
    if report.get("primary"):
        lines.append("primary metrics (diff = candidate - baseline, higher is better):")
        for p in report["primary"]:
            lines.append(
                f"  {p['status']:12s} {p['metric']}: baseline {_num(p['baseline_mean'], '.3f')}, candidate "
                f"{_num(p['candidate_mean'], '.3f')}, diff {_num(p['diff'])} ({p['confidence']:.0%} CI {_num(p['ci_low'])} "
                f"to {_num(p['ci_high'])}), margin -{p['margin']:g}; wins/ties/losses {p['wins']}/{p['ties']}/{p['losses']} "
                f"over {p['n_cases']} cases, MDE {_num(p['mde'], '.3f')}"
            )
    if report.get("slices"):
        lines.append(
            "slices (Holm-corrected; underpowered slices are reported, not judged):"
        )
        for s in report["slices"]:
            p_holm = (
                f", Holm p {s['p_holm']:.2g}" if s.get("p_holm") is not None else ""
            )
            lines.append(
                f"  {s['status']:12s} {s['tag']}={s['value']} ({s['metric']}, n={s['n_cases']}): diff {_num(s['diff'])} "
                f"(CI {_num(s['ci_low'])} to {_num(s['ci_high'])}), margin -{s['margin']:g}{p_holm}"
            )
    if report.get("hard_rules"):
        lines.append("hard rules:")
        for h in report["hard_rules"]:
            cases = (
                f"; cases: {', '.join(h['cases'][:10])}"
                + (f" (+{len(h['cases']) - 10} more)" if len(h["cases"]) > 10 else "")
                if h["cases"]
                else ""
            )
            lines.append(f"  {h['status']:12s} {h['label']}: {h['detail']}{cases}")
    if report.get("efficiency"):
        lines.append("efficiency:")
        for e in report["efficiency"]:
            unit = (
                (lambda v: f"${v:.6f}")
                if e["name"].startswith("cost")
                else (lambda v: f"{v:.0f} ms")
            )
            base = unit(e["baseline"]) if e["baseline"] is not None else "-"
            cand = unit(e["candidate"]) if e["candidate"] is not None else "-"
            ratio = f"{e['ratio']:.2f}" if e["ratio"] is not None else "-"
            lines.append(
                f"  {e['status']:12s} {e['name']} {ratio} (limit {e['limit']:g}): baseline {base}, candidate {cand}"
            )
    if report.get("errors"):
        lines.append(
            "errors: "
            + ", ".join(
                f"{e['arm']} {e['rows_errored'] + e['rows_missing']}/{e['rows_expected']} ({e['error_rate']:.1%})"
                for e in report["errors"]
            )
            + f", budget {report['errors'][0]['max_error_rate']:.1%}"
        )
    if report.get("notes"):
        lines.append("notes:")
        lines += [f"  {note}" for note in report["notes"]]
    return "\n".join(lines)
