from django.urls import path

from tutor.api import sessions
from tutor.streaming import reply_stream

urlpatterns = [
    path("sessions/", sessions.SessionListView.as_view(), name="api-sessions"),
    path("sessions/<int:session_id>/", sessions.SessionDetailView.as_view(), name="api-session"),
    path("sessions/<int:session_id>/messages/", sessions.MessageCreateView.as_view(), name="api-session-messages"),
    path("sessions/<int:session_id>/turns/", sessions.TurnView.as_view(), name="api-session-turns"),
    path("messages/<int:message_id>/rating/", sessions.RatingView.as_view(), name="api-message-rating"),
    path("messages/<int:message_id>/stream/", reply_stream, name="api-message-stream"),
]
