"""``manage.py evals gate``: runs both eval runs here (no broker), prints the verdict with every
reason, writes the JSON report and exits 0 PASS, 100 FAIL, 2 INCONCLUSIVE, 3 INVALID.

MRBench records here are hand-written in MRBench's format; no MRBench data is in the repository.
"""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from evals.management.commands.evals import SUBCOMMANDS
from evals.models import EvalRun, GateRun
from evals.mrbench import import_mrbench
from tests.evals.test_gating import TEST_POLICY, candidate
from tests.evals.test_gating import gate_suite as gate_suite
from tests.evals.test_gating import policy_dir as policy_dir
from tutor.engine.routing import production_release
from tutor.models import ReleaseEvent


def gate(*args: str) -> tuple[int, str]:
    """Run the command; (exit code, stdout)."""
    out = StringIO()
    try:
        call_command("evals", "gate", *args, stdout=out, stderr=StringIO())
    except SystemExit as exit:
        return int(exit.code), out.getvalue()
    return 0, out.getvalue()


@pytest.fixture
def releases(gate_suite):
    production_release()
    return candidate("offline-v2", "v2"), candidate("offline-leaky", "leaky")


def test_it_is_a_subcommand_of_evals():
    assert "gate" in SUBCOMMANDS
    assert SUBCOMMANDS["gate"].help.startswith(
        "Decide whether a candidate release may replace the baseline (exit 0 PASS, 100 FAIL"
    )


def test_it_exits_0_on_pass_and_writes_the_json_report(releases, tmp_path):
    report_path = tmp_path / "out" / "gate.json"

    code, out = gate(
        "--candidate",
        "offline-v2",
        "--policy",
        "test-gate",
        "--json-report",
        str(report_path),
    )

    gate_run = GateRun.objects.get()
    baseline, cand = gate_run.baseline_run, gate_run.candidate_run
    lines = out.splitlines()
    assert code == 0
    assert lines[0] == (
        f"gate run {gate_run.pk}: offline-v2 (candidate, config {gate_run.candidate_hash[:12]}) vs "
        f"offline-v1 (baseline, config {gate_run.baseline_hash[:12]})"
    )
    assert (
        lines[1]
        == f"suite gate-suite@1 (7 cases, hash {gate_run.suite_hash[:12]}), policy test-gate/v1 (hash {gate_run.policy_hash[:12]}), 1 repeat(s), seed 0"
    )
    assert (
        lines[2]
        == f"eval runs: baseline run {baseline.pk} (new), candidate run {cand.pk} (new)"
    )
    assert lines[3] == "running here (no broker configured)"
    assert (
        "[##############################] 14/14 100%  errors 0  cached 0  shards 2/2"
        in lines
    )
    assert "verdict: PASS (exit 0)" in lines
    assert (
        "  PASS: every primary metric is non-inferior within its margin; no slice, hard rule, efficiency limit or error budget was breached"
        in lines
    )
    assert (
        "  pass         safety_violation no new failures: 0 new candidate failures, 0 cases failing on both arms"
        in lines
    )
    assert (
        "  pass         cost_per_turn_ratio 1.00 (limit 1.25): baseline $0.000000, candidate $0.000000"
        in lines
    )
    assert lines[-1] == f"JSON report written to {report_path}"
    data = json.loads(report_path.read_text())
    assert (data["verdict"], data["exit_code"], data["n_paired"]) == ("PASS", 0, 7)
    assert data["policy_hash"] == gate_run.policy_hash
    assert data["gate"]["id"] == gate_run.pk
    assert data["gate"]["candidate"] == {
        "name": "offline-v2",
        "config_hash": gate_run.candidate_hash,
    }
    assert data["gate"]["suite"] == {
        "label": "gate-suite@1",
        "content_hash": gate_run.suite_hash,
        "n_cases": 7,
    }
    assert data["gate"]["eval_runs"] == {"baseline": baseline.pk, "candidate": cand.pk}


def test_it_exits_100_on_fail_and_names_the_leak(releases):
    code, out = gate("--candidate", "offline-leaky", "--policy", "test-gate")

    assert code == 100
    assert "verdict: FAIL (exit 100)" in out
    assert (
        "  FAIL: hard rule answer_leak: candidate answer_leak rate 66.67% over 6 cases, upper 95% bound 93.72%, limit 50.00%; "
        "cases: asks_answer-1, asks_answer-2, misconception-4, wrong-5"
    ) in out.splitlines()
    assert GateRun.objects.get().verdict == "FAIL"


def test_it_exits_2_when_the_suite_is_too_small_to_show_the_leak_rate_is_low(
    releases, policy_dir
):
    (policy_dir / "tight.yaml").write_text(
        TEST_POLICY.replace("value: 0.5", "value: 0.1")
    )

    code, out = gate("--candidate", "offline-v2", "--policy", "tight")

    assert code == 2
    assert "verdict: INCONCLUSIVE (exit 2)" in out
    assert (
        "  INCONCLUSIVE: hard rule answer_leak: candidate answer_leak rate 0.00% over 6 cases, upper 95% bound 39.30%, "
        "limit 10.00%; too few cases to show the rate is within the limit (with no failures it takes >= 29 cases)"
    ) in out.splitlines()


def test_it_exits_3_when_too_many_calls_errored(db, mrbench_file):
    import_mrbench(mrbench_file, "mrbench-sample")

    code, out = gate(
        "--baseline",
        "mrbench-GPT4",
        "--candidate",
        "mrbench-Novice",
        "--suite",
        "mrbench-sample",
    )

    assert code == 3
    assert (
        "  INVALID: candidate error rate 66.7% (6 errored, 0 missing of 9 calls) exceeds max_error_rate 2.0%"
        in out.splitlines()
    )


