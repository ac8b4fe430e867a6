"""Properties of answer checking that must hold for any input."""

import re
from fractions import Fraction

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from curriculum.checking import (
    NOT_SIMPLIFIED,
    NOT_SOLVED,
    WRONG_FORM,
    AnswerKey,
    AnswerSpec,
    Verdict,
    check_answer,
    find_answer_in_text,
)

KEYS = [
    AnswerKey(AnswerSpec("integer", "-12")),
    AnswerKey(
        AnswerSpec("decimal", "3.14", tolerance=0.01, allow=("fraction", "percent"))
    ),
    AnswerKey(AnswerSpec("fraction", "3/2", allow=("mixed", "decimal", "percent"))),
    AnswerKey(AnswerSpec("expression", "2x + 6")),
    AnswerKey(AnswerSpec("expression", "x^2 y - sqrt(y)", variable="x, y")),
    AnswerKey(AnswerSpec("equation", "x = 2 or x = -2")),
    AnswerKey(AnswerSpec("equation", "2x + 3y = 6")),
    AnswerKey(AnswerSpec("choice", "Paris", choices=("London", "Paris", "Rome"))),
    AnswerKey(AnswerSpec("text", "north", accept=("n",))),
]
# Characters that reach deep into the parsers, plus anything at all.
PIECES = [
    *"0123456789xy+-*/^().=, \u00bd\u00b2\u2212e%$\u00b1",
    "pi",
    "sqrt",
    "sin",
    " or ",
    "**",
    "\\frac{",
]
MATHS = st.lists(st.sampled_from(PIECES), max_size=40).map("".join)
ANY_TEXT = st.one_of(st.text(max_size=300), MATHS)
FAST = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@FAST
@given(answer_key=st.sampled_from(KEYS), typed=ANY_TEXT)
def test_it_never_raises_on_any_input(answer_key, typed):
    verdict = check_answer(answer_key, typed)
    assert isinstance(verdict, Verdict)
    assert isinstance(verdict.feedback, str)
    assert verdict.feedback
    assert (verdict.parse_error is None) == (verdict.normalized is not None)


@FAST
@given(answer_key=st.sampled_from(KEYS), typed=st.binary(max_size=200))
def test_it_never_raises_on_binary_garbage(answer_key, typed):
    assert check_answer(answer_key, typed.decode("utf-8", "replace")).correct in (
        True,
        False,
    )
    assert check_answer(answer_key, typed).correct in (True, False)


COEFFICIENT = st.integers(-12, 12).filter(bool)


def signed(term):
    return term if term.startswith("-") else f"+ {term}"


@FAST
@given(scale=COEFFICIENT, a=COEFFICIENT, b=COEFFICIENT)
def test_it_accepts_reordered_linear_forms_and_flags_factored_ones(scale, a, b):
    expanded = f"{scale * a}x {signed(str(scale * b))}"
    strict = AnswerKey(AnswerSpec("expression", expanded))
    loose = AnswerKey(AnswerSpec("expression", expanded, allow=("unsimplified",)))
    factored = f"{scale}({a}x {signed(str(b))})"
    reordered = f"{scale * b} {signed(f'{scale * a}x')}"
    assert check_answer(strict, reordered).correct is True
    unexpanded = check_answer(strict, factored)
    assert unexpanded.misconception.code == NOT_SIMPLIFIED
    assert unexpanded.normalized != check_answer(strict, expanded).normalized
    assert check_answer(loose, factored).correct is True
    assert check_answer(loose, f"({a}x {signed(str(b))})({scale})").correct is True
    wrong = f"{scale}({a}x {signed(str(b + 1))})"
    assert check_answer(strict, wrong).correct is False
    assert check_answer(loose, wrong).correct is False


@FAST
@given(scale=st.integers(2, 12), a=COEFFICIENT, b=COEFFICIENT)
def test_it_wants_the_factorised_form_when_the_key_is_factorised(scale, a, b):
    factorised = AnswerKey(AnswerSpec("expression", f"{scale}({a}x {signed(str(b))})"))
    assert check_answer(factorised, f"({a}x {signed(str(b))})*{scale}").correct is True
    expanded = check_answer(factorised, f"{scale * a}x {signed(str(scale * b))}")
    assert expanded.misconception.code == WRONG_FORM


