"""API for tutoring: sessions, turns (whole replies), transcripts, ratings."""

from asgiref.sync import async_to_sync
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from tutor import access, tutoring
from tutor.api import SignedInRequest
from tutor.models import Message


class MessageOutput(serializers.Serializer):
    id = serializers.IntegerField()
    role = serializers.CharField()
    kind = serializers.CharField()
    text = serializers.CharField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()


class ProvenanceOutput(MessageOutput):
    release = serializers.CharField(source="release.name", default=None)
    prompt_version = serializers.CharField()
    backend = serializers.CharField()
    model = serializers.CharField()
    first_token_ms = serializers.FloatField(allow_null=True)
    total_ms = serializers.FloatField(allow_null=True)
    tokens_in = serializers.IntegerField(allow_null=True)
    tokens_out = serializers.IntegerField(allow_null=True)
    cost_usd = serializers.DecimalField(max_digits=12, decimal_places=8, allow_null=True)
    guard = serializers.JSONField()


class SessionOutput(serializers.Serializer):
    id = serializers.IntegerField()
    problem = serializers.IntegerField(source="problem_id")
    status = serializers.CharField()
    hints_given = serializers.IntegerField()
    started_at = serializers.DateTimeField()


class SessionStartInput(serializers.Serializer):
    problem = serializers.IntegerField()


class SessionListView(APIView):
    @extend_schema(request=SessionStartInput, responses={201: SessionOutput}, summary="Start (or resume) a session on a problem")
    def post(self, request: SignedInRequest) -> Response:
        data = SessionStartInput(data=request.data)
        data.is_valid(raise_exception=True)
        session = tutoring.start_session(request.user, data.validated_data["problem"])
        return Response(SessionOutput(session).data, status=201)


class TranscriptOutput(SessionOutput):
    messages = serializers.SerializerMethodField()

    def get_messages(self, session) -> list[dict]:
        messages = session.messages.select_related("release")
        return [(ProvenanceOutput if m.role == "tutor" else MessageOutput)(m).data for m in messages]


class SessionDetailView(APIView):
    @extend_schema(responses=TranscriptOutput, summary="A session with its transcript (student, their teacher, admins)")
    def get(self, request: SignedInRequest, session_id: int) -> Response:
        session = access.get_session_for_viewer(request.user, session_id)
        return Response(TranscriptOutput(session).data)


def verdict_data(turn: tutoring.TurnResult) -> dict | None:
    if turn.verdict is None:
        return None
    return {
        "correct": turn.verdict.correct,
        "normalized": turn.verdict.normalized,
        "feedback": turn.verdict.feedback,
        "parse_error": turn.verdict.parse_error,
        "misconception": turn.verdict.misconception.code if turn.verdict.misconception else None,
    }


class TurnInput(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["chat", "answer", "hint"])
    text = serializers.CharField(allow_blank=True, required=False, default="", trim_whitespace=False)
    client_id = serializers.CharField(max_length=64, required=False, default="")


class MessageCreatedOutput(serializers.Serializer):
    message = MessageOutput()
    verdict = serializers.DictField(allow_null=True)
    stream_url = serializers.CharField()
    solved = serializers.BooleanField()


class TurnOutput(serializers.Serializer):
    message = MessageOutput()
    verdict = serializers.DictField(allow_null=True)
    reply = ProvenanceOutput(allow_null=True)
    error = serializers.CharField(allow_null=True)


class MessageCreateView(APIView):
    @extend_schema(
        request=TurnInput,
        responses={201: MessageCreatedOutput},
        summary="Send a chat message, an answer or a hint request; stream the reply from stream_url (SSE)",
        description="The message is stored before anything else. Idempotent on client_id. The reply streams "
        "as server-sent events: delta {text}, replace {text}, reset {}, then done {message_id, text} or "
        "error {detail, retryable}.",
    )
    def post(self, request: SignedInRequest, session_id: int) -> Response:
        session = access.get_session_for_student(request.user, session_id)
        data = TurnInput(data=request.data)
        data.is_valid(raise_exception=True)
        turn = tutoring.submit_turn(request.user, session, **data.validated_data)
        body = {
            "message": MessageOutput(turn.message).data,
            "verdict": verdict_data(turn),
            "stream_url": reverse("api-message-stream", args=[turn.message.pk]),
            "solved": turn.message.session.is_solved,
        }
        return Response(body, status=201)


class TurnView(APIView):
    @extend_schema(
        request=TurnInput,
        responses={201: TurnOutput},
        summary="Send a chat message, an answer or a hint request; returns the whole tutor reply",
        description="Idempotent on client_id: resending the same client_id returns the stored turn and reply. "
        "For token-by-token replies use the SSE stream at /api/messages/{id}/stream/.",
    )
    def post(self, request: SignedInRequest, session_id: int) -> Response:
        session = access.get_session_for_student(request.user, session_id)
        data = TurnInput(data=request.data)
        data.is_valid(raise_exception=True)
        turn = tutoring.submit_turn(request.user, session, **data.validated_data, claim=True)
        reply = async_to_sync(tutoring.reply_to_turn)(turn)
        if reply is not None:  # a message and its reply become complete in one transaction
            turn.message.status = Message.Status.COMPLETE
        else:
            turn.message.refresh_from_db(fields=["status"])
        body = {
            "message": MessageOutput(turn.message).data,
            "verdict": verdict_data(turn),
            "reply": ProvenanceOutput(reply).data if reply else None,
            "error": None if reply else tutoring.UNAVAILABLE,
        }
        return Response(body, status=201 if reply else 503)


class RatingInput(serializers.Serializer):
    value = serializers.ChoiceField(choices=[1, -1])
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=1000)


class RatingView(APIView):
    @extend_schema(request=RatingInput, responses={201: None}, summary="Rate a tutor message (its student only)")
    def post(self, request: SignedInRequest, message_id: int) -> Response:
        try:
            message = Message.objects.get(pk=message_id, session__student=request.user, role="tutor")
        except Message.DoesNotExist:
            from django.http import Http404

            raise Http404 from None
        data = RatingInput(data=request.data)
        data.is_valid(raise_exception=True)
        tutoring.rate_message(request.user, message, **data.validated_data)
        return Response({"ok": True}, status=201)
