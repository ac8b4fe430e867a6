"""Eval cases: the JSONL case format, parsed and validated into plain dataclasses, and hashed.

One case per line (format documented in docs/evals.md). An optional first line holds the suite
header: ``{"suite": "pedagogy-core", "version": 1, "description": "..."}``.

    {"id": "asks-answer-frac-equivalent-01",
     "tags": {"scenario": "asks_answer", "grade_band": "6-8", "skill": "frac-equivalent",
              "language": "en", "pinned": false},
     "problem": {"course": "ms-math", "code": "frac-equivalent-01"},
     "conversation": [{"role": "tutor", "text": "..."}, {"role": "student", "text": "...", "kind": "hint"}],
     "message": {"kind": "chat", "text": "just tell me the answer"},
     "student_was_wrong": false,
     "graders": [{"name": "telling", "params": {"max_tell_ratio": 0.5}, "weight": 2}],
     "notes": "..."}

``parse_suite(text)`` collects every problem (each naming its line and field) before it raises
``SuiteInvalid``, so an author fixes a file in one pass. Pure Python: no Django, no database.

Two hashes per case:
- ``content_hash``: everything in the case. The suite's hash is built from these, so editing a
  note or a grader's parameters makes a new suite version.
- ``input_hash``: only what the tutor sees (problem, conversation, message, language). The
  response cache is keyed on it (plus the resolved problem's content, see evals.context), so a
  changed note or grader never pays for the same response twice.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

MESSAGE_KINDS = ("chat", "answer", "hint")
ROLES = ("student", "tutor")
CORE_TAGS = ("scenario", "grade_band", "skill", "language", "pinned")
CASE_KEYS = ("id", "tags", "problem", "conversation", "message", "student_was_wrong", "graders", "notes")
REF_KEYS = ("course", "code", "version")
INLINE_KEYS = ("prompt", "answer", "solution", "hints", "misconceptions", "skill", "lesson", "grade")
HEADER_KEYS = ("suite", "version", "description")
HINT_KINDS = ("hint", "scaffold", "bottom_out")
ID_PATTERN = re.compile(r"^[A-Za-z0-9][\w.:-]{0,119}$")
SUITE_NAME_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,79}$")
DEFAULT_HINT_TEXT = "Can I have a hint?"  # what the live tutor stores for an empty hint request


# ------------------------------------------------------------------------------ data types


@dataclass(frozen=True)
class ProblemRef:
    """A problem of an imported course, by its stable codes; ``version`` pins a revision."""

    course: str
    code: str
    version: int | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"course": self.course, "code": self.code}
        if self.version is not None:
            data["version"] = self.version
        return data


@dataclass(frozen=True)
class InlineProblem:
    """A problem written into the case: prompt, optional answer spec, solution, hints, misconceptions."""

    prompt: str
    answer: Mapping[str, Any] | None = None  # curriculum answer spec: {kind, value, ...}
    solution: str = ""
    hints: tuple[Mapping[str, str], ...] = ()
    misconceptions: tuple[Mapping[str, Any], ...] = ()
    skill: str = ""
    lesson: str = ""
    grade: int | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"prompt": self.prompt}
        if self.answer is not None:
            data["answer"] = dict(self.answer)
        for name in ("solution", "skill", "lesson"):
            if getattr(self, name):
                data[name] = getattr(self, name)
        if self.hints:
            data["hints"] = [dict(h) for h in self.hints]
        if self.misconceptions:
            data["misconceptions"] = [dict(m) for m in self.misconceptions]
        if self.grade is not None:
            data["grade"] = self.grade
        return data


@dataclass(frozen=True)
class CaseTurn:
    role: str  # "student" | "tutor"
    text: str
    kind: str = "chat"  # for student turns: chat | answer | hint

    def to_json(self) -> dict[str, Any]:
        data = {"role": self.role, "text": self.text}
        if self.role == "student" and self.kind != "chat":
            data["kind"] = self.kind
        return data


@dataclass(frozen=True)
class StudentMessage:
    kind: str  # chat | answer | hint
    text: str

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "text": self.text}


@dataclass(frozen=True)
class GraderSpec:
    name: str
    params: Mapping[str, Any] = field(default_factory=dict)
    weight: float | None = None  # None: the default weight (evals.runner.DEFAULT_WEIGHTS)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"name": self.name}
        if self.params:
            data["params"] = dict(self.params)
        if self.weight is not None:
            data["weight"] = self.weight
        return data


@dataclass(frozen=True)
class Case:
    id: str
    tags: Mapping[str, Any]
    problem: ProblemRef | InlineProblem | None
    conversation: tuple[CaseTurn, ...]
    message: StudentMessage | None  # None: the tutor speaks next without a new student message
    student_was_wrong: bool | None = None  # None: derived (a wrong answer attempt is a mistake)
    graders: tuple[GraderSpec, ...] = ()  # empty: the default set
    notes: str = ""

    @property
    def scenario(self) -> str:
        return str(self.tags.get("scenario", ""))

    @property
    def language(self) -> str:
        return str(self.tags.get("language") or "en")

    @property
    def pinned(self) -> bool:
        return bool(self.tags.get("pinned", False))

    def to_json(self) -> dict[str, Any]:
        """The canonical form: what a suite file holds and what is hashed."""
        data: dict[str, Any] = {
            "id": self.id,
            "tags": dict(self.tags),
            "problem": self.problem.to_json() if self.problem is not None else None,
            "conversation": [t.to_json() for t in self.conversation],
            "message": self.message.to_json() if self.message is not None else None,
        }
        if self.student_was_wrong is not None:
            data["student_was_wrong"] = self.student_was_wrong
        if self.graders:
            data["graders"] = [g.to_json() for g in self.graders]
        if self.notes:
            data["notes"] = self.notes
        return data

    @property
    def content_hash(self) -> str:
        return canonical_hash(self.to_json())

    @property
    def input_hash(self) -> str:
        """Hash of what the tutor sees: not the tags (except language), graders or notes."""
        data = self.to_json()
        return canonical_hash(
            {
                "problem": data["problem"],
                "conversation": data["conversation"],
                "message": data["message"],
                "language": self.language,
            }
        )


@dataclass(frozen=True)
class SuiteHeader:
    name: str | None = None
    version: int | None = None
    description: str = ""


@dataclass(frozen=True)
class ParsedSuite:
    header: SuiteHeader
    cases: tuple[Case, ...]

    @property
    def content_hash(self) -> str:
        return suite_hash(self.cases)


@dataclass(frozen=True)
class CaseIssue:
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "case"
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


class SuiteInvalid(ValueError):
    def __init__(self, issues: Sequence[CaseIssue]) -> None:
        self.issues = list(issues)
        lines = "\n".join(f"  - {issue}" for issue in self.issues[:50])
        more = f"\n  ... and {len(self.issues) - 50} more" if len(self.issues) > 50 else ""
        super().__init__(f"{len(self.issues)} problem(s) in the suite; nothing was registered:\n{lines}{more}")


# ------------------------------------------------------------------------------ hashing


def canonical_json(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_hash(data: Any) -> str:
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()


def suite_hash(cases: Iterable[Case]) -> str:
    """The suite's identity: its cases' content hashes in file order."""
    return canonical_hash([[case.id, case.content_hash] for case in cases])


# ------------------------------------------------------------------------------ parsing


class _Checker:
    """Collects issues for one line; each helper returns a cleaned value or None."""

    def __init__(self, line: int | None) -> None:
        self.line = line
        self.issues: list[CaseIssue] = []

    def error(self, path: str, message: str) -> None:
        self.issues.append(CaseIssue(self.line, path, message))

    def unknown_keys(self, data: Mapping[str, Any], allowed: Sequence[str], path: str) -> None:
        for key in data:
            if key not in allowed:
                where = f"{path}.{key}" if path else str(key)
                self.error(where, f"unknown key (expected one of {', '.join(allowed)})")

    def text(self, data: Mapping[str, Any], key: str, path: str, *, required: bool = True, allow_empty: bool = False) -> str | None:
        value = data.get(key)
        if value is None:
            if required:
                self.error(path, "is required")
            return None
        if not isinstance(value, str):
            self.error(path, f"must be a string, got {_type(value)}")
            return None
        if not allow_empty and required and not value.strip():
            self.error(path, "must not be empty")
            return None
        return value


def _type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def _parse_tags(c: _Checker, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict):
        c.error("tags", f"must be an object, got {_type(raw)}")
        return {}
    tags: dict[str, Any] = {}
    for key, value in raw.items():
        if not isinstance(key, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", key):
            c.error(f"tags.{key}", "tag names are lower-case words (a-z, 0-9, _)")
            continue
        if key == "pinned":
            if not isinstance(value, bool):
                c.error("tags.pinned", f"must be true or false, got {_type(value)}")
                continue
        elif isinstance(value, list):
            if not all(isinstance(v, str) for v in value):
                c.error(f"tags.{key}", "a list tag holds strings only")
                continue
        elif isinstance(value, bool) or not isinstance(value, str | int):
            c.error(f"tags.{key}", f"must be a string, a whole number or a list of strings, got {_type(value)}")
            continue
        tags[key] = value
    scenario = tags.get("scenario")
    if not isinstance(scenario, str) or not scenario.strip():
        c.error("tags.scenario", "is required (what situation the case tests, e.g. asks_answer)")
    language = tags.get("language", "en")
    if not isinstance(language, str) or not re.fullmatch(r"[a-z]{2}(?:-[A-Za-z]{2})?", language):
        c.error("tags.language", f"must be a language code like en or es, got {language!r}")
    tags.setdefault("language", "en")
    tags.setdefault("pinned", False)
    return dict(sorted(tags.items()))


def _parse_answer_spec(c: _Checker, raw: Any, path: str) -> dict[str, Any] | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        c.error(path, f"must be an answer spec object {{kind, value, ...}}, got {_type(raw)}")
        return None
    from curriculum.checking import InvalidAnswerKey, check_answer, validate_answer_key
    from curriculum.keys import answer_key_from_data

    if "kind" not in raw or "value" not in raw:
        c.error(path, "needs kind and value")
        return None
    try:
        key = answer_key_from_data(raw, ())
        problems = validate_answer_key(key)
        if not problems and not check_answer(key, str(raw["value"])).correct:
            problems = [f"the checker does not accept its own value {raw['value']!r} for kind {raw['kind']!r}"]
    except (InvalidAnswerKey, ValueError, TypeError) as error:
        problems = [str(error)]
    for problem in problems:
        c.error(path, problem)
    return dict(raw)


def _parse_problem(c: _Checker, raw: Any) -> ProblemRef | InlineProblem | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        c.error("problem", f"must be an object (a reference {{course, code}} or an inline problem {{prompt, ...}}), got {_type(raw)}")
        return None
    if "code" in raw or "course" in raw:
        c.unknown_keys(raw, REF_KEYS, "problem")
        course = c.text(raw, "course", "problem.course")
        code = c.text(raw, "code", "problem.code")
        version = raw.get("version")
        if version is not None and (isinstance(version, bool) or not isinstance(version, int) or version < 1):
            c.error("problem.version", f"must be a whole number >= 1, got {version!r}")
            version = None
        if course is None or code is None:
            return None
        return ProblemRef(course=course, code=code, version=version)
    c.unknown_keys(raw, INLINE_KEYS, "problem")
    prompt = c.text(raw, "prompt", "problem.prompt", allow_empty=True)
    answer = _parse_answer_spec(c, raw.get("answer"), "problem.answer")
    hints: list[dict[str, str]] = []
    for index, hint in enumerate(raw.get("hints") or []):
        path = f"problem.hints[{index}]"
        if not isinstance(hint, dict) or not isinstance(hint.get("text"), str):
            c.error(path, "must be {kind: hint|scaffold|bottom_out, text}")
            continue
        kind = hint.get("kind", "hint")
        if kind not in HINT_KINDS:
            c.error(f"{path}.kind", f"must be one of {', '.join(HINT_KINDS)}, got {kind!r}")
        hints.append({"kind": kind, "text": hint["text"]})
    misconceptions: list[dict[str, Any]] = []
    for index, item in enumerate(raw.get("misconceptions") or []):
        path = f"problem.misconceptions[{index}]"
        if not isinstance(item, dict) or not isinstance(item.get("feedback"), str) or not (item.get("answer") or item.get("pattern")):
            c.error(path, "must be {code, answer or pattern, feedback}")
            continue
        misconceptions.append({k: item[k] for k in ("code", "answer", "pattern", "feedback") if item.get(k) is not None})
    grade = raw.get("grade")
    if grade is not None and (isinstance(grade, bool) or not isinstance(grade, int)):
        c.error("problem.grade", f"must be a whole number, got {grade!r}")
        grade = None
    for name in ("solution", "skill", "lesson"):
        if raw.get(name) is not None and not isinstance(raw[name], str):
            c.error(f"problem.{name}", f"must be a string, got {_type(raw[name])}")
    if prompt is None:
        return None
    return InlineProblem(
        prompt=prompt,
        answer=answer,
        solution=str(raw.get("solution") or ""),
        hints=tuple(hints),
        misconceptions=tuple(misconceptions),
        skill=str(raw.get("skill") or ""),
        lesson=str(raw.get("lesson") or ""),
        grade=grade,
    )


def _parse_conversation(c: _Checker, raw: Any) -> tuple[CaseTurn, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        c.error("conversation", f"must be a list of {{role, text}}, got {_type(raw)}")
        return ()
    turns = []
    for index, turn in enumerate(raw):
        path = f"conversation[{index}]"
        if not isinstance(turn, dict):
            c.error(path, f"must be an object {{role, text}}, got {_type(turn)}")
            continue
        c.unknown_keys(turn, ("role", "text", "kind"), path)
        role = turn.get("role")
        if role not in ROLES:
            c.error(f"{path}.role", f"must be student or tutor, got {role!r}")
            continue
        text = c.text(turn, "text", f"{path}.text", allow_empty=True)
        kind = turn.get("kind", "chat")
        if role == "tutor" and "kind" in turn:
            c.error(f"{path}.kind", "only student turns have a kind")
        elif kind not in MESSAGE_KINDS:
            c.error(f"{path}.kind", f"must be one of {', '.join(MESSAGE_KINDS)}, got {kind!r}")
            continue
        if text is not None:
            turns.append(CaseTurn(role=role, text=text, kind=kind if role == "student" else "chat"))
    return tuple(turns)


def _parse_message(c: _Checker, raw: Any) -> StudentMessage | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = {"kind": "chat", "text": raw}
    if not isinstance(raw, dict):
        c.error("message", f"must be {{kind, text}} (or null when the tutor speaks next), got {_type(raw)}")
        return None
    c.unknown_keys(raw, ("kind", "text"), "message")
    kind = raw.get("kind", "chat")
    if kind not in MESSAGE_KINDS:
        c.error("message.kind", f"must be one of {', '.join(MESSAGE_KINDS)}, got {kind!r}")
        return None
    text = raw.get("text", "")
    if not isinstance(text, str):
        c.error("message.text", f"must be a string, got {_type(text)}")
        return None
    if kind == "hint" and not text.strip():
        text = DEFAULT_HINT_TEXT
    if not text.strip():
        c.error("message.text", f"must not be empty for a {kind} message")
        return None
    return StudentMessage(kind=kind, text=text)


def _parse_graders(c: _Checker, raw: Any) -> tuple[GraderSpec, ...]:
    if raw is None:
        return ()
    if not isinstance(raw, list):
        c.error("graders", f"must be a list of {{name, params?, weight?}}, got {_type(raw)}")
        return ()
    from evals.graders import GRADERS

    specs = []
    seen = set()
    for index, item in enumerate(raw):
        path = f"graders[{index}]"
        if isinstance(item, str):
            item = {"name": item}
        if not isinstance(item, dict):
            c.error(path, f"must be a grader name or {{name, params?, weight?}}, got {_type(item)}")
            continue
        c.unknown_keys(item, ("name", "params", "weight"), path)
        name = item.get("name")
        if name not in GRADERS:
            c.error(f"{path}.name", f"unknown grader {name!r} (known: {', '.join(sorted(GRADERS))})")
            continue
        if name in seen:
            c.error(f"{path}.name", f"grader {name!r} is listed twice")
            continue
        seen.add(name)
        params = item.get("params") or {}
        if not isinstance(params, dict):
            c.error(f"{path}.params", f"must be an object, got {_type(params)}")
            params = {}
        weight = item.get("weight")
        if weight is not None and (isinstance(weight, bool) or not isinstance(weight, int | float) or weight < 0):
            c.error(f"{path}.weight", f"must be a number >= 0, got {weight!r}")
            weight = None
        specs.append(GraderSpec(name=name, params=dict(sorted(params.items())), weight=float(weight) if weight is not None else None))
    return tuple(specs)


def parse_case(data: Any, line: int | None = None) -> tuple[Case | None, list[CaseIssue]]:
    """One case from its decoded JSON: (case, []) or (None, issues)."""
    c = _Checker(line)
    if not isinstance(data, dict):
        c.error("", f"a case must be a JSON object, got {_type(data)}")
        return None, c.issues
    c.unknown_keys(data, CASE_KEYS, "")
    case_id = data.get("id")
    if not isinstance(case_id, str) or not ID_PATTERN.match(case_id):
        c.error("id", f"must be 1-120 characters of letters, digits, _ . : - (starting with a letter or digit), got {case_id!r}")
    tags = _parse_tags(c, data.get("tags", {}))
    if "problem" not in data:
        c.error("problem", "is required (a reference {course, code}, an inline problem {prompt, ...}, or null)")
    problem = _parse_problem(c, data.get("problem"))
    conversation = _parse_conversation(c, data.get("conversation"))
    if "message" not in data:
        c.error("message", "is required ({kind, text}, or null when the tutor speaks next)")
    message = _parse_message(c, data.get("message"))
    wrong = data.get("student_was_wrong")
    if wrong is not None and not isinstance(wrong, bool):
        c.error("student_was_wrong", f"must be true, false or null, got {_type(wrong)}")
        wrong = None
    graders = _parse_graders(c, data.get("graders"))
    notes = data.get("notes", "")
    if not isinstance(notes, str):
        c.error("notes", f"must be a string, got {_type(notes)}")
        notes = ""
    if message is None and not conversation:
        c.error("message", "a case without a new message needs a conversation")
    if c.issues:
        return None, c.issues
    assert isinstance(case_id, str)
    return (
        Case(
            id=case_id,
            tags=tags,
            problem=problem,
            conversation=conversation,
            message=message,
            student_was_wrong=wrong,
            graders=graders,
            notes=notes,
        ),
        [],
    )


def _parse_header(data: Mapping[str, Any], line: int) -> tuple[SuiteHeader, list[CaseIssue]]:
    c = _Checker(line)
    c.unknown_keys(data, HEADER_KEYS, "")
    name = data.get("suite")
    if not isinstance(name, str) or not SUITE_NAME_PATTERN.match(name):
        c.error("suite", f"must be a lower-case slug like pedagogy-core, got {name!r}")
        name = None
    version = data.get("version")
    if version is not None and (isinstance(version, bool) or not isinstance(version, int) or version < 1):
        c.error("version", f"must be a whole number >= 1, got {version!r}")
        version = None
    description = data.get("description", "")
    if not isinstance(description, str):
        c.error("description", f"must be a string, got {_type(description)}")
        description = ""
    return SuiteHeader(name=name, version=version, description=description), c.issues


def parse_suite(text: str) -> ParsedSuite:
    """Parse a JSONL suite; raises SuiteInvalid listing every problem with its line and field."""
    issues: list[CaseIssue] = []
    cases: list[Case] = []
    header = SuiteHeader()
    first_line: dict[str, int] = {}
    for number, raw_line in enumerate(text.splitlines(), start=1):
        if not raw_line.strip():
            continue
        try:
            data = json.loads(raw_line)
        except json.JSONDecodeError as error:
            issues.append(CaseIssue(number, "", f"not valid JSON: {error.msg} at column {error.colno}"))
            continue
        if isinstance(data, dict) and "suite" in data and "id" not in data:
            if cases or first_line or header.name:
                issues.append(CaseIssue(number, "suite", "the suite header must be the first line"))
                continue
            header, found = _parse_header(data, number)
            issues += found
            continue
        case, found = parse_case(data, number)
        issues += found
        if case is None:
            continue
        if case.id in first_line:
            issues.append(CaseIssue(number, "id", f"duplicate id {case.id!r} (first on line {first_line[case.id]})"))
            continue
        first_line[case.id] = number
        cases.append(case)
    if not cases and not issues:
        issues.append(CaseIssue(None, "", "the suite has no cases"))
    if issues:
        raise SuiteInvalid(issues)
    return ParsedSuite(header=header, cases=tuple(cases))


def dump_suite(cases: Iterable[Case], header: SuiteHeader | None = None) -> str:
    """JSONL text for a suite (header line first when given); parse_suite(dump_suite(x)) == x."""
    lines = []
    if header is not None and header.name:
        head: dict[str, Any] = {"suite": header.name}
        if header.version is not None:
            head["version"] = header.version
        if header.description:
            head["description"] = header.description
        lines.append(json.dumps(head, ensure_ascii=False))
    lines += [json.dumps(case.to_json(), ensure_ascii=False) for case in cases]
    return "\n".join(lines) + "\n"


def case_from_json(data: Mapping[str, Any]) -> Case:
    """A case from its stored canonical JSON (already validated once)."""
    case, issues = parse_case(dict(data))
    if case is None:
        raise SuiteInvalid(issues)
    return case
