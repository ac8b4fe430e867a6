"""Model releases (immutable tutor configurations) and canary rollouts: who answers a student."""

import hashlib
import json
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tutor.errors import Conflict


class ReleaseQuerySet(models.QuerySet["Release"]):
    def production(self) -> "Release | None":
        return self.filter(state=Release.State.PRODUCTION).first()

    def live(self) -> "ReleaseQuerySet":
        return self.exclude(state=Release.State.RETIRED)


class Release(models.Model):
    """A tutor configuration: backend, pinned model id, base URL, prompt version, parameters.

    The configuration is immutable once saved (content-hashed); only the state moves.
    API keys are never stored: `api_key_env` names the environment variable that holds one.
    """

    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        CANDIDATE = "candidate", "Candidate"
        CANARY = "canary", "Canary"
        PRODUCTION = "production", "Production"
        RETIRED = "retired", "Retired"

    CONFIG_FIELDS = ("backend", "model", "base_url", "api_key_env", "prompt_version", "params")

    name = models.SlugField(max_length=80, unique=True)
    backend = models.CharField(max_length=20)  # openai | offline | replay
    model = models.CharField(max_length=200)
    base_url = models.CharField(max_length=300, blank=True)
    api_key_env = models.CharField(max_length=80, blank=True)
    prompt_version = models.CharField(max_length=40)
    params = models.JSONField(default=dict, blank=True)
    config_hash = models.CharField(max_length=64, editable=False)
    state = models.CharField(max_length=12, choices=State.choices, default=State.DRAFT)
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    promoted_at = models.DateTimeField(null=True, blank=True)

    objects = ReleaseQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["state"], condition=Q(state="production"), name="one_production_release"),
        ]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        new_hash = self.hash_config(self.config())
        if self.pk and self.config_hash and new_hash != self.config_hash:
            raise Conflict("A release's configuration is immutable: register a new release instead.")
        self.config_hash = new_hash
        super().save(*args, **kwargs)

    def config(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.CONFIG_FIELDS}

    @staticmethod
    def hash_config(config: dict[str, Any]) -> str:
        return hashlib.sha256(json.dumps(config, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class RolloutQuerySet(models.QuerySet["Rollout"]):
    def active(self) -> "RolloutQuerySet":
        return self.filter(state=Rollout.State.ACTIVE)


class Rollout(models.Model):
    """A canary: `percent` of students, chosen by a sticky hash, are answered by the candidate."""

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        ROLLED_BACK = "rolled_back", "Rolled back"
        PROMOTED = "promoted", "Promoted"
        STOPPED = "stopped", "Stopped"

    candidate = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="rollouts")
    baseline = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="baseline_rollouts")
    percent = models.FloatField()
    state = models.CharField(max_length=12, choices=State.choices, default=State.ACTIVE)
    guardrails = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ended_at = models.DateTimeField(null=True, blank=True)
    end_reason = models.TextField(blank=True)

    objects = RolloutQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(fields=["state"], condition=Q(state="active"), name="one_active_rollout"),
        ]

    def __str__(self) -> str:
        return f"{self.candidate} at {self.percent}%"

    def bucket(self, student_id: int) -> int:
        """Sticky bucket in [0, 10000) for a (student, rollout) pair."""
        digest = hashlib.sha256(f"rollout:{self.pk}:student:{student_id}".encode()).digest()
        return int.from_bytes(digest[:8], "big") % 10000

    def assigns_candidate(self, student_id: int) -> bool:
        return self.state == self.State.ACTIVE and self.bucket(student_id) < self.percent * 100


class ReleaseEvent(models.Model):
    """The audit log of release decisions: append-only, one row per decision, with its evidence."""

    class Action(models.TextChoices):
        REGISTERED = "registered", "Registered"
        GATE = "gate", "Gate run"
        PROMOTED = "promoted", "Promoted"
        OVERRIDE_REQUESTED = "override_requested", "Override requested"
        CANARY_STARTED = "canary_started", "Canary started"
        ROLLED_BACK = "rolled_back", "Rolled back"
        CANARY_STOPPED = "canary_stopped", "Canary stopped"
        RETIRED = "retired", "Retired"

    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="events")
    action = models.CharField(max_length=20, choices=Action.choices)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    automatic = models.BooleanField(default=False)
    reason = models.TextField(blank=True)
    evidence = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.release} {self.action} at {self.created_at:%Y-%m-%d %H:%M}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise Conflict("The release audit log is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> Any:
        raise Conflict("The release audit log is append-only.")
