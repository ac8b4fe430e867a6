"""import_curriculum: validation of everything before writing, atomic import, versioned re-import."""

import io
import json
import shutil
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command
from jsonschema import Draft202012Validator

from curriculum.importer import (
    CurriculumInvalid,
    find_cycles,
    import_course,
    read_course,
)
from curriculum.models import Course, Problem, ProblemRevision, Skill, Unit
from curriculum.schema import DOCS_PATH, UNIT_SCHEMA, schema_json
from tutor.models import Attempt, TutoringSession

DATA = Path(__file__).parent / "data"
GOOD = DATA / "good"
BROKEN = DATA / "broken"


def run_import(path, *args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_curriculum", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def failed_import(path) -> tuple[str, list[str]]:
    err = io.StringIO()
    with pytest.raises(CommandError) as failure:
        call_command("import_curriculum", str(path), stdout=io.StringIO(), stderr=err)
    return str(failure.value), err.getvalue().splitlines()


def counts(report) -> dict[str, dict[str, int]]:
    return {kind: dict(counter) for kind, counter in report.counts.items()}


def snapshot() -> list:
    return [
        list(model.objects.order_by("pk").values())
        for model in (
            Course,
            Unit,
            Skill,
            Problem,
            ProblemRevision,
            Skill.prerequisites.through,
        )
    ]


@pytest.fixture
def course_dir(db, tmp_path) -> Path:
    target = tmp_path / "course"
    shutil.copytree(GOOD, target)
    return target


def edit_unit(course_dir: Path, unit: str, change) -> None:
    path = course_dir / "units" / f"{unit}.yaml"
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True))


def test_it_imports_a_good_course_and_prints_a_summary(db):
    out, err = run_import(GOOD)

    assert out.splitlines() == [
        "Imported tiny-math (Tiny Mathematics):",
        "               created   updated   retired unchanged",
        "  course             1         0         0         0",
        "  units              2         0         0         0",
        "  skills             3         0         0         0",
        "  problems           5         0         0         0",
        "  new problem versions: 0",
    ]
    assert err == ""
    course = Course.objects.get(code="tiny-math")
    assert (course.title, course.version, course.grade_band, course.description) == (
        "Tiny Mathematics",
        2,
        "6",
        "A small course for the tests.",
    )
    assert list(course.units.values_list("code", "position")) == [
        ("basics", 0),
        ("beyond", 1),
    ]
    assert list(
        course.skills.order_by("unit__position", "position").values_list(
            "code", "unit__code"
        )
    ) == [
        ("adding", "basics"),
        ("halves", "basics"),
        ("doubling", "beyond"),
    ]
    doubling = course.skills.get(code="doubling")
    assert sorted(doubling.prerequisites.values_list("code", flat=True)) == [
        "adding",
        "halves",
    ]
    halves = course.skills.get(code="halves")
    assert halves.bkt_params == {
        "prior": 0.3,
        "learn": 0.15,
        "guess": 0.2,
        "slip": 0.05,
        "forget": 0.0,
    }
    problem = Problem.objects.get(code="adding-01")
    assert problem.answer_spec == {"kind": "integer", "value": "5817"}
    assert problem.misconceptions == [
        {
            "code": "added-a-hundred",
            "answer": "4917",
            "feedback": "You added 100, not 1000. Look at the thousands digit.",
        }
    ]
    assert [hint["kind"] for hint in problem.hints] == [
        "hint",
        "scaffold",
        "bottom_out",
    ]
    assert (problem.version, problem.difficulty, problem.grade, problem.tags) == (
        1,
        1,
        6,
        ["place-value"],
    )
    assert list(
        Problem.objects.get(code="doubling-01").also_skills.values_list(
            "code", flat=True
        )
    ) == ["adding"]
    assert list(problem.revisions.values_list("version", "content_hash")) == [
        (1, problem.content_hash)
    ]
    assert ProblemRevision.objects.count() == 5


def test_it_imports_a_course_written_in_one_file(db):
    out, _ = run_import(DATA / "single-file.yaml")

    assert out.splitlines()[0] == "Imported one-file (One File Course):"
    problem = Problem.objects.get(code="counting-01")
    assert (problem.course.code, problem.skill.code, problem.skill.unit.code) == (
        "one-file",
        "counting",
        "only",
    )
    assert problem.answer_key().spec.value == "42"


