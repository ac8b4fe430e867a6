"""Read, validate and import a course authored as YAML files (format: docs/curriculum-format.md).

`import_course(path)` reads every file and checks everything (YAML syntax, the JSON Schema of each
file, then the rules that span items: duplicate codes, unknown prerequisites, prerequisite
cycles, hint ladders, and every answer through the real checker) before writing anything. Any
problem raises `CurriculumInvalid` with all of them at once, each with its file, line and item
path; nothing is written. A valid course is written in one transaction.

Re-importing updates items by their stable codes. A problem whose content changed gets a new
version and a ProblemRevision; items missing from the files are retired (never deleted, so
student history keeps pointing at what the student saw) and come back if they are re-added.
"""

import difflib
import hashlib
import json
import re
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from django.db import transaction
from django.utils import timezone
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from curriculum.checking import (
    InvalidAnswerKey,
    check_answer,
    find_answer_in_text,
    validate_answer_key,
)
from curriculum.keys import answer_key_from_data
from curriculum.models import DEFAULT_BKT, Course, Problem, ProblemRevision, Skill, Unit
from curriculum.schema import COURSE_PROPERTIES, COURSE_SCHEMA, UNIT_SCHEMA

COURSE_FILE = "course.yaml"
UNITS_DIR = "units"
KINDS = ("course", "units", "skills", "problems")
OUTCOMES = ("created", "updated", "retired", "unchanged")
HINT_ORDER = {"hint": 0, "scaffold": 1, "bottom_out": 2}

Path_ = tuple[str | int, ...]


# --------------------------------------------------------------------------------------- issues
@dataclass(frozen=True)
class Issue:
    """One problem found in the files: where (file, line, item path) and why."""

    file: str
    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return (
            f"{where}: {self.path}: {self.message}"
            if self.path
            else f"{where}: {self.message}"
        )


class CurriculumInvalid(Exception):
    def __init__(
        self, issues: list[Issue], warnings: list[Issue] | None = None
    ) -> None:
        self.issues = issues
        self.warnings = warnings or []
        super().__init__(
            f"{len(issues)} problem(s) in the course files; nothing was imported."
        )


def format_path(path: Path_) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


@dataclass
class Source:
    """One YAML file, and where its items sit inside it (`prefix`: for units written inline)."""

    file: str
    lines: dict[Path_, int] = field(default_factory=dict)
    prefix: Path_ = ()

    def issue(self, path: Path_, message: str) -> Issue:
        full = self.prefix + tuple(path)
        line = None
        for end in range(len(full), -1, -1):
            if full[:end] in self.lines:
                line = self.lines[full[:end]]
                break
        return Issue(self.file, format_path(full), message, line)

    def inline(self, prefix: Path_) -> "Source":
        return Source(self.file, self.lines, self.prefix + prefix)


