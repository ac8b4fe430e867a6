from evals.graders.telling import analyse, classify, grade

from .helpers import reply


def test_it_counts_a_question_as_asking():
    assert classify("What do you get when you multiply 9 and 8?") == "asks"


def test_it_counts_a_directive_as_asking():
    assert classify("Try adding the tens first.") == "asks"
    assert classify("Let's check the subtraction again.") == "asks"
    assert classify("You need to divide 60 by 45, not 45 by 60.") == "asks"


def test_it_counts_worked_results_as_telling_even_after_lets():
    assert classify("Let's add them: 5+1=6, 6+3=9, so the total is 39.") == "tells"
    assert classify("The 5 is in the hundreds place.") == "tells"


def test_it_treats_praise_and_bare_verdicts_as_other():
    assert classify("Great try!") == "other"
    assert classify("That's not quite right.") == "other"


def test_it_treats_moving_on_as_other():
    assert classify("Let's move on to the next problem.") == "other"


def test_it_labels_an_asking_reply():
    g = grade(reply("Good try! Can you show me how you got 13?"))
    assert (g.passed, g.label, g.score) == (True, "asks", 1.0)


def test_it_labels_a_telling_reply_and_fails_it():
    g = grade(reply("25 minus 18 is 7, so the answer is 7."))
    assert (g.passed, g.label, g.score) == (False, "tells", 0.0)
    assert "tells" in g.detail


def test_it_labels_a_mixed_reply():
    g = grade(reply("Remember that 3 times 4 is 12. What is 3 times 5?"))
    assert g.label == "mixed"
    assert g.score == 0.5
    assert g.passed is True


def test_it_respects_a_stricter_tell_ratio():
    g = grade(
        reply(
            "Remember that 3 times 4 is 12. What is 3 times 5?",
            params={"max_tell_ratio": 0.2},
        )
    )
    assert g.passed is False


def test_it_labels_praise_only_as_none():
    g = grade(reply("Great job!"))
    assert (g.passed, g.label) == (False, "none")


def test_it_buckets_each_sentence():
    buckets = analyse("Nice work. 6 times 9 is 54. Now add 2: what do you get?")
    assert buckets == {
        "asks": ["Now add 2: what do you get?"],
        "tells": ["6 times 9 is 54."],
        "other": ["Nice work."],
    }
