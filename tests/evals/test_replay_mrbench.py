"""The replay backend and the MRBench-format import: conversations become cases, tutors become
replay releases, and a run answers each case with the tutor's recorded response, offline.

Records here are hand-written in MRBench's format; no MRBench data is copied into the repository.
"""

import json

import pytest
from asgiref.sync import async_to_sync
from django.core.management import call_command

from evals import actions
from evals.cases import InlineProblem, SuiteInvalid
from evals.models import ReplayResponse
from evals.mrbench import import_mrbench
from evals.replay import BACKEND_INSTANCE
from tutor.engine.context import TutorContext
from tutor.models import Release
from tutor.providers import ProviderConfig, ProviderError, TutorRequest, Usage

HISTORY_1 = (
    "Tutor: Hi, could you please provide a step-by-step solution for the question below? The question is: "
    "Sam has 3 boxes of 12 pencils and gives away 5 pencils. How many pencils does Sam have left? \n "
    "Student: 3 x 12 = 36. 36 + 5 = 41. \n 41 \n Tutor: Walk me through the last step. \n "
    "Student: Sam gives away 5 so I added 5 to get 41."
)
HISTORY_2 = "Tutor: What is the value of 3^3? \n Student: 9"
HISTORY_3 = "Tutor: Let's look at 7 x 8. \n Student: Is it 54? \n Tutor: Not quite. Think about 7 x 7 first."


def record(conversation_id, tutor, history, response, solution=None, source="MathDial", **labels):
    return {
        "conversation_id": conversation_id,
        "history_sha1": f"sha-{conversation_id}",
        "source": source,
        "tutor": tutor,
        "conversation_history": history,
        "response": response,
        "ground_truth_solution": solution,
        "has_8dim": False,
        "labels": {"Revealing_of_the_Answer": labels.get("revealing", "No"), "Mistake_Identification": labels.get("mi", "Yes")},
    }


RECORDS = [
    record("c1", "GPT4", HISTORY_1, "Sam gives the pencils away, so should you add or subtract 5?", "3 x 12 = 36\n36 - 5 = 31\n 31"),
    record("c1", "Phi3", HISTORY_1, "The answer is 31 because 36 - 5 = 31.", "3 x 12 = 36\n36 - 5 = 31\n 31", revealing="Yes (and the answer is correct)"),
    record("c2", "GPT4", HISTORY_2, "What does the little 3 tell you to do with three 3s?", source="Bridge"),
    record("c2", "Phi3", HISTORY_2, "3^3 means 3 x 3 x 3. Can you work it out?", source="Bridge"),
    record("c3", "GPT4", HISTORY_3, "What is 7 x 7, and how many more is one more 7?", source="Bridge"),
    record("c3", "Novice", HISTORY_3, "It's 56.", source="Bridge", revealing="Yes (and the answer is correct)"),
]


@pytest.fixture
def mrbench_file(tmp_path):
    path = tmp_path / "mrbench_sample.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in RECORDS) + "\n", encoding="utf-8")
    return path


def run(suite, release_name):
    run = actions.start_eval_run(suite, Release.objects.get(name=release_name), 1, enqueue=False)
    return actions.run_inline(run)


@pytest.mark.django_db
def test_it_turns_conversations_into_cases_and_tutors_into_replay_releases(mrbench_file):
    result = import_mrbench(mrbench_file, "mrbench-sample")

    suite = result.suite
    assert (suite.label, suite.n_cases) == ("mrbench-sample@1", 3)
    assert [(r.name, created) for r, created in result.releases] == [("mrbench-GPT4", True), ("mrbench-Novice", True), ("mrbench-Phi3", True)]
    gpt4 = Release.objects.get(name="mrbench-GPT4")
    assert (gpt4.backend, gpt4.model, gpt4.params) == ("replay", "mrbench/GPT4", {"release_name": "mrbench-GPT4"})
    assert result.recordings == 6
    case = suite.cases.get(case_id="c1").as_case()
    assert [t.role for t in case.conversation] == ["tutor", "student", "tutor"]
    assert case.message.text == "Sam gives away 5 so I added 5 to get 41."
    assert case.student_was_wrong is True
    assert isinstance(case.problem, InlineProblem)
    assert case.problem.prompt.startswith("Sam has 3 boxes of 12 pencils")
    assert case.problem.answer == {"kind": "decimal", "value": "31"}
    assert case.tags == {"dataset": "mrbench", "language": "en", "pinned": False, "scenario": "remediation", "source": "MathDial"}
    bridge = suite.cases.get(case_id="c3").as_case()
    assert bridge.message is None  # the dialogue ends on a tutor turn
    assert bridge.problem.answer is None


