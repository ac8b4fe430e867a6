"""JSON Schema of the curriculum authoring format (see docs/curriculum-format.md).

A course is a directory: `course.yaml` (metadata and the unit order) and `units/<unit-code>.yaml`
(one unit, its skills and their problems). A course may also be one YAML file with its units
written inline. The schema checks the shape of every file; the rules that span several items
(unknown prerequisites, cycles, duplicate codes, answers the checker rejects...) are checked by
`curriculum.importer`.

Keys are closed (`additionalProperties: false`): a misspelt key is an error rather than content
that silently never reaches the database. Answers are strings, so that YAML cannot turn `2:3`
into 123 or `0.50` into 0.5.

`write_schema()` writes the schema to docs/curriculum.schema.json (a test keeps it up to date).
"""

import json
from pathlib import Path
from typing import Any

from curriculum.checking.spec import ALLOW_FORMS, KINDS

DOCS_PATH = Path(__file__).resolve().parent.parent / "docs" / "curriculum.schema.json"

CODE_PATTERN = "^[a-z0-9]+(?:-[a-z0-9]+)*$"
HINT_KINDS = ("hint", "scaffold", "bottom_out")


def _code(description: str, max_length: int = 80) -> dict[str, Any]:
    return {
        "type": "string",
        "pattern": CODE_PATTERN,
        "maxLength": max_length,
        "description": description,
        "x-message": "must be a stable code: lower-case letters, digits and single hyphens (like frac-add-sub)",
    }


def _text(description: str, *, required: bool = True) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "description": description}
    if required:
        schema["minLength"] = 1
        schema["pattern"] = r"\S"
        schema["x-message"] = "must not be empty"
    return schema


def _strings(description: str, *, min_items: int = 0) -> dict[str, Any]:
    return {
        "type": "array",
        "items": {"type": "string", "minLength": 1},
        "minItems": min_items,
        "description": description,
    }


def _probability(description: str) -> dict[str, Any]:
    return {"type": "number", "minimum": 0, "maximum": 1, "description": description}


ANSWER = {
    "type": "object",
    "description": "How the problem's answer is checked (deterministically, by curriculum.checking).",
    "required": ["kind", "value"],
    "additionalProperties": False,
    "properties": {
        "kind": {"enum": list(KINDS), "description": "Answer kind."},
        "value": _text(
            "The correct answer, as a quoted string: '8', '3/4', '1 1/2', '0.75', '2x+6', 'x=3', "
            "a choice's text, or a short text."
        ),
        "tolerance": {
            "type": "number",
            "minimum": 0,
            "description": "Absolute tolerance for decimal answers (e.g. 0.005 to accept any rounding to 2 places).",
        },
        "allow": {
            "type": "array",
            "items": {"enum": list(ALLOW_FORMS)},
            "uniqueItems": True,
            "description": "Extra accepted forms. Numeric kinds: decimal, percent, mixed, fraction, unsimplified "
            "(e.g. [mixed, decimal] for 3/2; an integer key with percent reads '35%' as 35). Expressions and "
            "ratio-like text: unsimplified accepts any equivalent form.",
        },
        "choices": _strings(
            "Multiple choice: the options, in display order (value must be one of them).",
            min_items=2,
        ),
        "accept": _strings(
            "Short text (or any kind): other accepted ways of writing the answer."
        ),
        "variable": {
            "type": "string",
            "pattern": "^[A-Za-z]$",
            "description": "Equations: the variable to solve for (default: the only letter in the value).",
        },
    },
}

HINT = {
    "type": "object",
    "required": ["kind", "text"],
    "additionalProperties": False,
    "properties": {
        "kind": {
            "enum": list(HINT_KINDS),
            "description": "hint, then scaffold, then one bottom_out last.",
        },
        "text": _text("Markdown with LaTeX. Must not state the final answer."),
    },
}

MISCONCEPTION = {
    "type": "object",
    "required": ["code", "feedback"],
    "additionalProperties": False,
    "properties": {
        "code": _code(
            "What the student did wrong, e.g. added-denominators (unique within the problem)."
        ),
        "answer": _text(
            "The wrong answer this misconception produces (checked like a student answer)."
        ),
        "pattern": _text(
            "Or: a regular expression matched against the student's normalised answer."
        ),
        "feedback": _text("What the student is told when their answer matches."),
    },
    "oneOf": [{"required": ["answer"]}, {"required": ["pattern"]}],
    "x-message": "needs exactly one of 'answer' or 'pattern'",
}