@FAST
@given(solution=st.integers(-50, 50), a=st.integers(2, 9), b=st.integers(-9, 9))
def test_it_accepts_solved_forms_and_flags_unsolved_ones(solution, a, b):
    answer_key = AnswerKey(AnswerSpec("equation", f"x = {solution}"))
    assert check_answer(answer_key, f"{solution} = x").correct is True
    assert check_answer(answer_key, str(solution)).correct is True
    unsolved = check_answer(answer_key, f"{a}x {signed(str(b))} = {a * solution + b}")
    assert unsolved.correct is False
    assert unsolved.misconception.code == NOT_SOLVED


@FAST
@given(
    numerator=st.integers(-40, 40),
    denominator=st.integers(1, 40),
    factor=st.integers(2, 12),
)
def test_it_treats_a_scaled_fraction_as_equal_when_unsimplified_is_allowed(
    numerator, denominator, factor
):
    value = Fraction(numerator, denominator)
    if value.denominator == 1:
        return
    simplest = f"{value.numerator}/{value.denominator}"
    scaled = f"{value.numerator * factor}/{value.denominator * factor}"
    allowing = AnswerKey(AnswerSpec("fraction", simplest, allow=("unsimplified",)))
    strict = AnswerKey(AnswerSpec("fraction", simplest))
    assert check_answer(allowing, scaled).correct is True
    assert check_answer(allowing, simplest).correct is True
    assert check_answer(strict, scaled).misconception.code == NOT_SIMPLIFIED
    assert check_answer(strict, simplest).correct is True


@FAST
@given(
    answer_key=st.sampled_from(KEYS),
    text=ANY_TEXT,
    known=st.lists(ANY_TEXT, max_size=2),
)
def test_it_never_raises_when_looking_for_the_answer_in_text(answer_key, text, known):
    found = find_answer_in_text(answer_key, text, known)
    if found is not None:
        start, end = found.span
        assert 0 <= start < end <= len(text)
        assert text[start:end] == found.value


@FAST
@given(answer=st.integers(0, 999), prefix=st.integers(1, 9), suffix=st.integers(0, 9))
def test_it_finds_an_integer_only_where_it_stands_alone(answer, prefix, suffix):
    answer_key = AnswerKey(AnswerSpec("integer", str(answer)))
    assert find_answer_in_text(answer_key, f"so the answer is {answer}.").value == str(
        answer
    )
    assert (
        find_answer_in_text(
            answer_key, f"we get {prefix}{answer} and {answer}.{suffix}5"
        )
        is None
    )
    assert (
        find_answer_in_text(answer_key, f"look at x^{answer} and {answer}x + y = z")
        is None
    )
    assert find_answer_in_text(answer_key, f"you said {answer}", [str(answer)]) is None


MAPPED_TEXT = st.text(
    alphabet=st.sampled_from([*"ab xyz019.,-+/=()[]{}*_$`\\^!?'\"%:\n\t", "\u2212", "\u00bd", "\u00d7", "\u00b2", "\u03c0", "\u2014", "\u00e9"]),
    max_size=60,
)


@settings(max_examples=400, deadline=None)
@given(MAPPED_TEXT, st.booleans())
@example("a _b $x$ `c` **d** {e} [f]\t\\frac{1}{2}", True)
@example("a _b $x$ `c` **d** {e} [f]\t\\frac{1}{2}", False)
def test_copying_plain_runs_maps_text_exactly_as_char_by_char(raw, prose):
    from curriculum.checking import text

    fast = text.map_text(raw, prose=prose)
    plain_run = text._PLAIN_RUN
    try:
        text._PLAIN_RUN = re.compile(r"(?!)")  # never matches: every character takes the slow path
        slow = text.map_text(raw, prose=prose)
    finally:
        text._PLAIN_RUN = plain_run
    assert fast == slow
