"""Release actions: register, promote, canary, roll back. Every decision is written to the audit log.

Promotion needs evidence: the evals app calls `promote_release` with the gate run that passed, or
with a written override that a second admin has confirmed. The canary monitor compares the canary
arm with the control arm on live guardrails and rolls back by itself when one trips.
"""

from dataclasses import asdict, dataclass
from typing import Any

from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from tutor.errors import Conflict, Forbidden, InvalidInput
from tutor.models import Message, Rating, Release, ReleaseEvent, Rollout, User

DEFAULT_GUARDRAILS = {
    "min_samples": 20,  # replies per arm before the softer guardrails judge
    "max_leak_rate": 0.02,  # answer-leak guard trips per reply, canary arm
    "max_error_rate": 0.05,  # provider failures (fallbacks) per reply: a hard breaker
    "max_moderation_flags": 0,  # tutor replies flagged by output moderation: a hard breaker
    "max_thumbs_down_delta": 0.10,  # canary thumbs-down rate minus control's
    "max_p95_latency_ratio": 1.5,  # canary p95 total latency over control's
}


def _require_admin(user: User) -> None:
    if not user.is_org_admin:
        raise Forbidden("Only admins manage releases.")


def record(release: Release, action: str, *, actor: User | None = None, reason: str = "",
           evidence: dict | None = None, automatic: bool = False) -> ReleaseEvent:  # fmt: skip
    return ReleaseEvent.objects.create(
        release=release, action=action, actor=actor, reason=reason, evidence=evidence or {}, automatic=automatic
    )


@transaction.atomic
def register_release(admin: User, *, name: str, backend: str, model: str, prompt_version: str,
                     base_url: str = "", api_key_env: str = "", params: dict | None = None,
                     description: str = "") -> Release:  # fmt: skip
    from tutor.engine.prompts import available_prompt_versions
    from tutor.providers import loaded_backends

    _require_admin(admin)
    if Release.objects.filter(name=name).exists():
        raise InvalidInput(f"A release named {name!r} exists already: releases are immutable, pick a new name.")
    if prompt_version not in available_prompt_versions():
        raise InvalidInput(f"Unknown prompt version {prompt_version!r}: one of {', '.join(available_prompt_versions())}.")
    if backend not in {"openai", *loaded_backends()}:
        raise InvalidInput(f"Unknown backend {backend!r}.")
    release = Release.objects.create(
        name=name, backend=backend, model=model, prompt_version=prompt_version, base_url=base_url,
        api_key_env=api_key_env, params=params or {}, description=description,
        state=Release.State.CANDIDATE, created_by=admin,
    )  # fmt: skip
    record(release, ReleaseEvent.Action.REGISTERED, actor=admin, evidence={"config_hash": release.config_hash})
    return release


@transaction.atomic
def promote_release(admin: User, release: Release, *, evidence: dict[str, Any], reason: str = "") -> Release:
    """Make `release` the production release. The caller has checked the evidence (a PASS, or a
    confirmed override); it is stored with the decision."""
    _require_admin(admin)
    if release.state == Release.State.RETIRED:
        raise Conflict("A retired release cannot be promoted.")
    previous = Release.objects.select_for_update().filter(state=Release.State.PRODUCTION).exclude(pk=release.pk)
    for old in previous:
        old.state = Release.State.RETIRED
        old.save(update_fields=["state"])
        record(old, ReleaseEvent.Action.RETIRED, actor=admin, reason=f"Replaced by {release.name}.")
    Rollout.objects.active().filter(candidate=release).update(
        state=Rollout.State.PROMOTED, ended_at=timezone.now(), end_reason="Candidate promoted."
    )
    release.state = Release.State.PRODUCTION
    release.promoted_at = timezone.now()
    release.save(update_fields=["state", "promoted_at"])
    record(release, ReleaseEvent.Action.PROMOTED, actor=admin, reason=reason, evidence=evidence)
    return release


@transaction.atomic
def start_canary(admin: User, candidate: Release, *, percent: float, guardrails: dict | None = None,
                 evidence: dict | None = None) -> Rollout:  # fmt: skip
    from tutor.engine.routing import production_release

    _require_admin(admin)
    if not 0 < percent <= 50:
        raise InvalidInput("A canary takes between 0 and 50 percent of students.")
    if Rollout.objects.active().exists():
        raise Conflict("A canary is already running: stop or promote it first.")
    if candidate.state in (Release.State.PRODUCTION, Release.State.RETIRED):
        raise Conflict(f"{candidate.name} is {candidate.state}: only a candidate can go to canary.")
    rollout = Rollout.objects.create(
        candidate=candidate, baseline=production_release(), percent=percent,
        guardrails={**DEFAULT_GUARDRAILS, **(guardrails or {})}, started_by=admin,
    )  # fmt: skip
    candidate.state = Release.State.CANARY
    candidate.save(update_fields=["state"])
    record(candidate, ReleaseEvent.Action.CANARY_STARTED, actor=admin,
           evidence={"rollout": rollout.pk, "percent": percent, **(evidence or {})})  # fmt: skip
    return rollout


