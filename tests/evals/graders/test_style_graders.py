"""Tone, concision, readability and naturalness."""

from evals.graders import concision, naturalness, readability, tone

from .helpers import reply


def test_it_fails_an_insulting_reply():
    for text in (
        "That's stupid, 3 x 4 is 12.",
        "Wrong again. Seriously?",
        "Even a child knows this.",
        "Obviously you weren't listening.",
    ):
        g = tone.grade(reply(text))
        assert (g.passed, g.label, g.score) == (False, "offensive", 0.0), text


def test_it_recognises_encouragement():
    g = tone.grade(reply("Great effort! Let's look at the tens again."))
    assert (g.passed, g.label, g.score) == (True, "encouraging", 1.0)


def test_it_calls_a_plain_reply_neutral():
    g = tone.grade(reply("Check the tens column."))
    assert (g.passed, g.label, g.score) == (True, "neutral", 0.7)


def test_it_needs_an_exclamation_for_mild_warmth():
    assert tone.grade(reply("You're close! Check the tens.")).label == "encouraging"
    assert tone.grade(reply("You're close, check the tens.")).label == "neutral"


def test_it_passes_a_short_reply_with_one_question():
    g = concision.grade(reply("Good try. What is 3 x 4?", grade_band="6-8"))
    assert (g.passed, g.label, g.score) == (True, "concise", 1.0)
    assert g.detail == "7 words (max 60), 1 questions (max 1)"


def test_it_fails_two_questions_for_young_students():
    g = concision.grade(reply("What is 3 x 4? And what is 3 x 5?", grade_band="3-5"))
    assert (g.passed, g.label, g.score) == (False, "too_many_questions", 0.75)


def test_it_fails_a_long_reply_and_scores_by_overshoot():
    g = concision.grade(reply("word " * 90, grade_band="6-8"))
    assert (g.passed, g.label, g.score) == (False, "too_long", 0.5)


def test_it_allows_more_for_older_students_and_params():
    assert concision.grade(reply("word " * 80, grade_band="9-12")).passed is True
    assert (
        concision.grade(reply("word " * 20, params={"max_words": 10})).passed is False
    )
    assert concision.band_limits("7-9") == concision.LIMITS["9-12"]
    assert concision.band_limits(None) == concision.LIMITS["6-8"]


def test_it_counts_syllables_roughly():
    assert [
        readability.syllables(w)
        for w in ("cat", "table", "multiplication", "the", "added")
    ] == [1, 2, 5, 1, 2]


def test_it_passes_simple_text_for_a_young_band():
    g = readability.grade(
        reply(
            "Try the first step again. Add the two small numbers. What do you get?",
            grade_band="3-5",
        )
    )
    assert (g.passed, g.label) == (True, "readable")


def test_it_fails_dense_text_for_a_young_band():
    text = (
        "Consideration of the multiplicative relationship between the quantities necessitates "
        "reformulating the proportional representation systematically and comprehensively."
    )
    g = readability.grade(reply(text, grade_band="3-5"))
    assert (g.passed, g.label) == (False, "too_hard")
    assert g.detail.startswith("FK grade ")


def test_it_skips_short_or_non_english_replies():
    assert readability.grade(reply("Try again!")).passed is None
    assert readability.applies(reply("Inténtalo otra vez", language="es")) is False


def test_it_flags_role_prefixes_and_leaked_prompts():
    for text in (
        "Tutor: Let's try again.",
        "As an AI language model, I think you should check.",
        "Tutor response (maximum one sentence): check the tens.",
        "My instructions say not to give the answer.",
        "## Step 1\nAdd the tens.",
        "Great job, [Student's name]!",
    ):
        g = naturalness.grade(reply(text))
        assert (g.passed, g.label) == (False, "unnatural"), text


def test_it_passes_a_normal_chat_reply():
    g = naturalness.grade(reply("Nice try! What do you get if you add the tens first?"))
    assert (g.passed, g.label, g.score) == (True, "natural", 1.0)
