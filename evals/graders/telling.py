"""Asking vs telling: does the reply make the student do the next step, or do it for them?

Each sentence is classed as
- **asks**: a question to the student, or a directive that makes the student act ("try adding
  the tens first", "let's check the subtraction again", "can you show me how you got 13", "you
  need to divide 60 by 45, not 45 by 60");
- **tells**: a statement that does the work or explains ("25 minus 18 is 7", "the 5 is in the
  hundreds place"); a directive that carries the result ("let's add: 5+1=6 ... the total is
  39") tells;
- **other**: praise, verdicts, small talk and moving on ("Great try!", "That's not quite
  right.", "Let's move on to the next problem.").

The reply's label: ``asks`` (only asking), ``mixed`` (asks and tells), ``tells`` (tells, no ask)
or ``none`` (neither). Score = asking sentences / (asking + telling sentences); passes when the
reply asks and tells no more than it asks (``params["max_tell_ratio"]``, default 0.5 of the
substantive sentences).
"""

from __future__ import annotations

import re

from .base import Grade, GradeInput, compile_phrases, sentences, words

NAME = "telling"
VERSION = "1.0"

_DIRECTIVE_START = re.compile(
    r"^(?:(?:ok(?:ay)?|so|now|then|next|first|instead|alright|hmm+|oh|well|remember|but|and|please|kindly|just|maybe|perhaps|again)[,!.]?\s+)*"
    r"(?:let's|let\s+us|try|think|look|check|recheck|re-check|double[-\s]check|re-?calculate|calculate|compute|work|count|add|subtract|multiply|divide|"
    r"start|find|figure|use|write|draw|show|tell|explain|walk|consider|compare|imagine|picture|go|read|re-?read|review|"
    r"focus|take|give|see|notice|pay|remember\s+to|make\s+sure|don't\s+forget|be\s+sure|what\s+if|how\s+about|"
    r"break|plug|substitute|round|simplify|convert|list|identify|estimate|recount|revisit|reconsider)\b",
    re.IGNORECASE,
)
_ASK_PHRASES = compile_phrases(
    [
        "can you",
        "could you",
        "would you",
        "will you",
        "do you want to",
        "why don't you",
        "i want you to",
        "i'd like you to",
        "your turn",
        "give it (?:another|a) (?:try|go|shot)",
        "have a go",
        "try again",
        "try (?:it|that|this) again",
        "one more time",
        "see if you can",
        "let me know",
        "what do you (?:get|think|notice)",
    ]
)
_WORKED = re.compile(
    r"(?:=|\bequals?\b|\bis\s+(?:actually\s+|equal\s+to\s+)?\$?\d|\bget\s+\$?\d|\bgives?\s+(?:us\s+|you\s+)?\$?\d|"
    r"\bmakes?\s+\$?\d|\bthe\s+(?:correct\s+)?answer\s+is\b|\bis\s+called\b|\bmeans\b|\bbecause\b|\bsince\b|"
    r"\byou\s+(?:need|have|should|must)\s+to\b|\bwe\s+(?:need|have|should|must)\s+to\b|\bshould\s+be\b|\bwould\s+be\b|"
    r"\bis\s+the\b|\bare\s+the\b|\brepresents?\b|\bformula\b|\binstead\s+of\b|\bnot\b.*\bbut\b|\bso\b)",
    re.IGNORECASE,
)
_PRAISE_OR_VERDICT = re.compile(
    r"^(?:(?:that's|that\s+is|that\s+was|this\s+is|you're|you\s+are|it's|it\s+is|you've|you\s+have)\s+)?"
    r"(?:(?:a|an|very|really|so|such\s+a|pretty|quite)\s+)*"
    r"(?:great|good|nice|excellent|well\s+done|wonderful|awesome|perfect|correct|right|close|almost|not\s+quite|"
    r"incorrect|wrong|ok(?:ay)?|fine|no\s+problem|no\s+worries|brilliant|fantastic|super|amazing|hmm+|oh|ah|yes|no|"
    r"exactly|indeed|sorry|thanks|thank\s+you|plus\s+\d+\s+points?|one\s+point|good\s+job|great\s+job|nice\s+job|"
    r"nice\s+try|good\s+try|great\s+try|good\s+effort|great\s+effort|nice\s+effort|good\s+attempt|great\s+attempt)\b",
    re.IGNORECASE,
)