@transaction.atomic
def roll_back(rollout: Rollout, *, actor: User | None, reason: str, evidence: dict | None = None) -> bool:
    """End the canary; students return to production at their next turn. False if already ended."""
    ended = Rollout.objects.filter(pk=rollout.pk, state=Rollout.State.ACTIVE).update(
        state=Rollout.State.ROLLED_BACK, ended_at=timezone.now(), end_reason=reason
    )
    if not ended:
        return False
    Release.objects.filter(pk=rollout.candidate_id, state=Release.State.CANARY).update(state=Release.State.CANDIDATE)
    record(rollout.candidate, ReleaseEvent.Action.ROLLED_BACK, actor=actor, reason=reason,
           evidence=evidence or {}, automatic=actor is None)  # fmt: skip
    return True


@dataclass(frozen=True)
class ArmStats:
    release: str
    replies: int
    leak_rate: float
    error_rate: float
    moderation_flags: int
    thumbs_down_rate: float
    p95_latency_ms: float | None


def arm_stats(release: Release, since) -> ArmStats:
    replies = Message.objects.from_tutor().filter(release=release, created_at__gte=since)
    counts = replies.aggregate(
        total=Count("id"),
        leaks=Count("id", filter=Q(guard__answer_leak="replaced")),
        errors=Count("id", filter=Q(guard__has_key="fallback")),
        flagged=Count("id", filter=Q(guard__has_key="output_moderation")),
    )
    ratings = Rating.objects.filter(message__in=replies).aggregate(
        rated=Count("id"), down=Count("id", filter=Q(value=-1))
    )
    latencies = sorted(v for v in replies.values_list("total_ms", flat=True) if v is not None)
    total = counts["total"] or 0
    return ArmStats(
        release=release.name,
        replies=total,
        leak_rate=counts["leaks"] / total if total else 0.0,
        error_rate=counts["errors"] / total if total else 0.0,
        moderation_flags=counts["flagged"],
        thumbs_down_rate=ratings["down"] / ratings["rated"] if ratings["rated"] else 0.0,
        p95_latency_ms=latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))] if latencies else None,
    )


def tripped_guardrails(canary: ArmStats, control: ArmStats, limits: dict) -> list[str]:
    """Reasons to roll back; hard breakers trip at any sample size, the rest after min_samples."""
    reasons = []
    if canary.replies and canary.error_rate > limits["max_error_rate"]:
        reasons.append(f"provider error rate {canary.error_rate:.1%} > {limits['max_error_rate']:.1%}")
    if canary.moderation_flags > limits["max_moderation_flags"]:
        reasons.append(f"{canary.moderation_flags} tutor replies flagged by moderation")
    if canary.replies < limits["min_samples"]:
        return reasons
    if canary.leak_rate > limits["max_leak_rate"]:
        reasons.append(f"answer-leak guard tripped on {canary.leak_rate:.1%} of replies > {limits['max_leak_rate']:.1%}")
    if canary.thumbs_down_rate - control.thumbs_down_rate > limits["max_thumbs_down_delta"]:
        reasons.append(
            f"thumbs-down rate {canary.thumbs_down_rate:.1%} vs control {control.thumbs_down_rate:.1%}"
        )
    if canary.p95_latency_ms and control.p95_latency_ms:
        ratio = canary.p95_latency_ms / control.p95_latency_ms
        if ratio > limits["max_p95_latency_ratio"]:
            reasons.append(f"p95 latency {ratio:.2f}x control > {limits['max_p95_latency_ratio']}x")
    return reasons


def monitor_rollout(rollout_id: int) -> list[str]:
    """Compare the canary arm with control; roll back when a guardrail trips. Safe to run twice."""
    rollout = Rollout.objects.select_related("candidate", "baseline").get(pk=rollout_id)
    if rollout.state != Rollout.State.ACTIVE:
        return []
    limits = {**DEFAULT_GUARDRAILS, **rollout.guardrails}
    canary = arm_stats(rollout.candidate, rollout.started_at)
    control = arm_stats(rollout.baseline, rollout.started_at)
    reasons = tripped_guardrails(canary, control, limits)
    if reasons:
        roll_back(rollout, actor=None, reason="; ".join(reasons),
                  evidence={"canary": asdict(canary), "control": asdict(control), "limits": limits})  # fmt: skip
    return reasons
