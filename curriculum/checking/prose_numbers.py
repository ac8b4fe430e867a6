"""Numbers stated in prose: digits, fractions, mixed numbers, percents and number words.

Works on text already passed through `map_text(..., prose=True)`. A number only counts when it
stands on its own: not inside a longer number ("3" in "13", "3.5", "1/3"), not an exponent or a
base ("x^3", "3^2"), not a coefficient ("3x + 1"), not an ordinal or a label ("3rd", "step 3",
"3-digit"), not part of a time or ratio ("3:15"). A "-" right before the digits is a sign unless
it follows an operand ("10 -5", "x - 5"); "negative 5" is always negative, "minus 5" only when
nothing it could subtract from comes before it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction

from .numbers import (
    DENOMINATORS,
    NUMBER_WORDS,
    ParsedNumber,
    fraction_number,
    negate,
    number_from_match,
    number_phrase,
)

_PCT = r"(?:\s*(?:%|percent\b|per\s+cent\b))"
_MIXED = re.compile(r"(?P<whole>\d+)\s+(?P<mnum>\d+)\s*/\s*(?P<mden>\d+)(?![\d/])")
_SIMPLE = re.compile(
    rf"""(?P<num>\d+)\s*/\s*(?P<den>\d+)
    |(?P<int>\d{{1,3}}(?:,\d{{3}})+(?!\d)|\d+)?\.(?P<frac>\d+)(?P<dpct>{_PCT})?
    |(?P<integer>\d{{1,3}}(?:,\d{{3}})+(?!\d)|\d+)(?P<ipct>{_PCT})?""",
    re.VERBOSE | re.IGNORECASE,
)
_DIGIT = re.compile(r"\d|\.\d")
_LABEL = re.compile(
    r"(?i)(?:\b(?:step|steps|question|problem|part|page|line|exercise|example|chapter|section|q|no\.)|#)\s*$"
)
_ORDINAL = re.compile(r"(?i)(?:st|nd|rd|th)\b")
_DENOMINATOR_WORD = re.compile(r"\s+([A-Za-z]+)\b")
_WORD = re.compile(r"[A-Za-z]+")
_OPERAND_END = re.compile(r"(?:\d|[A-Za-z']+|\))\s*$")
_WINDOW = 40  # how far around a number its context is read


@dataclass(frozen=True)
class Candidate:
    number: ParsedNumber
    start: int
    end: int
    # digits after the point as written (a percent adds 2), to recognise a rounded answer
    decimals: int = 0


def numbers_in(text: str, variables: tuple[str, ...] = ()) -> list[Candidate]:
    """Every number stated on its own in `text` (mapped prose). `variables` are the letters that
    make "3x" a coefficient; without them a letter right after a number is a unit ("3m") unless
    maths follows it ("3x = 12")."""
    found = list(_digit_numbers(text, variables)) + list(_word_numbers(text))
    return sorted(found, key=lambda c: c.start)


def _digit_numbers(text: str, variables: tuple[str, ...]) -> Iterator[Candidate]:
    pos = 0
    while True:
        digit = _DIGIT.search(text, pos)
        if digit is None:
            return
        start = digit.start()
        match = _MIXED.match(text, start)
        if match is not None and not 0 < int(match.group("mnum")) < int(
            match.group("mden")
        ):
            match = None
        match = match or _SIMPLE.match(text, start)
        if match is None:  # a lone "." before a digit
            pos = start + 1
            continue
        pos = match.end()
        number = number_from_match(match, negative=False)
        if number is None or not _stands_alone(text, start, pos, variables):
            continue
        end = pos
        denominator = _DENOMINATOR_WORD.match(text, end)
        if (
            number.form == "integer"
            and denominator
            and denominator.group(1).lower() in DENOMINATORS
        ):
            number = fraction_number(
                int(number.value), DENOMINATORS[denominator.group(1).lower()]
            )
            end = denominator.end()
        start, negative = _sign(text, start, variables)
        decimals = len(match.groupdict().get("frac") or "") + (
            2 if number.form == "percent" else 0
        )
        yield Candidate(negate(number) if negative else number, start, end, decimals)


def _stands_alone(text: str, start: int, end: int, variables: tuple[str, ...]) -> bool:
    before, after = text[max(0, start - _WINDOW) : start], text[end : end + _WINDOW]
    previous = before[-1:] if before else ""
    if (
        previous.isalnum()
        or previous in ("_", "/", ".", "^")
        or before.rstrip().endswith("^")
    ):
        return False
    if previous == ":" and before[-2:-1].isdigit():
        return False
    if _LABEL.search(before):
        return False
    if after[:1] in ("/", ":") and after[1:2].isdigit():
        return False
    if after.lstrip().startswith("^") or _ORDINAL.match(after):
        return False
    if after[:1] == "-" and after[1:2].isalpha():
        return False  # "3-digit", "2-step"
    letters = _WORD.match(after)
    if letters and len(letters.group()) == 1:
        if variables:
            return letters.group() not in variables
        following = after[1:].lstrip()[:1]
        return following == "" or following not in "=+-*/^("
    return True


def _sign(text: str, start: int, variables: tuple[str, ...]) -> tuple[int, bool]:
    """Where the number really starts, and whether a sign or "negative"/"minus" makes it negative."""
    before = text[max(0, start - _WINDOW) : start]
    if before.endswith(("-", "+")):
        head = before[:-1].rstrip()
        operand = _OPERAND_END.search(head)
        if operand is None or _is_prose_word(operand.group().strip(), variables):
            return start - 1, before.endswith("-")
        return start, False
    word = re.search(r"\b(negative|minus)\s+$", before, re.IGNORECASE)
    if word is None:
        return start, False
    if word.group(1).lower() == "minus" and not _nothing_to_subtract_from(
        before[: word.start()], variables
    ):
        return start, False
    return start - len(before) + word.start(), True


def _is_prose_word(word: str, variables: tuple[str, ...]) -> bool:
    if "'" in word:
        return True
    if not word.isalpha():
        return False
    return word not in variables and (len(word) > 1 or word in ("a", "I"))


def _nothing_to_subtract_from(before: str, variables: tuple[str, ...]) -> bool:
    operand = _OPERAND_END.search(before.rstrip())
    if operand is None:
        return True
    token = operand.group().strip()
    return _is_prose_word(token, variables) and token.lower() not in NUMBER_WORDS


def _word_numbers(text: str) -> Iterator[Candidate]:
    words = list(_WORD.finditer(text))
    i = 0
    while i < len(words):
        run = [words[i]]
        while i + len(run) < len(words) and re.fullmatch(
            r"\s*-?\s*", text[run[-1].end() : words[i + len(run)].start()]
        ):
            run.append(words[i + len(run)])
        yield from _phrases(text, run)
        i += len(run)


def _phrases(text: str, run: list[re.Match[str]]) -> Iterator[Candidate]:
    lowered = [word.group().lower() for word in run]
    i = 0
    while i < len(run):
        if lowered[i] not in NUMBER_WORDS or lowered[i] in (
            "and",
            "point",
            "per",
            "cent",
            "percent",
        ):
            i += 1
            continue
        before = text[max(0, run[i].start() - _WINDOW) : run[i].start()]
        if lowered[i] == "minus" and not _nothing_to_subtract_from(before, ()):
            i += 1
            continue
        found = number_phrase(lowered, i)
        if found is None:
            i += 1
            continue
        number, j = found
        lone_one = j - i == 1 and lowered[i] == "one"
        hyphen_compound = (
            j < len(run) and "-" in text[run[j - 1].end() : run[j].start()]
        )
        if not lone_one and not hyphen_compound and not _LABEL.search(before):
            decimals = (
                len(number.display.partition(".")[2]) if number.form == "decimal" else 0
            )
            yield Candidate(number, run[i].start(), run[j - 1].end(), decimals)
        i = j


def matches_value(
    candidate: Candidate, target: Fraction, tolerance: Fraction, unsimplified_ok: bool
) -> bool:
    """Whether a stated number is the answer: within tolerance, or the answer correctly rounded
    to the 2+ decimal places written. A fraction that isn't in lowest terms ("12/4", "6/8") is
    a step, not a statement of the answer, unless unsimplified answers are accepted."""
    number = candidate.number
    if (
        number.form in ("fraction", "mixed")
        and not number.simplified
        and not unsimplified_ok
    ):
        return False
    values = [number.value] + (
        [number.percent_of] if number.percent_of is not None else []
    )
    for value in values:
        if abs(value - target) <= tolerance:
            return True
    if candidate.decimals >= 2:
        half_unit = Fraction(1, 2 * 10**candidate.decimals)
        exact_in_places = (target * 10**candidate.decimals).denominator == 1
        return not exact_in_places and abs(number.value - target) <= half_unit
    return False
