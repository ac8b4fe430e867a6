"""Mastery endpoints; included under /api/ by the project's URLconf."""

from django.urls import path

from tutor.api import mastery

urlpatterns = [
    path(
        "students/<int:student_id>/mastery/",
        mastery.StudentMasteryView.as_view(),
        name="api-student-mastery",
    ),
    path(
        "students/<int:student_id>/mastery/<slug:skill_code>/history/",
        mastery.SkillHistoryView.as_view(),
        name="api-student-skill-history",
    ),
    path(
        "students/<int:student_id>/next-problem/",
        mastery.NextProblemView.as_view(),
        name="api-student-next-problem",
    ),
    path("mastery/refit/", mastery.RefitView.as_view(), name="api-mastery-refit"),
]
