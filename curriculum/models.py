"""Course > Unit > Skill (knowledge component, prerequisite DAG, BKT parameters) > Problems.

Content is authored as files and imported (curriculum.importer). Items are identified by stable
codes; re-importing updates them in place, and items removed from the files are retired, never
deleted, so that student history keeps pointing at what the student saw. Every change to a problem
appends a ProblemRevision: attempts and eval cases pin (problem, version).
"""

from typing import TYPE_CHECKING, Any

from django.db import models
from django.utils import timezone

if TYPE_CHECKING:
    from curriculum.checking import AnswerKey

# Pooled BKT defaults for a skill with no fitted parameters (see tutor.mastery.bkt).
DEFAULT_BKT = {"prior": 0.2, "learn": 0.15, "guess": 0.2, "slip": 0.1, "forget": 0.0}


class ActiveQuerySet(models.QuerySet):
    def active(self):
        return self.filter(retired_at__isnull=True)


class Course(models.Model):
    code = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    language = models.CharField(max_length=10, default="en")
    grade_band = models.CharField(max_length=20, blank=True)
    version = models.PositiveIntegerField(default=1, help_text="Authored content version.")
    content_hash = models.CharField(max_length=64, blank=True)
    imported_at = models.DateTimeField(default=timezone.now)
    retired_at = models.DateTimeField(null=True, blank=True)

    objects = ActiveQuerySet.as_manager()

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return self.title


class Unit(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="units")
    code = models.SlugField(max_length=80)
    title = models.CharField(max_length=200)
    position = models.PositiveIntegerField(default=0)
    retired_at = models.DateTimeField(null=True, blank=True)

    objects = ActiveQuerySet.as_manager()

    class Meta:
        ordering = ["course_id", "position"]
        constraints = [models.UniqueConstraint(fields=["course", "code"], name="unit_code_unique_in_course")]

    def __str__(self) -> str:
        return self.title


class SkillQuerySet(ActiveQuerySet):
    def in_course(self, course: Course):
        return self.filter(course=course)


class Skill(models.Model):
    """A knowledge component."""

    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="skills")
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="skills")
    code = models.SlugField(max_length=80)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    lesson = models.TextField(blank=True, help_text="Markdown with LaTeX.")
    position = models.PositiveIntegerField(default=0)
    prerequisites = models.ManyToManyField("self", symmetrical=False, related_name="dependents", blank=True)
    bkt_prior = models.FloatField(default=DEFAULT_BKT["prior"])
    bkt_learn = models.FloatField(default=DEFAULT_BKT["learn"])
    bkt_guess = models.FloatField(default=DEFAULT_BKT["guess"])
    bkt_slip = models.FloatField(default=DEFAULT_BKT["slip"])
    bkt_forget = models.FloatField(default=DEFAULT_BKT["forget"])
    bkt_fitted_at = models.DateTimeField(null=True, blank=True)
    bkt_fit_attempts = models.PositiveIntegerField(default=0)
    retired_at = models.DateTimeField(null=True, blank=True)

    objects = SkillQuerySet.as_manager()

    class Meta:
        ordering = ["course_id", "unit__position", "position"]
        constraints = [models.UniqueConstraint(fields=["course", "code"], name="skill_code_unique_in_course")]

    def __str__(self) -> str:
        return self.name

    @property
    def bkt_params(self) -> dict[str, float]:
        return {
            "prior": self.bkt_prior,
            "learn": self.bkt_learn,
            "guess": self.bkt_guess,
            "slip": self.bkt_slip,
            "forget": self.bkt_forget,
        }


class ProblemQuerySet(ActiveQuerySet):
    def for_skill(self, skill: Skill):
        return self.filter(models.Q(skill=skill) | models.Q(also_skills=skill)).distinct()


class Problem(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="problems")
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="problems")
    also_skills = models.ManyToManyField(Skill, related_name="tagged_problems", blank=True)
    code = models.SlugField(max_length=100)
    position = models.PositiveIntegerField(default=0)
    prompt = models.TextField(help_text="Markdown with LaTeX.")
    answer_spec = models.JSONField(help_text="kind, value, tolerance, allow, choices, accept, variable")
    solution = models.TextField(help_text="Worked solution, ending with the final answer.")
    hints = models.JSONField(default=list, help_text="Ordered ladder of {kind: hint|scaffold|bottom_out, text}.")
    misconceptions = models.JSONField(default=list, help_text="List of {code, answer | pattern, feedback}.")
    difficulty = models.PositiveSmallIntegerField(default=1)
    grade = models.PositiveSmallIntegerField(null=True, blank=True)
    tags = models.JSONField(default=list, blank=True)
    version = models.PositiveIntegerField(default=1)
    content_hash = models.CharField(max_length=64, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    objects = ProblemQuerySet.as_manager()

    class Meta:
        ordering = ["course_id", "skill_id", "position"]
        constraints = [models.UniqueConstraint(fields=["course", "code"], name="problem_code_unique_in_course")]

    def __str__(self) -> str:
        return self.code

    def answer_key(self) -> "AnswerKey":
        from curriculum.keys import answer_key_from_data

        return answer_key_from_data(self.answer_spec, self.misconceptions)

    @property
    def final_answer(self) -> str:
        return str(self.answer_spec.get("value", ""))

    def hint(self, level: int) -> dict[str, Any] | None:
        """The hint at 0-based `level` of the ladder, or None past its end."""
        return self.hints[level] if 0 <= level < len(self.hints) else None


class ProblemRevision(models.Model):
    """An immutable snapshot of a problem's content at one version."""

    problem = models.ForeignKey(Problem, on_delete=models.CASCADE, related_name="revisions")
    version = models.PositiveIntegerField()
    content = models.JSONField()
    content_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["problem", "version"], name="one_revision_per_version")]

    def __str__(self) -> str:
        return f"{self.problem.code} v{self.version}"
