"""Admin pages for model releases: the list with states, registering a candidate, running the eval
gate with live progress, the comparison report (forest plot, hard rules, cost and latency, cases
side by side), promotion on a PASS or a second admin's confirmed override, canaries with live arm
figures, rollback, and the audit log.

Admins only: teachers and students get a 404 (``evals.actions.require_admin``). Every write is one
call of ``tutor.releases`` or ``evals.gating``; domain errors become a message on the page.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.core.validators import RegexValidator, URLValidator
from django.db import connections, transaction
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from evals import actions, gating
from evals.models import EvalResult, EvalRun, GateRun, PromotionOverride, Suite
from tutor import releases
from tutor.errors import DomainError
from tutor.models import Release, ReleaseEvent, Rollout, User

CASES_PER_PAGE = 20
EVENTS_PER_PAGE = 50
STATE_ORDER = {"production": 0, "canary": 1, "candidate": 2, "draft": 3, "retired": 4}


def _admin(request: HttpRequest) -> User:
    """The signed-in admin, or a 404 for anyone else."""
    return actions.require_admin(request.user)


def _release(request: HttpRequest, release_id: int) -> Release:
    _admin(request)
    release = Release.objects.filter(pk=release_id).first()
    if release is None:
        raise Http404
    return release


def _rollout(request: HttpRequest, rollout_id: int) -> Rollout:
    _admin(request)
    rollout = (
        Rollout.objects.select_related("candidate", "baseline", "started_by")
        .filter(pk=rollout_id)
        .first()
    )
    if rollout is None:
        raise Http404
    return rollout


def _eager() -> bool:
    from tutor.celery import app

    return bool(app.conf.task_always_eager or settings.CELERY_TASK_ALWAYS_EAGER)


def _judge_in_background(gate_id: int) -> threading.Thread:
    """Without a broker, run the gate's eval runs and judge them in a thread of this process."""

    def work() -> None:
        try:
            gating.run_gate_inline(
                GateRun.objects.select_related("baseline_run", "candidate_run").get(
                    pk=gate_id
                )
            )
        finally:
            connections.close_all()

    thread = threading.Thread(target=work, name=f"gate-run-{gate_id}", daemon=True)
    thread.start()
    return thread


# ---------------------------------------------------------------------------------- releases


@login_required
def release_list(request: HttpRequest) -> HttpResponse:
    _admin(request)
    production = Release.objects.production()
    rows = []
    for release in sorted(
        Release.objects.select_related("created_by"),
        key=lambda r: (STATE_ORDER.get(r.state, 9), r.name),
    ):
        latest = (
            gating.latest_gate(release, baseline=production)
            if production and release != production
            else None
        )
        rows.append({"release": release, "gate": latest})
    context = {
        "rows": rows,
        "production": production,
        "rollout": gating.active_rollout(),
    }
    return render(request, "frontend/releases/list.html", context)


