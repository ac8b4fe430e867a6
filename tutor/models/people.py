"""People and classes: organisations, users with a role, classrooms with join codes, enrollments."""

import hashlib
import secrets
from typing import ClassVar

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models
from django.utils import timezone

# No 0/O, 1/I/L: codes are read aloud and copied from a board.
JOIN_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
JOIN_CODE_LENGTH = 6


def new_join_code() -> str:
    return "".join(secrets.choice(JOIN_CODE_ALPHABET) for _ in range(JOIN_CODE_LENGTH))


def normalise_join_code(raw: str) -> str:
    return "".join(ch for ch in raw.upper() if ch.isalnum())


class Organisation(models.Model):
    """A school or a district."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.name


class UserQuerySet(models.QuerySet["User"]):
    def students(self) -> "UserQuerySet":
        return self.filter(role=User.Role.STUDENT)

    def teachers(self) -> "UserQuerySet":
        return self.filter(role=User.Role.TEACHER)

    def in_classroom(self, classroom: "Classroom") -> "UserQuerySet":
        return self.filter(enrollments__classroom=classroom, enrollments__removed_at__isnull=True)

    def administered_by(self, admin: "User") -> "UserQuerySet":
        """The members of the admin's organisation; none for an admin without one (a student who
        signed up and joined no class has no organisation either)."""
        if admin.organisation_id is None:
            return self.none()
        return self.filter(organisation_id=admin.organisation_id)


class TutorUserManager(UserManager.from_queryset(UserQuerySet)):  # type: ignore[misc]
    pass


class User(AbstractUser):
    class Role(models.TextChoices):
        STUDENT = "student", "Student"
        TEACHER = "teacher", "Teacher"
        ADMIN = "admin", "Admin"

    role = models.CharField(max_length=10, choices=Role.choices, default=Role.STUDENT)
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="members"
    )

    objects: ClassVar[TutorUserManager] = TutorUserManager()

    @property
    def is_student(self) -> bool:
        return self.role == self.Role.STUDENT

    @property
    def is_teacher(self) -> bool:
        return self.role == self.Role.TEACHER

    @property
    def is_org_admin(self) -> bool:
        return self.role == self.Role.ADMIN

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username

    @property
    def pseudonym(self) -> str:
        """Stable stand-in for this person in anything sent to a model provider."""
        return pseudonym_for(self.pk)


def pseudonym_for(user_id: int) -> str:
    digest = hashlib.sha256(f"{settings.SECRET_KEY}:user:{user_id}".encode()).hexdigest()
    return f"Student-{digest[:6]}"


class ClassroomQuerySet(models.QuerySet["Classroom"]):
    def active(self) -> "ClassroomQuerySet":
        return self.filter(archived_at__isnull=True)

    def taught_by(self, teacher: User) -> "ClassroomQuerySet":
        return self.filter(teacher=teacher)

    def attended_by(self, student: User) -> "ClassroomQuerySet":
        return self.filter(enrollments__student=student, enrollments__removed_at__isnull=True)

    def administered_by(self, admin: User) -> "ClassroomQuerySet":
        """The classrooms of the admin's organisation; none for an admin without one."""
        if admin.organisation_id is None:
            return self.none()
        return self.filter(organisation_id=admin.organisation_id)


class Classroom(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="classrooms")
    teacher = models.ForeignKey(User, on_delete=models.PROTECT, related_name="classrooms_taught")
    name = models.CharField(max_length=120)
    course = models.ForeignKey(
        "curriculum.Course", null=True, blank=True, on_delete=models.SET_NULL, related_name="classrooms"
    )
    join_code = models.CharField(max_length=12, unique=True, default=new_join_code)
    created_at = models.DateTimeField(default=timezone.now)
    archived_at = models.DateTimeField(null=True, blank=True)

    objects = ClassroomQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name


class Enrollment(models.Model):
    classroom = models.ForeignKey(Classroom, on_delete=models.CASCADE, related_name="enrollments")
    student = models.ForeignKey(User, on_delete=models.CASCADE, related_name="enrollments")
    joined_at = models.DateTimeField(default=timezone.now)
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["classroom", "student"], name="one_enrollment_per_student")]

    def __str__(self) -> str:
        return f"{self.student} in {self.classroom}"

    @property
    def is_active(self) -> bool:
        return self.removed_at is None


class WorkerHeartbeat(models.Model):
    """Written by a periodic Celery task; /healthz reports when a worker was last seen."""

    worker = models.CharField(max_length=200, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.worker} at {self.seen_at:%Y-%m-%d %H:%M:%S}"