@pytest.mark.django_db
def test_importing_the_same_file_twice_changes_nothing(mrbench_file):
    import_mrbench(mrbench_file, "mrbench-sample")

    again = import_mrbench(mrbench_file, "mrbench-sample")

    assert not again.registered.created
    assert [created for _, created in again.releases] == [False, False, False]
    assert ReplayResponse.objects.count() == 6


@pytest.mark.django_db
def test_a_replay_run_answers_each_case_with_the_recorded_response(mrbench_file):
    suite = import_mrbench(mrbench_file, "mrbench-sample").suite

    gpt4 = run(suite, "mrbench-GPT4")
    phi3 = run(suite, "mrbench-Phi3")

    assert gpt4.n_results == 3 and gpt4.n_errors == 0
    assert {r.case_key: r.response for r in gpt4.results.all()} == {r["conversation_id"]: r["response"] for r in RECORDS if r["tutor"] == "GPT4"}
    assert gpt4.cost_usd == 0 and gpt4.n_cached == 0
    leak = {r.case_key: r.metrics["answer_leak"] for r in phi3.results.all() if "answer_leak" in r.metrics}
    assert leak["c1"] == 1.0  # "The answer is 31" gives it away
    assert gpt4.results.get(case_key="c1").metrics["answer_leak"] == 0.0


@pytest.mark.django_db
def test_a_tutor_without_a_recording_for_a_case_errors_on_that_case_only(mrbench_file):
    suite = import_mrbench(mrbench_file, "mrbench-sample").suite

    novice = run(suite, "mrbench-Novice")

    assert novice.n_results == 3 and novice.n_errors == 2
    missing = novice.results.get(case_key="c1")
    assert (missing.error_kind, missing.error) == ("client", "no recorded response of mrbench-Novice for case c1")
    assert novice.results.get(case_key="c3").response == "It's 56."


@pytest.mark.django_db
def test_bad_records_are_reported_with_their_line_and_field(tmp_path):
    path = tmp_path / "bad.jsonl"
    path.write_text(
        json.dumps({"conversation_id": "c1", "tutor": "GPT 4", "conversation_history": "x", "response": "y"})
        + "\n{oops\n"
        + json.dumps({"conversation_id": "c2", "tutor": "GPT4", "conversation_history": "x"})
        + "\n"
    )

    with pytest.raises(SuiteInvalid) as raised:
        import_mrbench(path, "bad")

    assert [str(i) for i in raised.value.issues] == [
        "line 1: tutor: use letters, digits, _ and - (it names a release)",
        "line 2: not valid JSON: Expecting property name enclosed in double quotes",
        "line 3: response: is required (a non-empty string)",
    ]
    assert not Release.objects.filter(name__startswith="mrbench-").exists()


@pytest.mark.django_db
def test_the_replay_backend_needs_an_eval_case_id():
    config = ProviderConfig(backend="replay", model="mrbench/GPT4", params={"release_name": "mrbench-GPT4"})
    context = TutorContext(
        turn_kind="chat", student_text="hi", student_name="Student", skill_name="", skill_code="", lesson_excerpt="",
        problem_prompt="", solution="", final_answer="", answer_kind="", hints=(), hints_given=0,
    )  # fmt: skip

    async def first_delta():
        async for delta in BACKEND_INSTANCE.stream(config, TutorRequest(messages=(), context=context), Usage()):
            return delta

    with pytest.raises(ProviderError) as raised:
        async_to_sync(first_delta)()
    assert raised.value.kind == "client" and not raised.value.retryable


@pytest.mark.django_db
def test_import_mrbench_then_run_both_replay_releases_from_the_command_line(mrbench_file, capsys):
    call_command("evals", "import-mrbench", str(mrbench_file), "--suite", "mrbench-sample")
    out = capsys.readouterr().out
    assert "mrbench-sample@1: 3 conversations" in out
    assert "release mrbench-GPT4 (created)" in out
    assert "6 recorded responses" in out

    for release, errors in (("mrbench-GPT4", 0), ("mrbench-Phi3", 1)):  # Phi3 has no response to c3
        call_command("evals", "run", "--suite", "mrbench-sample", "--release", release)
        out = capsys.readouterr().out
        assert f"on {release}" in out
        assert f"results 3/3, errors {errors}" in out
        assert "pedagogy_score" in out
