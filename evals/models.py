"""Eval suites and cases, runs (split into shards), results, the response cache and replay recordings.

Suites and cases are immutable once registered: a changed suite is a new version. A run pins the
suite's content hash, the release's config hash, the grader versions and the problem versions it
resolved, hashed together into ``EvalRun.run_hash``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from tutor.models import Release

if TYPE_CHECKING:
    from evals.cases import Case as EvalCase
    from evals.gate import ResultRow


class SuiteQuerySet(models.QuerySet["Suite"]):
    def latest_versions(self) -> SuiteQuerySet:
        """The newest version of each suite name."""
        newest = self.filter(name=models.OuterRef("name")).order_by("-version").values("pk")[:1]
        return self.filter(pk=models.Subquery(newest)).order_by("name")


class Suite(models.Model):
    name = models.SlugField(max_length=80)
    version = models.PositiveIntegerField()
    content_hash = models.CharField(max_length=64)
    description = models.TextField(blank=True)
    source = models.CharField(max_length=200, blank=True, help_text="Where the cases came from: a file, mrbench, flags.")
    n_cases = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = SuiteQuerySet.as_manager()

    class Meta:
        ordering = ["name", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="one_suite_per_name_version"),
            models.UniqueConstraint(fields=["name", "content_hash"], name="one_suite_version_per_content"),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return f"{self.name}@{self.version}"


class Case(models.Model):
    """One case of a suite, stored in its canonical JSON form (``evals.cases.Case.to_json``)."""

    suite = models.ForeignKey(Suite, on_delete=models.CASCADE, related_name="cases")
    case_id = models.CharField(max_length=120)
    position = models.PositiveIntegerField()
    data = models.JSONField()
    content_hash = models.CharField(max_length=64)
    scenario = models.CharField(max_length=60, blank=True)

    class Meta:
        ordering = ["suite_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["suite", "case_id"], name="one_case_id_per_suite"),
            models.UniqueConstraint(fields=["suite", "position"], name="one_case_per_position"),
        ]

    def __str__(self) -> str:
        return self.case_id

    @property
    def tags(self) -> dict[str, Any]:
        return dict(self.data.get("tags") or {})

    def as_case(self) -> EvalCase:
        from evals.cases import case_from_json

        return case_from_json(self.data)


class EvalRunQuerySet(models.QuerySet["EvalRun"]):
    def unfinished(self) -> EvalRunQuerySet:
        return self.filter(status__in=[EvalRun.Status.PENDING, EvalRun.Status.RUNNING])


class EvalRun(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        FINISHED = "finished", "Finished"
        CANCELLED = "cancelled", "Cancelled"

    suite = models.ForeignKey(Suite, on_delete=models.PROTECT, related_name="runs")
    suite_hash = models.CharField(max_length=64, help_text="The suite content the run pinned.")
    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="eval_runs")
    release_hash = models.CharField(max_length=64, help_text="The release configuration the run pinned.")
    repeats = models.PositiveSmallIntegerField(default=1)
    concurrency = models.PositiveSmallIntegerField(default=8, help_text="Model calls in flight per shard.")
    shard_size = models.PositiveSmallIntegerField(default=25, help_text="Cases per shard task.")
    use_cache = models.BooleanField(default=True, help_text="Reuse cached responses of the same release, case and repeat.")
    grader_versions = models.JSONField(default=dict)
    problem_versions = models.JSONField(default=dict, help_text="course/code -> the problem version each reference resolved to.")
    run_hash = models.CharField(max_length=64, help_text="Suite, release, repeats, graders and problem versions, hashed.")
    queue = models.CharField(max_length=100, blank=True, help_text="Celery queue for the shard tasks (blank: default).")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    n_expected = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Totals, written by finalize_run.
    n_results = models.PositiveIntegerField(default=0)
    n_errors = models.PositiveIntegerField(default=0)
    n_cached = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=14, decimal_places=8, default=0, help_text="Cost of the responses, cached ones at their original cost.")
    cost_paid_usd = models.DecimalField(max_digits=14, decimal_places=8, default=0, help_text="Cost of the calls this run made.")
    tokens_in = models.PositiveBigIntegerField(default=0)
    tokens_out = models.PositiveBigIntegerField(default=0)
    latency_ms_total = models.FloatField(default=0)
    latency_ms_p50 = models.FloatField(null=True, blank=True)
    latency_ms_p95 = models.FloatField(null=True, blank=True)
    summary = models.JSONField(default=dict, blank=True, help_text="Metric means overall and per scenario.")

    objects = EvalRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"run {self.pk}: {self.suite} on {self.release}"

    @property
    def is_finished(self) -> bool:
        return self.status == self.Status.FINISHED


class RunShard(models.Model):
    """A slice of a run's cases, executed by one task. Claimed with a conditional UPDATE."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        DONE = "done", "Done"

    run = models.ForeignKey(EvalRun, on_delete=models.CASCADE, related_name="shards")
    index = models.PositiveIntegerField()
    start = models.PositiveIntegerField(help_text="First case position (inclusive).")
    end = models.PositiveIntegerField(help_text="Last case position (exclusive).")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_by = models.CharField(max_length=200, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["run_id", "index"]
        constraints = [models.UniqueConstraint(fields=["run", "index"], name="one_shard_per_index")]

    def __str__(self) -> str:
        return f"shard {self.index} of run {self.run_id}"


class EvalResult(models.Model):
    """One response (or one failed call) for one case and repeat of a run, with its grades."""

    class Source(models.TextChoices):
        MODEL = "model", "Called the release"
        CACHE = "cache", "Response cache"
        SAFETY = "safety", "Fixed safety reply (no model call)"

    run = models.ForeignKey(EvalRun, on_delete=models.CASCADE, related_name="results")
    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="results")
    case_key = models.CharField(max_length=120, help_text="The case's id in its suite.")
    repeat = models.PositiveSmallIntegerField()
    response = models.TextField(blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MODEL)
    metrics = models.JSONField(default=dict)
    grades = models.JSONField(default=dict)
    guard = models.JSONField(default=dict, blank=True, help_text="What the live guards would have done with this reply.")
    error_kind = models.CharField(max_length=20, blank=True)
    error = models.TextField(blank=True)
    model = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    first_token_ms = models.FloatField(null=True, blank=True)
    latency_ms = models.FloatField(null=True, blank=True)
    tokens_in = models.PositiveIntegerField(null=True, blank=True)
    tokens_out = models.PositiveIntegerField(null=True, blank=True)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=8, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["run_id", "case__position", "repeat"]
        constraints = [models.UniqueConstraint(fields=["run", "case", "repeat"], name="one_result_per_run_case_repeat")]
        indexes = [models.Index(fields=["run", "error_kind"])]

    def __str__(self) -> str:
        return f"{self.case_key}#{self.repeat} in run {self.run_id}"

    @property
    def is_error(self) -> bool:
        return bool(self.error_kind)

    def to_result_row(self, arm: str) -> ResultRow:
        """The gate's input row for this result (``evals.gate.ResultRow``)."""
        from evals.gate import ResultRow

        return ResultRow(
            case_id=self.case_key,
            tags=self.case.tags,
            arm=arm,  # type: ignore[arg-type]
            repeat=self.repeat,
            metrics={k: float(v) for k, v in self.metrics.items()},
            error=f"{self.error_kind}: {self.error}" if self.is_error else None,
            cost_usd=float(self.cost_usd) if self.cost_usd is not None else None,
            latency_ms=self.latency_ms,
        )


