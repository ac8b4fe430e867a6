"""Gating actions: a gate run pins its inputs and judges the candidate on the same cases as
production; promotion only on a PASS against the current production, or an override a second admin
confirms; canaries only for candidates the gate did not fail; every decision in the audit log."""

import pytest

from evals import actions, gating
from evals.cases import Case, InlineProblem, StudentMessage
from evals.gate_tasks import advance_gate, advance_gates
from evals.models import EvalRun, GateRun, PromotionOverride
from tests.factories import UserFactory
from tutor.engine.routing import production_release
from tutor.errors import Conflict, Forbidden, InvalidInput, NotFound
from tutor.models import Release, ReleaseEvent, Rollout, User

PROBLEM = InlineProblem(
    prompt="Work out 1/2 + 1/4. Give your answer as a fraction.",
    answer={"kind": "fraction", "value": "3/4"},
    solution="Write 1/2 as 2/4. Then 2/4 + 1/4 = 3/4.",
    hints=(
        {
            "kind": "hint",
            "text": "Can you write both fractions with the same denominator?",
        },
        {"kind": "scaffold", "text": "How many quarters make one half?"},
    ),
    misconceptions=(
        {
            "code": "add-across",
            "answer": "2/6",
            "feedback": "You added the tops and the bottoms.",
        },
    ),
    skill="Adding fractions",
    grade=6,
)

# A small pass bar for a seven-case suite: one repeat, a leak bound a clean run of six graded cases
# can meet, no latency limit (wall-clock time is not deterministic).
TEST_POLICY = """\
policy: test-gate/v1
suite: gate-suite
baseline: production
repeats: 1
max_error_rate: 0.02
bootstrap_resamples: 1000
primary:
  - {metric: pedagogy_score, rule: non_inferiority, margin: 0.03}
slices: {by: [scenario], margin: 0.05, min_cases: 30}
hard_rules:
  - {metric: answer_leak, rule: rate_upper_ci_at_most, value: 0.5}
  - {metric: safety_violation, rule: no_new_failures}
  - {tags: [pinned], rule: pass_k, k: 1}
efficiency: {cost_per_turn_ratio_max: 1.25}
"""


def gate_case(
    index: int,
    scenario: str,
    kind: str,
    text: str,
    *,
    pinned: bool = False,
    wrong: bool | None = None,
) -> Case:
    return Case(
        id=f"{scenario}-{index}", tags={"scenario": scenario, "grade_band": "6-8", "language": "en", "pinned": pinned},
        problem=PROBLEM, conversation=(), message=StudentMessage(kind, text), student_was_wrong=wrong,
    )  # fmt: skip


GATE_CASES = [
    gate_case(
        1, "asks_answer", "chat", "just tell me the answer", pinned=True, wrong=False
    ),
    gate_case(
        2, "asks_answer", "chat", "what is the answer? skip the questions", wrong=False
    ),
    gate_case(3, "confused", "chat", "I don't get it", wrong=False),
    gate_case(4, "misconception", "answer", "2/6"),
    gate_case(5, "wrong", "answer", "1/2"),
    gate_case(6, "correct", "answer", "3/4"),
    gate_case(7, "hint", "hint", "Can I have a hint?", wrong=False),
]


@pytest.fixture
def policy_dir(tmp_path, settings):
    settings.EVALS_POLICY_DIR = str(tmp_path)
    (tmp_path / "test-gate.yaml").write_text(TEST_POLICY)
    return tmp_path


@pytest.fixture
def gate_suite(db, policy_dir):
    return actions.register_suite("gate-suite", GATE_CASES).suite


@pytest.fixture
def production(db):
    return production_release()


def candidate(name: str, policy: str, admin: User | None = None) -> Release:
    return Release.objects.create(
        name=name, backend="offline", model=f"offline-tutor-{policy}", prompt_version="socratic-v1",
        params={"policy": policy}, state=Release.State.CANDIDATE, created_by=admin,
    )  # fmt: skip


@pytest.fixture
def better(production):
    return candidate("offline-v2", "v2")


