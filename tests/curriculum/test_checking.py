"""Answer checking at its public interface: check_answer, validate_answer_key, find_answer_in_text."""

import time

import pytest

from curriculum.checking import (
    INCOMPLETE,
    NOT_SIMPLIFIED,
    NOT_SOLVED,
    WRONG_FORM,
    AnswerKey,
    AnswerMention,
    AnswerSpec,
    InvalidAnswerKey,
    Misconception,
    Verdict,
    check_answer,
    find_answer_in_text,
    validate_answer_key,
)

CORRECT = "That's right, well done!"
INCORRECT = "Not quite. Have another look."
SIMPLIFY = (
    "That's equivalent, but it isn't in simplest form. Can you simplify your fraction?"
)


def key(kind, value, *misconceptions, **spec):
    return AnswerKey(AnswerSpec(kind, value, **spec), tuple(misconceptions))


def right(normalized):
    return Verdict(True, normalized, None, CORRECT, None)


def wrong(normalized):
    return Verdict(False, normalized, None, INCORRECT, None)


def unreadable(message):
    return Verdict(False, None, None, message, message)


def builtin(normalized, code, feedback):
    return Verdict(False, normalized, Misconception(code, feedback), feedback, None)


def codes(verdict):
    return verdict.misconception.code if verdict.misconception else None


# Integers


@pytest.mark.parametrize(
    ("typed", "normalized"),
    [
        ("-12", "-12"),
        ("\u221212", "-12"),
        ("- 12", "-12"),
        ("  -12  ", "-12"),
        ("negative twelve", "-12"),
        ("x = -12", "-12"),
        ("-12 degrees", "-12"),
        ("-12.", "-12"),
        ("(-12)", "-12"),
    ],
)
def test_it_accepts_an_integer_however_the_sign_and_spacing_are_written(
    typed, normalized
):
    assert check_answer(key("integer", "-12"), typed) == right(normalized)


def test_it_reads_thousands_separators_and_a_leading_plus():
    assert check_answer(key("integer", "1000"), "1,000") == right("1000")
    assert check_answer(key("integer", "1000"), "+1000") == right("1000")
    assert check_answer(key("integer", "1234567"), "1,234,567") == right("1234567")
    assert check_answer(key("integer", "1000000"), "10,00,000") == unreadable(
        "I couldn't read that as a number."
    )


def test_it_says_a_wrong_integer_is_wrong_and_shows_what_it_read():
    assert check_answer(key("integer", "-12"), "12") == wrong("12")
    assert check_answer(key("integer", "-12"), "twelve") == wrong("12")


def test_it_reads_currency_and_number_words():
    assert check_answer(key("integer", "5"), "$5") == right("5")
    assert check_answer(key("integer", "105"), "one hundred and five") == right("105")
    assert check_answer(key("integer", "21"), "twenty-one") == right("21")
    assert check_answer(key("integer", "0"), "zero") == right("0")


def test_it_wants_a_whole_number_unless_decimals_are_allowed():
    feedback = "Write your answer as a whole number."
    assert check_answer(key("integer", "12"), "24/2") == builtin(
        "24/2", WRONG_FORM, feedback
    )
    near = key("integer", "12", tolerance=0.01)
    assert check_answer(near, "12.001") == builtin("12.001", WRONG_FORM, feedback)
    near_decimals = key("integer", "12", tolerance=0.01, allow=("decimal",))
    assert check_answer(near_decimals, "12.001") == right("12.001")


def test_it_accepts_a_whole_number_written_with_a_decimal_point():
    assert check_answer(key("integer", "15"), "15.0") == right("15.0")
    assert check_answer(key("integer", "15"), "15.00") == right("15.00")
    assert check_answer(key("integer", "15"), "15.5") == wrong("15.5")
    assert check_answer(key("integer", "12", allow=("decimal",)), "12.0") == right(
        "12.0"
    )


def test_it_reads_a_percent_sign_as_a_label_when_an_integer_key_allows_percent():
    what_percent = key("integer", "35", allow=("percent",))
    assert check_answer(what_percent, "35%") == right("35%")
    assert check_answer(what_percent, "35 percent") == right("35%")
    assert check_answer(what_percent, "0.35") == wrong("0.35")
    assert check_answer(what_percent, "3.5%") == wrong("3.5%")


def test_it_does_not_accept_a_percent_for_a_plain_integer_key():
    ten_percent_of_350 = key("integer", "35")
    assert check_answer(ten_percent_of_350, "35%").correct is False
    assert check_answer(ten_percent_of_350, "35").correct is True


def test_it_matches_integer_misconceptions_written_as_a_percent():
    part = Misconception("found-other-part", "That's the other part.", answer="390")
    assert check_answer(key("integer", "210", part, allow=("percent",)), "390%").misconception == part


# Decimals


def test_it_compares_decimals_within_the_default_tolerance():
    assert check_answer(key("decimal", "0.25"), "0.25") == right("0.25")
    assert check_answer(key("decimal", "0.25"), ".25") == right("0.25")
    assert check_answer(key("decimal", "0.25"), "0.2500000000001") == right(
        "0.2500000000001"
    )
    assert check_answer(key("decimal", "0.25"), "0.2501") == wrong("0.2501")


def test_it_compares_decimals_within_an_authored_tolerance():
    pi = key("decimal", "3.14", tolerance=0.01)
    assert check_answer(pi, "3.14159") == right("3.14159")
    assert check_answer(pi, "3.15") == right("3.15")
    assert check_answer(pi, "3.13") == right("3.13")
    assert check_answer(pi, "3.1501") == wrong("3.1501")
    assert check_answer(pi, "3") == wrong("3")


def test_it_accepts_a_whole_number_for_a_decimal_answer():
    assert check_answer(key("decimal", "4.0"), "4") == right("4")


def test_it_accepts_fractions_and_percents_for_a_decimal_only_when_allowed():
    feedback = "Write your answer as a decimal."
    assert check_answer(key("decimal", "0.25"), "1/4") == builtin(
        "1/4", WRONG_FORM, feedback
    )
    assert check_answer(key("decimal", "0.25"), "25%") == builtin(
        "25%", WRONG_FORM, feedback
    )
    assert check_answer(key("decimal", "0.25", allow=("fraction",)), "1/4") == right(
        "1/4"
    )
    assert check_answer(key("decimal", "0.25", allow=("percent",)), "25%") == right(
        "25%"
    )
    assert check_answer(
        key("decimal", "0.25", allow=("percent",)), "25 percent"
    ) == right("25%")


def test_it_hints_at_the_decimal_point_when_a_comma_was_used():
    message = "I couldn't read that as a number. Use a point for decimals, like 2.5."
    assert check_answer(key("decimal", "0.25"), "0,25") == unreadable(message)


# Percents

WRITE_PERCENT = "Write it as a percent, like 40%."


@pytest.mark.parametrize(
    "typed", ["35", "35%", "35 %", "35 percent", "thirty-five percent"]
)
def test_it_reads_a_bare_number_as_a_percent_when_the_key_is_a_percent(typed):
    assert check_answer(key("decimal", "35%"), typed) == right("35%")


def test_it_says_the_unconverted_number_is_in_the_wrong_form_for_a_percent_key():
    assert check_answer(key("decimal", "120%"), "1.2") == builtin(
        "1.2", WRONG_FORM, WRITE_PERCENT
    )
    assert check_answer(key("decimal", "35%"), "0.35") == builtin(
        "0.35", WRONG_FORM, WRITE_PERCENT
    )
    assert check_answer(key("decimal", "35%"), "7/20") == builtin(
        "7/20", WRONG_FORM, WRITE_PERCENT
    )
    assert check_answer(key("decimal", "100%"), "1") == builtin(
        "1", WRONG_FORM, WRITE_PERCENT
    )
    assert check_answer(key("decimal", "35%"), "3.5") == wrong("3.5%")


