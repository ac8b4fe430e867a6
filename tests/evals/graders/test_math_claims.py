from fractions import Fraction

import pytest

from evals.graders.math_claims import (
    claims,
    evaluate,
    grade,
    question_answer,
    variable_claims,
)

from .helpers import reply


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("3 × 4", 12),
        ("3 x 4 + 2", 14),
        ("6 times 9 plus 2", 56),
        ("1/8 + 2/4", Fraction(5, 8)),
        ("20% of 20", 4),
        ("(25 + 10) x 3", 105),
        ("3^3", 27),
        ("1,200 - 200", 1000),
        ("10 divided by 4", Fraction(5, 2)),
    ],
)
def test_it_evaluates_expressions_exactly(text, value):
    assert evaluate(text) == value


@pytest.mark.parametrize("text", ["", "hello", "3 +", "1/0", "2^100", "(3 + 4"])
def test_it_refuses_what_is_not_a_plain_expression(text):
    assert evaluate(text) is None


@pytest.mark.parametrize(
    ("question", "value"),
    [
        ("What is 25 minus 18?", 7),
        ("What is the value of 5 * 2 * 4?", 40),
        ("What is the product of 9 and 8?", 72),
        ("What is the sum of 27 and 16?", 43),
        ("What is the difference between 58 and 40?", 18),
        ("How many times does 15 go into 45?", 3),
        ("How many times 4 go in 6?", 1),
        ("What times 3 is 24?", 8),
        ("2800-65=?", 2735),
        ("Which is the greatest number among 5 and 3?", 5),
        ("What is 20% of 24?", Fraction(24, 5)),
    ],
)
def test_it_answers_arithmetic_questions(question, value):
    assert question_answer(question) == value


@pytest.mark.parametrize(
    "question", ["How many minutes per hour?", "What is a rectangle?", "Are you there?"]
)
def test_it_leaves_other_questions_unanswered(question):
    assert question_answer(question) is None


def test_it_passes_true_claims():
    g = grade(reply("3 × 4 = 12, and 2/4 = 1/2. So 5 times 14 is 70."))
    assert (g.passed, g.label, g.score) == (True, "correct", 1.0)
    assert g.detail == "3 claims checked, all true"


def test_it_fails_a_false_claim_and_quotes_it():
    g = grade(reply("Great effort! You're correct, 15 - 6 = 11."))
    assert (g.passed, g.label, g.score) == (False, "incorrect", 0.0)
    assert '"15 - 6 = 11"' in g.detail


def test_it_checks_each_link_of_a_chain():
    found = claims("5+1=6, 6+3=9, 9+8=18")
    assert [c.correct for c in found] == [True, True, False]


def test_it_checks_a_chained_equals():
    assert [c.correct for c in claims("So 0.2 * 24 = 4.8 = 48/10.")] == [True, True]


def test_it_allows_rounding_to_the_stated_places():
    assert claims("A = 1000(1.05)^10 ≈ 1628.89")[0].correct is True
    assert claims("So 10 / 3 = 3.33")[0].correct is True
    assert claims("So 10 / 3 = 3.4")[0].correct is False


def test_it_ignores_claims_inside_questions():
    g = grade(reply("Is 30 x 10 = 1300?"))
    assert (g.passed, g.label) == (None, "no_claims")


def test_it_ignores_numbers_that_are_not_claims():
    assert claims("The 5 is in the hundreds place and Bobby has 3 times as many.") == []


def test_it_checks_x_against_the_problem_equation_with_sympy():
    inp = reply("So x = 5.", problem_text="Solve 2x + 3 = 13")
    assert variable_claims(inp) == [("x = 5", True)]
    g = grade(
        reply("Subtract 3 and divide by 2, so x = 4.", problem_text="Solve 2x + 3 = 13")
    )
    assert g.passed is False


def test_it_skips_x_claims_it_cannot_check():
    assert variable_claims(reply("So y = 4.", problem_text="Solve 2x + 3 = 13")) == []