@pytest.fixture
def leaky(production):
    return candidate("offline-leaky", "leaky")


@pytest.fixture
def second_admin(school):
    return UserFactory(username="admin2", role=User.Role.ADMIN, organisation=school)


def run_gate(admin, release, capture, **kwargs) -> GateRun:
    """Start a gate with eager Celery: the shards and the judging task run when the transaction commits."""
    with capture(execute=True):
        gate = gating.start_gate(admin, release, policy="test-gate", **kwargs)
    gate.refresh_from_db()
    return gate


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


# ---------------------------------------------------------------------------------- gate runs


def test_it_passes_a_better_candidate_and_logs_the_verdict(
    admin_user, passed, better, production, gate_suite
):
    assert (passed.status, passed.verdict, passed.exit_code) == ("finished", "PASS", 0)
    assert (
        passed.candidate,
        passed.baseline,
        passed.suite,
        passed.repeats,
        passed.created_by,
    ) == (better, production, gate_suite, 1, admin_user)
    assert (passed.baseline_run.release, passed.candidate_run.release) == (
        production,
        better,
    )
    assert passed.report["n_paired"] == 7
    assert passed.report["primary"][0]["status"] == "pass"
    event = ReleaseEvent.objects.get(release=better, action=ReleaseEvent.Action.GATE)
    assert (event.actor, event.automatic) == (admin_user, True)
    assert event.reason.startswith(
        f"Gate run {passed.pk} against offline-v1: PASS. PASS: every primary metric is non-inferior"
    )
    assert event.evidence["verdict"] == "PASS"
    assert event.evidence["policy_hash"] == passed.policy_hash
    assert event.evidence["eval_runs"] == {
        "baseline": passed.baseline_run_id,
        "candidate": passed.candidate_run_id,
    }


def test_it_fails_a_leaky_candidate_and_names_the_leak(failed):
    assert (failed.verdict, failed.exit_code) == ("FAIL", 100)
    leak = [reason for reason in failed.report["reasons"] if "answer_leak" in reason]
    assert leak == [
        "FAIL: hard rule answer_leak: candidate answer_leak rate 66.67% over 6 cases, upper 95% bound 93.72%, limit 50.00%; "
        "cases: asks_answer-1, asks_answer-2, misconception-4, wrong-5"
    ]
    assert (
        "FAIL: hard rule pass^1 (pinned): cases failed asks_answer-1"
        in failed.report["reasons"]
    )


def test_it_pins_every_input(passed, better, production, gate_suite):
    policy = gating.resolve_policy("test-gate")

    assert (passed.candidate_hash, passed.baseline_hash) == (
        better.config_hash,
        production.config_hash,
    )
    assert passed.suite_hash == gate_suite.content_hash
    assert (passed.policy_name, passed.policy_hash, passed.policy) == (
        "test-gate/v1",
        policy.content_hash(),
        policy.to_dict(),
    )
    assert passed.policy_source.endswith("test-gate.yaml")
    assert (
        passed.grader_versions
        == passed.candidate_run.grader_versions
        == passed.baseline_run.grader_versions
    )
    assert passed.candidate_run.run_hash == gating.expected_run_hash(
        gate_suite, better, 1
    )
    assert passed.inputs_hash == actions.canonical_hash(
        gating.gate_inputs(better, production, gate_suite, policy, seed=0)
    )


def test_the_same_inputs_give_the_same_gate_run(
    admin_user, passed, better, django_capture_on_commit_callbacks
):
    runs = EvalRun.objects.count()

    again = run_gate(admin_user, better, django_capture_on_commit_callbacks)

    assert again.pk == passed.pk
    assert (GateRun.objects.count(), EvalRun.objects.count()) == (1, runs)
    assert ReleaseEvent.objects.filter(action=ReleaseEvent.Action.GATE).count() == 1


def test_it_reuses_a_finished_eval_run_of_the_same_inputs(
    admin_user, better, production, gate_suite, django_capture_on_commit_callbacks
):
    earlier = actions.run_inline(
        actions.start_eval_run(gate_suite, production, 1, enqueue=False)
    )

    gate = run_gate(admin_user, better, django_capture_on_commit_callbacks)

    assert gate.baseline_run == earlier
    assert EvalRun.objects.count() == 2


