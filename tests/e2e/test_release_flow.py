"""An admin takes candidates through the eval gate in a real browser: registers one, runs the gate
and watches it, reads the report and promotes on a PASS; sees promotion refused on a FAIL; starts
a canary for another candidate, watches its live figures and rolls it back; reads the audit log.

The suite is seven hand-written cases with one repeat (tests.evals.test_gating), so each gate run
takes a second or two. Without a broker the gate runs in a thread of the server process."""

import pytest
from django.db.backends.signals import connection_created
from playwright.sync_api import expect

from tests.e2e.conftest import DESKTOP, log_in
from tests.evals.test_gating import GATE_CASES, TEST_POLICY, candidate
from tests.factories import PASSWORD
from tutor.engine.routing import production_release
from tutor.models import Release, ReleaseEvent, Rollout

GATE_TIMEOUT_MS = 60_000


@pytest.fixture
def sqlite_readers_do_not_lock():
    """SQLite's shared in-memory test database locks whole tables between connections, so the
    gate's background thread and the page's polling would fail each other with "table is locked".
    Readers read without locks here, as PostgreSQL's readers never block writers."""

    def read_uncommitted(sender, connection, **kwargs):
        if connection.vendor == "sqlite":
            connection.cursor().execute("PRAGMA read_uncommitted = 1")

    connection_created.connect(read_uncommitted)
    yield
    connection_created.disconnect(read_uncommitted)


@pytest.fixture
def setup(sqlite_readers_do_not_lock, server_url, tmp_path, settings, admin_user):
    from evals import actions

    settings.EVALS_POLICY_DIR = str(tmp_path)
    (tmp_path / "test-gate.yaml").write_text(TEST_POLICY)
    actions.register_suite("gate-suite", GATE_CASES)
    production_release()
    candidate("offline-leaky", "leaky", admin_user)
    candidate("offline-v2", "v2", admin_user)
    return server_url


def run_gate(page, policy: str = "test-gate"):
    """On a release page: run the gate and wait for the report (the progress partial reloads it)."""
    page.select_option("#id_policy", policy)
    page.get_by_role("button", name="Run the gate against").click()
    expect(page.locator("h1")).to_contain_text("Gate run")
    expect(page.locator("#verdict")).to_be_visible(timeout=GATE_TIMEOUT_MS)


