"""API for teacher dashboards: one class's summary, who needs help, mastery per student,
attempts, conversations and their transcripts (read-only), and the flag queue.

Every view starts with ``access.get_classroom_for_teacher``: the class's teacher or an admin of
its organisation; anyone else gets 404. Lists are paginated (``?page=``, PAGE_SIZE per page) and
run a fixed number of queries whatever the class size.
"""

from typing import cast

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tutor import access, dashboards, flags
from tutor.errors import InvalidInput
from tutor.models import Classroom, Flag, User

UNIT_PARAM = OpenApiParameter(
    "unit", OpenApiTypes.STR, description="A unit code: only that unit's skills."
)
STUDENT_PARAM = OpenApiParameter(
    "student", OpenApiTypes.INT, description="Only this student of the class."
)


def _classroom(request: Request, classroom_id: int) -> Classroom:
    return access.get_classroom_for_teacher(cast(User, request.user), classroom_id)


def _int_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name, "").strip()
    if not raw:
        return None
    if not raw.isdigit():
        raise InvalidInput(f"{name} must be a number.", code=f"bad_{name}")
    return int(raw)


class _ListView(APIView):
    """A paginated list: ``paginate`` serialises one page of a queryset or a list."""

    pagination_class = PageNumberPagination

    def paginate(
        self, request: Request, items, output: type[serializers.Serializer]
    ) -> Response:
        paginator = self.pagination_class()
        page: list | None = paginator.paginate_queryset(items, request, view=self)
        return paginator.get_paginated_response(output(page, many=True).data)


class ClassStudentOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    display_name = serializers.CharField()


class ClassSkillRefOutput(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    name = serializers.CharField()
    unit = serializers.CharField(source="unit.code")


# --- summary ---------------------------------------------------------------------------------


class ClassSkillSummaryOutput(serializers.Serializer):
    skill = ClassSkillRefOutput()
    abbreviation = serializers.CharField(
        help_text='Position in the course: "2.3" is unit 2, skill 3.'
    )
    n_started = serializers.IntegerField()
    n_mastered = serializers.IntegerField()
    share_mastered = serializers.FloatField(
        help_text="Mastered students / students in the class."
    )
    n_reviews_overdue = serializers.IntegerField(source="n_overdue")
    mean_p_known = serializers.FloatField(
        allow_null=True, help_text="Over the students who started it."
    )


class ClassSummaryOutput(serializers.Serializer):
    n_students = serializers.IntegerField()
    n_skills = serializers.IntegerField()
    n_mastered = serializers.IntegerField(help_text="Mastered (student, skill) pairs.")
    share_mastered = serializers.FloatField(
        help_text="Mastered pairs / (students x skills)."
    )
    n_reviews_overdue = serializers.IntegerField(source="n_overdue")
    n_open_flags = serializers.IntegerField()
    n_active_recently = serializers.IntegerField(
        help_text="Students who answered a problem in the last 7 days."
    )
    skills = ClassSkillSummaryOutput(many=True, source="skill_summaries")


class ClassSummaryView(APIView):
    @extend_schema(
        parameters=[UNIT_PARAM],
        responses=ClassSummaryOutput,
        summary="A class at a glance: share mastered and reviews overdue per skill, open flags",
    )
    def get(self, request: Request, classroom_id: int) -> Response:
        classroom = _classroom(request, classroom_id)
        view = dashboards.load_class(
            classroom, unit=request.query_params.get("unit", "")
        )
        return Response(ClassSummaryOutput(dashboards.class_summary(view)).data)


class NeedsHelpReasonOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=list(dashboards.Reason.LABELS))
    kind_label = serializers.CharField(source="label")
    text = serializers.CharField()
    at = serializers.DateTimeField(allow_null=True)
    session = serializers.IntegerField(
        source="session_id", allow_null=True, help_text="The conversation to open."
    )


class NeedsHelpOutput(serializers.Serializer):
    student = ClassStudentOutput()
    reasons = NeedsHelpReasonOutput(many=True)


class NeedsHelpView(_ListView):
    @extend_schema(
        responses=NeedsHelpOutput(many=True),
        summary="Students who need help, most urgent first, each with the reasons",
        description=(
            "Reasons: distress (a distress flag open or from the last 14 days), stuck (3+ wrong answers on one "
            "problem and none right in 14 days), hints (5+ hint requests in 7 days), low_mastery (5+ scored "
            "attempts on a skill and P(known) under 0.6)."
        ),
    )
    def get(self, request: Request, classroom_id: int) -> Response:
        classroom = _classroom(request, classroom_id)
        return self.paginate(
            request,
            dashboards.needs_help(dashboards.load_class(classroom)),
            NeedsHelpOutput,
        )


# --- mastery and attempts ------------------------------------------------------------------


