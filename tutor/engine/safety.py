"""Replies that never go to a model: care for a student in distress, a redirect for unsafe input.

`screen` is the one input rule, used by live turns and by evals alike: moderation categories (from
OpenAI's endpoint or the offline classifier) plus the distress signals a maths chat must not miss
(a student hurt at home or at school, hungry, hopeless, overwhelmed). Distress wins over every
other category: "my dad hits me" is a child asking for help, not a violent message.
"""

import re
from dataclasses import dataclass

DISTRESS_REPLY = (
    "I'm really sorry you're feeling this way. You matter, and you don't have to handle this alone. "
    "Please talk to a trusted adult right now: a parent, your teacher or the school counsellor. "
    "If you might be in danger, call your local emergency number. In the US you can call or text 988, "
    "in the UK call Childline on 0800 1111 or text SHOUT to 85258. "
    "I've let your teacher know so someone can check in with you. Maths can wait."
)
CARE_REPLY = (
    "I'm really glad you told me, and I'm sorry you're dealing with that. It's not your fault, and you "
    "deserve to be safe and cared for. Please tell a trusted adult today: your teacher, the school "
    "counsellor or another adult you trust. If you're in danger right now, call your local emergency "
    "number; in the US you can call or text 988, in the UK call Childline on 0800 1111. I've let your "
    "teacher know so someone can check in with you. We can come back to the maths whenever you're ready."
)
UNSAFE_INPUT_REPLY = (
    "Let's keep our chat kind and safe. I'm here to help with maths: shall we get back to the problem?"
)
PERSONAL_DATA_REPLY = (
    "Please don't share personal details like phone numbers, addresses, emails or passwords here, "
    "even with me. Let's get back to the problem: what's your next step?"
)

_ADULT = r"(?:dad|father|mum|mom|mother|step ?(?:dad|mum|mom)|parents?|uncle|aunt|brother|sister|grand(?:pa|ma|dad|mum|mother|father))"
_DISTRESS = re.compile(
    "|".join(
        [
            rf"\bmy {_ADULT} (?:hits|hit|beats|beat|hurts|hurt|kicks|punches|slaps|touches) me\b",
            r"\b(?:kids|they|someone|people|everyone|he|she)\b[^.!?]{0,30}\b(?:keep|keeps)? ?(?:hitting|beating|hurting|kicking|pushing) me\b",
            r"\b(?:being|get|getting|am|i'?m) bullied\b|\bbully(?:ing)? me\b",
            r"\bscared to (?:go (?:home|back|to school)|be at home)\b|\bafraid to go home\b",
            r"\bno food at home\b|\bhaven'?t eaten (?:since|in|for)\b|\bnothing to eat\b|\bso hungry\b",
            r"\b(?:i feel|i'?m|i am) (?:so |really |very )?(?:hopeless|worthless|alone|depressed)\b",
            r"\bnobody (?:cares|likes me|loves me)\b|\beveryone hates me\b|\bno one cares\b",
            r"\bcan'?t stop crying\b|\bcan'?t take (?:it|this) anymore\b|\bcan'?t go on\b",
            r"\bbetter off without me\b|\bdon'?t want to (?:be alive|live|exist)\b|\bwant to die\b",
        ]
    ),
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Screening:
    categories: tuple[str, ...]  # moderation categories, plus "distress"
    reply: str | None  # a fixed reply that replaces the model's, or None

    @property
    def distress(self) -> bool:
        return "self_harm" in self.categories or "distress" in self.categories


def detect_distress(text: str) -> bool:
    return bool(_DISTRESS.search(text.replace("\u2019", "'")))


def screen(text: str, moderation_categories: tuple[str, ...] = ()) -> Screening:
    categories = tuple(moderation_categories)
    if detect_distress(text) and "distress" not in categories:
        categories += ("distress",)
    return Screening(categories, safety_reply(categories))


def safety_reply(categories: tuple[str, ...]) -> str | None:
    if "self_harm" in categories:
        return DISTRESS_REPLY
    if "distress" in categories:
        return CARE_REPLY
    if "personal_data" in categories:
        return PERSONAL_DATA_REPLY
    if categories:
        return UNSAFE_INPUT_REPLY
    return None
