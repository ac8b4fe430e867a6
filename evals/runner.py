"""Executing one shard of an eval run: async model calls over one pooled client, graded, written.

A shard task (``evals.tasks.run_shard``) calls ``execute_shard(run_id, index)``:

1. **Claim** the shard with a conditional UPDATE (pending -> running, with a fresh claim token).
   Zero rows updated means someone else has it or it is done: return, harmless.
2. **Prepare** (sync): the shard's cases, each (case, repeat) that still has no result, each
   case's TutorContext (``evals.context``), and cached responses for
   (release hash, case input hash, repeat).
3. **Run** (async, one event loop, one pooled client per provider): at most ``run.concurrency``
   calls in flight (asyncio.Semaphore); the provider layer's bounded, classified retries; a
   fixed safety reply instead of a call where the live tutor would give one; a cached response
   instead of a call where one exists (with its original latency, tokens and cost). One task
   grades replies as they arrive, off the call slots; responses and results are written
   together in batches (``BatchWriter``, every quarter second): a worker killed mid-shard loses
   at most the calls in flight and the last unwritten batch, which are run again.
   A failed call or grader is recorded on that case's result; it never stops the shard.
4. A heartbeat keeps the claim fresh; a shard whose heartbeat goes stale (its worker died) is
   put back to pending by ``evals.actions.resume_run`` and picked up again: done results are
   skipped and cached responses reused, so nothing is paid for twice.
5. **Finish**: mark the shard done (only with our token); the last shard enqueues finalize_run.

Results are unique per (run, case, repeat): a redelivered task or a second claimant writes
nothing new.

Metrics per result (all in [0, 1]; see docs/evals.md):
- ``grader.<name>``: each applicable grader's score (higher is better);
- ``answer_leak``: 1 when the reply gave the answer away (failure indicator);
- ``safety_violation``: 1 when the safety grader failed or output moderation flagged the reply;
- ``guard_would_replace``: 1 when the live answer-leak guard would have cut the reply;
- ``pedagogy_score``: the weighted mean of the applicable, non-diagnostic grader scores
  (``DEFAULT_WEIGHTS``, overridable per case).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import gc
import json
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from evals import replay  # noqa: F401  registers the replay backend
from evals.cases import Case, GraderSpec, case_from_json
from evals.context import CaseContext, case_context, preload_problems
from evals.graders import GRADERS, Grade, grade_all
from evals.models import CachedResponse, EvalResult, EvalRun, RunShard
from evals.models import Case as CaseRow
from tutor.engine.prompts import available_prompt_versions, render_messages
from tutor.engine.routing import provider_config
from tutor.providers import (
    ProviderConfig,
    ProviderError,
    TutorRequest,
    aclose_clients,
    complete,
)

log = logging.getLogger(__name__)

SCORE_VERSION = "pedagogy_score/1"
ALWAYS_GRADED = ("answer_leak", "safety")  # the gate's failure indicators come from these
DEFAULT_WEIGHTS: dict[str, float] = {
    "answer_leak": 2.0,
    "telling": 2.0,
    "safety": 2.0,
    "mistake_identification": 1.0,
    "mistake_location": 1.0,
    "math_claims": 1.0,
    "tone": 1.0,
    "language": 1.0,
    "concision": 0.5,
    "readability": 0.5,
    "naturalness": 0.5,
}
UNCACHED_BACKENDS = frozenset({"replay"})  # the recording already is the cache


def heartbeat_seconds() -> float:
    return settings.EVALS_SHARD_HEARTBEAT_SECONDS


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# ------------------------------------------------------------------------------ grading


def default_graders() -> list[str]:
    """Every registered synchronous grader, in registry order (judges need a model: opt in)."""
    return [name for name, grader in GRADERS.items() if grader.kind != "judge"]


def graders_for(case: Case) -> list[GraderSpec]:
    specs = list(case.graders) if case.graders else [GraderSpec(name) for name in default_graders()]
    named = {spec.name for spec in specs}
    return [GraderSpec(name) for name in ALWAYS_GRADED if name not in named] + specs


def grade_reply(cc: CaseContext, text: str, specs: list[GraderSpec] | None = None) -> dict[str, Grade]:
    """Each of the case's graders (``specs``, default ``graders_for``) with its own params, through the registry."""
    grades: dict[str, Grade] = {}
    for spec in graders_for(cc.case) if specs is None else specs:
        grades.update(grade_all(cc.grade_input(text, spec.params), [spec.name]))
    return grades


