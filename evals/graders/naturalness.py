"""Naturalness: the reply reads like a tutor talking in a chat, not like model output.

Fails on
- role prefixes ("Tutor:", "Assistant:", "AI:", "### User:"),
- leaked prompt or meta text ("As an AI", "language model", "system prompt", "my instructions",
  "Tutor response (maximum one sentence)", "Here is a response"),
- markdown headings ("# ...", "## ...") and template placeholders ("[Student's name]",
  "{name}", "<answer>").
"""

from __future__ import annotations

import re

from .base import Grade, GradeInput, compile_phrases

NAME = "naturalness"
VERSION = "1.0"

_ROLE_PREFIX = re.compile(
    r"(?:^|\n)\s*(?:#+\s*|\*\*)?(?:tutor|teacher|assistant|ai|student|user|system|bot|model|response)\s*(?:\*\*)?\s*:",
    re.IGNORECASE,
)
_META = compile_phrases(
    [
        r"as\s+an\s+ai",
        r"as\s+a\s+(?:large\s+)?language\s+model",
        r"language\s+model",
        r"system\s+prompt",
        r"(?:my|the|these|your)\s+instructions",
        r"i\s+(?:was|have\s+been|am)\s+(?:instructed|told|programmed|prompted)",
        r"developer\s+message",
        r"(?:the\s+)?prompt\s+(?:says|asks|tells)",
        r"tutor\s+response",
        r"(?:maximum|max)\s+(?:one|1|two|2)\s+sentences?",
        r"here(?:'s|\s+is)\s+(?:a|my|the)\s+(?:possible\s+)?(?:response|reply|answer\s+as)",
        r"response\s*\(",
        r"i\s+cannot\s+(?:browse|access)\s+the\s+internet",
        r"openai",
        r"anthropic",
        r"chatgpt",
        r"knowledge\s+cutoff",
        r"(?:in|as)\s+(?:the\s+)?role\s+of\s+(?:a|the)\s+tutor",
        r"as\s+(?:your|a|the)\s+(?:ai\s+)?tutor,\s+i\s+(?:must|should|will\s+not)",
    ]
)
_HEADING = re.compile(r"(?:^|\n)\s{0,3}#{1,6}\s+\S")
_PLACEHOLDER = re.compile(
    r"\[(?:student(?:'s)?\s+name|name|your\s+name|insert[^\]]*|answer|[A-Z_]{3,})\]|\{\{?\s*\w+\s*\}?\}|<\s*(?:answer|name|student)\s*>",
    re.IGNORECASE,
)


def problems(response: str) -> list[str]:
    found: list[str] = []
    m = _ROLE_PREFIX.search(response)
    if m:
        found.append(f'role prefix "{m.group().strip()}"')
    m2 = _META.search(response)
    if m2:
        found.append(f'meta/prompt text "{m2.group()}"')
    if _HEADING.search(response):
        found.append("markdown heading")
    m3 = _PLACEHOLDER.search(response)
    if m3:
        found.append(f'placeholder "{m3.group()}"')
    return found


def grade(inp: GradeInput) -> Grade:
    found = problems(inp.response)
    if found:
        return Grade(NAME, VERSION, False, 0.0, "unnatural", "; ".join(found))
    return Grade(
        NAME,
        VERSION,
        True,
        1.0,
        "natural",
        "no role prefix, meta text, heading or placeholder",
    )
