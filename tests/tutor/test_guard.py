"""The answer-leak guard reads a window per check; it must decide exactly as a check of the whole
reply at every word would, wherever the chunks split the text."""

import random

import pytest

from curriculum.checking import AnswerKey, AnswerSpec, find_answer_in_text
from tutor.engine.guard import WINDOW_OVERLAP, LeakGuard

FILLER = (
    "Let's look at this together. What do you notice about the two numbers here? "
    "Think about what each part of the question is asking before you write anything down. "
)
KEYS = {
    "fraction": AnswerKey(AnswerSpec("fraction", "3/4", allow=("decimal", "percent"))),
    "integer": AnswerKey(AnswerSpec("integer", "120")),
    "twenty": AnswerKey(AnswerSpec("integer", "20")),
    "equation": AnswerKey(AnswerSpec("equation", "x = 5", variable="x")),
}
REPLIES = [
    FILLER * 2 + "So the total is 3/4 of the pizza.",
    FILLER * 3 + "That makes three quarters altogether.",
    FILLER + "You have one hundred and twenty stickers in all. " + FILLER,
    FILLER * 2 + "Half of 240 is one hundred and twenty.",
    FILLER * 2 + "Subtract 2 from both sides to get x = 5, then check it.",
    FILLER * 3 + "Try 1/2 + 1/4 again, and tell me what you get.",
    FILLER * 4,
    "3/4",
]


def whole_text_guard(key, known=()):
    """The reference: the whole text so far checked at every release."""

    class Reference(LeakGuard):
        def _mention(self, upto):
            return find_answer_in_text(self.key, self.text[:upto], self.known_values)

    return Reference(key=key, known_values=known)


def stream(guard: LeakGuard, text: str, rng: random.Random) -> str:
    shown, position = "", 0
    while position < len(text):
        step = rng.randint(1, 12)
        shown += guard.feed(text[position : position + step])
        position += step
    return shown + guard.finish()


@pytest.mark.parametrize("key_name", sorted(KEYS))
@pytest.mark.parametrize("reply", REPLIES)
def test_the_windowed_guard_decides_like_a_whole_text_check(key_name, reply):
    assert len(FILLER * 2) > WINDOW_OVERLAP  # the answers sit well past the first window
    key = KEYS[key_name]
    for seed in range(5):
        windowed, reference = LeakGuard(key=key), whole_text_guard(key)
        shown = stream(windowed, reply, random.Random(seed))
        expected = stream(reference, reply, random.Random(seed))
        assert (windowed.leaked, shown) == (reference.leaked, expected)


def test_a_leak_far_into_a_long_reply_is_caught_and_never_shown():
    guard = LeakGuard(key=KEYS["fraction"])
    text = FILLER * 6 + "The answer is 3/4."
    shown = stream(guard, text, random.Random(1))
    assert guard.leaked == "3/4"
    assert "3/4" not in shown and text.startswith(shown) and len(shown) > len(FILLER * 6)


def test_a_phrase_cut_by_the_window_is_not_mistaken_for_the_answer():
    # "twenty" alone is the key; "one hundred and twenty" is not. Make the window cut the phrase.
    text = FILLER * 2 + "There were one hundred and twenty " + "x" * (WINDOW_OVERLAP - 30) + " left over."
    guard = LeakGuard(key=KEYS["twenty"])
    shown = ""
    for word in text.split(" "):
        shown += guard.feed(word + " ")
    shown += guard.finish()
    assert guard.leaked is None
    assert shown.strip() == text.strip()
