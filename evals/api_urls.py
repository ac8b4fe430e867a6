from django.urls import path

from evals import api

urlpatterns = [
    path("evals/suites/", api.SuiteListView.as_view(), name="api-eval-suites"),
    path("evals/runs/", api.RunListView.as_view(), name="api-eval-runs"),
    path("evals/runs/<int:run_id>/", api.RunDetailView.as_view(), name="api-eval-run"),
    path("evals/runs/<int:run_id>/results/", api.RunResultsView.as_view(), name="api-eval-run-results"),
]
