import json
from pathlib import Path

import numpy as np
import pytest

from evals.gate.policy import load_policy, parse_policy
from evals.gate.verdict import EXIT_CODES, ResultRow, Verdict, evaluate_gate

POLICY = load_policy(
    Path(__file__).resolve().parents[2] / "evals" / "policies" / "tutor-upgrade-v1.yaml"
)
GRADE_BANDS = ("k-2", "3-5", "6-8", "9-12")
SCENARIOS = ("homework", "exam_prep", "concept", "practice")
PINNED = ("case-000", "case-001", "case-002")


def simulate(
    n_cases=400,
    *,
    repeats=3,
    seed=1,
    shift=0.0,
    scenario_shift=None,
    noise=0.1,
    leak_cases=(),
    safety_cases=(),
    both_unsafe_cases=(),
    candidate_error_rate=0.0,
    cost_ratio=1.0,
    latency_ratio=1.0,
    metric="pedagogy_score",
):
    """Paired results from one latent quality per case; candidate scores move by ``shift``.

    Both arms draw independent grading noise per repeat, as a real re-run would.
    """
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n_cases):
        case_id = f"case-{i:03d}"
        scenario = SCENARIOS[(i // 4) % 4]
        tags = {"grade_band": GRADE_BANDS[i % 4], "scenario": scenario}
        if case_id in PINNED:
            tags["labels"] = ["pinned"]
        quality = 0.9 if case_id in PINNED else rng.uniform(0.4, 0.85)
        # pinned cases are stable
        case_noise = min(noise, 0.05) if case_id in PINNED else noise
        for arm in ("baseline", "candidate"):
            delta = 0.0
            if arm == "candidate":
                delta = shift + (scenario_shift or {}).get(scenario, 0.0)
            for r in range(repeats):
                if arm == "candidate" and rng.random() < candidate_error_rate:
                    rows.append(ResultRow(case_id, tags, arm, r, {}, error="timeout"))
                    continue
                unsafe = case_id in both_unsafe_cases or (
                    arm == "candidate" and case_id in safety_cases and r == 1
                )
                metrics = {
                    metric: float(
                        np.clip(quality + delta + rng.normal(0, case_noise), 0, 1)
                    ),
                    "answer_leak": float(arm == "candidate" and case_id in leak_cases),
                    "safety_violation": float(unsafe),
                }
                rows.append(
                    ResultRow(
                        case_id,
                        tags,
                        arm,
                        r,
                        metrics,
                        cost_usd=0.002 * (cost_ratio if arm == "candidate" else 1.0),
                        latency_ms=float(rng.lognormal(7, 0.3))
                        * (latency_ratio if arm == "candidate" else 1.0),
                    )
                )
    return rows


def reasons_text(report) -> str:
    return "\n".join(report.reasons)


def test_it_passes_identical_releases():
    report = evaluate_gate(POLICY, simulate(), seed=0)
    assert report.verdict == Verdict.PASS
    assert report.exit_code == 0
    assert len(report.reasons) == 1
    assert report.reasons[0].startswith("PASS")
    (primary,) = report.primary
    assert primary.status == "pass"
    assert primary.n_cases == 400
    assert -0.03 < primary.ci_low <= primary.diff <= primary.ci_high < 0.03
    assert primary.wins + primary.ties + primary.losses == 400
    assert not primary.binary
    assert primary.mcnemar_p is None
    assert 0 < primary.resolution < primary.mde < 0.03
    assert {s.status for s in report.slices} <= {"pass"}
    assert len(report.slices) == 8
    assert [h.status for h in report.hard_rules] == ["pass", "pass", "pass"]
    assert [e.status for e in report.efficiency] == ["pass", "pass"]
    assert [e.error_rate for e in report.errors] == [0.0, 0.0]


def test_it_fails_a_planted_five_point_regression_on_400_cases():
    report = evaluate_gate(POLICY, simulate(shift=-0.05), seed=0)
    assert report.verdict == Verdict.FAIL
    assert report.exit_code == 100
    (primary,) = report.primary
    assert primary.status == "fail"
    assert primary.ci_high < -0.03
    assert primary.diff == pytest.approx(-0.05, abs=0.01)
    assert primary.losses > primary.wins
    assert "primary metric 'pedagogy_score' regressed" in reasons_text(report)


def test_it_catches_a_slice_regression_hidden_under_a_better_average():
    rows = simulate(
        scenario_shift={
            "homework": -0.15,
            "exam_prep": 0.07,
            "concept": 0.07,
            "practice": 0.07,
        }
    )
    report = evaluate_gate(POLICY, rows, seed=0)
    (primary,) = report.primary
    assert primary.diff > 0  # the global average improved
    assert primary.status == "pass"
    assert report.verdict == Verdict.FAIL
    failed = [s for s in report.slices if s.status == "fail"]
    assert [(s.tag, s.value) for s in failed] == [("scenario", "homework")]
    assert failed[0].n_cases == 100
    assert failed[0].p_holm < 0.05
    assert len(report.reasons) == 1
    assert report.reasons[0].startswith(
        "FAIL: slice scenario=homework regressed on 'pedagogy_score'"
    )


def test_it_fails_a_leaky_candidate_naming_answer_leak():
    leaky = tuple(f"case-{i:03d}" for i in range(100, 120))  # 5% of cases
    report = evaluate_gate(POLICY, simulate(leak_cases=leaky), seed=0)
    assert report.verdict == Verdict.FAIL
    leak = report.hard_rules[0]
    assert leak.metric == "answer_leak"
    assert leak.status == "fail"
    assert leak.observed == pytest.approx(0.05)
    assert leak.bound > 0.05
    assert leak.cases == list(leaky)
    assert "FAIL: hard rule answer_leak" in reasons_text(report)


def test_it_passes_a_rare_leak_whose_upper_bound_stays_under_the_limit():
    report = evaluate_gate(POLICY, simulate(leak_cases=("case-100",)), seed=0)
    leak = report.hard_rules[0]
    assert leak.observed == pytest.approx(1 / 400)
    assert leak.bound == pytest.approx(0.0118, abs=5e-4)
    assert leak.status == "pass"
    assert leak.cases == ["case-100"]
    assert report.verdict == Verdict.PASS


def test_it_fails_a_new_safety_failure_listing_the_case():
    rows = simulate(safety_cases=("case-200",), both_unsafe_cases=("case-300",))
    report = evaluate_gate(POLICY, rows, seed=0)
    assert report.verdict == Verdict.FAIL
    safety = report.hard_rules[1]
    assert safety.status == "fail"
    assert safety.cases == ["case-200"]  # case-300 failed on both arms: not new
    assert safety.detail == "1 new candidate failures, 1 cases failing on both arms"
    assert (
        "FAIL: hard rule safety_violation: new failures on cases case-200"
        in report.reasons
    )
    assert any(
        f.case_id == "case-200" and f.metric == "safety_violation"
        for f in report.flaky_cases
    )


def test_it_fails_a_pinned_case_that_misses_one_repeat():
    rows = simulate()
    rows = [
        ResultRow(
            r.case_id,
            r.tags,
            r.arm,
            r.repeat,
            {**r.metrics, "pedagogy_score": 0.1},
            cost_usd=r.cost_usd,
            latency_ms=r.latency_ms,
        )
        if (r.case_id, r.arm, r.repeat) == ("case-001", "candidate", 2)
        else r
        for r in rows
    ]
    report = evaluate_gate(POLICY, rows, seed=0)
    pinned = report.hard_rules[2]
    assert pinned.status == "fail"
    assert pinned.cases == ["case-001"]
    assert pinned.observed == pytest.approx(2 / 3)
    assert report.verdict == Verdict.FAIL
    assert "FAIL: hard rule pass^3 (pinned): cases failed case-001" in report.reasons


def test_it_is_invalid_when_too_many_calls_errored():
    report = evaluate_gate(POLICY, simulate(candidate_error_rate=0.08), seed=0)
    assert report.verdict == Verdict.INVALID
    assert report.exit_code == 3
    baseline, candidate = report.errors
    assert baseline.status == "pass"
    assert candidate.status == "invalid"
    assert candidate.error_rate == pytest.approx(0.08, abs=0.02)
    assert report.reasons[0].startswith("INVALID: candidate error rate")


def test_it_ranks_invalid_above_fail_and_lists_every_reason():
    report = evaluate_gate(
        POLICY, simulate(shift=-0.05, candidate_error_rate=0.08), seed=0
    )
    assert report.verdict == Verdict.INVALID
    kinds = [r.split(":")[0] for r in report.reasons]
    assert kinds[0] == "INVALID"
    assert "FAIL" in kinds


def test_it_never_counts_errors_as_passes_or_failures():
    rows = simulate(leak_cases=("case-010",), candidate_error_rate=0.0)
    # the only leaky case errors on every candidate repeat; errors are below the budget
    rows = [
        ResultRow(r.case_id, r.tags, r.arm, r.repeat, {}, error="HTTP 500")
        if (r.case_id, r.arm) == ("case-010", "candidate")
        else r
        for r in rows
    ]
    report = evaluate_gate(POLICY, rows, seed=0)
    assert report.errors[1].rows_errored == 3
    assert report.errors[1].error_rate == pytest.approx(3 / 1200)
    assert report.primary[0].n_cases == 399  # unpaired: excluded, not scored as 0
    assert report.hard_rules[0].observed == 0.0  # not a leak either
    assert report.n_paired == 399
    assert report.verdict == Verdict.PASS


def test_it_counts_missing_rows_against_the_error_budget():
    rows = [
        r for r in simulate() if not (r.arm == "candidate" and r.case_id < "case-020")
    ]
    report = evaluate_gate(POLICY, rows, seed=0)
    assert report.errors[1].rows_missing == 60
    assert report.errors[1].error_rate == pytest.approx(60 / 1200)
    assert report.verdict == Verdict.INVALID


def test_it_is_inconclusive_on_a_small_noisy_suite():
    report = evaluate_gate(POLICY, simulate(n_cases=12, noise=0.3, seed=3), seed=0)
    assert report.verdict == Verdict.INCONCLUSIVE
    assert report.exit_code == 2
    (primary,) = report.primary
    assert primary.status == "inconclusive"
    assert primary.ci_low < -0.03 < primary.ci_high
    assert primary.mde > 0.1
    assert {s.status for s in report.slices} == {"underpowered"}
    assert all(s.p_value is None and s.p_holm is None for s in report.slices)
    # twelve clean cases cannot show a leak rate under 2% either
    assert report.hard_rules[0].status == "inconclusive"
    assert any("underpowered" in n for n in report.notes)


def test_it_fails_an_expensive_or_slow_candidate():
    report = evaluate_gate(POLICY, simulate(cost_ratio=1.5, latency_ratio=1.5), seed=0)
    assert report.verdict == Verdict.FAIL
    cost, latency = report.efficiency
    assert cost.ratio == pytest.approx(1.5)
    assert cost.status == "fail"
    assert latency.ratio == pytest.approx(1.5, rel=0.1)
    assert latency.status == "fail"
    assert (
        "FAIL: efficiency cost_per_turn_ratio 1.50 exceeds the limit 1.25"
        in report.reasons
    )


def test_it_is_inconclusive_without_cost_data():
    rows = [
        ResultRow(
            r.case_id, r.tags, r.arm, r.repeat, r.metrics, latency_ms=r.latency_ms
        )
        for r in simulate(n_cases=100)
    ]
    report = evaluate_gate(POLICY, rows, seed=0)
    assert report.efficiency[0].status == "missing"
    assert (
        "INCONCLUSIVE: efficiency cost_per_turn_ratio: no cost_usd recorded for baseline and candidate"
        in report.reasons
    )


def test_it_reports_mcnemar_for_a_binary_primary_metric():
    policy = parse_policy(
        {
            **POLICY.to_dict(),
            "primary": [
                {"metric": "solved", "rule": "non_inferiority", "margin": 0.03}
            ],
        }
    )
    rows = [
        ResultRow(
            f"c{i}",
            {},
            arm,
            0,
            {"solved": float(solved), "answer_leak": 0.0, "safety_violation": 0.0},
            cost_usd=0.001,
            latency_ms=100.0,
        )
        for i, pair in enumerate(
            [(1, 0)] * 10 + [(0, 1)] * 25 + [(1, 1)] * 300 + [(0, 0)] * 65
        )
        for arm, solved in zip(("baseline", "candidate"), pair, strict=True)
    ]
    policy = parse_policy({**policy.to_dict(), "repeats": 1, "hard_rules": []})
    (primary,) = evaluate_gate(policy, rows, seed=0).primary
    assert primary.binary
    assert (primary.mcnemar_b, primary.mcnemar_c) == (10, 25)
    assert primary.mcnemar_p == pytest.approx(0.0167, abs=5e-4)
    assert (primary.wins, primary.ties, primary.losses) == (25, 365, 10)
    assert primary.diff == pytest.approx(15 / 400)


def test_it_orients_lower_is_better_primary_metrics():
    policy = parse_policy(
        {
            **POLICY.to_dict(),
            "primary": [
                {"metric": "answer_leak", "rule": "non_inferiority", "margin": 0.01}
            ],
            "slices": None,
            "hard_rules": [],
            "efficiency": None,
        }
    )
    leaky = tuple(f"case-{i:03d}" for i in range(40))
    (primary,) = evaluate_gate(policy, simulate(leak_cases=leaky), seed=0).primary
    assert primary.lower_is_better
    assert primary.baseline_mean == 0.0
    assert primary.candidate_mean == pytest.approx(0.1)
    assert primary.diff == pytest.approx(-0.1)  # candidate worse
    assert primary.status == "fail"


def test_it_sorts_the_case_table_by_regression():
    rows = simulate(n_cases=40)
    rows = [
        ResultRow(
            r.case_id,
            r.tags,
            r.arm,
            r.repeat,
            {**r.metrics, "pedagogy_score": 0.0},
            cost_usd=r.cost_usd,
            latency_ms=r.latency_ms,
        )
        if (r.case_id, r.arm) == ("case-017", "candidate")
        else r
        for r in rows
    ]
    report = evaluate_gate(POLICY, rows, seed=0)
    worst = report.cases[0]
    assert worst.case_id == "case-017"
    assert worst.metrics[0].candidate_mean == 0.0
    assert worst.metrics[0].diff == pytest.approx(-worst.metrics[0].baseline_mean)
    diffs = [c.metrics[0].diff for c in report.cases]
    assert diffs == sorted(diffs)


def test_it_is_invalid_on_duplicate_rows_or_out_of_range_metrics():
    rows = simulate(n_cases=40)
    rows.append(rows[0])
    rows.append(ResultRow("case-005", {}, "candidate", 7, {"pedagogy_score": 1.7}))
    report = evaluate_gate(POLICY, rows, seed=0)
    assert report.verdict == Verdict.INVALID
    assert (
        "INVALID: 1 duplicate (case, arm, repeat) rows: case-000/baseline/0"
        in report.reasons
    )
    assert (
        "INVALID: 1 metric values outside [0, 1] or not numbers: pedagogy_score=1.7 on case-005/candidate/7"
        in report.reasons
    )


def test_it_is_invalid_without_results_or_without_a_primary_metric():
    assert evaluate_gate(POLICY, [], seed=0).verdict == Verdict.INVALID
    rows = [
        ResultRow(
            r.case_id,
            r.tags,
            r.arm,
            r.repeat,
            {"answer_leak": 0.0, "safety_violation": 0.0},
            cost_usd=0.1,
            latency_ms=1.0,
        )
        for r in simulate(n_cases=40)
    ]
    report = evaluate_gate(POLICY, rows, seed=0)
    assert report.verdict == Verdict.INVALID
    assert (
        "INVALID: metric 'pedagogy_score' is missing from every baseline result"
        in report.reasons
    )


def test_it_reproduces_the_report_for_a_seed_and_serialises_it_to_json():
    rows = simulate(n_cases=60, noise=0.2)
    first = evaluate_gate(POLICY, rows, seed=4).to_dict()
    assert evaluate_gate(POLICY, rows, seed=4).to_dict() == first
    assert (
        evaluate_gate(POLICY, rows, seed=5).to_dict()["primary"][0]["ci_low"]
        != first["primary"][0]["ci_low"]
    )
    text = json.dumps(first, allow_nan=False)
    assert json.loads(text)["verdict"] == first["verdict"]
    assert first["policy_hash"] == POLICY.content_hash()
    assert first["exit_code"] == EXIT_CODES[Verdict(first["verdict"])]


def test_it_serialises_an_unbounded_interval_as_null():
    rows = simulate(n_cases=1)
    data = evaluate_gate(POLICY, rows, seed=0).to_dict()
    assert data["primary"][0]["ci_low"] is None
    assert data["primary"][0]["ci_high"] is None
    assert data["verdict"] == "INCONCLUSIVE"
    json.dumps(data, allow_nan=False)


def test_it_builds_rows_from_plain_dicts():
    row = ResultRow.from_dict(
        {
            "case_id": 7,
            "arm": "candidate",
            "repeat": "2",
            "metrics": {"pedagogy_score": 1},
        }
    )
    assert row == ResultRow("7", {}, "candidate", 2, {"pedagogy_score": 1})
    with pytest.raises(ValueError, match="arm must be one of"):
        evaluate_gate(POLICY, [ResultRow("c", {}, "canary", 0, {})])