PROBLEM = {
    "type": "object",
    "required": ["code", "prompt", "answer", "solution", "hints"],
    "additionalProperties": False,
    "properties": {
        "code": _code("Stable code, unique in the course (e.g. frac-add-sub-03).", 100),
        "prompt": _text(
            "What the student sees. Markdown with LaTeX ($...$ and $$...$$)."
        ),
        "answer": {"$ref": "#/$defs/answer"},
        "solution": _text(
            "Worked solution, ending with the final answer. Never sent to students."
        ),
        "hints": {
            "type": "array",
            "items": {"$ref": "#/$defs/hint"},
            "minItems": 3,
            "description": "The hint ladder: hints, then scaffolds, then exactly one bottom_out last.",
        },
        "misconceptions": {"type": "array", "items": {"$ref": "#/$defs/misconception"}},
        "difficulty": {
            "type": "integer",
            "minimum": 1,
            "maximum": 5,
            "description": "1 (easiest) to 5.",
        },
        "grade": {
            "type": "integer",
            "minimum": 1,
            "maximum": 12,
            "description": "School grade.",
        },
        "tags": _strings("Free tags for search and eval slices."),
        "also_skills": {
            "type": "array",
            "items": _code("A skill code"),
            "description": "Other skills this problem also practises (codes of skills in the course).",
        },
    },
}

BKT = {
    "type": "object",
    "additionalProperties": False,
    "description": "Starting Bayesian Knowledge Tracing parameters (defaults: pooled values). "
    "Once the nightly fit has run for a skill, the fitted values are kept.",
    "properties": {
        "prior": _probability("P(known) before any attempt."),
        "learn": _probability("P(learns at each opportunity)."),
        "guess": _probability("P(correct while not known)."),
        "slip": _probability("P(wrong while known)."),
        "forget": _probability("P(forgets at each opportunity)."),
    },
}

SKILL = {
    "type": "object",
    "required": ["code", "name", "lesson", "problems"],
    "additionalProperties": False,
    "properties": {
        "code": _code("Stable code, unique in the course (e.g. frac-add-sub)."),
        "name": _text("Short name shown to students."),
        "description": _text(
            "What a student who has this skill can do.", required=False
        ),
        "prerequisites": {
            "type": "array",
            "items": _code("A skill code"),
            "uniqueItems": True,
            "description": "Codes of the skills needed first (any unit of the course). Must form no cycle.",
        },
        "lesson": _text("The lesson: Markdown with LaTeX."),
        "bkt": {"$ref": "#/$defs/bkt"},
        "problems": {
            "type": "array",
            "items": {"$ref": "#/$defs/problem"},
            "minItems": 1,
        },
    },
}

UNIT = {
    "type": "object",
    "required": ["code", "title", "skills"],
    "additionalProperties": False,
    "properties": {
        "code": _code(
            "Stable code, unique in the course; the unit's file is units/<code>.yaml."
        ),
        "title": _text("Title."),
        "skills": {"type": "array", "items": {"$ref": "#/$defs/skill"}, "minItems": 1},
    },
}

COURSE_PROPERTIES = {
    "code": _code("Stable code of the course (e.g. ms-math)."),
    "title": _text("Title."),
    "description": _text("Description.", required=False),
    "version": {
        "type": "integer",
        "minimum": 1,
        "description": "Authored content version (default 1).",
    },
    "language": {
        "type": "string",
        "pattern": "^[a-z]{2}(-[A-Za-z]{2,4})?$",
        "description": "Language (default en).",
    },
    "grade_band": {
        "type": "string",
        "maxLength": 20,
        "description": "Grades, e.g. '6-8'.",
    },
    "units": {
        "type": "array",
        "minItems": 1,
        "description": "The units in order: codes of files units/<code>.yaml, or units written inline.",
        "items": {
            "anyOf": [
                _code("A unit code: the file units/<code>.yaml"),
                {"$ref": "#/$defs/unit"},
            ],
            "x-message": "must be a unit code (its file is units/<code>.yaml) or a unit written inline",
        },
    },
}

DEFS = {
    "answer": ANSWER,
    "hint": HINT,
    "misconception": MISCONCEPTION,
    "problem": PROBLEM,
    "bkt": BKT,
    "skill": SKILL,
    "unit": UNIT,
}

COURSE_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Tutor curriculum course",
    "description": "course.yaml of a course directory (or a whole course in one file, units inline). "
    "A unit file units/<code>.yaml follows #/$defs/unit.",
    "type": "object",
    "required": ["code", "title", "units"],
    "additionalProperties": False,
    "properties": COURSE_PROPERTIES,
    "$defs": DEFS,
}

UNIT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$ref": "#/$defs/unit",
    "$defs": DEFS,
}


def schema_json() -> str:
    return json.dumps(COURSE_SCHEMA, indent=2, ensure_ascii=False) + "\n"


def write_schema(path: Path = DOCS_PATH) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(schema_json(), encoding="utf-8")
    return path


if __name__ == "__main__":  # python -m curriculum.schema
    print(f"wrote {write_schema()}")