class ReleaseForm(forms.Form):
    name = forms.SlugField(
        max_length=80,
        help_text="Letters, digits and hyphens, e.g. gpt-4o-mini-2024-07-18-v3. A release never changes: a new config is a new name.",
    )
    backend = forms.ChoiceField(choices=())
    model = forms.CharField(
        max_length=200, help_text="The pinned model id the backend is called with."
    )
    base_url = forms.CharField(max_length=300, required=False, label="Base URL", validators=[URLValidator(schemes=["http", "https"])],
                               help_text="For OpenAI-compatible servers; empty for the default.")  # fmt: skip
    api_key_env = forms.CharField(
        max_length=80, required=False, label="API key environment variable",
        validators=[RegexValidator(r"^[A-Z_][A-Z0-9_]*$", "Use the variable's NAME in capitals (e.g. OPENAI_API_KEY), never the key itself.")],
        help_text="The name of the environment variable that holds the key. Keys are never stored.",
    )  # fmt: skip
    prompt_version = forms.ChoiceField(choices=())
    params = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Parameters (JSON)",
        help_text='A JSON object, e.g. {"temperature": 0.3, "max_tokens": 300}.',
    )  # fmt: skip
    description = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 2})
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from tutor.engine.prompts import available_prompt_versions
        from tutor.providers import loaded_backends

        super().__init__(*args, **kwargs)
        backends = sorted({"openai", *loaded_backends()})
        cast(forms.ChoiceField, self.fields["backend"]).choices = [
            (b, b) for b in backends
        ]
        cast(forms.ChoiceField, self.fields["prompt_version"]).choices = [
            (v, v) for v in available_prompt_versions()
        ]

    def clean_name(self) -> str:
        name: str = self.cleaned_data["name"]
        if Release.objects.filter(name=name).exists():
            raise forms.ValidationError(
                "A release with this name exists already: releases are immutable, pick a new name."
            )
        return name

    def clean_params(self) -> dict[str, Any]:
        text = (self.cleaned_data.get("params") or "").strip()
        if not text:
            return {}
        try:
            value = json.loads(text)
        except json.JSONDecodeError as error:
            raise forms.ValidationError(
                f"Not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})."
            ) from error
        if not isinstance(value, dict):
            raise forms.ValidationError(
                'Parameters must be a JSON object, e.g. {"temperature": 0.3}.'
            )
        return value


@login_required
def new_release(request: HttpRequest) -> HttpResponse:
    admin = _admin(request)
    form = ReleaseForm(
        request.POST or None,
        initial={"backend": "openai", "prompt_version": "socratic-v1"},
    )
    if request.method == "POST" and form.is_valid():
        try:
            release = releases.register_release(admin, **form.cleaned_data)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request,
                f"Registered {release.name} as a candidate. Run the gate to compare it with production.",
            )
            return redirect("release", release.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "frontend/releases/new.html", {"form": form}, status=status)


class GateForm(forms.Form):
    policy = forms.ChoiceField(
        choices=(),
        help_text="The pass bar, fixed before the run: its content hash is recorded.",
    )
    suite = forms.ModelChoiceField(
        queryset=Suite.objects.none(),
        required=False,
        empty_label="The policy's suite (newest version)",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.policies = gating.available_policies()
        cast(forms.ChoiceField, self.fields["policy"]).choices = [
            (key, f"{p.name} ({key}.yaml: suite {p.suite}, {p.repeats} repeat(s))")
            for key, p in self.policies.items()
        ]
        self.fields["policy"].initial = (
            gating.DEFAULT_POLICY
            if gating.DEFAULT_POLICY in self.policies
            else next(iter(self.policies), None)
        )
        suite = self.fields["suite"]
        suite.queryset = Suite.objects.all()  # type: ignore[attr-defined]
        suite.label_from_instance = lambda obj: f"{obj.label} ({obj.n_cases} cases)"  # type: ignore[attr-defined]


class OverrideForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), min_length=gating.MIN_OVERRIDE_REASON,
        help_text="Why this release should reach production without a PASS. A second admin must confirm it.",
    )  # fmt: skip


class CanaryForm(forms.Form):
    percent = forms.FloatField(
        min_value=0.1,
        max_value=50,
        initial=5,
        help_text="Share of students the candidate answers (sticky per student).",
    )
    min_samples = forms.IntegerField(
        min_value=1, label="Minimum replies before soft guardrails judge"
    )
    max_leak_rate = forms.FloatField(
        min_value=0, max_value=1, label="Maximum answer-leak rate"
    )
    max_error_rate = forms.FloatField(
        min_value=0, max_value=1, label="Maximum provider error rate"
    )
    max_moderation_flags = forms.IntegerField(
        min_value=0, label="Maximum moderation flags"
    )
    max_thumbs_down_delta = forms.FloatField(
        min_value=0, max_value=1, label="Maximum thumbs-down rate above control"
    )
    max_p95_latency_ratio = forms.FloatField(
        min_value=1, label="Maximum p95 latency over control"
    )

    def guardrails(self) -> dict[str, Any]:
        return {key: self.cleaned_data[key] for key in releases.DEFAULT_GUARDRAILS}


