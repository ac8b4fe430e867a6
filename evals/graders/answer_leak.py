"""Answer leak: does the reply give away an answer the student has not reached yet?

Three ways a reply leaks, checked in order:

1. **Final answer.** The problem's answer (the ``AnswerKey``, or one built from ``final_answer``)
   is found in the reply by ``curriculum.checking.find_answer_in_text``. Values the student
   already has (numbers in the dialogue and the problem text) are passed as known values and do
   not count. A mention that is only an intermediate step of the worked solution (the same number
   appears earlier in the solution with another unit, and the reply uses it as an operand or with
   that unit) does not count either.
2. **Step answer.** The tutor's last turn asked an arithmetic question ("What is 25 minus 18?")
   and the reply states its value (7). Switch off with ``params["leak_step_answers"] = False``.
3. **Stated result.** The reply asserts a new number as the result in a statement ("the correct
   answer is 39", "so 17 rounds to 20", "that makes 60 hours in total"). When a key is known and
   the stated result differs from it, the label is ``leak_incorrect`` (MRBench's "Yes (but the
   answer is incorrect)"); an assertion that is clearly an intermediate step is not a leak.
4. **Declared answer** (1.1). The reply declares *some* value as the problem's answer, whether or
   not it equals the key: it states the quantity the problem's question asks for ("There are 20
   large posters", "the total cost would be $1"; not a step of the worked solution, a rate, or a
   value it then contrasts with "but"), says "the answer is N", confirms the student's (wrong)
   final answer ("..., that's correct", "a hexagon indeed has 5 sides!"; only when
   ``student_was_wrong`` is not False), replaces it ("80 minutes, not 110"), or ends on a
   "Therefore, ... N" with a number the dialogue has never seen (a worked answer to another
   problem). A target value gives ``leak``; another value ``leak_incorrect``. The detail starts
   with ``declared answer (<which rule>)``.

Not applicable once the student has solved the problem (``student_solved``).
Labels: ``leak`` | ``leak_incorrect`` | ``no_leak``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from fractions import Fraction

from curriculum.checking import (
    AnswerKey,
    AnswerMention,
    AnswerSpec,
    find_answer_in_text,
)

from .base import (
    Grade,
    GradeInput,
    not_applicable,
    number_values,
    numbers,
    sentences,
    word_list,
    word_set,
)
from .math_claims import evaluate, question_answer

NAME = "answer_leak"
VERSION = "1.2"


# ---------------------------------------------------------------- answer keys


def key_from_final_answer(final_answer: str | None) -> AnswerKey | None:
    """An AnswerKey for a plain numeric final answer ("44", "$300.00", "3/4", "12.5%")."""
    if not final_answer:
        return None
    value = parse_final_answer(final_answer)
    if value is None:
        return None
    if value.denominator == 1:
        spec = AnswerSpec(kind="decimal", value=str(value.numerator))
    elif re.search(r"\d\s*/\s*\d", final_answer):
        spec = AnswerSpec(
            kind="fraction", value=f"{value.numerator}/{value.denominator}"
        )
    else:
        spec = AnswerSpec(kind="decimal", value=_decimal_text(value))
    return AnswerKey(spec=spec)


def parse_final_answer(text: str) -> Fraction | None:
    """The value of a final-answer line: the last number on it ("#### 44", " 300.00", "3/4")."""
    mentions = numbers(text.strip().splitlines()[-1] if text.strip() else "")
    if not mentions:
        return None
    return mentions[-1].value


def _decimal_text(value: Fraction) -> str:
    text = f"{float(value):.6f}".rstrip("0").rstrip(".")
    return text or "0"


def key_value(key: AnswerKey) -> Fraction | None:
    """The numeric value of a key's spec, when it has one."""
    spec = getattr(key, "spec", None)
    raw = getattr(spec, "value", None)
    if raw is None:
        return None
    if isinstance(raw, int | float | Fraction):
        return Fraction(raw)
    return evaluate(str(raw).replace(",", ""))


def key_for_value(value: Fraction) -> AnswerKey:
    if value.denominator == 1:
        return AnswerKey(spec=AnswerSpec(kind="decimal", value=str(value.numerator)))
    return AnswerKey(
        spec=AnswerSpec(kind="fraction", value=f"{value.numerator}/{value.denominator}")
    )


def find_answer(
    key: AnswerKey, text: str, known_values: Iterable[str]
) -> AnswerMention | None:
    """``curriculum.checking.find_answer_in_text``: the one place answers are matched."""
    return find_answer_in_text(key, text, tuple(known_values))


# ---------------------------------------------------------------- known values


def known_values(inp: GradeInput) -> set[Fraction]:
    """Numbers the student already has: said in the dialogue or given in the problem."""
    values: set[Fraction] = set()
    for turn in inp.history:
        values |= number_values(turn.text)
    if inp.problem_text:
        values |= number_values(inp.problem_text)
    return values


def known_texts(inp: GradeInput) -> tuple[str, ...]:
    """The raw texts already on the table, passed to ``find_answer_in_text`` as known values
    (it wants numbers as written: a value excuses a mention written the same way)."""
    texts = [t.text for t in inp.history]
    if inp.problem_text:
        texts.append(inp.problem_text)
    return tuple(texts)


# ---------------------------------------------------------------- intermediate values

_UNIT_AFTER = re.compile(r"^\s*(?:%\s*)?([a-z]+)", re.I)
_STOP_UNITS = word_set(
    "and or the to of is in so x times then which that a for from per each more less not"
)


def _unit_after(text: str, end: int) -> str | None:
    m = _UNIT_AFTER.match(text[end:])
    if not m:
        return None
    word = m.group(1).lower().rstrip("s")
    return None if word in _STOP_UNITS else word


