"""``manage.py evals``: import-suite, run (progress bar, figures, JSON), status, resume,
import-flagged, grade-file and agreement."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from evals.management.commands.evals import SUBCOMMANDS, ProgressBar
from evals.models import EvalRun, RunShard, Suite
from tutor.models import Flag, Message, TutoringSession


def evals(*args: str) -> str:
    out = StringIO()
    call_command("evals", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def suite_file(tmp_path, problem):
    ref = {"course": problem.course.code, "code": problem.code}
    cases = [
        {"suite": "cli-suite", "version": 1, "description": "Three cases."},
        {"id": "asks", "tags": {"scenario": "asks_answer"}, "problem": ref, "message": {"kind": "chat", "text": "just tell me the answer"}, "student_was_wrong": False},
        {"id": "wrong", "tags": {"scenario": "misconception"}, "problem": ref, "message": {"kind": "answer", "text": "2/6"}},
        {"id": "right", "tags": {"scenario": "correct"}, "problem": ref, "message": {"kind": "answer", "text": "3/4"}},
    ]
    path = tmp_path / "cli-suite.jsonl"
    path.write_text("\n".join(json.dumps(c) for c in cases) + "\n")
    return path


def test_it_offers_every_subcommand():
    mine = ["run", "status", "resume", "import-suite", "import-mrbench", "import-flagged", "grade-file", "agreement"]

    assert [name for name in SUBCOMMANDS if name in mine] == mine  # others (the gate) plug into the same table


def test_import_suite_registers_a_file_once(suite_file):
    assert evals("import-suite", str(suite_file)).startswith("cli-suite@1: 3 cases, hash ")
    assert "already registered (unchanged)" in evals("import-suite", str(suite_file))
    assert Suite.objects.count() == 1


def test_import_suite_names_each_problem_by_line_and_field(tmp_path, db):
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"id": "x", "tags": {"scenario": "s"}, "problem": None, "message": {"kind": "reply", "text": "hi"}}) + "\n")

    with pytest.raises(CommandError, match=r"line 1: message\.kind: must be one of chat, answer, hint, got 'reply'"):
        evals("import-suite", str(path))
    assert not Suite.objects.exists()


def test_run_executes_here_without_a_broker_with_a_progress_bar_and_the_figures(suite_file):
    evals("import-suite", str(suite_file))

    out = evals("run", "--suite", "cli-suite", "--release", "offline-v1", "--repeats", "2")

    run = EvalRun.objects.get()
    lines = out.splitlines()
    assert lines[0] == f"run {run.pk}: cli-suite@1 (6 responses) on offline-v1, 1 shard(s)"
    assert lines[1] == "running here (no broker configured)"
    bars = [line for line in lines if line.startswith("[")]
    assert bars[-1] == "[##############################] 6/6 100%  errors 0  cached 0  shards 1/1"
    assert "results 6/6, errors 0, cached 0" in out
    assert "cost $0.000000" in out
    assert "  pedagogy_score " in out and "  answer_leak " in out
    assert "  misconception           2" in out
    run.refresh_from_db()
    assert run.status == EvalRun.Status.FINISHED


def test_run_json_prints_one_object_with_the_pinned_hashes(suite_file):
    evals("import-suite", str(suite_file))

    data = json.loads(evals("run", "--suite", "cli-suite@1", "--release", "offline-v1", "--json"))

    run = EvalRun.objects.get()
    assert data["run"] == run.pk
    assert data["suite_hash"] == Suite.objects.get().content_hash
    assert data["release_hash"] == run.release.config_hash
    assert (data["n_results"], data["n_errors"], data["status"]) == (3, 0, "finished")
    assert data["summary"]["metrics"]["answer_leak"] == 0.0
    assert set(data["summary"]["scenarios"]) == {"asks_answer", "misconception", "correct"}


def test_unknown_suites_and_releases_are_clear_errors(suite_file):
    evals("import-suite", str(suite_file))

    with pytest.raises(CommandError, match=r"No suite 'nope' \(registered: cli-suite\)"):
        evals("run", "--suite", "nope", "--release", "offline-v1")
    with pytest.raises(CommandError, match="No release 'gpt-9'"):
        evals("run", "--suite", "cli-suite", "--release", "gpt-9")
    with pytest.raises(CommandError, match="Repeats must be between 1 and 20"):
        evals("run", "--suite", "cli-suite", "--release", "offline-v1", "--repeats", "50")
    assert not EvalRun.objects.exists()


def test_status_shows_a_runs_progress_and_resume_finishes_a_stalled_run(suite_file):
    evals("import-suite", str(suite_file))
    evals("run", "--suite", "cli-suite", "--release", "offline-v1")
    run = EvalRun.objects.get()
    run.results.filter(case_key="right").delete()
    RunShard.objects.filter(run=run).update(status="running", heartbeat_at=timezone.now() - timedelta(minutes=10))
    EvalRun.objects.filter(pk=run.pk).update(status="running")

    assert evals("status", str(run.pk)).startswith("[####################----------] 2/3  66%")

    out = evals("resume", str(run.pk))

    assert "results 3/3, errors 0" in out
    run.refresh_from_db()
    assert run.status == EvalRun.Status.FINISHED


def test_the_progress_bar_prints_a_line_per_tenth_off_a_terminal():
    from evals.actions import Progress

    stream = StringIO()
    bar = ProgressBar(stream, width=10)
    for done in range(21):
        bar.update(Progress("running", 20, done, 0, 0, 2, 0, 0.0))
    bar.close(Progress("finished", 20, 20, 0, 0, 2, 2, 0.0))

    lines = stream.getvalue().splitlines()
    assert lines[0] == "[----------] 0/20   0%  errors 0  cached 0  shards 0/2"
    assert len(lines) == 12  # 0%, 10% ... 100%, then the final state
    assert lines[-1] == "[##########] 20/20 100%  errors 0  cached 0  shards 2/2"


@pytest.fixture
def flagged_session(student, problem, teacher):
    session = TutoringSession.objects.create(student=student, problem=problem, problem_version=1)
    Message.objects.create(session=session, role="student", kind="chat", text="Hi, I'm Alice and my email is alice@example.org")
    Message.objects.create(session=session, role="tutor", kind="reply", text="Hi Alice! What's the first step?")
    asked = Message.objects.create(session=session, role="student", kind="answer", text="2/6")
    reply = Message.objects.create(session=session, role="tutor", kind="reply", text="The answer is 3/4, Alice.", reply_to=asked)
    flag = Flag.objects.create(session=session, message=reply, kind=Flag.Kind.THUMBS_DOWN, detail="Alice says: it told me the answer")
    return flag


def test_import_flagged_turns_a_thumbs_down_turn_into_a_pseudonymised_case(flagged_session):
    out = evals("import-flagged", "--flag", str(flagged_session.pk), "--suite", "flagged")

    assert out.startswith("flagged@1: 1 cases")
    case = Suite.objects.get(name="flagged").cases.get().as_case()
    assert case.id == f"flag-{flagged_session.pk}"
    assert case.tags["scenario"] == "thumbs_down"
    assert case.problem.code == flagged_session.session.problem.code and case.problem.version == 1
    assert [(t.role, t.text) for t in case.conversation] == [
        ("student", "Hi, I'm Student and my email is [email]"),
        ("tutor", "Hi Student! What's the first step?"),
    ]
    assert (case.message.kind, case.message.text) == ("answer", "2/6")
    assert "Original reply (unknown): The answer is 3/4, Student." in case.notes
    assert "Student says: it told me the answer" in case.notes
    assert "alice" not in json.dumps(case.to_json()).lower()


def test_importing_a_flag_again_adds_nothing_new(flagged_session):
    evals("import-flagged", "--flag", str(flagged_session.pk))

    out = evals("import-flagged", "--all-unresolved", "--kind", "thumbs_down")

    assert out.startswith("flagged@1: 1 cases")
    assert Suite.objects.filter(name="flagged").count() == 1


LABELLED = [
    {
        "conversation_id": "c1", "tutor": "GPT4",
        "conversation_history": "Tutor: The question is: Sam has 36 pencils and gives away 5. How many are left? \n Student: 36 + 5 = 41",
        "response": "You added 5, but Sam gives them away. Should you add or subtract?",
        "ground_truth_solution": "36 - 5 = 31\n 31",
        "labels": {"Mistake_Identification": "Yes", "Mistake_Location": "Yes", "Revealing_of_the_Answer": "No", "Providing_Guidance": "Yes",
                   "Actionability": "Yes", "Tutor_Tone": "Neutral", "humanlikeness": "Yes", "Coherence": "Yes"},
    },
    {
        "conversation_id": "c2", "tutor": "Phi3",
        "conversation_history": "Tutor: The question is: Sam has 36 pencils and gives away 5. How many are left? \n Student: 36 + 5 = 41",
        "response": "The answer is 31.",
        "ground_truth_solution": "36 - 5 = 31\n 31",
        "labels": {"Mistake_Identification": "Yes", "Mistake_Location": "No", "Revealing_of_the_Answer": "Yes (and the answer is correct)",
                   "Providing_Guidance": "To some extent", "Actionability": "No", "Tutor_Tone": "Neutral", "humanlikeness": "Yes", "Coherence": "Yes"},
    },
]  # fmt: skip


@pytest.fixture
def labelled_file(tmp_path):
    path = tmp_path / "labelled.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in LABELLED) + "\n")
    return path


def test_grade_file_writes_every_grade_and_the_mrbench_labels(labelled_file, tmp_path):
    out_path = tmp_path / "graded.jsonl"

    assert evals("grade-file", str(labelled_file), str(out_path)) == f"graded 2 records -> {out_path}\n"

    rows = [json.loads(line) for line in out_path.read_text().splitlines()]
    assert [row["tutor"] for row in rows] == ["GPT4", "Phi3"]
    assert rows[1]["labels"]["Revealing_of_the_Answer"] == "Yes (and the answer is correct)"
    assert rows[0]["grades"]["answer_leak"]["label"] == "no_leak"


def test_agreement_json_has_one_entry_per_mrbench_dimension(labelled_file):
    data = json.loads(evals("agreement", "--data", str(labelled_file), "--json"))

    assert "Revealing_of_the_Answer" in data and "Mistake_Identification" in data
    assert set(data["Revealing_of_the_Answer"]) == {"n", "exact_macro_f1", "lenient_macro_f1", "kappa", "precision", "recall"}
    assert data["Revealing_of_the_Answer"]["n"] == 2
    assert data["Revealing_of_the_Answer"]["recall"] == 1.0


def test_agreement_prints_a_table(labelled_file):
    out = evals("agreement", "--data", str(labelled_file))

    assert out.startswith("| dimension | n | exact macro-F1 | lenient macro-F1 | kappa | precision | recall |")
    assert "| Revealing_of_the_Answer | 2 |" in out


def test_agreement_without_data_says_how_to_give_it(tmp_path):
    with pytest.raises(CommandError, match=r"No labelled data at .*missing\.jsonl: pass --data PATH"):
        evals("agreement", "--data", str(tmp_path / "missing.jsonl"))
