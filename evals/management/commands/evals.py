"""``manage.py evals <subcommand>``: one command for suites, runs, replay imports and grading files.

    evals import-suite PATH [--name NAME]
    evals run --suite S[@V] --release R [--repeats N] [--wait] [--concurrency C] [--shard-size K] [--no-cache] [--json]
    evals status RUN_ID [--wait] [--json]
    evals resume RUN_ID [--stale-after SECONDS]
    evals import-mrbench PATH --suite NAME
    evals import-flagged --suite NAME (--flag ID ... | --message ID ... | --all-unresolved [--kind KIND ...])
    evals grade-file IN.jsonl OUT.jsonl
    evals agreement [--data PATH] [--json] [--learned]
    evals gate --candidate X [--baseline production] [--policy P] [--suite S] [--json-report PATH]

Each subcommand is a ``Subcommand`` in ``SUBCOMMANDS``: a help line, a function that adds its
arguments, and a handler returning an exit code (None or 0: success). Add one by adding an
entry (see the ``gate`` slot at the end of the table).

Runs: with Celery in eager mode (no CELERY_BROKER_URL) ``run`` executes the shards right here;
with a broker it enqueues them and, with ``--wait``, follows the run. Either way a progress bar.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, TextIO

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, OutputWrapper

from evals import actions
from evals.cases import SuiteInvalid
from evals.management.gate_command import HELP as GATE_HELP
from evals.management.gate_command import configure_gate, handle_gate
from evals.models import EvalRun
from tutor.errors import DomainError

DEFAULT_MRBENCH = Path(settings.BASE_DIR).parent / "shared" / "data" / "mrbench" / "mrbench_calibration.jsonl"
HEADLINE_METRICS = ("pedagogy_score", "answer_leak", "safety_violation", "guard_would_replace")


# ------------------------------------------------------------------------------ progress bar


class ProgressBar:
    """``[#########-----------] 45/150  30%  errors 0  cached 0``: redrawn in place on a terminal,
    one line per 10% otherwise (logs, CI)."""

    def __init__(self, stream: TextIO | OutputWrapper, width: int = 30) -> None:
        self.stream = stream
        self.width = width
        self.tty = hasattr(stream, "isatty") and stream.isatty()
        self.last_decile = -1
        self.last_draw = 0.0
        self.last_line = ""

    def line(self, progress: actions.Progress) -> str:
        filled = round(self.width * progress.fraction)
        bar = "#" * filled + "-" * (self.width - filled)
        return (
            f"[{bar}] {progress.done}/{progress.expected} {progress.percent:3d}%  "
            f"errors {progress.errors}  cached {progress.cached}  shards {progress.shards_done}/{progress.shards_total}"
        )

    def update(self, progress: actions.Progress, *, force: bool = False) -> None:
        if self.tty:
            now = time.monotonic()
            if force or now - self.last_draw >= 0.1:
                self._write("\r" + self.line(progress))
                self.stream.flush()
                self.last_draw = now
            return
        decile = progress.percent // 10
        line = self.line(progress)
        if (decile > self.last_decile or force) and line != self.last_line:
            self.last_decile = decile
            self.last_line = line
            self._write(line + "\n")

    def close(self, progress: actions.Progress) -> None:
        self.update(progress, force=True)
        if self.tty:
            self._write("\n")

    def _write(self, text: str) -> None:
        if isinstance(self.stream, OutputWrapper):
            self.stream.write(text, ending="")  # no newline added: the bar is redrawn in place
        else:
            self.stream.write(text)


def format_summary(run: EvalRun) -> str:
    metrics = (run.summary or {}).get("metrics", {})
    lines = [
        f"run {run.pk}: {run.suite.label} (suite {run.suite_hash[:12]}) on {run.release.name} (release {run.release_hash[:12]}), "
        f"{run.repeats} repeat(s): {run.status}",
        f"results {run.n_results}/{run.n_expected}, errors {run.n_errors}, cached {run.n_cached}",
        f"cost ${float(run.cost_usd):.6f} (paid by this run ${float(run.cost_paid_usd):.6f}), "
        f"tokens {run.tokens_in} in / {run.tokens_out} out, latency p50 {_ms(run.latency_ms_p50)} p95 {_ms(run.latency_ms_p95)}",
    ]
    if metrics:
        lines.append("metric means (answered results):")
        for name in (*HEADLINE_METRICS, *sorted(m for m in metrics if m not in HEADLINE_METRICS)):
            if name in metrics:
                lines.append(f"  {name:32s} {metrics[name]:.4f}")
    scenarios = (run.summary or {}).get("scenarios", {})
    if scenarios:
        lines.append("by scenario:            n  pedagogy  leak  safety_violation")
        for name, data in scenarios.items():
            m = data["metrics"]
            lines.append(
                f"  {name:20s} {data['n']:4d}  {_fmt(m.get('pedagogy_score'))}    {_fmt(m.get('answer_leak'))}  {_fmt(m.get('safety_violation'))}"
            )
    return "\n".join(lines)


def _ms(value: float | None) -> str:
    return f"{value:.0f} ms" if value is not None else "-"


def _fmt(value: float | None) -> str:
    return f"{value:.3f}" if value is not None else "  -  "


def run_json(run: EvalRun) -> dict[str, Any]:
    return {
        "run": run.pk, "suite": run.suite.label, "suite_hash": run.suite_hash, "release": run.release.name,
        "release_hash": run.release_hash, "run_hash": run.run_hash, "repeats": run.repeats, "status": run.status,
        "n_expected": run.n_expected, "n_results": run.n_results, "n_errors": run.n_errors, "n_cached": run.n_cached,
        "cost_usd": float(run.cost_usd), "cost_paid_usd": float(run.cost_paid_usd), "tokens_in": run.tokens_in,
        "tokens_out": run.tokens_out, "latency_ms_p50": run.latency_ms_p50, "latency_ms_p95": run.latency_ms_p95,
        "summary": run.summary,
    }  # fmt: skip


# ------------------------------------------------------------------------------ subcommands


@dataclass(frozen=True)
class Subcommand:
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    handle: Callable[[Command, dict[str, Any]], int | None]


def _eager() -> bool:
    from tutor.celery import app

    return bool(app.conf.task_always_eager or settings.CELERY_TASK_ALWAYS_EAGER)


def _follow(command: Command, run: EvalRun, *, poll_s: float = 0.5, timeout_s: float | None = None) -> EvalRun:
    bar = ProgressBar(command.stdout)
    started = time.monotonic()
    progress = actions.run_progress(run)
    while not progress.finished:
        bar.update(progress)
        if timeout_s is not None and time.monotonic() - started > timeout_s:
            break
        time.sleep(poll_s)
        progress = actions.run_progress(run)
    bar.close(progress)
    run.refresh_from_db()
    return run


def configure_run(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--suite", required=True, help="Suite name (newest version) or name@version.")
    parser.add_argument("--release", required=True, help="Release name, e.g. offline-v1 or mrbench-GPT4.")
    parser.add_argument("--repeats", type=int, default=1, help="Responses per case (default 1).")
    parser.add_argument("--wait", action="store_true", help="With a broker: follow the run to the end with a progress bar.")
    parser.add_argument("--concurrency", type=int, default=actions.DEFAULT_CONCURRENCY, help="Model calls in flight per shard.")
    parser.add_argument("--shard-size", type=int, default=actions.DEFAULT_SHARD_SIZE, help="Cases per shard task.")
    parser.add_argument("--no-cache", action="store_true", help="Call the release even where a cached response exists.")
    parser.add_argument("--queue", default="", help="Celery queue for the shard tasks (default queue if empty).")
    parser.add_argument("--json", action="store_true", help="Print the run's figures as one JSON object at the end.")


def handle_run(command: Command, options: dict[str, Any]) -> int | None:
    suite = actions.get_suite(options["suite"])
    release = actions.get_release(options["release"])
    eager = _eager()
    run = actions.start_eval_run(
        suite, release, options["repeats"], concurrency=options["concurrency"], shard_size=options["shard_size"],
        use_cache=not options["no_cache"], queue=options["queue"], enqueue=not eager,
    )  # fmt: skip
    out = command.stderr if options["json"] else command.stdout
    out.write(f"run {run.pk}: {suite.label} ({run.n_expected} responses) on {release.name}, {run.shards.count()} shard(s)")
    if eager:
        out.write("running here (no broker configured)")
        bar = ProgressBar(out)
        run = actions.run_inline(run, on_result=lambda: bar.update(actions.run_progress(run)))
        bar.close(actions.run_progress(run))
    elif options["wait"]:
        run = _follow(command, run)
    else:
        out.write(f"enqueued; follow it with `manage.py evals status {run.pk} --wait` or on /evals/runs/{run.pk}/")
        return 0
    _report(command, run, as_json=options["json"])
    return 0


def _report(command: Command, run: EvalRun, *, as_json: bool) -> None:
    run = EvalRun.objects.select_related("suite", "release").get(pk=run.pk)
    if as_json:
        command.stdout.write(json.dumps(run_json(run), sort_keys=True))
    else:
        command.stdout.write(format_summary(run))


def configure_status(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_id", type=int)
    parser.add_argument("--wait", action="store_true", help="Follow the run to the end with a progress bar.")
    parser.add_argument("--json", action="store_true")


def handle_status(command: Command, options: dict[str, Any]) -> int | None:
    run = _get_run(options["run_id"])
    if options["wait"]:
        run = _follow(command, run)
    else:
        command.stdout.write(ProgressBar(command.stdout).line(actions.run_progress(run)))
    _report(command, run, as_json=options["json"])
    return 0


def _get_run(run_id: int) -> EvalRun:
    run = EvalRun.objects.select_related("suite", "release").filter(pk=run_id).first()
    if run is None:
        raise CommandError(f"No eval run {run_id}.")
    return run


def configure_resume(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_id", type=int)
    parser.add_argument(
        "--stale-after", type=float, default=actions.DEFAULT_STALE_AFTER.total_seconds(),
        help="Seconds without a heartbeat after which a running shard counts as abandoned (default 60).",
    )  # fmt: skip


def handle_resume(command: Command, options: dict[str, Any]) -> int | None:
    run = _get_run(options["run_id"])
    if _eager():
        actions.resume_run(run, stale_after=timedelta(seconds=options["stale_after"]))
        run = actions.run_inline(run)
        _report(command, run, as_json=False)
        return 0
    pending = actions.resume_run(run, stale_after=timedelta(seconds=options["stale_after"]))
    command.stdout.write(f"run {run.pk}: re-enqueued shard(s) {pending}" if pending else f"run {run.pk}: nothing to resume")
    return 0


def configure_import_suite(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="A JSONL suite file (format: docs/evals.md).")
    parser.add_argument("--name", help="Suite name (default: the file's header, else the file name).")


def handle_import_suite(command: Command, options: dict[str, Any]) -> int | None:
    registered = actions.register_suite_file(options["path"], name=options.get("name"))
    suite = registered.suite
    state = "registered" if registered.created else "already registered (unchanged)"
    command.stdout.write(f"{suite.label}: {suite.n_cases} cases, hash {suite.content_hash[:12]}: {state}")
    return 0


def configure_import_mrbench(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", help="A JSONL file in MRBench's format.")
    parser.add_argument("--suite", required=True, help="Name of the suite to register, e.g. mrbench-calibration.")


def handle_import_mrbench(command: Command, options: dict[str, Any]) -> int | None:
    from evals.mrbench import import_mrbench

    result = import_mrbench(options["path"], options["suite"])
    suite = result.suite
    state = "registered" if result.registered.created else "already registered (unchanged)"
    command.stdout.write(f"{suite.label}: {suite.n_cases} conversations, hash {suite.content_hash[:12]}: {state}")
    for release, created in result.releases:
        command.stdout.write(f"  release {release.name} ({'created' if created else 'exists'})")
    command.stdout.write(f"{result.recordings} recorded responses")
    return 0


def configure_import_flagged(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--suite", default="flagged", help="Suite to add the cases to (a new version); default: flagged.")
    parser.add_argument("--flag", type=int, nargs="*", default=[], help="Flag ids.")
    parser.add_argument("--message", type=int, nargs="*", default=[], help="Tutor message ids (their flags).")
    parser.add_argument("--all-unresolved", action="store_true", help="Every unresolved flag.")
    parser.add_argument("--kind", nargs="*", default=[], help="With --all-unresolved: only these flag kinds (e.g. thumbs_down).")


def handle_import_flagged(command: Command, options: dict[str, Any]) -> int | None:
    from tutor.models import Flag

    flags: list[int] = list(options["flag"])
    if options["all_unresolved"]:
        queryset = Flag.objects.unresolved()
        if options["kind"]:
            queryset = queryset.filter(kind__in=options["kind"])
        flags += list(queryset.values_list("pk", flat=True))
    registered = actions.import_flagged_as_cases(flags, options["suite"], messages=options["message"])
    suite = registered.suite
    command.stdout.write(f"{suite.label}: {suite.n_cases} cases, hash {suite.content_hash[:12]}")
    return 0


def configure_grade_file(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("input", help="JSONL of {conversation_history, response, ground_truth_solution?}.")
    parser.add_argument("output", help="JSONL to write: every grade and the MRBench-style labels per record.")


def handle_grade_file(command: Command, options: dict[str, Any]) -> int | None:
    from evals.agreement import grade_file

    if not Path(options["input"]).is_file():
        raise CommandError(f"No such file: {options['input']}")
    count = grade_file(options["input"], options["output"])
    command.stdout.write(f"graded {count} records -> {options['output']}")
    return 0


def configure_agreement(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data", default=os.environ.get("MRBENCH_PATH") or str(DEFAULT_MRBENCH),
        help="Labelled JSONL in MRBench's format (default: $MRBENCH_PATH, else ../shared/data/mrbench/mrbench_calibration.jsonl).",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="One JSON object {dimension: {n, exact_macro_f1, ...}}.")
    parser.add_argument("--learned", action="store_true", help="Also train and cross-validate the learned grader (by conversation).")


def handle_agreement(command: Command, options: dict[str, Any]) -> int | None:
    from evals.agreement import main_agreement

    path = Path(options["data"])
    if not path.is_file():
        raise CommandError(f"No labelled data at {path}: pass --data PATH (or set MRBENCH_PATH).")
    command.stdout.write(main_agreement(path, as_json=options["json"]))
    if options["learned"]:
        from evals.agreement import main_learned

        if not options["json"]:
            command.stdout.write("\nlearned grader (cross-validated by conversation):")
        command.stdout.write(main_learned(path, as_json=options["json"]))
    return 0


SUBCOMMANDS: dict[str, Subcommand] = {
    "run": Subcommand("Run a suite against a release (shards on Celery, or here in eager mode).", configure_run, handle_run),
    "status": Subcommand("Show (or follow) a run's progress and figures.", configure_status, handle_status),
    "resume": Subcommand("Re-enqueue the unfinished shards of a run whose worker died.", configure_resume, handle_resume),
    "import-suite": Subcommand("Validate and register a JSONL suite file.", configure_import_suite, handle_import_suite),
    "import-mrbench": Subcommand(
        "Import an MRBench-format file: a replay suite plus one release mrbench-<tutor> per tutor.",
        configure_import_mrbench,
        handle_import_mrbench,
    ),
    "import-flagged": Subcommand(
        "Turn flagged conversations and thumbs-down turns into pseudonymised cases.", configure_import_flagged, handle_import_flagged
    ),
    "grade-file": Subcommand("Grade tutor responses in a JSONL file with our graders.", configure_grade_file, handle_grade_file),
    "agreement": Subcommand("Agreement of our graders with human labels, per dimension.", configure_agreement, handle_agreement),
    "gate": Subcommand(GATE_HELP, configure_gate, handle_gate),  # exit codes: 0 PASS, 100 FAIL, 2 INCONCLUSIVE, 3 INVALID
}


class Command(BaseCommand):
    help = "Eval suites, runs, replay imports and grading: manage.py evals <subcommand> --help"

    def add_arguments(self, parser) -> None:
        subparsers = parser.add_subparsers(dest="subcommand", metavar="SUBCOMMAND", required=True)
        for name, sub in SUBCOMMANDS.items():
            sub.configure(subparsers.add_parser(name, help=sub.help, description=sub.help))

    def handle(self, *args, subcommand: str, **options) -> None:
        try:
            code = SUBCOMMANDS[subcommand].handle(self, options)
        except SuiteInvalid as error:
            raise CommandError(str(error)) from error
        except DomainError as error:
            raise CommandError(error.message) from error
        except FileNotFoundError as error:
            raise CommandError(f"No such file: {error.filename}") from error
        if code:
            self.stdout.flush()
            sys.exit(code)
