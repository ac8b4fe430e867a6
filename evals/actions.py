"""Eval actions: register suites, start / resume / finalize runs, report progress, turn flagged
conversations into cases. Views, the API, tasks and the command call these, nothing else.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from statistics import median
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from evals.cases import (
    Case,
    CaseTurn,
    ParsedSuite,
    ProblemRef,
    StudentMessage,
    canonical_hash,
    case_from_json,
    parse_suite,
    suite_hash,
)
from evals.context import problem_key
from evals.gate import ResultRow
from evals.graders import grader_versions
from evals.models import CachedResponse, EvalResult, EvalRun, RunShard, Suite
from evals.models import Case as CaseRow
from evals.runner import SCORE_VERSION, default_graders, execute_shard
from tutor.errors import Conflict, InvalidInput, NotFound
from tutor.models import Flag, Message, Release, User
from tutor.models.sessions import FlagQuerySet

MAX_REPEATS = 20
DEFAULT_SHARD_SIZE = 25
DEFAULT_CONCURRENCY = 8
DEFAULT_STALE_AFTER = timedelta(seconds=60)


# ---------------------------------------------------------------------------------- lookups


def require_admin(user: object) -> User:
    """Evals are for the platform's admins: anyone else gets a 404, as if nothing were here."""
    if not isinstance(user, User) or not user.is_org_admin:
        raise Http404
    return user


def runs_visible_to(user: object) -> QuerySet[EvalRun]:
    require_admin(user)
    return EvalRun.objects.select_related("suite", "release")


def get_run_for_admin(user: object, run_id: int) -> EvalRun:
    try:
        run: EvalRun = runs_visible_to(user).get(pk=run_id)
        return run
    except EvalRun.DoesNotExist:
        raise Http404 from None


def get_suite(label: str) -> Suite:
    """A suite by "name" (its newest version) or "name@version"."""
    name, _, version = label.partition("@")
    suites = Suite.objects.filter(name=name)
    if version:
        if not version.isdigit():
            raise InvalidInput(f"Bad suite version in {label!r}: use name@number.")
        suites = suites.filter(version=int(version))
    suite = suites.order_by("-version").first()
    if suite is None:
        known = ", ".join(sorted(set(Suite.objects.values_list("name", flat=True)))) or "none yet"
        raise NotFound(f"No suite {label!r} (registered: {known}). Register one with `manage.py evals import-suite`.")
    return suite


def get_release(name: str) -> Release:
    """A release by name; the built-in offline tutor is created on first use, as the live tutor does."""
    from tutor.engine.routing import OFFLINE_RELEASE, fallback_release

    release = Release.objects.filter(name=name).first()
    if release is None and name == OFFLINE_RELEASE:
        release = fallback_release()
    if release is None:
        known = ", ".join(Release.objects.order_by("name").values_list("name", flat=True)) or "none yet"
        raise NotFound(f"No release {name!r} (known: {known}).")
    return release


# ---------------------------------------------------------------------------------- suites


@dataclass(frozen=True)
class Registered:
    suite: Suite
    created: bool


@transaction.atomic
def register_suite(
    name: str,
    cases: Sequence[Case],
    *,
    version: int | None = None,
    description: str = "",
    source: str = "",
    user: User | None = None,
) -> Registered:
    """Register a suite's cases; idempotent for the same content.

    Same name and content: the existing version. New content: the next version, or ``version``
    when given (a given version already registered with other content is refused, so a file
    cannot be changed under a number that a run or a gate policy has pinned).
    """
    if not cases:
        raise InvalidInput("A suite needs at least one case.")
    content_hash = suite_hash(cases)
    existing = Suite.objects.filter(name=name, content_hash=content_hash).first()
    if existing is not None:
        if version is not None and existing.version != version:
            raise Conflict(f"{name}: this content is already registered as version {existing.version}, not {version}.")
        return Registered(existing, False)
    if version is not None:
        other = Suite.objects.filter(name=name, version=version).first()
        if other is not None:
            raise Conflict(
                f"{name}@{version} is already registered with other content (hash {other.content_hash[:12]}); "
                "bump the version in the suite header."
            )
    else:
        version = (Suite.objects.filter(name=name).aggregate(v=Max("version"))["v"] or 0) + 1
    try:
        with transaction.atomic():
            suite = Suite.objects.create(
                name=name, version=version, content_hash=content_hash, description=description,
                source=source[:200], n_cases=len(cases), created_by=user,
            )  # fmt: skip
    except IntegrityError:  # registered concurrently
        return Registered(Suite.objects.get(name=name, content_hash=content_hash), False)
    CaseRow.objects.bulk_create(
        CaseRow(suite=suite, case_id=case.id, position=index, data=case.to_json(), content_hash=case.content_hash, scenario=case.scenario[:60])
        for index, case in enumerate(cases)
    )
    return Registered(suite, True)


