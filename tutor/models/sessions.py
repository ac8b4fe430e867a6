"""Tutoring sessions, messages (with provenance), attempts, flags and ratings."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tutor.models.releases import Release


class SessionQuerySet(models.QuerySet["TutoringSession"]):
    def for_student(self, student) -> "SessionQuerySet":
        return self.filter(student=student)

    def open(self) -> "SessionQuerySet":
        return self.filter(status=TutoringSession.Status.ACTIVE)


class TutoringSession(models.Model):
    """A student working on one problem with the tutor."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SOLVED = "solved", "Solved"
        ABANDONED = "abandoned", "Abandoned"

    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tutoring_sessions")
    problem = models.ForeignKey("curriculum.Problem", on_delete=models.PROTECT, related_name="sessions")
    problem_version = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    hints_given = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    solved_at = models.DateTimeField(null=True, blank=True)

    objects = SessionQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["student", "problem", "status"])]

    def __str__(self) -> str:
        return f"{self.student} on {self.problem}"

    @property
    def is_solved(self) -> bool:
        return self.status == self.Status.SOLVED


class MessageQuerySet(models.QuerySet["Message"]):
    def from_tutor(self) -> "MessageQuerySet":
        return self.filter(role=Message.Role.TUTOR)

    def complete(self) -> "MessageQuerySet":
        return self.filter(status=Message.Status.COMPLETE)

    def for_classroom(self, classroom) -> "MessageQuerySet":
        return self.filter(
            session__student__enrollments__classroom=classroom, session__student__enrollments__removed_at__isnull=True
        )


class Message(models.Model):
    class Role(models.TextChoices):
        STUDENT = "student", "Student"
        TUTOR = "tutor", "Tutor"

    class Kind(models.TextChoices):
        CHAT = "chat", "Chat message"
        ANSWER = "answer", "Answer attempt"
        HINT_REQUEST = "hint_request", "Hint request"
        REPLY = "reply", "Tutor reply"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"  # a student message waiting for its reply
        STREAMING = "streaming", "Streaming"
        COMPLETE = "complete", "Complete"
        FAILED = "failed", "Failed"

    session = models.ForeignKey(TutoringSession, on_delete=models.CASCADE, related_name="messages")
    role = models.CharField(max_length=8, choices=Role.choices)
    kind = models.CharField(max_length=14, choices=Kind.choices)
    text = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.COMPLETE)
    client_id = models.CharField(max_length=64, blank=True, help_text="Idempotency key sent by the client.")
    reply_to = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="replies")
    created_at = models.DateTimeField(default=timezone.now)
    # Provenance of tutor replies.
    release = models.ForeignKey(Release, null=True, blank=True, on_delete=models.PROTECT, related_name="messages")
    prompt_version = models.CharField(max_length=40, blank=True)
    backend = models.CharField(max_length=20, blank=True)
    model = models.CharField(max_length=200, blank=True)
    first_token_ms = models.FloatField(null=True, blank=True)
    total_ms = models.FloatField(null=True, blank=True)
    tokens_in = models.PositiveIntegerField(null=True, blank=True)
    tokens_out = models.PositiveIntegerField(null=True, blank=True)
    cost_usd = models.DecimalField(max_digits=12, decimal_places=8, null=True, blank=True)
    guard = models.JSONField(default=dict, blank=True, help_text="Guard outcomes: answer leak, moderation, fallback.")
    error = models.CharField(max_length=200, blank=True)

    objects = MessageQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        # Every turn reads its session's latest messages (the history window, the rate limit).
        indexes = [models.Index(fields=["session", "created_at", "id"], name="message_session_latest")]
        constraints = [
            models.UniqueConstraint(
                fields=["session", "client_id"], condition=~Q(client_id=""), name="one_message_per_client_id"
            ),
            models.UniqueConstraint(
                fields=["reply_to"], condition=Q(status="complete"), name="one_complete_reply_per_message"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.role}: {self.text[:40]}"


class Attempt(models.Model):
    """A checked answer. The first attempt at a problem in a session is the scored one (BKT)."""

    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="attempts")
    problem = models.ForeignKey("curriculum.Problem", on_delete=models.PROTECT, related_name="attempts")
    problem_version = models.PositiveIntegerField()
    session = models.ForeignKey(TutoringSession, null=True, blank=True, on_delete=models.SET_NULL, related_name="attempts")
    message = models.OneToOneField(Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="attempt")
    answer = models.TextField()
    normalized = models.CharField(max_length=300, blank=True)
    correct = models.BooleanField()
    misconception_code = models.CharField(max_length=80, blank=True)
    scored = models.BooleanField(default=False, help_text="Counts for mastery (first attempt, before hints).")
    hints_used = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["student", "created_at"]), models.Index(fields=["problem", "created_at"])]

    def __str__(self) -> str:
        return f"{self.student} {'✓' if self.correct else '✗'} {self.problem}"


class FlagQuerySet(models.QuerySet["Flag"]):
    def unresolved(self) -> "FlagQuerySet":
        return self.filter(resolved_at__isnull=True)


class Flag(models.Model):
    """Something a teacher should look at in a conversation."""

    class Kind(models.TextChoices):
        MODERATION = "moderation", "Moderation"
        DISTRESS = "distress", "Student in distress"
        ANSWER_LEAK = "answer_leak", "Answer-leak guard"
        THUMBS_DOWN = "thumbs_down", "Thumbs down"

    session = models.ForeignKey(TutoringSession, on_delete=models.CASCADE, related_name="flags")
    message = models.ForeignKey(Message, null=True, blank=True, on_delete=models.CASCADE, related_name="flags")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    categories = models.JSONField(default=list, blank=True)
    detail = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution_note = models.TextField(blank=True)

    objects = FlagQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on session {self.session_id}"


class Rating(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="ratings")
    student = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="ratings")
    value = models.SmallIntegerField(choices=[(1, "Helpful"), (-1, "Not helpful")])
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["message", "student"], name="one_rating_per_message")]

    def __str__(self) -> str:
        return f"{self.value:+d} on {self.message_id}"