def test_it_accepts_a_decimal_or_fraction_for_a_percent_key_only_when_allowed():
    decimals = key("decimal", "35%", allow=("decimal",))
    assert check_answer(decimals, "0.35") == right("0.35")
    assert check_answer(decimals, "7/20") == builtin("7/20", WRONG_FORM, WRITE_PERCENT)
    fractions = key("decimal", "35%", allow=("fraction",))
    assert check_answer(fractions, "7/20") == right("7/20")
    assert check_answer(fractions, "0.35") == builtin("0.35", WRONG_FORM, WRITE_PERCENT)
    assert check_answer(key("decimal", "100%", allow=("decimal",)), "1") == right("1")


def test_it_reads_zero_as_zero_percent():
    assert check_answer(key("decimal", "0%"), "0") == right("0%")


def test_it_never_uses_the_answer_as_the_percent_example():
    assert check_answer(key("decimal", "40%"), "0.4") == builtin(
        "0.4", WRONG_FORM, "Write it as a percent, like 50%."
    )


def test_it_matches_percent_misconceptions_written_with_or_without_the_sign():
    added_sign = Misconception("added-percent-sign", "1.2% is tiny.", answer="1.2%")
    moved_point = Misconception("moved-point-one-place", "Two places.", answer="12%")
    convert = key("decimal", "120%", added_sign, moved_point)
    assert check_answer(convert, "12").misconception == moved_point
    assert check_answer(convert, "12 percent").misconception == moved_point
    assert check_answer(convert, "1.2%").misconception == added_sign
    assert check_answer(convert, "1.2") == builtin("1.2", WRONG_FORM, WRITE_PERCENT)


# Fractions


@pytest.mark.parametrize(
    ("typed", "normalized"),
    [
        ("3/4", "3/4"),
        ("3 / 4", "3/4"),
        ("\u00be", "3/4"),
        ("three quarters", "3/4"),
        ("3/4.", "3/4"),
    ],
)
def test_it_accepts_a_fraction_in_lowest_terms(typed, normalized):
    assert check_answer(key("fraction", "3/4"), typed) == right(normalized)


def test_it_reads_negative_fractions():
    assert check_answer(key("fraction", "-3/4"), "-3/4") == right("-3/4")
    assert check_answer(key("fraction", "-3/4"), "\u22123/4") == right("-3/4")
    assert check_answer(key("fraction", "-3/4"), "3/4") == wrong("3/4")


def test_it_asks_for_a_simplified_fraction_unless_unsimplified_is_allowed():
    assert check_answer(key("fraction", "3/4"), "6/8") == builtin(
        "6/8", NOT_SIMPLIFIED, SIMPLIFY
    )
    assert check_answer(key("fraction", "2"), "4/2") == builtin(
        "4/2", NOT_SIMPLIFIED, SIMPLIFY
    )
    assert check_answer(
        key("fraction", "3/4", allow=("unsimplified",)), "6/8"
    ) == right("6/8")
    assert check_answer(
        key("fraction", "3/4", allow=("unsimplified",)), "6/9"
    ) == wrong("6/9")


def test_it_accepts_an_unsimplified_fraction_when_the_key_itself_is_unsimplified():
    assert check_answer(key("fraction", "6/8"), "6/8") == right("6/8")
    assert check_answer(key("fraction", "6/8"), "3/4") == right("3/4")


def test_it_accepts_decimals_and_percents_for_a_fraction_only_when_allowed():
    feedback = "Write your answer as a fraction, a numerator over a denominator."
    assert check_answer(key("fraction", "3/4"), "0.75") == builtin(
        "0.75", WRONG_FORM, feedback
    )
    assert check_answer(key("fraction", "3/4"), "75%") == builtin(
        "75%", WRONG_FORM, feedback
    )
    allowing = key("fraction", "3/4", allow=("decimal", "percent"))
    assert check_answer(allowing, "0.75") == right("0.75")
    assert check_answer(allowing, "0.750") == right("0.750")
    assert check_answer(allowing, "75%") == right("75%")


def test_it_compares_fractions_exactly_not_as_floats():
    third = key("fraction", "1/3", allow=("decimal",))
    assert check_answer(third, "0.3333333333333333") == wrong("0.3333333333333333")
    assert check_answer(
        key("fraction", "1/3", allow=("decimal",), tolerance=0.001), "0.333"
    ) == right("0.333")
    assert check_answer(key("fraction", "1/10"), "1/10") == right("1/10")
    assert check_answer(key("fraction", "3/10", allow=("decimal",)), "0.3") == right(
        "0.3"
    )


def test_it_accepts_mixed_numbers_only_when_allowed():
    mixed = key("fraction", "3/2", allow=("mixed",))
    assert check_answer(mixed, "1 1/2") == right("1 1/2")
    assert check_answer(mixed, "1\u00bd") == right("1 1/2")
    assert check_answer(mixed, "one and a half") == right("1 1/2")
    assert check_answer(mixed, "3/2") == right("3/2")
    assert check_answer(mixed, "1 2/4") == builtin("1 2/4", NOT_SIMPLIFIED, SIMPLIFY)
    feedback = "Write your answer as a fraction, a numerator over a denominator."
    assert check_answer(key("fraction", "3/2"), "1 1/2") == builtin(
        "1 1/2", WRONG_FORM, feedback
    )


def test_it_reads_negative_mixed_numbers_as_a_whole():
    negative = key("fraction", "-3/2", allow=("mixed",))
    assert check_answer(negative, "-1 1/2") == right("-1 1/2")
    assert check_answer(negative, "-1/2") == wrong("-1/2")


def test_it_accepts_an_improper_fraction_when_the_key_is_a_mixed_number():
    assert check_answer(key("fraction", "1 1/2"), "3/2") == right("3/2")
    assert check_answer(key("fraction", "1 1/2"), "1 1/2") == right("1 1/2")


def test_it_reads_a_fraction_with_a_negative_denominator():
    negative = key("fraction", "-10/3", allow=("mixed",))
    assert check_answer(negative, "10/-3") == right("-10/3")
    assert check_answer(negative, "10 / -3") == right("-10/3")
    assert check_answer(negative, "-10/-3") == wrong("10/3")
    assert check_answer(key("fraction", "-1/2"), "2/-4") == builtin(
        "-2/4", NOT_SIMPLIFIED, SIMPLIFY
    )


def test_it_refuses_a_zero_denominator():
    message = "I couldn't read that as a fraction like 3/4."
    assert check_answer(key("fraction", "1/2"), "3/0") == unreadable(message)


def test_it_never_gives_the_answer_away_in_a_parse_error_example():
    message = "I couldn't read that as a fraction like 2/5."
    assert check_answer(key("fraction", "3/4"), "three over four") == unreadable(
        message
    )


# Expressions


@pytest.mark.parametrize(
    "typed",
    [
        "6+2x",
        "2x + 6",
        "2*x+6",
        "x*2 + 6",
        "2 \u00d7 x + 6",
        "y = 2x + 6",
    ],
)
def test_it_accepts_any_simplified_expression_equivalent_to_the_key(typed):
    assert check_answer(key("expression", "2x+6"), typed) == right("2*x + 6")


def test_it_reads_implicit_multiplication_and_both_power_signs():
    product = key("expression", "x^2 + x", allow=("unsimplified",))
    assert check_answer(product, "x(x+1)").correct is True
    squares = key("expression", "x^2 - 1", allow=("unsimplified",))
    assert check_answer(squares, "(x+1)(x-1)").correct is True
    assert check_answer(squares, "(x-1)(x+1)").correct is True
    assert check_answer(key("expression", "x^2 - 1"), "x**2 - 1").correct is True
    assert check_answer(key("expression", "x^2 - 1"), "x\u00b2 - 1").correct is True
    assert check_answer(squares, "(x-1)^2").correct is False


