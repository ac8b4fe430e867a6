"""Server-sent events: the tutor's reply, token by token, from an async view under ASGI."""

import json
from collections.abc import AsyncIterator

from asgiref.sync import sync_to_async
from django.db import close_old_connections
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    StreamingHttpResponse,
)

from tutor import access, tutoring


def _sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


async def _events(message_id: int) -> AsyncIterator[str]:
    yield ": stream open\n\n"
    async for event in tutoring.reply_events(message_id):
        yield _sse(event.kind, event.data)


def _token_user(header: str):
    """The user of a DRF `Authorization: Token <key>` header, for API clients that stream."""
    from rest_framework.authtoken.models import Token

    scheme, _, key = header.partition(" ")
    if scheme.lower() != "token" or not key:
        return None
    token = Token.objects.select_related("user").filter(key=key.strip()).first()
    return token.user if token and token.user.is_active else None


async def reply_stream(request: HttpRequest, message_id: int) -> HttpResponseBase:
    """GET /api/messages/<id>/stream/: events `delta`, `replace`, `reset`, then `done` or `error`.

    The reply is generated in its own task: if the browser goes away, it is still completed and
    stored, and reconnecting replays it.
    """
    user = await request.auser()
    if not user.is_authenticated:
        user = await tutoring.db_step(_token_user, request.headers.get("Authorization", ""))
    if user is None or not user.is_authenticated:
        return HttpResponse(status=401)
    try:
        await tutoring.db_step(access.get_student_message, user, message_id)
    except Http404:
        return HttpResponse(status=404)
    await sync_to_async(close_old_connections)()  # the stream may stay open for a while
    response = StreamingHttpResponse(_events(message_id), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response
