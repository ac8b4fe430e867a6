"""Mistake identification and mistake location, for turns where the student was wrong.

Identification: does the reply signal that something is wrong?
- ``Yes``: an explicit signal ("not quite", "there's a mistake", "let's check that again", "are
  you sure", "how did you get 13?", "actually ... not 12"), or - without one - a question or a
  substantive corrective statement: redirecting a wrong answer treats it as wrong;
- ``No``: praise or agreement without a signal ("Great job!", "That's correct"; praise for a
  self-correction does not count as a signal), or a reply unrelated to the dialogue (a generic
  lecture such as "To solve a quadratic equation...");
- ``To some extent``: a short soft reply ("That was a good try.").

Location: does it point to where? ``Yes`` when the reply names the operation or step together
with the student's own numbers or quantities ("your subtraction 25 - 18", "the last step where
you found the green eyes"), ``To some extent`` when it gives only one of them, ``No`` otherwise.

Both are not applicable when ``student_was_wrong`` is False.
"""

from __future__ import annotations

import re
from fractions import Fraction

from .base import (
    Grade,
    GradeInput,
    compile_phrases,
    normalise,
    not_applicable,
    number_values,
    numbers,
    word_set,
    words,
)

ID_NAME = "mistake_identification"
LOC_NAME = "mistake_location"
VERSION = "1.0"

_STRONG = compile_phrases(
    [
        r"not\s+(?:quite|exactly|correct|right|accurate|the\s+(?:correct|right))",
        r"isn't\s+(?:quite\s+)?(?:correct|right)",
        r"is\s+not\s+(?:quite\s+)?(?:correct|right)",
        r"incorrect(?:ly)?",
        r"wrong",
        r"mistakes?",
        r"errors?",
        r"mix-?ups?",
        r"mixed\s+up",
        r"misunderst\w*",
        r"misread",
        r"confus\w+",
        r"oops",
        r"slip",
        r"a\s+(?:little|bit|tad|small\s+bit)\s+off",
        r"(?:is|are|was|were)\s+(?:just\s+)?(?:a\s+little\s+|slightly\s+)?off",
        r"off\s+by",
        r"(?:double|re)[-\s]?check\w*",
        r"re-?calculat\w+",
        r"re-?examin\w+",
        r"re-?evaluat\w+",
        r"re-?visit\w*",
        r"re-?consider\w*",
        r"re-?think\w*",
        r"re-?count\w*",
        r"re-?do\w*",
        r"(?:check|look\s+at|go\s+over|review)\s+(?:that|this|it|your|the)\b.{0,25}\bagain",
        r"(?:take|have)\s+(?:another|a\s+(?:closer|second)|one\s+more)\s+look",
        r"look\s+(?:again|more\s+closely|closer)",
        r"let's\s+(?:try|check|see|look|think|go\s+back|revisit)\s+(?:that|this|it)?\s*again",
        r"try\s+(?:that|it|this)?\s*again",
        r"are\s+you\s+sure",
        r"is\s+that\s+(?:right|correct)\s*\?",
        r"(?:close|almost|nearly)(?:\s+there)?\b(?!\s+to)",
        r"not\s+\$?\d",
        r"rather\s+than",
        r"instead\s+of",
        r"should\s+(?:be|have|actually)",
        r"would\s+actually",
        r"actually",
        r"however",
        r"you\s+(?:forgot|missed|added|subtracted|multiplied|divided|used|counted|calculated|wrote|mean|meant)",
        r"(?:forgot|missed|overlooked|left\s+out)",
        r"(?:seems|looks)\s+like\s+you",
        r"i\s+(?:think|see|notice)\s+(?:you|there|that\s+you)",
        r"it\s+(?:seems|looks)\s+(?:like|as\s+if)",
        r"there\s+(?:might|may|seems\s+to)\s+be",
        r"careful",
        r"watch\s+out",
        r"(?:but|yet)\s+(?:remember|don't\s+forget|note|notice|we|you|the|it|there)",
        r"doesn't\s+(?:seem|look)\s+right",
        r"let's\s+(?:look|check|see)\s+(?:at\s+)?(?:how|where|why|what)",
        r"(?:how|where)\s+did\s+you\s+get",
        r"how\s+you\s+(?:got|arrived|came\s+up)",
    ]
)
_SOFT = compile_phrases(
    [
        r"(?:good|great|nice|fine|solid|brave|creative|interesting)\s+(?:try|effort|attempt|start|guess|thought|idea)",
        r"(?:an?\s+)?(?:interesting|creative)\s+(?:answer|approach|way)",
        r"on\s+the\s+right\s+track",
        r"walk\s+me\s+through",
        r"explain\s+(?:how|why|your)",
        r"show\s+me\s+(?:how|your)",
        r"can\s+you\s+tell\s+me\s+(?:how|why)",
        r"let's\s+(?:think|work|go|try|see|look|break|start)",
        r"remember",
        r"think\s+about",
        r"what\s+(?:if|about)",
        r"keep\s+in\s+mind",
        r"note\s+that",
        r"notice",
        r"hmm+",
        r"but",
        r"what\s+was\s+your",
        r"why\s+did\s+you",
        r"one\s+(?:piece|part|thing)\s+we\s+need",
        r"let's\s+review",
    ]
)
_AGREE = compile_phrases(
    [
        r"(?:that's|that\s+is|you're|you\s+are|it's|which\s+is)\s+(?:absolutely\s+|exactly\s+|totally\s+|completely\s+)?(?:correct|right)",
        r"(?:great|good|nice|excellent)\s+job",
        r"well\s+done",
        r"exactly",
        r"perfect",
        r"you\s+got\s+it",
        r"correctly\s+(?:calculated|found|identified|worked|got|added|multiplied|divided|subtracted)",
        r"i\s+agree",
        r"spot\s+on",
        r"(?:great|good|nice|excellent)\s+work",
        r"indeed",
        r"^great!",
        r"^excellent",
        r"let's\s+move\s+on",
        r"next\s+(?:problem|question)",
    ]
)


_SELF_CORRECTION = compile_phrases(
    [
        r"(?:caught|catching|catch|recogni[sz]\w*|identif\w*|realiz\w*|realis\w*|correct(?:ed|ing)|spott\w*|spot|fix\w*|noticing|noticed|found|finding)\s+"
        r"(?:your|the|that|this|a|my)\s+(?:own\s+)?(?:small\s+)?(?:mistake|error|slip)s?",
        r"we\s+all\s+make\s+mistakes",
        r"(?:it's|it\s+is)\s+(?:okay|ok|fine|normal)\s+to\s+make\s+mistakes",
        r"avoid\s+(?:any\s+)?(?:other\s+)?(?:mistakes|errors)",
        r"for\s+accuracy",
        r"always\s+double[-\s]check",
    ]
)
_PRAISE_START = re.compile(
    r"^\W*(?:(?:great|good|excellent|perfect|nice|awesome|wonderful|fantastic|brilliant|correct|exactly|yes|yep|right|well\s+done|bravo|"
    r"that's\s+(?:absolutely\s+|exactly\s+)?(?:correct|right|it|great|true)|that\s+is\s+(?:correct|right)|you're\s+(?:absolutely\s+|exactly\s+)?(?:right|correct)|"
    r"you\s+are\s+(?:absolutely\s+)?(?:right|correct)|you\s+got\s+it|i\s+agree)\b)(?:\s+(?:job|work))?(?!\s+(?:try|effort|attempt|start|guess|thought|question))",
    re.IGNORECASE,
)
_GENERIC = re.compile(
    r"^\W*(?:to\s+(?:solve|find|calculate|convert|determine|improve|restart|get|work\s+out|compute)\b|the\s+formula\b|here\s+(?:is|are)\s+some)",
    re.IGNORECASE,
)
_STOP = word_set(
    "that this with from have what your when then them they their there which would could "
    "should about into just than also only will been were does like make made more most "
    "some such much many each other after before because while where these those being here "
    "let's lets remember think good great nice try again look right correct answer question "
    "problem number numbers total step work"
)


def _content(text: str) -> set[str]:
    return {w.lower()[:5] for w in words(text) if len(w) > 3 and w.lower() not in _STOP}


def relevance(response: str, history_text: str) -> float:
    """Share of the reply's content words (5-letter stems) that also occur in the dialogue."""
    reply = _content(response) | {str(v) for v in number_values(response)}
    if not reply:
        return 1.0
    dialogue = _content(history_text) | {str(v) for v in number_values(history_text)}
    return len(reply & dialogue) / len(reply)


def off_topic(response: str, history_text: str) -> bool:
    """A generic lecture or an answer to some other problem ("To solve a quadratic equation...")."""
    if not history_text.strip():
        return False
    rel = relevance(response, history_text)
    if _GENERIC.match(response):
        return rel < 0.5
    talks_to_student = re.search(
        r"\b(?:you|your|you're|let's|we)\b", response, re.IGNORECASE
    )
    return rel < 0.1 and len(_content(response)) >= 6 and not talks_to_student


