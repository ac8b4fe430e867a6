"""The offline tutor: a deterministic, curriculum-driven Socratic tutor (the default backend).

It answers from the problem's hint ladder, misconception feedback and worked solution, so it needs
no model and no network. It streams word by word like a real model. Policies (release params
`policy`): "v1" (the default), "v2" (always ends on a question, points at the student's own
answer, warmer), and "leaky" (a deliberately careless variant that gives answers away, used to
show that the eval gate catches it). It never judges correctness: the verdict comes in the context.
"""

import asyncio
from collections.abc import AsyncIterator

from tutor.engine.context import TutorContext
from tutor.engine.intents import classify, detect_language
from tutor.providers import ProviderConfig, TutorRequest, register_backend
from tutor.providers.base import ProviderError, Usage

LABEL = "Offline tutor"

_FRAMES = {
    "en": {
        "no_answer": "I can't give you the answer, but I can help you find it!",
        "confused": "That's okay, let's take it one step at a time.",
        "not_quite": "Not quite, but good try.",
        "correct": "Yes, that's right! Well done.",
        "explain": "Can you explain how you worked it out?",
        "off_topic": "Let's keep our focus on the problem for now.",
        "greeting": "Hi! Let's work on this problem together.",
        "thanks": "You're welcome! Keep going, you're doing well.",
        "first_step": "What do you think the first step is?",
        "solved": "You've already solved this one, nice work! Try the next problem when you're ready.",
        "what_think": "What do you think?",
    },
    "es": {
        "no_answer": "No puedo darte la respuesta, ¡pero te ayudo a encontrarla!",
        "confused": "No pasa nada, vamos paso a paso.",
        "not_quite": "Casi, ¡buen intento!",
        "correct": "¡Sí, correcto! Muy bien.",
        "explain": "¿Puedes explicar cómo lo resolviste?",
        "off_topic": "Volvamos al problema por ahora.",
        "greeting": "¡Hola! Trabajemos juntos en este problema.",
        "thanks": "¡De nada! Sigue así.",
        "first_step": "¿Cuál crees que es el primer paso?",
        "solved": "¡Ya resolviste este problema! Prueba el siguiente cuando quieras.",
        "what_think": "¿Qué piensas?",
    },
    "fr": {
        "no_answer": "Je ne peux pas te donner la réponse, mais je peux t'aider à la trouver !",
        "confused": "Ce n'est pas grave, avançons étape par étape.",
        "not_quite": "Pas tout à fait, mais bel essai.",
        "correct": "Oui, c'est juste ! Bravo.",
        "explain": "Peux-tu expliquer comment tu as trouvé ?",
        "off_topic": "Revenons au problème pour l'instant.",
        "greeting": "Bonjour ! Travaillons ensemble sur ce problème.",
        "thanks": "De rien ! Continue comme ça.",
        "first_step": "Quelle est la première étape, d'après toi ?",
        "solved": "Tu as déjà résolu ce problème, bravo ! Passe au suivant quand tu veux.",
        "what_think": "Qu'en penses-tu ?",
    },
}
_HINT_PREFIX = {"hint": "Here's a hint:", "scaffold": "Let's break it down:", "bottom_out": "Last step:"}


def _hint_text(hint: dict | None, *, with_prefix: bool = True) -> str:
    if not hint:
        return ""
    text = hint["text"].strip()
    return f"{_HINT_PREFIX.get(hint.get('kind', 'hint'), 'Hint:')} {text}" if with_prefix else text


def compose_reply(context: TutorContext, policy: str = "v1") -> str:
    """The whole reply for one turn, deterministically."""
    language = detect_language(context.student_text) if context.student_text else context.language
    frame = _FRAMES.get(language, _FRAMES["en"])
    parts = _reply_parts(context, policy, frame)
    reply = " ".join(part for part in parts if part)
    if policy == "v2" and "?" not in reply and not context.solved:
        reply += " " + frame["what_think"]
    return reply


def _reply_parts(context: TutorContext, policy: str, frame: dict[str, str]) -> list[str]:
    verdict = context.verdict
    if context.turn_kind == "answer" and verdict is not None:
        if verdict.parse_error:
            return [verdict.parse_error, frame["first_step"] if policy != "v2" else ""]
        if verdict.correct:
            return [frame["correct"], frame["explain"]]
        if policy == "leaky":
            return [frame["not_quite"], f"The right answer is {context.final_answer}."]
        wrote = f"You wrote {verdict.normalized}." if policy == "v2" and verdict.normalized else ""
        if verdict.misconception_feedback:
            return [wrote, verdict.misconception_feedback, _hint_text(context.next_hint, with_prefix=False)]
        return [frame["not_quite"], wrote, _hint_text(context.next_hint)]
    if context.turn_kind == "hint_request":
        return [_hint_text(context.current_hint or context.next_hint)]
    if context.solved:
        return [frame["solved"]]
    intent = classify(context.student_text)
    if intent in ("asks_answer", "injection"):
        if policy == "leaky":
            return [f"Sure! The answer is {context.final_answer}."]
        return [frame["no_answer"], _hint_text(context.next_hint, with_prefix=False)]
    if intent == "confused":
        return [frame["confused"], _hint_text(context.current_hint or context.next_hint, with_prefix=False)]
    if intent == "greeting":
        return [frame["greeting"], frame["first_step"]]
    if intent == "thanks":
        return [frame["thanks"]]
    if intent == "off_topic":
        return [frame["off_topic"], frame["first_step"]]
    return ["Good thinking.", _hint_text(context.next_hint, with_prefix=False)]


class OfflineBackend:
    """Provider-layer backend named "offline": needs `request.context` to be a TutorContext."""

    async def stream(self, config: ProviderConfig, request: TutorRequest, usage: Usage) -> AsyncIterator[str]:
        context = request.context
        if not isinstance(context, TutorContext):
            raise ProviderError("client", "the offline tutor needs a tutoring context", retryable=False)
        reply = compose_reply(context, str(config.params.get("policy", "v1")))
        delay = float(config.params.get("chunk_delay_s", 0.0))
        words = reply.split(" ")
        usage.model = config.model
        usage.tokens_in = sum(len(m.content) for m in request.messages) // 4
        usage.tokens_out = len(words)
        usage.cost_usd = 0.0
        usage.finish_reason = "stop"
        for index, word in enumerate(words):
            if delay:
                await asyncio.sleep(delay)
            yield word if index == 0 else " " + word


register_backend("offline", OfflineBackend())
