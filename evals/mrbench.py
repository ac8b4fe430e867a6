"""Import a file in MRBench's format as a replay suite: its conversations become cases, its tutors
become replay releases named ``mrbench-<tutor>`` that answer with the recorded responses.

MRBench (Maurya et al., NAACL 2025; CC BY-SA 4.0) records, per line: conversation_id, tutor,
conversation_history ("Tutor: ... \\n Student: ..."), response, ground_truth_solution (or null),
labels. We never copy the data into the repository: the path is given by the user.

    import_mrbench("mrbench_calibration.jsonl", "mrbench-calibration")
    # -> suite mrbench-calibration (one case per conversation) + releases mrbench-GPT4, ...

A conversation's case: the dialogue up to the student's last turn as the conversation, that
turn as the new message (MRBench dialogues end on a student mistake or confusion, so
``student_was_wrong`` is true), the question and the worked solution inline, and the final
answer (the solution's last line) as a numeric answer key when it reads as a number.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.db import transaction

from evals.actions import Registered, register_suite
from evals.agreement import parse_history, record_to_input
from evals.cases import (
    Case,
    CaseIssue,
    CaseTurn,
    InlineProblem,
    StudentMessage,
    SuiteInvalid,
)
from evals.graders.answer_leak import key_from_final_answer
from evals.models import ReplayResponse, Suite
from evals.replay import BACKEND
from tutor.errors import Conflict
from tutor.models import Release, User

REQUIRED = ("conversation_id", "tutor", "conversation_history", "response")
RELEASE_PREFIX = "mrbench-"
PROMPT_VERSION = "recorded"


@dataclass(frozen=True)
class MRBenchImport:
    registered: Registered
    releases: list[tuple[Release, bool]]  # (release, created)
    recordings: int

    @property
    def suite(self) -> Suite:
        return self.registered.suite


def load_records(path: str | Path) -> list[dict[str, Any]]:
    """The records of a JSONL file, validated: raises SuiteInvalid naming each bad line and field."""
    records, issues = [], []
    with open(path, encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                issues.append(CaseIssue(number, "", f"not valid JSON: {error.msg}"))
                continue
            if not isinstance(record, dict):
                issues.append(CaseIssue(number, "", "a record must be a JSON object"))
                continue
            for name in REQUIRED:
                value = record.get(name)
                if not isinstance(value, str) or not value.strip():
                    issues.append(CaseIssue(number, name, "is required (a non-empty string)"))
            if isinstance(record.get("conversation_id"), str) and not re.fullmatch(r"[\w.:-]{1,100}", record["conversation_id"]):
                issues.append(CaseIssue(number, "conversation_id", "use letters, digits, _ . : - (at most 100)"))
            if isinstance(record.get("tutor"), str) and not re.fullmatch(r"[A-Za-z0-9_-]{1,60}", record["tutor"]):
                issues.append(CaseIssue(number, "tutor", "use letters, digits, _ and - (it names a release)"))
            records.append(record)
    if not records and not issues:
        issues.append(CaseIssue(None, "", "the file has no records"))
    if issues:
        raise SuiteInvalid(issues)
    return records


def release_name(tutor: str) -> str:
    return f"{RELEASE_PREFIX}{tutor}"


def _history_key(record: Mapping[str, Any]) -> str:
    history = record.get("history_sha1")
    if history:
        return str(history)
    text = re.sub(r"\s+", " ", str(record["conversation_history"])).strip()
    return hashlib.sha1(text.encode()).hexdigest()


def _answer_spec(final_answer: str | None) -> dict[str, str] | None:
    key = key_from_final_answer(final_answer)
    return {"kind": key.spec.kind, "value": key.spec.value} if key is not None else None


def case_from_record(record: Mapping[str, Any], case_id: str) -> Case:
    inp = record_to_input(record)
    turns = [CaseTurn(role=t.role, text=t.text) for t in parse_history(record["conversation_history"])]
    message = None
    if turns and turns[-1].role == "student":
        message = StudentMessage(kind="chat", text=turns.pop().text)
    return Case(
        id=case_id,
        tags={
            "scenario": "remediation",
            "dataset": "mrbench",
            "source": str(record.get("source") or "unknown"),
            "language": "en",
            "pinned": False,
        },
        problem=InlineProblem(prompt=inp.problem_text or "", answer=_answer_spec(inp.final_answer), solution=inp.solution or ""),
        conversation=tuple(turns),
        message=message,
        student_was_wrong=True,
        notes=f"MRBench {record.get('source') or ''} dialogue {record['conversation_id']} (CC BY-SA 4.0).".replace("  ", " "),
    )


def cases_and_recordings(records: Iterable[Mapping[str, Any]]) -> tuple[list[Case], dict[str, dict[str, str]]]:
    """One case per distinct (conversation, history); recordings as {tutor: {case id: response}}."""
    cases: dict[tuple[str, str], Case] = {}
    ids: set[str] = set()
    recordings: dict[str, dict[str, str]] = {}
    for record in records:
        key = (str(record["conversation_id"]), _history_key(record))
        case = cases.get(key)
        if case is None:
            case_id = key[0] if key[0] not in ids else f"{key[0]}-{key[1][:8]}"
            ids.add(case_id)
            case = cases[key] = case_from_record(record, case_id)
        recordings.setdefault(str(record["tutor"]), {})[case.id] = str(record["response"])
    return list(cases.values()), recordings


def _replay_release(tutor: str, source: str) -> tuple[Release, bool]:
    name = release_name(tutor)
    release, created = Release.objects.get_or_create(
        name=name,
        defaults={
            "backend": BACKEND,
            "model": f"mrbench/{tutor}",
            "prompt_version": PROMPT_VERSION,
            "params": {"release_name": name},
            "description": f"Recorded responses of the {tutor} tutor in MRBench (CC BY-SA 4.0), from {source}.",
        },
    )
    if release.backend != BACKEND:
        raise Conflict(f"Release {name} exists and is not a replay release: rename or retire it first.")
    return release, created


@transaction.atomic
def import_mrbench(path: str | Path, suite_name: str, *, user: User | None = None) -> MRBenchImport:
    path = Path(path)
    records = load_records(path)
    cases, recordings = cases_and_recordings(records)
    registered = register_suite(
        suite_name, cases, description=f"MRBench-format conversations from {path.name}, replayed per tutor.",
        source=f"mrbench:{path.name}", user=user,
    )  # fmt: skip
    releases = []
    rows = []
    for tutor in sorted(recordings):
        release, created = _replay_release(tutor, path.name)
        releases.append((release, created))
        rows += [
            ReplayResponse(release_name=release.name, case_id=case_id, text=text, source=path.name[:200])
            for case_id, text in recordings[tutor].items()
        ]
    ReplayResponse.objects.bulk_create(
        rows, update_conflicts=True, unique_fields=["release_name", "case_id"], update_fields=["text", "source"], batch_size=500
    )
    return MRBenchImport(registered=registered, releases=releases, recordings=len(rows))
