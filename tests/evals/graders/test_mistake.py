from evals.graders.mistake import (
    grade_identification,
    grade_location,
    identification_label,
    off_topic,
    relevance,
)

from .helpers import reply

MULTIPLY = ("T: What is 3 multiplied by 4?", "S: 20")


def test_it_identifies_an_explicit_error_signal():
    for text in (
        "Not quite, let's look again.",
        "Are you sure? Check the last step.",
        "I think there's a small mistake in your subtraction.",
        "Let's double-check that multiplication together.",
    ):
        assert identification_label(text)[0] == "Yes", text


def test_it_says_no_when_the_reply_only_praises():
    g = grade_identification(
        reply("Great job! You got it.", *MULTIPLY, student_was_wrong=True)
    )
    assert (g.passed, g.label, g.score) == (False, "No", 0.0)


def test_it_does_not_count_praise_for_a_self_correction_as_an_error_signal():
    assert (
        identification_label("Great job catching your mistake, that's right now!")[0]
        == "No"
    )


def test_it_treats_a_redirecting_question_as_identification():
    assert identification_label("How many toys will be half price?")[0] == "Yes"


def test_it_treats_a_bare_good_try_as_partial():
    assert identification_label("That was a good try.")[0] == "To some extent"


def test_it_says_no_for_an_unrelated_generic_reply():
    history = "Tutor: What is 3 multiplied by 4? Student: 20"
    text = "To solve a quadratic equation, you can use the quadratic formula."
    assert off_topic(text, history)
    assert identification_label(text, history)[0] == "No"


def test_it_measures_relevance_to_the_dialogue():
    history = "How many pencils does Jam have in her three boxes?"
    assert relevance("Count the pencils in the boxes again.", history) > 0.5
    assert relevance("Photosynthesis converts sunlight into glucose.", history) == 0.0


def test_it_locates_the_error_with_operation_and_the_students_number():
    g = grade_location(
        reply(
            "Check your multiplication: 3 times 4 is not 20.",
            *MULTIPLY,
            student_was_wrong=True,
        )
    )
    assert (g.passed, g.label) == (True, "Yes")


def test_it_partly_locates_with_only_the_operation():
    g = grade_location(
        reply(
            "Not quite, try the multiplication again.",
            "T: What is 3 multiplied by 4?",
            "S: seven",
            student_was_wrong=True,
        )
    )
    assert g.label == "To some extent"


def test_it_does_not_locate_without_an_error_signal():
    g = grade_location(
        reply("Great job, 20 is the product!", *MULTIPLY, student_was_wrong=True)
    )
    assert g.label == "No"


def test_both_are_not_applicable_when_the_student_was_right():
    inp = reply("Great job!", *MULTIPLY, student_was_wrong=False)
    assert grade_identification(inp).passed is None
    assert grade_location(inp).label == "n/a"