# ------------------------------------------------------------------------------------- reading
class _Loader(yaml.SafeLoader):
    """Safe YAML that refuses duplicate keys (PyYAML silently keeps the last one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        self.flatten_mapping(node)
        seen: dict[Any, yaml.Mark] = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                first = seen.get(key)
            except TypeError:
                continue  # unhashable: the base class reports it
            if first is not None:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"duplicate key {key!r} (first written on line {first.line + 1})",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def _line_map(
    node: yaml.Node | None, path: Path_ = (), lines: dict[Path_, int] | None = None
) -> dict[Path_, int]:
    lines = {} if lines is None else lines
    if node is None:
        return lines
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode):
                _line_map(value_node, (*path, key_node.value), lines)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _line_map(item, (*path, index), lines)
    return lines


def load_yaml(path: Path, display: str) -> tuple[Any, Source, list[Issue]]:
    """Parse one file: (data, its source with line numbers, issues)."""
    source = Source(display)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None, source, [source.issue((), "file not found")]
    except (OSError, UnicodeDecodeError) as error:
        return None, source, [source.issue((), f"cannot read the file: {error}")]
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        detail = " ".join(part for part in (error.context, error.problem) if part)
        line = mark.line + 1 if mark else None
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        return (
            None,
            source,
            [Issue(display, "", f"YAML syntax error at {where}{detail}", line)],
        )
    except yaml.YAMLError as error:
        return None, source, [Issue(display, "", f"YAML syntax error: {error}")]
    finally:
        loader.dispose()
    source.lines = _line_map(node)
    return data, source, []


# ------------------------------------------------------------------------------ schema messages
_TYPE_NAMES = {
    "string": "a string",
    "integer": "a whole number",
    "number": "a number",
    "array": "a list",
    "object": "a mapping (key: value lines)",
    "boolean": "true or false",
    "null": "empty",
}


def _type_of(value: Any) -> str:
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return f"a {type(value).__name__}"


def _schema_message(error: ValidationError) -> Iterator[tuple[Path_, str]]:
    path: Path_ = tuple(error.absolute_path)
    kind = error.validator
    if kind == "required":
        for key in error.validator_value:
            if isinstance(error.instance, dict) and key not in error.instance:
                yield path, f"missing required key '{key}'"
    elif kind == "additionalProperties":
        allowed = list(error.schema.get("properties", {}))
        for key in sorted(set(error.instance) - set(allowed), key=str):
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = (
                f" (did you mean '{close[0]}'?)"
                if close
                else f" (allowed: {', '.join(allowed)})"
            )
            yield path, f"unknown key '{key}'{hint}"
    elif kind == "type":
        expected = _TYPE_NAMES.get(
            str(error.validator_value), str(error.validator_value)
        )
        actual = _type_of(error.instance)
        quote = (
            " (put it in quotes)"
            if error.validator_value == "string" and actual != "empty"
            else ""
        )
        yield path, f"must be {expected}, not {actual}{quote}"
    elif kind == "enum":
        options = ", ".join(str(option) for option in error.validator_value)
        yield path, f"must be one of: {options} (not {error.instance!r})"
    elif kind == "minItems":
        if path and path[-1] == "hints":
            yield (
                path,
                f"a hint ladder needs at least {error.validator_value} steps (this one has {len(error.instance)})",
            )
        else:
            yield (
                path,
                f"needs at least {error.validator_value} item(s) (has {len(error.instance)})",
            )
    elif kind == "uniqueItems":
        yield path, "lists the same item twice"
    elif kind in ("minimum", "maximum"):
        word = "at least" if kind == "minimum" else "at most"
        yield path, f"must be {word} {error.validator_value} (not {error.instance!r})"
    elif kind == "maxLength":
        yield path, f"must be at most {error.validator_value} characters long"
    elif (
        kind in ("pattern", "minLength", "oneOf", "anyOf")
        and "x-message" in error.schema
    ):
        shown = (
            f" (not {error.instance!r})"
            if isinstance(error.instance, str) and error.instance.strip()
            else ""
        )
        yield path, f"{error.schema['x-message']}{shown}"
    else:
        yield path, error.message


def _schema_issues(
    validator: Draft202012Validator, data: Any, source: Source
) -> list[Issue]:
    issues: dict[
        Issue, None
    ] = {}  # one `required` error per missing key repeats the others
    for error in validator.iter_errors(data):
        for path, message in _schema_message(error):
            issues[source.issue(path, message)] = None
    return list(issues)


_UNIT_VALIDATOR = Draft202012Validator(UNIT_SCHEMA)
_COURSE_VALIDATOR = Draft202012Validator(
    {
        **COURSE_SCHEMA,
        "properties": {**COURSE_PROPERTIES, "units": {"type": "array", "minItems": 1}},
    }
)
_CODE_VALIDATOR = Draft202012Validator(COURSE_PROPERTIES["units"]["items"]["anyOf"][0])


# ------------------------------------------------------------------------------- course files
@dataclass
class CourseFiles:
    """A course as read from disk: the data with its units inline, and where each unit came from."""

    root: Path
    data: dict[str, Any] | None
    course_source: Source
    unit_sources: list[Source]
    issues: list[Issue]
    warnings: list[Issue]

    def units(self) -> Iterator[tuple[Source, dict[str, Any]]]:
        units = self.data.get("units", []) if self.data else []
        for source, unit in zip(self.unit_sources, units, strict=False):
            if isinstance(unit, dict):
                yield source, unit


def read_course(path: str | Path) -> CourseFiles:
    """Read a course directory (course.yaml + units/*.yaml) or one YAML file with units inline."""
    path = Path(path)
    course_path = path / COURSE_FILE if path.is_dir() else path
    root = course_path.parent
    display = course_path.name if path.exists() else str(path)
    data, course_source, issues = load_yaml(course_path, display)
    files = CourseFiles(root, None, course_source, [], issues, [])
    if issues:
        return files
    if not isinstance(data, dict):
        files.issues.append(
            course_source.issue((), "must be a mapping with code, title and units")
        )
        return files
    files.issues += _schema_issues(_COURSE_VALIDATOR, data, course_source)
    units = data.get("units")
    data = {**data, "units": []}
    files.data = data
    listed = set()
    for index, entry in enumerate(units if isinstance(units, list) else []):
        if isinstance(entry, dict):
            source = course_source.inline(("units", index))
            files.issues += _schema_issues(_UNIT_VALIDATOR, entry, source)
            unit = entry
        elif isinstance(entry, str) and _CODE_VALIDATOR.is_valid(entry):
            listed.add(f"{entry}.yaml")
            display = f"{UNITS_DIR}/{entry}.yaml"
            unit, source, unit_issues = load_yaml(
                root / UNITS_DIR / f"{entry}.yaml", display
            )
            if unit_issues and not (root / UNITS_DIR / f"{entry}.yaml").exists():
                unit_issues = [
                    course_source.issue(
                        ("units", index), f"unit file {display} not found"
                    )
                ]
            files.issues += unit_issues
            if not unit_issues:
                files.issues += _schema_issues(_UNIT_VALIDATOR, unit, source)
                if isinstance(unit, dict) and unit.get("code") not in (None, entry):
                    files.issues.append(
                        source.issue(
                            ("code",),
                            f"is {unit.get('code')!r} but the file is listed as unit {entry!r}",
                        )
                    )
        else:
            files.issues.append(
                course_source.issue(
                    ("units", index),
                    "must be a unit code (its file is units/<code>.yaml) or a unit written inline",
                )
            )
            source, unit = course_source.inline(("units", index)), None
        data["units"].append(unit)
        files.unit_sources.append(source)
    units_dir = root / UNITS_DIR
    if path.is_dir() and units_dir.is_dir():
        for stray in sorted(units_dir.glob("*.y*ml")):
            if stray.name not in listed:
                files.warnings.append(
                    Issue(
                        f"{UNITS_DIR}/{stray.name}",
                        "",
                        "not listed in course.yaml units: ignored",
                    )
                )
    return files


# --------------------------------------------------------------------------------- validation
def _dicts(value: Any) -> Iterator[tuple[int, dict[str, Any]]]:
    for index, item in enumerate(value if isinstance(value, list) else []):
        if isinstance(item, dict):
            yield index, item


def iter_skills(
    files: CourseFiles,
) -> Iterator[tuple[Source, Path_, dict[str, Any], dict[str, Any]]]:
    """(source, path of the skill in its file, skill, unit) for every skill."""
    for source, unit in files.units():
        for index, skill in _dicts(unit.get("skills")):
            yield source, ("skills", index), skill, unit


def iter_problems(
    files: CourseFiles,
) -> Iterator[tuple[Source, Path_, dict[str, Any], dict[str, Any]]]:
    for source, skill_path, skill, _ in iter_skills(files):
        for index, problem in _dicts(skill.get("problems")):
            yield source, (*skill_path, "problems", index), problem, skill


def _check_duplicates(
    items: Iterable[tuple[Source, Path_, Any]], what: str
) -> list[Issue]:
    issues: list[Issue] = []
    first_seen: dict[str, str] = {}
    for source, path, code in items:
        if not isinstance(code, str):
            continue
        if code in first_seen:
            first = first_seen[code]
            issues.append(
                source.issue(
                    (*path, "code"), f"duplicate {what} code {code!r} (also at {first})"
                )
            )
        else:
            where = format_path(source.prefix + path)
            first_seen[code] = f"{source.file}: {where}" if where else source.file
    return issues


def _cycle_through(
    start: str, graph: dict[str, list[str]], component: set[str]
) -> list[str]:
    """The shortest cycle from `start` back to itself inside one strongly connected component."""
    parents: dict[str, str] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for nxt in graph.get(node, []):
            if nxt not in component:
                continue
            if nxt == start:
                path = [node]
                while path[-1] != start:
                    path.append(parents[path[-1]])
                return [*reversed(path), start]
            if nxt not in parents:
                parents[nxt] = node
                queue.append(nxt)
    return [start, start]


def _strong_components(graph: dict[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm (iterative), components listed in the graph's key order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(graph[root]))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(graph.get(child, []))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(component)
    return components


def find_cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """One named cycle per strongly connected component that has one, e.g. [a, b, c, a]."""
    order = {code: position for position, code in enumerate(graph)}
    cycles = []
    for component in _strong_components(graph):
        start = min(component, key=order.__getitem__)
        if len(component) > 1 or start in graph.get(start, []):
            cycles.append(_cycle_through(start, graph, set(component)))
    return sorted(cycles, key=lambda cycle: order[cycle[0]])


def _check_prerequisites(files: CourseFiles) -> list[Issue]:
    issues: list[Issue] = []
    skills: dict[str, tuple[Source, Path_, dict[str, Any]]] = {}
    for source, path, skill, _ in iter_skills(files):
        if isinstance(skill.get("code"), str):
            skills.setdefault(skill["code"], (source, path, skill))
    graph: dict[str, list[str]] = {}
    for code, (source, path, skill) in skills.items():
        graph[code] = []
        prerequisites = skill.get("prerequisites")
        for index, prerequisite in enumerate(
            prerequisites if isinstance(prerequisites, list) else []
        ):
            if not isinstance(prerequisite, str):
                continue
            if prerequisite in skills:
                graph[code].append(prerequisite)
            else:
                close = difflib.get_close_matches(prerequisite, list(skills), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                issues.append(
                    source.issue(
                        (*path, "prerequisites", index),
                        f"unknown prerequisite {prerequisite!r}{hint}",
                    )
                )
    for cycle in find_cycles(graph):
        source, path, _ = skills[cycle[0]]
        named = " → ".join(cycle)
        issues.append(
            source.issue(
                (*path, "prerequisites"),
                f"prerequisite cycle: {named} (each skill needs the next one first)",
            )
        )
    return issues


def _check_hint_ladder(source: Source, path: Path_, hints: Any) -> list[Issue]:
    kinds = [str(hint.get("kind")) for _, hint in _dicts(hints)]
    if len(kinds) < 3 or any(kind not in HINT_ORDER for kind in kinds):
        return []  # reported by the schema
    ranks = [HINT_ORDER[kind] for kind in kinds]
    ordered = ranks == sorted(ranks)
    if (
        ordered
        and kinds[0] == "hint"
        and "scaffold" in kinds
        and kinds.count("bottom_out") == 1
        and kinds[-1] == "bottom_out"
    ):
        return []
    shown = ", ".join(kinds)
    return [
        source.issue(
            (*path, "hints"),
            f"bad hint ladder [{shown}]: it must go hint(s), then scaffold(s), then exactly one bottom_out last",
        )
    ]


def _call_checker(function, *args, **kwargs) -> tuple[Any, str | None]:
    try:
        return function(*args, **kwargs), None
    except (
        Exception
    ) as error:  # an authoring error is reported, never crashes the import
        return None, f"{type(error).__name__}: {error}"


_CHECKER_WHERE = re.compile(
    r"^(?:(?P<key>kind|value|tolerance|allow|choices|accept|variable)|misconceptions\[(?P<index>\d+)\][^:]*): "
)


def _checker_issue(source: Source, path: Path_, message: str) -> Issue:
    """validate_answer_key says where ("value: ...", "misconceptions[1] (code): ..."): keep it in the path."""
    match = _CHECKER_WHERE.match(message)
    if match is None:
        return source.issue((*path, "answer"), message)
    rest = message[match.end() :]
    if match.group("key"):
        return source.issue((*path, "answer", match.group("key")), rest)
    return source.issue((*path, "misconceptions", int(match.group("index"))), rest)


def _check_answers(source: Source, path: Path_, problem: dict[str, Any]) -> list[Issue]:
    """The answer key through the real checker: it reads, accepts its own answer and accepted forms,
    and every misconception answer is rejected and reported as that misconception."""
    misconceptions = [item for _, item in _dicts(problem.get("misconceptions"))]
    key = answer_key_from_data(problem.get("answer") or {}, misconceptions)
    try:
        messages, failure = validate_answer_key(key), None
    except InvalidAnswerKey as error:
        return [source.issue((*path, "answer", "value"), str(error))]
    except (
        Exception
    ) as error:  # an authoring error is reported, never crashes the import
        messages, failure = [], f"{type(error).__name__}: {error}"
    if failure:
        return [
            source.issue(
                (*path, "answer"), f"the answer key cannot be checked: {failure}"
            )
        ]
    if messages:
        return [_checker_issue(source, path, message) for message in messages]
    issues = []
    value = key.spec.value
    verdict, failure = _call_checker(check_answer, key, value)
    if failure or not verdict.correct:
        reason = failure or verdict.parse_error or verdict.feedback
        issues.append(
            source.issue(
                (*path, "answer", "value"),
                f"the checker rejects the problem's own answer {value!r}: {reason}",
            )
        )
    for index, accepted in enumerate(key.spec.accept):
        verdict, failure = _call_checker(check_answer, key, accepted)
        if failure or not verdict.correct:
            issues.append(
                source.issue(
                    (*path, "answer", "accept", index),
                    f"the checker rejects this accepted form {accepted!r}",
                )
            )
    for index, item in _dicts(problem.get("misconceptions")):
        wrong = item.get("answer")
        if not isinstance(wrong, str):
            continue
        where = (*path, "misconceptions", index, "answer")
        verdict, failure = _call_checker(check_answer, key, wrong)
        if failure:
            issues.append(
                source.issue(where, f"the checker fails on {wrong!r}: {failure}")
            )
        elif verdict.correct:
            issues.append(
                source.issue(
                    where,
                    f"the checker accepts {wrong!r} as correct, so this misconception can never be shown",
                )
            )
        elif verdict.misconception is None or verdict.misconception.code != item.get(
            "code"
        ):
            found = (
                f"misconception {verdict.misconception.code!r}"
                if verdict.misconception
                else "no misconception"
            )
            why = f" ({verdict.parse_error})" if verdict.parse_error else ""
            issues.append(
                source.issue(
                    where,
                    f"{wrong!r} is not matched to this misconception: the checker reports {found}{why}",
                )
            )
    return issues


def prompt_values(prompt: str) -> tuple[str, ...]:
    """What the student already has in front of them: the prompt, whose numbers (in the form they
    are written) a hint may repeat without giving the answer away. find_answer_in_text scans it."""
    return (prompt,) if prompt else ()


def hint_leaks(problem: dict[str, Any]) -> list[tuple[int, str]]:
    """(hint index, mentioned value) for every hint that states the problem's final answer."""
    key = answer_key_from_data(
        problem.get("answer") or {}, problem.get("misconceptions") or ()
    )
    known = prompt_values(str(problem.get("prompt") or ""))
    leaks = []
    for index, hint in _dicts(problem.get("hints")):
        mention, failure = _call_checker(
            find_answer_in_text, key, str(hint.get("text", "")), known_values=known
        )
        if mention is not None and not failure:
            leaks.append((index, mention.value))
    return leaks


def validate_course(files: CourseFiles) -> tuple[list[Issue], list[Issue]]:
    """All the problems in the files (issues) and the things worth a look (warnings)."""
    issues = list(files.issues)
    warnings = list(files.warnings)
    if files.data is None:
        return issues, warnings
    broken = {(issue.file, issue.path) for issue in issues}

    def answer_is_broken(source: Source, path: Path_, problem: dict[str, Any]) -> bool:
        """The schema already found a problem in the answer key: don't run the checker on it."""
        if not isinstance(problem.get("answer"), dict):
            return True
        prefixes = tuple(
            format_path((*source.prefix, *path, key))
            for key in ("answer", "misconceptions")
        )
        return any(file == source.file and p.startswith(prefixes) for file, p in broken)

    issues += _check_duplicates(
        ((source, (), unit.get("code")) for source, unit in files.units()), "unit"
    )
    issues += _check_duplicates(
        (
            (source, path, skill.get("code"))
            for source, path, skill, _ in iter_skills(files)
        ),
        "skill",
    )
    issues += _check_duplicates(
        (
            (source, path, problem.get("code"))
            for source, path, problem, _ in iter_problems(files)
        ),
        "problem",
    )
    issues += _check_prerequisites(files)
    skill_codes = {skill.get("code") for _, _, skill, _ in iter_skills(files)}
    for source, path, problem, _skill in iter_problems(files):
        issues += _check_hint_ladder(source, path, problem.get("hints"))
        for index, code in enumerate(problem.get("also_skills") or []):
            if isinstance(code, str) and code not in skill_codes:
                issues.append(
                    source.issue(
                        (*path, "also_skills", index), f"unknown skill {code!r}"
                    )
                )
        if answer_is_broken(source, path, problem):
            continue
        issues += _check_answers(source, path, problem)
        for index, value in hint_leaks(problem):
            warnings.append(
                source.issue(
                    (*path, "hints", index, "text"),
                    f"may give away the answer ({value!r})",
                )
            )
    return _in_file_order(files, issues), _in_file_order(files, warnings)


def _in_file_order(files: CourseFiles, issues: list[Issue]) -> list[Issue]:
    """course.yaml first, then the unit files in course order; by line within a file."""
    rank = {files.course_source.file: 0}
    for source in files.unit_sources:
        rank.setdefault(source.file, len(rank))
    return sorted(
        issues, key=lambda issue: (rank.get(issue.file, len(rank)), issue.line or 0)
    )


# ------------------------------------------------------------------------- normalised content
def _canonical_hash(data: Any) -> str:
    return hashlib.sha256(
        json.dumps(
            data, sort_keys=True, ensure_ascii=False, separators=(",", ":")
        ).encode()
    ).hexdigest()


ANSWER_KEYS = ("kind", "value", "tolerance", "allow", "choices", "accept", "variable")
MISCONCEPTION_KEYS = ("code", "answer", "pattern", "feedback")


def _without_empty(data: dict[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    return {key: data[key] for key in keys if data.get(key) not in (None, [], "")}


def problem_content(problem: dict[str, Any]) -> dict[str, Any]:
    """What a student and the tutor see of a problem: the part that is versioned and hashed."""
    return {
        "prompt": problem["prompt"],
        "answer": _without_empty(problem["answer"], ANSWER_KEYS),
        "solution": problem["solution"],
        "hints": [
            {"kind": hint["kind"], "text": hint["text"]} for hint in problem["hints"]
        ],
        "misconceptions": [
            _without_empty(item, MISCONCEPTION_KEYS)
            for item in problem.get("misconceptions") or []
        ],
        "difficulty": problem.get("difficulty", 1),
        "grade": problem.get("grade"),
        "tags": list(problem.get("tags") or []),
    }


def skill_bkt(skill: dict[str, Any]) -> dict[str, float]:
    return {**DEFAULT_BKT, **(skill.get("bkt") or {})}


def normalise_course(data: dict[str, Any]) -> dict[str, Any]:
    """The course with every default filled in: two files with equal normal forms are the same course."""
    return {
        "code": data["code"],
        "title": data["title"],
        "description": data.get("description") or "",
        "version": data.get("version", 1),
        "language": data.get("language", "en"),
        "grade_band": data.get("grade_band") or "",
        "units": [
            {
                "code": unit["code"],
                "title": unit["title"],
                "skills": [
                    {
                        "code": skill["code"],
                        "name": skill["name"],
                        "description": skill.get("description") or "",
                        "prerequisites": list(skill.get("prerequisites") or []),
                        "lesson": skill["lesson"],
                        "bkt": skill_bkt(skill),
                        "problems": [
                            {
                                "code": problem["code"],
                                **problem_content(problem),
                                "also_skills": list(problem.get("also_skills") or []),
                            }
                            for problem in skill["problems"]
                        ],
                    }
                    for skill in unit["skills"]
                ],
            }
            for unit in data["units"]
        ],
    }


# ------------------------------------------------------------------------------------ writing
@dataclass
class ImportReport:
    course_code: str
    course_title: str
    counts: dict[str, Counter] = field(
        default_factory=lambda: {kind: Counter() for kind in KINDS}
    )
    new_versions: int = 0
    warnings: list[Issue] = field(default_factory=list)
    dry_run: bool = False

    def count(self, kind: str, outcome: str) -> None:
        self.counts[kind][outcome] += 1

    @property
    def changed(self) -> bool:
        return any(
            counter[outcome]
            for counter in self.counts.values()
            for outcome in ("created", "updated", "retired")
        )

    def summary_lines(self) -> list[str]:
        verb = "Would import" if self.dry_run else "Imported"
        lines = [f"{verb} {self.course_code} ({self.course_title}):"]
        lines.append(f"  {'':10}" + "".join(f"{outcome:>10}" for outcome in OUTCOMES))
        for kind in KINDS:
            lines.append(
                f"  {kind:10}"
                + "".join(f"{self.counts[kind][outcome]:>10}" for outcome in OUTCOMES)
            )
        lines.append(f"  new problem versions: {self.new_versions}")
        if not self.changed:
            lines.append("  nothing changed")
        return lines


def _assign(instance: Any, values: dict[str, Any]) -> bool:
    changed = False
    for name, value in values.items():
        if getattr(instance, name) != value:
            setattr(instance, name, value)
            changed = True
    if getattr(instance, "retired_at", None) is not None:
        instance.retired_at = None
        changed = True
    return changed


def _set_ordered(
    through: Any, owner_field: str, target_field: str, owner: Any, targets: list[Any]
) -> bool:
    """Set an M2M to `targets` keeping their order (rows are read back ordered by id)."""
    rows = through.objects.filter(**{owner_field: owner}).order_by("id")
    current = [getattr(row, f"{target_field}_id") for row in rows]
    wanted = [target.pk for target in targets]
    if current == wanted:
        return False
    rows.delete()
    through.objects.bulk_create(
        [through(**{owner_field: owner, target_field: target}) for target in targets]
    )
    return True


def ordered_prerequisites(skill: Skill) -> list[str]:
    through = Skill.prerequisites.through
    return list(
        through.objects.filter(from_skill=skill)
        .order_by("id")
        .values_list("to_skill__code", flat=True)
    )


def ordered_also_skills(problem: Problem) -> list[str]:
    through = Problem.also_skills.through
    return list(
        through.objects.filter(problem=problem)
        .order_by("id")
        .values_list("skill__code", flat=True)
    )


def _write_course(data: dict[str, Any], report: ImportReport) -> Course:
    now = timezone.now()
    values = {
        "title": data["title"],
        "description": data["description"],
        "language": data["language"],
        "grade_band": data["grade_band"],
        "version": data["version"],
        "content_hash": _canonical_hash(data),
    }
    course = Course.objects.select_for_update().filter(code=data["code"]).first()
    if course is None:
        course = Course.objects.create(code=data["code"], imported_at=now, **values)
        report.count("course", "created")
    elif _assign(course, values):
        course.imported_at = now
        course.save()
        report.count("course", "updated")
    else:
        report.count("course", "unchanged")
    return course


def _retire(
    queryset: Any, keep: set[str], kind: str, report: ImportReport, now: Any
) -> None:
    for item in queryset.filter(retired_at__isnull=True).exclude(code__in=keep):
        item.retired_at = now
        item.save(update_fields=["retired_at"])
        report.count(kind, "retired")


def _write_units(
    course: Course, data: dict[str, Any], report: ImportReport, now: Any
) -> dict[str, Unit]:
    existing = {unit.code: unit for unit in Unit.objects.filter(course=course)}
    units = {}
    for position, unit_data in enumerate(data["units"]):
        values = {"title": unit_data["title"], "position": position}
        unit = existing.get(unit_data["code"])
        if unit is None:
            unit = Unit.objects.create(course=course, code=unit_data["code"], **values)
            report.count("units", "created")
        elif _assign(unit, values):
            unit.save()
            report.count("units", "updated")
        else:
            report.count("units", "unchanged")
        units[unit.code] = unit
    _retire(Unit.objects.filter(course=course), set(units), "units", report, now)
    return units


def _write_skills(
    course: Course,
    data: dict[str, Any],
    units: dict[str, Unit],
    report: ImportReport,
    now: Any,
) -> dict[str, Skill]:
    existing = {skill.code: skill for skill in Skill.objects.filter(course=course)}
    skills: dict[str, Skill] = {}
    outcome: dict[str, str] = {}
    for unit_data in data["units"]:
        for position, skill_data in enumerate(unit_data["skills"]):
            values: dict[str, Any] = {
                "unit": units[unit_data["code"]],
                "name": skill_data["name"],
                "description": skill_data["description"],
                "lesson": skill_data["lesson"],
                "position": position,
            }
            skill = existing.get(skill_data["code"])
            if skill is None or skill.bkt_fitted_at is None:
                values.update(
                    {f"bkt_{name}": value for name, value in skill_data["bkt"].items()}
                )
            if skill is None:
                skill = Skill.objects.create(
                    course=course, code=skill_data["code"], **values
                )
                outcome[skill.code] = "created"
            elif _assign(skill, values):
                skill.save()
                outcome[skill.code] = "updated"
            else:
                outcome[skill.code] = "unchanged"
            skills[skill.code] = skill
    through = Skill.prerequisites.through
    for unit_data in data["units"]:
        for skill_data in unit_data["skills"]:
            skill = skills[skill_data["code"]]
            prerequisites = [skills[code] for code in skill_data["prerequisites"]]
            if (
                _set_ordered(through, "from_skill", "to_skill", skill, prerequisites)
                and outcome[skill.code] == "unchanged"
            ):
                outcome[skill.code] = "updated"
    for result in outcome.values():
        report.count("skills", result)
    _retire(Skill.objects.filter(course=course), set(skills), "skills", report, now)
    return skills


def _write_problems(
    course: Course,
    data: dict[str, Any],
    skills: dict[str, Skill],
    report: ImportReport,
    now: Any,
) -> None:
    existing = {
        problem.code: problem for problem in Problem.objects.filter(course=course)
    }
    through = Problem.also_skills.through
    seen = set()
    for unit_data in data["units"]:
        for skill_data in unit_data["skills"]:
            for position, problem_data in enumerate(skill_data["problems"]):
                content = {
                    key: value
                    for key, value in problem_data.items()
                    if key not in ("code", "also_skills")
                }
                content_hash = _canonical_hash(content)
                values = {
                    "skill": skills[skill_data["code"]],
                    "position": position,
                    "prompt": content["prompt"],
                    "answer_spec": content["answer"],
                    "solution": content["solution"],
                    "hints": content["hints"],
                    "misconceptions": content["misconceptions"],
                    "difficulty": content["difficulty"],
                    "grade": content["grade"],
                    "tags": content["tags"],
                }
                problem = existing.get(problem_data["code"])
                if problem is None:
                    problem = Problem.objects.create(
                        course=course,
                        code=problem_data["code"],
                        version=1,
                        content_hash=content_hash,
                        **values,
                    )
                    ProblemRevision.objects.create(
                        problem=problem,
                        version=1,
                        content=content,
                        content_hash=content_hash,
                    )
                    result = "created"
                else:
                    result = "updated" if _assign(problem, values) else "unchanged"
                    if problem.content_hash != content_hash:
                        problem.version += 1
                        problem.content_hash = content_hash
                        ProblemRevision.objects.create(
                            problem=problem,
                            version=problem.version,
                            content=content,
                            content_hash=content_hash,
                        )
                        report.new_versions += 1
                        result = "updated"
                    if result == "updated":
                        problem.save()
                also = [skills[code] for code in problem_data["also_skills"]]
                if (
                    _set_ordered(through, "problem", "skill", problem, also)
                    and result == "unchanged"
                ):
                    result = "updated"
                report.count("problems", result)
                seen.add(problem.code)
    _retire(Problem.objects.filter(course=course), seen, "problems", report, now)


def record_problem_revision(problem: Problem) -> bool:
    """After an edit outside the files (the admin): bump the version if the content changed."""
    content = problem_content(
        {
            "prompt": problem.prompt,
            "answer": problem.answer_spec or {},
            "solution": problem.solution,
            "hints": problem.hints or [],
            "misconceptions": problem.misconceptions or [],
            "difficulty": problem.difficulty,
            "grade": problem.grade,
            "tags": problem.tags or [],
        }
    )
    content_hash = _canonical_hash(content)
    if content_hash == problem.content_hash:
        return False
    if problem.content_hash or problem.revisions.exists():
        problem.version += 1
    problem.content_hash = content_hash
    problem.save(update_fields=["version", "content_hash"])
    ProblemRevision.objects.create(
        problem=problem,
        version=problem.version,
        content=content,
        content_hash=content_hash,
    )
    return True


def import_course(path: str | Path, *, dry_run: bool = False) -> ImportReport:
    """Validate everything, then import in one transaction. Raises CurriculumInvalid with every issue."""
    files = read_course(path)
    issues, warnings = validate_course(files)
    if issues:
        raise CurriculumInvalid(issues, warnings)
    assert files.data is not None
    data = normalise_course(files.data)
    report = ImportReport(
        data["code"], data["title"], warnings=warnings, dry_run=dry_run
    )
    now = timezone.now()
    with transaction.atomic():
        course = _write_course(data, report)
        units = _write_units(course, data, report, now)
        skills = _write_skills(course, data, units, report, now)
        _write_problems(course, data, skills, report, now)
        if dry_run:
            transaction.set_rollback(True)
    return report