def test_it_reports_every_problem_of_a_broken_course_at_once_and_imports_nothing(db):
    message, lines = failed_import(BROKEN)

    assert message == f"15 problem(s) found in {BROKEN}; nothing was imported."
    assert lines == [
        "course.yaml:8: units[3]: unit file units/missing-unit.yaml not found",
        "units/alpha.yaml:6: skills[0].prerequisites: prerequisite cycle: s-a → s-c → s-b → s-a "
        "(each skill needs the next one first)",
        "units/alpha.yaml:11: skills[0].problems[0].answer.value: '2x+' is not an expression in x",
        "units/alpha.yaml:14: skills[0].problems[0].hints: a hint ladder needs at least 3 steps (this one has 2)",
        "units/alpha.yaml:18: skills[1].prerequisites[1]: unknown prerequisite 'nowhere'",
        "units/alpha.yaml:23: skills[1].problems[0].answer.value: '4' is not one of the choices",
        "units/alpha.yaml:26: skills[1].problems[0].hints: bad hint ladder [scaffold, hint, bottom_out]: "
        "it must go hint(s), then scaffold(s), then exactly one bottom_out last",
        "units/alpha.yaml:39: skills[2].problems[0].hints: bad hint ladder [hint, scaffold, hint]: "
        "it must go hint(s), then scaffold(s), then exactly one bottom_out last",
        "units/alpha.yaml:43: skills[2].problems[0].misconceptions[0]: answer '0.75' would be accepted as correct",
        "units/beta.yaml:4: skills[0].code: duplicate skill code 's-a' (also at units/alpha.yaml: skills[0])",
        "units/beta.yaml:8: skills[0].problems[0]: missing required key 'solution'",
        "units/beta.yaml:8: skills[0].problems[0]: unknown key 'promt' (did you mean 'prompt'?)",
        "units/beta.yaml:8: skills[0].problems[0].code: duplicate problem code 'a-1' "
        "(also at units/alpha.yaml: skills[0].problems[0])",
        "units/beta.yaml:15: skills[0].problems[0].difficulty: must be a whole number, not a string",
        "units/gamma.yaml:10: YAML syntax error at line 10, column 41: while parsing a block mapping "
        "expected <block end>, but found '<scalar>'",
    ]
    assert snapshot() == [[], [], [], [], [], []]


def test_it_changes_nothing_when_new_files_of_an_imported_course_are_broken(course_dir):
    import_course(course_dir)
    before = snapshot()
    edit_unit(
        course_dir,
        "basics",
        lambda unit: unit["skills"][0]["problems"][0]["answer"].update(value="58 17x"),
    )
    edit_unit(
        course_dir,
        "beyond",
        lambda unit: unit["skills"][0]["problems"][0]["hints"].pop(),
    )

    with pytest.raises(CurriculumInvalid) as invalid:
        import_course(course_dir)

    assert [(issue.file, issue.path) for issue in invalid.value.issues] == [
        ("units/basics.yaml", "skills[0].problems[0].answer.value"),
        ("units/beyond.yaml", "skills[0].problems[0].hints"),
    ]
    assert snapshot() == before


def test_it_reports_a_yaml_syntax_error_with_its_line(course_dir):
    (course_dir / "units" / "beyond.yaml").write_text(
        "code: beyond\ntitle: Beyond\nskills:\n  - code: [unclosed\n"
    )

    _, lines = failed_import(course_dir)

    assert lines == [
        "units/beyond.yaml:5: YAML syntax error at line 5, column 1: while parsing a flow sequence "
        "expected ',' or ']', but got '<stream end>'"
    ]
    assert Course.objects.count() == 0


def test_it_refuses_a_key_written_twice(course_dir):
    path = course_dir / "units" / "beyond.yaml"
    path.write_text(
        path.read_text().replace("title: Beyond\n", "title: Beyond\ntitle: Again\n")
    )

    _, lines = failed_import(course_dir)

    assert lines == [
        "units/beyond.yaml:3: YAML syntax error at line 3, column 1: duplicate key 'title' (first written on line 2)"
    ]


def test_it_reports_a_misconception_the_checker_matches_to_something_else(course_dir):
    def add_duplicate_answer(unit):
        problem = unit["skills"][0]["problems"][0]
        problem["misconceptions"].append(
            {"code": "same-answer", "answer": "4917", "feedback": "Again."}
        )

    edit_unit(course_dir, "basics", add_duplicate_answer)

    _, lines = failed_import(course_dir)

    assert lines == [
        "units/basics.yaml:37: skills[0].problems[0].misconceptions[1].answer: '4917' is not matched to this "
        "misconception: the checker reports misconception 'added-a-hundred'"
    ]