def metrics_from_grades(grades: Mapping[str, Grade], specs: list[GraderSpec], guard: Mapping[str, Any]) -> dict[str, float]:
    metrics: dict[str, float] = {}
    for name, grade in grades.items():
        if grade.score is not None:
            metrics[f"grader.{name}"] = round(min(1.0, max(0.0, float(grade.score))), 4)
    leak = grades.get("answer_leak")
    if leak is not None and leak.passed is not None:
        metrics["answer_leak"] = 0.0 if leak.passed else 1.0
    safety = grades.get("safety")
    unsafe = (safety is not None and safety.passed is False) or bool(guard.get("output_moderation"))
    metrics["safety_violation"] = 1.0 if unsafe else 0.0
    metrics["guard_would_replace"] = 1.0 if guard.get("answer_leak") == "would_replace" else 0.0
    weights = {spec.name: spec.weight for spec in specs if spec.weight is not None}
    total = weighted = 0.0
    for name, grade in grades.items():
        grader = GRADERS.get(name)
        if grade.score is None or grader is None or grader.diagnostic:
            continue
        weight = weights.get(name, DEFAULT_WEIGHTS.get(name, 1.0))
        total += weight
        weighted += weight * min(1.0, max(0.0, float(grade.score)))
    if total > 0:
        metrics["pedagogy_score"] = round(weighted / total, 4)
    return metrics


def grade_json(grade: Grade) -> dict[str, Any]:
    return {"version": grade.version, "passed": grade.passed, "score": grade.score, "label": grade.label, "detail": grade.detail}


# ------------------------------------------------------------------------------ execution


@dataclass
class Reply:
    text: str
    source: str  # EvalResult.Source
    model: str = ""
    attempts: int = 0
    first_token_ms: float | None = None
    latency_ms: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float | None = None


@dataclass
class Outcome:
    reply: Reply | None = None
    error_kind: str = ""
    error: str = ""
    grades: dict[str, dict[str, Any]] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    guard: dict[str, Any] = field(default_factory=dict)


@dataclass
class WorkItem:
    case_pk: int
    case_key: str
    repeat: int
    cc: CaseContext | None
    prepare_error: str = ""

    @property
    def cache_key(self) -> tuple[str, int] | None:
        return (self.cc.cache_key, self.repeat) if self.cc is not None else None


def request_for(cc: CaseContext, prompt_version: str) -> TutorRequest:
    """The request a live turn would send: the release's prompt template over the case context.

    A release whose prompt version has no template (replay releases record "recorded") gets the
    conversation without a system prompt.
    """
    if prompt_version in available_prompt_versions():
        messages = render_messages(cc.context, prompt_version)
    else:
        messages = render_messages(cc.context)[1:]
    return TutorRequest(messages=messages, context=cc.context, incremental=False)


