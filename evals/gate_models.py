"""Gate runs: a candidate and a baseline compared on one suite under one policy (see evals/gate/).

A gate run pins everything its verdict depends on: both releases and their config hashes, the
suite and its content hash, the policy's name, content and hash, the grader versions, the repeats,
the bootstrap seed and the two eval runs whose results it judged. ``inputs_hash`` hashes all of it
and is unique, so asking for the same gate twice gives the same gate run; a changed input (a new
release config, suite version, grader version, problem version or policy) is a new gate run.

A promotion override is the other way a release reaches production: a written reason, requested
by one admin, confirmed by a second (``evals.gating``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tutor.models import Release

__all__ = ["GateRun", "PromotionOverride"]


class GateRunQuerySet(models.QuerySet["GateRun"]):
    def running(self) -> GateRunQuerySet:
        return self.filter(status=GateRun.Status.RUNNING)

    def finished(self) -> GateRunQuerySet:
        return self.filter(status=GateRun.Status.FINISHED)

    def against(self, baseline: Release) -> GateRunQuerySet:
        """Gate runs judged against ``baseline`` as it is configured now."""
        return self.filter(baseline=baseline, baseline_hash=baseline.config_hash)


class GateRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        FINISHED = "finished", "Finished"
        CANCELLED = "cancelled", "Cancelled"

    class Verdict(models.TextChoices):
        PASS = "PASS", "Pass"
        FAIL = "FAIL", "Fail"
        INCONCLUSIVE = "INCONCLUSIVE", "Inconclusive"
        INVALID = "INVALID", "Invalid"

    inputs_hash = models.CharField(
        max_length=64,
        unique=True,
        help_text="Every input below, hashed: the same inputs give the same gate run.",
    )
    candidate = models.ForeignKey(
        Release, on_delete=models.PROTECT, related_name="gate_runs"
    )
    candidate_hash = models.CharField(max_length=64)
    baseline = models.ForeignKey(
        Release, on_delete=models.PROTECT, related_name="baseline_gate_runs"
    )
    baseline_hash = models.CharField(max_length=64)
    suite = models.ForeignKey(
        "evals.Suite", on_delete=models.PROTECT, related_name="gate_runs"
    )
    suite_hash = models.CharField(max_length=64)
    policy_name = models.CharField(max_length=100)
    policy_hash = models.CharField(max_length=64)
    policy = models.JSONField(
        help_text="The policy's canonical content (Policy.to_dict()): the pass bar as it was."
    )
    policy_source = models.CharField(max_length=300, blank=True)
    repeats = models.PositiveSmallIntegerField()
    seed = models.PositiveIntegerField(default=0)
    grader_versions = models.JSONField(default=dict)
    baseline_run = models.ForeignKey(
        "evals.EvalRun", on_delete=models.PROTECT, related_name="+"
    )
    candidate_run = models.ForeignKey(
        "evals.EvalRun", on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.RUNNING
    )
    verdict = models.CharField(max_length=12, choices=Verdict.choices, blank=True)
    exit_code = models.SmallIntegerField(null=True, blank=True)
    report = models.JSONField(
        default=dict, blank=True, help_text="GateReport.to_dict()."
    )
    detail = models.TextField(blank=True, help_text="Why a gate run was cancelled.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = GateRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"gate {self.pk}: {self.candidate} vs {self.baseline}"

    @property
    def is_finished(self) -> bool:
        return self.status == self.Status.FINISHED

    @property
    def passed(self) -> bool:
        return self.is_finished and self.verdict == self.Verdict.PASS

    def evidence(self) -> dict[str, Any]:
        """What a decision taken on this gate run records about it."""
        return {
            "gate_run": self.pk,
            "verdict": self.verdict or None,
            "inputs_hash": self.inputs_hash,
            "candidate": self.candidate.name,
            "candidate_hash": self.candidate_hash,
            "baseline": self.baseline.name,
            "baseline_hash": self.baseline_hash,
            "suite": self.suite.label,
            "suite_hash": self.suite_hash,
            "policy": self.policy_name,
            "policy_hash": self.policy_hash,
            "repeats": self.repeats,
            "eval_runs": {
                "baseline": self.baseline_run_id,
                "candidate": self.candidate_run_id,
            },
        }


class PromotionOverride(models.Model):
    """A request to promote without a PASS, with its written reason; a second admin confirms it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a second admin"
        CONFIRMED = "confirmed", "Confirmed"
        SUPERSEDED = "superseded", "Superseded"

    release = models.ForeignKey(
        Release, on_delete=models.PROTECT, related_name="promotion_overrides"
    )
    baseline = models.ForeignKey(
        Release,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="Production when it was requested.",
    )
    gate_run = models.ForeignKey(
        GateRun,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="overrides",
    )
    reason = models.TextField()
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING
    )
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(default=timezone.now)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["release"],
                condition=Q(status="pending"),
                name="one_pending_override_per_release",
            ),
        ]

    def __str__(self) -> str:
        return f"override {self.pk} for {self.release} ({self.status})"

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING
