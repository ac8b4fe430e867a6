"""Character-level clean-up shared by the checker and the mention finder.

`map_text` rewrites what people type or a model writes into plain ASCII maths (unicode minus,
x, superscripts, vulgar fractions, a little LaTeX and Markdown) while remembering, for every
output character, which stretch of the original produced it, so mentions can be reported with
spans into the original text.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_DASHES = {
    "\u2212": "-",
    "\u2013": "-",
    "\u2012": "-",
    "\ufe63": "-",
    "\uff0d": "-",
    "\u2010": "-",
    "\u2011": "-",
}
_LONG_DASHES = {"\u2014", "\u2015"}
_TIMES = {"\u00d7", "\u2715", "\u22c5", "\u00b7", "\u2219", "\u2217"}
_DIVIDE = {"\u00f7", "\u2215", "\u2044"}
_SUPERSCRIPTS = {
    "\u2070": "0",
    "\u00b9": "1",
    "\u00b2": "2",
    "\u00b3": "3",
    "\u2074": "4",
    "\u2075": "5",
    "\u2076": "6",
    "\u2077": "7",
    "\u2078": "8",
    "\u2079": "9",
    "\u207b": "-",
    "\u207a": "+",
}
_LATEX_FRACTIONS = {"frac", "dfrac", "tfrac", "cfrac"}
_LATEX_SYMBOLS = {
    "cdot": "*",
    "times": "*",
    "ast": "*",
    "div": "/",
    "pm": "\u00b1",
    "mp": "\u00b1",
    "pi": "pi",
    "%": "%",
    "$": "$",
    "{": "(",
    "}": ")",
    "left": "",
    "right": "",
    "sqrt": "sqrt",
}
_LATEX_WRAPPERS = {
    "text",
    "textrm",
    "mathrm",
    "mathbf",
    "textbf",
    "mathit",
    "textit",
    "mbox",
    "boxed",
    "operatorname",
}
_LATEX_COMMAND = re.compile(r"\\([A-Za-z]+|.)")
# Printable ASCII that every mode maps to itself: everything but "\\", "*", "$", "`", "_" and
# the brackets. map_text copies runs of these in one step instead of char by char.
_PLAIN_RUN = re.compile(r"[A-Za-z0-9 !\"#%&'()+,\-./:;<=>?@^|~]+")
_PLAIN_NUMBER = re.compile(r"\s*-?\d+(?:\.\d+)?\s*")


@dataclass(frozen=True)
class Mapped:
    text: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span that produced text[start:end]."""
        return self.starts[start], self.ends[end - 1]


class _Builder:
    def __init__(self) -> None:
        self.chars: list[str] = []
        self.starts: list[int] = []
        self.ends: list[int] = []

    def emit(self, text: str, start: int, end: int) -> None:
        for char in text:
            self.chars.append(char)
            self.starts.append(start)
            self.ends.append(end)

    def copy(self, run: str, start: int) -> None:
        """A run of characters that map to themselves, starting at `start` in the original."""
        self.chars.extend(run)
        self.starts.extend(range(start, start + len(run)))
        self.ends.extend(range(start + 1, start + len(run) + 1))

    def last(self) -> str:
        return self.chars[-1] if self.chars else ""

    def extend(self, mapped: Mapped, offset: int) -> None:
        self.chars.extend(mapped.text)
        self.starts.extend(s + offset for s in mapped.starts)
        self.ends.extend(e + offset for e in mapped.ends)


def map_text(raw: str, *, prose: bool = False) -> Mapped:
    """Normalise `raw` character by character, keeping a map back to the original positions.

    `prose` is for model output: Markdown emphasis and long dashes become spaces, `$` delimits
    LaTeX. Without it (student input) `$` stays, for currency.
    """
    out = _Builder()
    i, n = 0, len(raw)
    while i < n:
        plain = _PLAIN_RUN.match(raw, i)
        if plain is not None:
            out.copy(plain.group(), i)
            i = plain.end()
            continue
        char = raw[i]
        if char == "\\":
            i = _latex(raw, i, out, prose)
            continue
        if char in _SUPERSCRIPTS:
            j = i
            while j < n and raw[j] in _SUPERSCRIPTS:
                j += 1
            out.emit("^" + "".join(_SUPERSCRIPTS[c] for c in raw[i:j]), i, j)
            i = j
            continue
        if char == "*" and prose:
            j = i
            while j < n and raw[j] == "*":
                j += 1
            out.emit(_stars(raw, i, j), i, j)
            i = j
            continue
        out.emit(_map_char(raw, i, out, prose), i, i + 1)
        i += 1
    return Mapped("".join(out.chars), tuple(out.starts), tuple(out.ends))


