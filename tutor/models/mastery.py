"""Mastery per (student, skill), and every change to it with the attempt that caused it."""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Level(models.TextChoices):
    NOT_STARTED = "not_started", "Not started"
    ATTEMPTED = "attempted", "Attempted"
    FAMILIAR = "familiar", "Familiar"
    PROFICIENT = "proficient", "Proficient"
    MASTERED = "mastered", "Mastered"


class MasteryQuerySet(models.QuerySet["Mastery"]):
    def for_student(self, student) -> "MasteryQuerySet":
        return self.filter(student=student)

    def mastered(self) -> "MasteryQuerySet":
        return self.filter(level=Level.MASTERED)

    def reviews_due(self, now=None) -> "MasteryQuerySet":
        return self.filter(level=Level.MASTERED, next_review_at__lte=now or timezone.now())


class Mastery(models.Model):
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="masteries")
    skill = models.ForeignKey("curriculum.Skill", on_delete=models.CASCADE, related_name="masteries")
    p_known = models.FloatField()
    level = models.CharField(max_length=12, choices=Level.choices, default=Level.NOT_STARTED)
    n_scored = models.PositiveIntegerField(default=0)
    n_correct = models.PositiveIntegerField(default=0)
    last_correct = models.BooleanField(null=True, blank=True)
    mastered_at = models.DateTimeField(null=True, blank=True)
    last_practiced_at = models.DateTimeField(null=True, blank=True)
    next_review_at = models.DateTimeField(null=True, blank=True)
    reviews_passed = models.PositiveSmallIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = MasteryQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["student", "skill"], name="one_mastery_per_student_skill")]
        indexes = [models.Index(fields=["skill", "level"])]

    def __str__(self) -> str:
        return f"{self.student} {self.skill}: {self.level} ({self.p_known:.2f})"

    def is_retained(self, now=None) -> bool:
        """Mastered and not yet due for review (or review passed)."""
        if self.level != Level.MASTERED:
            return False
        return self.next_review_at is None or self.next_review_at > (now or timezone.now())


class MasteryChange(models.Model):
    mastery = models.ForeignKey(Mastery, on_delete=models.CASCADE, related_name="changes")
    attempt = models.ForeignKey("tutor.Attempt", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    p_before = models.FloatField()
    p_after = models.FloatField()
    level_before = models.CharField(max_length=12, choices=Level.choices)
    level_after = models.CharField(max_length=12, choices=Level.choices)
    reason = models.CharField(max_length=20, default="attempt")  # attempt | review | refit | decay
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.p_before:.2f} -> {self.p_after:.2f}"
