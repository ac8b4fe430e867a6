"""export_curriculum writes the authoring format back, losslessly."""

import io
import shutil
from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

from curriculum.demo import DEMO_COURSE_DIR
from curriculum.importer import import_course, ordered_prerequisites
from curriculum.models import Course, Problem, Skill

DATA = Path(__file__).parent / "data"


def export(code: str, out: Path) -> tuple[str, str]:
    stdout, stderr = io.StringIO(), io.StringIO()
    call_command("export_curriculum", code, str(out), stdout=stdout, stderr=stderr)
    return stdout.getvalue(), stderr.getvalue()


def parsed_files(directory: Path) -> dict[str, object]:
    files = [directory / "course.yaml", *sorted((directory / "units").glob("*.yaml"))]
    return {
        str(path.relative_to(directory)): yaml.safe_load(
            path.read_text(encoding="utf-8")
        )
        for path in files
    }


def test_it_round_trips_the_demo_course_losslessly(db, tmp_path):
    import_course(DEMO_COURSE_DIR)

    out, err = export("ms-math", tmp_path)
    report = import_course(tmp_path)

    assert (
        out == f"Exported ms-math (Middle-School Mathematics) to {tmp_path}: 7 files.\n"
    )
    assert err == ""
    assert not report.changed
    assert report.new_versions == 0
    assert parsed_files(tmp_path) == parsed_files(DEMO_COURSE_DIR)


def test_it_round_trips_the_test_course_with_bkt_and_also_skills(db, tmp_path):
    import_course(DATA / "good")

    export("tiny-math", tmp_path)

    assert parsed_files(tmp_path) == parsed_files(DATA / "good")
    assert "  - {kind: hint, text: Adding 1000 changes only the thousands digit.}" in (
        tmp_path / "units" / "basics.yaml"
    ).read_text(encoding="utf-8")


def test_it_keeps_the_authored_order_of_prerequisites(db, tmp_path):
    source = tmp_path / "source"
    shutil.copytree(DATA / "good", source)
    path = source / "units" / "beyond.yaml"
    path.write_text(
        path.read_text().replace(
            "prerequisites: [halves, adding]", "prerequisites: [adding, halves]"
        )
    )
    import_course(DATA / "good")
    doubling = Skill.objects.get(code="doubling")
    assert ordered_prerequisites(doubling) == ["halves", "adding"]

    report = import_course(source)

    assert dict(report.counts["skills"]) == {"updated": 1, "unchanged": 2}
    assert ordered_prerequisites(doubling) == ["adding", "halves"]


def test_it_exports_only_active_items(db, tmp_path):
    import_course(DATA / "good")
    Problem.objects.filter(code="adding-02").update(retired_at="2026-01-01T00:00:00Z")

    export("tiny-math", tmp_path)

    basics = yaml.safe_load((tmp_path / "units" / "basics.yaml").read_text())
    assert [p["code"] for skill in basics["skills"] for p in skill["problems"]] == [
        "adding-01",
        "halves-01",
    ]


def test_it_refuses_an_unknown_course_and_writes_nothing(db, tmp_path):
    import_course(DATA / "good")

    with pytest.raises(CommandError) as failure:
        export("nope", tmp_path / "out")

    assert str(failure.value) == "No course with code 'nope' (known: tiny-math)."
    assert not (tmp_path / "out").exists()
    assert Course.objects.count() == 1


def test_it_warns_about_stale_unit_files_in_the_output(db, tmp_path):
    import_course(DATA / "good")
    (tmp_path / "units").mkdir()
    (tmp_path / "units" / "old.yaml").write_text("code: old\n")

    _, err = export("tiny-math", tmp_path)

    assert (
        err
        == f"warning: {tmp_path / 'units' / 'old.yaml'} is not part of tiny-math: remove it before importing this directory.\n"
    )
