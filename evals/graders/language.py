"""Language match: the reply is in the language the student works in.

Detection counts stopwords of English, Spanish, French, German, Portuguese and Italian (plus a
few accent letters as tie-breakers). The expected language is ``inp.language``; without one it
is the language detected in the student's last turn; without either the grader is not
applicable. Replies with too little evidence (fewer than 3 stopword hits) are not graded.
"""

from __future__ import annotations

import re

from .base import Grade, GradeInput, not_applicable, word_set

NAME = "language"
VERSION = "1.0"
MIN_HITS = 3


STOPWORDS: dict[str, frozenset[str]] = {
    "en": word_set(
        "the a an and or but is are was were be been it this that these those you your we our "
        "they to of in on at for with what how why can could would should do does did not let's "
        "let try think have has so if then there here which who about from by my me i"
    ),
    "es": word_set(
        "el la los las un una unos unas y o pero es son era fue ser esto esta este eso ese tu "
        "tus nosotros ellos de del en con por para qué cómo por qué puedes podrías no sí vamos "
        "intenta piensa tiene tienes entonces si hay aquí que quien sobre mi me yo muy bien"
    ),
    "fr": word_set(
        "le la les un une des et ou mais est sont était être ce cette ces tu ton ta tes vous "
        "votre nous ils de du dans avec pour par que quoi comment pourquoi peux pouvez ne pas "
        "oui allons essaie pense as avez alors si il y a ici qui sur mon ma moi je très bien "
        "c'est"
    ),
    "de": word_set(
        "der die das ein eine einen und oder aber ist sind war waren sein dies diese dieser du "
        "dein deine wir unser sie zu von im in mit für was wie warum kannst können nicht ja "
        "lass uns versuche denk hast hat also wenn dann gibt es hier wer über mein mich ich "
        "sehr gut auch"
    ),
    "pt": word_set(
        "o a os as um uma uns umas e ou mas é são era foi ser isto esta este isso esse você seu "
        "sua nós eles de do da dos das em no na com por para que como porque pode podes não sim "
        "vamos tente pense tem então se há aqui quem sobre meu minha eu muito bem"
    ),
    "it": word_set(
        "il lo la i gli le un una e o ma è sono era essere questo questa quello tu tuo tua noi "
        "loro di del della in con per che cosa come perché puoi potresti non sì proviamo prova "
        "pensa hai allora se c'è qui chi su mio mia io molto bene"
    ),
}
_HINTS: dict[str, re.Pattern[str]] = {
    "es": re.compile(r"[ñ¿¡]|ción\b"),
    "fr": re.compile(r"[èêëçœ]|\bc'est\b|\bn'est\b|\bqu'"),
    "de": re.compile(r"[äöüß]"),
    "pt": re.compile(r"[ãõ]|ção\b|ções\b"),
    "it": re.compile(r"\bè\b|zione\b"),
}
_TOKEN = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?", re.UNICODE)


def scores(text: str) -> dict[str, float]:
    tokens = [
        t.lower().replace("’", "'") for t in _TOKEN.findall(text.replace("’", "'"))
    ]
    out: dict[str, float] = {}
    for code, stop in STOPWORDS.items():
        hits = sum(1 for t in tokens if t in stop)
        hint = len(_HINTS[code].findall(text.lower())) if code in _HINTS else 0
        out[code] = hits + 0.5 * hint
    return out


def detect(text: str) -> tuple[str | None, float]:
    """(language code, confidence 0..1), or (None, 0) when the evidence is too thin."""
    s = scores(text)
    ranked = sorted(s.items(), key=lambda kv: kv[1], reverse=True)
    best, top = ranked[0]
    second = ranked[1][1]
    if top < MIN_HITS:
        return None, 0.0
    return best, round((top - second) / top, 4)


def grade(inp: GradeInput) -> Grade:
    expected = (inp.language or "").lower()[:2] or None
    source = "expected"
    if expected is None:
        expected, _ = detect(inp.last_student_text())
        source = "student's language"
    if expected is None:
        return not_applicable(
            NAME, VERSION, "no expected language and none detectable from the student"
        )
    found, confidence = detect(inp.response)
    if found is None:
        return not_applicable(NAME, VERSION, "reply too short to detect its language")
    passed = found == expected
    detail = (
        f"reply looks {found} (confidence {confidence:.2f}); {source} is {expected}"
    )
    return Grade(NAME, VERSION, passed, 1.0 if passed else 0.0, found, detail)