class StudentMasteryCellOutput(serializers.Serializer):
    skill = serializers.CharField(source="skill.code")
    level = serializers.CharField()
    p_known = serializers.FloatField(
        allow_null=True, help_text="null when not started."
    )
    n_scored = serializers.IntegerField()
    review_overdue = serializers.BooleanField()


class StudentMasteryRowOutput(serializers.Serializer):
    student = ClassStudentOutput()
    n_mastered = serializers.IntegerField()
    progress = serializers.FloatField(
        help_text="Mean P(known) over the skills, not started counting 0."
    )
    skills = StudentMasteryCellOutput(many=True, source="cells")


class ClassMasteryView(_ListView):
    @extend_schema(
        parameters=[UNIT_PARAM, STUDENT_PARAM],
        responses=StudentMasteryRowOutput(many=True),
        summary="Mastery per student and skill (the heatmap), one student per item, in roster order",
    )
    def get(self, request: Request, classroom_id: int) -> Response:
        classroom = _classroom(request, classroom_id)
        view = dashboards.load_class(
            classroom, unit=request.query_params.get("unit", "")
        )
        students = view.students
        student_id = _int_param(request, "student")
        if student_id is not None:
            students = [s for s in students if s.pk == student_id]
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(students, request, view=self)
        rows = dashboards.student_rows(view, list(page or []))
        return paginator.get_paginated_response(
            StudentMasteryRowOutput(rows, many=True).data
        )


class ClassAttemptOutput(serializers.Serializer):
    id = serializers.IntegerField()
    student = ClassStudentOutput()
    created_at = serializers.DateTimeField()
    skill = serializers.CharField(source="problem.skill.code")
    problem = serializers.CharField(source="problem.code")
    problem_version = serializers.IntegerField()
    answer = serializers.CharField()
    normalized = serializers.CharField()
    correct = serializers.BooleanField()
    scored = serializers.BooleanField()
    hints_used = serializers.IntegerField()
    misconception = serializers.CharField(
        source="misconception_code", help_text="Blank when none matched."
    )
    session = serializers.IntegerField(source="session_id", allow_null=True)


class ClassAttemptsView(_ListView):
    @extend_schema(
        parameters=[
            STUDENT_PARAM,
            OpenApiParameter(
                "skill",
                OpenApiTypes.STR,
                description="A skill code: attempts at its problems.",
            ),
        ],
        responses=ClassAttemptOutput(many=True),
        summary="The class's attempts on its course, newest first: answer, verdict, misconception matched",
    )
    def get(self, request: Request, classroom_id: int) -> Response:
        classroom = _classroom(request, classroom_id)
        attempts = dashboards.class_attempts(classroom).select_related(
            "student", "problem__skill"
        )
        student_id = _int_param(request, "student")
        if student_id is not None:
            attempts = attempts.filter(student_id=student_id)
        if skill := request.query_params.get("skill", "").strip():
            attempts = attempts.filter(problem__skill__code=skill)
        return self.paginate(
            request, attempts.order_by("-created_at", "-pk"), ClassAttemptOutput
        )


# --- conversations (read-only) ---------------------------------------------------------------


class ClassConversationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    student = ClassStudentOutput()
    problem = serializers.CharField(source="problem.code")
    skill = serializers.CharField(source="problem.skill.code")
    status = serializers.CharField()
    hints_given = serializers.IntegerField()
    started_at = serializers.DateTimeField()
    solved_at = serializers.DateTimeField(allow_null=True)
    n_messages = serializers.IntegerField()
    n_flags = serializers.IntegerField()
    n_open_flags = serializers.IntegerField()


class ConversationListView(_ListView):
    @extend_schema(
        parameters=[
            STUDENT_PARAM,
            OpenApiParameter(
                "flagged",
                OpenApiTypes.STR,
                enum=["open", "any"],
                description="Only conversations with flags.",
            ),
        ],
        responses=ClassConversationOutput(many=True),
        summary="The class's tutoring conversations on its course, newest first",
    )
    def get(self, request: Request, classroom_id: int) -> Response:
        classroom = _classroom(request, classroom_id)
        sessions = dashboards.conversations(classroom)
        student_id = _int_param(request, "student")
        if student_id is not None:
            sessions = sessions.filter(student_id=student_id)
        flagged = request.query_params.get("flagged", "")
        if flagged == "open":
            sessions = sessions.filter(n_open_flags__gt=0)  # type: ignore[misc]  # an annotation
        elif flagged == "any":
            sessions = sessions.filter(n_flags__gt=0)  # type: ignore[misc]  # an annotation
        return self.paginate(request, sessions, ClassConversationOutput)


class TranscriptVerdictOutput(serializers.Serializer):
    correct = serializers.BooleanField()
    normalized = serializers.CharField()
    misconception = serializers.CharField(source="misconception_code")
    scored = serializers.BooleanField()