EXPAND = "That's equivalent, but not simplified yet: expand the brackets."
COMBINE = "That's equivalent, but not simplified yet: combine like terms."
ARITHMETIC = "That's equivalent, but not simplified yet: work out the arithmetic with the numbers."
POWERS = (
    "That's equivalent, but not simplified yet: combine the powers of the same factor."
)
NOT_FACTORISED = (
    "That's equivalent, but not factorised: write it as a product, taking out every "
    "common factor."
)


def test_it_says_an_unexpanded_product_is_not_simplified_yet():
    assert check_answer(key("expression", "3x+12"), "3(x+4)") == builtin(
        "3*(x + 4)", NOT_SIMPLIFIED, EXPAND
    )
    assert check_answer(key("expression", "2x+6"), "(x+3)*2") == builtin(
        "(x + 3)*2", NOT_SIMPLIFIED, EXPAND
    )
    assert check_answer(key("expression", "x^2 + 2x + 1"), "(x+1)^2") == builtin(
        "(x + 1)**2", NOT_SIMPLIFIED, EXPAND
    )
    assert check_answer(key("expression", "4x^2"), "(2x)^2") == builtin(
        "(2*x)**2", NOT_SIMPLIFIED, EXPAND
    )


def test_it_says_brackets_left_in_a_longer_expression_are_not_simplified_yet():
    answer = key("expression", "-4a+13b-12")
    assert check_answer(answer, "-3(2a - b + 4) + 2(a + 5b)") == builtin(
        "-3*(2*a - b + 4) + 2*(a + 5*b)", NOT_SIMPLIFIED, EXPAND
    )
    assert check_answer(answer, "13b - 4a - 12") == right("-4*a + 13*b - 12")
    assert check_answer(key("expression", "-4a+7"), "-(4a - 7)") == builtin(
        "-(4*a - 7)", NOT_SIMPLIFIED, EXPAND
    )
    assert check_answer(key("expression", "x-y-2", variable="x, y"), "x - (y + 2)") == (
        builtin("x - (y + 2)", NOT_SIMPLIFIED, EXPAND)
    )


def test_it_says_like_terms_left_to_combine_are_not_simplified_yet():
    assert check_answer(key("expression", "3a+11"), "5a + 3 - 2a + 8") == builtin(
        "5*a + 3 - 2*a + 8", NOT_SIMPLIFIED, COMBINE
    )
    assert check_answer(key("expression", "11x"), "4x+7x") == builtin(
        "4*x + 7*x", NOT_SIMPLIFIED, COMBINE
    )
    assert check_answer(key("expression", "3x+12"), "3x + 4 + 8") == builtin(
        "3*x + 4 + 8", NOT_SIMPLIFIED, COMBINE
    )
    assert check_answer(key("expression", "8xy", variable="x, y"), "3xy + 5yx") == (
        builtin("3*x*y + 5*y*x", NOT_SIMPLIFIED, COMBINE)
    )


def test_it_says_arithmetic_left_to_do_is_not_simplified_yet():
    assert check_answer(key("expression", "5"), "2+3") == builtin(
        "2 + 3", NOT_SIMPLIFIED, ARITHMETIC
    )
    assert check_answer(key("expression", "6x"), "2*3x") == builtin(
        "2*3*x", NOT_SIMPLIFIED, ARITHMETIC
    )
    assert check_answer(key("expression", "3x/2"), "6x/4") == builtin(
        "6*x/4", NOT_SIMPLIFIED, ARITHMETIC
    )
    assert check_answer(key("expression", "x"), "x + 0") == builtin(
        "x + 0", NOT_SIMPLIFIED, ARITHMETIC
    )
    assert check_answer(key("expression", "x^2"), "x*x") == builtin(
        "x*x", NOT_SIMPLIFIED, POWERS
    )


def test_it_accepts_simplified_forms_of_fractions_and_functions():
    assert check_answer(key("expression", "x/2"), "(1/2)x") == right("x/2")
    assert check_answer(key("expression", "3x/4"), "0.75x") == right("3*x/4")
    assert check_answer(key("expression", "1/(x+1)"), "1/(1 + x)") == right("1/(x + 1)")
    assert check_answer(key("expression", "2sqrt(2)"), "sqrt(2) + sqrt(2)") == builtin(
        "sqrt(2) + sqrt(2)", NOT_SIMPLIFIED, COMBINE
    )


def test_it_accepts_any_equivalent_expression_when_unsimplified_is_allowed():
    anything = key("expression", "3x+12", allow=("unsimplified",))
    assert check_answer(anything, "3(x+4)") == right("3*(x + 4)")
    assert check_answer(anything, "x + 2x + 12") == right("x + 2*x + 12")
    assert check_answer(anything, "3x + 12") == right("3*x + 12")
    assert check_answer(anything, "3(x+5)") == wrong("3*(x + 5)")


def test_it_accepts_any_equivalent_expression_when_the_key_is_in_neither_form():
    neither = key("expression", "2(x+1) + 3")
    assert check_answer(neither, "2x + 5") == right("2*x + 5")
    assert check_answer(neither, "2(x + 1) + 3") == right("2*(x + 1) + 3")


def test_it_wants_the_same_factors_when_the_key_is_factorised():
    factorised = key("expression", "3(x+4)")
    assert check_answer(factorised, "3(x+4)") == right("3*(x + 4)")
    assert check_answer(factorised, "(x+4)*3") == right("(x + 4)*3")
    assert check_answer(factorised, "3(4 + x)") == right("3*(4 + x)")
    assert check_answer(factorised, "-3(-x - 4)") == right("-3*(-x - 4)")
    assert check_answer(factorised, "3x+12") == builtin(
        "3*x + 12", WRONG_FORM, NOT_FACTORISED
    )
    assert check_answer(factorised, "6(x/2 + 2)") == builtin(
        "6*(x/2 + 2)", WRONG_FORM, NOT_FACTORISED
    )
    assert check_answer(factorised, "3(x + 2 + 2)") == builtin(
        "3*(x + 2 + 2)", NOT_SIMPLIFIED, COMBINE
    )
    assert check_answer(factorised, "3(x+5)") == wrong("3*(x + 5)")


def test_it_wants_every_factor_of_a_factorised_key():
    factorised = key("expression", "2x(x - 3)")
    assert check_answer(factorised, "x(2x - 6)") == builtin(
        "x*(2*x - 6)", WRONG_FORM, NOT_FACTORISED
    )
    assert check_answer(factorised, "2x(x - 3)") == right("2*x*(x - 3)")
    square = key("expression", "(x+1)^2")
    assert check_answer(square, "(x+1)(x+1)") == right("(x + 1)*(x + 1)")
    assert check_answer(square, "x^2 + 2x + 1") == builtin(
        "x**2 + 2*x + 1", WRONG_FORM, NOT_FACTORISED
    )


def test_it_never_shows_an_unsimplified_answer_simplified():
    verdict = check_answer(key("expression", "3a+11"), "5a + 3 - 2a + 8")
    assert verdict.normalized == "5*a + 3 - 2*a + 8"
    assert "3*a + 11" not in verdict.feedback


def test_it_says_a_different_expression_is_wrong():
    assert check_answer(key("expression", "2x+6"), "2x+3") == wrong("2*x + 3")
    assert check_answer(key("expression", "2x+6"), "2x") == wrong("2*x")