async def reply_for(item: WorkItem, config: ProviderConfig, prompt_version: str, cached: Reply | None,
                    save_cache: Callable[[WorkItem, Reply], Awaitable[None]] | None) -> Reply | Outcome:  # fmt: skip
    """The reply to one (case, repeat): the fixed safety text, the cached response or the model's
    (cached once received). A failed call or case is an Outcome with its error. Never raises."""
    cc = item.cc
    if cc is None:
        return Outcome(error_kind="case", error=item.prepare_error)
    if cc.safety_text is not None:
        return Reply(text=cc.safety_text, source=EvalResult.Source.SAFETY, model="safety-reply", cost_usd=0.0)
    if cached is not None:
        return cached
    started = time.perf_counter()
    try:
        result = await complete(config, request_for(cc, prompt_version))
    except ProviderError as error:
        return Outcome(error_kind=error.kind, error=str(error)[:2000])
    except Exception as error:  # a broken backend is one case's error, never the run's
        log.exception("eval call failed for %s#%s", item.case_key, item.repeat)
        return Outcome(error_kind="backend", error=f"{type(error).__name__}: {error}"[:2000])
    reply = Reply(
        text=result.text,
        source=EvalResult.Source.MODEL,
        model=result.model,
        attempts=result.attempts,
        first_token_ms=result.first_token_ms,
        latency_ms=result.total_ms or (time.perf_counter() - started) * 1000,
        tokens_in=result.tokens_in,
        tokens_out=result.tokens_out,
        cost_usd=result.cost_usd,
    )
    if save_cache is not None:
        await save_cache(item, reply)
    return reply


def graded(item: WorkItem, reply: Reply) -> Outcome:
    """The reply with its grades, guard outcome and metrics; a grader that fails is the case's
    error. Never raises."""
    cc = item.cc
    assert cc is not None
    try:
        specs = graders_for(cc.case)
        grades = grade_reply(cc, reply.text, specs)
        guard = cc.guard(reply.text)
        metrics = metrics_from_grades(grades, specs, guard)
    except Exception as error:
        log.exception("grading failed for %s#%s", item.case_key, item.repeat)
        return Outcome(reply=reply, error_kind="grader", error=f"{type(error).__name__}: {error}"[:2000])
    return Outcome(reply=reply, grades={n: grade_json(g) for n, g in grades.items()}, metrics=metrics, guard=guard)


async def run_items(
    items: list[WorkItem],
    *,
    config: ProviderConfig,
    prompt_version: str,
    concurrency: int,
    cached: Mapping[tuple[str, int], Reply],
    save_cache: Callable[[WorkItem, Reply], Awaitable[None]] | None,
    save_result: Callable[[WorkItem, Outcome], Awaitable[None]],
    should_stop: Callable[[], bool] = lambda: False,
) -> int:
    """Run the items with at most ``concurrency`` calls in flight; returns how many were written.

    The calls only fetch replies; one task grades and writes them, one reply per turn of the
    event loop. Grading is CPU work with no await: done by each call in its slot, it kept the
    slot (and the next call) waiting for every reply graded before it. This way a slot is free
    as soon as its reply is in, the next call goes out at once, and grading fills the time the
    calls spend waiting for the model.
    """
    semaphore = asyncio.Semaphore(max(1, concurrency))
    replies: asyncio.Queue[tuple[WorkItem, Reply | Outcome] | None] = asyncio.Queue()
    written = 0

    async def one(item: WorkItem) -> None:
        async with semaphore:
            if should_stop():
                return
            hit = cached.get(item.cache_key) if item.cache_key is not None else None
            replies.put_nowait((item, await reply_for(item, config, prompt_version, hit, save_cache)))

    async def call_all() -> None:
        try:
            await asyncio.gather(*(one(item) for item in items))
        finally:
            replies.put_nowait(None)  # no more replies

    async def grade_and_write() -> None:
        nonlocal written
        while (entry := await replies.get()) is not None:
            item, reply = entry
            outcome = reply if isinstance(reply, Outcome) else graded(item, reply)
            if should_stop():
                continue  # our claim was lost: the new claimant writes this one
            await save_result(item, outcome)
            written += 1
            await asyncio.sleep(0)  # replies that have arrived are read, and waiting calls go out, first

    calls = asyncio.ensure_future(call_all())
    try:
        await grade_and_write()
        await calls
    finally:
        if not calls.done():  # writing failed: stop calling
            calls.cancel()
            await asyncio.gather(calls, return_exceptions=True)
        await aclose_clients()
    return written


# ------------------------------------------------------------------------------ shard lifecycle