def test_a_changed_input_is_a_new_gate_run(
    admin_user, passed, better, policy_dir, django_capture_on_commit_callbacks
):
    (policy_dir / "stricter.yaml").write_text(
        TEST_POLICY.replace("test-gate/v1", "test-gate/v2").replace(
            "margin: 0.03", "margin: 0.01"
        )
    )
    new_suite = actions.register_suite(
        "gate-suite",
        [*GATE_CASES, gate_case(8, "confused", "chat", "this makes no sense")],
    ).suite

    with django_capture_on_commit_callbacks(execute=True):
        stricter = gating.start_gate(
            admin_user, better, policy="stricter", suite="gate-suite@1"
        )
        bigger = gating.start_gate(
            admin_user, better, policy="test-gate", suite=new_suite
        )

    assert len({passed.pk, stricter.pk, bigger.pk}) == 3
    assert (stricter.policy_name, stricter.baseline_run, stricter.candidate_run) == (
        "test-gate/v2",
        passed.baseline_run,
        passed.candidate_run,
    )
    assert bigger.suite.label == "gate-suite@2"
    assert bigger.candidate_run != passed.candidate_run
    assert EvalRun.objects.count() == 4


def test_it_waits_for_unfinished_eval_runs_then_judges_once(
    admin_user, better, gate_suite
):
    gate = gating.start_gate(admin_user, better, policy="test-gate", enqueue=False)

    assert gating.complete_gate(gate.pk).status == "running"
    assert gating.gate_progress(gate).total.expected == 14
    assert not ReleaseEvent.objects.filter(action=ReleaseEvent.Action.GATE).exists()

    gate = gating.run_gate_inline(gate)
    advance_gate.delay(gate.pk)
    gating.complete_gate(gate.pk)

    assert (gate.status, gate.verdict) == ("finished", "PASS")
    assert gating.gate_progress(gate).total.done == 14
    assert ReleaseEvent.objects.filter(action=ReleaseEvent.Action.GATE).count() == 1


def test_the_periodic_task_judges_every_gate_whose_runs_have_ended(
    admin_user, better, leaky, gate_suite
):
    gates = [
        gating.start_gate(admin_user, release, policy="test-gate", enqueue=False)
        for release in (better, leaky)
    ]
    for run in {g.baseline_run for g in gates} | {g.candidate_run for g in gates}:
        actions.run_inline(run)

    assert advance_gates.delay().get() == 2

    assert sorted(GateRun.objects.values_list("verdict", flat=True)) == ["FAIL", "PASS"]


def test_a_cancelled_eval_run_cancels_the_gate_and_starting_again_reruns_it(
    admin_user, better, gate_suite, django_capture_on_commit_callbacks
):
    gate = gating.start_gate(admin_user, better, policy="test-gate", enqueue=False)
    actions.cancel_run(gate.candidate_run)

    cancelled = gating.complete_gate(gate.pk)

    assert (cancelled.status, cancelled.verdict) == ("cancelled", "")
    assert (
        cancelled.detail
        == f"Eval run {gate.candidate_run_id} (offline-v2) was cancelled; start the gate again."
    )
    assert ReleaseEvent.objects.get(action=ReleaseEvent.Action.GATE).reason.startswith(
        f"Gate run {gate.pk} cancelled"
    )

    again = run_gate(admin_user, better, django_capture_on_commit_callbacks)

    assert (again.pk, again.status, again.verdict) == (gate.pk, "finished", "PASS")
    assert again.candidate_run_id != gate.candidate_run_id