def test_it_compares_decimals_in_expressions_exactly():
    assert check_answer(key("expression", "x/2"), "0.5x") == right("x/2")
    assert check_answer(key("expression", "x/3"), "0.33x") == wrong("33*x/100")


def test_it_handles_several_variables_and_functions():
    two_variables = key("expression", "2xy + y", variable="x, y")
    assert check_answer(two_variables, "y + 2yx") == right("2*x*y + y")
    loose = key("expression", "2xy + y", variable="x, y", allow=("unsimplified",))
    assert check_answer(loose, "y(2x + 1)") == right("y*(2*x + 1)")
    assert check_answer(key("expression", "2sqrt(2)"), "sqrt(8)").correct is True
    circle = key("expression", "2pi r", variable="r")
    assert check_answer(circle, "2\u03c0r").correct is True
    identity = key("expression", "1", variable="x")
    assert check_answer(identity, "sin(x)^2 + cos(x)^2").correct is True


def test_it_refuses_letters_when_the_answer_has_no_variables():
    message = "I don't know what \u201cx\u201d means here. Use numbers only."
    assert check_answer(key("expression", "1"), "x + 1") == unreadable(message)


def test_it_does_not_treat_sqrt_of_a_square_as_the_variable():
    assert check_answer(key("expression", "x"), "sqrt(x^2)") == wrong("sqrt(x**2)")
    assert check_answer(key("expression", "abs(x)"), "sqrt(x^2)").correct is True


def test_it_names_an_unknown_letter_in_an_expression():
    message = "I don't know what \u201cy\u201d means here. Use x and numbers."
    assert check_answer(key("expression", "2x+6"), "2y+6") == unreadable(message)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        (
            "__import__('os').system('ls')",
            "I couldn't read that expression. Try something like 3x - 1.",
        ),
        (
            "eval('1')",
            "I don't know what \u201ceval\u201d means here. Use x and numbers.",
        ),
        (
            "lambda: 1",
            "I don't know what \u201clambda\u201d means here. Use x and numbers.",
        ),
        (
            "import os",
            "I don't know what \u201cimport\u201d means here. Use x and numbers.",
        ),
        ("x.__class__", "I couldn't read that expression. Try something like 3x - 1."),
        ("2x + 6 +", "I couldn't read that expression. Try something like 3x - 1."),
        ("x2", "I couldn't read that expression. Try something like 3x - 1."),
        ("2 3", "I couldn't read that expression. Try something like 3x - 1."),
        ("()", "I couldn't read that expression. Try something like 3x - 1."),
        ("x/0", "That divides by zero, so I can't work with it."),
        (
            "x**10**10",
            "Those numbers are too big for me to check. Try writing it more simply.",
        ),
        (
            "2^10^10",
            "Those numbers are too big for me to check. Try writing it more simply.",
        ),
        (
            "9^99^99",
            "Those numbers are too big for me to check. Try writing it more simply.",
        ),
        (
            "(x^100)^100",
            "Those numbers are too big for me to check. Try writing it more simply.",
        ),
        (
            "x^x^x^x^x^x^x^x",
            "Those numbers are too big for me to check. Try writing it more simply.",
        ),
    ],
)
def test_it_refuses_unsafe_or_runaway_expressions_quickly(typed, message):
    started = time.perf_counter()
    assert check_answer(key("expression", "2x+6"), typed) == unreadable(message)
    assert time.perf_counter() - started < 0.5


def test_it_picks_an_example_that_is_not_the_answer():
    message = "I couldn't read that expression. Try something like 2x + 6."
    assert check_answer(key("expression", "x^2"), "x +") == unreadable(message)


# Equations


@pytest.mark.parametrize(
    ("typed", "normalized"),
    [
        ("x=3", "x = 3"),
        ("3 = x", "3 = x"),
        ("x = 6/2", "x = 3"),
        ("3", "3"),
        ("X = 3", "x = 3"),
    ],
)
def test_it_accepts_a_solved_equation_either_way_round_or_the_bare_value(
    typed, normalized
):
    assert check_answer(key("equation", "x = 3"), typed) == right(normalized)


def test_it_says_an_equivalent_but_unsolved_equation_is_not_solved_yet():
    feedback = "That equation is true, but it isn't solved yet. Get x on its own."
    assert check_answer(key("equation", "x = 3"), "2x = 6") == builtin(
        "2*x = 6", NOT_SOLVED, feedback
    )
    assert check_answer(key("equation", "x = 3"), "1/x = 1/3") == builtin(
        "1/x = 1/3", NOT_SOLVED, feedback
    )


def test_it_says_a_wrong_solution_is_wrong():
    assert check_answer(key("equation", "x = 3"), "x = 4") == wrong("x = 4")
    assert check_answer(key("equation", "x = 3"), "2x = 8") == wrong("2*x = 8")


def test_it_wants_every_solution_of_an_equation_with_several():
    roots = key("equation", "x = 2 or x = -2")
    assert check_answer(roots, "x = \u00b12") == right("x = 2 or x = -2")
    assert check_answer(roots, "x = -2, x = 2") == right("x = -2 or x = 2")
    assert check_answer(roots, "2 or -2") == right("2 or -2")
    assert check_answer(roots, "+/-2") == right("2 or -2")
    partial = "That's right as far as it goes, but it isn't the whole answer."
    assert check_answer(roots, "x = 2") == builtin("x = 2", INCOMPLETE, partial)
    unsolved = "That equation is true, but it isn't solved yet. Get x on its own."
    assert check_answer(roots, "x^2 = 4") == builtin("x**2 = 4", NOT_SOLVED, unsolved)
    assert check_answer(roots, "x = 2 or x = 3") == wrong("x = 2 or x = 3")


def test_it_accepts_any_equivalent_form_of_a_general_equation():
    line = key("equation", "2x + 3y = 6")
    assert check_answer(line, "6 = 2x + 3y") == right("6 = 2*x + 3*y")
    assert check_answer(line, "4x + 6y = 12") == right("4*x + 6*y = 12")
    assert check_answer(line, "y = 2 - 2x/3") == right("y = 2 - 2*x/3")
    assert check_answer(line, "2x + 3y = 7") == wrong("2*x + 3*y = 7")


def test_it_wants_the_variable_alone_when_the_key_is_solved_for_it():
    line = key("equation", "y = 2x + 1")
    assert check_answer(line, "y = 1 + 2x") == right("y = 2*x + 1")
    equation = "Write your answer as an equation with y on one side."
    assert check_answer(line, "2x + 1") == builtin("2*x + 1", WRONG_FORM, equation)
    unsolved = "That equation is true, but it isn't solved yet. Get y on its own."
    assert check_answer(line, "2x - y + 1 = 0") == builtin(
        "2*x - y + 1 = 0", NOT_SOLVED, unsolved
    )


def test_it_checks_the_solution_of_a_system():
    system = key("equation", "x = 3, y = 4")
    assert check_answer(system, "y = 4 and x = 3") == right("y = 4 or x = 3")
    assert check_answer(system, "x = 3").misconception.code == INCOMPLETE
    assert check_answer(system, "x = 4, y = 3") == wrong("x = 4 or y = 3")


def test_it_explains_an_unreadable_equation_with_a_harmless_example():
    assert check_answer(key("equation", "x = 3"), "x = = 3") == unreadable(
        "I couldn't read that equation. Try something like x = 5."
    )


# Choices


@pytest.mark.parametrize(
    "typed", ["B", "b", "2", "Paris", " PARIS ", "(b)", "b)", "option B", "b) Paris"]
)
def test_it_accepts_the_letter_number_or_text_of_the_right_option(typed):
    assert check_answer(
        key("choice", "Paris", choices=("London", "Paris", "Rome")), typed
    ) == right("B")