def register_suite_file(path: str | Path, *, name: str | None = None, user: User | None = None) -> Registered:
    """Parse, validate and register a JSONL suite file (its header names it, or ``name``)."""
    path = Path(path)
    parsed: ParsedSuite = parse_suite(path.read_text(encoding="utf-8"))
    suite_name = name or parsed.header.name or path.stem
    version = parsed.header.version if (name is None or name == parsed.header.name) else None
    return register_suite(
        suite_name, parsed.cases, version=version, description=parsed.header.description, source=path.name, user=user
    )


# ---------------------------------------------------------------------------------- runs


def run_hash(*, suite_hash: str, release_hash: str, repeats: int, graders: Mapping[str, str], problems: Mapping[str, int | None]) -> str:
    return canonical_hash(
        {"suite": suite_hash, "release": release_hash, "repeats": repeats, "graders": graders, "problems": problems, "score": SCORE_VERSION}
    )


def _pinned_problem_versions(suite: Suite) -> dict[str, int | None]:
    """Each referenced problem's version for a run: the first case's pin, else the current version
    (read for all unpinned references in one query)."""
    from curriculum.models import Problem

    refs: dict[str, ProblemRef] = {}
    for data in suite.cases.values_list("data", flat=True):
        problem = data.get("problem") or {}
        if "code" in problem and "course" in problem:
            ref = ProblemRef(problem["course"], problem["code"], problem.get("version"))
            refs.setdefault(problem_key(ref), ref)
    unpinned = [ref for ref in refs.values() if ref.version is None]
    current: dict[str, int] = {}
    if unpinned:
        rows = Problem.objects.filter(course__code__in={r.course for r in unpinned}, code__in={r.code for r in unpinned})
        for course, code, version in rows.values_list("course__code", "code", "version"):
            current[problem_key(ProblemRef(course, code))] = version
    return {key: ref.version if ref.version is not None else current.get(key) for key, ref in refs.items()}


def start_eval_run(
    suite: Suite,
    release: Release,
    repeats: int = 1,
    *,
    user: User | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    shard_size: int = DEFAULT_SHARD_SIZE,
    use_cache: bool = True,
    queue: str = "",
    enqueue: bool = True,
) -> EvalRun:
    """Create a run and its shards; the shard tasks are enqueued once the transaction commits.

    ``enqueue=False`` leaves the shards pending for ``run_inline`` (the command in eager mode).
    """
    if not 1 <= repeats <= MAX_REPEATS:
        raise InvalidInput(f"Repeats must be between 1 and {MAX_REPEATS}.")
    if not 1 <= concurrency <= 64:
        raise InvalidInput("Concurrency must be between 1 and 64.")
    if not 1 <= shard_size <= 1000:
        raise InvalidInput("Shard size must be between 1 and 1000.")
    n_cases = suite.cases.count()
    if n_cases == 0:
        raise InvalidInput(f"Suite {suite.label} has no cases.")
    graders = grader_versions(default_graders())
    problems = _pinned_problem_versions(suite)
    with transaction.atomic():
        run = EvalRun.objects.create(
            suite=suite, suite_hash=suite.content_hash, release=release, release_hash=release.config_hash,
            repeats=repeats, concurrency=concurrency, shard_size=shard_size, use_cache=use_cache,
            grader_versions=graders, problem_versions=problems, queue=queue, created_by=user,
            n_expected=n_cases * repeats,
            run_hash=run_hash(suite_hash=suite.content_hash, release_hash=release.config_hash, repeats=repeats,
                              graders=graders, problems=problems),
        )  # fmt: skip
        n_shards = math.ceil(n_cases / shard_size)
        RunShard.objects.bulk_create(
            RunShard(run=run, index=i, start=i * shard_size, end=min(n_cases, (i + 1) * shard_size)) for i in range(n_shards)
        )
        if enqueue:
            transaction.on_commit(lambda: _enqueue_shards(run.pk, range(n_shards), queue))
    return run


def _enqueue_shards(run_id: int, indexes: Iterable[int], queue: str) -> None:
    from evals.tasks import run_shard

    for index in indexes:
        run_shard.apply_async(args=[run_id, index], queue=queue or None)


