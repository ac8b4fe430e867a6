"""Reading numbers exactly: integers, decimals, fractions, mixed numbers, percents, number words.

Every value is a `fractions.Fraction`; floats never enter a comparison.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction

MAX_DIGITS = 120

UNITS = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
}
TENS = {
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
}
SCALES = {"thousand": 1000, "million": 10**6, "billion": 10**9}
# "second" is left out on purpose: "one second" is a time, not a half.
DENOMINATORS = {
    "half": 2,
    "halves": 2,
    "third": 3,
    "thirds": 3,
    "quarter": 4,
    "quarters": 4,
    "fourth": 4,
    "fourths": 4,
    "fifth": 5,
    "fifths": 5,
    "sixth": 6,
    "sixths": 6,
    "seventh": 7,
    "sevenths": 7,
    "eighth": 8,
    "eighths": 8,
    "ninth": 9,
    "ninths": 9,
    "tenth": 10,
    "tenths": 10,
    "eleventh": 11,
    "elevenths": 11,
    "twelfth": 12,
    "twelfths": 12,
    "hundredth": 100,
    "hundredths": 100,
    "thousandth": 1000,
    "thousandths": 1000,
}
NEGATIVE_WORDS = ("negative", "minus")
NUMBER_WORDS = frozenset(
    [
        *UNITS,
        *TENS,
        *SCALES,
        *DENOMINATORS,
        *NEGATIVE_WORDS,
        "hundred",
        "and",
        "a",
        "point",
        "percent",
        "per",
        "cent",
    ]
)

_GROUPED = r"\d{1,3}(?:,\d{3})+"
_PLAIN = rf"(?:{_GROUPED}|\d+)"
_UNSIGNED = re.compile(
    rf"""(?:(?P<whole>\d+)\s+(?:and\s+)?(?P<mnum>\d+)\s*/\s*(?P<mden>\d+)
    |(?P<num>\d+)\s*/\s*(?P<dsign>-\s*)?(?P<den>\d+)
    |(?P<int>{_PLAIN})?\.(?P<frac>\d+)(?P<dpct>\s*(?:%|percent|per\s*cent))?
    |(?P<integer>{_PLAIN})(?P<ipct>\s*(?:%|percent|per\s*cent))?)""",
    re.VERBOSE | re.IGNORECASE,
)
_PREFIX = re.compile(r"(?:[A-Za-z]\s*=|=)\s*")
_SIGN_AND_CURRENCY = re.compile(
    r"(?P<s1>[+-]?)\s*[$\u00a3\u20ac\u00a5]?\s*(?P<s2>[+-]?)\s*"
)
_UNIT_SUFFIX = re.compile(
    r"(?P<body>.*?[\d\w])\s*(?:\u00b0|[A-Za-z]+\.?(?:\s+[A-Za-z]+\.?){0,2})"
)
_DECIMAL_COMMA = re.compile(r"[+-]?\d+,(?:\d{1,2}|\d{4,})")
_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class ParsedNumber:
    value: Fraction
    form: str  # "integer" | "decimal" | "fraction" | "mixed" | "percent"
    display: str
    # fractions and mixed numbers: in lowest terms, proper, denominator > 1
    simplified: bool = True
    # the written form, e.g. ("fraction", 6, 8), to compare with known values
    key: tuple[object, ...] = ()

    @property
    def percent_of(self) -> Fraction | None:
        """For "75%": the 75, which also counts as a mention of the number 75."""
        return self.value * 100 if self.form == "percent" else None


def parse_number(text: str) -> ParsedNumber | None:
    """Read a whole answer as one number, or None. Tolerates "x = 5", "$5", "5 cm", "5."."""
    text = text.strip()
    if text.endswith(".") and not text.endswith(".."):
        text = text[:-1].rstrip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    prefix = _PREFIX.match(text)
    if prefix:
        text = text[prefix.end() :]
    found = _parse_signed(text)
    if found is None:
        suffix = _UNIT_SUFFIX.fullmatch(text)
        if suffix and not re.search(r"(?i)per\s*cent$", text):
            found = _parse_signed(suffix.group("body"))
    return found


def looks_like_decimal_comma(text: str) -> bool:
    return _DECIMAL_COMMA.fullmatch(text.strip()) is not None


def _parse_signed(text: str) -> ParsedNumber | None:
    sign_match = _SIGN_AND_CURRENCY.match(text)
    assert sign_match is not None  # every part is optional
    s1, s2 = sign_match.group("s1"), sign_match.group("s2")
    if s1 and s2:
        return None
    negative = (s1 or s2) == "-"
    body = text[sign_match.end() :]
    match = _UNSIGNED.fullmatch(body)
    if match is not None:
        return number_from_match(match, negative)
    words = parse_number_words(body.lower())
    if words is None:
        return None
    return words if not negative else negate(words)


def negate(number: ParsedNumber) -> ParsedNumber:
    if number.value == 0:
        return number
    display = (
        number.display[1:] if number.display.startswith("-") else "-" + number.display
    )
    kind, first, *rest = number.key
    key = (kind, -first, *rest)  # type: ignore[operator]
    return ParsedNumber(-number.value, number.form, display, number.simplified, key)


def number_from_match(match: re.Match[str], negative: bool) -> ParsedNumber | None:
    """Build a ParsedNumber from a match of `_UNSIGNED`-style named groups."""
    groups = match.groupdict()
    if groups.get("whole") is not None:
        whole, num, den = int(groups["whole"]), int(groups["mnum"]), int(groups["mden"])
        if den == 0 or _too_long(groups["whole"], groups["mnum"], groups["mden"]):
            return None
        value = whole + Fraction(num, den)
        simplified = whole > 0 and 0 < num < den and math.gcd(num, den) == 1
        return _signed(
            value,
            "mixed",
            f"{whole} {num}/{den}",
            simplified,
            ("mixed", whole, num, den),
            negative,
        )
    if groups.get("num") is not None:
        num, den = int(groups["num"]), int(groups["den"])
        if den == 0 or _too_long(groups["num"], groups["den"]):
            return None
        simplified = den > 1 and math.gcd(num, den) == 1
        # "10/-3" is -10/3: the sign of the denominator moves to the front
        return _signed(
            Fraction(num, den),
            "fraction",
            f"{num}/{den}",
            simplified,
            ("fraction", num, den),
            negative != bool(groups.get("dsign")),
        )
    if groups.get("frac") is not None:
        int_part = (groups.get("int") or "0").replace(",", "")
        if _too_long(int_part, groups["frac"]):
            return None
        value = Fraction(f"{int_part}.{groups['frac']}")
        display = f"{int(int_part)}.{groups['frac']}"
        if groups.get("dpct"):
            return _signed(
                value / 100,
                "percent",
                display + "%",
                True,
                ("percent", value),
                negative,
            )
        return _signed(value, "decimal", display, True, ("number", value), negative)
    digits = groups["integer"].replace(",", "")
    if _too_long(digits):
        return None
    value = Fraction(int(digits))
    if groups.get("ipct"):
        return _signed(
            value / 100,
            "percent",
            f"{int(digits)}%",
            True,
            ("percent", value),
            negative,
        )
    return _signed(
        value, "integer", str(int(digits)), True, ("number", value), negative
    )


def _too_long(*parts: str) -> bool:
    return sum(len(part) for part in parts) > MAX_DIGITS


def _signed(
    value: Fraction,
    form: str,
    display: str,
    simplified: bool,
    key: tuple[object, ...],
    negative: bool,
) -> ParsedNumber:
    number = ParsedNumber(value, form, display, simplified, key)
    return negate(number) if negative else number


def parse_number_words(text: str) -> ParsedNumber | None:
    """A whole answer in words: "twelve", "three quarters", "one and a half", "negative five"."""
    if not re.fullmatch(r"[a-z]+(?:[\s-]+[a-z]+)*", text.strip()):
        return None
    words = _WORD.findall(text)
    found = number_phrase(words, 0)
    if found is None or found[1] != len(words):
        return None
    return found[0]


def number_phrase(words: list[str], i: int) -> tuple[ParsedNumber, int] | None:
    """The number phrase starting at words[i]: (number, index after it), or None."""
    negative = False
    if i < len(words) and words[i] in NEGATIVE_WORDS:
        negative, i = True, i + 1
    found = _unsigned_phrase(words, i)
    if found is None:
        return None
    number, end = found
    return (negate(number) if negative else number), end


def _unsigned_phrase(words: list[str], i: int) -> tuple[ParsedNumber, int] | None:
    if (
        i + 1 < len(words)
        and words[i] == "a"
        and words[i + 1] in ("half", "third", "quarter")
    ):
        return fraction_number(1, DENOMINATORS[words[i + 1]]), i + 2
    cardinal = _cardinal(words, i)
    if cardinal is None:
        return None
    whole, j = cardinal
    rest = words[j : j + 4]
    if rest and rest[0] in DENOMINATORS:
        return fraction_number(whole, DENOMINATORS[rest[0]]), j + 1
    if rest[:1] == ["and"]:
        part = _unsigned_phrase(words, j + 1)
        if part is not None and part[0].form == "fraction" and 0 < part[0].value < 1:
            fraction = part[0].value
            key = ("mixed", whole, fraction.numerator, fraction.denominator)
            display = f"{whole} {fraction.numerator}/{fraction.denominator}"
            simplified = whole > 0 and part[0].simplified
            return ParsedNumber(
                whole + fraction, "mixed", display, simplified, key
            ), part[1]
    if rest[:1] == ["point"]:
        digits = []
        for word in words[j + 1 :]:
            if UNITS.get(word, 10) >= 10:
                break
            digits.append(str(UNITS[word]))
        if digits:
            value = Fraction(f"{whole}.{''.join(digits)}")
            return ParsedNumber(
                value, "decimal", f"{whole}.{''.join(digits)}", True, ("number", value)
            ), j + 1 + len(digits)
    if rest[:1] == ["percent"] or rest[:2] == ["per", "cent"]:
        end = j + (1 if rest[0] == "percent" else 2)
        return ParsedNumber(
            Fraction(whole, 100),
            "percent",
            f"{whole}%",
            True,
            ("percent", Fraction(whole)),
        ), end
    return ParsedNumber(
        Fraction(whole), "integer", str(whole), True, ("number", Fraction(whole))
    ), j


def fraction_number(numerator: int, denominator: int) -> ParsedNumber:
    simplified = math.gcd(numerator, denominator) == 1
    key = ("fraction", numerator, denominator)
    return ParsedNumber(
        Fraction(numerator, denominator),
        "fraction",
        f"{numerator}/{denominator}",
        simplified,
        key,
    )


def _cardinal(words: list[str], i: int) -> tuple[int, int] | None:
    """An integer in words from words[i]: (value, index after it), or None."""
    total, current, last, j = 0, 0, "", i
    while j < len(words):
        word = words[j]
        following = words[j + 1] if j + 1 < len(words) else ""
        if word in UNITS or word in TENS:
            value = UNITS.get(word, TENS.get(word, 0))
            if last == "unit" or (
                last == "tens" and (word in TENS or value >= 10 or value == 0)
            ):
                break
            current += value
            last = "tens" if word in TENS else "unit"
        elif word == "hundred" and last in ("unit", "a"):
            current = max(current, 1) * 100
            last = "hundred"
        elif word in SCALES and last in ("unit", "tens", "hundred", "a"):
            total += max(current, 1) * SCALES[word]
            current, last = 0, "scale"
        elif (
            word == "and"
            and last in ("hundred", "scale")
            and (following in UNITS or following in TENS)
        ):
            pass
        elif (
            word == "a" and not last and (following == "hundred" or following in SCALES)
        ):
            last = "a"
        else:
            break
        j += 1
    if last in ("", "a"):
        return None
    return total + current, j