def test_it_says_another_option_is_wrong():
    assert check_answer(
        key("choice", "Paris", choices=("London", "Paris", "Rome")), "rome"
    ) == wrong("C")
    assert check_answer(
        key("choice", "Paris", choices=("London", "Paris", "Rome")), "A"
    ) == wrong("A")


def test_it_asks_for_one_of_the_options_when_the_input_is_none_of_them():
    message = "Please pick one of the options: type its letter (A to C) or its text."
    capitals = key("choice", "Paris", choices=("London", "Paris", "Rome"))
    assert check_answer(capitals, "Berlin") == unreadable(message)
    assert check_answer(capitals, "D") == unreadable(message)
    assert check_answer(capitals, "a) Paris") == unreadable(message)


def test_it_reads_a_number_as_option_text_when_the_options_are_numbers():
    numbers = key("choice", "B", choices=("12", "15", "18"))
    assert check_answer(numbers, "15") == right("B")
    assert check_answer(numbers, "15.0") == right("B")
    assert check_answer(numbers, "b") == right("B")
    assert check_answer(numbers, "12") == wrong("A")


PICK_ONE_OF_FOUR = (
    "Please pick one of the options: type its letter (A to D) or its text."
)


@pytest.mark.parametrize("typed", ["3/4", "0.75", "9/12", "75%", "three quarters"])
def test_it_never_picks_an_option_by_another_spelling_of_its_value(typed):
    fractions = key("choice", "6/8", choices=("4/5", "6/8", "3/8", "6/4"))
    assert check_answer(fractions, typed) == unreadable(PICK_ONE_OF_FOUR)


def test_it_picks_a_number_option_written_the_same_way():
    fractions = key("choice", "6/8", choices=("4/5", "6/8", "3/8", "6/4"))
    assert check_answer(fractions, "6 / 8") == right("B")
    assert check_answer(fractions, "b") == right("B")
    largest = key("choice", "5/8", choices=("0.6", "5/8", "62%", "3/5"))
    assert check_answer(largest, "5/8") == right("B")
    assert check_answer(largest, "62 percent") == wrong("C")
    assert check_answer(largest, "0.60") == wrong("A")
    assert check_answer(largest, "3/5") == wrong("D")
    assert check_answer(largest, "0.625") == unreadable(PICK_ONE_OF_FOUR)


@pytest.mark.parametrize(
    "typed",
    [
        "20-ounce box",
        "20 ounce box",
        "the 20-ounce box",
        "The 20 ounce box!",
        "a 20-ounce box.",
        "20\u2011ounce   box",
    ],
)
def test_it_picks_an_option_by_its_text_ignoring_hyphens_articles_and_punctuation(
    typed,
):
    boxes = key(
        "choice",
        "20-ounce box",
        choices=("12-ounce box", "20-ounce box", "Both cost the same per ounce"),
    )
    assert check_answer(boxes, typed) == right("B")


def test_it_matches_a_choice_misconception_written_another_way():
    total = Misconception("compared-total-price", "Per ounce.", answer="12-ounce box")
    boxes = key(
        "choice", "20-ounce box", total, choices=("12-ounce box", "20-ounce box")
    )
    assert check_answer(boxes, "the 12 ounce box").misconception == total


def test_it_reads_a_letter_as_option_text_when_the_options_are_letters():
    letters = key("choice", "x", choices=("w", "x", "y"))
    assert check_answer(letters, "x") == right("B")
    assert check_answer(letters, "b") == unreadable(
        "Please pick one of the options: type its letter (1 to 3) or its text."
    )
    assert check_answer(letters, "2") == right("B")


# Text


@pytest.mark.parametrize(
    "typed",
    ["north", "North", "NORTH.", "  north  ", "\uff4e\uff4f\uff52\uff54\uff48", "N"],
)
def test_it_accepts_text_ignoring_case_spacing_and_width(typed):
    assert check_answer(key("text", "north", accept=("n",)), typed).correct is True


def test_it_says_other_text_is_wrong():
    assert check_answer(key("text", "north", accept=("n",)), "north east") == wrong(
        "north east"
    )
    assert check_answer(key("text", "New York"), "new   york") == right("new york")


def test_it_ignores_spaces_around_colons_and_slashes_in_text():
    ratio = key("text", "3:4:10")
    assert check_answer(ratio, "3: 4: 10") == right("3:4:10")
    assert check_answer(ratio, "3 : 4 : 10") == right("3:4:10")
    assert check_answer(key("text", "km/h"), "km / h") == right("km/h")
    assert check_answer(key("text", "north-east"), "north east") == right("north east")


def test_it_accepts_a_ratio_written_with_to():
    assert check_answer(key("text", "2:3"), "2 to 3") == right("2 to 3")


def test_it_says_an_equivalent_ratio_is_not_simplified_yet():
    feedback = "That's equivalent, but not simplified yet: simplify the ratio."
    ratio = key("text", "2:3")
    assert check_answer(ratio, "4:6") == builtin("4:6", NOT_SIMPLIFIED, feedback)
    assert check_answer(ratio, "4 to 6") == builtin("4 to 6", NOT_SIMPLIFIED, feedback)
    assert check_answer(ratio, "1:1.5") == builtin("1:1.5", NOT_SIMPLIFIED, feedback)
    assert check_answer(key("text", "5:3"), "2.5:1.5") == builtin(
        "2.5:1.5", NOT_SIMPLIFIED, feedback
    )
    assert check_answer(ratio, "3:2") == wrong("3:2")
    assert check_answer(key("text", "3:4:10"), "6:8:20") == builtin(
        "6:8:20", NOT_SIMPLIFIED, feedback
    )


def test_it_accepts_an_equivalent_ratio_when_unsimplified_is_allowed():
    assert check_answer(key("text", "2:3", allow=("unsimplified",)), "4:6") == right(
        "4:6"
    )
    assert check_answer(key("text", "4:6"), "2:3") == right("2:3")


def test_it_matches_ratio_misconceptions_however_they_are_spaced_or_scaled():
    reversed_order = Misconception("order-reversed", "Red first.", answer="3:2")
    ratio = key("text", "2:3", reversed_order)
    assert check_answer(ratio, "3 : 2").misconception == reversed_order
    assert check_answer(ratio, "6:4").misconception == reversed_order
    assert check_answer(ratio, "3 to 2").misconception == reversed_order


# Misconceptions


def test_it_matches_a_misconception_by_its_answer():
    adding = Misconception(
        "added-across", "Did you add the tops and the bottoms?", answer="2/7"
    )
    verdict = check_answer(key("fraction", "5/12", adding), "2/7")
    assert verdict == Verdict(
        False, "2/7", adding, "Did you add the tops and the bottoms?", None
    )


def test_it_matches_a_misconception_answer_by_value():
    adding = Misconception(
        "added-across", "Did you add the tops and the bottoms?", answer="2/3"
    )
    assert check_answer(key("fraction", "3/4", adding), "4/6").misconception == adding
    assert check_answer(key("fraction", "3/4", adding), "0.6666").misconception is None


def test_it_matches_a_misconception_by_pattern_over_the_normalised_answer():
    sign = Misconception("sign", "Check the sign.", pattern=r"12")
    dunno = Misconception(
        "gave-up", "Have a go, any answer helps.", pattern=r"(?i)i don'?t know"
    )
    assert check_answer(key("integer", "-12", sign, dunno), "+12") == Verdict(
        False, "12", sign, "Check the sign.", None
    )
    assert check_answer(key("integer", "-12", sign, dunno), "I dont know") == Verdict(
        False,
        None,
        dunno,
        "Have a go, any answer helps.",
        "I couldn't read that as a number.",
    )


