"""Markdown with LaTeX -> safe HTML.

Math spans (`$...$` inline, `$$...$$` display) are taken out before Markdown runs, so that
Markdown never touches them (`a_1 * b_2` stays as written), and put back afterwards, HTML-escaped,
for KaTeX's auto-render to typeset in the browser (frontend/static/js/katex-init.js). Everything
else goes through nh3: a fixed set of tags and attributes, no scripts, no event handlers, links
only to http(s) and mailto.

Dollar rules (as in pandoc): an opening `$` is not followed by a space, a closing `$` is not
preceded by a space nor followed by a digit, so "$5 and $10" stays text. `\\$` is a literal dollar.
Dollars that are not math are wrapped in their own <span>, so that KaTeX leaves them alone too.
"""

import html
import re

import markdown as markdown_lib
import nh3
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "div", "dl", "dt", "em", "h1", "h2",
    "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "span", "strong",
    "sub", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
    "td": {"align"},
    "th": {"align", "scope"},
    "code": {"class"},
}
URL_SCHEMES = {"http", "https", "mailto"}

# Code first (never math inside code), then display math, then inline math.
_TOKENS = re.compile(
    r"(?P<fence>^(?P<ticks>`{3,}|~{3,})[^\n]*\n.*?^(?P=ticks)[ \t]*$)"
    r"|(?P<code>(?P<run>`+).+?(?P=run))"
    r"|(?P<escaped>\\\$)"
    r"|(?P<display>\$\$.+?\$\$)"
    r"|(?P<inline>\$(?=\S)(?:[^$\n\\]|\\.)+?(?<=[^\s\\])\$(?!\d))"
    r"|(?P<dollar>\$)",
    re.DOTALL | re.MULTILINE,
)
_PLACEHOLDER = "KATEXMATH{}X"
# A dollar that is not math, alone in its element so that KaTeX never pairs it with another one.
_LITERAL_DOLLAR = "<span>$</span>"
_PLACEHOLDER_RE = re.compile(r"KATEXMATH(\d+)X")


def _protect_math(text: str) -> tuple[str, list[str]]:
    spans: list[str] = []

    def replace(match: re.Match) -> str:
        if match.lastgroup in ("display", "inline"):
            spans.append(match.group(0))
            return _PLACEHOLDER.format(len(spans) - 1)
        if match.lastgroup in ("escaped", "dollar"):
            spans.append(_LITERAL_DOLLAR)
            return _PLACEHOLDER.format(len(spans) - 1)
        return match.group(0)

    return _TOKENS.sub(replace, text), spans


def _restore_math(rendered: str, spans: list[str]) -> str:
    def replace(match: re.Match) -> str:
        index = int(match.group(1))
        if index >= len(spans):
            return match.group(0)
        return (
            spans[index]
            if spans[index] == _LITERAL_DOLLAR
            else html.escape(spans[index])
        )

    return _PLACEHOLDER_RE.sub(replace, rendered)


def render_markdown(text: str | None) -> SafeString:
    """Markdown (tables, fenced code) with LaTeX spans kept for KaTeX, sanitised."""
    if not text:
        return mark_safe("")
    protected, spans = _protect_math(text)
    rendered = markdown_lib.markdown(
        protected,
        extensions=["tables", "fenced_code", "sane_lists"],
        extension_configs={"tables": {"use_align_attribute": True}},
        output_format="html",
    )
    cleaned = nh3.clean(
        rendered,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )
    return mark_safe(
        _restore_math(cleaned, spans)
    )  # sanitised above; math spans escaped
