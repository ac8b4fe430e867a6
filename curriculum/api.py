"""Read-only curriculum API: courses, units, skills (with prerequisites and BKT parameters), problems.

Students get a problem's prompt and what they need to answer it (kind, choices), never its
answer, worked solution, hints or misconceptions; teachers and admins get everything
(`curriculum.queries.can_see_answers`).
"""

from drf_spectacular.utils import (
    OpenApiParameter,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from curriculum import queries
from curriculum.models import Course, Problem, Skill


class CourseOutput(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    language = serializers.CharField()
    grade_band = serializers.CharField()
    version = serializers.IntegerField(help_text="Authored content version.")
    n_units = serializers.IntegerField()
    n_skills = serializers.IntegerField()


class CourseListView(APIView):
    @extend_schema(
        responses=CourseOutput(many=True), summary="Courses", tags=["curriculum"]
    )
    def get(self, request: Request) -> Response:
        return Response(
            CourseOutput(queries.courses_visible_to(request.user), many=True).data
        )


class UnitOutput(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    position = serializers.IntegerField()
    skills = serializers.SerializerMethodField(
        help_text="Codes of the unit's skills, in order."
    )

    def get_skills(self, unit) -> list[str]:
        return [skill.code for skill in unit.skills.all()]


class CourseDetailOutput(serializers.Serializer):
    code = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField()
    language = serializers.CharField()
    grade_band = serializers.CharField()
    version = serializers.IntegerField()
    units = UnitOutput(many=True)


class CourseDetailView(APIView):
    @extend_schema(
        responses=CourseDetailOutput,
        summary="A course with its units",
        tags=["curriculum"],
    )
    def get(self, request: Request, course_code: str) -> Response:
        course = queries.get_course_for_user(request.user, course_code)
        units = queries.units_in_course(course)
        return Response(
            CourseDetailOutput({**_course_fields(course), "units": units}).data
        )


def _course_fields(course: Course) -> dict:
    fields = ("code", "title", "description", "language", "grade_band", "version")
    return {name: getattr(course, name) for name in fields}


class BktOutput(serializers.Serializer):
    prior = serializers.FloatField()
    learn = serializers.FloatField()
    guess = serializers.FloatField()
    slip = serializers.FloatField()
    forget = serializers.FloatField()


class SkillOutput(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    description = serializers.CharField()
    unit = serializers.CharField(source="unit.code")
    position = serializers.IntegerField()
    prerequisites = serializers.SerializerMethodField(
        help_text="Codes of the skills needed first."
    )
    bkt = BktOutput(
        source="bkt_params", help_text="Bayesian Knowledge Tracing parameters."
    )
    bkt_fitted_at = serializers.DateTimeField(
        allow_null=True, help_text="When the parameters were last fitted."
    )

    def get_prerequisites(self, skill: Skill) -> list[str]:
        return [prerequisite.code for prerequisite in skill.prerequisites.all()]


class SkillListView(APIView):
    @extend_schema(
        responses=SkillOutput(many=True),
        summary="A course's skills with their prerequisites (the whole graph, unpaginated)",
        tags=["curriculum"],
    )
    def get(self, request: Request, course_code: str) -> Response:
        course = queries.get_course_for_user(request.user, course_code)
        return Response(SkillOutput(queries.skills_in_course(course), many=True).data)


class SkillDetailOutput(SkillOutput):
    lesson = serializers.CharField(help_text="Markdown with LaTeX.")


class SkillDetailView(APIView):
    @extend_schema(
        responses=SkillDetailOutput,
        summary="A skill with its lesson",
        tags=["curriculum"],
    )
    def get(self, request: Request, course_code: str, skill_code: str) -> Response:
        course = queries.get_course_for_user(request.user, course_code)
        skill = queries.get_skill_for_user(request.user, course, skill_code)
        return Response(SkillDetailOutput(skill).data)


class StudentProblemOutput(serializers.Serializer):
    """What a student may see: never the answer, the solution, the hints or the misconceptions."""

    code = serializers.CharField()
    position = serializers.IntegerField()
    version = serializers.IntegerField()
    prompt = serializers.CharField(help_text="Markdown with LaTeX.")
    answer_kind = serializers.SerializerMethodField()
    choices = serializers.SerializerMethodField(
        help_text="The options of a multiple-choice problem, else empty."
    )
    difficulty = serializers.IntegerField()
    grade = serializers.IntegerField(allow_null=True)
    tags = serializers.ListField(child=serializers.CharField())
    hint_count = serializers.SerializerMethodField(
        help_text="Steps in the hint ladder."
    )

    def get_answer_kind(self, problem: Problem) -> str:
        return str(problem.answer_spec.get("kind", ""))

    def get_choices(self, problem: Problem) -> list[str]:
        return [str(choice) for choice in problem.answer_spec.get("choices") or []]

    def get_hint_count(self, problem: Problem) -> int:
        return len(problem.hints)


class HintOutput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["hint", "scaffold", "bottom_out"])
    text = serializers.CharField()


class MisconceptionOutput(serializers.Serializer):
    code = serializers.CharField()
    answer = serializers.CharField(required=False)
    pattern = serializers.CharField(required=False)
    feedback = serializers.CharField()


class StaffProblemOutput(StudentProblemOutput):
    """Teachers and admins also see the answer key, the worked solution and the hint ladder."""

    answer_spec = serializers.JSONField(
        help_text="kind, value, tolerance, allow, choices, accept, variable"
    )
    solution = serializers.CharField()
    hints = HintOutput(many=True)
    misconceptions = MisconceptionOutput(many=True)


class ProblemListView(generics.ListAPIView):
    """A skill's active problems, in order (paginated)."""

    @extend_schema(
        summary="Problems of a skill",
        description="Students receive StudentProblem items (no answer, solution, hints or misconceptions); "
        "teachers and admins receive StaffProblem items.",
        parameters=[
            OpenApiParameter("page", int, description="Page number (50 per page).")
        ],
        responses=PolymorphicProxySerializer(
            component_name="ProblemForRole",
            serializers=[StudentProblemOutput, StaffProblemOutput],
            resource_type_field_name=None,
            many=True,
        ),
        tags=["curriculum"],
    )
    def get(self, request: Request, *args, **kwargs) -> Response:
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        course = queries.get_course_for_user(
            self.request.user, self.kwargs["course_code"]
        )
        skill = queries.get_skill_for_user(
            self.request.user, course, self.kwargs["skill_code"]
        )
        return queries.problems_of_skill(skill)

    def get_serializer_class(self):
        if queries.can_see_answers(self.request.user):
            return StaffProblemOutput
        return StudentProblemOutput