def _final_unit(solution: str) -> str | None:
    lines = [ln for ln in solution.strip().splitlines() if ln.strip()]
    if len(lines) < 2:
        return None
    last_step = lines[-2]
    mentions = numbers(last_step)
    if not mentions:
        return None
    if "$" in mentions[-1].text:
        return "$"
    return _unit_after(last_step, mentions[-1].end)


def _intermediate_units(solution: str, value: Fraction) -> set[str]:
    """Units the value carries where it appears in the solution before its last step."""
    lines = [ln for ln in solution.strip().splitlines() if ln.strip()]
    units: set[str] = set()
    for line in lines[:-2]:
        for m in numbers(line):
            if m.value == value:
                units.add("$" if "$" in m.text else (_unit_after(line, m.end) or ""))
    return units


_OPERAND_BEFORE = re.compile(
    r"(?:\b(?:multiply|multiplied|multiplying|divide|divided|dividing|times|add|added|adding|subtract|subtracted|subtracting)\b[^.,;=]{0,25}\b(?:by|from|to)"
    r"|(?:%|percent|half|third|quarter|twice|fraction)\s+of)\s+\$?$",
    re.IGNORECASE,
)


def _is_step_mention(
    response: str, start: int, end: int, solution: str | None, value: Fraction
) -> bool:
    """The mention is an intermediate step: used as an operand, or carries an intermediate unit."""
    after = response[end : end + 12]
    before = response[max(0, start - 12) : start]
    if re.match(
        r"\s*(?:[-+*/×÷x]|times|multiplied|divided|plus|minus)\s*\$?\d", after, re.I
    ):
        return True
    if _OPERAND_BEFORE.search(before) or re.search(
        r"(?:[-+*/×÷]|\d\s+x)\s*\$?$", before
    ):
        return True
    if re.search(r"\d\s*,\s*\d+\s*,\s*$", before):
        return True  # inside a counted list "15, 14, 13, ..."
    if not solution:
        return False
    inter = _intermediate_units(solution, value)
    if not inter:
        return False
    final_unit = _final_unit(solution)
    unit = (
        "$" if "$" in response[max(0, start - 1) : end] else _unit_after(response, end)
    )
    return unit is not None and unit in inter and unit != final_unit


# ---------------------------------------------------------------- statements vs questions

_QUESTION_START = re.compile(
    r"(?:^|[,;:–—]\s*|\s-\s|\b(?:and|so|but|then|now)\s+)"
    r"(?=(?:can|could|would|will|do|does|did|is|are|was|were|what|how|why|which|where|who|when|should|shall|have|has)\b)",
    re.IGNORECASE,
)


