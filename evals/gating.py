"""Gating actions: run the eval gate on a candidate release, and promote only on its evidence.

    start_gate(admin, candidate, baseline="production", policy=None, suite=None) -> GateRun
        Start (or find) the gate run for these inputs: the two eval runs it needs (a finished run
        with the same run hash is reused, so nothing is paid for twice), and a task that judges
        them once both are finished (``complete_gate``; safe to run twice).
    promote_with_evidence(admin, release, gate_run=None, override_reason=None, confirmed_by=None)
        Promote on a PASS gate run of that release against the current production, or through an
        override: one admin requests it with a written reason, a second admin confirms it.
    start_canary_on_gate(admin, candidate, percent=..., guardrails=...) / roll_back_canary(...)

Every decision is written to the release audit log (``tutor.models.ReleaseEvent``): a gate run
finished or cancelled, an override requested, a promotion (with the gate run or the confirmed
override as evidence), a canary started, a canary rolled back by hand.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from evals import actions
from evals.cases import canonical_hash
from evals.gate import (
    Policy,
    PolicyError,
    ResultRow,
    evaluate_gate,
    load_policy,
    parse_policy,
)
from evals.graders import grader_versions
from evals.models import EvalRun, GateRun, PromotionOverride, RunShard, Suite
from evals.runner import default_graders
from tutor import releases
from tutor.errors import Conflict, Forbidden, InvalidInput, NotFound
from tutor.models import Release, ReleaseEvent, Rollout, User

log = logging.getLogger(__name__)

GATE_VERSION = "gate/1"
DEFAULT_POLICY = "tutor-upgrade-v1"
DEFAULT_SEED = 0
MIN_OVERRIDE_REASON = 15
# Verdicts that let a candidate reach real students in a canary: a PASS, or an offline result too
# uncertain to decide (the canary is how it gets more evidence). FAIL and INVALID never do.
CANARY_VERDICTS = (GateRun.Verdict.PASS, GateRun.Verdict.INCONCLUSIVE)


def _require_admin(user: User | None) -> None:
    if user is not None and not user.is_org_admin:
        raise Forbidden("Only admins manage releases.")


# ---------------------------------------------------------------------------------- policies


def policy_dir() -> Path:
    """Where named policies live (``EVALS_POLICY_DIR`` overrides evals/policies/)."""
    return Path(
        getattr(settings, "EVALS_POLICY_DIR", None)
        or Path(__file__).resolve().parent / "policies"
    )


def available_policies() -> dict[str, Policy]:
    """Named policies: file stem -> parsed policy (files that do not parse are skipped)."""
    found: dict[str, Policy] = {}
    for path in sorted(policy_dir().glob("*.yaml")):
        try:
            found[path.stem] = load_policy(path)
        except PolicyError:
            log.warning("skipping invalid gate policy %s", path)
    return found


def resolve_policy(spec: Policy | str | Path | None = None) -> Policy:
    """A Policy, a path to a YAML file, a name in the policy directory (file stem or its
    ``policy:`` name) or None for the default policy. Raises InvalidInput / NotFound."""
    if isinstance(spec, Policy):
        return spec
    text = str(spec or DEFAULT_POLICY)
    paths = [Path(text)]
    if "/" not in text:  # a bare name: a file stem in the policy directory
        paths.append(policy_dir() / f"{text.removesuffix('.yaml')}.yaml")
    for path in paths:
        if path.is_file():
            try:
                return load_policy(path)
            except PolicyError as error:
                raise InvalidInput(str(error)) from error
    policies = available_policies()
    for name, policy in policies.items():
        if text in (name, policy.name):
            return policy
    known = ", ".join(policies) or "none"
    raise NotFound(f"No gate policy {text!r} (a YAML file, or one of: {known}).")


# ---------------------------------------------------------------------------------- gate runs


def resolve_baseline(baseline: Release | str) -> Release:
    """A release, or its name; "production" is whichever release is in production now."""
    if isinstance(baseline, Release):
        return baseline
    if baseline == Release.State.PRODUCTION:
        from tutor.engine.routing import production_release

        return production_release()
    return actions.get_release(baseline)


def expected_run_hash(suite: Suite, release: Release, repeats: int) -> str:
    """The run hash an eval run of (suite, release, repeats) would pin now."""
    return actions.run_hash(
        suite_hash=suite.content_hash,
        release_hash=release.config_hash,
        repeats=repeats,
        graders=grader_versions(default_graders()),
        problems=actions._pinned_problem_versions(suite),
    )


def reusable_run(
    suite: Suite, release: Release, repeats: int, run_hash: str
) -> EvalRun | None:
    """A finished eval run of exactly these inputs, if there is one (its results are the same)."""
    return (
        EvalRun.objects.filter(
            suite=suite,
            release=release,
            repeats=repeats,
            run_hash=run_hash,
            status=EvalRun.Status.FINISHED,
        )
        .order_by("-finished_at", "-pk")
        .first()
    )


def _eval_run(suite: Suite, release: Release, repeats: int, run_hash: str, *, user: User | None,
              enqueue: bool, concurrency: int) -> EvalRun:  # fmt: skip
    run = reusable_run(suite, release, repeats, run_hash)
    if run is not None:
        return run
    return actions.start_eval_run(
        suite, release, repeats, user=user, concurrency=concurrency, enqueue=enqueue
    )


def gate_inputs(
    candidate: Release, baseline: Release, suite: Suite, policy: Policy, *, seed: int
) -> dict[str, Any]:
    repeats = policy.repeats
    return {
        "gate": GATE_VERSION,
        "candidate": [
            candidate.pk,
            candidate.config_hash,
            expected_run_hash(suite, candidate, repeats),
        ],
        "baseline": [
            baseline.pk,
            baseline.config_hash,
            expected_run_hash(suite, baseline, repeats),
        ],
        "suite": suite.content_hash,
        "policy": policy.content_hash(),
        "graders": grader_versions(default_graders()),
        "repeats": repeats,
        "seed": seed,
    }


def start_gate(
    admin: User | None,
    candidate: Release | str,
    baseline: Release | str = "production",
    *,
    policy: Policy | str | Path | None = None,
    suite: Suite | str | None = None,
    seed: int = DEFAULT_SEED,
    enqueue: bool = True,
    concurrency: int = actions.DEFAULT_CONCURRENCY,
) -> GateRun:
    """The gate run of these inputs: found when it exists, else started.

    ``suite`` defaults to the policy's suite (its newest version unless the policy pins one).
    With ``enqueue`` the eval runs' shards and the judging task are enqueued once the transaction
    commits; without (the command's eager mode), the caller runs the eval runs (``run_inline``)
    and then calls ``complete_gate``. A cancelled gate run with the same inputs starts again.
    """
    _require_admin(admin)
    candidate = (
        candidate if isinstance(candidate, Release) else actions.get_release(candidate)
    )
    baseline = resolve_baseline(baseline)
    if candidate.pk == baseline.pk:
        raise InvalidInput(
            f"{candidate.name} is the baseline itself: gate it against another release."
        )
    pinned = resolve_policy(policy)
    suite = (
        suite if isinstance(suite, Suite) else actions.get_suite(suite or pinned.suite)
    )
    inputs = gate_inputs(candidate, baseline, suite, pinned, seed=seed)
    inputs_hash = canonical_hash(inputs)
    existing = GateRun.objects.filter(inputs_hash=inputs_hash).first()
    if existing is not None and existing.status != GateRun.Status.CANCELLED:
        if enqueue and existing.status == GateRun.Status.RUNNING:
            transaction.on_commit(lambda: _enqueue_advance(existing.pk))
        return existing

    def runs() -> dict[str, EvalRun]:
        return {
            arm: _eval_run(
                suite,
                release,
                pinned.repeats,
                inputs[arm][2],
                user=admin,
                enqueue=enqueue,
                concurrency=concurrency,
            )
            for arm, release in (("baseline", baseline), ("candidate", candidate))
        }

    try:
        with transaction.atomic():
            fields = runs()
            if (
                existing is not None
            ):  # cancelled: the same inputs, judged on fresh eval runs
                restarted = GateRun.objects.filter(pk=existing.pk, status=GateRun.Status.CANCELLED).update(
                    status=GateRun.Status.RUNNING, baseline_run=fields["baseline"], candidate_run=fields["candidate"],
                    detail="", created_by=admin, created_at=timezone.now(),
                )  # fmt: skip
                if not restarted:
                    raise IntegrityError("restarted concurrently")
                gate = GateRun.objects.get(pk=existing.pk)
            else:
                gate = GateRun.objects.create(
                    inputs_hash=inputs_hash, candidate=candidate, candidate_hash=candidate.config_hash,
                    baseline=baseline, baseline_hash=baseline.config_hash, suite=suite, suite_hash=suite.content_hash,
                    policy_name=pinned.name, policy_hash=pinned.content_hash(), policy=pinned.to_dict(),
                    policy_source=(pinned.source or "")[-300:], repeats=pinned.repeats, seed=seed,
                    grader_versions=inputs["graders"], baseline_run=fields["baseline"],
                    candidate_run=fields["candidate"], created_by=admin,
                )  # fmt: skip
            if enqueue:
                transaction.on_commit(lambda: _enqueue_advance(gate.pk))
    except (
        IntegrityError
    ):  # the same gate was started concurrently: that one is ours too
        return GateRun.objects.get(inputs_hash=inputs_hash)
    return gate


def _enqueue_advance(gate_id: int) -> None:
    from evals.gate_tasks import advance_gate

    advance_gate.delay(gate_id)


def gate_eval_runs(gate: GateRun) -> list[EvalRun]:
    """The gate's distinct eval runs, baseline first."""
    runs = [gate.baseline_run, gate.candidate_run]
    return [run for i, run in enumerate(runs) if run.pk not in {r.pk for r in runs[:i]}]


def run_gate_inline(
    gate: GateRun, *, on_result: Callable[[], None] | None = None
) -> GateRun:
    """Run the gate's unfinished eval runs in this process, then judge (eager mode)."""
    for run in gate_eval_runs(gate):
        run.refresh_from_db()
        if not run.is_finished:
            actions.run_inline(run, on_result=on_result)
    return complete_gate(gate.pk) or gate


@dataclass(frozen=True)
class GateProgress:
    status: str
    baseline: actions.Progress
    candidate: actions.Progress
    total: actions.Progress

    @property
    def finished(self) -> bool:
        return self.status != GateRun.Status.RUNNING


def gate_progress(gate: GateRun) -> GateProgress:
    baseline = actions.run_progress(gate.baseline_run)
    candidate = actions.run_progress(gate.candidate_run)
    parts = (
        [baseline]
        if gate.baseline_run_id == gate.candidate_run_id
        else [baseline, candidate]
    )
    total = actions.Progress(
        status=gate.status,
        expected=sum(p.expected for p in parts),
        done=sum(p.done for p in parts),
        errors=sum(p.errors for p in parts),
        cached=sum(p.cached for p in parts),
        shards_total=sum(p.shards_total for p in parts),
        shards_done=sum(p.shards_done for p in parts),
        cost_usd=sum(p.cost_usd for p in parts),
    )
    status = (
        GateRun.objects.filter(pk=gate.pk).values_list("status", flat=True).first()
        or gate.status
    )
    return GateProgress(
        status=status, baseline=baseline, candidate=candidate, total=total
    )


def gate_result_rows(gate: GateRun) -> list[ResultRow]:
    return actions.result_rows(gate.baseline_run, arm="baseline") + actions.result_rows(
        gate.candidate_run, arm="candidate"
    )


def complete_gate(gate_id: int) -> GateRun | None:
    """Judge a gate run once both eval runs are finished; cancel it when one was cancelled.

    Safe to run twice and concurrently: the verdict is a pure function of the pinned inputs, and
    only the caller whose conditional UPDATE moves the gate run out of "running" writes the
    verdict to the audit log. Returns the gate run (still running while its eval runs are).
    """
    gate = (
        GateRun.objects.select_related(
            "candidate", "baseline", "suite", "baseline_run", "candidate_run"
        )
        .filter(pk=gate_id)
        .first()
    )
    if gate is None or gate.status != GateRun.Status.RUNNING:
        return gate
    runs = gate_eval_runs(gate)
    for run in runs:  # every shard done but not summed up yet (finalize_run is enqueued after the shard)
        if (
            run.status in (EvalRun.Status.PENDING, EvalRun.Status.RUNNING)
            and not run.shards.exclude(status=RunShard.Status.DONE).exists()
        ):
            actions.finalize_run(run.pk)
            run.refresh_from_db()
    cancelled = [run for run in runs if run.status == EvalRun.Status.CANCELLED]
    if cancelled:
        detail = f"Eval run {cancelled[0].pk} ({cancelled[0].release.name}) was cancelled; start the gate again."
        with transaction.atomic():
            if GateRun.objects.filter(pk=gate.pk, status=GateRun.Status.RUNNING).update(
                status=GateRun.Status.CANCELLED,
                detail=detail,
                finished_at=timezone.now(),
            ):
                releases.record(gate.candidate, ReleaseEvent.Action.GATE, actor=gate.created_by, automatic=True,
                                reason=f"Gate run {gate.pk} cancelled: {detail}", evidence=gate.evidence())  # fmt: skip
        gate.refresh_from_db()
        return gate
    if not all(run.is_finished for run in runs):
        return gate
    report = evaluate_gate(
        parse_policy(gate.policy, source=gate.policy_source or None),
        gate_result_rows(gate),
        seed=gate.seed,
    )
    data = report.to_dict()
    with transaction.atomic():
        won = GateRun.objects.filter(pk=gate.pk, status=GateRun.Status.RUNNING).update(
            status=GateRun.Status.FINISHED, verdict=report.verdict.value, exit_code=report.exit_code, report=data,
            finished_at=timezone.now(),
        )  # fmt: skip
        gate.refresh_from_db()
        if won:
            releases.record(
                gate.candidate, ReleaseEvent.Action.GATE, actor=gate.created_by, automatic=True,
                reason=f"Gate run {gate.pk} against {gate.baseline.name}: {report.verdict.value}. " + "; ".join(report.reasons),
                evidence={**gate.evidence(), "reasons": report.reasons},
            )  # fmt: skip
    return gate


def advance_running_gates() -> int:
    """Periodic safety net: judge every running gate run whose eval runs have ended."""
    count = 0
    for gate_id in GateRun.objects.running().values_list("pk", flat=True):
        gate = complete_gate(gate_id)
        count += gate is not None and gate.status != GateRun.Status.RUNNING
    return count


def gates_for_admin(user: object) -> QuerySet[GateRun]:
    actions.require_admin(user)
    return GateRun.objects.select_related(
        "candidate", "baseline", "suite", "created_by"
    )


def get_gate_for_admin(user: object, gate_id: int) -> GateRun:
    from django.http import Http404

    gate = (
        gates_for_admin(user)
        .select_related("baseline_run", "candidate_run")
        .filter(pk=gate_id)
        .first()
    )
    if gate is None:
        raise Http404
    return gate


def latest_gate(release: Release, *, baseline: Release | None = None) -> GateRun | None:
    """The newest finished gate run of ``release`` against ``baseline`` (default: production now)."""
    baseline = baseline or Release.objects.production()
    if baseline is None:
        return None
    return (
        GateRun.objects.finished().against(baseline).filter(candidate=release, candidate_hash=release.config_hash)
        .select_related("candidate", "baseline", "suite").order_by("-finished_at", "-pk").first()
    )  # fmt: skip


# ---------------------------------------------------------------------------------- promotion


@dataclass(frozen=True)
class Promotion:
    release: Release
    promoted: bool
    override: PromotionOverride | None = None
    evidence: dict[str, Any] = field(default_factory=dict)


def _promotable(release: Release) -> Release:
    from tutor.engine.routing import production_release

    release.refresh_from_db(fields=["state"])
    if release.state not in (Release.State.CANDIDATE, Release.State.CANARY):
        raise Conflict(
            f"{release.name} is {release.get_state_display().lower()}: only a candidate or a canary can be promoted."
        )
    other = (
        Rollout.objects.active()
        .exclude(candidate=release)
        .select_related("candidate")
        .first()
    )
    if other is not None:
        raise Conflict(
            f"A canary of {other.candidate.name} is running: roll it back or promote it first."
        )
    return production_release()


def _canary_evidence(release: Release) -> dict[str, Any]:
    rollout = (
        Rollout.objects.active()
        .filter(candidate=release)
        .select_related("baseline")
        .first()
    )
    if rollout is None:
        return {}
    return {
        "canary": {
            "rollout": rollout.pk,
            "percent": rollout.percent,
            "candidate": asdict(releases.arm_stats(release, rollout.started_at)),
            "control": asdict(releases.arm_stats(rollout.baseline, rollout.started_at)),
        }
    }


def check_gate_evidence(
    release: Release, gate_run: GateRun | None, production: Release
) -> GateRun:
    """The PASS gate run that lets ``release`` replace ``production``; Conflict says what is missing."""
    gate = (
        gate_run if gate_run is not None else latest_gate(release, baseline=production)
    )
    if gate is None:
        raise Conflict(
            f"No finished gate run of {release.name} against production {production.name}: run the gate, "
            "or request an override that a second admin confirms."
        )
    if gate.candidate_id != release.pk or gate.candidate_hash != release.config_hash:
        raise InvalidInput(
            f"Gate run {gate.pk} judged {gate.candidate.name}, not {release.name}."
        )
    if not gate.is_finished:
        raise Conflict(f"Gate run {gate.pk} has not finished yet.")
    if (
        gate.baseline_id != production.pk
        or gate.baseline_hash != production.config_hash
    ):
        raise Conflict(
            f"Gate run {gate.pk} compared {release.name} with {gate.baseline.name}, but production is {production.name}: run the gate again."
        )
    if gate.verdict != GateRun.Verdict.PASS:
        raise Conflict(
            f"Gate run {gate.pk} says {gate.verdict}: promotion needs a PASS against production, "
            "or an override that a second admin confirms."
        )
    return gate


@transaction.atomic
def promote_on_gate(
    admin: User, release: Release, gate_run: GateRun | None = None
) -> Promotion:
    """Promote ``release`` on a PASS gate run against the current production (default: its latest)."""
    _require_admin(admin)
    production = _promotable(release)
    gate = check_gate_evidence(release, gate_run, production)
    evidence = {"kind": "gate", **gate.evidence(), **_canary_evidence(release)}
    _supersede_overrides(release, "Promoted on a PASS gate run.")
    releases.promote_release(
        admin,
        release,
        evidence=evidence,
        reason=f"Gate run {gate.pk}: PASS against {production.name}.",
    )
    return Promotion(release=release, promoted=True, evidence=evidence)


def _supersede_overrides(
    release: Release, why: str, *, only_stale_against: Release | None = None
) -> None:
    pending = PromotionOverride.objects.filter(
        release=release, status=PromotionOverride.Status.PENDING
    )
    if only_stale_against is not None:
        pending = pending.exclude(baseline=only_stale_against)
    pending.update(status=PromotionOverride.Status.SUPERSEDED, closed_reason=why[:200])


@transaction.atomic
def request_override(
    admin: User, release: Release, *, reason: str, gate_run: GateRun | None = None
) -> PromotionOverride:
    """Step one of an override: a written reason to promote without a PASS. Nothing is promoted
    until a second admin confirms it (``confirm_override``)."""
    _require_admin(admin)
    production = _promotable(release)
    reason = (reason or "").strip()
    if len(reason) < MIN_OVERRIDE_REASON:
        raise InvalidInput(
            f"Write why the gate should be overridden (at least {MIN_OVERRIDE_REASON} characters)."
        )
    if gate_run is not None and gate_run.candidate_id != release.pk:
        raise InvalidInput(
            f"Gate run {gate_run.pk} judged {gate_run.candidate.name}, not {release.name}."
        )
    gate = gate_run or latest_gate(release, baseline=production)
    _supersede_overrides(
        release, f"Production is now {production.name}.", only_stale_against=production
    )
    if PromotionOverride.objects.filter(
        release=release, status=PromotionOverride.Status.PENDING
    ).exists():
        raise Conflict(
            f"An override for {release.name} is already waiting for a second admin."
        )
    override = PromotionOverride.objects.create(
        release=release,
        baseline=production,
        gate_run=gate,
        reason=reason,
        requested_by=admin,
    )
    releases.record(
        release, ReleaseEvent.Action.OVERRIDE_REQUESTED, actor=admin, reason=reason,
        evidence={"override": override.pk, "baseline": production.name, "baseline_hash": production.config_hash,
                  "gate": gate.evidence() if gate else None},
    )  # fmt: skip
    return override


@transaction.atomic
def confirm_override(admin: User, override: PromotionOverride) -> Promotion:
    """Step two: a second admin (never the one who asked) confirms, and the release is promoted."""
    _require_admin(admin)
    override = (
        PromotionOverride.objects.select_for_update(of=("self",))
        .select_related("release", "baseline", "requested_by", "gate_run")
        .get(pk=override.pk)
    )
    if not override.is_pending:
        raise Conflict(
            f"This override is {override.get_status_display().lower()}: nothing to confirm."
        )
    if override.requested_by_id == admin.pk:
        raise Forbidden("You requested this override: a second admin must confirm it.")
    release = override.release
    production = _promotable(release)
    if override.baseline_id != production.pk:
        raise Conflict(
            f"Production changed to {production.name} since the override was requested: request it again."
        )
    confirmed = PromotionOverride.objects.filter(
        pk=override.pk, status=PromotionOverride.Status.PENDING
    ).update(
        status=PromotionOverride.Status.CONFIRMED,
        confirmed_by=admin,
        confirmed_at=timezone.now(),
    )
    if not confirmed:
        raise Conflict("This override was confirmed or superseded a moment ago.")
    evidence = {
        "kind": "override",
        "override": override.pk,
        "reason": override.reason,
        "requested_by": override.requested_by.username,
        "requested_at": override.requested_at.isoformat(),
        "confirmed_by": admin.username,
        "baseline": production.name,
        "baseline_hash": production.config_hash,
        "gate": override.gate_run.evidence() if override.gate_run else None,
        **_canary_evidence(release),
    }
    releases.promote_release(
        admin, release, evidence=evidence,
        reason=f"Override requested by {override.requested_by.username}, confirmed by {admin.username}: {override.reason}",
    )  # fmt: skip
    override.refresh_from_db()
    return Promotion(
        release=release, promoted=True, override=override, evidence=evidence
    )


def promote_with_evidence(
    admin: User,
    release: Release,
    gate_run: GateRun | None = None,
    *,
    override_reason: str | None = None,
    confirmed_by: User | None = None,
) -> Promotion:
    """Promote ``release`` with evidence, in one of three ways:

    - no override: on ``gate_run`` (default: its newest finished gate run against production),
      which must be a PASS against the current production;
    - ``override_reason`` alone: ``admin`` requests an override; nothing is promoted yet
      (``Promotion.promoted`` is False, ``Promotion.override`` is the pending request);
    - ``confirmed_by``: that second admin confirms the pending override and the release is
      promoted (``admin`` must be the one who requested it; they cannot confirm it themselves).
    """
    if confirmed_by is None and override_reason is None:
        return promote_on_gate(admin, release, gate_run)
    if confirmed_by is None:
        override = request_override(
            admin, release, reason=override_reason or "", gate_run=gate_run
        )
        return Promotion(release=release, promoted=False, override=override)
    _require_admin(admin)
    if confirmed_by.pk == admin.pk:
        raise Forbidden(
            "An override needs a second admin: you cannot confirm your own request."
        )
    pending = PromotionOverride.objects.filter(
        release=release, status=PromotionOverride.Status.PENDING
    ).first()
    if pending is None and override_reason is not None:
        pending = request_override(
            admin, release, reason=override_reason, gate_run=gate_run
        )
    if pending is None:
        raise Conflict(f"No override for {release.name} is waiting for confirmation.")
    if pending.requested_by_id != admin.pk:
        raise Conflict(
            f"The pending override for {release.name} was requested by {pending.requested_by.username}."
        )
    return confirm_override(confirmed_by, pending)


def pending_override(release: Release) -> PromotionOverride | None:
    return (
        PromotionOverride.objects.filter(release=release, status=PromotionOverride.Status.PENDING)
        .select_related("requested_by", "baseline", "gate_run").first()
    )  # fmt: skip


# ---------------------------------------------------------------------------------- canary


def start_canary_on_gate(
    admin: User,
    candidate: Release,
    *,
    percent: float,
    guardrails: dict[str, Any] | None = None,
) -> Rollout:
    """Start a canary for a candidate whose newest gate run against production is PASS or
    INCONCLUSIVE (a canary gathers the evidence an inconclusive suite could not); the gate run is
    the canary's recorded evidence."""
    _require_admin(admin)
    gate = latest_gate(candidate)
    if gate is None:
        raise Conflict(
            f"Run the gate on {candidate.name} against production before a canary exposes students to it."
        )
    if gate.verdict not in CANARY_VERDICTS:
        raise Conflict(
            f"Gate run {gate.pk} says {gate.verdict}: a candidate that fails the gate never reaches students."
        )
    limits = validate_guardrails(guardrails or {})
    return releases.start_canary(
        admin,
        candidate,
        percent=percent,
        guardrails=limits,
        evidence={"gate": gate.evidence()},
    )


def validate_guardrails(values: dict[str, Any]) -> dict[str, Any]:
    """Known guardrail keys with sane values; InvalidInput names each bad one."""
    problems = [
        f"unknown guardrail {key!r}"
        for key in values
        if key not in releases.DEFAULT_GUARDRAILS
    ]
    clean: dict[str, Any] = {}
    for key, value in values.items():
        if key not in releases.DEFAULT_GUARDRAILS:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            problems.append(f"{key} must be a number >= 0, got {value!r}")
        elif key in ("min_samples", "max_moderation_flags") and int(value) != value:
            problems.append(f"{key} must be a whole number, got {value!r}")
        elif (
            key in ("max_leak_rate", "max_error_rate", "max_thumbs_down_delta")
            and value > 1
        ):
            problems.append(f"{key} is a rate between 0 and 1, got {value!r}")
        else:
            clean[key] = (
                int(value)
                if key in ("min_samples", "max_moderation_flags")
                else float(value)
            )
    if problems:
        raise InvalidInput("Guardrails: " + "; ".join(problems) + ".")
    return clean


def roll_back_canary(admin: User, rollout: Rollout, *, reason: str) -> bool:
    """An admin ends a canary by hand; students return to production at their next turn.
    False when it had already ended. The arms' live figures are kept as the evidence."""
    _require_admin(admin)
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say why the canary is rolled back.")
    evidence = {
        "rollout": rollout.pk,
        "candidate": asdict(releases.arm_stats(rollout.candidate, rollout.started_at)),
        "control": asdict(releases.arm_stats(rollout.baseline, rollout.started_at)),
    }
    return releases.roll_back(rollout, actor=admin, reason=reason, evidence=evidence)


def active_rollout() -> Rollout | None:
    return (
        Rollout.objects.active()
        .select_related("candidate", "baseline", "started_by")
        .first()
    )


def audit_log(*, release: Release | None = None) -> QuerySet[ReleaseEvent]:
    events = ReleaseEvent.objects.select_related("release", "actor")
    return events.filter(release=release) if release is not None else events


def report_json(gate: GateRun) -> dict[str, Any]:
    """The gate's report (``GateReport.to_dict()``) with what the gate run pinned, under "gate"."""
    return {
        **(gate.report or {}),
        "gate": {
            "id": gate.pk,
            "status": gate.status,
            "inputs_hash": gate.inputs_hash,
            "candidate": {
                "name": gate.candidate.name,
                "config_hash": gate.candidate_hash,
            },
            "baseline": {"name": gate.baseline.name, "config_hash": gate.baseline_hash},
            "suite": {
                "label": gate.suite.label,
                "content_hash": gate.suite_hash,
                "n_cases": gate.suite.n_cases,
            },
            "policy": {
                "name": gate.policy_name,
                "content_hash": gate.policy_hash,
                "source": gate.policy_source,
            },
            "repeats": gate.repeats,
            "seed": gate.seed,
            "grader_versions": gate.grader_versions,
            "eval_runs": {
                "baseline": gate.baseline_run_id,
                "candidate": gate.candidate_run_id,
            },
            "created_at": gate.created_at.isoformat(),
            "finished_at": gate.finished_at.isoformat() if gate.finished_at else None,
            "detail": gate.detail,
        },
    }