def identification_label(response: str, history_text: str = "") -> tuple[str, str]:
    text = normalise(response)
    cleaned = _SELF_CORRECTION.sub(" ", text)
    strong = _STRONG.search(cleaned)
    if off_topic(response, history_text):
        return (
            "No",
            f"reply is unrelated to the dialogue (relevance {relevance(response, history_text):.2f})",
        )
    if strong:
        return "Yes", f'signals an error: "{strong.group()}"'
    praise = _PRAISE_START.match(text) or _AGREE.search(cleaned)
    if praise:
        return "No", f'agrees or praises only: "{praise.group().strip()}"'
    soft = _SOFT.search(cleaned)
    if "?" in text or len(words(text)) > 6:
        if soft:
            return "Yes", f'redirects without naming an error: "{soft.group()}"'
        return "Yes", "redirects the student with a question or a correction"
    if soft:
        return "To some extent", f'soft signal only: "{soft.group()}"'
    return "To some extent", "short reply with no explicit error signal"


def grade_identification(inp: GradeInput) -> Grade:
    if inp.student_was_wrong is False:
        return not_applicable(ID_NAME, VERSION, "student was not wrong")
    label, detail = identification_label(inp.response, _dialogue(inp))
    score = {"Yes": 1.0, "To some extent": 0.5, "No": 0.0}[label]
    return Grade(ID_NAME, VERSION, label != "No", score, label, detail)


# ---------------------------------------------------------------- location

_OPERATION = compile_phrases(
    [
        r"add(?:ed|ing|ition)?",
        r"sum",
        r"subtract(?:ed|ing|ion)?",
        r"minus",
        r"take\s+away",
        r"difference",
        r"multipl\w+",
        r"times",
        r"product",
        r"divid\w+",
        r"division",
        r"quotient",
        r"remainder",
        r"fraction",
        r"denominator",
        r"numerator",
        r"decimal",
        r"percent(?:age)?",
        r"round(?:ed|ing)?",
        r"place\s+value",
        r"(?:ones|tens|hundreds|thousands)\s+(?:place|digit)",
        r"borrow\w*",
        r"carr(?:y|ied|ying)",
        r"convert\w*",
        r"units?",
        r"formula",
        r"equation",
        r"simplif\w+",
        r"(?:first|second|third|last|final|next|previous)\s+(?:step|part|line|calculation)",
        r"step\s+\d",
        r"your\s+(?:calculation|answer|work|step|equation|total|result)",
        r"calculat\w+",
        r"counted",
        r"per\s+\w+",
        r"each",
        r"total",
    ]
)


def _student_quantities(student_text: str) -> tuple[set[Fraction], set[str]]:
    values = number_values(student_text)
    content = {w.lower() for w in words(student_text) if len(w) > 4}
    return values, content


def location_label(response: str, student_text: str) -> tuple[str, str]:
    response_values = {m.value for m in numbers(response)}
    student_values, student_words = _student_quantities(student_text)
    quoted = response_values & student_values
    operation = _OPERATION.search(response)
    shared_words = {w.lower() for w in words(response) if len(w) > 4} & student_words
    if operation and (quoted or shared_words):
        what = (
            f"numbers {sorted(str(v) for v in quoted)[:3]}"
            if quoted
            else f"words {sorted(shared_words)[:3]}"
        )
        return "Yes", f'names "{operation.group()}" and the student\'s {what}'
    if operation or quoted:
        return (
            "To some extent",
            f"points at {'operation ' + repr(operation.group()) if operation else 'numbers'} only",
        )
    return "No", "does not say where the error is"


def grade_location(inp: GradeInput) -> Grade:
    if inp.student_was_wrong is False:
        return not_applicable(LOC_NAME, VERSION, "student was not wrong")
    label, detail = location_label(inp.response, inp.last_student_text())
    id_label, _ = identification_label(inp.response, _dialogue(inp))
    if id_label == "No" and label != "No":
        label, detail = "No", "no error signalled, so nothing located"
    score = {"Yes": 1.0, "To some extent": 0.5, "No": 0.0}[label]
    return Grade(LOC_NAME, VERSION, label != "No", score, label, detail)


def _dialogue(inp: GradeInput) -> str:
    return " ".join([inp.problem_text or ""] + [t.text for t in inp.history])
