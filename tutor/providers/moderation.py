"""Moderation of what students write and what the tutor replies.

`moderate()` asks OpenAI's moderation endpoint when the config points at OpenAI (an api_key
or a base_url), and otherwise, or when that call fails, the offline classifier below.
OpenAI has no personal-data category, so the offline personal_data check always runs too.

The offline classifier is a set of phrase patterns tuned to children's maths chat: it looks
for harm aimed at a person ("I'll kill you", "kill myself"), not the violent verbs of
ordinary maths talk ("cut the cake", "kill the x term", "this problem is killing me",
"I hate fractions", "the line cuts the x-axis"). It flags for a teacher to look at; it
is not a verdict.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, cast

from .base import ProviderConfig, ProviderError, get_backend
from .retry import RetryPolicy, with_retries

if TYPE_CHECKING:
    from .openai_backend import OpenAIBackend

log = logging.getLogger(__name__)

CATEGORIES = ("self_harm", "violence", "sexual", "harassment", "personal_data")
MODERATION_MODEL = "omni-moderation-latest"


@dataclass(frozen=True)
class ModerationResult:
    flagged: bool
    categories: tuple[
        str, ...
    ]  # from CATEGORIES (plus "illicit" from OpenAI), in that order
    source: Literal["openai", "offline"]


# Who can be the target of a threat (not "me": "this homework will kill me" is a figure of speech),
# and who can be the target of an assault report ("he punched me" is worth a teacher's look).
_OTHERS = r"(?:you|u(?![-=])|him|her|them|everyone|everybody|someone|somebody|people|y'?all|my\s+(?:teacher|mum|mom|dad|brother|sister|friend|classmates?)|the\s+teacher)"
_ANYONE = rf"(?:{_OTHERS}|me)"
_SELF = r"(?:myself|my\s*self)"
_YOU = r"(?:you|u(?![-=]))"
# "your so dumb" is a common spelling of "you're so dumb"; a bare "your fat cat" is not an insult.
_YOU_ARE = (
    r"(?:(?:you|u|ur)(?:'re|re|\s+are|\s+r)?|your(?=\s+(?:so|such|really|very)\b))"
)
_INSULT = r"(?:stupid|dumb|idiot|idiotic|moron|loser|ugly|fat|useless|worthless|pathetic|retard(?:ed)?|freak|disgusting|trash|weirdo)"
_STREET_WORDS = r"(?:street|st|road|rd|avenue|ave|lane|ln|drive|dr|close|way|court|ct|crescent|terrace|place|pl|grove|gardens)"

_PATTERNS: dict[str, tuple[str, ...]] = {
    "self_harm": (
        rf"\b(?:kill|killing|hurt|hurting|harm|harming|hang|hanging|starve|starving|stab|stabbing)\s+{_SELF}\b",
        # "cut myself" but not "cut myself a slice"
        rf"\bcut(?:ting)?\s+{_SELF}\b(?!\s+(?:a|an|some|another|off|out|in|on)\b)",
        r"\b(?:suicide|suicidal)\b",
        r"\bself[\s-]?harm(?:ing)?\b",
        # "kms" (kill myself), but not kilometres: "5 kms", "kms per hour"
        r"(?<!\d)(?<!\d\s)\bkms\b(?!\s*(?:per|/|an?\s+hour|each|every))",
        r"\bi\s+(?:really\s+|just\s+|kinda\s+|honestly\s+)?(?:want|wanna)\s+(?:to\s+)?die\b",
        r"\b(?:end|take)\s+my\s+(?:own\s+)?life\b",
        r"\bend\s+it\s+all\b",
        r"\b(?:don'?t|do\s+not)\s+want\s+to\s+(?:live|be\s+alive|exist)\b",
        r"\bwish\s+i\s+(?:was|were)\s+(?:dead|never\s+born)\b",
        r"\bbetter\s+off\s+(?:dead|without\s+me)\b",
        r"\bno\s+reason\s+to\s+live\b",
    ),
    "violence": (
        rf"\b(?:kill|kills|killed|murder|murdered|stab|stabbed|shoot|shot|strangle|strangled)\s+{_OTHERS}\b",
        rf"\b(?:punch|punched|kick|kicked|slap|slapped|choke|choked)\s+{_ANYONE}\b",
        r"\b(?:hit|hits)\s+(?:me|you|him|her)\b(?!\s+up\b)",
        rf"\b(?:i'?ll|i\s+will|i'?m\s+(?:going\s+to|gonna)|im\s+gonna)\s+(?:\w+\s+)?hurt\s+{_OTHERS}\b",
        rf"\b(?:beat|beats|beating)\s+{_ANYONE}\s+up\b",
        r"\b(?:bring|bringing|brought|got|have|has)\s+a\s+(?:gun|knife|weapon|bomb)\s+(?:to|into|at)\s+school\b",
        r"\b(?:shoot|shooting|bomb|bombing|blow\s+up)\s+(?:up\s+)?(?:the\s+|my\s+|our\s+)?school\b",
        r"\bschool\s+shoot(?:ing|er)\b",
    ),
    "sexual": (
        r"\b(?:sex|sexy|sexual|sexting|sext|porn|porno|pornography|nudes?|horny|boobs?|penis|vagina|dick|blowjob|masturbat\w*|orgasm|rape|raped|molest\w*)\b",
        # "naked", but not "the naked eye"
        r"\bnaked\b(?!\s+eye)",
        r"\bsend\s+(?:me\s+)?(?:a\s+)?(?:pic|pics|picture|pictures|photo|photos)\s+of\s+(?:you|yourself|your\s+body)\b",
        r"\b(?:take|taking)\s+(?:off\s+)?(?:your|ur)\s+(?:clothes|shirt|pants|top)\b",
    ),
    "harassment": (
        rf"\b{_YOU_ARE}\s+(?:(?:such|so|really|very|a|an|the|big|fat)\s+)*{_INSULT}\b",
        rf"\b{_YOU}\s+(?:(?:stupid|dumb|fat|ugly|little)\s+)?(?:idiot|moron|loser|retard|freak|cow|pig|weirdo)\b",
        rf"\b(?:nobody|no\s+one|noone)\s+(?:likes|loves|wants)\s+{_YOU}\b",
        rf"\b(?:everyone|everybody)\s+hates\s+{_YOU}\b",
        rf"\bi\s+hate\s+(?:{_YOU}|him|her|them)\b",
        r"\bkys\b",
        r"\b(?:go\s+)?kill\s+(?:your\s*self|urself|ur\s+self)\b",
        rf"\b(?:go\s+die|{_YOU}\s+should\s+die)\b",
        rf"\bshut\s+up\s+{_YOU}\b",
    ),
    "personal_data": (
        # e-mail addresses
        r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[a-z]{2,}\b",
        # phone numbers in a phone-like shape: +44 7700 900123, (555) 123-4567, 555-123-4567, 07700 900123
        r"(?<![\w.])\+\d{1,3}[\s.-]?(?:\(\d{1,4}\)[\s.-]?)?\d{2,4}(?:[\s.-]?\d{2,4}){2,3}(?![\w.])",
        r"(?<![\w.])\(\d{3}\)\s?\d{3}[\s.-]?\d{4}(?![\w.])",
        r"(?<![\w.])\d{3}-\d{3}-\d{4}(?![\w.])",
        r"(?<![\w.])\d{3}\.\d{3}\.\d{4}(?![\w.])",
        r"(?<![\w.])0\d{4}\s?\d{6}(?![\w.])",
        # an 8+ digit number offered as a phone number
        r"\b(?:(?:phone|mobile|cell|whatsapp)(?:\s+(?:number|no\.?|num|#))?|(?:call|text)\s+me(?:\s+(?:on|at))?|my\s+(?:number|num))\s*(?:is|:|=|-)?\s*\+?\d(?:[\s.()-]?\d){7,}",
        # street addresses: "I live at 12 Elm Road", "we live on oak street", "my address is"
        r"\b(?:i|we)\s+live\s+(?:at|on)\s+\d+\w?\s+\w+",
        rf"\b(?:i|we)\s+live\s+(?:at|on)\s+(?:\w+\s+){{1,3}}{_STREET_WORDS}\b",
        r"\bmy\s+(?:home\s+|house\s+)?address\s+is\b",
        r"\bmy\s+house\s+is\s+(?:at|on)\s+\d",
        # passwords and PINs
        r"\bmy\s+(?:password|passcode|pin(?:\s+(?:number|code))?|login|username)\s+(?:is|=|:)",
        r"\b(?:password|passcode)\s*[:=]\s*\S+",
    ),
}
# Capitalised street names need case-sensitive matching: "12 Oak Street", not "2 ducks cross the road".
_STREET = re.compile(
    r"\b\d{1,5}[A-Za-z]?\s+(?:[A-Z][a-z']+\s+){1,3}(?:Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Dr|Boulevard|Blvd|Court|Ct|Close|Crescent|Terrace|Way|Place|Pl|Grove|Gardens)\b"
)
_COMPILED = {
    category: re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)
    for category, patterns in _PATTERNS.items()
}
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"'})


def classify_offline(text: str) -> ModerationResult:
    """Flag self_harm, violence, sexual, harassment and personal_data with phrase patterns."""
    normalised = re.sub(r"\s+", " ", text.translate(_QUOTES))
    found = [c for c in CATEGORIES if _COMPILED[c].search(normalised)]
    if "personal_data" not in found and _STREET.search(normalised):
        found.append("personal_data")
    return ModerationResult(
        flagged=bool(found), categories=tuple(found), source="offline"
    )


# OpenAI category -> ours
_OPENAI_CATEGORIES = {
    "self-harm": "self_harm",
    "self-harm/intent": "self_harm",
    "self-harm/instructions": "self_harm",
    "violence": "violence",
    "violence/graphic": "violence",
    "sexual": "sexual",
    "sexual/minors": "sexual",
    "harassment": "harassment",
    "harassment/threatening": "harassment",
    "hate": "harassment",
    "hate/threatening": "harassment",
    "illicit": "illicit",
    "illicit/violent": "illicit",
}


def uses_openai_moderation(config: ProviderConfig | None) -> bool:
    return (
        config is not None
        and config.backend == "openai"
        and bool(config.api_key or config.base_url)
    )


async def moderate(
    text: str,
    *,
    config: ProviderConfig | None = None,
    model: str = MODERATION_MODEL,
    retry_policy: RetryPolicy | None = None,
) -> ModerationResult:
    """Moderate one text: OpenAI when `config` points at it, the offline classifier otherwise or on failure."""
    offline = classify_offline(text)
    if config is None or not uses_openai_moderation(config) or not text.strip():
        return offline

    backend = cast("OpenAIBackend", get_backend("openai"))

    async def call() -> tuple[bool, dict[str, bool]]:
        return await backend.moderate(text, config, model=model)

    try:
        flagged, by_name = await with_retries(
            call, max_retries=config.max_retries, policy=retry_policy
        )
    except ProviderError as error:
        log.warning(
            "OpenAI moderation failed (%s), using the offline classifier: %s",
            error.kind,
            error,
        )
        return offline
    ours = {
        _OPENAI_CATEGORIES.get(name, re.sub(r"\W+", "_", name))
        for name, hit in by_name.items()
        if hit
    }
    if "personal_data" in offline.categories:
        ours.add("personal_data")
    ordered = tuple(c for c in CATEGORIES if c in ours) + tuple(
        sorted(ours - set(CATEGORIES))
    )
    return ModerationResult(
        flagged=flagged or bool(ordered), categories=ordered, source="openai"
    )
