"""Prompt templates are versioned files in tutor/prompts/; every tutor message records the version."""

import re
from functools import lru_cache
from pathlib import Path

from tutor.engine.context import TutorContext
from tutor.providers import ChatMessage

PROMPTS_DIR = Path(__file__).resolve().parent.parent / "prompts"
DEFAULT_PROMPT_VERSION = "socratic-v1"
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


@lru_cache(maxsize=16)
def load_prompt(version: str) -> str:
    if not re.fullmatch(r"[\w.-]+", version):
        raise ValueError(f"bad prompt version {version!r}")
    path = PROMPTS_DIR / f"{version}.md"
    if not path.is_file():
        raise ValueError(f"no prompt template {version!r} in {PROMPTS_DIR}")
    return path.read_text()


def available_prompt_versions() -> list[str]:
    return sorted(path.stem for path in PROMPTS_DIR.glob("*.md"))


def _verdict_text(context: TutorContext) -> str:
    verdict = context.verdict
    if context.turn_kind == "hint_request":
        return "The student asked for a hint: give the next hint above in your own words, as a question."
    if verdict is None:
        return "The student sent a chat message (not an answer)."
    if verdict.parse_error:
        return f"The student's answer could not be read: {verdict.parse_error} Help them write it in a form like the problem asks."
    if verdict.correct:
        return "The answer checker says the student's answer is CORRECT. Praise them and ask them to explain one step."
    lines = ["The answer checker says the student's answer is NOT correct."]
    if verdict.misconception_feedback:
        lines.append(f"It matches a known misconception: {verdict.misconception_feedback}")
    lines.append("Help them find the mistake themselves; do not give the right answer.")
    return " ".join(lines)


def _mastery_text(context: TutorContext) -> tuple[str, str]:
    mastery = f"{context.mastery.level} (p={context.mastery.p_known:.2f})" if context.mastery else "not started"
    prerequisites = ", ".join(f"{p.name}: {p.level}" for p in context.prerequisites) or "none"
    return mastery, prerequisites


def render_system_prompt(context: TutorContext, version: str = DEFAULT_PROMPT_VERSION) -> str:
    mastery, prerequisites = _mastery_text(context)
    next_hint = context.next_hint["text"] if context.next_hint else "(none)"
    values = {
        "grade": str(context.grade or 7),
        "skill_name": context.skill_name,
        "lesson_excerpt": context.lesson_excerpt,
        "problem_prompt": context.problem_prompt,
        "solution": context.solution,
        "final_answer": context.final_answer,
        "hints_given": str(context.hints_given),
        "hints_total": str(len(context.hints)),
        "next_hint": next_hint,
        "mastery": mastery,
        "prerequisites": prerequisites,
        "verdict": _verdict_text(context),
    }
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), load_prompt(version))


def render_messages(context: TutorContext, version: str = DEFAULT_PROMPT_VERSION) -> tuple[ChatMessage, ...]:
    messages = [ChatMessage("system", render_system_prompt(context, version))]
    for turn in context.history:
        messages.append(ChatMessage("user" if turn.role == "student" else "assistant", turn.text))
    prefix = {"answer": "My answer: ", "hint_request": "Can I have a hint? "}.get(context.turn_kind, "")
    messages.append(ChatMessage("user", f"{prefix}{context.student_text}".strip() or "(no text)"))
    return tuple(messages)