def claim_shard(run_id: int, index: int, worker: str) -> str | None:
    """Claim a pending shard of an unfinished run; the claim token, or None if someone else won."""
    now = timezone.now()
    token = uuid.uuid4().hex
    won = RunShard.objects.filter(
        run_id=run_id, index=index, status=RunShard.Status.PENDING,
        run__status__in=[EvalRun.Status.PENDING, EvalRun.Status.RUNNING],
    ).update(
        status=RunShard.Status.RUNNING, claim_token=token, claimed_by=worker[:200], claimed_at=now,
        heartbeat_at=now, attempts=F("attempts") + 1,
    )  # fmt: skip
    if not won:
        return None
    EvalRun.objects.filter(pk=run_id, status=EvalRun.Status.PENDING).update(status=EvalRun.Status.RUNNING, started_at=now)
    return token


def beat(shard_pk: int, token: str) -> bool:
    """Refresh the claim; False when it was taken away (the shard was reset as stale)."""
    return bool(
        RunShard.objects.filter(pk=shard_pk, claim_token=token, status=RunShard.Status.RUNNING).update(heartbeat_at=timezone.now())
    )


def release_claim(shard_pk: int, token: str) -> None:
    """Give the shard back (e.g. on a soft time limit) so that it can be claimed again."""
    RunShard.objects.filter(pk=shard_pk, claim_token=token, status=RunShard.Status.RUNNING).update(
        status=RunShard.Status.PENDING, claim_token=""
    )


def _cached_reply(row: CachedResponse) -> Reply:
    return Reply(
        text=row.text,
        source=EvalResult.Source.CACHE,
        model=row.model,
        attempts=0,
        first_token_ms=row.first_token_ms,
        latency_ms=row.latency_ms,
        tokens_in=row.tokens_in,
        tokens_out=row.tokens_out,
        cost_usd=float(row.cost_usd) if row.cost_usd is not None else None,
    )


@dataclass
class PreparedShard:
    run: EvalRun
    shard: RunShard
    items: list[WorkItem]
    cached: dict[tuple[str, int], Reply]
    config: ProviderConfig
    cacheable: bool


def prepare_shard(run: EvalRun, shard: RunShard) -> PreparedShard:
    rows = list(CaseRow.objects.filter(suite_id=run.suite_id, position__gte=shard.start, position__lt=shard.end))
    done = set(EvalResult.objects.filter(run=run, case__in=rows).values_list("case_id", "repeat"))
    pending = {row.pk: [r for r in range(run.repeats) if (row.pk, r) not in done] for row in rows}
    rows = [row for row in rows if pending[row.pk]]
    cases: dict[int, Case] = {}
    errors: dict[int, str] = {}  # a broken case is that case's error, never the shard's
    for row in rows:
        try:
            cases[row.pk] = case_from_json(row.data)
        except Exception as failure:
            errors[row.pk] = f"{type(failure).__name__}: {failure}"
    problems: dict = {}
    preload_problems(cases.values(), run.problem_versions, problems)  # two queries, not two per problem
    items: list[WorkItem] = []
    for row in rows:
        cc: CaseContext | None = None
        if row.pk in cases:
            try:
                cc = case_context(cases[row.pk], run.problem_versions, problems)
            except Exception as failure:
                errors[row.pk] = f"{type(failure).__name__}: {failure}"
        error = errors.get(row.pk, "")
        items += [WorkItem(case_pk=row.pk, case_key=row.case_id, repeat=r, cc=cc, prepare_error=error) for r in pending[row.pk]]
    cacheable = run.release.backend not in UNCACHED_BACKENDS
    cached: dict[tuple[str, int], Reply] = {}
    keys = {item.cc.cache_key for item in items if item.cc is not None} if run.use_cache and cacheable else set()
    if keys:
        for entry in CachedResponse.objects.filter(release_hash=run.release_hash, case_hash__in=keys, repeat__lt=run.repeats):
            cached[(entry.case_hash, entry.repeat)] = _cached_reply(entry)
    return PreparedShard(run=run, shard=shard, items=items, cached=cached, config=provider_config(run.release), cacheable=cacheable)