def test_the_same_inputs_are_judged_once(releases):
    gate("--candidate", "offline-v2", "--policy", "test-gate")
    runs = EvalRun.objects.count()

    code, out = gate("--candidate", "offline-v2", "--policy", "test-gate")

    gate_run = GateRun.objects.get()
    assert code == 0
    assert f"gate run {gate_run.pk} already judged these inputs" in out
    assert (
        f"eval runs: baseline run {gate_run.baseline_run_id} (reused, finished), candidate run {gate_run.candidate_run_id} (reused, finished)"
        in out
    )
    assert EvalRun.objects.count() == runs
    assert ReleaseEvent.objects.filter(action=ReleaseEvent.Action.GATE).count() == 1


def test_a_finished_eval_run_is_reused_and_only_the_other_arm_runs(releases):
    gate("--candidate", "offline-v2", "--policy", "test-gate")
    first = GateRun.objects.get()

    code, out = gate("--candidate", "offline-leaky", "--policy", "test-gate")

    second = GateRun.objects.exclude(pk=first.pk).get()
    assert code == 100
    assert (
        f"eval runs: baseline run {first.baseline_run_id} (reused, finished), candidate run {second.candidate_run_id} (new)"
        in out
    )
    assert (
        "[##############################] 14/14 100%  errors 0  cached 0  shards 2/2"
        in out
    )


def test_unknown_releases_policies_and_suites_are_clear_errors(releases):
    with pytest.raises(CommandError, match="No release 'gpt-9'"):
        gate("--candidate", "gpt-9", "--policy", "test-gate")
    with pytest.raises(
        CommandError,
        match=r"No gate policy 'nope' \(a YAML file, or one of: test-gate\)",
    ):
        gate("--candidate", "offline-v2", "--policy", "nope")
    with pytest.raises(
        CommandError, match=r"No suite 'nope' \(registered: gate-suite\)"
    ):
        gate("--candidate", "offline-v2", "--policy", "test-gate", "--suite", "nope")
    assert not GateRun.objects.exists()
    assert not EvalRun.objects.exists()


# ---------------------------------------------------------------------------------- MRBench replay

HISTORY_1 = (
    "Tutor: Hi, could you please provide a step-by-step solution for the question below? The question is: "
    "Sam has 3 boxes of 12 pencils and gives away 5 pencils. How many pencils does Sam have left? \n "
    "Student: 3 x 12 = 36. 36 + 5 = 41. \n 41 \n Tutor: Walk me through the last step. \n "
    "Student: Sam gives away 5 so I added 5 to get 41."
)
HISTORY_2 = "Tutor: What is the value of 3^3? \n Student: 9"
HISTORY_3 = "Tutor: Let's look at 7 x 8. \n Student: Is it 54? \n Tutor: Not quite. Think about 7 x 7 first."


def record(conversation_id, tutor, history, response, solution=None, **labels):
    return {
        "conversation_id": conversation_id, "history_sha1": f"sha-{conversation_id}", "source": "Bridge", "tutor": tutor,
        "conversation_history": history, "response": response, "ground_truth_solution": solution, "has_8dim": False,
        "labels": {"Revealing_of_the_Answer": labels.get("revealing", "No"), "Mistake_Identification": labels.get("mi", "Yes")},
    }  # fmt: skip


SOLUTION = "3 x 12 = 36\n36 - 5 = 31\n 31"
RECORDS = [
    record(
        "c1",
        "GPT4",
        HISTORY_1,
        "Sam gives the pencils away, so should you add or subtract 5?",
        SOLUTION,
    ),
    record(
        "c1",
        "Phi3",
        HISTORY_1,
        "The answer is 31 because 36 - 5 = 31.",
        SOLUTION,
        revealing="Yes (and the answer is correct)",
    ),
    record(
        "c2", "GPT4", HISTORY_2, "What does the little 3 tell you to do with three 3s?"
    ),
    record("c2", "Phi3", HISTORY_2, "3^3 means 3 x 3 x 3. Can you work it out?"),
    record("c3", "GPT4", HISTORY_3, "What is 7 x 7, and how many more is one more 7?"),
    record("c3", "Phi3", HISTORY_3, "Good try! What is 7 x 7?"),
    record(
        "c3",
        "Novice",
        HISTORY_3,
        "It's 56.",
        revealing="Yes (and the answer is correct)",
    ),
]


@pytest.fixture
def mrbench_file(tmp_path):
    path = tmp_path / "mrbench_sample.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in RECORDS) + "\n", encoding="utf-8")
    return path


def test_mrbench_replay_releases_are_gated_against_each_other(
    db, mrbench_file, tmp_path
):
    call_command(
        "evals",
        "import-mrbench",
        str(mrbench_file),
        "--suite",
        "mrbench-sample",
        stdout=StringIO(),
    )

    code, out = gate(
        "--baseline",
        "mrbench-GPT4",
        "--candidate",
        "mrbench-Phi3",
        "--suite",
        "mrbench-sample",
        "--json-report",
        str(tmp_path / "r.json"),
    )

    gate_run = GateRun.objects.get()
    assert code == 100
    assert (
        gate_run.baseline.name,
        gate_run.candidate.name,
        gate_run.policy_name,
        gate_run.repeats,
    ) == ("mrbench-GPT4", "mrbench-Phi3", "tutor-upgrade/v1", 3)
    assert (
        "  FAIL: hard rule answer_leak: candidate answer_leak rate 33.33% over 3 cases, upper 95% bound 86.46%, limit 2.00%; cases: c1"
        in out.splitlines()
    )
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["gate"]["baseline"]["name"] == "mrbench-GPT4"
    assert [e["rows_expected"] for e in data["errors"]] == [9, 9]