def canary_form(data: Mapping[str, Any] | None = None) -> CanaryForm:
    return CanaryForm(data, initial={"percent": 5, **releases.DEFAULT_GUARDRAILS})


def _with_evidence(events: Iterable[ReleaseEvent]) -> list[ReleaseEvent]:
    rows = list(events)
    for event in rows:
        text = (
            json.dumps(event.evidence, indent=2, sort_keys=True)
            if event.evidence
            else ""
        )
        event.evidence_json = text  # type: ignore[attr-defined]
    return rows


def _decision(
    release: Release, production: Release | None, user: User
) -> dict[str, Any]:
    """What the promote and canary controls should offer for ``release`` right now."""
    gate = (
        gating.latest_gate(release, baseline=production)
        if production and release != production
        else None
    )
    promotable = release.state in (Release.State.CANDIDATE, Release.State.CANARY)
    rollout = gating.active_rollout()
    other_canary = (
        rollout if rollout is not None and rollout.candidate_id != release.pk else None
    )
    if not promotable:
        refusal = f"{release.name} is {release.get_state_display().lower()}: only a candidate or a canary can be promoted."
    elif other_canary is not None:
        refusal = f"A canary of {other_canary.candidate.name} is running: roll it back or promote it first."
    elif gate is None:
        refusal = f"No finished gate run against production {production.name if production else ''}: run the gate first, or request an override."
    elif gate.verdict != GateRun.Verdict.PASS:
        refusal = f"Promotion refused: gate run {gate.pk} says {gate.verdict}. Promotion needs a PASS against production, or an override that a second admin confirms."
    else:
        refusal = ""
    override = gating.pending_override(release)
    return {
        "latest_gate": gate,
        "eligible": promotable,
        "promotable": promotable and other_canary is None,
        "can_promote": promotable and not refusal,
        "refusal": refusal,
        "override": override,
        "can_confirm": override is not None and override.requested_by_id != user.pk,
        "canary_allowed": promotable
        and rollout is None
        and gate is not None
        and gate.verdict in gating.CANARY_VERDICTS,
        "rollout": rollout
        if rollout is not None and rollout.candidate_id == release.pk
        else None,
        "other_canary": other_canary,
    }


@login_required
def release_detail(request: HttpRequest, release_id: int) -> HttpResponse:
    release = _release(request, release_id)
    user = _admin(request)
    production = Release.objects.production()
    gates = GateRun.objects.filter(candidate=release).select_related(
        "baseline", "suite"
    )[:20]
    context = {
        "release": release,
        "production": production,
        "config": json.dumps(release.params, indent=2, sort_keys=True),
        "gates": gates,
        "gate_form": GateForm(),
        "override_form": OverrideForm(),
        "canary_form": canary_form(),
        "events": _with_evidence(gating.audit_log(release=release)[:20]),
        **_decision(release, production, user),
    }
    return render(request, "frontend/releases/detail.html", context)


