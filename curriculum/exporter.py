"""Write a course back to the authoring format: `course.yaml` and `units/<unit-code>.yaml`.

Only active (not retired) items are written, in their stored order, with the same keys an author
writes; optional keys at their default are left out. Importing the output changes nothing.
"""

from pathlib import Path
from typing import Any

import yaml

from curriculum.importer import (
    COURSE_FILE,
    UNITS_DIR,
    ordered_also_skills,
    ordered_prerequisites,
)
from curriculum.models import DEFAULT_BKT, Course, Problem, Skill, Unit

HEADER = (
    "# Exported by `manage.py export_curriculum`. Format: docs/curriculum-format.md\n"
)


class _Flow(dict):
    """A mapping written on one line, the way authors write hint steps."""


class _Dumper(yaml.SafeDumper):
    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)  # indent lists under their key


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


def _represent_flow(dumper: yaml.SafeDumper, value: _Flow) -> yaml.MappingNode:
    return dumper.represent_mapping(
        "tag:yaml.org,2002:map", value.items(), flow_style=True
    )


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(_Flow, _represent_flow)


def dump_yaml(data: Any) -> str:
    return yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=10_000,
        default_flow_style=False,
    )


def problem_data(problem: Problem) -> dict[str, Any]:
    data: dict[str, Any] = {
        "code": problem.code,
        "prompt": problem.prompt,
        "answer": dict(problem.answer_spec),
        "solution": problem.solution,
        "hints": [
            _Flow(kind=hint["kind"], text=hint["text"]) for hint in problem.hints
        ],
    }
    if problem.misconceptions:
        data["misconceptions"] = [dict(item) for item in problem.misconceptions]
    data["difficulty"] = problem.difficulty
    if problem.grade is not None:
        data["grade"] = problem.grade
    if problem.tags:
        data["tags"] = list(problem.tags)
    also = ordered_also_skills(problem)
    if also:
        data["also_skills"] = also
    return data


def skill_data(skill: Skill) -> dict[str, Any]:
    data: dict[str, Any] = {"code": skill.code, "name": skill.name}
    if skill.description:
        data["description"] = skill.description
    data["prerequisites"] = ordered_prerequisites(skill)
    data["lesson"] = skill.lesson
    bkt = {
        name: value
        for name, value in skill.bkt_params.items()
        if value != DEFAULT_BKT[name]
    }
    if bkt:
        data["bkt"] = bkt
    data["problems"] = [
        problem_data(problem)
        for problem in skill.problems.active().order_by("position", "id")
    ]
    return data


def unit_data(unit: Unit) -> dict[str, Any]:
    skills = unit.skills.active().order_by("position", "id")
    return {
        "code": unit.code,
        "title": unit.title,
        "skills": [skill_data(skill) for skill in skills],
    }


def course_data(course: Course) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(course.yaml data with unit codes, the unit files' data)."""
    units = [
        unit_data(unit) for unit in course.units.active().order_by("position", "id")
    ]
    data: dict[str, Any] = {
        "code": course.code,
        "title": course.title,
        "version": course.version,
    }
    data["language"] = course.language
    if course.grade_band:
        data["grade_band"] = course.grade_band
    if course.description:
        data["description"] = course.description
    data["units"] = [unit["code"] for unit in units]
    return data, units


def export_course(course: Course, out_dir: str | Path) -> list[Path]:
    """Write the course as a directory; returns the files written."""
    out = Path(out_dir)
    (out / UNITS_DIR).mkdir(parents=True, exist_ok=True)
    data, units = course_data(course)
    written = [out / COURSE_FILE]
    written[0].write_text(HEADER + dump_yaml(data), encoding="utf-8")
    for unit in units:
        path = out / UNITS_DIR / f"{unit['code']}.yaml"
        path.write_text(HEADER + dump_yaml(unit), encoding="utf-8")
        written.append(path)
    return written