def test_it_returns_the_first_matching_misconception():
    first = Misconception("first", "First.", answer="12")
    second = Misconception("second", "Second.", pattern=r"\d+")
    assert (
        check_answer(key("integer", "-12", first, second), "12").misconception == first
    )
    assert (
        check_answer(key("integer", "-12", first, second), "13").misconception == second
    )


def test_it_prefers_an_authored_misconception_to_the_builtin_feedback():
    decimal = Misconception("decimal", "We want a fraction here.", answer="0.75")
    assert (
        check_answer(key("fraction", "3/4", decimal), "0.75").misconception == decimal
    )
    assert check_answer(key("fraction", "3/4", decimal), "6/8").misconception == decimal


def test_it_matches_algebra_misconceptions_by_equivalence():
    distribute = Misconception("distribute", "Multiply both terms.", answer="2x + 3")
    assert (
        check_answer(key("expression", "2x+6", distribute), "3 + 2x").misconception
        == distribute
    )
    sign = Misconception("sign", "Check the sign when you move the 3.", answer="x = -3")
    assert check_answer(key("equation", "x = 3", sign), "-3 = x").misconception == sign
    assert check_answer(key("equation", "x = 3", sign), "-3").misconception == sign


def test_it_matches_a_choice_misconception_by_letter_or_text():
    london = Misconception("london", "London is the capital of the UK.", answer="A")
    capitals = key("choice", "Paris", london, choices=("London", "Paris", "Rome"))
    assert check_answer(capitals, "london").misconception == london
    assert check_answer(capitals, "rome").misconception is None


def test_it_ignores_misconceptions_when_the_answer_is_correct():
    anything = Misconception("any", "Any.", pattern=r".*")
    assert check_answer(key("integer", "3", anything), "3") == right("3")


# Parse errors and hostile input


@pytest.mark.parametrize(
    ("kind", "value", "extra", "message"),
    [
        ("integer", "3", {}, "I couldn't read that as a number."),
        ("decimal", "0.5", {}, "I couldn't read that as a number."),
        ("fraction", "1/2", {}, "I couldn't read that as a fraction like 3/4."),
        (
            "expression",
            "2x+6",
            {},
            "I couldn't read that expression. Try something like 3x - 1.",
        ),
        (
            "equation",
            "x=3",
            {},
            "I couldn't read that equation. Try something like x = 5.",
        ),
        (
            "choice",
            "a",
            {"choices": ("a", "b")},
            "Please pick one of the options: type its letter (1 to 2) or its text.",
        ),
    ],
)
def test_it_explains_unreadable_input_per_kind(kind, value, extra, message):
    assert check_answer(key(kind, value, **extra), "\x00\x01\ufffd#@!") == unreadable(
        message
    )


@pytest.mark.parametrize(
    "kind",
    ["integer", "decimal", "fraction", "expression", "equation", "choice", "text"],
)
def test_it_handles_empty_huge_and_binary_input_for_every_kind(kind):
    answer = key(
        kind,
        {"expression": "2x", "equation": "x=1", "choice": "a", "text": "a"}.get(
            kind, "1"
        ),
        choices=("a", "b") if kind == "choice" else (),
    )
    assert check_answer(answer, "") == unreadable("Please type an answer first.")
    assert check_answer(answer, "   \n\t ") == unreadable(
        "Please type an answer first."
    )
    assert check_answer(answer, None) == unreadable("Please type an answer first.")
    too_long = "That's too long to be an answer. Please type just your answer."
    assert check_answer(answer, "1" * 10_000) == unreadable(too_long)
    assert check_answer(answer, "x" * 201) == unreadable(too_long)
    assert check_answer(answer, b"\xff\xfe\x00garbage").correct is False
    assert check_answer(answer, "__import__('os').system('rm -rf /')").correct is False


def test_it_raises_for_a_key_that_cannot_be_read():
    with pytest.raises(InvalidAnswerKey):
        check_answer(key("integer", "twelvish"), "12")
    with pytest.raises(InvalidAnswerKey):
        find_answer_in_text(
            key("choice", "Berlin", choices=("Paris", "Rome")), "Berlin"
        )


def test_it_checks_numbers_well_under_a_millisecond_and_expressions_under_fifty():
    numeric, algebra = (
        key("fraction", "3/4", allow=("decimal",)),
        key("expression", "2x+6", allow=("unsimplified",)),
    )
    check_answer(numeric, "0.75"), check_answer(algebra, "2(x+3)")
    started = time.perf_counter()
    for typed in ["0.75", "3/4", "6/8", "-1 1/2", "nope"] * 20:
        check_answer(numeric, typed)
    assert (time.perf_counter() - started) / 100 < 0.001
    for typed in ["2(x + 3) + 0*x^2", "(x+3)(x+3) - x^2 - 4x - 3", "6 + 2x*1"]:
        started = time.perf_counter()
        assert check_answer(algebra, typed).correct is True
        assert time.perf_counter() - started < 0.05
    strict = key("expression", "2x+6")
    for typed in ["2(x + 3) + 0*x^2", "(x+3)(x+3) - x^2 - 4x - 3", "6 + 2x*1"]:
        started = time.perf_counter()
        assert check_answer(strict, typed).misconception.code == NOT_SIMPLIFIED
        assert time.perf_counter() - started < 0.05


# validate_answer_key


@pytest.mark.parametrize(
    "valid",
    [
        key("integer", "-12"),
        key("decimal", "3.14", tolerance=0.01),
        key("fraction", "3/4", allow=("decimal", "percent", "unsimplified")),
        key("fraction", "1 1/2"),
        key("expression", "2x + 6"),
        key("expression", "3(x + 4)"),
        key("expression", "2x + 6", allow=("unsimplified",)),
        key("text", "2:3", allow=("unsimplified",)),
        key("decimal", "35%", allow=("decimal", "fraction")),
        key(
            "equation",
            "x = 3",
            Misconception("sign", "Check the sign.", answer="x = -3"),
        ),
        key("equation", "2x + 3y = 6"),
        key("choice", "B", choices=("12", "15", "18")),
        key(
            "text",
            "north",
            Misconception("south", "Other way.", pattern="(?i)south"),
            accept=("n",),
        ),
    ],
)
def test_it_finds_nothing_wrong_with_a_valid_key(valid):
    assert validate_answer_key(valid) == []