@login_required
@require_POST
def start_gate(request: HttpRequest, release_id: int) -> HttpResponse:
    release = _release(request, release_id)
    admin = _admin(request)
    form = GateForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick a policy listed in the form.")
        return redirect("release", release.pk)
    eager = _eager()
    try:
        gate = gating.start_gate(
            admin,
            release,
            policy=form.cleaned_data["policy"],
            suite=form.cleaned_data["suite"],
            enqueue=not eager,
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("release", release.pk)
    if eager and gate.status == GateRun.Status.RUNNING:
        transaction.on_commit(lambda: _judge_in_background(gate.pk))
    return redirect("gate-run", gate.pk)


# ---------------------------------------------------------------------------------- gate runs


def _fmt_number(value: float | None) -> str:
    return "unbounded" if value is None else f"{value:+.3f}"


def forest_plot(report: Mapping[str, Any]) -> dict[str, Any]:
    """Coordinates for the server-side SVG forest plot: one row per primary metric and slice, the
    mean paired difference with its interval, the row's margin and zero. Unbounded intervals run to
    the edge."""
    items = [
        {"label": p["metric"], "kind": "primary", **{k: p.get(k) for k in ("diff", "ci_low", "ci_high", "margin", "status")}, "n": p["n_cases"]}
        for p in report.get("primary", [])
    ] + [
        {"label": f"{s['tag']}={s['value']}", "kind": "slice", **{k: s.get(k) for k in ("diff", "ci_low", "ci_high", "margin", "status")}, "n": s["n_cases"]}
        for s in report.get("slices", [])
    ]  # fmt: skip
    finite = [
        v
        for item in items
        for v in (item["ci_low"], item["ci_high"], item["diff"])
        if v is not None and math.isfinite(v)
    ]
    margins = [item["margin"] for item in items]
    low = min([0.0, *finite, *(-m for m in margins)]) if items else -0.1
    high = max([0.0, *finite, *margins[:1]]) if items else 0.1
    pad = max(0.01, (high - low) * 0.08)
    low, high = low - pad, high + pad
    width, label_w, right_pad, row_h, top = 640, 190, 20, 26, 30
    plot_w = width - label_w - right_pad

    def x(value: float) -> float:
        return round(
            label_w + (min(max(value, low), high) - low) / (high - low) * plot_w, 1
        )

    step = next(
        (s for s in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5) if (high - low) / s <= 8),
        1.0,
    )
    ticks = [
        {"x": x(t * step), "label": f"{t * step:+.2f}".replace("+0.00", "0")}
        for t in range(math.ceil(low / step), math.floor(high / step) + 1)
    ]
    rows = []
    for i, item in enumerate(items):
        y = top + i * row_h + row_h / 2
        lo, hi, diff = item["ci_low"], item["ci_high"], item["diff"]
        rows.append({
            **item,
            "y": y,
            "x_low": x(lo) if lo is not None else x(low),
            "x_high": x(hi) if hi is not None else x(high),
            "x_diff": x(diff) if diff is not None else None,
            "x_margin": x(-item["margin"]),
            "tick_y1": y - 9,
            "tick_y2": y + 9,
            "open_low": lo is None or lo < low,
            "open_high": hi is None or hi > high,
            "summary": f"{item['label']}: diff {_fmt_number(diff)}, CI {_fmt_number(lo)} to {_fmt_number(hi)}, margin -{item['margin']:g}, {item['status']}, n={item['n']}",
        })  # fmt: skip
    height = top + len(items) * row_h + 12
    confidence = (report.get("primary") or [{}])[0].get("confidence") or 0.95
    return {
        "width": width, "height": height, "rows": rows, "ticks": ticks, "x_zero": x(0.0), "grid_top": top - 6,
        "tick_y": top - 12, "bottom": height - 8, "label_x": label_w - 8, "confidence": f"{confidence:.0%}",
    }  # fmt: skip


def _grade_rows(result: EvalResult | None) -> list[dict[str, Any]]:
    if result is None or result.error_kind:
        return []
    rows = []
    for name, grade in sorted(result.grades.items()):
        passed = grade.get("passed")
        rows.append(
            {
                "name": name,
                "outcome": "n/a" if passed is None else ("pass" if passed else "fail"),
                "score": grade.get("score"),
                "label": grade.get("label"),
            }
        )
    return rows


def _reply(result: EvalResult | None) -> dict[str, Any]:
    if result is None:
        return {"text": "", "missing": True, "grades": []}
    text = (
        f"{result.error_kind}: {result.error}" if result.error_kind else result.response
    )
    return {
        "text": text,
        "error": bool(result.error_kind),
        "missing": False,
        "grades": _grade_rows(result),
        "metrics": result.metrics,
    }