def run_inline(run: EvalRun, *, on_result: Callable[[], None] | None = None) -> EvalRun:
    """Execute every pending shard in this process (the command's eager mode), then finalize."""
    for index in run.shards.filter(status=RunShard.Status.PENDING).values_list("index", flat=True):
        execute_shard(run.pk, index, on_result=on_result)
    run.refresh_from_db()
    if run.status != EvalRun.Status.FINISHED:  # finished: the last shard's finalize task already ran here (eager)
        finalize_run(run.pk)
        run.refresh_from_db()
    return run


def resume_run(run: EvalRun, *, stale_after: timedelta = DEFAULT_STALE_AFTER) -> list[int]:
    """Put shards whose worker stopped beating back to pending and enqueue every pending shard.

    Safe to call any time: a live shard keeps its claim (its heartbeat is fresh), a finished one
    is never touched, and a shard enqueued twice is claimed once. Returns the enqueued indexes.
    """
    cutoff = timezone.now() - stale_after
    run.refresh_from_db(fields=["status"])
    RunShard.objects.filter(run=run, status=RunShard.Status.RUNNING).filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at__isnull=True)
    ).update(status=RunShard.Status.PENDING, claim_token="")
    if run.status in (EvalRun.Status.FINISHED, EvalRun.Status.CANCELLED):
        return []
    pending = list(run.shards.filter(status=RunShard.Status.PENDING).values_list("index", flat=True))
    if pending:
        transaction.on_commit(lambda: _enqueue_shards(run.pk, pending, run.queue))
    elif not run.shards.exclude(status=RunShard.Status.DONE).exists():
        finalize_run(run.pk)
    return pending


def rescue_stalled_runs(*, stale_after: timedelta = DEFAULT_STALE_AFTER) -> int:
    """Periodic: resume every unfinished run that has a stale shard. Returns how many."""
    cutoff = timezone.now() - stale_after
    stalled = EvalRun.objects.unfinished().filter(
        shards__status=RunShard.Status.RUNNING, shards__heartbeat_at__lt=cutoff
    ).distinct()  # fmt: skip
    count = 0
    for run in stalled:
        resume_run(run, stale_after=stale_after)
        count += 1
    return count


def cancel_run(run: EvalRun) -> bool:
    """Stop a run: pending shards are never claimed; running ones finish their calls in flight."""
    return bool(EvalRun.objects.unfinished().filter(pk=run.pk).update(status=EvalRun.Status.CANCELLED, finished_at=timezone.now()))


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = q * (len(ordered) - 1)
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summarize(results: Iterable[EvalResult]) -> dict[str, Any]:
    """Metric means overall and per scenario, over answered results."""
    overall: dict[str, list[float]] = defaultdict(list)
    by_scenario: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    counts: dict[str, int] = defaultdict(int)
    for result in results:
        if result.error_kind:
            continue
        scenario = result.case.scenario or "(none)"
        counts[scenario] += 1
        for metric, value in result.metrics.items():
            overall[metric].append(float(value))
            by_scenario[scenario][metric].append(float(value))

    def means(values: dict[str, list[float]]) -> dict[str, float]:
        return {m: round(sum(v) / len(v), 4) for m, v in sorted(values.items()) if v}

    return {
        "score_version": SCORE_VERSION,
        "metrics": means(overall),
        "scenarios": {s: {"n": counts[s], "metrics": means(by_scenario[s])} for s in sorted(by_scenario)},
    }