class CachedResponse(models.Model):
    """A release's response to one case input and repeat, kept with its original latency and cost."""

    release_hash = models.CharField(max_length=64)
    case_hash = models.CharField(max_length=64, help_text="Hash of what the tutor saw (evals.context.CaseContext.cache_key).")
    repeat = models.PositiveSmallIntegerField()
    text = models.TextField()
    model = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=1)
    first_token_ms = models.FloatField(null=True, blank=True)
    latency_ms = models.FloatField()
    tokens_in = models.PositiveIntegerField(default=0)
    tokens_out = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=8, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["release_hash", "case_hash", "repeat"], name="one_cached_response_per_key")
        ]

    def __str__(self) -> str:
        return f"{self.release_hash[:8]}/{self.case_hash[:8]}#{self.repeat}"


class ReplayResponse(models.Model):
    """A recorded tutor response, answered by the "replay" backend for (release name, case id)."""

    release_name = models.CharField(max_length=80)
    case_id = models.CharField(max_length=120)
    text = models.TextField()
    source = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["release_name", "case_id"], name="one_recording_per_release_case")]

    def __str__(self) -> str:
        return f"{self.release_name}/{self.case_id}"


# Gate runs live in their own module; imported here so Django registers them.
from evals.gate_models import *  # noqa: E402, F403
