"""Admin release pages: the list, registering a candidate, running the gate with live progress, the
comparison report, promotion on a PASS (refused otherwise), the two-admin override, canaries with
live arm figures and rollback, the audit log. Admins only: teachers and students get a 404."""

import pytest

from evals import gating
from evals.models import GateRun, PromotionOverride
from frontend.views import releases as releases_views
from tests.evals.test_gating import candidate, run_gate
from tests.evals.test_gating import gate_suite as gate_suite
from tests.evals.test_gating import policy_dir as policy_dir
from tests.factories import UserFactory
from tutor.engine.routing import production_release
from tutor.models import Release, ReleaseEvent, Rollout, User


@pytest.fixture
def production(db):
    return production_release()


@pytest.fixture
def better(production):
    return candidate("offline-v2", "v2")


@pytest.fixture
def leaky(production):
    return candidate("offline-leaky", "leaky")


@pytest.fixture
def passed(admin_user, better, gate_suite, django_capture_on_commit_callbacks):
    gate = run_gate(admin_user, better, django_capture_on_commit_callbacks)
    assert gate.verdict == "PASS", gate.report.get("reasons")
    return gate


@pytest.fixture
def failed(admin_user, leaky, gate_suite, django_capture_on_commit_callbacks):
    gate = run_gate(admin_user, leaky, django_capture_on_commit_callbacks)
    assert gate.verdict == "FAIL", gate.report.get("reasons")
    return gate


@pytest.fixture
def rollout(admin_user, passed, better):
    return gating.start_canary_on_gate(admin_user, better, percent=10)


@pytest.fixture
def second_admin(school):
    return UserFactory(username="admin2", role=User.Role.ADMIN, organisation=school)


def page_urls(release, gate, rollout):
    return [
        "/releases/",
        "/releases/new/",
        "/releases/audit/",
        f"/releases/{release.pk}/",
        f"/releases/gates/{gate.pk}/",
        f"/releases/gates/{gate.pk}/progress/",
        f"/releases/gates/{gate.pk}/report.json",
        f"/releases/canaries/{rollout.pk}/",
        f"/releases/canaries/{rollout.pk}/stats/",
    ]


def post_urls(release, rollout, override):
    return [
        (f"/releases/{release.pk}/gate/", {"policy": "test-gate"}),
        (f"/releases/{release.pk}/promote/", {}),
        (
            f"/releases/{release.pk}/override/",
            {"reason": "A teacher would like this promoted."},
        ),
        (f"/releases/{release.pk}/canary/", {"percent": 5}),
        (f"/releases/overrides/{override.pk}/confirm/", {}),
        (f"/releases/canaries/{rollout.pk}/rollback/", {"reason": "no"}),
        (
            "/releases/new/",
            {
                "name": "sneaky",
                "backend": "offline",
                "model": "m",
                "prompt_version": "socratic-v1",
            },
        ),
    ]


def snapshot():
    return (
        list(Release.objects.order_by("pk").values_list("name", "state")),
        list(Rollout.objects.values_list("pk", "state")),
        list(PromotionOverride.objects.values_list("pk", "status")),
        GateRun.objects.count(),
        ReleaseEvent.objects.count(),
    )


def test_anonymous_visitors_are_sent_to_log_in(client, passed, better, rollout):
    for url in page_urls(better, passed, rollout):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/login/?next="), url


def test_teachers_and_students_get_a_404_everywhere_and_change_nothing(
    login, admin_user, teacher, student, passed, failed, better, leaky, rollout
):
    gating.roll_back_canary(admin_user, rollout, reason="Making room for an override.")
    override = gating.request_override(
        admin_user, leaky, reason="We accept the leak risk for this release."
    )
    before = snapshot()
    for person in (teacher, student):
        client = login(person)
        for url in page_urls(better, passed, rollout):
            assert client.get(url).status_code == 404, url
        for url, data in post_urls(leaky, rollout, override):
            assert client.post(url, data).status_code == 404, url
    assert snapshot() == before