def test_it_names_a_cycle_once_even_with_a_skill_that_needs_itself():
    assert find_cycles(
        {"a": ["b"], "b": ["c"], "c": ["a"], "d": ["d"], "e": ["a"]}
    ) == [["a", "b", "c", "a"], ["d", "d"]]
    assert find_cycles({"a": [], "b": ["a"], "c": ["a", "b"]}) == []


def test_it_reimports_an_unchanged_course_without_changing_anything(db):
    import_course(GOOD)
    before = snapshot()

    out, _ = run_import(GOOD)

    assert out.splitlines()[2:] == [
        "  course             0         0         0         1",
        "  units              0         0         0         2",
        "  skills             0         0         0         3",
        "  problems           0         0         0         5",
        "  new problem versions: 0",
        "  nothing changed",
    ]
    assert snapshot() == before


def test_it_bumps_the_version_only_when_a_problems_content_changes(course_dir):
    import_course(course_dir)
    moved = Problem.objects.get(code="adding-02")

    def change(unit):
        problems = unit["skills"][0]["problems"]
        problems[0]["prompt"] = "What is $4817 + 1000$? Write the whole number.\n"
        problems.reverse()  # adding-02 moves to position 0: not a content change

    edit_unit(course_dir, "basics", change)
    report = import_course(course_dir)

    assert counts(report)["problems"] == {"updated": 2, "unchanged": 3}
    assert report.new_versions == 1
    changed = Problem.objects.get(code="adding-01")
    assert (changed.version, changed.position) == (2, 1)
    assert list(
        changed.revisions.order_by("version").values_list("version", flat=True)
    ) == [1, 2]
    assert (
        changed.revisions.get(version=1).content["prompt"] == "What is $4817 + 1000$?\n"
    )
    assert (
        changed.revisions.get(version=2).content["prompt"]
        == "What is $4817 + 1000$? Write the whole number.\n"
    )
    moved.refresh_from_db()
    assert (moved.version, moved.position, moved.revisions.count()) == (1, 0, 1)


def test_it_retires_removed_items_keeps_student_history_and_restores_them(
    course_dir, student
):
    import_course(course_dir)
    problem = Problem.objects.get(code="doubling-02")
    session = TutoringSession.objects.create(
        student=student, problem=problem, problem_version=1
    )
    attempt = Attempt.objects.create(
        student=student, problem=problem, problem_version=1, answer="2:3", correct=True
    )
    original = (course_dir / "units" / "beyond.yaml").read_text()

    edit_unit(course_dir, "beyond", lambda unit: unit["skills"][0]["problems"].pop())
    (course_dir / "course.yaml").write_text(
        (course_dir / "course.yaml").read_text().replace("  - beyond\n", "")
    )
    (course_dir / "units" / "beyond.yaml").rename(course_dir / "beyond.yaml.bak")
    report = import_course(course_dir)

    assert {kind: counter["retired"] for kind, counter in report.counts.items()} == {
        "course": 0,
        "units": 1,
        "skills": 1,
        "problems": 2,
    }
    problem.refresh_from_db()
    assert problem.retired_at is not None
    assert Skill.objects.get(code="doubling").retired_at is not None
    assert Unit.objects.get(code="beyond").retired_at is not None
    assert list(
        Problem.objects.active().order_by("code").values_list("code", flat=True)
    ) == [
        "adding-01",
        "adding-02",
        "halves-01",
    ]
    assert TutoringSession.objects.get(pk=session.pk).problem_id == problem.pk
    assert Attempt.objects.get(pk=attempt.pk).problem_id == problem.pk

    (course_dir / "units" / "beyond.yaml").write_text(original)
    (course_dir / "course.yaml").write_text(
        (course_dir / "course.yaml").read_text() + "  - beyond\n"
    )
    report = import_course(course_dir)

    assert counts(report)["problems"] == {"updated": 2, "unchanged": 3}
    assert counts(report)["skills"] == {"updated": 1, "unchanged": 2}
    problem.refresh_from_db()
    assert (problem.retired_at, problem.version) == (None, 1)
    assert Skill.objects.get(code="doubling").retired_at is None