def _map_char(raw: str, i: int, out: _Builder, prose: bool) -> str:
    char = raw[i]
    if char in _DASHES:
        return "-"
    if char in _LONG_DASHES:
        return " " if prose else "-"
    if char in _TIMES:
        return "*"
    if char in _DIVIDE:
        return "/"
    if char in "{[":
        return "("
    if char in "}]":
        return ")"
    if char == "\u03c0":
        return "pi"
    if char == "\u221a":
        return "sqrt"
    if char == "\u2213":
        return "\u00b1"
    if prose and (char in "$`" or (char == "_" and not _between_alnum(raw, i))):
        return " "
    if char.isspace():
        return " "
    category = unicodedata.category(char)
    if category in ("Cc", "Cf", "Cs", "Co", "Cn"):
        return " " if prose else ""
    if category == "No" and "\u2044" in unicodedata.normalize("NFKC", char):
        numerator, denominator = unicodedata.normalize("NFKC", char).split("\u2044")
        glue = " " if out.last().isdigit() else ""
        return f"{glue}{numerator}/{denominator}"
    return unicodedata.normalize("NFKC", char)


def _between_alnum(raw: str, i: int) -> bool:
    return 0 < i < len(raw) - 1 and raw[i - 1].isalnum() and raw[i + 1].isalnum()


def _stars(raw: str, i: int, j: int) -> str:
    """A run of asterisks in prose: an operator between operands, else Markdown emphasis."""
    before = raw[i - 1] if i > 0 else " "
    after = raw[j] if j < len(raw) else " "
    operand_before = before.isalnum() or before in ")]}"
    operand_after = (
        after.isalnum()
        or after in "([{\\-"
        or (after == "." and raw[j + 1 : j + 2].isdigit())
    )
    if j - i > 2 or operand_before != operand_after:
        return " " * (j - i)
    return "^" if j - i == 2 else "*"


def _brace_group(raw: str, i: int) -> tuple[int, int] | None:
    """(start, end) of the contents of the {...} group starting at raw[i] (after spaces)."""
    while i < len(raw) and raw[i] == " ":
        i += 1
    if i >= len(raw) or raw[i] != "{":
        return None
    depth = 0
    for j in range(i, len(raw)):
        if raw[j] == "{":
            depth += 1
        elif raw[j] == "}":
            depth -= 1
            if depth == 0:
                return i + 1, j
    return None


def _latex(raw: str, i: int, out: _Builder, prose: bool) -> int:
    """Translate the LaTeX command at raw[i] into `out`; return the index after it."""
    match = _LATEX_COMMAND.match(raw, i)
    if match is None:
        out.emit(" ", i, i + 1)
        return i + 1
    name, end = match.group(1), match.end()
    if name in _LATEX_FRACTIONS:
        top = _brace_group(raw, end)
        bottom = _brace_group(raw, top[1] + 1) if top else None
        if top is None or bottom is None:
            out.emit(" ", i, end)
            return end
        close = bottom[1] + 1
        top_text, bottom_text = raw[top[0] : top[1]], raw[bottom[0] : bottom[1]]
        if _PLAIN_NUMBER.fullmatch(top_text) and _PLAIN_NUMBER.fullmatch(bottom_text):
            out.emit(f"{top_text.strip()}/{bottom_text.strip()}", i, close)
            return close
        out.emit("((", i, end)
        out.extend(map_text(top_text, prose=prose), top[0])
        out.emit(")/(", top[1], bottom[0])
        out.extend(map_text(bottom_text, prose=prose), bottom[0])
        out.emit("))", bottom[1], close)
        return close
    if name in _LATEX_WRAPPERS:
        group = _brace_group(raw, end)
        if group is None:
            return end
        out.extend(map_text(raw[group[0] : group[1]], prose=prose), group[0])
        return group[1] + 1
    out.emit(_LATEX_SYMBOLS.get(name, " "), i, end)
    return end


_EDGE_PUNCTUATION = ".,;:!?\"'()[]{}\u2018\u2019\u201c\u201d"


def clean_input(raw: object, *, limit: int) -> str | None:
    """Student input as one tidy line; None when it is longer than `limit` characters."""
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8", "replace")
    if not isinstance(raw, str):
        raw = "" if raw is None else str(raw)
    if len(raw) > limit * 4:
        return None
    text = " ".join(map_text(raw).text.split())
    return None if len(text) > limit else text


def normalize_words(text: str) -> str:
    """Text answers: NFKC, case-folded, single spaces, no surrounding punctuation."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = text.replace("\u2019", "'").replace("\u2018", "'")
    return " ".join(text.split()).strip(_EDGE_PUNCTUATION + " ")


_TIGHT = re.compile(r"\s*([:/])\s*")
# a hyphen with a letter on one side joins words ("20-ounce"); between digits it may be a minus
_WORD_HYPHEN = re.compile(
    r"(?<=[^\W\d_])[-\u2010\u2011](?=\w)|(?<=\w)[-\u2010\u2011](?=[^\W\d_])"
)
_ARTICLE = re.compile(r"(?:the|a|an)\s+")


def normalize_answer_text(text: str) -> str:
    """Text answers: `normalize_words`, no spaces around ":" and "/" ("3 : 4" is "3:4"), and a
    hyphen that joins words is a space ("20-ounce box" is "20 ounce box")."""
    text = _TIGHT.sub(r"\1", normalize_words(text))
    return " ".join(_WORD_HYPHEN.sub(" ", text).split())


def normalize_option(text: str) -> str:
    """Choice options and what is typed to pick one: `normalize_answer_text`, and a leading
    article is dropped ("the 20-ounce box" is "20 ounce box")."""
    text = normalize_answer_text(text)
    article = _ARTICLE.match(text)
    return text[article.end() :] if article else text