def test_the_list_shows_each_release_with_its_state_and_gate_verdict(
    login, admin_user, passed, failed
):
    html = login(admin_user).get("/releases/").content.decode()

    assert '<span class="state state-production">Production</span>' in html
    assert (
        f'<a href="/releases/gates/{passed.pk}/"><span class="verdict verdict-pass">PASS</span></a>'
        in html
    )
    assert (
        f'<a href="/releases/gates/{failed.pk}/"><span class="verdict verdict-fail">FAIL</span></a>'
        in html
    )
    assert (
        html.index("offline-v1")
        < html.index("offline-leaky")
        < html.index("offline-v2")
    )


def test_an_admin_registers_a_candidate(login, admin_user, production):
    response = login(admin_user).post("/releases/new/", {
        "name": "gpt-4o-mini-v3", "backend": "openai", "model": "gpt-4o-mini-2024-07-18", "base_url": "https://api.example.org/v1",
        "api_key_env": "OPENAI_API_KEY", "prompt_version": "socratic-v1", "params": '{"temperature": 0.3}', "description": "Cheaper.",
    })  # fmt: skip

    release = Release.objects.get(name="gpt-4o-mini-v3")
    assert response.status_code == 302
    assert response["Location"] == f"/releases/{release.pk}/"
    assert (release.state, release.params, release.api_key_env, release.created_by) == (
        "candidate",
        {"temperature": 0.3},
        "OPENAI_API_KEY",
        admin_user,
    )
    assert (
        ReleaseEvent.objects.get(release=release).action
        == ReleaseEvent.Action.REGISTERED
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (
            {"params": "{temperature: 0.3}"},
            "Not valid JSON: Expecting property name enclosed in double quotes (line 1, column 2).",
        ),
        (
            {"params": "[0.3]"},
            "Parameters must be a JSON object, e.g. {&quot;temperature&quot;: 0.3}.",
        ),
        (
            {"name": "offline-v1"},
            "A release with this name exists already: releases are immutable, pick a new name.",
        ),
        (
            {"api_key_env": "sk-live-123"},
            "Use the variable&#x27;s NAME in capitals (e.g. OPENAI_API_KEY), never the key itself.",
        ),
        ({"base_url": "ftp://example.org"}, "Enter a valid URL."),
        (
            {"prompt_version": "nope"},
            "Select a valid choice. nope is not one of the available choices.",
        ),
    ],
)
def test_the_register_form_explains_each_mistake_and_creates_nothing(
    login, admin_user, production, changes, message
):
    data = {
        "name": "new-one",
        "backend": "offline",
        "model": "offline-tutor-v2",
        "prompt_version": "socratic-v1",
        "params": "{}",
        **changes,
    }
    before = snapshot()

    response = login(admin_user).post("/releases/new/", data)

    assert response.status_code == 400
    assert message in response.content.decode()
    assert snapshot() == before


def test_an_admin_starts_a_gate_and_it_runs_in_the_background(
    login,
    admin_user,
    better,
    gate_suite,
    django_capture_on_commit_callbacks,
    monkeypatch,
):
    # The background thread itself runs in the browser test (a committed database); here it runs inline.
    started = []
    monkeypatch.setattr(
        releases_views,
        "_judge_in_background",
        lambda gate_id: (
            started.append(gate_id)
            or gating.run_gate_inline(GateRun.objects.get(pk=gate_id))
        ),
    )
    client = login(admin_user)
    assert (
        "test-gate/v1 (test-gate.yaml: suite gate-suite, 1 repeat(s))"
        in client.get(f"/releases/{better.pk}/").content.decode()
    )

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/releases/{better.pk}/gate/", {"policy": "test-gate", "suite": ""}
        )

    gate = GateRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/releases/gates/{gate.pk}/"
    assert started == [gate.pk]
    gate.refresh_from_db()
    assert (gate.status, gate.verdict, gate.created_by) == (
        "finished",
        "PASS",
        admin_user,
    )


def test_a_running_gate_polls_its_progress_and_reloads_when_judged(
    login, admin_user, better, gate_suite
):
    gate = gating.start_gate(admin_user, better, policy="test-gate", enqueue=False)
    client = login(admin_user)

    html = client.get(f"/releases/gates/{gate.pk}/").content.decode()
    partial = client.get(f"/releases/gates/{gate.pk}/progress/", HTTP_HX_REQUEST="true")

    assert (
        f'hx-get="/releases/gates/{gate.pk}/progress/" hx-trigger="every 1s" hx-swap="outerHTML"'
        in html
    )
    assert '<progress id="gate-progress-bar" max="14" value="0">0%</progress>' in html
    assert "HX-Refresh" not in partial

    gating.run_gate_inline(gate)
    done = client.get(f"/releases/gates/{gate.pk}/progress/", HTTP_HX_REQUEST="true")

    assert done["HX-Refresh"] == "true"
    assert "hx-get" not in done.content.decode()


