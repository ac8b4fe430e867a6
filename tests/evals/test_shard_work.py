"""The work of a shard done once instead of per case or per result: problems resolved in bulk,
versions pinned in one query, results written as one statement, a run finalized once, the
collector kept off the old heap. Each gives the same outcome as the per-item way."""

import asyncio
import datetime as dt
import gc
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from curriculum.models import ProblemRevision
from evals import actions, runner
from evals.cases import Case, InlineProblem, ProblemRef, StudentMessage
from evals.context import ProblemNotFound, case_context, load_problem, preload_problems
from evals.graders.base import number_values
from evals.models import EvalResult, EvalRun
from tutor.engine.routing import fallback_release, provider_config
from tutor.models import Release
from tutor.providers import register_backend, unregister_backend

PROBLEM = InlineProblem(
    prompt="Work out 1/2 + 1/4.",
    answer={"kind": "fraction", "value": "3/4"},
    solution="2/4 + 1/4 = 3/4",
)


def make_case(index: int, problem=PROBLEM) -> Case:
    return Case(id=f"case-{index:02d}", tags={"scenario": "confused", "language": "en", "pinned": False}, problem=problem,
                conversation=(), message=StudentMessage("chat", f"case {index:02d}: where do I start?"), student_was_wrong=False)  # fmt: skip


def ref(problem, version=None) -> ProblemRef:
    return ProblemRef(problem.course.code, problem.code, version)


def test_preloaded_problems_are_the_ones_each_case_would_load(problem):
    from tests.factories import ProblemFactory

    other = ProblemFactory()
    old = ProblemFactory()
    ProblemRevision.objects.create(problem=old, version=1, content={"prompt": "Old 1/3 + 1/3", "answer": {"kind": "fraction", "value": "2/3"}, "solution": "2/3"}, content_hash="old")  # fmt: skip
    old.version = 2
    old.save()
    cases = [
        make_case(0, ref(problem)),
        make_case(1, ref(other)),
        make_case(2, ref(problem)),
        make_case(3, ref(old, 1)),
        make_case(4),
    ]
    pinned = {
        "/".join((p.course.code, p.code)): v
        for p, v in ((problem, 1), (other, 1), (old, 1))
    }
    problems: dict = {}

    preload_problems(cases, pinned, problems)

    assert problems == {
        (f"{p.course.code}/{p.code}", 1): load_problem(ref(p), 1) for p in (problem, other, old)
    }  # fmt: skip
    assert problems[(f"{old.course.code}/{old.code}", 1)].prompt == "Old 1/3 + 1/3"
    assert [case_context(c, pinned, problems) for c in cases] == [
        case_context(c, pinned) for c in cases
    ]


def test_a_reference_that_cannot_be_preloaded_is_that_cases_error_alone(problem):
    from tests.factories import ProblemFactory

    missing = make_case(0, ProblemRef("ms-math", "no-such-problem"))
    no_revision = make_case(1, ref(problem, 7))
    fine = make_case(2, ref(ProblemFactory()))
    problems: dict = {}

    preload_problems([missing, no_revision, fine], {}, problems)

    assert list(problems) == [(f"{fine.problem.course}/{fine.problem.code}", None)]
    with pytest.raises(ProblemNotFound, match="not in the curriculum"):
        case_context(missing, {}, problems)
    with pytest.raises(ProblemNotFound, match="has no version 7"):
        case_context(no_revision, {}, problems)


def test_a_run_pins_each_problems_first_pin_else_its_current_version(problem):
    from tests.factories import ProblemFactory

    current = ProblemFactory(version=3)
    suite = actions.register_suite("pins", [make_case(0, ref(problem, 5)), make_case(1, ref(problem)), make_case(2, ref(current)),
                                            make_case(3, ProblemRef("ms-math", "gone")), make_case(4)]).suite  # fmt: skip

    pinned = actions._pinned_problem_versions(suite)

    assert pinned == {
        f"{problem.course.code}/{problem.code}": 5,
        f"{current.course.code}/{current.code}": 3,
        "ms-math/gone": None,
    }


def result(run, case_row, repeat, **fields) -> EvalResult:
    values = {
        "run": run, "case_id": case_row.pk, "case_key": case_row.case_id, "repeat": repeat,
        "response": 'She said "3/4" \\ then\nleft. é ✓', "source": EvalResult.Source.MODEL,
        "metrics": {"grader.tone": 0.7, "pedagogy_score": 0.1234}, "guard": {"answer_leak": "pass"},
        "grades": {"tone": {"version": "1.0", "passed": True, "score": 0.7, "label": "neutral", "detail": 'a "quoted" \\ detail'}},
        "model": "gpt-x", "attempts": 1, "first_token_ms": None, "latency_ms": 301.2345678901,
        "tokens_in": 12, "tokens_out": None, "cost_usd": Decimal("0.00001234"),
        "created_at": timezone.now().replace(microsecond=123456),
    }  # fmt: skip
    values.update(fields)
    return EvalResult(**values)


