from django.urls import path

from frontend.views import evals

urlpatterns = [
    path("evals/", evals.runs, name="eval-runs"),
    path("evals/runs/new/", evals.new_run, name="eval-run-new"),
    path("evals/runs/<int:run_id>/", evals.run_detail, name="eval-run"),
    path("evals/runs/<int:run_id>/progress/", evals.run_progress, name="eval-run-progress"),
    path("evals/runs/<int:run_id>/resume/", evals.resume, name="eval-run-resume"),
    path("evals/runs/<int:run_id>/cases/<str:case_key>/", evals.case_detail, name="eval-run-case"),
    path("evals/flagged/", evals.flagged, name="eval-flagged"),
]
