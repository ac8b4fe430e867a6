"""Admin for all curriculum content. Files stay the source of truth (import_curriculum); an edit
made here to a problem's content still gets a new version and a ProblemRevision."""

from django.contrib import admin
from django.db.models import Count
from django.http import HttpRequest

from curriculum.importer import record_problem_revision
from curriculum.models import Course, Problem, ProblemRevision, Skill, Unit


class RetiredFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("active", "Active"), ("retired", "Retired")]

    def queryset(self, request, queryset):
        if self.value() == "active":
            return queryset.filter(retired_at__isnull=True)
        if self.value() == "retired":
            return queryset.filter(retired_at__isnull=False)
        return queryset


class UnitInline(admin.TabularInline):
    model = Unit
    extra = 0
    fields = ("code", "title", "position", "retired_at")
    show_change_link = True


@admin.register(Course)
class CourseAdmin(admin.ModelAdmin):
    list_display = (
        "title",
        "code",
        "version",
        "language",
        "grade_band",
        "imported_at",
        "retired_at",
    )
    list_filter = (RetiredFilter, "language")
    search_fields = ("code", "title")
    readonly_fields = ("content_hash", "imported_at")
    inlines = [UnitInline]


class SkillInline(admin.TabularInline):
    model = Skill
    extra = 0
    fields = ("code", "name", "position", "retired_at")
    show_change_link = True


@admin.register(Unit)
class UnitAdmin(admin.ModelAdmin):
    list_display = ("title", "code", "course", "position", "retired_at")
    list_filter = (RetiredFilter, "course")
    search_fields = ("code", "title")
    inlines = [SkillInline]

    def get_inline_instances(self, request, obj=None):
        return super().get_inline_instances(request, obj) if obj else []


@admin.register(Skill)
class SkillAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "code",
        "course",
        "unit",
        "position",
        "n_problems",
        "bkt_prior",
        "bkt_fitted_at",
        "retired_at",
    )
    list_filter = (RetiredFilter, "course", "unit")
    search_fields = ("code", "name", "description")
    filter_horizontal = ("prerequisites",)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "course",
                    "unit",
                    "code",
                    "name",
                    "description",
                    "position",
                    "retired_at",
                )
            },
        ),
        ("Prerequisites", {"fields": ("prerequisites",)}),
        ("Lesson", {"fields": ("lesson",)}),
        (
            "Bayesian Knowledge Tracing",
            {
                "fields": (
                    "bkt_prior",
                    "bkt_learn",
                    "bkt_guess",
                    "bkt_slip",
                    "bkt_forget",
                    "bkt_fitted_at",
                    "bkt_fit_attempts",
                )
            },
        ),
    )
    readonly_fields = ("bkt_fitted_at", "bkt_fit_attempts")

    def get_queryset(self, request: HttpRequest):
        return (
            super()
            .get_queryset(request)
            .select_related("course", "unit")
            .annotate(problem_count=Count("problems"))
        )

    @admin.display(description="Problems", ordering="problem_count")
    def n_problems(self, skill: Skill) -> int:
        return getattr(skill, "problem_count", 0)


class ProblemRevisionInline(admin.TabularInline):
    model = ProblemRevision
    extra = 0
    fields = ("version", "content_hash", "created_at")
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Problem)
class ProblemAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "skill",
        "position",
        "kind",
        "difficulty",
        "grade",
        "version",
        "retired_at",
    )
    list_filter = (RetiredFilter, "course", "skill__unit", "difficulty")
    search_fields = ("code", "prompt")
    filter_horizontal = ("also_skills",)
    readonly_fields = ("version", "content_hash")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "course",
                    "skill",
                    "also_skills",
                    "code",
                    "position",
                    "retired_at",
                )
            },
        ),
        (
            "Content",
            {
                "fields": (
                    "prompt",
                    "answer_spec",
                    "solution",
                    "hints",
                    "misconceptions",
                )
            },
        ),
        (
            "Metadata",
            {"fields": ("difficulty", "grade", "tags", "version", "content_hash")},
        ),
    )
    inlines = [ProblemRevisionInline]

    def get_queryset(self, request: HttpRequest):
        return super().get_queryset(request).select_related("skill", "course")

    @admin.display(description="Answer kind")
    def kind(self, problem: Problem) -> str:
        return str((problem.answer_spec or {}).get("kind", ""))

    def save_model(self, request, obj: Problem, form, change: bool) -> None:
        super().save_model(request, obj, form, change)
        record_problem_revision(obj)


@admin.register(ProblemRevision)
class ProblemRevisionAdmin(admin.ModelAdmin):
    """Immutable snapshots: readable, never edited or deleted."""

    list_display = ("problem", "version", "content_hash", "created_at")
    list_filter = ("problem__course",)
    search_fields = ("problem__code",)
    readonly_fields = ("problem", "version", "content", "content_hash", "created_at")

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