def finalize_run(run_id: int) -> EvalRun | None:
    """Sum cost, tokens and latency, summarise metrics, and mark the run finished once every shard
    is done. Safe to run twice: it recomputes the same figures."""
    run = EvalRun.objects.filter(pk=run_id).first()
    if run is None:
        return None
    results = list(
        EvalResult.objects.filter(run=run).select_related("case").only("error_kind", "latency_ms", "metrics", "case__scenario").iterator(chunk_size=500)
    )
    totals = EvalResult.objects.filter(run=run).aggregate(
        n=Count("id"),
        errors=Count("id", filter=~Q(error_kind="")),
        cached=Count("id", filter=Q(source=EvalResult.Source.CACHE)),
        cost=Sum("cost_usd"),
        paid=Sum("cost_usd", filter=Q(source=EvalResult.Source.MODEL)),
        tokens_in=Sum("tokens_in"),
        tokens_out=Sum("tokens_out"),
        latency=Sum("latency_ms"),
    )
    latencies = [r.latency_ms for r in results if r.latency_ms is not None and not r.error_kind]
    done = not run.shards.exclude(status=RunShard.Status.DONE).exists()
    fields: dict[str, Any] = {
        "n_results": totals["n"],
        "n_errors": totals["errors"],
        "n_cached": totals["cached"],
        "cost_usd": totals["cost"] or Decimal(0),
        "cost_paid_usd": totals["paid"] or Decimal(0),
        "tokens_in": totals["tokens_in"] or 0,
        "tokens_out": totals["tokens_out"] or 0,
        "latency_ms_total": totals["latency"] or 0.0,
        "latency_ms_p50": round(median(latencies), 2) if latencies else None,
        "latency_ms_p95": round(p95, 2) if (p95 := _percentile(latencies, 0.95)) is not None else None,
        "summary": summarize(results),
    }
    EvalRun.objects.filter(pk=run.pk).update(**fields)
    if done:
        EvalRun.objects.filter(pk=run.pk, status__in=[EvalRun.Status.PENDING, EvalRun.Status.RUNNING]).update(
            status=EvalRun.Status.FINISHED, finished_at=timezone.now()
        )
    run.refresh_from_db()
    return run


@dataclass(frozen=True)
class Progress:
    status: str
    expected: int
    done: int
    errors: int
    cached: int
    shards_total: int
    shards_done: int
    cost_usd: float

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.expected) if self.expected else 1.0

    @property
    def percent(self) -> int:
        return math.floor(self.fraction * 100)

    @property
    def finished(self) -> bool:
        return self.status in (EvalRun.Status.FINISHED, EvalRun.Status.CANCELLED)

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status, "expected": self.expected, "done": self.done, "errors": self.errors,
            "cached": self.cached, "percent": self.percent, "shards_total": self.shards_total,
            "shards_done": self.shards_done, "cost_usd": round(self.cost_usd, 6), "finished": self.finished,
        }  # fmt: skip


def run_progress(run: EvalRun) -> Progress:
    counts = EvalResult.objects.filter(run_id=run.pk).aggregate(
        done=Count("id"),
        errors=Count("id", filter=~Q(error_kind="")),
        cached=Count("id", filter=Q(source=EvalResult.Source.CACHE)),
        cost=Sum("cost_usd"),
    )
    shards = RunShard.objects.filter(run_id=run.pk).aggregate(
        total=Count("id"), done=Count("id", filter=Q(status=RunShard.Status.DONE))
    )
    status = EvalRun.objects.filter(pk=run.pk).values_list("status", flat=True).first() or run.status
    return Progress(
        status=status,
        expected=run.n_expected,
        done=counts["done"],
        errors=counts["errors"],
        cached=counts["cached"],
        shards_total=shards["total"],
        shards_done=shards["done"],
        cost_usd=float(counts["cost"] or 0),
    )


def result_rows(run: EvalRun, *, arm: str) -> list[ResultRow]:
    """The run's results as the gate's ResultRows (``evals.gate.evaluate_gate``)."""
    return [r.to_result_row(arm) for r in EvalResult.objects.filter(run=run).select_related("case")]


def purge_cache(release: Release) -> int:
    """Forget a release's cached responses (its next run calls the model again)."""
    deleted, _ = CachedResponse.objects.filter(release_hash=release.config_hash).delete()
    return deleted


# ---------------------------------------------------------------------------------- flagged turns

_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}\b", re.IGNORECASE)
_PHONE = re.compile(r"(?<![\w.])\+?\d[\d\s().-]{7,}\d(?![\w.])")
FLAG_SCENARIOS: dict[str, str] = {
    Flag.Kind.DISTRESS.value: "distress",
    Flag.Kind.MODERATION.value: "flagged_moderation",
    Flag.Kind.ANSWER_LEAK.value: "flagged_answer_leak",
    Flag.Kind.THUMBS_DOWN.value: "thumbs_down",
}
KINDS: dict[str, str] = {Message.Kind.ANSWER.value: "answer", Message.Kind.HINT_REQUEST.value: "hint"}


def _scrubber(people: Iterable[User]) -> Callable[[str], str]:
    names = set()
    for person in people:
        for part in (person.username, person.first_name, person.last_name, person.get_full_name()):
            if part and len(part.strip()) >= 2:
                names.add(part.strip())
    pattern = (
        re.compile(r"\b(?:" + "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True)) + r")\b", re.IGNORECASE)
        if names
        else None
    )

    def scrub(text: str) -> str:
        text = _EMAIL.sub("[email]", text)
        text = _PHONE.sub("[phone]", text)
        return pattern.sub("Student", text) if pattern else text

    return scrub


