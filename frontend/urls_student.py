from django.urls import path

from frontend.views import student

urlpatterns = [
    path("practice/<int:problem_id>/", student.practice, name="practice"),
    path("progress/", student.progress, name="progress"),
    path("practice/sessions/<int:session_id>/outcome/", student.practice_outcome, name="practice-outcome"),
]