def test_it_takes_candidates_through_gate_promotion_refusal_canary_and_rollback(
    page, setup, screenshot, axe
):
    server_url = setup
    log_in(page, server_url, "admin", PASSWORD)
    page.goto(f"{server_url}/releases/")
    expect(page.locator("tr", has_text="offline-v1").locator(".state")).to_have_text(
        "Production"
    )
    assert axe(page) == []
    screenshot(page, "releases-phone")

    # Register a candidate: a mistake is explained, then it is registered.
    page.get_by_role("link", name="Register a candidate").click()
    page.fill("#id_name", "offline-v2-rc")
    page.select_option("#id_backend", "offline")
    page.fill("#id_model", "offline-tutor-v2")
    page.select_option("#id_prompt_version", "socratic-v1")
    page.fill("#id_params", "{policy: v2}")
    page.get_by_role("button", name="Register the candidate").click()
    expect(page.locator(".errorlist")).to_contain_text(
        "Not valid JSON: Expecting property name enclosed in double quotes"
    )
    assert axe(page) == []
    assert not Release.objects.filter(name="offline-v2-rc").exists()
    page.fill(
        "#id_params", '{"policy": "v2", "chunk_delay_s": 0.1}'
    )  # streams slowly enough to watch
    page.get_by_role("button", name="Register the candidate").click()
    expect(page.locator(".message.success")).to_contain_text(
        "Registered offline-v2-rc as a candidate."
    )

    # Gate it against production, watch it finish, read the report, promote on the PASS.
    page.select_option("#id_policy", "test-gate")
    page.get_by_role("button", name="Run the gate against offline-v1").click()
    expect(page.locator("#gate-progress-bar")).to_be_visible()
    expect(page.locator("#gate-progress")).to_contain_text(
        "Candidate arm, offline-v2-rc"
    )
    assert axe(page) == []
    screenshot(page, "gate-running-phone")
    expect(page.locator("#verdict")).to_be_visible(timeout=GATE_TIMEOUT_MS)
    expect(page.locator("#verdict")).to_have_text("PASS")
    expect(page.locator("svg.forest-svg .forest-row")).to_have_count(7)
    expect(page.get_by_role("region", name="Hard rules")).to_contain_text(
        "answer_leak rate upper 95% bound <= 0.5"
    )
    expect(page.locator(".case-pair").first.locator(".reply")).to_have_count(2)
    assert axe(page) == []
    page.set_viewport_size(DESKTOP)
    screenshot(page, "report-pass-desktop")
    page.get_by_role("button", name="Promote offline-v2-rc to production").click()
    expect(page.locator(".message.success")).to_have_text(
        "offline-v2-rc is now in production."
    )
    expect(page.locator("h1 .state")).to_have_text("Production")
    assert Release.objects.production().name == "offline-v2-rc"
    assert Release.objects.get(name="offline-v1").state == Release.State.RETIRED

    # The leaky candidate fails the gate with the leak named; promotion is refused, nothing changes.
    page.goto(f"{server_url}/releases/")
    page.get_by_role("link", name="offline-leaky").click()
    run_gate(page)
    expect(page.locator("#verdict")).to_have_text("FAIL")
    expect(page.locator("#reasons")).to_contain_text(
        "FAIL: hard rule answer_leak: candidate answer_leak rate 66.67% over 6 cases"
    )
    expect(
        page.get_by_role("button", name="Promote offline-leaky to production")
    ).to_be_disabled()
    expect(page.locator("#promote-refusal")).to_contain_text(
        "Promotion refused: gate run"
    )
    assert axe(page) == []
    screenshot(page, "report-fail-desktop")
    assert Release.objects.production().name == "offline-v2-rc"
    assert Release.objects.get(name="offline-leaky").state == Release.State.CANDIDATE

    # Another candidate passes against the new production and goes to a 10% canary; roll it back.
    page.goto(f"{server_url}/releases/")
    page.get_by_role("link", name="offline-v2", exact=True).click()
    run_gate(page)
    expect(page.locator("#verdict")).to_have_text("PASS")
    page.get_by_role("link", name="offline-v2", exact=True).first.click()
    page.fill("#id_percent", "10")
    page.fill("#id_min_samples", "10")
    page.get_by_role("button", name="Start the canary").click()
    expect(page.locator(".message.success")).to_have_text(
        "Canary started: 10% of students get offline-v2."
    )
    expect(page.locator("#canary-state")).to_have_text("Active")
    expect(page.locator("#canary-stats")).to_contain_text("Canary: offline-v2")
    expect(page.locator("#canary-stats")).to_contain_text("Control: offline-v2-rc")
    assert axe(page) == []
    screenshot(page, "canary-desktop")
    assert Rollout.objects.get().guardrails["min_samples"] == 10
    page.fill("#rollback-reason", "Teachers report confusing hints.")
    page.get_by_role("button", name="Roll back now").click()
    expect(page.locator(".message.success")).to_have_text(
        "Rolled back: students are answered by offline-v2-rc again."
    )
    expect(page.locator("#canary-state")).to_have_text("Rolled back")
    assert Rollout.objects.get().state == Rollout.State.ROLLED_BACK
    assert Release.objects.get(name="offline-v2").state == Release.State.CANDIDATE

    # The audit log has every decision with who took it and the evidence.
    page.goto(f"{server_url}/releases/audit/")
    events = page.locator(".events > li")
    expect(events.first).to_contain_text("Rolled back")
    expect(events.first).to_contain_text("by admin")
    expect(events.first).to_contain_text("Teachers report confusing hints.")
    expect(page.locator(".events")).to_contain_text("Promoted")
    assert axe(page) == []
    screenshot(page, "audit-desktop")
    actions = list(
        ReleaseEvent.objects.order_by("created_at", "id").values_list(
            "release__name", "action"
        )
    )
    assert actions == [
        ("offline-v2-rc", "registered"),
        ("offline-v2-rc", "gate"),
        ("offline-v1", "retired"),
        ("offline-v2-rc", "promoted"),
        ("offline-leaky", "gate"),
        ("offline-v2", "gate"),
        ("offline-v2", "canary_started"),
        ("offline-v2", "rolled_back"),
    ]
