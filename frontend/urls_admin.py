from django.urls import path

from frontend.views import evals, releases

urlpatterns = [
    path("evals/", evals.runs, name="eval-runs"),
    path("evals/runs/new/", evals.new_run, name="eval-run-new"),
    path("evals/runs/<int:run_id>/", evals.run_detail, name="eval-run"),
    path("evals/runs/<int:run_id>/progress/", evals.run_progress, name="eval-run-progress"),
    path("evals/runs/<int:run_id>/resume/", evals.resume, name="eval-run-resume"),
    path("evals/runs/<int:run_id>/cases/<str:case_key>/", evals.case_detail, name="eval-run-case"),
    path("evals/flagged/", evals.flagged, name="eval-flagged"),
    # Model releases: gate, promotion, canary, audit log (frontend/views/releases.py).
    path("releases/", releases.release_list, name="releases"),
    path("releases/new/", releases.new_release, name="release-new"),
    path("releases/audit/", releases.audit_log, name="release-audit"),
    path("releases/<int:release_id>/", releases.release_detail, name="release"),
    path("releases/<int:release_id>/gate/", releases.start_gate, name="release-gate"),
    path("releases/<int:release_id>/promote/", releases.promote, name="release-promote"),
    path("releases/<int:release_id>/override/", releases.request_override, name="release-override"),
    path("releases/<int:release_id>/canary/", releases.start_canary, name="release-canary"),
    path("releases/gates/<int:gate_id>/", releases.gate_detail, name="gate-run"),
    path("releases/gates/<int:gate_id>/progress/", releases.gate_progress, name="gate-run-progress"),
    path("releases/gates/<int:gate_id>/report.json", releases.gate_report_json, name="gate-run-json"),
    path("releases/overrides/<int:override_id>/confirm/", releases.confirm_override, name="override-confirm"),
    path("releases/canaries/<int:rollout_id>/", releases.canary_detail, name="canary"),
    path("releases/canaries/<int:rollout_id>/stats/", releases.canary_stats, name="canary-stats"),
    path("releases/canaries/<int:rollout_id>/rollback/", releases.roll_back, name="canary-rollback"),
]