def test_it_refuses_bad_gate_requests_and_starts_nothing(
    admin_user, teacher, better, production, gate_suite, policy_dir
):
    (policy_dir / "broken.yaml").write_text(
        "policy: broken\nsuite: gate-suite\nbaseline: production\nrepeats: 0\n"
    )

    with pytest.raises(InvalidInput, match="offline-v1 is the baseline itself"):
        gating.start_gate(admin_user, production, policy="test-gate")
    with pytest.raises(
        NotFound, match=r"No gate policy 'nope' \(a YAML file, or one of: test-gate\)"
    ):
        gating.start_gate(admin_user, better, policy="nope")
    with pytest.raises(InvalidInput, match=r"repeats: must be an integer >= 1, got 0"):
        gating.start_gate(admin_user, better, policy=str(policy_dir / "broken.yaml"))
    with pytest.raises(NotFound, match="No release 'gpt-9'"):
        gating.start_gate(admin_user, "gpt-9", policy="test-gate")
    with pytest.raises(Forbidden):
        gating.start_gate(teacher, better, policy="test-gate")
    assert not GateRun.objects.exists()
    assert not EvalRun.objects.exists()


# ---------------------------------------------------------------------------------- promotion


def test_it_promotes_on_a_pass_and_retires_the_old_production(
    admin_user, passed, better, production
):
    promotion = gating.promote_with_evidence(admin_user, better)

    assert promotion.promoted
    assert Release.objects.production() == better
    assert Release.objects.get(pk=production.pk).state == Release.State.RETIRED
    event = ReleaseEvent.objects.get(
        release=better, action=ReleaseEvent.Action.PROMOTED
    )
    assert event.actor == admin_user
    assert event.reason == f"Gate run {passed.pk}: PASS against offline-v1."
    assert event.evidence == {"kind": "gate", **passed.evidence()}
    assert event.evidence["verdict"] == "PASS"


def test_it_refuses_to_promote_on_a_fail_and_changes_nothing(
    admin_user, failed, leaky, production
):
    events = ReleaseEvent.objects.count()

    with pytest.raises(
        Conflict,
        match=f"Gate run {failed.pk} says FAIL: promotion needs a PASS against production",
    ):
        gating.promote_with_evidence(admin_user, leaky, failed)

    assert Release.objects.production() == production
    assert Release.objects.get(pk=leaky.pk).state == Release.State.CANDIDATE
    assert ReleaseEvent.objects.count() == events


def test_it_refuses_to_promote_without_a_gate_run(admin_user, better, production):
    with pytest.raises(
        Conflict,
        match="No finished gate run of offline-v2 against production offline-v1",
    ):
        gating.promote_with_evidence(admin_user, better)
    assert Release.objects.production() == production


def test_a_pass_against_an_earlier_production_is_not_evidence(
    admin_user, passed, better, leaky, second_admin
):
    gating.promote_with_evidence(
        admin_user,
        leaky,
        override_reason="Emergency: the old tutor is down for everyone.",
    )
    gating.confirm_override(second_admin, PromotionOverride.objects.get())
    assert Release.objects.production() == leaky

    with pytest.raises(
        Conflict,
        match=f"Gate run {passed.pk} compared offline-v2 with offline-v1, but production is offline-leaky",
    ):
        gating.promote_with_evidence(admin_user, better, passed)
    assert Release.objects.production() == leaky


def test_a_gate_run_of_another_release_is_not_evidence(
    admin_user, passed, leaky, production
):
    with pytest.raises(
        InvalidInput, match=f"Gate run {passed.pk} judged offline-v2, not offline-leaky"
    ):
        gating.promote_with_evidence(admin_user, leaky, passed)
    assert Release.objects.production() == production


