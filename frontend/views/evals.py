"""Admin pages for evals: runs, start a run, a run with a live progress bar and its per-case
results, one case's responses with every grader outcome, and importing flagged turns as cases.

Admins only: teachers and students get a 404 (``evals.actions.require_admin``).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from statistics import fmean
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.db import connections, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from evals import actions
from evals.cases import case_from_json
from evals.models import EvalResult, EvalRun, Suite
from tutor.errors import DomainError
from tutor.models import Flag, Release, User

CASES_PER_PAGE = 50
HEADLINE = ("pedagogy_score", "answer_leak", "safety_violation", "guard_would_replace")


def _admin(request: HttpRequest) -> User:
    """The signed-in admin, or a 404 for anyone else."""
    return actions.require_admin(request.user)


def _eager() -> bool:
    from tutor.celery import app

    return bool(app.conf.task_always_eager or settings.CELERY_TASK_ALWAYS_EAGER)


def _run_in_background(run_id: int) -> threading.Thread:
    """Without a broker, run the shards in a thread of this process so the page can follow them."""

    def work() -> None:
        try:
            actions.run_inline(EvalRun.objects.get(pk=run_id))
        finally:
            connections.close_all()

    thread = threading.Thread(target=work, name=f"eval-run-{run_id}", daemon=True)
    thread.start()
    return thread


@login_required
def runs(request: HttpRequest) -> HttpResponse:
    all_runs = actions.runs_visible_to(_admin(request))
    page = Paginator(all_runs, 25).get_page(request.GET.get("page"))
    rows = [{"run": run, "progress": actions.run_progress(run)} for run in page]
    suites = Suite.objects.latest_versions()
    return render(request, "frontend/evals/runs.html", {"page": page, "rows": rows, "suites": suites})


class RunForm(forms.Form):
    suite = forms.ModelChoiceField(queryset=Suite.objects.none(), empty_label=None, help_text="A suite version; its content hash is pinned by the run.")
    release = forms.ModelChoiceField(queryset=Release.objects.none(), empty_label=None, to_field_name="name")
    repeats = forms.IntegerField(min_value=1, max_value=actions.MAX_REPEATS, initial=1, help_text="Responses per case.")
    concurrency = forms.IntegerField(min_value=1, max_value=64, initial=actions.DEFAULT_CONCURRENCY, help_text="Model calls in flight per shard.")
    use_cache = forms.BooleanField(required=False, initial=True, label="Reuse cached responses", help_text="Responses this release already gave for the same case and repeat are not paid for again.")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        suite = cast(forms.ModelChoiceField, self.fields["suite"])
        suite.queryset = Suite.objects.all()
        suite.label_from_instance = lambda obj: f"{obj.label} ({obj.n_cases} cases, {obj.content_hash[:8]})"  # type: ignore[method-assign]
        release = cast(forms.ModelChoiceField, self.fields["release"])
        release.queryset = Release.objects.order_by("name")
        release.label_from_instance = lambda obj: f"{obj.name} ({obj.backend}, {obj.get_state_display().lower()})"  # type: ignore[method-assign]


@login_required
def new_run(request: HttpRequest) -> HttpResponse:
    user = _admin(request)
    actions.get_release("offline-v1")  # the built-in tutor is always there to evaluate
    initial = {"suite": Suite.objects.latest_versions().filter(name="pedagogy-core").first()}
    form = RunForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        eager = _eager()
        try:
            run = actions.start_eval_run(
                data["suite"], data["release"], data["repeats"], user=user,
                concurrency=data["concurrency"], use_cache=data["use_cache"], enqueue=not eager,
            )  # fmt: skip
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            if eager:
                transaction.on_commit(lambda: _run_in_background(run.pk))
            messages.success(request, f"Started run {run.pk}: {run.suite.label} on {run.release.name}.")
            return redirect("eval-run", run.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "frontend/evals/new_run.html", {"form": form}, status=status)


def _case_rows(run: EvalRun, results: list[EvalResult]) -> list[dict[str, Any]]:
    by_case: dict[int, list[EvalResult]] = defaultdict(list)
    for result in results:
        by_case[result.case_id].append(result)
    rows = []
    for repeats in by_case.values():
        answered = [r for r in repeats if not r.error_kind]

        def mean(metric: str, answered: list[EvalResult] = answered) -> float | None:
            values = [r.metrics[metric] for r in answered if metric in r.metrics]
            return fmean(values) if values else None

        first = repeats[0]
        rows.append(
            {
                "case_key": first.case_key,
                "scenario": first.case.scenario,
                "tags": first.case.tags,
                "n": len(repeats),
                "errors": len(repeats) - len(answered),
                "pedagogy_score": mean("pedagogy_score"),
                "answer_leak": mean("answer_leak"),
                "safety_violation": mean("safety_violation"),
                "response": first.response if not first.error_kind else f"{first.error_kind}: {first.error}",
            }
        )
    return rows


@login_required
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = actions.get_run_for_admin(_admin(request), run_id)
    progress = actions.run_progress(run)
    results = EvalResult.objects.filter(run=run).select_related("case").order_by("case__position", "repeat")
    scenario = request.GET.get("scenario", "")
    show = request.GET.get("show", "")
    if scenario:
        results = results.filter(case__scenario=scenario)
    rows = _case_rows(run, list(results))
    if show == "problems":
        rows = [r for r in rows if r["errors"] or (r["answer_leak"] or 0) > 0 or (r["safety_violation"] or 0) > 0]
    page = Paginator(rows, CASES_PER_PAGE).get_page(request.GET.get("page"))
    summary = run.summary or {}
    metrics = summary.get("metrics", {})
    ordered = [(m, metrics[m]) for m in HEADLINE if m in metrics] + sorted((m, v) for m, v in metrics.items() if m not in HEADLINE)
    context = {
        "run": run,
        "progress": progress,
        "page": page,
        "metrics": ordered,
        "scenarios": summary.get("scenarios", {}),
        "scenario_names": sorted(set(run.suite.cases.values_list("scenario", flat=True))),
        "scenario": scenario,
        "show": show,
    }
    return render(request, "frontend/evals/run.html", context)


@login_required
def run_progress(request: HttpRequest, run_id: int) -> HttpResponse:
    """The progress bar partial, polled every second by htmx; reloads the page when the run ends."""
    run = actions.get_run_for_admin(_admin(request), run_id)
    progress = actions.run_progress(run)
    response = render(request, "frontend/evals/_progress.html", {"run": run, "progress": progress})
    if progress.finished and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"  # show the results
    return response


@login_required
@require_POST
def resume(request: HttpRequest, run_id: int) -> HttpResponse:
    run = actions.get_run_for_admin(_admin(request), run_id)
    if _eager():
        actions.resume_run(run)
        transaction.on_commit(lambda: _run_in_background(run.pk))
        messages.success(request, "Resuming the run here.")
    else:
        pending = actions.resume_run(run)
        messages.success(request, f"Re-enqueued {len(pending)} shard(s)." if pending else "Nothing to resume: every shard is running or done.")
    return redirect("eval-run", run.pk)


@login_required
def case_detail(request: HttpRequest, run_id: int, case_key: str) -> HttpResponse:
    run = actions.get_run_for_admin(_admin(request), run_id)
    row = run.suite.cases.filter(case_id=case_key).first()
    if row is None:
        raise Http404
    results = list(EvalResult.objects.filter(run=run, case=row).order_by("repeat"))
    for result in results:
        result.grade_rows = sorted(result.grades.items())  # type: ignore[attr-defined]
        result.metric_rows = sorted(result.metrics.items())  # type: ignore[attr-defined]
    case = case_from_json(row.data)
    return render(request, "frontend/evals/case.html", {"run": run, "row": row, "case": case, "results": results})


@login_required
def flagged(request: HttpRequest) -> HttpResponse:
    """Pick flagged turns (moderation, distress, answer-leak guard, thumbs down) and make them cases."""
    user = _admin(request)
    flags = actions.flags_visible_to(user).unresolved().select_related("session__problem", "message")
    if request.method == "POST":
        ids = [int(i) for i in request.POST.getlist("flag") if i.isdigit()]
        suite = request.POST.get("suite", "").strip() or "flagged"
        try:
            registered = actions.import_flagged_as_cases(ids, suite, user=user)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            suite_obj = registered.suite
            messages.success(request, f"{suite_obj.label} now has {suite_obj.n_cases} cases.")
            return redirect("eval-runs")
    return render(request, "frontend/evals/flagged.html", {"flags": flags[:200], "kinds": Flag.Kind.choices})