_MOVE_ON = re.compile(
    r"\blet's\s+(?:now\s+)?(?:move\s+on|explore|practi[cs]e|continue|delve|go\s+to\s+the\s+next|try\s+(?:solving\s+)?(?:another|a\s+similar|a\s+different|some\s+more|more)|"
    r"work\s+on\s+(?:expanding|improving)|focus\s+on\s+(?:the\s+topic|understanding)|review\s+(?:the|some)\s+(?:concept|topic|lesson))"
    r"|\b(?:next|another)\s+(?:problem|question|one|example)\b|\bis\s+there\s+anything\s+else\b",
    re.IGNORECASE,
)
_RESULT_STATED = re.compile(
    r"(?:=\s*\$?\d|\bequals?\s+\$?\d|\bis\s+(?:actually\s+|really\s+|indeed\s+)?\$?\d|\bthe\s+(?:correct\s+|right\s+|final\s+)?answer\s+(?:is|would\s+be|should\s+be)\b|"
    r"\b(?:we|you)\s+get\s+\$?\d|\bgives?\s+(?:us|you)\s+\$?\d|\bis\s+called\b|\bmakes?\s+\$?\d)",
    re.IGNORECASE,
)


_DIRECTIVE_INSIDE = re.compile(
    r"\b(?:you|we)\s+(?:will\s+|would\s+|still\s+|just\s+|first\s+)?(?:need|needs|have|has|ought)\s+to\b|\b(?:you|we)\s+(?:should|must|can\s+try|could\s+try)\b|"
    r"\bmake\s+sure\b|\bdon't\s+forget\b|\bbe\s+(?:sure|careful)\b|\btry\s+(?:to|using|adding|multiplying|dividing|subtracting|counting|thinking|again)\b|"
    r"\bthink\s+about\b|\bconsider\b|\bkeep\s+in\s+mind\b|\bremember\s+to\b|\b(?:you|we)\s+(?:don't|do\s+not)\s+need\s+to\b",
    re.IGNORECASE,
)


def moves_on(sentence: str) -> bool:
    return _MOVE_ON.search(sentence) is not None


def classify(sentence: str) -> str:
    """'asks' | 'tells' | 'other' for one sentence."""
    s = sentence.strip().strip("\"'*")
    if not s:
        return "other"
    if _MOVE_ON.search(s):
        return "other"
    if "?" in s:
        return "asks"
    if _RESULT_STATED.search(s):
        return "tells"
    body = re.split(r"[,;:–—-]\s+|\s+-\s+", s)
    for clause in body:
        clause = clause.strip()
        if _DIRECTIVE_START.match(clause):
            return "asks"
    if _ASK_PHRASES.search(s) or _DIRECTIVE_INSIDE.search(s):
        return "asks"
    if _PRAISE_OR_VERDICT.match(s) and len(words(s)) <= 8 and not _WORKED.search(s):
        return "other"
    if len(words(s)) <= 3 and not re.search(r"\d", s):
        return "other"
    return "tells"


def analyse(response: str) -> dict[str, list[str]]:
    buckets: dict[str, list[str]] = {"asks": [], "tells": [], "other": []}
    for sentence in sentences(response):
        buckets[classify(sentence)].append(sentence)
    return buckets


def grade(inp: GradeInput) -> Grade:
    buckets = analyse(inp.response)
    asks, tells = len(buckets["asks"]), len(buckets["tells"])
    if asks and tells:
        label = "mixed"
    elif asks:
        label = "asks"
    elif tells:
        label = "tells"
    else:
        label = "none"
    substantive = asks + tells
    score = asks / substantive if substantive else 0.0
    max_tell = float(inp.params.get("max_tell_ratio", 0.5))
    passed = asks > 0 and (tells / substantive) <= max_tell
    detail = (
        f"{asks} asking, {tells} telling, {len(buckets['other'])} other sentence(s)"
    )
    if buckets["tells"]:
        detail += f'; tells: "{buckets["tells"][0][:60]}"'
    return Grade(NAME, VERSION, passed, round(score, 4), label, detail)