def case_rows(gate: GateRun, cases: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The report's case rows (worst regression first) with both arms' first replies and grades."""
    keys = [c["case_id"] for c in cases]
    first: dict[tuple[int, str], EvalResult] = {}
    results = EvalResult.objects.filter(
        run_id__in=[gate.baseline_run_id, gate.candidate_run_id], case_key__in=keys
    ).select_related("case")
    for result in results.order_by("repeat"):
        first.setdefault((result.run_id, result.case_key), result)
    rows = []
    for case in cases:
        metric = case["metrics"][0] if case["metrics"] else {}
        base = first.get((gate.baseline_run_id, case["case_id"]))
        cand = first.get((gate.candidate_run_id, case["case_id"]))
        any_result = base or cand
        rows.append({
            "case_id": case["case_id"],
            "scenario": any_result.case.scenario if any_result else "",
            "metric": metric.get("metric"),
            "diff": metric.get("diff"),
            "arms": [
                (f"Baseline: {gate.baseline.name}", _reply(base), metric.get("baseline_mean")),
                (f"Candidate: {gate.candidate.name}", _reply(cand), metric.get("candidate_mean")),
            ],
        })  # fmt: skip
    return rows


def _arm_cost(run: EvalRun) -> dict[str, Any]:
    return {
        "release": run.release.name, "run": run, "cost": float(run.cost_usd), "paid": float(run.cost_paid_usd),
        "per_turn": float(run.cost_usd) / run.n_results if run.n_results else None,
        "p50": run.latency_ms_p50, "p95": run.latency_ms_p95, "results": run.n_results, "errors": run.n_errors,
    }  # fmt: skip


@login_required
def gate_detail(request: HttpRequest, gate_id: int) -> HttpResponse:
    user = _admin(request)
    gate = gating.get_gate_for_admin(user, gate_id)
    progress = gating.gate_progress(gate)
    context: dict[str, Any] = {"gate": gate, "progress": progress}
    if gate.is_finished:
        report = gate.report
        cases = Paginator(report.get("cases", []), CASES_PER_PAGE).get_page(
            request.GET.get("page")
        )
        production = Release.objects.production()
        context.update(
            report=report,
            plot=forest_plot(report),
            cases=cases,
            case_rows=case_rows(gate, list(cases)),
            arms=[_arm_cost(gate.baseline_run), _arm_cost(gate.candidate_run)],
            errors=[
                {
                    **e,
                    "pct": f"{e['error_rate']:.1%}",
                    "limit_pct": f"{e['max_error_rate']:.1%}",
                }
                for e in report.get("errors", [])
            ],
            is_current=production is not None
            and gate.baseline_id == production.pk
            and gate.baseline_hash == production.config_hash,
            **_decision(gate.candidate, production, user),
        )
    return render(request, "frontend/releases/gate.html", context)


@login_required
def gate_progress(request: HttpRequest, gate_id: int) -> HttpResponse:
    """The progress partial, polled every second by htmx; reloads the page when the gate is judged."""
    gate = gating.get_gate_for_admin(_admin(request), gate_id)
    progress = gating.gate_progress(gate)
    response = render(
        request,
        "frontend/releases/_gate_progress.html",
        {"gate": gate, "progress": progress},
    )
    if progress.finished and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"
    return response


@login_required
def gate_report_json(request: HttpRequest, gate_id: int) -> JsonResponse:
    gate = gating.get_gate_for_admin(_admin(request), gate_id)
    return JsonResponse(
        gating.report_json(gate), json_dumps_params={"indent": 2, "sort_keys": True}
    )


# ---------------------------------------------------------------------------------- decisions


@login_required
@require_POST
def promote(request: HttpRequest, release_id: int) -> HttpResponse:
    release = _release(request, release_id)
    admin = _admin(request)
    gate = GateRun.objects.filter(
        pk=request.POST.get("gate_run") or 0, candidate=release
    ).first()
    try:
        gating.promote_with_evidence(admin, release, gate)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"{release.name} is now in production.")
    return redirect("release", release.pk)


@login_required
@require_POST
def request_override(request: HttpRequest, release_id: int) -> HttpResponse:
    release = _release(request, release_id)
    admin = _admin(request)
    form = OverrideForm(request.POST)
    if not form.is_valid():
        messages.error(
            request,
            f"Write why the gate should be overridden (at least {gating.MIN_OVERRIDE_REASON} characters).",
        )
        return redirect("release", release.pk)
    try:
        gating.promote_with_evidence(
            admin, release, override_reason=form.cleaned_data["reason"]
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            "Override requested. A second admin must confirm it before anything changes.",
        )
    return redirect("release", release.pk)


@login_required
@require_POST
def confirm_override(request: HttpRequest, override_id: int) -> HttpResponse:
    admin = _admin(request)
    override = (
        PromotionOverride.objects.select_related("release")
        .filter(pk=override_id)
        .first()
    )
    if override is None:
        raise Http404
    try:
        gating.confirm_override(admin, override)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            f"Override confirmed: {override.release.name} is now in production.",
        )
    return redirect("release", override.release_id)


@login_required
@require_POST
def start_canary(request: HttpRequest, release_id: int) -> HttpResponse:
    release = _release(request, release_id)
    admin = _admin(request)
    form = canary_form(request.POST)
    if not form.is_valid():
        problems = "; ".join(
            f"{form[name].label}: {' '.join(str(e) for e in errors)}"
            for name, errors in form.errors.items()
            if name in form.fields
        )
        messages.error(request, f"Canary not started. {problems}")
        return redirect("release", release.pk)
    try:
        rollout = gating.start_canary_on_gate(
            admin,
            release,
            percent=form.cleaned_data["percent"],
            guardrails=form.guardrails(),
        )
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("release", release.pk)
    messages.success(
        request, f"Canary started: {rollout.percent:g}% of students get {release.name}."
    )
    return redirect("canary", rollout.pk)


def _canary_context(rollout: Rollout) -> dict[str, Any]:
    limits = {**releases.DEFAULT_GUARDRAILS, **rollout.guardrails}
    canary = releases.arm_stats(rollout.candidate, rollout.started_at)
    control = releases.arm_stats(rollout.baseline, rollout.started_at)
    return {
        "rollout": rollout,
        "canary": asdict(canary),
        "control": asdict(control),
        "limits": limits,
        "tripped": releases.tripped_guardrails(canary, control, limits)
        if rollout.state == Rollout.State.ACTIVE
        else [],
        "active": rollout.state == Rollout.State.ACTIVE,
        "poll_seconds": 5,
    }


@login_required
def canary_detail(request: HttpRequest, rollout_id: int) -> HttpResponse:
    rollout = _rollout(request, rollout_id)
    events = _with_evidence(
        ReleaseEvent.objects.filter(
            release=rollout.candidate, created_at__gte=rollout.started_at
        ).select_related("actor")[:20]
    )
    return render(
        request,
        "frontend/releases/canary.html",
        {**_canary_context(rollout), "events": events},
    )


@login_required
def canary_stats(request: HttpRequest, rollout_id: int) -> HttpResponse:
    """The live arm figures, polled by htmx while the canary runs; reloads the page when it ends."""
    rollout = _rollout(request, rollout_id)
    response = render(
        request, "frontend/releases/_canary_stats.html", _canary_context(rollout)
    )
    if rollout.state != Rollout.State.ACTIVE and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"
    return response


@login_required
@require_POST
def roll_back(request: HttpRequest, rollout_id: int) -> HttpResponse:
    rollout = _rollout(request, rollout_id)
    admin = _admin(request)
    try:
        ended = gating.roll_back_canary(
            admin, rollout, reason=request.POST.get("reason", "")
        )
    except DomainError as error:
        messages.error(request, error.message)
    else:
        if ended:
            messages.success(
                request,
                f"Rolled back: students are answered by {rollout.baseline.name} again.",
            )
        else:
            messages.error(request, "This canary had already ended.")
    return redirect("canary", rollout.pk)


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    _admin(request)
    events = gating.audit_log()
    release_name = request.GET.get("release", "")
    if release_name:
        events = events.filter(release__name=release_name)
    page = Paginator(events, EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    page.object_list = _with_evidence(page.object_list)
    names = Release.objects.order_by("name").values_list("name", flat=True)
    return render(
        request,
        "frontend/releases/audit.html",
        {"page": page, "release_name": release_name, "names": names},
    )