def statement_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the declarative parts of ``text``.

    A sentence without "?" is a statement. In a sentence ending with "?" only the part before the
    interrogative clause counts ("1 liter is actually 1,000 ml, can you see why?" keeps the first
    clause).
    """
    spans: list[tuple[int, int]] = []
    pos = 0
    for sentence in sentences(text):
        start = text.find(sentence, pos)
        if start < 0:
            start = pos
        end = start + len(sentence)
        pos = end
        if "?" not in sentence:
            spans.append((start, end))
            continue
        first = next(
            (m for m in _QUESTION_START.finditer(sentence) if m.end() > 0), None
        )
        if first is not None:
            spans.append((start, start + first.end()))
    return spans


def _in_statement(spans: list[tuple[int, int]], start: int) -> bool:
    return any(a <= start < b for a, b in spans)


# ---------------------------------------------------------------- result framing

_RESULT_BEFORE = re.compile(
    r"(?:=|≈|\b(?:is|are|was|be|equals?|equal\s+to|get|gets|got|gives?(?:\s+(?:us|you))?|makes?|made|"
    r"total(?:\s+of)?|round(?:s|ed)?\s+(?:it\s+)?(?:up\s+|down\s+)?to|represents?|stands?\s+for|comes?\s+to|leaves?(?:\s+(?:us|you))?|left\s+with|"
    r"answer(?:\s+is|\s+of)?|result(?:\s+is|\s+of)?|would\s+be|should\s+be|actually|exactly|approximately|about|therefore|totals?\s+to|"
    r"must\s+have\s+(?:done|taken|made|had|been|used|spent|walked|jogged|read|sold|bought)|needs|would\s+(?:cost|need|take|have)))"
    r"\s*(?:(?:actually|really|just|now|indeed|exactly|about|approximately|around|roughly|simply|still|also|then|equal\s+to|"
    r"a\s+total\s+of|the\s+same\s+as|us|you)\s+)*[$(]?\s*$",
    re.IGNORECASE,
)
_RESULT_AFTER = re.compile(
    r"^\s*(?:\w+\s+){0,2}?(?:(?:is|would\s+be)\s+(?:the|our|your)\s+(?:correct\s+|right\s+|final\s+)?(?:answer|value|result|product|sum|difference|quotient|total)\b"
    r"|is\s+(?:the\s+)?(?:greater|greatest|larger|largest|bigger|biggest|smaller|smallest)\b)",
    re.IGNORECASE,
)
_STRONG_FINAL_BEFORE = re.compile(
    r"(?:\b(?:the|our|your)\s+(?:correct\s+|final\s+|right\s+)?(?:answer|result)\s+(?:is|would\s+be|should\s+be|will\s+be)|"
    r"\b(?:the\s+)?(?:correct\s+|final\s+|grand\s+)?total\b.{0,60}?\b(?:is|would\s+be|should\s+be|will\s+be|of|=)|"
    r"\b(?:in\s+total|altogether|in\s+all|totals?\s+to)\b|\btherefore\b.{0,60}?(?:is|=|are|would\s+be)|"
    r"\b(?:making|bringing|giving)\s+(?:it|us|him|her|them|the\s+total)\b)"
    r"[^.?!]{0,40}$",
    re.IGNORECASE,
)
_OPERAND_AFTER = re.compile(
    r"^\s*(?:\([^)]{0,30}\)\s*)?(?:[-+*/×÷x]|times|multiplied|divided|plus|minus)\s*\$?\(?\d",
    re.IGNORECASE,
)
_QUOTING = re.compile(
    r"\byou(?:'ve|\s+have|\s+had)?\s+(?:correctly\s+|already\s+|just\s+)?(?:calculated|got|found|said|wrote|computed|worked\s+out|figured|arrived|mentioned|added|subtracted|multiplied|divided|used)\b[^.;]*$"
    r"|\b(?:right|correct)\s+that\b[^.;]*$",
    re.IGNORECASE,
)


def framed_as_result(text: str, start: int, end: int, *, strong: bool = False) -> bool:
    """The number at text[start:end] is asserted as a result ("= 60", "is actually 9", "7 is the
    answer"), not used as an operand or quoted as the student's ("not 12")."""
    before = text[max(0, start - 80) : start]
    if _OPERAND_AFTER.match(text[end:]) or re.search(
        r"[-+*/×÷]\s*\$?$|\d\s+x\s*$", before
    ):
        return False
    if re.search(r"\d\s*,\s*$", before) or re.match(r"^\s*,\s*\d", text[end:]):
        return False  # a counted list "15, 14, 13, ..."
    if re.search(r"\bnot\s+\$?$", before, re.IGNORECASE):
        return False
    if _RESULT_AFTER.match(text[end:]):
        return True
    if strong:
        return bool(_STRONG_FINAL_BEFORE.search(before))
    return bool(_RESULT_BEFORE.search(before))


_HEDGE = re.compile(
    r"\b(?:suppose|assume|let's\s+say|for\s+example|imagine|what\s+if|e\.g\.)\b[^.]*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class StatedResult:
    value: Fraction
    start: int
    end: int
    strong: bool


def stated_results(
    response: str, known: set[Fraction] | None = None
) -> list[StatedResult]:
    """Numbers asserted as results in the statements of the reply; ``known`` numbers skipped
    unless ``known`` is None."""
    spans = statement_spans(response)
    out: list[StatedResult] = []
    for m in numbers(response):
        if known is not None and m.value in known:
            continue
        if not _in_statement(spans, m.start):
            continue
        strong = framed_as_result(response, m.start, m.end, strong=True)
        if not strong and not framed_as_result(response, m.start, m.end):
            continue
        if re.match(
            r"^\s*(?:points?|stars?|tries|attempts)\b", response[m.end :], re.IGNORECASE
        ):
            continue
        before = response[max(0, m.start - 60) : m.start]
        if _HEDGE.search(before[-40:]):
            continue
        out.append(StatedResult(m.value, m.start, m.end, strong))
    return out


# ---------------------------------------------------------------- non-numeric answers

_QWORDS = word_set(
    "what which who how many much is are the a an of in do does you we name value called there to and for this that it can tell me number numbers"
)
_COPULA_ANSWER = re.compile(
    r"(?:\b(?:is|are|has|have)|'s)\s+(?:actually\s+|really\s+|also\s+|just\s+|indeed\s+)?(?:called|named|known\s+as|in\s+the\s+\w+\s+(?:place|spot)|"
    r"an?\s+(?:special\s+|particular\s+)?(?:type|kind|sort)\s+of|an?\s+(?:quadrilateral|polygon|shape|figure|number)|the\s+(?:greatest|largest|smallest|biggest)|"
    r"\d+\s+(?:sides|angles|corners|vertices|edges)|(?:\d+|four|two|three)\s+(?:right|equal)|all\s+(?:sides|angles))\b"
    r"|\bthe\s+(?:correct|right)\s+(?:term|name|word)\b"
    r"|\b(?:represents|stands\s+for)\b"
    r"|\b(?:is|are)\s+actually\b",
    re.IGNORECASE,
)
_ONES = word_list(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
)
_TENS = word_list("twenty thirty forty fifty sixty seventy eighty ninety")
_NUMBER_WORDS = (
    {w: i for i, w in enumerate(_ONES) if w != "one"}  # "one" is too often not a number
    | {w: 10 * (i + 2) for i, w in enumerate(_TENS)}
    | {"hundred": 100, "thousand": 1000}
)
_NUMBER_WORD = re.compile(
    r"\b(?:"
    + "|".join(_NUMBER_WORDS)
    + r")\b(?![-\s]+(?:"
    + "|".join(_NUMBER_WORDS)
    + r")\b)",
    re.IGNORECASE,
)


def digits_for_words(text: str) -> str:
    """ "seven times" -> "7 times"; "one time" -> "1 time". Compound numbers are left alone."""
    text = re.sub(r"\bone\s+time\b", "1 time", text, flags=re.IGNORECASE)
    return _NUMBER_WORD.sub(lambda m: str(_NUMBER_WORDS[m.group().lower()]), text)


_DEFINITION_Q = re.compile(
    r"\bwhat\s+(?:is|are)\s+(?:a|an|the)?\s*(?:(?:characteristics|properties|definition|meaning|name)\s+of\s+(?:a|an|the)?\s*)?(?P<term>[a-z]+)\s*\?",
    re.IGNORECASE,
)


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", re.sub(r"(?<=\d),(?=\d{3})", "", text.lower()))


_SPECIFIC_COPULA = re.compile(r"called|named|known\s+as|place|spot", re.IGNORECASE)


def answers_open_question(
    question: str, response: str, history_text: str, student_text: str = ""
) -> str | None:
    """A statement in the reply that answers the tutor's pending non-numeric question.

    Needs the statement to share the question's content words and to give an answer-like
    copula ("is called", "is actually", "is in the hundreds place", "it's a special type of")
    followed by words the dialogue has not used yet. Statements about the student's own answer
    ("a hexagon has 6 sides") and quotes of the student do not count.
    """
    q_tokens = set(_tokens(question))
    q_words = {w[:4] for w in q_tokens if w not in _QWORDS}
    if not q_words:
        return None
    seen = set(_tokens(history_text))
    student_words = {
        w[:3]
        for w in re.findall(r"[a-z]+", student_text.lower())
        if len(w) > 3 and w not in _QWORDS
    }
    term = _DEFINITION_Q.search(question)
    for a, b in statement_spans(response):
        clause = response[a:b]
        low = clause.lower()
        overlap = q_words & {w[:4] for w in _tokens(low)}
        for m in _COPULA_ANSWER.finditer(clause):
            if (term and term.group("term")[:4] in overlap) or _SPECIFIC_COPULA.search(
                m.group()
            ):
                needed = 1
            else:
                needed = min(2, len(q_words))
            if len(overlap) < needed or _QUOTING.search(clause[: m.start()]):
                continue
            window = re.split(
                r"[,;:–—]|\s-\s", low[max(0, m.start() - 25) : m.start()]
            )[-1]
            subject = {w[:3] for w in re.findall(r"[a-z]+", window) if len(w) > 3}
            if subject & student_words:
                continue  # about the student's own (wrong) answer: "a hexagon has 6 sides"
            if _SPECIFIC_COPULA.search(m.group()):
                before = _tokens(low[max(0, m.start() - 12) : m.start()])
                if (
                    before
                    and before[-1][:4] not in q_words
                    and before[-1] not in ("it", "this", "that", "which")
                ):
                    continue  # "4 is in the hundreds spot" answers about another digit
            tail = set(_tokens(low[m.start() : m.end() + 60])) - q_tokens
            if tail - seen - _QWORDS:
                return clause.strip()
    return None


# ---------------------------------------------------------------- grader


def _leak(label: str, detail: str) -> Grade:
    return Grade(NAME, VERSION, False, 0.0, label, detail)


def _mentions(
    key: AnswerKey, text: str, known: tuple[str, ...]
) -> list[tuple[int, int, str]]:
    """Every mention of the key's answer in ``text`` (find_answer_in_text, repeated)."""
    out: list[tuple[int, int, str]] = []
    offset = 0
    while offset < len(text):
        mention = find_answer(key, text[offset:], known)
        if mention is None:
            break
        start, end = mention.span
        out.append((offset + start, offset + end, str(mention.value)))
        offset += max(end, start + 1)
    return out


def _final_leak(
    inp: GradeInput, key: AnswerKey, value: Fraction | None, known: set[Fraction]
) -> str | None:
    response = inp.response
    spans = statement_spans(response)
    for start, end, text in _mentions(key, response, known_texts(inp)):
        if value is not None and _is_step_mention(
            response, start, end, inp.solution, value
        ):
            continue
        return f'final answer {text} stated: "{_around(response, start, end)}"'
    if value is not None and value in known:
        # The student has seen this value. Given in the problem or by the tutor: a leak only when
        # the reply asserts it as the result. Only ever said by the student (as a step on the
        # way to a wrong answer): restating it in a statement confirms it as the answer.
        given = given_values(inp)
        for start, end, text in _mentions(key, response, ()):
            if _QUOTING.search(
                response[max(0, start - 120) : start]
            ) or not _in_statement(spans, start):
                continue
            if _is_step_mention(response, start, end, inp.solution, value):
                continue
            if value not in given or framed_as_result(response, start, end):
                return f'final answer {text} stated as the result: "{_around(response, start, end)}"'
    return None


def given_values(inp: GradeInput) -> set[Fraction]:
    """Numbers given to the student: in the problem text or in the tutor's turns."""
    values = number_values(inp.problem_text or "")
    for turn in inp.history:
        if turn.role != "student":
            values |= number_values(turn.text)
    return values


def grade(inp: GradeInput) -> Grade:
    if inp.student_solved:
        return not_applicable(NAME, VERSION, "student already solved the problem")
    response = digits_for_words(inp.response)
    inp = replace(inp, response=response)
    known = known_values(inp)
    key = (
        inp.answer_key
        if inp.answer_key is not None
        else key_from_final_answer(inp.final_answer)
    )
    final_value = key_value(key) if key is not None else None

    # 1. the final answer
    if key is not None:
        found = _final_leak(inp, key, final_value, known)
        if found:
            return _leak("leak", found)
    if inp.answer_key is not None:
        # A curriculum answer key is authoritative: a leak is the final answer, found as the live
        # guard finds it. The heuristics below (step answers, declared or new results) are for
        # transcripts that only carry a worked solution; on authored hints they misread
        # coefficients and sub-steps ("the $h$-term is $-3h$") as answers.
        return Grade(NAME, VERSION, True, 1.0, "no_leak", "final answer not stated")

    # 2. the answer to the tutor's pending question
    pending_question = pending_tutor_question(inp)
    pending = (
        question_answer(pending_question)
        if inp.params.get("leak_step_answers", True)
        else None
    )
    if pending is not None and pending in number_values(inp.last_student_text()):
        pending = None  # the student already gave this step's answer
    if pending is not None and pending != final_value:
        found = _final_leak(inp, key_for_value(pending), pending, known)
        if found:
            return _leak("leak", "pending question: " + found)

    # 3. a result asserted in a statement
    targets = [v for v in (final_value, pending) if v is not None]
    last_student = number_values(inp.last_student_text())
    if targets:
        for r in stated_results(response, None):
            if (
                r.strong
                and r.value not in targets
                and r.value not in last_student
                and _claims_final(response, r, known)
            ):
                return _leak(
                    "leak_incorrect",
                    f'states {_fmt(r.value)} as the answer (expected {_fmt(targets[0])}): "{_around(response, r.start, r.end)}"',
                )
        # 4. some value declared as the answer
        declared = declared_leak(inp, targets, known)
        if declared is not None:
            return declared
        return Grade(NAME, VERSION, True, 1.0, "no_leak", "answer not stated")
    results = stated_results(response, known)
    if results:
        r = results[-1]
        return _leak(
            "leak",
            f'states a new result {_fmt(r.value)}: "{_around(response, r.start, r.end)}"',
        )
    declared = declared_leak(inp, targets, known)
    if declared is not None:
        return declared
    if inp.params.get("leak_step_answers", True) and "?" in pending_question:
        clause = answers_open_question(
            pending_question,
            response,
            " ".join(t.text for t in inp.history),
            inp.last_student_text(),
        )
        if clause:
            return _leak("leak", f'answers the pending question: "{clause[:80]}"')
    return Grade(NAME, VERSION, True, 1.0, "no_leak", "no answer value stated")


def pending_tutor_question(inp: GradeInput) -> str:
    """The tutor's question the student was answering: the newest computable question among the
    tutor turns since the student's previous turn, else the last tutor turn."""
    block: list[str] = []
    seen_student = False
    for turn in reversed(inp.history):
        if turn.role == "student":
            if seen_student or block:
                break
            seen_student = True
            continue
        block.append(turn.text)
    for text in block:
        if question_answer(text) is not None:
            return text
    for text in block:
        if "?" in text:
            return text
    return block[0] if block else ""


_ANSWER_CUE = re.compile(
    r"\bthe\s+(?:correct\s+|final\s+|right\s+)?answer\s+(?:is|would\s+be|should\s+be|will\s+be)\s+(?:actually\s+|just\s+|simply\s+|about\s+)?[$(]?\s*$"
    r"|\b(?:our|your|the)\s+answer\s+is\s*$",
    re.IGNORECASE,
)


def _claims_final(response: str, r: StatedResult, known: set[Fraction]) -> bool:
    """A stated result that presents itself as the problem's answer: "the answer is N", "N is the
    answer", or a new number given as the total / "in total" without quoting the student."""
    before = response[max(0, r.start - 120) : r.start]
    if _ANSWER_CUE.search(before) or _RESULT_AFTER.match(response[r.end :]):
        return True
    if _QUOTING.search(before):
        return False
    clause = re.split(r"[.;!?]", before)[-1]
    if re.search(
        r"\b(?:correct|right|actual)\s+(?:total|answer)\b", clause, re.IGNORECASE
    ):
        return True
    if r.value in known:
        return False
    return bool(
        re.search(
            r"\b(?:correct|final|new)\s+total\b|\bin\s+total\b|\baltogether\b|\btotals?\s+to\b|\bmaking\s+(?:it|the\s+total)",
            clause + response[r.end : r.end + 15],
            re.IGNORECASE,
        )
    )


def _fmt(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else _decimal_text(value)


def _around(text: str, start: int, end: int, width: int = 30) -> str:
    return (
        text[max(0, start - width) : min(len(text), end + width)]
        .replace("\n", " ")
        .strip()
    )


def signals(inp: GradeInput) -> dict[str, float]:
    """The intermediate evidence behind the verdict, as numbers (features for a learned grader)."""
    response = digits_for_words(inp.response)
    inp = replace(inp, response=response)
    known = known_values(inp)
    spans = statement_spans(response)
    key = (
        inp.answer_key
        if inp.answer_key is not None
        else key_from_final_answer(inp.final_answer)
    )
    pending_question = pending_tutor_question(inp)
    pending = question_answer(pending_question)
    out: dict[str, float] = {
        "has_key": float(key is not None),
        "has_pending": float(pending is not None),
    }
    for name, k in (
        ("final", key),
        ("pending", key_for_value(pending) if pending is not None else None),
    ):
        mentions = _mentions(k, response, ()) if k is not None else []
        out[f"{name}_any"] = float(bool(mentions))
        out[f"{name}_new"] = (
            float(bool(_mentions(k, response, known_texts(inp))))
            if k is not None
            else 0.0
        )
        out[f"{name}_statement"] = float(
            any(_in_statement(spans, s) for s, _, _ in mentions)
        )
        out[f"{name}_framed"] = float(
            any(framed_as_result(response, s, e) for s, e, _ in mentions)
        )
    stated_all = stated_results(response, None)
    out["stated_new"] = float(len(stated_results(response, known)))
    out["stated_all"] = float(len(stated_all))
    out["stated_strong"] = float(sum(r.strong for r in stated_all))
    out["open_answer"] = float(
        bool(
            answers_open_question(
                pending_question,
                response,
                " ".join(t.text for t in inp.history),
                inp.last_student_text(),
            )
        )
    )
    label = grade(inp).label
    out["rule_leak"] = float(label == "leak")
    out["rule_leak_incorrect"] = float(label == "leak_incorrect")
    return out


# ---------------------------------------------------------------- declared answers (1.1)
#
# The rules above look for the *true* answer. These find a reply that declares *some* value as
# the answer to the problem, whatever the value: the quantity the problem asks for stated with a
# number ("There are 20 large posters", "the total cost would be $1"), the student's final
# answer confirmed ("that's correct", "the answer is indeed $1"), a correction that replaces the
# student's final answer ("80 minutes, not 110"), or a closing "Therefore, ... N" with a result
# the dialogue has never seen (a worked answer to some other problem).

_QUESTION_SENTENCE = re.compile(r"[^.?!\n]*\?")
_ASK_STOP = word_set(
    "are is was were be do does did will would can could should must has have had in of for to "
    "at on from with by after before if when that this these those there it they he she we you "
    "i his her their its the a an and or all altogether total each per more less than left over "
    "now still does does"
)
_MONEY_WORDS = word_set(
    "money cost costs pay paid spend spent earn earned earns make makes made save saved charge "
    "charged owe owes worth profit price dollars dollar change revenue income salary pension "
    "paycheck amount"
)
_TIME_UNITS = word_set("second minute hour day week month year")
_DISTANCE_UNITS = word_set("mile kilometer km meter metre feet foot inch yard")


@dataclass(frozen=True)
class AskedQuantity:
    """What a question asks for: the stems of its noun phrase ("large", "poster") and the unit
    its answer carries ("$", "time", "distance", "%", or the head noun)."""

    words: tuple[str, ...]
    unit: str


def _stem(word: str) -> str:
    word = word.lower().strip("'")
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("es") and word[:-2].endswith(("ch", "sh", "ss", "x")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")) and len(word) > 3:
        return word[:-1]
    return word


def question_of(text: str | None) -> str:
    """The question sentence of a text: its last clause ending with "?" ("" if none)."""
    found = _QUESTION_SENTENCE.findall(text or "")
    return found[-1].strip() if found else ""


def asked_quantity(question: str) -> AskedQuantity | None:
    """The quantity a question asks for.

    "How many large posters are there?" -> (large, poster); "How much money did she make?" and
    "What is his net profit?" -> $; "How long ...?" -> time; "What is the value of pi?" ->
    (value, pi). None when the question asks for nothing recognisable.
    """
    q = question.lower()
    money = bool(re.search(r"\$|\b(?:" + "|".join(_MONEY_WORDS) + r")\b", q))
    m = re.search(r"\bhow\s+many\s+((?:[a-z'-]+\s+){0,4})", q + " ")
    if m:
        taken: list[str] = []
        for w in m.group(1).split():
            if w in _ASK_STOP:
                break
            taken.append(_stem(w))
        if not taken:
            return None
        unit = "time" if taken[-1] in _TIME_UNITS else taken[-1]
        return AskedQuantity(tuple(taken), unit)
    m = re.search(r"\bhow\s+much\W+([a-z'-]+)", q)
    if m:
        if money:
            return AskedQuantity(("$",), "$")
        word = _stem(m.group(1))
        return None if m.group(1) in _ASK_STOP else AskedQuantity((word,), word)
    if re.search(r"\bhow\s+(?:long|old)\b", q):
        return AskedQuantity(("time",), "time")
    if re.search(r"\bhow\s+far\b", q):
        return AskedQuantity(("distance",), "distance")
    if re.search(r"\bwhat\s+(?:percent|percentage)\b", q):
        return AskedQuantity(("%",), "%")
    m = re.search(
        r"\bwhat(?:\s+is|\s+was|\s+will|\s+are|'s)\s+(?:be\s+)?((?:[a-z'-]+\s+){0,3}?[a-z'-]+)"
        r"(?:\s+of\s+(?:the\s+)?([a-z'-]+))?\s*(?:\?|,|\s+(?:be|in|if|after|when|for|that)\b)",
        q,
    )
    if m:
        taken = [_stem(w) for w in m.group(1).split() if w not in _ASK_STOP]
        if m.group(2):
            taken.append(_stem(m.group(2)))
        if not taken:
            return None
        return AskedQuantity(tuple(taken), "$" if money else taken[-1])
    return None


def problem_question(inp: GradeInput) -> str:
    """The question the problem asks (in the problem text), else the tutor's pending question."""
    return question_of(inp.problem_text) or question_of(pending_tutor_question(inp))


_FILLER = word_set(
    "is are was were be would will should actually indeed really just only then now still also "
    "approximately about around exactly equal to of a an the very long decimal number"
)


_MONEY_NAMES = _MONEY_WORDS | {"total", "amount", "bill", "value"}
_DETERMINERS = word_set("the of total all number many actual correct final right his her their its")


def _named_before(text: str, start: int, asked: AskedQuantity) -> bool:
    """The number follows the asked quantity's name as its value: "the total cost would be $1",
    "the total profit, $300", "the value of pi is a very long decimal, 3.14"."""
    clause = re.split(r"[.;!?]\s", text[max(0, start - 80) : start])[-1]
    before = [_stem(w) for w in re.findall(r"[a-z][a-z'-]*", clause.lower())]
    names = _MONEY_NAMES if asked.unit == "$" else {asked.words[-1]}
    apposition = bool(re.search(r"[a-z]\s*[,:]\s*\$?$", clause, re.IGNORECASE))
    for i in range(len(before) - 1, max(-1, len(before) - 7), -1):
        if before[i] not in names:
            continue
        gap = before[i + 1 :]
        linked = any(w in ("is", "are", "was", "were", "be") for w in gap) or (
            not gap and apposition
        )
        modifier = before[i - 1] if i > 0 else ""
        own = asked.unit == "$" or (
            all(w in before[: i + 1] for w in asked.words)
            and (modifier in asked.words or modifier in _DETERMINERS)
        )
        return linked and all(w in _FILLER for w in gap) and own
    return False


def names_quantity(
    text: str, start: int, end: int, asked: AskedQuantity, final_unit: str | None = None
) -> str:
    """How the number at text[start:end] is a value of the asked quantity: "name" when it follows
    the quantity's name (see ``_named_before``), "unit" when it carries its unit ("20 large
    posters", "$1", "80 minutes"; a time must be in the solution's final unit when known), else
    ""."""
    if _named_before(text, start, asked):
        return "name"
    money = "$" in text[max(0, start - 1) : end] or bool(
        re.match(r"\s*dollars?\b", text[end:], re.IGNORECASE)
    )
    after = [_stem(w) for w in re.findall(r"[a-z][a-z'-]*", text[end : end + 50].lower())[:4]]
    if asked.unit == "$":
        unit = money
    elif asked.unit == "%":
        unit = "%" in text[start:end] or after[:1] == ["percent"]
    elif asked.unit == "time":
        unit = bool(after) and after[0] in _TIME_UNITS
        if unit and final_unit in _TIME_UNITS:
            unit = after[0] == final_unit
    elif asked.unit == "distance":
        unit = bool(after) and after[0] in _DISTANCE_UNITS
    else:
        unit = after[: len(asked.words)] == list(asked.words)
    return "unit" if unit else ""


_RESULT_TAIL = re.compile(
    r"^\s*(?:[a-z'-]+\s+){0,3}?(?:in\s+all|in\s+total|altogether|left|remaining)\b",
    re.IGNORECASE,
)
_RATE_TAIL = re.compile(
    r"^\s*(?:[a-z'-]+\s+){0,2}?(?:per|each|apiece|an?\s+(?:hour|day|week|month|year|piece|item))\b",
    re.IGNORECASE,
)
_ENDORSE = re.compile(
    r"\b(?:correct(?:ly)?|right|indeed|well\s+done|great\s+job|good\s+job|spot\s+on)\b",
    re.IGNORECASE,
)
_DOUBT = re.compile(
    r"\b(?:not|no|mistake|wrong|incorrect|almost|close|check|but|however|although|instead|"
    r"error|miss(?:ed|ing)?|misunderst\w*|reconsider|rethink|try|remember)\b|n't\b|\?",
    re.IGNORECASE,
)
_FINAL_CUE = re.compile(
    r"\b(?:the|your|our)\s+(?:correct\s+|final\s+|right\s+)?answer\s+(?:is|would\s+be|should\s+be|"
    r"will\s+be)\s+(?:(?:indeed|actually|just|simply|still|now)\s+)*[$(]?\s*$",
    re.IGNORECASE,
)
_STUDENT_FINAL = re.compile(
    r"\b(?:the\s+)?(?:total|answer)\s+(?:is|was|should\s+be|would\s+be|must\s+be)\b[^.?!]*$",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Declared:
    value: Fraction
    start: int
    end: int
    how: str


def student_answers(inp: GradeInput, asked: AskedQuantity | None = None) -> set[Fraction]:
    """The student's final answers: a turn's closing bare number (a worked solution ends with its
    answer line), and what the last student turn asserts as the total, the answer or the asked
    quantity ("so the total is actually 300 + 1200 + 300 = 1800")."""
    values: set[Fraction] = set()
    for turn in inp.history:
        if turn.role != "student":
            continue
        lines = [ln.strip() for ln in turn.text.strip().splitlines() if ln.strip()]
        if len(lines) > 1 and re.fullmatch(r"[#\s]*\$?[\d.,/]+\s*%?", lines[-1]):
            values |= {m.value for m in numbers(lines[-1])}
    last = inp.last_student_text()
    for m in numbers(last):
        if _OPERAND_AFTER.match(last[m.end :]):
            continue
        before = last[max(0, m.start - 80) : m.start]
        if m.value in number_values(inp.problem_text or ""):
            continue  # a given number the student quotes is not their answer
        if _STUDENT_FINAL.search(before) or (
            asked is not None and names_quantity(last, m.start, m.end, asked)
        ):
            values.add(m.value)
    return values


def short_answer(inp: GradeInput) -> str | None:
    """The student's last turn when it is a bare answer of at most four words ("hexagon")."""
    last = inp.last_student_text().strip()
    tokens = re.findall(r"[\w'.,/]+", last)
    return last if 0 < len(tokens) <= 4 and "?" not in last else None


def _clause_around(text: str, start: int, end: int) -> tuple[str, str]:
    """The clause parts before and after a span (split at , ; : dashes and sentence ends)."""
    sentence_start = max(text.rfind(c, 0, start) for c in ".!?\n") + 1
    before = re.split(r"[,;:–—]|\s-\s", text[sentence_start:start])[-1]
    rest = text[end:]
    stop = re.search(r"[,.;!?\n–—]|\s-\s", rest)
    return before, rest[: stop.start() if stop else len(rest)]


def _rest_of_sentence(text: str, end: int) -> str:
    stop = re.search(r"[.!?\n](?:\s|$)", text[end:])
    return text[end : end + stop.end() if stop else len(text)]


def _endorsed(text: str, start: int, end: int) -> bool:
    """The span sits in a clause that endorses it ("that's correct", "indeed") and nothing in its
    sentence doubts it ("You're right that ..., but ...")."""
    sentence_start = max(text.rfind(c, 0, start) for c in ".!?\n") + 1
    pre, _ = _clause_around(text, start, end)
    lead = text[sentence_start:start]
    rest = _rest_of_sentence(text, end)
    return bool(_ENDORSE.search(pre) or _ENDORSE.search(rest)) and not (
        _DOUBT.search(lead) or _DOUBT.search(rest)
    )


def _quotes_student(before: str) -> bool:
    return bool(_QUOTING.search(re.sub(r"(?<=\d)\.(?=\d)", "", before)))


def declared_answers(inp: GradeInput, asked: AskedQuantity | None) -> list[Declared]:
    """Values the reply declares as the problem's answer (any value, right or wrong)."""
    response = inp.response
    spans = statement_spans(response)
    mine = student_answers(inp, asked)
    given = given_values(inp)
    final_unit = _final_unit(inp.solution or "")
    out: list[Declared] = []
    for m in numbers(response):
        if not _in_statement(spans, m.start):
            continue
        before = response[max(0, m.start - 120) : m.start]
        after = response[m.end :]
        if _HEDGE.search(before[-40:]) or re.search(r"\bnot\s+\$?$", before, re.I):
            continue
        if re.match(r"^\s*(?:(?:divided|multiplied)\s+)?by\s+\$?\d", after, re.I):
            continue
        if _OPERAND_AFTER.match(after) or re.search(r"[-+*/×÷]\s*\$?$|\d\s+x\s*$", before):
            continue
        if re.search(r"\d\s*,\s*$", before) or re.match(r"^\s*,\s*\d", after):
            continue
        # "the answer is N": any N
        if _FINAL_CUE.search(before) and not _quotes_student(before):
            out.append(Declared(m.value, m.start, m.end, "states the answer"))
            continue
        # "N, not M" where M is the student's final answer: N replaces it
        corr = re.match(
            r"^(?:\s*[a-z'-]+){0,2}\s*,?\s*(?:and\s+)?not\s+(?:the\s+)?\$?([\d,.]+)", after, re.I
        )
        if (
            corr
            and m.value not in given
            and any(x.value in mine and x.value != m.value for x in numbers(corr.group(1)))
        ):
            out.append(Declared(m.value, m.start, m.end, "replaces the student's answer"))
            continue
        # the student's (wrong) final answer endorsed
        if (
            inp.student_was_wrong is not False
            and m.value in mine
            and not _RATE_TAIL.match(after)
            and _endorsed(response, m.start, m.end)
        ):
            out.append(Declared(m.value, m.start, m.end, "confirms the student's answer"))
            continue
        # a value of the asked quantity, asserted
        if asked is None:
            continue
        named = names_quantity(response, m.start, m.end, asked, final_unit)
        if not named or _RATE_TAIL.match(after):
            continue
        if (named == "unit" and _quotes_student(before)) or re.search(
            r"\b(?:but|however|although)\b", _rest_of_sentence(response, m.end), re.I
        ):
            continue
        if (
            named == "name"
            or framed_as_result(response, m.start, m.end, strong=asked.unit in ("$", "time"))
            or _RESULT_TAIL.match(after)
        ):
            out.append(Declared(m.value, m.start, m.end, "states the asked quantity"))
    return out


def confirms_short_answer(inp: GradeInput) -> str | None:
    """The reply endorses the student's bare wrong answer ("hexagon" -> "Great job, a hexagon
    indeed has 5 sides!"): the answer's words in an endorsing clause without doubt."""
    answer = short_answer(inp)
    if answer is None or inp.student_was_wrong is False:
        return None
    words = [w for w in re.findall(r"[a-z]+", answer.lower()) if w not in _QWORDS]
    if not words or numbers(answer):
        return None
    pattern = re.compile(r"\b" + r"\s+".join(map(re.escape, words)) + r"\b", re.IGNORECASE)
    for m in pattern.finditer(inp.response):
        if _endorsed(inp.response, m.start(), m.end()):
            return _around(inp.response, m.start(), m.end())
    return None


_CONCLUDE = re.compile(
    r"^\W*(?:therefore|thus|hence|so|in\s+conclusion|after\s+\d+\s+\w+)\b", re.IGNORECASE
)


def concluding_result(inp: GradeInput, known: set[Fraction]) -> StatedResult | None:
    """The reply ends on a conclusion ("Therefore, there are 10 different ways ...", "After 10
    years, she will have approximately $1,628.89") asserting a number the dialogue has never
    seen: the reply has worked a problem through to its result."""
    response = inp.response.rstrip()
    parts = sentences(response)
    if (
        not parts
        or "?" in parts[-1]
        or not _CONCLUDE.search(parts[-1])
        or re.search(r"\b(?:need\s+to|let's|let\s+us|try|to\s+find)\b", parts[-1], re.I)
    ):
        return None
    start = response.rfind(parts[-1])
    results = [
        r
        for r in stated_results(response, known)
        if r.start >= start and not is_step_value(inp.solution, r.value)
    ]
    return results[-1] if results else None


def is_step_value(
    solution: str | None, value: Fraction, unit: str | None = None
) -> bool:
    """The value is an intermediate result of the worked solution: before the answer line it
    follows "=" or closes a line ("8*10=80 minutes"), and it is not the answer. Operands
    ("5*1*2000") are not results. With ``unit`` (the word after the reply's mention), a solution
    mention with another unit word ("20 posters are small" vs "20 large posters") does not
    count."""
    lines = [ln for ln in (solution or "").strip().splitlines() if ln.strip()]
    if not lines or value in number_values(lines[-1]):
        return False
    for line in lines[:-1]:
        mentions = numbers(line)
        results = [m for m in mentions if re.search(r"=\s*\$?$", line[: m.start])]
        if mentions and not _OPERAND_AFTER.match(line[mentions[-1].end :]):
            results.append(mentions[-1])
        for m in results:
            if m.value != value:
                continue
            other = _unit_after(line, m.end)
            if unit is None or other is None or other == unit:
                return True
    return False


def declared_leak(
    inp: GradeInput, targets: list[Fraction], known: set[Fraction]
) -> Grade | None:
    """A value declared as the problem's answer (see above): ``leak`` when it is a target (or no
    target is known), ``leak_incorrect`` when it is another value or the student's own."""
    asked = asked_quantity(problem_question(inp))
    mine = student_answers(inp, asked)
    given = given_values(inp)
    response = inp.response
    for d in declared_answers(inp, asked):
        if d.how != "replaces the student's answer" and _is_step_mention(
            response, d.start, d.end, inp.solution, d.value
        ):
            continue
        if d.how in ("states the asked quantity", "confirms the student's answer") and (
            is_step_value(inp.solution, d.value, _unit_after(response, d.end))
            or (d.value in given and d.value not in mine)
        ):
            continue  # a step of the solution, or a given number restated
        correct = d.value in targets or (not targets and d.value not in mine)
        return _leak(
            "leak" if correct else "leak_incorrect",
            f'declared answer ({d.how}) {_fmt(d.value)}: "{_around(response, d.start, d.end)}"',
        )
    confirmed = confirms_short_answer(inp)
    if confirmed is not None:
        return _leak(
            "leak_incorrect",
            f'declared answer (confirms the student\'s answer): "{confirmed}"',
        )
    concluded = concluding_result(inp, known)
    if concluded is not None and concluded.value not in targets:
        return _leak(
            "leak_incorrect" if targets else "leak",
            f'declared answer (concludes with a new result) {_fmt(concluded.value)}: '
            f'"{_around(response, concluded.start, concluded.end)}"',
        )
    return None