class TranscriptMessageOutput(serializers.Serializer):
    id = serializers.IntegerField()
    role = serializers.CharField()
    kind = serializers.CharField()
    text = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    verdict = serializers.SerializerMethodField(
        help_text="For an answer: how it was checked."
    )
    release = serializers.CharField(
        source="release.name", default=None, help_text="Tutor replies: who wrote it."
    )
    prompt_version = serializers.CharField()
    backend = serializers.CharField()
    model = serializers.CharField()
    first_token_ms = serializers.FloatField(allow_null=True)
    total_ms = serializers.FloatField(allow_null=True)
    tokens_in = serializers.IntegerField(allow_null=True)
    tokens_out = serializers.IntegerField(allow_null=True)
    guard = serializers.JSONField()
    flags = serializers.SerializerMethodField()
    rating = serializers.SerializerMethodField(
        help_text="1 helpful, -1 not helpful, null unrated."
    )

    @extend_schema_field(TranscriptVerdictOutput(allow_null=True))
    def get_verdict(self, message) -> dict | None:
        attempt = getattr(message, "attempt", None)
        return TranscriptVerdictOutput(attempt).data if attempt else None

    def get_flags(self, message) -> list[int]:
        return [f.pk for f in message.flags.all()]

    def get_rating(self, message) -> int | None:
        ratings = list(message.ratings.all())
        return ratings[0].value if ratings else None


class TranscriptView(_ListView):
    @extend_schema(
        responses=TranscriptMessageOutput(many=True),
        summary="A conversation's transcript, in order; every tutor reply with its release and prompt version",
        description="Read-only: there is no way to change a transcript.",
    )
    def get(self, request: Request, classroom_id: int, session_id: int) -> Response:
        classroom = _classroom(request, classroom_id)
        session = dashboards.get_class_session(classroom, session_id)
        return self.paginate(
            request, dashboards.transcript(session), TranscriptMessageOutput
        )


# --- flags -----------------------------------------------------------------------------------


class ClassFlagOutput(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Flag.Kind.choices)
    kind_label = serializers.CharField(source="get_kind_display")
    categories = serializers.ListField(child=serializers.CharField())
    detail = serializers.CharField()
    created_at = serializers.DateTimeField()
    student = ClassStudentOutput(source="session.student")
    session = serializers.IntegerField(source="session_id")
    problem = serializers.CharField(source="session.problem.code")
    message = serializers.IntegerField(source="message_id", allow_null=True)
    resolved_at = serializers.DateTimeField(allow_null=True)
    resolved_by = serializers.CharField(source="resolved_by.display_name", default=None)
    resolution_note = serializers.CharField()


class FlagListView(_ListView):
    @extend_schema(
        parameters=[
            OpenApiParameter(
                "status",
                OpenApiTypes.STR,
                enum=["open", "resolved", "all"],
                description="Default open.",
            ),
            OpenApiParameter("kind", OpenApiTypes.STR, enum=list(Flag.Kind.values)),
        ],
        responses=ClassFlagOutput(many=True),
        summary="The class's flagged conversations: distress, moderation, answer-leak guard, thumbs-down",
    )
    def get(self, request: Request, classroom_id: int) -> Response:
        classroom = _classroom(request, classroom_id)
        queue = dashboards.class_flags(classroom)
        status = request.query_params.get("status", "open")
        if status == "open":
            queue = queue.filter(resolved_at__isnull=True)
        elif status == "resolved":
            queue = queue.filter(resolved_at__isnull=False)
        elif status != "all":
            raise InvalidInput("status is open, resolved or all.", code="bad_status")
        if kind := request.query_params.get("kind", ""):
            if kind not in Flag.Kind.values:
                raise InvalidInput(
                    f"kind is one of {', '.join(Flag.Kind.values)}.", code="bad_kind"
                )
            queue = queue.filter(kind=kind)
        return self.paginate(request, queue, ClassFlagOutput)


class ResolveFlagInput(serializers.Serializer):
    note = serializers.CharField(
        max_length=flags.NOTE_MAX_CHARS, help_text="What you saw and what you did."
    )


class ResolveFlagView(APIView):
    @extend_schema(
        request=ResolveFlagInput,
        responses={200: ClassFlagOutput},
        summary="Resolve a flag with a note (409 if it is already resolved)",
    )
    def post(self, request: Request, classroom_id: int, flag_id: int) -> Response:
        classroom = _classroom(request, classroom_id)
        flag = dashboards.get_class_flag(classroom, flag_id)
        data = ResolveFlagInput(data=request.data)
        data.is_valid(raise_exception=True)
        flag = flags.resolve_flag(
            cast(User, request.user), flag, data.validated_data["note"]
        )
        return Response(ClassFlagOutput(flag).data)
