"""Django admin for evals: read-only views of suites, cases, runs, results, the response cache and
replay recordings (they are written by actions only), plus run actions (resume, cancel) and an
action for the Flag admin that turns flagged turns into eval cases."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest

from evals import actions
from evals.models import (
    CachedResponse,
    Case,
    EvalResult,
    EvalRun,
    ReplayResponse,
    RunShard,
    Suite,
)
from tutor.errors import DomainError
from tutor.models import User


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class CaseInline(admin.TabularInline):
    model = Case
    extra = 0
    fields = ("position", "case_id", "scenario", "content_hash")
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Suite)
class SuiteAdmin(ReadOnlyAdmin):
    list_display = ("name", "version", "n_cases", "short_hash", "source", "created_at")
    list_filter = ("name",)
    search_fields = ("name", "description")
    inlines = [CaseInline]

    @admin.display(description="hash")
    def short_hash(self, suite: Suite) -> str:
        return suite.content_hash[:12]


@admin.register(Case)
class CaseAdmin(ReadOnlyAdmin):
    list_display = ("case_id", "suite", "scenario", "position")
    list_filter = ("suite", "scenario")
    search_fields = ("case_id",)


class ShardInline(admin.TabularInline):
    model = RunShard
    extra = 0
    fields = ("index", "start", "end", "status", "claimed_by", "heartbeat_at", "attempts", "finished_at")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(EvalRun)
class EvalRunAdmin(ReadOnlyAdmin):
    list_display = ("id", "suite", "release", "repeats", "status", "n_results", "n_expected", "n_errors", "cost_usd", "created_at")
    list_filter = ("status", "release", "suite")
    inlines = [ShardInline]
    actions = ["resume", "cancel", "refresh_totals"]

    @admin.action(description="Resume: re-enqueue stalled and pending shards")
    def resume(self, request: HttpRequest, queryset) -> None:
        for run in queryset:
            actions.resume_run(run)
        messages.success(request, f"Resumed {queryset.count()} run(s).")

    @admin.action(description="Cancel: stop claiming shards")
    def cancel(self, request: HttpRequest, queryset) -> None:
        cancelled = sum(actions.cancel_run(run) for run in queryset)
        messages.success(request, f"Cancelled {cancelled} run(s).")

    @admin.action(description="Recompute totals")
    def refresh_totals(self, request: HttpRequest, queryset) -> None:
        for run in queryset:
            actions.finalize_run(run.pk)
        messages.success(request, "Totals recomputed.")


@admin.register(EvalResult)
class EvalResultAdmin(ReadOnlyAdmin):
    list_display = ("run", "case_key", "repeat", "source", "error_kind", "latency_ms", "cost_usd")
    list_filter = ("source", "error_kind")
    search_fields = ("case_key",)
    raw_id_fields = ("run", "case")


@admin.register(CachedResponse)
class CachedResponseAdmin(ReadOnlyAdmin):
    list_display = ("release_hash", "case_hash", "repeat", "model", "latency_ms", "cost_usd", "created_at")
    search_fields = ("release_hash", "case_hash")


@admin.register(ReplayResponse)
class ReplayResponseAdmin(ReadOnlyAdmin):
    list_display = ("release_name", "case_id", "source", "created_at")
    list_filter = ("release_name",)
    search_fields = ("case_id", "text")


@admin.action(description="Turn into eval cases (suite: flagged)")
def make_eval_cases(modeladmin, request: HttpRequest, queryset) -> None:
    """For the Flag admin (``actions = [make_eval_cases]``): the selected flags become cases."""
    user = request.user if isinstance(request.user, User) and request.user.is_org_admin else None
    try:
        registered = actions.import_flagged_as_cases(list(queryset), "flagged", user=user)
    except DomainError as error:
        messages.error(request, error.message)
        return
    messages.success(request, f"{registered.suite.label} now has {registered.suite.n_cases} cases.")