@pytest.mark.parametrize(
    ("invalid", "errors"),
    [
        (
            key("wat", "1"),
            [
                "kind: unknown kind 'wat'; expected one of integer, decimal, fraction, expression, equation, choice, text"
            ],
        ),
        (key("integer", "twelvish"), ["value: 'twelvish' is not a number"]),
        (
            key("integer", "2.5"),
            ["value: '2.5' is not a whole number; use the decimal or fraction kind"],
        ),
        (
            key("fraction", "0.75"),
            ["value: '0.75' should be written as a fraction, e.g. 3/4"],
        ),
        (key("text", " "), ["value: is empty"]),
        (key("expression", "2x +"), ["value: '2x +' is not an expression in x"]),
        (
            key("expression", "x = 2"),
            [
                "value: an expression has no '='; use the equation kind",
                "value: 'x = 2' is not an expression in x",
            ],
        ),
        (
            key("equation", "x + 1"),
            [
                "value: an equation needs '=', e.g. 'x = 3'",
                "value: 'x + 1' is not an equation in x",
            ],
        ),
        (
            key("equation", "x = 3", variable="y"),
            [
                "variable: the value uses x, not declared in 'y'",
                "value: 'x = 3' is not an equation in y",
            ],
        ),
        (
            key("expression", "2x", variable="__"),
            [
                "variable: '__' is not a list of variable names like 'x' or 'x, y'",
                "value: '2x' is not an expression in __",
            ],
        ),
        (
            key("decimal", "1", tolerance=-1.0),
            [
                "tolerance: must be a finite number >= 0, got -1.0",
                "value: '1' is not accepted as correct by its own key",
            ],
        ),
        (
            key("text", "a", tolerance=0.1),
            ["tolerance: only numeric kinds take a tolerance, not text"],
        ),
        (
            key("fraction", "3/4", allow=("bogus",)),
            [
                "allow: unknown form 'bogus'; expected one of decimal, percent, mixed, fraction, unsimplified"
            ],
        ),
        (
            key("text", "a", allow=("decimal",)),
            ["allow: 'decimal' only applies to numeric kinds, not text"],
        ),
        (
            key("equation", "x = 3", allow=("unsimplified",)),
            [
                "allow: 'unsimplified' only applies to numeric, expression and ratio answers, not equation"
            ],
        ),
        (
            key("expression", "2x", allow=("decimal",)),
            ["allow: 'decimal' only applies to numeric kinds, not expression"],
        ),
        (
            key("text", "north", allow=("unsimplified",)),
            [
                "allow: 'unsimplified' only applies to a text answer that is a ratio like 2:3"
            ],
        ),
        (
            key("choice", "20-ounce box", choices=("20-ounce box", "the 20 ounce box")),
            ["choices: two options are the same (ignoring case and spacing)"],
        ),
        (
            key("choice", "Berlin", choices=("Paris", "Rome")),
            ["value: 'Berlin' is not one of the choices"],
        ),
        (
            key("choice", "E", choices=("Paris", "Rome")),
            ["value: 'E' is not one of the choices"],
        ),
        (
            key("choice", "Paris", choices=("Paris",)),
            ["choices: a choice question needs at least two options"],
        ),
        (
            key("choice", "Paris", choices=("Paris", "paris ")),
            ["choices: two options are the same (ignoring case and spacing)"],
        ),
        (
            key("integer", "1", choices=("1", "2")),
            ["choices: only the choice kind has choices, not integer"],
        ),
        (
            key("integer", "1", accept=("one",)),
            ["accept: only the text kind has accepted variants, not integer"],
        ),
        (
            key("integer", "1", variable="x"),
            [
                "variable: only expression and equation kinds have variables, not integer"
            ],
        ),
    ],
)
def test_it_reports_authoring_errors_in_the_spec(invalid, errors):
    assert validate_answer_key(invalid) == errors


def test_it_reports_authoring_errors_in_misconceptions():
    invalid = key(
        "integer",
        "3",
        Misconception("", "", None, None),
        Misconception("right", "Oops.", answer="3.0", pattern=None),
        Misconception("right-again", "Oops.", answer="+3"),
        Misconception("regex", "Bad.", pattern="("),
        Misconception("slow", "Slow.", pattern="(a+)+b"),
        Misconception("matches-answer", "Never shown.", pattern=r"\d"),
        Misconception("not-simplified", "Reserved.", answer="4"),
        Misconception("banana", "Eh.", answer="banana"),
        Misconception("banana", "Twice.", answer="5"),
    )
    assert validate_answer_key(invalid) == [
        "misconceptions[0]: code is empty",
        "misconceptions[0] (): feedback is empty",
        "misconceptions[0] (): needs an answer or a pattern",
        "misconceptions[1] (right): answer '3.0' would be accepted as correct",
        "misconceptions[2] (right-again): answer '+3' would be accepted as correct",
        "misconceptions[3] (regex): pattern '(' is not a valid regex (missing ), unterminated subpattern at position 0)",
        "misconceptions[4] (slow): pattern '(a+)+b' nests repeats, which can make matching hang",
        "misconceptions[5] (matches-answer): pattern '\\\\d' matches the correct answer",
        "misconceptions[6] (not-simplified): code 'not-simplified' is reserved for the checker's own feedback",
        "misconceptions[7] (banana): answer 'banana' can't be read as an answer of kind integer",
        "misconceptions[8] (banana): code is used twice",
    ]


def test_it_reports_a_misconception_answer_that_would_be_accepted_as_correct():
    invalid = key("expression", "2x+6", Misconception("same", "Same.", answer="6 + 2x"))
    assert validate_answer_key(invalid) == [
        "misconceptions[0] (same): answer '6 + 2x' would be accepted as correct"
    ]


def test_it_lets_a_misconception_name_an_equivalent_unsimplified_answer():
    unexpanded = Misconception("left-brackets", "Multiply out.", answer="2(x+3)")
    answer = key("expression", "2x+6", unexpanded)
    assert validate_answer_key(answer) == []
    assert check_answer(answer, "2(3 + x)").misconception == unexpanded
    assert check_answer(answer, "2x + 6") == right("2*x + 6")


# find_answer_in_text


def mention(answer_key, text, *known):
    found = find_answer_in_text(answer_key, text, known)
    return None if found is None else found.value


def test_it_returns_what_it_found_and_where():
    text = "Good thinking, so you get 3/4 of the pizza."
    assert find_answer_in_text(key("fraction", "3/4"), text) == AnswerMention(
        "3/4", (26, 29)
    )


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("so you get 3/4", "3/4"),
        ("that is 0.75 of it", "0.75"),
        ("it's 75% of the cake", "75%"),
        ("75 percent", "75 percent"),
        ("three quarters of them", "three quarters"),
        ("three-quarters", "three-quarters"),
        ("It is \\(\\frac{3}{4}\\).", "\\frac{3}{4}"),
        ("**3/4**", "3/4"),
        ("\u00be", "\u00be"),
    ],
)
def test_it_finds_a_fraction_answer_in_any_numeric_form(text, found):
    assert mention(key("fraction", "3/4"), text) == found


@pytest.mark.parametrize(
    "text",
    [
        "13 apples",
        "it's 3.5",
        "x^3",
        "3x + 1 = 10",
        "the 3rd row",
        "step 3: add",
        "at 3:15",
        "a 3-digit number",
        "1/3 of it",
        "3,000 people",
        "2^3 = 8",
        "3\u00b2 is 9",
    ],
)
def test_it_does_not_find_a_number_inside_something_else(text):
    assert mention(key("integer", "3"), text) is None


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("so you get 3", "3"),
        ("It is 3.", "3"),
        ("There are three.", "three"),
        ("10 - 7 = 3", "3"),
        ("3 cm", "3"),
        ("$3$", "3"),
        ("(3)", "3"),
    ],
)
def test_it_finds_an_integer_stated_on_its_own(text, found):
    assert mention(key("integer", "3"), text) == found


def test_it_reads_signs_and_negative_words():
    negative = key("integer", "-5")
    assert mention(negative, "it is -5.") == "-5"
    assert mention(negative, "it's \u22125") == "\u22125"
    assert mention(negative, "negative five") == "negative five"
    assert mention(negative, "minus 5") == "minus 5"
    assert mention(negative, "10 minus 5 is 5") is None
    assert mention(negative, "10 -5") is None
    assert mention(negative, "x - 5") is None


def test_it_finds_number_words_but_not_ordinals_or_pronouns():
    assert mention(key("integer", "12"), "twelve eggs") == "twelve"
    assert mention(key("integer", "1"), "pick one of them") is None
    assert mention(key("integer", "21"), "twenty-one") == "twenty-one"
    assert mention(key("fraction", "1/3"), "a third of the class") == "a third"
    assert mention(key("fraction", "1/3"), "the third step") is None
    assert mention(key("decimal", "2.5"), "two and a half hours") == "two and a half"


def test_it_skips_intermediate_values_and_unsimplified_steps():
    text = "First find 12 \u00f7 4, which is 3, then 12/4 again, and 6/8."
    assert mention(key("integer", "9"), text) is None
    assert mention(key("integer", "3"), "what is 12/4?") is None
    assert mention(key("fraction", "3/4"), "6/8 can be simplified") is None
    assert (
        mention(key("fraction", "3/4", allow=("unsimplified",)), "6/8 is fine") == "6/8"
    )


