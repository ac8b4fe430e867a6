"""Cheap, deterministic reading of a student's chat message: what are they asking for?"""

import re

ASKS_ANSWER = re.compile(
    r"\b(what('?s| is) the (final )?answer|tell me (the )?answer|give me (the )?answer|just (tell|give) me"
    r"|show me the answer|solve it for me|do it for me|can you solve|answer please|what does x equal"
    r"|cu[aá]l es la respuesta|dime la respuesta|quelle est la r[ée]ponse|donne(-| )moi la r[ée]ponse)\b",
    re.IGNORECASE,
)
INJECTION = re.compile(
    r"\b(ignore (all |any )?(your|previous|the|prior|above) (instructions|rules|prompt)|forget (your|the) rules"
    r"|you are now|pretend (you|to be)|role ?-?play|act as|developer mode|system prompt|jailbreak|dan mode"
    r"|my teacher (says|said|allows|lets|told)|teacher (said|says) (it'?s|you can)|i'?m (the|a) teacher"
    r"|admin override|new instructions)\b",
    re.IGNORECASE,
)
CONFUSED = re.compile(
    r"\b(i )?(don'?t|do not|dont) (get|understand|know)|confus|i'?m lost|no idea|\bstuck\b|\bhelp\b|how do i"
    r"|what do i do|where do i start|no entiendo|je ne comprends pas|je comprends pas",
    re.IGNORECASE,
)
GREETING = re.compile(r"^\s*(hi|hello|hey|good (morning|afternoon)|hola|bonjour|salut)\b", re.IGNORECASE)
THANKS = re.compile(r"\b(thanks|thank you|thx|ty|gracias|merci)\b", re.IGNORECASE)
MATH_WORDS = re.compile(
    r"\d|[=+\-*/×÷^%]|\b(fraction|numerator|denominator|number|add|plus|minus|subtract|multiply|times|divide"
    r"|equation|solve|percent|ratio|rate|proportion|integer|negative|positive|expression|term|variable|simplify"
    r"|distribute|step|answer|hint|problem|x|y)\b",
    re.IGNORECASE,
)

_STOPWORDS = {
    "es": {"el", "la", "los", "las", "que", "es", "no", "por", "para", "una", "un", "cómo", "como", "qué", "entiendo", "ayuda", "respuesta", "y"},
    "fr": {"le", "la", "les", "je", "ne", "pas", "est", "que", "une", "un", "comment", "pourquoi", "comprends", "aide", "réponse", "et"},
}  # fmt: skip


def classify(text: str) -> str:
    """One of: injection, asks_answer, confused, greeting, thanks, math, off_topic."""
    if INJECTION.search(text):
        return "injection"
    if ASKS_ANSWER.search(text):
        return "asks_answer"
    if CONFUSED.search(text):
        return "confused"
    if THANKS.search(text) and len(text) < 60:
        return "thanks"
    if GREETING.search(text) and len(text) < 40:
        return "greeting"
    if MATH_WORDS.search(text):
        return "math"
    return "off_topic"


def detect_language(text: str) -> str:
    words = set(re.findall(r"[a-zà-ÿ]+", text.lower()))
    scores = {lang: len(words & stop) for lang, stop in _STOPWORDS.items()}
    best = max(scores, key=lambda lang: scores[lang])
    return best if scores[best] >= 2 else "en"