FIELDS = [f.attname for f in EvalResult._meta.concrete_fields if not f.primary_key]


def test_results_written_in_one_statement_read_back_as_written(db):
    suite = actions.register_suite("rows", [make_case(0), make_case(1)]).suite
    run = actions.start_eval_run(suite, fallback_release(), enqueue=False)
    rows = list(suite.cases.order_by("position"))
    written = [result(run, rows[0], 0), result(run, rows[1], 0, error_kind="timeout", error="took too long", cost_usd=None, latency_ms=None,
                                                created_at=dt.datetime(2025, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC))]  # fmt: skip

    with CaptureQueriesContext(connection) as queries:
        runner._insert_results(written)
    runner._insert_results(
        [result(run, rows[0], 0, response="a second write of the same case and repeat")]
    )

    assert len(queries) == 1
    assert ("jsonb_populate_recordset" in queries[0]["sql"]) == (
        connection.vendor == "postgresql"
    )

    stored = list(EvalResult.objects.filter(run=run).order_by("case__position"))
    assert [[getattr(r, f) for f in FIELDS] for r in stored] == [
        [getattr(r, f) for f in FIELDS] for r in written
    ]


def test_a_result_json_cannot_carry_goes_through_the_orm(db):
    suite = actions.register_suite("nan", [make_case(0)]).suite
    run = actions.start_eval_run(suite, fallback_release(), enqueue=False)
    row = result(run, suite.cases.get(), 0, latency_ms=float("nan"))

    runner._insert_results([row])

    assert runner._results_json([row]) is None
    assert EvalResult.objects.filter(run=run).count() == 1


def test_an_inline_run_is_finalized_once_when_its_last_shard_already_did(
    transactional_db, monkeypatch
):
    calls = []
    finalize = actions.finalize_run
    monkeypatch.setattr(
        actions, "finalize_run", lambda run_id: calls.append(run_id) or finalize(run_id)
    )
    suite = actions.register_suite("once", [make_case(i) for i in range(3)]).suite
    run = actions.start_eval_run(suite, fallback_release(), shard_size=2, enqueue=False)

    run = actions.run_inline(
        run
    )  # autocommit: the last shard's finalize task runs here (eager)

    assert run.status == EvalRun.Status.FINISHED and run.n_results == 3
    assert calls == [run.pk]


def test_a_shard_leaves_the_collector_as_it_found_it(db, monkeypatch):
    suite = actions.register_suite("gc", [make_case(0)]).suite
    run = actions.start_eval_run(suite, fallback_release(), enqueue=False)
    frozen_during = []
    prepare = runner.prepare_shard
    monkeypatch.setattr(
        runner,
        "prepare_shard",
        lambda *a: frozen_during.append(gc.get_freeze_count()) or prepare(*a),
    )

    actions.run_inline(run)

    assert frozen_during[0] > 0
    assert gc.get_freeze_count() == 0


def test_a_failing_shard_unfreezes_the_collector_too(db, monkeypatch):
    suite = actions.register_suite("gc-fail", [make_case(0)]).suite
    run = actions.start_eval_run(suite, fallback_release(), enqueue=False)

    def broken(*args):
        raise RuntimeError("database gone")

    monkeypatch.setattr(runner, "prepare_shard", broken)
    with pytest.raises(RuntimeError, match="database gone"):
        runner.execute_shard(run.pk, 0)

    assert gc.get_freeze_count() == 0


def test_number_values_hands_out_a_set_of_its_own():
    first = number_values("3/4 of 12")
    first.add(99)

    assert number_values("3/4 of 12") == {0.75, 3, 4, 12}


class CountingBackend:
    def __init__(self) -> None:
        self.calls = 0

    async def stream(self, config, request, usage):
        self.calls += 1
        await asyncio.sleep(0.02)
        yield "What do you notice about the denominators?"


def test_a_failed_write_stops_the_calls_and_is_raised(db):
    backend = CountingBackend()
    register_backend("test-counting", backend, replace=True)
    release = Release.objects.create(
        name="counting",
        backend="test-counting",
        model="c-1",
        prompt_version="socratic-v1",
    )
    items = [
        runner.WorkItem(
            case_pk=i, case_key=f"case-{i:02d}", repeat=0, cc=case_context(make_case(i))
        )
        for i in range(20)
    ]

    async def save_result(item, outcome):
        raise RuntimeError("disk full")

    try:
        with pytest.raises(RuntimeError, match="disk full"):
            async_to_sync(runner.run_items)(
                items, config=provider_config(release), prompt_version="socratic-v1", concurrency=2, cached={},
                save_cache=None, save_result=save_result,
            )  # fmt: skip
    finally:
        unregister_backend("test-counting")

    assert backend.calls <= 4