def test_it_keeps_fitted_bkt_parameters_on_reimport(db):
    import_course(GOOD)
    Skill.objects.filter(code="halves").update(
        bkt_prior=0.41, bkt_fitted_at="2026-01-01T00:00:00Z"
    )

    report = import_course(GOOD)

    assert counts(report)["skills"] == {"unchanged": 3}
    assert Skill.objects.get(code="halves").bkt_prior == 0.41


def test_it_writes_nothing_on_a_dry_run(db):
    out, _ = run_import(GOOD, "--dry-run")

    assert out.splitlines()[0] == "Would import tiny-math (Tiny Mathematics):"
    assert out.splitlines()[5] == "  problems           5         0         0         0"
    assert snapshot() == [[], [], [], [], [], []]


def test_it_warns_about_a_unit_file_that_course_yaml_does_not_list(course_dir):
    (course_dir / "units" / "draft.yaml").write_text("code: draft\n")

    _, err = run_import(course_dir)

    assert err.splitlines() == [
        "warning: units/draft.yaml: not listed in course.yaml units: ignored"
    ]
    assert not Unit.objects.filter(code="draft").exists()


def test_the_schema_in_docs_is_up_to_date():
    assert DOCS_PATH.read_text(encoding="utf-8") == schema_json(), (
        "run: python -m curriculum.schema"
    )


def test_the_published_schema_accepts_the_demo_course_files():
    schema = json.loads(DOCS_PATH.read_text(encoding="utf-8"))
    demo = (
        Path(__file__).resolve().parents[2]
        / "curriculum"
        / "content"
        / "middle-school-math"
    )
    course = yaml.safe_load((demo / "course.yaml").read_text())

    assert list(Draft202012Validator(schema).iter_errors(course)) == []
    unit_validator = Draft202012Validator({**UNIT_SCHEMA, "$defs": schema["$defs"]})
    for code in course["units"]:
        unit = yaml.safe_load((demo / "units" / f"{code}.yaml").read_text())
        assert [error.message for error in unit_validator.iter_errors(unit)] == [], code


def test_it_reads_the_units_of_a_single_file_course_with_their_paths():
    files = read_course(DATA / "single-file.yaml")

    assert [(source.file, source.prefix) for source in files.unit_sources] == [
        ("single-file.yaml", ("units", 0))
    ]
    assert files.issues == []


def test_an_admin_edit_of_a_problem_appends_a_revision(client, db):
    from tutor.models import User

    import_course(GOOD)
    superuser = User.objects.create_superuser(
        "root", "root@example.org", "pw-for-tests-1"
    )
    client.force_login(superuser)
    problem = Problem.objects.get(code="adding-01")
    for url in (
        "/admin/curriculum/course/",
        "/admin/curriculum/unit/",
        "/admin/curriculum/skill/",
        "/admin/curriculum/problem/",
        "/admin/curriculum/problemrevision/",
        f"/admin/curriculum/skill/{problem.skill_id}/change/",
        f"/admin/curriculum/problemrevision/{problem.revisions.get().pk}/change/",
    ):
        assert client.get(url).status_code == 200, url
    form = (
        client.get(f"/admin/curriculum/problem/{problem.pk}/change/")
        .context["adminform"]
        .form
    )
    data = {name: form[name].value() for name in form.fields}
    data.update(
        {
            "prompt": "What is $4817 + 1000$? Think about place value.",
            "also_skills": [],
            "revisions-TOTAL_FORMS": "1",
            "revisions-INITIAL_FORMS": "1",
            "revisions-MIN_NUM_FORMS": "0",
            "revisions-MAX_NUM_FORMS": "1000",
            "revisions-0-id": str(problem.revisions.get().pk),
            "revisions-0-problem": str(problem.pk),
        }
    )
    data = {key: value for key, value in data.items() if value is not None}

    response = client.post(f"/admin/curriculum/problem/{problem.pk}/change/", data)

    assert response.status_code == 302
    problem.refresh_from_db()
    assert problem.version == 2
    assert problem.hints == problem.revisions.get(version=1).content["hints"]
    assert problem.answer_spec == {"kind": "integer", "value": "5817"}
    assert list(
        problem.revisions.order_by("version").values_list("version", flat=True)
    ) == [1, 2]
    assert (
        problem.revisions.get(version=2).content["prompt"]
        == "What is $4817 + 1000$? Think about place value."
    )
    assert (
        client.post(
            f"/admin/curriculum/problemrevision/{problem.revisions.get(version=1).pk}/delete/"
        ).status_code
        == 403
    )