def test_the_report_shows_the_forest_plot_hard_rules_costs_and_cases_side_by_side(
    login, admin_user, failed
):
    html = login(admin_user).get(f"/releases/gates/{failed.pk}/").content.decode()

    assert '<span class="verdict verdict-fail" id="verdict">FAIL</span>' in html
    assert (
        "FAIL: hard rule answer_leak: candidate answer_leak rate 66.67% over 6 cases"
        in html
    )
    assert (
        html.count('<g class="forest-row forest-') == 1 + 6
    )  # the primary metric and six scenario slices
    assert "<title>pedagogy_score: diff " in html
    assert "answer_leak rate upper 95% bound &lt;= 0.5" in html
    assert (
        "<td>Baseline: offline-v1</td>" in html
        and "<td>Candidate: offline-leaky</td>" in html
    )
    first_case = html.index('<article class="case-pair"')
    assert html.index("Sure! The answer is 3/4.", first_case) > first_case
    assert "answer_leak: fail" in html and "answer_leak: pass" in html
    assert html.index("<code>asks_answer-1</code>") < html.index(
        "<code>confused-3</code>"
    )  # worst regression first


def test_a_fail_shows_the_refusal_and_a_promotion_post_changes_nothing(
    login, admin_user, failed, leaky, production
):
    client = login(admin_user)
    html = client.get(f"/releases/gates/{failed.pk}/").content.decode()
    before = snapshot()

    response = client.post(
        f"/releases/{leaky.pk}/promote/", {"gate_run": failed.pk}, follow=True
    )

    assert (
        '<button type="button" disabled aria-describedby="promote-refusal">Promote offline-leaky to production</button>'
        in html
    )
    assert f"Promotion refused: gate run {failed.pk} says FAIL." in html
    assert (
        f"Gate run {failed.pk} says FAIL: promotion needs a PASS against production"
        in response.content.decode()
    )
    assert snapshot() == before
    assert Release.objects.production() == production


def test_an_admin_promotes_on_a_pass(login, admin_user, passed, better, production):
    client = login(admin_user)
    html = client.get(f"/releases/gates/{passed.pk}/").content.decode()
    assert f'<input type="hidden" name="gate_run" value="{passed.pk}">' in html

    response = client.post(
        f"/releases/{better.pk}/promote/", {"gate_run": passed.pk}, follow=True
    )

    assert "offline-v2 is now in production." in response.content.decode()
    assert Release.objects.production() == better
    assert Release.objects.get(pk=production.pk).state == "retired"
    assert ReleaseEvent.objects.get(action="promoted").evidence["gate_run"] == passed.pk


def test_an_override_needs_a_second_admin_in_the_pages(
    login, client, admin_user, second_admin, failed, leaky, production
):
    first = login(admin_user)
    first.post(
        f"/releases/{leaky.pk}/override/",
        {"reason": "The leak grader misreads worked examples here."},
    )
    override = PromotionOverride.objects.get()
    html = first.get(f"/releases/{leaky.pk}/").content.decode()
    assert (
        "<blockquote>The leak grader misreads worked examples here.</blockquote>"
        in html
    )
    assert "Waiting for a second admin: the admin who asked cannot confirm." in html
    before = snapshot()

    own = first.post(f"/releases/overrides/{override.pk}/confirm/", follow=True)

    assert (
        "You requested this override: a second admin must confirm it."
        in own.content.decode()
    )
    assert snapshot() == before

    client.logout()
    second = login(second_admin)
    assert (
        f'action="/releases/overrides/{override.pk}/confirm/"'
        in second.get(f"/releases/{leaky.pk}/").content.decode()
    )
    confirmed = second.post(f"/releases/overrides/{override.pk}/confirm/", follow=True)

    assert (
        "Override confirmed: offline-leaky is now in production."
        in confirmed.content.decode()
    )
    assert Release.objects.production() == leaky
    assert ReleaseEvent.objects.get(action="promoted").actor == second_admin