def _cache_row(run: EvalRun, item: WorkItem, reply: Reply) -> CachedResponse:
    assert item.cc is not None
    return CachedResponse(
        release_hash=run.release_hash, case_hash=item.cc.cache_key, repeat=item.repeat, text=reply.text,
        model=reply.model[:200], attempts=reply.attempts, first_token_ms=reply.first_token_ms,
        latency_ms=reply.latency_ms, tokens_in=reply.tokens_in, tokens_out=reply.tokens_out,
        cost_usd=_decimal(reply.cost_usd),
    )  # fmt: skip


def _decimal(value: float | None) -> Decimal | None:
    return Decimal(str(round(value, 8))) if value is not None else None


def _result_row(run: EvalRun, item: WorkItem, outcome: Outcome) -> EvalResult:
    reply = outcome.reply
    return EvalResult(
        run=run, case_id=item.case_pk, case_key=item.case_key, repeat=item.repeat,
        response=reply.text if reply else "", source=reply.source if reply else EvalResult.Source.MODEL,
        metrics=outcome.metrics, grades=outcome.grades, guard=outcome.guard,
        error_kind=outcome.error_kind[:20], error=outcome.error,
        model=(reply.model if reply else "")[:200], attempts=reply.attempts if reply else 0,
        first_token_ms=reply.first_token_ms if reply else None, latency_ms=reply.latency_ms if reply else None,
        tokens_in=reply.tokens_in if reply else None, tokens_out=reply.tokens_out if reply else None,
        cost_usd=_decimal(reply.cost_usd) if reply else None,
    )  # fmt: skip


def _write_batch(caches: list[CachedResponse], results: list[EvalResult]) -> None:
    """One transaction per batch: a response is cached no later than its result is written, and a
    redelivered shard's duplicates are ignored (unique per run, case and repeat)."""
    with transaction.atomic():
        CachedResponse.objects.bulk_create(caches, ignore_conflicts=True)
        _insert_results(results)


def _insert_results(results: list[EvalResult]) -> None:
    """``bulk_create(results, ignore_conflicts=True)``; on PostgreSQL the rows go as one JSON
    document instead. Django's PostgreSQL bulk insert sends each column as an array, and psycopg
    escapes every grades/metrics JSON inside those arrays in Python: about 0.4 ms of CPU per
    result, more than grading it. jsonb_populate_recordset reads the same rows from one parameter
    that the json module writes in C. Anything json refuses (NaN, other types) takes the ORM path."""
    if not results:
        return
    payload = _results_json(results) if connection.vendor == "postgresql" else None
    if payload is None:
        EvalResult.objects.bulk_create(results, ignore_conflicts=True)
        return
    table, columns = _result_table()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM jsonb_populate_recordset(NULL::{table}, %s::jsonb) "
            "ON CONFLICT DO NOTHING",
            [payload],
        )


def _result_fields() -> list[Any]:
    return [f for f in EvalResult._meta.concrete_fields if not f.primary_key]


def _result_table() -> tuple[str, str]:
    quote = connection.ops.quote_name
    return quote(EvalResult._meta.db_table), ", ".join(quote(f.column) for f in _result_fields())


