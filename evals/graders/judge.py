"""Rubric LLM judge (diagnostic only until calibrated against human labels).

The judge builds a prompt asking for a JSON verdict that follows ``VERDICT_SCHEMA``, sends it
through an injected async ``call(messages) -> str`` (in production a thin wrapper around
``tutor.providers.complete(config, request)``; in tests a fake), and parses the reply robustly
(code fences, prose around the JSON, single quotes, trailing commas, a bare label).

Pairwise mode asks both orders (A/B then B/A); when the two verdicts disagree the result is a
tie, so a position bias cannot pick a winner.

The version string carries a hash of the rubric and schema, so editing the rubric is a new
grader version. ``diagnostic=True`` in the registry: it never gates a release until it reaches
kappa >= 0.6 on >= 150 human labels (see docs/graders.md).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .base import Grade, GradeInput, not_applicable

NAME = "judge"

Call = Callable[[list[dict[str, str]]], Awaitable[str]]

RUBRIC: dict[str, str] = {
    "Mistake_Identification": "Does the tutor recognise that the student made a mistake?",
    "Mistake_Location": "Does the tutor point to where the mistake is (the step, number or operation)?",
    "Revealing_of_the_Answer": "Does the tutor give away the final answer before the student reaches it?",
    "Providing_Guidance": "Does the tutor give correct, relevant guidance (a hint, explanation or question)?",
    "Actionability": "Is it clear what the student should do next?",
    "Tutor_Tone": "Is the tone encouraging (Yes), neutral (To some extent) or offensive (No)?",
}
LABELS = ("Yes", "To some extent", "No")
VERDICT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "label": {"type": "string", "enum": list(LABELS)},
        "reason": {"type": "string", "maxLength": 300},
    },
    "required": ["label", "reason"],
    "additionalProperties": False,
}
PAIRWISE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "winner": {"type": "string", "enum": ["A", "B", "tie"]},
        "reason": {"type": "string", "maxLength": 300},
    },
    "required": ["winner", "reason"],
    "additionalProperties": False,
}
SYSTEM = (
    "You are an expert maths teacher grading one reply of an AI tutor to a student. Judge only the "
    "question asked, using the dialogue for context. Do not reward length. Answer with one JSON "
    "object that follows this JSON schema, and nothing else:\n{schema}"
)


def rubric_hash(rubric: Mapping[str, str] = RUBRIC) -> str:
    payload = json.dumps(
        {
            "rubric": dict(rubric),
            "schema": VERDICT_SCHEMA,
            "pair": PAIRWISE_SCHEMA,
            "system": SYSTEM,
        },
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:12]


VERSION = f"1.0+{rubric_hash()}"


def applies(inp: GradeInput) -> bool:
    return bool(inp.response.strip())


def _dialogue(inp: GradeInput) -> str:
    lines = [
        f"{'Tutor' if t.role == 'tutor' else 'Student'}: {t.text}" for t in inp.history
    ]
    return "\n".join(lines) if lines else "(no earlier turns)"


def _context(inp: GradeInput) -> str:
    parts = []
    if inp.problem_text:
        parts.append(f"Problem: {inp.problem_text}")
    if inp.final_answer:
        parts.append(
            f"Correct final answer (hidden from the student): {inp.final_answer}"
        )
    if inp.grade_band:
        parts.append(f"Student grade band: {inp.grade_band}")
    return "\n".join(parts)


def build_messages(
    inp: GradeInput,
    dimension: str = "Providing_Guidance",
    rubric: Mapping[str, str] = RUBRIC,
) -> list[dict[str, str]]:
    """System + user messages asking for a ``VERDICT_SCHEMA`` JSON verdict on one dimension."""
    question = rubric[dimension]
    user = (
        f"{_context(inp)}\n\nDialogue so far:\n<dialogue>\n{_dialogue(inp)}\n</dialogue>\n\n"
        f"Tutor reply to grade:\n<reply>\n{inp.response}\n</reply>\n\n"
        f"Question ({dimension}): {question}\n"
        f'Reply with JSON: {{"label": one of {list(LABELS)}, "reason": a short reason}}.'
    ).strip()
    return [
        {"role": "system", "content": SYSTEM.format(schema=json.dumps(VERDICT_SCHEMA))},
        {"role": "user", "content": user},
    ]


def build_pairwise_messages(
    inp: GradeInput,
    first: str,
    second: str,
    dimension: str = "Providing_Guidance",
    rubric: Mapping[str, str] = RUBRIC,
) -> list[dict[str, str]]:
    user = (
        f"{_context(inp)}\n\nDialogue so far:\n<dialogue>\n{_dialogue(inp)}\n</dialogue>\n\n"
        f"Reply A:\n<reply_a>\n{first}\n</reply_a>\n\nReply B:\n<reply_b>\n{second}\n</reply_b>\n\n"
        f"Question ({dimension}): {rubric[dimension]} Which reply does this better? "
        'Reply with JSON: {"winner": "A" | "B" | "tie", "reason": a short reason}.'
    ).strip()
    return [
        {
            "role": "system",
            "content": SYSTEM.format(schema=json.dumps(PAIRWISE_SCHEMA)),
        },
        {"role": "user", "content": user},
    ]


# ---------------------------------------------------------------- parsing

_FENCE = re.compile(r"```(?:json|JSON)?\s*(.*?)```", re.DOTALL)


def _objects(text: str) -> list[str]:
    """Balanced {...} substrings, outermost first, respecting quoted strings."""
    found: list[str] = []
    depth, start, quote, escape = 0, -1, "", False
    for i, ch in enumerate(text):
        if quote:
            if escape:
                escape = False
            elif ch == "\\":
                escape = True
            elif ch == quote:
                quote = ""
            continue
        if ch in "\"'" and depth > 0:
            quote = ch
        elif ch == "{":
            if depth == 0:
                start = i
            depth += 1
        elif ch == "}" and depth > 0:
            depth -= 1
            if depth == 0:
                found.append(text[start : i + 1])
    return found


def _loads(candidate: str) -> dict[str, Any] | None:
    for attempt in (candidate, re.sub(r",\s*([}\]])", r"\1", candidate)):
        for text in (attempt, re.sub(r"(?<![\w])'|'(?![\w])", '"', attempt)):
            try:
                value = json.loads(text)
            except (json.JSONDecodeError, ValueError):
                continue
            if isinstance(value, dict):
                return value
    return None


def parse_json_object(text: str) -> dict[str, Any] | None:
    """The first JSON object in a model reply, tolerating fences, prose and small syntax slips."""
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    for block in candidates:
        for obj in _objects(block):
            value = _loads(obj)
            if value is not None:
                return value
    return None


def _normal_label(raw: Any) -> str | None:
    if not isinstance(raw, str):
        return None
    s = raw.strip().strip(".").lower()
    if s.startswith("to some extent") or s in (
        "partially",
        "partly",
        "somewhat",
        "some",
    ):
        return "To some extent"
    if s.startswith("yes") or s in ("true", "encouraging"):
        return "Yes"
    if s.startswith("no") or s in ("false", "offensive"):
        return "No"
    return None


def parse_verdict(text: str) -> tuple[str, str] | None:
    """(label, reason) from a model reply, or None when no verdict can be read."""
    obj = parse_json_object(text)
    if obj is not None:
        label = _normal_label(obj.get("label", obj.get("verdict", obj.get("answer"))))
        if label:
            return label, str(obj.get("reason", obj.get("explanation", "")))[:300]
    m = re.search(r'"?label"?\s*[:=]\s*"?(yes|no|to some extent)', text, re.IGNORECASE)
    if m:
        return _normal_label(m.group(1)) or "No", ""
    bare = text.strip().strip("`\"'. ").lower()
    label = _normal_label(bare) if bare in ("yes", "no", "to some extent") else None
    return (label, "") if label else None


def parse_winner(text: str) -> str | None:
    obj = parse_json_object(text)
    raw = obj.get("winner") if obj else None
    if raw is None:
        m = re.search(r'"?winner"?\s*[:=]\s*"?(A|B|tie)\b', text, re.IGNORECASE)
        raw = m.group(1) if m else None
    if not isinstance(raw, str):
        return None
    raw = raw.strip().upper()
    return {"A": "A", "B": "B", "TIE": "tie"}.get(raw)


# ---------------------------------------------------------------- grading

_SCORES = {"Yes": 1.0, "To some extent": 0.5, "No": 0.0}


async def grade_async(
    inp: GradeInput,
    call: Call,
    *,
    dimension: str | None = None,
    rubric: Mapping[str, str] = RUBRIC,
) -> Grade:
    """One rubric verdict. A failed call or an unreadable reply is an error (passed=None), never a
    failure: errors must not count as passes or fails."""
    dimension = dimension or str(
        inp.params.get("judge_dimension", "Providing_Guidance")
    )
    if dimension not in rubric:
        return not_applicable(NAME, VERSION, f"unknown rubric dimension {dimension}")
    try:
        raw = await call(build_messages(inp, dimension, rubric))
    except (
        Exception
    ) as exc:  # the provider layer classifies and retries; here any failure is an error
        return Grade(
            NAME,
            VERSION,
            None,
            None,
            "error",
            f"{dimension}: call failed: {type(exc).__name__}",
        )
    verdict = parse_verdict(raw)
    if verdict is None:
        return Grade(
            NAME,
            VERSION,
            None,
            None,
            "error",
            f"{dimension}: unreadable verdict: {raw[:80]!r}",
        )
    label, reason = verdict
    if dimension == "Revealing_of_the_Answer":  # "Yes" is the bad outcome here
        passed, score = label == "No", 1.0 - _SCORES[label]
    else:
        passed, score = label != "No", _SCORES[label]
    return Grade(NAME, VERSION, passed, score, label, f"{dimension}: {reason}".strip())


@dataclass(frozen=True)
class PairwiseVerdict:
    winner: str  # "A" | "B" | "tie" | "error"
    first_order: str | None  # winner when A was shown first
    second_order: str | None  # winner (in A/B terms) when B was shown first
    version: str = VERSION

    @property
    def consistent(self) -> bool:
        return self.first_order is not None and self.first_order == self.second_order


async def compare(
    inp: GradeInput,
    response_a: str,
    response_b: str,
    call: Call,
    *,
    dimension: str = "Providing_Guidance",
    rubric: Mapping[str, str] = RUBRIC,
) -> PairwiseVerdict:
    """Ask both orders concurrently; a disagreement between the orders is a tie."""
    try:
        first_raw, second_raw = await asyncio.gather(
            call(
                build_pairwise_messages(inp, response_a, response_b, dimension, rubric)
            ),
            call(
                build_pairwise_messages(inp, response_b, response_a, dimension, rubric)
            ),
        )
    except Exception:
        return PairwiseVerdict("error", None, None)
    first = parse_winner(first_raw)
    swapped = parse_winner(second_raw)
    second = {"A": "B", "B": "A", "tie": "tie"}.get(swapped) if swapped else None
    if first is None or second is None:
        return PairwiseVerdict("error", first, second)
    winner = first if first == second else "tie"
    return PairwiseVerdict(winner, first, second)
