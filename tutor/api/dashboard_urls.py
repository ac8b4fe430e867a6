"""Teacher dashboard endpoints; included under /api/ by the project's URLconf."""

from django.urls import path

from tutor.api import dashboards

urlpatterns = [
    path(
        "classes/<int:classroom_id>/summary/",
        dashboards.ClassSummaryView.as_view(),
        name="api-class-summary",
    ),
    path(
        "classes/<int:classroom_id>/needs-help/",
        dashboards.NeedsHelpView.as_view(),
        name="api-class-needs-help",
    ),
    path(
        "classes/<int:classroom_id>/mastery/",
        dashboards.ClassMasteryView.as_view(),
        name="api-class-mastery",
    ),
    path(
        "classes/<int:classroom_id>/attempts/",
        dashboards.ClassAttemptsView.as_view(),
        name="api-class-attempts",
    ),
    path(
        "classes/<int:classroom_id>/conversations/",
        dashboards.ConversationListView.as_view(),
        name="api-class-conversations",
    ),
    path(
        "classes/<int:classroom_id>/conversations/<int:session_id>/messages/",
        dashboards.TranscriptView.as_view(),
        name="api-class-transcript",
    ),
    path(
        "classes/<int:classroom_id>/flags/",
        dashboards.FlagListView.as_view(),
        name="api-class-flags",
    ),
    path(
        "classes/<int:classroom_id>/flags/<int:flag_id>/resolve/",
        dashboards.ResolveFlagView.as_view(),
        name="api-class-flag-resolve",
    ),
]