def _case_from_flag(flag: Flag) -> Case:
    session = flag.session
    message = flag.message
    student_message = message.reply_to if (message is not None and message.role == Message.Role.TUTOR) else message
    if student_message is None:  # a flag on the session: its last student message
        student_message = session.messages.filter(role=Message.Role.STUDENT).order_by("-created_at", "-id").first()
    if student_message is None:
        raise InvalidInput(f"Flag {flag.pk} has no student message to build a case from.")
    enrollments = session.student.enrollments.select_related("classroom__teacher")
    scrub = _scrubber([session.student, *(e.classroom.teacher for e in enrollments)])
    earlier = session.messages.complete().filter(
        Q(created_at__lt=student_message.created_at) | Q(created_at=student_message.created_at, pk__lt=student_message.pk)
    )
    conversation = tuple(
        CaseTurn(role=m.role, text=scrub(m.text), kind=KINDS.get(m.kind, "chat") if m.role == Message.Role.STUDENT else "chat")
        for m in earlier.order_by("created_at", "id")
    )
    problem = session.problem
    reply = message if message is not None and message.role == Message.Role.TUTOR else student_message.replies.complete().first()
    notes = [f"Imported from a {flag.get_kind_display().lower()} flag (#{flag.pk}) on {flag.created_at:%Y-%m-%d}."]
    if flag.detail:
        notes.append(f"Flag detail: {scrub(flag.detail)}")
    if reply is not None:
        release = reply.release.name if reply.release is not None else (reply.backend or "unknown")
        notes.append(f"Original reply ({release}): {scrub(reply.text)}")
    return Case(
        id=f"flag-{flag.pk}",
        tags={
            "scenario": FLAG_SCENARIOS.get(flag.kind, "flagged"),
            "grade_band": problem.course.grade_band or "",
            "skill": problem.skill.code,
            "language": problem.course.language or "en",
            "pinned": False,
            "source": "flagged",
        },
        problem=ProblemRef(course=problem.course.code, code=problem.code, version=session.problem_version),
        conversation=conversation,
        message=StudentMessage(kind=KINDS.get(student_message.kind, "chat"), text=scrub(student_message.text) or "Can I have a hint?"),
        notes=" ".join(notes),
    )


def flags_visible_to(user: object) -> FlagQuerySet:
    """Flags in the admin's own organisation."""
    user = require_admin(user)
    flags: FlagQuerySet = Flag.objects.filter(session__student__organisation_id=user.organisation_id or 0)
    return flags


def import_flagged_as_cases(
    flags: Iterable[Flag | int] | None = None,
    suite_name: str = "flagged",
    *,
    messages: Iterable[Message | int] | None = None,
    user: User | None = None,
) -> Registered:
    """Turn flagged conversations (and thumbs-down turns) into pseudonymised cases, in one step.

    Each flag (or a tutor message's flags) becomes the case ``flag-<id>``: the conversation up to
    the student's message, the message, the problem pinned at the session's version, the original
    reply in the notes. Names of the student and their teachers, e-mail addresses and phone
    numbers are replaced. The cases are added to the newest version of ``suite_name`` as a new
    version (a case already in it is not added twice).
    """
    ids = [f.pk if isinstance(f, Flag) else int(f) for f in (flags or [])]
    message_ids = [m.pk if isinstance(m, Message) else int(m) for m in (messages or [])]
    queryset = Flag.objects.filter(Q(pk__in=ids) | Q(message_id__in=message_ids))
    if user is not None:
        queryset = queryset & flags_visible_to(user)
    chosen = list(queryset.select_related("session__problem__course", "session__problem__skill", "session__student", "message__reply_to", "message__release").order_by("pk"))
    if not chosen:
        raise InvalidInput("No flagged turns selected.")
    current = Suite.objects.filter(name=suite_name).order_by("-version").first()
    cases: list[Case] = [case_from_json(row.data) for row in current.cases.all()] if current else []
    present = {case.id for case in cases}
    seen_messages = set()
    for flag in chosen:
        key = flag.message_id or f"session-{flag.session_id}"
        if key in seen_messages:
            continue  # several flags on one turn make one case
        seen_messages.add(key)
        case = _case_from_flag(flag)
        if case.id not in present:
            cases.append(case)
            present.add(case.id)
    return register_suite(
        suite_name, cases, description=current.description if current else "Teachers' flagged conversations and thumbs-down turns.",
        source="flags", user=user,
    )  # fmt: skip