def test_it_finds_a_rounded_decimal_of_the_answer():
    assert mention(key("fraction", "1/3"), "about 0.33") == "0.33"
    assert mention(key("fraction", "1/3"), "about 0.3") is None
    assert mention(key("decimal", "3.14159"), "roughly 3.14") == "3.14"


def test_it_counts_a_percent_as_a_mention_of_its_own_number():
    assert mention(key("integer", "75"), "75% of them") == "75%"
    assert mention(key("integer", "75"), "0.75 of them") is None


def test_it_ignores_values_that_are_already_known():
    assert mention(key("integer", "3"), "you said 3, and that's it", "3") is None
    assert (
        mention(key("integer", "3"), "Yes, 3 apples", "Sam has 3 apples and 4 pears.")
        is None
    )
    assert (
        mention(key("fraction", "3/4"), "simplify 6/8 to 3/4", "Simplify 6/8") == "3/4"
    )
    assert (
        mention(key("fraction", "3/4"), "0.75 is 3/4", "Write 0.75 as a fraction")
        == "3/4"
    )


def test_it_finds_the_bare_number_of_a_percent_answer():
    percent = key("decimal", "25%")
    assert mention(percent, "it is 25") == "25"
    assert mention(percent, "25 percent of them") == "25 percent"
    assert mention(percent, "so 25%.") == "25%"
    assert mention(percent, "that's 2500%") is None
    assert mention(percent, "it is 25", "What percent is 25 out of 100?") is None


def test_it_treats_equal_decimal_spellings_as_the_same_known_value():
    half = key("decimal", "0.5")
    assert mention(half, "it is 0.50", "0.5") is None
    assert mention(half, "it is .5", "0.5") is None
    assert mention(half, "it is 0.5", "Write 0.50 as a fraction") is None
    assert mention(half, "it is 0.5", "1/2") == "0.5"
    line = key("expression", "0.5x + 1")
    assert mention(line, "so 0.50x + 1", "you wrote 0.5x + 1") is None
    assert mention(line, "so .5x + 1", "you wrote 0.5x + 1") is None
    assert mention(line, "so 0.5x + 1") == "0.5x + 1"


def test_it_does_not_count_an_unsimplified_step_as_the_expression_answer():
    answer = key("expression", "3x+12")
    assert mention(answer, "First write 3(x + 4) as 3 times x plus 3 times 4.") is None
    assert mention(answer, "that is 3x + 4 + 8") is None
    assert mention(answer, "so 12 + 3x") == "12 + 3x"
    factorised = key("expression", "3(x+4)")
    assert mention(factorised, "so it's 3(4 + x)", "Factorise 3x + 12") == "3(4 + x)"
    assert mention(factorised, "Look at 3x + 12 again", "Factorise 3x + 12") is None


def test_it_finds_a_ratio_answer_however_it_is_spaced():
    ratio = key("text", "3:4:10")
    assert mention(ratio, "so a : b : c is 3 : 4 : 10.") == "3 : 4 : 10"
    assert mention(ratio, "it's 3:4:10") == "3:4:10"
    assert mention(key("text", "2:3"), "meet at 2:30") is None


def test_it_finds_a_choice_text_written_with_or_without_hyphens():
    boxes = key("choice", "20-ounce box", choices=("12-ounce box", "20-ounce box"))
    assert mention(boxes, "The 20 ounce box is cheaper.") == "20 ounce box"
    assert mention(boxes, "The 20-ounce box is cheaper.") == "20-ounce box"


def test_it_finds_an_expression_answer_in_any_equivalent_form():
    answer = key("expression", "2x+6")
    assert mention(answer, "so it's 2x + 6.") == "2x + 6"
    assert mention(answer, "That gives $6 + 2x$") == "6 + 2x"
    assert mention(answer, "2(x+3) = 2x + 6", "Expand 2(x + 3)") == "2x + 6"
    assert mention(answer, "Let's expand 2(x+3) together.", "Expand 2(x + 3)") is None
    assert mention(answer, "try 2x + 7") is None


def test_it_finds_a_solved_equation_answer():
    answer = key("equation", "x = 3")
    assert mention(answer, "so x = 3") == "x = 3"
    assert mention(answer, "and 3 = x.") == "3 = x"
    assert mention(answer, "which means x is 3") == "x is 3"
    assert mention(answer, "2x = 6 so x = 6/2 = 3") == "x = 6/2 = 3"
    assert mention(answer, "divide 6 by 2 to get 3") == "3"
    assert mention(answer, "x equals three") == "three"


def test_it_does_not_count_numbers_inside_an_expression_with_the_variable():
    answer = key("equation", "x = 3")
    assert mention(answer, "start from x + 3 = 6") is None
    assert mention(answer, "what is x^3?") is None
    assert mention(answer, "what is 6 \u00f7 2?") is None
    assert mention(answer, "you said 3", "3") is None


def test_it_finds_each_solution_and_equivalent_general_equations():
    roots = key("equation", "x = 2 or x = -2")
    assert mention(roots, "so x = \u00b12") == "x = \u00b12"
    assert mention(roots, "one root is x = -2") == "x = -2"
    assert mention(roots, "solve x^2 = 4", "x^2 = 4") is None
    line = key("equation", "2x + 3y = 6")
    assert mention(line, "that's 4x + 6y = 12") == "4x + 6y = 12"
    assert mention(line, "the line 2x + 3y = 6", "2x + 3y = 6") is None
    assert mention(line, "try 2x + 3y = 7") is None


def test_it_finds_a_choice_by_text_or_letter():
    capitals = key("choice", "Paris", choices=("London", "Paris", "Rome"))
    assert mention(capitals, "The answer is B.") == "answer is B"
    assert mention(capitals, "Paris is the capital") == "Paris"
    assert mention(capitals, "Go with option b") == "option b"
    assert mention(capitals, "I think (B) is right") == "(B) is right"
    assert mention(capitals, "choose B") == "choose B"
    assert mention(capitals, "It's option 2") == "option 2"
    assert mention(capitals, "the answer is a city") is None
    assert mention(capitals, "Look at B again") is None
    assert mention(capitals, "The answer is B.", "b") is None


def test_it_finds_a_numeric_choice_by_value():
    numbers = key("choice", "15", choices=("12", "15", "18"))
    assert mention(numbers, "it's 15") == "15"
    assert mention(numbers, "it's 115") is None


def test_it_finds_a_text_answer_as_whole_words():
    direction = key("text", "north", accept=("n",))
    assert mention(direction, "Head North!") == "North"
    assert mention(direction, "the northern side") is None
    assert mention(direction, "Head north", "North") is None


def test_it_does_not_count_restating_every_option_as_giving_the_answer():
    capitals = key("choice", "Paris", choices=("London", "Paris", "Rome"))
    assert mention(capitals, "Is it London, Paris or Rome?") is None
    assert mention(capitals, "It's Paris, not London.") == "Paris"
    numbers = key("choice", "15", choices=("12", "15", "18"))
    assert mention(numbers, "Which is it: 12, 15 or 18?") is None


def test_it_finds_a_solved_value_that_holds_a_variable():
    line = key("equation", "y = 2x + 1")
    assert mention(line, "so y = 1 + 2x") == "y = 1 + 2x"
    assert mention(line, "it is just 2x + 1") == "2x + 1"
    assert mention(line, "now y equals 2x + 1") == "y equals 2x + 1"
    assert mention(line, "try 2x + 2") is None


def test_it_accepts_a_single_known_value_as_a_string():
    assert find_answer_in_text(key("integer", "12"), "you said 12", "12") is None
