"""Teacher pages beyond the class list and roster (those live in frontend.urls / views.classes):
a student's drill-down, transcripts, the flag queue, resolving a flag, CSV exports."""

from django.urls import path

from frontend.views import teacher

urlpatterns = [
    path(
        "classes/<int:classroom_id>/students/<int:student_id>/",
        teacher.student,
        name="teacher-class-student",
    ),
    path(
        "classes/<int:classroom_id>/students/<int:student_id>/conversations/<int:session_id>/",
        teacher.conversation,
        name="teacher-class-conversation",
    ),
    path(
        "classes/<int:classroom_id>/flags/",
        teacher.flag_queue,
        name="teacher-class-flags",
    ),
    path(
        "classes/<int:classroom_id>/flags/<int:flag_id>/resolve/",
        teacher.resolve_flag,
        name="teacher-class-flag-resolve",
    ),
    path(
        "classes/<int:classroom_id>/export/mastery.csv",
        teacher.export_mastery,
        name="teacher-class-export-mastery",
    ),
    path(
        "classes/<int:classroom_id>/export/attempts.csv",
        teacher.export_attempts,
        name="teacher-class-export-attempts",
    ),
]