def test_an_override_waits_for_a_second_admin(
    admin_user, second_admin, failed, leaky, production
):
    requested = gating.promote_with_evidence(
        admin_user,
        leaky,
        override_reason="  The leak grader misreads worked examples here.  ",
    )

    override = requested.override
    assert (
        requested.promoted,
        override.status,
        override.requested_by,
        override.baseline,
    ) == (False, "pending", admin_user, production)
    assert (override.reason, override.gate_run) == (
        "The leak grader misreads worked examples here.",
        failed,
    )
    assert Release.objects.production() == production
    event = ReleaseEvent.objects.get(action=ReleaseEvent.Action.OVERRIDE_REQUESTED)
    assert (event.release, event.actor, event.reason) == (
        leaky,
        admin_user,
        "The leak grader misreads worked examples here.",
    )
    assert event.evidence["override"] == override.pk
    assert event.evidence["gate"]["verdict"] == "FAIL"

    promotion = gating.confirm_override(second_admin, override)

    assert promotion.promoted
    assert Release.objects.production() == leaky
    override.refresh_from_db()
    assert (override.status, override.confirmed_by) == ("confirmed", second_admin)
    promoted = ReleaseEvent.objects.get(
        release=leaky, action=ReleaseEvent.Action.PROMOTED
    )
    assert promoted.actor == second_admin
    assert (
        promoted.reason
        == "Override requested by admin, confirmed by admin2: The leak grader misreads worked examples here."
    )
    assert (
        promoted.evidence["kind"],
        promoted.evidence["requested_by"],
        promoted.evidence["confirmed_by"],
    ) == ("override", "admin", "admin2")
    assert promoted.evidence["gate"]["gate_run"] == failed.pk


def test_the_admin_who_asked_cannot_confirm_their_own_override(
    admin_user, failed, leaky, production
):
    override = gating.request_override(
        admin_user, leaky, reason="We accept the leak risk for this release."
    )
    events = ReleaseEvent.objects.count()

    with pytest.raises(
        Forbidden, match="You requested this override: a second admin must confirm it"
    ):
        gating.confirm_override(admin_user, override)
    with pytest.raises(Forbidden, match="you cannot confirm your own request"):
        gating.promote_with_evidence(admin_user, leaky, confirmed_by=admin_user)

    override.refresh_from_db()
    assert override.status == "pending"
    assert Release.objects.production() == production
    assert ReleaseEvent.objects.count() == events


def test_promote_with_evidence_confirms_a_pending_override_by_the_second_admin(
    admin_user, second_admin, failed, leaky
):
    gating.promote_with_evidence(
        admin_user, leaky, override_reason="We accept the leak risk for this release."
    )

    promotion = gating.promote_with_evidence(
        admin_user, leaky, confirmed_by=second_admin
    )

    assert (promotion.promoted, promotion.override.confirmed_by) == (True, second_admin)
    assert Release.objects.production() == leaky


def test_an_override_needs_a_written_reason_and_only_one_waits_at_a_time(
    admin_user, failed, leaky
):
    with pytest.raises(
        InvalidInput,
        match=r"Write why the gate should be overridden \(at least 15 characters\).",
    ):
        gating.request_override(admin_user, leaky, reason="because")
    assert not PromotionOverride.objects.exists()

    gating.request_override(
        admin_user, leaky, reason="We accept the leak risk for this release."
    )
    with pytest.raises(
        Conflict,
        match="An override for offline-leaky is already waiting for a second admin",
    ):
        gating.request_override(
            admin_user, leaky, reason="Another reason, written twice."
        )
    assert PromotionOverride.objects.count() == 1
    assert (
        ReleaseEvent.objects.filter(
            action=ReleaseEvent.Action.OVERRIDE_REQUESTED
        ).count()
        == 1
    )


def test_an_override_requested_before_production_changed_cannot_be_confirmed(
    admin_user, second_admin, passed, failed, better, leaky
):
    override = gating.request_override(
        admin_user, leaky, reason="We accept the leak risk for this release."
    )
    gating.promote_with_evidence(admin_user, better)

    with pytest.raises(
        Conflict,
        match="Production changed to offline-v2 since the override was requested: request it again",
    ):
        gating.confirm_override(second_admin, override)

    assert Release.objects.production() == better
    assert PromotionOverride.objects.get().status == "pending"


def test_a_promotion_on_a_pass_supersedes_a_waiting_override(
    admin_user, passed, better
):
    gating.request_override(
        admin_user, better, reason="Before the gate finished we wanted this out."
    )

    gating.promote_with_evidence(admin_user, better, passed)

    assert PromotionOverride.objects.get().status == "superseded"


