"""API for the signed-in person, classes and enrollments."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from tutor import access, actions
from tutor.api import SignedInRequest
from tutor.errors import Forbidden


class MeOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    display_name = serializers.CharField()
    role = serializers.CharField()
    organisation = serializers.CharField(source="organisation.name", default=None)


class MeView(APIView):
    @extend_schema(responses=MeOutput, summary="The signed-in user")
    def get(self, request: SignedInRequest) -> Response:
        return Response(MeOutput(request.user).data)


class ClassroomOutput(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    teacher = serializers.CharField(source="teacher.display_name")
    join_code = serializers.SerializerMethodField()

    def get_join_code(self, classroom) -> str | None:
        user = self.context["request"].user
        return classroom.join_code if (user.is_teacher or user.is_org_admin) else None


class ClassroomCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=120)


class ClassroomListView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses=ClassroomOutput(many=True), summary="Classes visible to me")
    def get(self, request: SignedInRequest) -> Response:
        classrooms = access.classrooms_visible_to(request.user).select_related("teacher")
        return Response(ClassroomOutput(classrooms, many=True, context={"request": request}).data)

    @extend_schema(request=ClassroomCreateInput, responses={201: ClassroomOutput}, summary="Create a class (teachers)")
    def post(self, request: SignedInRequest) -> Response:
        if not (request.user.is_teacher or request.user.is_org_admin):
            raise Forbidden("Only teachers create classes.")
        data = ClassroomCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        classroom = actions.create_classroom(request.user, data.validated_data["name"])
        return Response(ClassroomOutput(classroom, context={"request": request}).data, status=201)


class ClassroomRosterOutput(ClassroomOutput):
    students = serializers.SerializerMethodField()

    def get_students(self, classroom) -> list[dict]:
        from tutor.models import User

        return [
            {"id": s.id, "username": s.username, "display_name": s.display_name}
            for s in User.objects.in_classroom(classroom).order_by("username")
        ]


class ClassroomDetailView(APIView):
    @extend_schema(responses=ClassroomRosterOutput, summary="A class I teach, with its roster")
    def get(self, request: SignedInRequest, classroom_id: int) -> Response:
        classroom = access.get_classroom_for_teacher(request.user, classroom_id)
        return Response(ClassroomRosterOutput(classroom, context={"request": request}).data)


class JoinInput(serializers.Serializer):
    code = serializers.CharField(max_length=40)


class JoinClassroomView(APIView):
    @extend_schema(request=JoinInput, responses={201: ClassroomOutput}, summary="Join a class with its code (students)")
    def post(self, request: SignedInRequest) -> Response:
        data = JoinInput(data=request.data)
        data.is_valid(raise_exception=True)
        enrollment = actions.join_classroom(request.user, data.validated_data["code"])
        return Response(ClassroomOutput(enrollment.classroom, context={"request": request}).data, status=201)