def test_a_short_override_reason_is_refused(login, admin_user, failed, leaky):
    response = login(admin_user).post(
        f"/releases/{leaky.pk}/override/", {"reason": "because"}, follow=True
    )

    assert (
        "Write why the gate should be overridden (at least 15 characters)."
        in response.content.decode()
    )
    assert not PromotionOverride.objects.exists()


def test_an_admin_starts_a_canary_watches_it_and_rolls_it_back(
    login, admin_user, passed, better
):
    client = login(admin_user)
    data = {"percent": 10, "min_samples": 5, "max_leak_rate": 0.02, "max_error_rate": 0.05, "max_moderation_flags": 0,
            "max_thumbs_down_delta": 0.1, "max_p95_latency_ratio": 1.5}  # fmt: skip

    response = client.post(f"/releases/{better.pk}/canary/", data)

    rollout = Rollout.objects.get()
    assert response["Location"] == f"/releases/canaries/{rollout.pk}/"
    assert (
        rollout.percent,
        rollout.guardrails["min_samples"],
        Release.objects.get(pk=better.pk).state,
    ) == (10, 5, "canary")
    html = client.get(f"/releases/canaries/{rollout.pk}/").content.decode()
    assert (
        f'hx-get="/releases/canaries/{rollout.pk}/stats/" hx-trigger="every 5s" hx-swap="outerHTML"'
        in html
    )
    assert (
        '<th scope="row">Tutor replies</th><td class="num">0</td><td class="num">0</td>'
        in html
    )

    rolled = client.post(
        f"/releases/canaries/{rollout.pk}/rollback/",
        {"reason": "Teachers report confusing hints."},
        follow=True,
    )

    assert (
        "Rolled back: students are answered by offline-v1 again."
        in rolled.content.decode()
    )
    rollout.refresh_from_db()
    assert (rollout.state, rollout.end_reason) == (
        "rolled_back",
        "Teachers report confusing hints.",
    )
    stats = client.get(
        f"/releases/canaries/{rollout.pk}/stats/", HTTP_HX_REQUEST="true"
    )
    assert stats["HX-Refresh"] == "true"
    assert ReleaseEvent.objects.get(action="rolled_back").actor == admin_user


def test_a_canary_is_refused_for_a_failed_candidate_and_bad_figures(
    login, admin_user, failed, passed, leaky, better
):
    client = login(admin_user)
    refused = client.post(
        f"/releases/{leaky.pk}/canary/",
        {"percent": 5, **gating.releases.DEFAULT_GUARDRAILS},
        follow=True,
    )
    too_many = client.post(
        f"/releases/{better.pk}/canary/",
        {"percent": 80, **gating.releases.DEFAULT_GUARDRAILS},
        follow=True,
    )

    assert (
        f"Gate run {failed.pk} says FAIL: a candidate that fails the gate never reaches students."
        in refused.content.decode()
    )
    assert (
        "Canary not started. Percent: Ensure this value is less than or equal to 50."
        in too_many.content.decode()
    )
    assert not Rollout.objects.exists()


def test_the_audit_log_shows_who_did_what_when_with_the_evidence(
    login, admin_user, passed, better
):
    gating.promote_with_evidence(admin_user, better)
    client = login(admin_user)

    html = client.get("/releases/audit/").content.decode()
    only_v1 = client.get("/releases/audit/?release=offline-v1").content.decode()

    assert '<span class="event-action action-promoted">Promoted</span>' in html
    assert '<span class="event-who">by admin</span>' in html
    assert (
        f'Evidence: <a href="/releases/gates/{passed.pk}/">gate run {passed.pk}</a> (PASS)'
        in html
    )
    assert (
        '<span class="event-who">by admin (automatic)</span>' in html
    )  # the gate's verdict, judged by the task
    assert "Retired" in only_v1 and "Promoted" not in only_v1


def test_the_json_report_downloads(login, admin_user, passed):
    data = login(admin_user).get(f"/releases/gates/{passed.pk}/report.json").json()

    assert (data["verdict"], data["exit_code"], data["gate"]["id"]) == (
        "PASS",
        0,
        passed.pk,
    )