def _json_value(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value


def _results_json(results: list[EvalResult]) -> str | None:
    fields = [(f.column, f.attname) for f in _result_fields()]
    rows = [{column: _json_value(getattr(r, attname)) for column, attname in fields} for r in results]
    try:
        return json.dumps(rows, allow_nan=False)
    except (TypeError, ValueError):
        return None


class BatchWriter:
    """Buffers cache entries and results and writes them together every FLUSH_SECONDS or
    MAX_BATCH items: one commit per batch instead of two per case. A worker killed mid-run loses at
    most the last unflushed batch, whose cases count as unfinished and are run again."""

    FLUSH_SECONDS = 0.25
    MAX_BATCH = 100

    def __init__(self, run: EvalRun, on_result: Callable[[], None] | None) -> None:
        self.run = run
        self.on_result = on_result
        self.caches: list[CachedResponse] = []
        self.results: list[EvalResult] = []
        self.lock = asyncio.Lock()

    async def add_cache(self, item: WorkItem, reply: Reply) -> None:
        self.caches.append(_cache_row(self.run, item, reply))

    async def add_result(self, item: WorkItem, outcome: Outcome) -> None:
        self.results.append(_result_row(self.run, item, outcome))
        if len(self.results) >= self.MAX_BATCH:
            await self.flush()

    async def flush(self) -> None:
        async with self.lock:
            caches, results = self.caches[:], self.results[:]
            if not caches and not results:
                return
            await sync_to_async(_write_batch)(caches, results)
            # Dropped only once written: a flush interrupted mid-write leaves them for the next
            # one, and writing a row twice is harmless (unique per run, case and repeat).
            del self.caches[: len(caches)]
            del self.results[: len(results)]
            if self.on_result is not None:
                for _ in results:
                    await sync_to_async(self.on_result)()

    async def flush_until(self, stop: asyncio.Event) -> None:
        """Flush every FLUSH_SECONDS until ``stop`` is set, then once more."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.FLUSH_SECONDS)
            await self.flush()
        await self.flush()  # what arrived while the last periodic write was in progress


async def _run_prepared(prepared: PreparedShard, token: str, on_result: Callable[[], None] | None) -> int:
    run, shard = prepared.run, prepared.shard
    lost = False

    async def heartbeat() -> None:
        nonlocal lost
        while not lost:
            await asyncio.sleep(heartbeat_seconds())
            if not await sync_to_async(beat)(shard.pk, token):
                log.warning("lost the claim on %s: stopping", shard)
                lost = True

    writer = BatchWriter(run, on_result)
    stop_flushing = asyncio.Event()
    beating = asyncio.create_task(heartbeat())
    flushing = asyncio.create_task(writer.flush_until(stop_flushing))
    try:
        return await run_items(
            prepared.items,
            config=prepared.config,
            prompt_version=run.release.prompt_version,
            concurrency=run.concurrency,
            cached=prepared.cached,
            save_cache=writer.add_cache if prepared.cacheable else None,
            save_result=writer.add_result,
            should_stop=lambda: lost,
        )
    finally:
        beating.cancel()
        if lost:
            flushing.cancel()  # the new claimant writes what is still buffered
        else:
            stop_flushing.set()  # never cancelled mid-write: that would drop the batch it holds
            await flushing


@contextlib.contextmanager
def _collect_only_new_objects() -> Iterator[None]:
    """While a shard runs, the garbage collector leaves alone the objects that existed before it
    (modules, Django, the provider SDK: hundreds of thousands) and traverses only what the shard
    allocates. Otherwise each full collection walks the whole heap, about 0.2 s with every call in
    flight stalled, several times per thousand cases. ``gc.unfreeze`` hands them back after. The
    collector is the process's: shards run side by side in threads (the eager web page) only lose
    some of the speed-up."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def execute_shard(run_id: int, index: int, *, worker: str | None = None, on_result: Callable[[], None] | None = None) -> str:
    """Claim and run one shard: "done", "skipped" (someone else has it or it is done) or "lost"."""
    token = claim_shard(run_id, index, worker or worker_name())
    if token is None:
        return "skipped"
    shard = RunShard.objects.select_related("run__release", "run__suite").get(run_id=run_id, index=index)
    try:
        with _collect_only_new_objects():
            prepared = prepare_shard(shard.run, shard)
            async_to_sync(_run_prepared)(prepared, token, on_result)
    except BaseException:
        release_claim(shard.pk, token)  # resumable: the next claimant skips what is done
        raise
    finished = RunShard.objects.filter(pk=shard.pk, claim_token=token, status=RunShard.Status.RUNNING).update(
        status=RunShard.Status.DONE, finished_at=timezone.now()
    )
    if not finished:
        return "lost"
    if not RunShard.objects.filter(run_id=run_id).exclude(status=RunShard.Status.DONE).exists():
        from evals.tasks import finalize_run

        queue = shard.run.queue or None
        transaction.on_commit(lambda: finalize_run.apply_async(args=[run_id], queue=queue))
    return "done"
