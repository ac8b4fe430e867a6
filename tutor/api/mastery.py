"""API for mastery: a student's standing per skill, the history of one skill, the next problem.

Every view starts with ``access.get_student_for_viewer``: a student sees only themself, a teacher
only the students of their classes, an admin those of their organisation; anyone else gets 404.
Courses: ``?course=<code>`` narrows to one course; without it, the courses of the student's
classes.
"""

from typing import TYPE_CHECKING, cast

from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tutor import access
from tutor.errors import Forbidden
from tutor.mastery.refit import request_refit
from tutor.mastery.selection import next_problem
from tutor.mastery.tracking import SkillMastery, courses_for_student, skill_masteries
from tutor.models import Mastery, User

if TYPE_CHECKING:
    from curriculum.models import Skill

COURSE_PARAM = OpenApiParameter(
    "course",
    OpenApiTypes.STR,
    description="A course code; default: the courses of the student's classes.",
)


def _student(request: Request, student_id: int) -> User:
    """The student whose data the signed-in user may read (404 otherwise)."""
    return access.get_student_for_viewer(cast(User, request.user), student_id)


def _courses(request: Request, student: User) -> list:
    from curriculum.models import Course

    code = request.query_params.get("course")
    if not code:
        return courses_for_student(student)
    try:
        return [Course.objects.active().get(code=code)]
    except Course.DoesNotExist:
        raise Http404 from None


class MasterySkillOutput(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    course = serializers.CharField(source="course.code")
    unit = serializers.CharField(source="unit.title")


class MasteryOutput(serializers.Serializer):
    skill = MasterySkillOutput()
    level = serializers.CharField()
    p_known = serializers.FloatField()
    n_scored = serializers.IntegerField()
    n_correct = serializers.IntegerField()
    review_status = serializers.ChoiceField(
        choices=["retained", "review_due"],
        allow_null=True,
        help_text="For mastered skills: retained (no review due) or review_due; null otherwise.",
    )
    mastered_at = serializers.DateTimeField(source="mastery.mastered_at", default=None)
    last_practiced_at = serializers.DateTimeField(
        source="mastery.last_practiced_at", default=None
    )
    next_review_at = serializers.DateTimeField(
        source="mastery.next_review_at", default=None
    )


class StudentMasteryView(APIView):
    @extend_schema(
        parameters=[COURSE_PARAM],
        responses=MasteryOutput(many=True),
        summary="A student's mastery of every skill of their courses, in course order",
    )
    def get(self, request: Request, student_id: int) -> Response:
        student = _student(request, student_id)
        rows = skill_masteries(student, _courses(request, student))
        return Response(MasteryOutput(rows, many=True).data)


class MasteryAttemptOutput(serializers.Serializer):
    id = serializers.IntegerField()
    problem = serializers.CharField(source="problem.code")
    answer = serializers.CharField()
    correct = serializers.BooleanField()
    scored = serializers.BooleanField()
    hints_used = serializers.IntegerField()
    created_at = serializers.DateTimeField()


class MasteryChangeOutput(serializers.Serializer):
    at = serializers.DateTimeField(source="created_at")
    reason = serializers.CharField(help_text="attempt | review | refit | decay")
    p_before = serializers.FloatField()
    p_after = serializers.FloatField()
    level_before = serializers.CharField()
    level_after = serializers.CharField()
    attempt = MasteryAttemptOutput(
        allow_null=True, help_text="The attempt that caused the change."
    )


class SkillHistoryView(APIView):
    class Output(serializers.Serializer):
        mastery = MasteryOutput()
        changes = MasteryChangeOutput(many=True)

        class Meta:
            ref_name = "MasteryHistory"

    @extend_schema(
        parameters=[COURSE_PARAM],
        responses=Output,
        summary="Every change to a student's mastery of one skill, with the attempt that caused it",
    )
    def get(self, request: Request, student_id: int, skill_code: str) -> Response:
        student = _student(request, student_id)
        skill = _skill_for(request, student, skill_code)
        mastery = Mastery.objects.filter(student=student, skill=skill).first()
        changes = mastery.changes.select_related("attempt__problem") if mastery else []
        current = SkillMastery(skill, mastery, timezone.now())
        return Response(self.Output({"mastery": current, "changes": changes}).data)


def _skill_for(request: Request, student: User, code: str) -> "Skill":
    """The skill with this code in the student's courses (or ?course), or another one of the
    student's skills with that code (a class they have left)."""
    from curriculum.models import Skill

    course_ids = [c.pk for c in _courses(request, student)]
    skills = Skill.objects.filter(code=code).select_related("course", "unit")
    if request.query_params.get("course"):
        skills = skills.filter(course_id__in=course_ids)
    else:
        skills = skills.filter(
            Q(course_id__in=course_ids) | Q(masteries__student=student)
        ).distinct()
    skill = sorted(skills, key=lambda s: (s.course_id not in course_ids, s.pk))
    if not skill:
        raise Http404
    return skill[0]


class NextProblemView(APIView):
    class Output(serializers.Serializer):
        class ProblemOutput(serializers.Serializer):
            id = serializers.IntegerField()
            code = serializers.CharField()
            prompt = serializers.CharField()
            difficulty = serializers.IntegerField()

            class Meta:
                ref_name = "NextProblemProblem"

        class Meta:
            ref_name = "NextProblem"

        kind = serializers.ChoiceField(
            choices=["review", "revisit", "next"], allow_null=True
        )
        reason = serializers.CharField()
        problem = ProblemOutput(allow_null=True)
        skill = MasterySkillOutput(allow_null=True)
        expected_success = serializers.FloatField(allow_null=True)

    @extend_schema(
        parameters=[COURSE_PARAM],
        responses=Output,
        summary="The problem a student should work on next, and why",
        description="Reviews due first; then the first ready, unmastered skill in course order, at about "
        "70-80% predicted success; repeated failure routes to a prerequisite. problem is null when there "
        "is nothing to offer.",
    )
    def get(self, request: Request, student_id: int) -> Response:
        student = _student(request, student_id)
        courses = _courses(request, student)
        if not courses:
            return Response(_nothing("No course yet: join a class to get problems."))
        recommendation = next_problem(student, courses[0])
        if recommendation is None:
            return Response(_nothing("Nothing to practise right now."))
        return Response(self.Output(recommendation).data)


def _nothing(reason: str) -> dict:
    return {
        "kind": None,
        "reason": reason,
        "problem": None,
        "skill": None,
        "expected_success": None,
    }


class RefitView(APIView):
    class Input(serializers.Serializer):
        course = serializers.CharField(required=False, allow_blank=True, default="")

        class Meta:
            ref_name = "Refit"

    @extend_schema(
        request=Input,
        responses={202: None},
        summary="Refit BKT parameters from the attempt log (staff); runs in the background",
    )
    def post(self, request: Request) -> Response:
        from curriculum.models import Course

        if not request.user.is_staff:
            raise Forbidden("Only staff refit skill parameters.")
        data = self.Input(data=request.data)
        data.is_valid(raise_exception=True)
        code = data.validated_data["course"]
        course = None
        if code:
            course = Course.objects.filter(code=code).first()
            if course is None:
                raise Http404
        request_refit(course)
        return Response({"queued": True, "course": code or None}, status=202)