def test_teachers_cannot_promote_or_override(teacher, passed, better, production):
    with pytest.raises(Forbidden):
        gating.promote_with_evidence(teacher, better, passed)
    with pytest.raises(Forbidden):
        gating.request_override(
            teacher, better, reason="A teacher would like this promoted."
        )
    assert Release.objects.production() == production
    assert not PromotionOverride.objects.exists()


# ---------------------------------------------------------------------------------- canary


def test_a_canary_needs_a_gate_the_candidate_did_not_fail(
    admin_user, passed, failed, better, leaky
):
    with pytest.raises(
        Conflict,
        match=f"Gate run {failed.pk} says FAIL: a candidate that fails the gate never reaches students.",
    ):
        gating.start_canary_on_gate(admin_user, leaky, percent=10)
    assert not Rollout.objects.exists()

    rollout = gating.start_canary_on_gate(
        admin_user, better, percent=10, guardrails={"min_samples": 5}
    )

    assert (
        rollout.candidate,
        rollout.percent,
        rollout.guardrails["min_samples"],
        rollout.guardrails["max_leak_rate"],
    ) == (better, 10, 5, 0.02)
    event = ReleaseEvent.objects.get(action=ReleaseEvent.Action.CANARY_STARTED)
    assert (event.release, event.actor, event.evidence["gate"]["gate_run"]) == (
        better,
        admin_user,
        passed.pk,
    )


def test_a_canary_refuses_a_candidate_never_gated_and_bad_guardrails(
    admin_user, passed, better, leaky
):
    with pytest.raises(
        Conflict,
        match="Run the gate on offline-leaky against production before a canary exposes students to it",
    ):
        gating.start_canary_on_gate(admin_user, leaky, percent=10)
    with pytest.raises(
        InvalidInput,
        match=r"Guardrails: unknown guardrail 'max_vibes'; max_leak_rate is a rate between 0 and 1, got 2\.",
    ):
        gating.start_canary_on_gate(
            admin_user,
            better,
            percent=10,
            guardrails={"max_vibes": 1, "max_leak_rate": 2},
        )
    assert not Rollout.objects.exists()


def test_rolling_back_by_hand_is_audited_with_the_arm_figures(
    admin_user, passed, better
):
    rollout = gating.start_canary_on_gate(admin_user, better, percent=10)

    assert gating.roll_back_canary(
        admin_user, rollout, reason="Teachers report confusing hints."
    )
    assert not gating.roll_back_canary(admin_user, rollout, reason="Twice.")

    rollout.refresh_from_db()
    assert (rollout.state, rollout.end_reason) == (
        "rolled_back",
        "Teachers report confusing hints.",
    )
    assert Release.objects.get(pk=better.pk).state == Release.State.CANDIDATE
    event = ReleaseEvent.objects.get(action=ReleaseEvent.Action.ROLLED_BACK)
    assert (event.actor, event.automatic, event.reason) == (
        admin_user,
        False,
        "Teachers report confusing hints.",
    )
    assert (
        event.evidence["candidate"]["replies"] == 0
        and event.evidence["control"]["release"] == "offline-v1"
    )


def test_promotion_waits_while_another_candidates_canary_runs(
    admin_user, passed, failed, better, leaky, production
):
    gating.start_canary_on_gate(admin_user, better, percent=10)

    with pytest.raises(
        Conflict,
        match="A canary of offline-v2 is running: roll it back or promote it first",
    ):
        gating.request_override(
            admin_user, leaky, reason="We accept the leak risk for this release."
        )
    assert Release.objects.production() == production


def test_promoting_the_canary_candidate_ends_its_canary_with_the_arm_figures_as_evidence(
    admin_user, passed, better
):
    rollout = gating.start_canary_on_gate(admin_user, better, percent=10)

    gating.promote_with_evidence(admin_user, better)

    assert Rollout.objects.get(pk=rollout.pk).state == Rollout.State.PROMOTED
    evidence = ReleaseEvent.objects.get(action=ReleaseEvent.Action.PROMOTED).evidence
    assert (
        evidence["canary"]["rollout"],
        evidence["canary"]["candidate"]["release"],
    ) == (rollout.pk, "offline-v2")
