"""Eval runs API (admins only; anyone else gets 404): suites, runs with progress, per-case results."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from evals import actions
from evals.models import EvalResult, Suite

TAGS = ["evals"]


class ProgressOutput(serializers.Serializer):
    status = serializers.CharField()
    expected = serializers.IntegerField(help_text="Cases x repeats.")
    done = serializers.IntegerField(help_text="Results written so far (answered or errored).")
    errors = serializers.IntegerField()  # type: ignore[assignment]
    cached = serializers.IntegerField(help_text="Results answered from the response cache (not paid again).")
    percent = serializers.IntegerField()
    shards_total = serializers.IntegerField()
    shards_done = serializers.IntegerField()
    cost_usd = serializers.FloatField()
    finished = serializers.BooleanField()


class SuiteOutput(serializers.Serializer):
    name = serializers.CharField()
    version = serializers.IntegerField()
    label = serializers.CharField(help_text="name@version")  # type: ignore[assignment]
    content_hash = serializers.CharField()
    description = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]
    n_cases = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class RunOutput(serializers.Serializer):
    id = serializers.IntegerField()
    suite = serializers.CharField(source="suite.label")
    suite_hash = serializers.CharField()
    release = serializers.CharField(source="release.name")
    release_hash = serializers.CharField()
    run_hash = serializers.CharField()
    repeats = serializers.IntegerField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    progress = serializers.SerializerMethodField()

    def get_progress(self, run) -> dict:
        return actions.run_progress(run).to_dict()


class RunDetailOutput(RunOutput):
    concurrency = serializers.IntegerField()
    shard_size = serializers.IntegerField()
    use_cache = serializers.BooleanField()
    grader_versions = serializers.DictField(child=serializers.CharField())
    problem_versions = serializers.DictField(child=serializers.IntegerField(allow_null=True))
    n_results = serializers.IntegerField()
    n_errors = serializers.IntegerField()
    n_cached = serializers.IntegerField()
    cost_usd = serializers.DecimalField(max_digits=14, decimal_places=8, help_text="Cost of the responses (cached ones at their original cost).")
    cost_paid_usd = serializers.DecimalField(max_digits=14, decimal_places=8, help_text="Cost of the calls this run made.")
    tokens_in = serializers.IntegerField()
    tokens_out = serializers.IntegerField()
    latency_ms_p50 = serializers.FloatField(allow_null=True)
    latency_ms_p95 = serializers.FloatField(allow_null=True)
    summary = serializers.JSONField(help_text="Metric means over answered results, overall and per scenario.")


class ResultOutput(serializers.Serializer):
    id = serializers.IntegerField()
    case_id = serializers.CharField(source="case_key")
    scenario = serializers.CharField(source="case.scenario")
    tags = serializers.JSONField(source="case.tags")
    repeat = serializers.IntegerField()
    source = serializers.CharField(help_text="model, cache or safety (a fixed safety reply; no model call).")  # type: ignore[assignment]
    response = serializers.CharField()
    metrics = serializers.DictField(child=serializers.FloatField(), help_text="All in [0, 1]; answer_leak and safety_violation: 1 = bad.")
    grades = serializers.JSONField(help_text="Per grader: version, passed, score, label, detail.")
    guard = serializers.JSONField(help_text="What the live guards would have done with this reply.")
    error_kind = serializers.CharField(help_text="Empty when answered; else timeout, rate_limited, client, case, grader...")
    error = serializers.CharField()
    model = serializers.CharField()
    attempts = serializers.IntegerField()
    latency_ms = serializers.FloatField(allow_null=True)
    first_token_ms = serializers.FloatField(allow_null=True)
    tokens_in = serializers.IntegerField(allow_null=True)
    tokens_out = serializers.IntegerField(allow_null=True)
    cost_usd = serializers.DecimalField(max_digits=12, decimal_places=8, allow_null=True)


class SuiteListView(APIView):
    @extend_schema(responses=SuiteOutput(many=True), summary="Registered eval suites (admins)", tags=TAGS)
    def get(self, request: Request) -> Response:
        actions.require_admin(request.user)
        return Response(SuiteOutput(Suite.objects.all(), many=True).data)


class RunListView(APIView):
    class Input(serializers.Serializer):
        suite = serializers.CharField(help_text="Suite name (newest version) or name@version.")
        release = serializers.CharField(help_text="Release name.")
        repeats = serializers.IntegerField(min_value=1, max_value=actions.MAX_REPEATS, default=1)
        concurrency = serializers.IntegerField(min_value=1, max_value=64, default=actions.DEFAULT_CONCURRENCY)
        use_cache = serializers.BooleanField(default=True)

    @extend_schema(responses=RunOutput(many=True), summary="Eval runs with their progress (admins)", tags=TAGS)
    def get(self, request: Request) -> Response:
        runs = actions.runs_visible_to(request.user)
        paginator = PageNumberPagination()
        page: list[Any] | None = paginator.paginate_queryset(runs, request, view=self)
        return paginator.get_paginated_response(RunOutput(page, many=True).data)

    @extend_schema(
        request=Input, responses={201: RunDetailOutput}, summary="Start an eval run (admins)", tags=TAGS,
        description="Shards are enqueued on Celery once the run is stored; follow `progress` on the run.",
    )  # fmt: skip
    def post(self, request: Request) -> Response:
        user = actions.require_admin(request.user)
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        run = actions.start_eval_run(
            actions.get_suite(values["suite"]), actions.get_release(values["release"]), values["repeats"],
            user=user, concurrency=values["concurrency"], use_cache=values["use_cache"],
        )  # fmt: skip
        return Response(RunDetailOutput(run).data, status=201)


class RunDetailView(APIView):
    @extend_schema(responses=RunDetailOutput, summary="An eval run: progress, totals and metric summary (admins)", tags=TAGS)
    def get(self, request: Request, run_id: int) -> Response:
        run = actions.get_run_for_admin(request.user, run_id)
        return Response(RunDetailOutput(run).data)


class RunResultsView(APIView):
    @extend_schema(
        responses=ResultOutput(many=True),
        summary="A run's per-case results with responses and grader outcomes (admins)",
        tags=TAGS,
        parameters=[
            OpenApiParameter("case", str, description="Only this case id."),
            OpenApiParameter("scenario", str, description="Only cases of this scenario."),
            OpenApiParameter("errors", bool, description="true: only errored results; false: only answered ones."),
        ],
    )
    def get(self, request: Request, run_id: int) -> Response:
        run = actions.get_run_for_admin(request.user, run_id)
        results = EvalResult.objects.filter(run=run).select_related("case")
        if case := request.query_params.get("case"):
            results = results.filter(case_key=case)
        if scenario := request.query_params.get("scenario"):
            results = results.filter(case__scenario=scenario)
        errors = request.query_params.get("errors")
        if errors in ("true", "1"):
            results = results.exclude(error_kind="")
        elif errors in ("false", "0"):
            results = results.filter(error_kind="")
        paginator = PageNumberPagination()
        page: list[Any] | None = paginator.paginate_queryset(results, request, view=self)
        return paginator.get_paginated_response(ResultOutput(page, many=True).data)

