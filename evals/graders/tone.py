"""Tone: encouraging and never offensive.

Fails on insults, shaming, exasperation and sarcasm ("that's stupid", "wrong again", "even a
child knows", "seriously?", "obviously", "how many times do I have to"). Otherwise the label is
``encouraging`` when the reply praises effort or progress or reassures ("good try", "you're on
the right track", "don't worry"), else ``neutral``. Score: offensive 0, neutral 0.7,
encouraging 1.
"""

from __future__ import annotations

from .base import Grade, GradeInput, compile_phrases, normalise

NAME = "tone"
VERSION = "1.0"

_OFFENSIVE = compile_phrases(
    [
        r"stupid",
        r"dumb",
        r"idiot\w*",
        r"moron\w*",
        r"lazy",
        r"useless",
        r"hopeless",
        r"pathetic",
        r"ridiculous",
        r"silly\s+(?:mistake|answer|question)",
        r"careless",
        r"terrible",
        r"awful",
        r"shut\s+up",
        r"loser",
        r"wrong\s+again",
        r"(?:this|that)\s+is\s+(?:so\s+)?(?:easy|simple|basic)",
        r"(?:it's|its)\s+(?:so\s+)?(?:easy|simple|basic|obvious)",
        r"even\s+a\s+(?:child|kid|baby|(?:\w+[-\s])?grader)",
        r"you\s+should\s+(?:already\s+)?know\s+(?:this|that|better)",
        r"how\s+(?:many|often)\s+times\s+(?:do|must|have)\s+i",
        r"as\s+i\s+(?:already|just)\s+(?:said|told\s+you|explained)",
        r"i\s+already\s+told\s+you",
        r"(?:are|were)\s+you\s+(?:even\s+)?(?:listening|paying\s+attention)",
        r"seriously\s*\?",
        r"come\s+on",
        r"duh",
        r"obviously",
        r"clearly\s+you",
        r"what\s+were\s+you\s+thinking",
        r"yeah,?\s+right",
        r"nice\s+(?:one|job|work),?\s+genius",
        r"genius",
        r"sigh",
        r"ugh",
        r"give\s+up",
        r"not\s+(?:that|very)\s+smart",
        r"don't\s+you\s+(?:know|get\s+it)",
        r"(?:embarrassing|shameful|disappointing)",
        r"i'm\s+disappointed",
        r"you\s+(?:never|always)\s+(?:get|make)",
        r"no\s+wonder",
        r"bad\s+at\s+math",
        r"wow,?\s+(?:really|just\s+wow)",
    ]
)
_ENCOURAGING = compile_phrases(
    [
        r"(?:great|good|nice|excellent|fantastic|wonderful|awesome|solid|brave|super|amazing)\s+"
        r"(?:job|work|try|effort|attempt|start|thinking|thought|question|guess|idea|progress|catch|point|reasoning|observation)",
        r"(?:great|good|nice|excellent|fantastic|wonderful|awesome|well\s+done|bravo|brilliant|perfect|amazing)\s*!",
        r"well\s+done",
        r"excellent",
        r"(?:you're|you\s+are)\s+doing\s+(?:great|well|really\s+well|so\s+well|a\s+great\s+job)",
        r"(?:don't|do\s+not)\s+worry",
        r"keep\s+(?:it\s+up|going|practicing|trying|up\s+the\s+good\s+work)",
        r"you\s+can\s+do\s+(?:it|this)",
        r"(?:i'm|i\s+am)\s+proud",
        r"(?:great|good)\s+to\s+see",
        r"you've\s+got\s+this",
        r"plus\s+\d+\s+points?",
        r"\+\s*\d+\s+points?",
        r"\d+\s+points?\s+for",
        r"one\s+point\s+for",
        r"impressive",
        r"(?:i\s+)?(?:love|like)\s+(?:how|that)\s+you",
        r"(?:great|good|nice)\s+(?:that|how)\s+you",
    ]
)
_WARM = compile_phrases(
    [
        r"(?:you're|you\s+are)\s+(?:so\s+|very\s+|really\s+)?(?:close|almost\s+there|getting\s+(?:there|closer)|on\s+the\s+right\s+track)",
        r"almost\s+there",
        r"so\s+close",
        r"i\s+appreciate",
        r"no\s+worries",
        r"good|great|nice",
    ]
)


def tone_label(response: str) -> tuple[str, str]:
    text = normalise(response)
    offensive = _OFFENSIVE.search(text)
    if offensive:
        return "offensive", f'offensive or shaming: "{offensive.group()}"'
    encouraging = _ENCOURAGING.search(text)
    if encouraging:
        return "encouraging", f'encourages: "{encouraging.group()}"'
    warm = _WARM.search(text)
    if warm and "!" in text:
        return "encouraging", f'warm and exclaimed: "{warm.group()}"'
    return "neutral", "no praise or reassurance, nothing offensive"


def grade(inp: GradeInput) -> Grade:
    label, detail = tone_label(inp.response)
    score = {"offensive": 0.0, "neutral": 0.7, "encouraging": 1.0}[label]
    return Grade(NAME, VERSION, label != "offensive", score, label, detail)
