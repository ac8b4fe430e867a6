"""The pure BKT update, levels and spaced review (tutor.mastery.bkt): no database."""

import math

import numpy as np
import pytest

from tutor.mastery import bkt
from tutor.mastery.bkt import BKTParams

PARAMS = BKTParams(prior=0.4, learn=0.15, guess=0.2, slip=0.1)
FORGETFUL = BKTParams(prior=0.4, learn=0.15, guess=0.2, slip=0.1, forget=0.05)


def test_it_predicts_correct_with_the_closed_form():
    # 0.4 * (1 - 0.1) + 0.6 * 0.2
    assert bkt.predict_correct(0.4, PARAMS) == pytest.approx(0.48)
    assert bkt.expected_success(0.4, PARAMS) == bkt.predict_correct(0.4, PARAMS)


def test_it_applies_bayes_then_learning_after_a_correct_answer():
    # posterior = 0.36 / 0.48 = 0.75; then 0.75 + 0.25 * 0.15
    assert bkt.posterior(0.4, True, PARAMS) == pytest.approx(0.75)
    assert bkt.update(0.4, True, PARAMS) == pytest.approx(0.7875)


def test_it_applies_bayes_then_learning_after_an_incorrect_answer():
    # posterior = 0.04 / (0.04 + 0.6 * 0.8) = 1/13; then 1/13 + 12/13 * 0.15 = 2.8/13
    assert bkt.posterior(0.4, False, PARAMS) == pytest.approx(1 / 13)
    assert bkt.update(0.4, False, PARAMS) == pytest.approx(2.8 / 13)


def test_it_forgets_known_students_at_the_forget_rate():
    # posterior 0.75: 0.75 * (1 - 0.05) + 0.25 * 0.15
    assert bkt.update(0.4, True, FORGETFUL) == pytest.approx(0.75)
    assert bkt.update(1.0, True, FORGETFUL) == pytest.approx(0.95)


def test_it_matches_the_hmm_forward_algorithm_over_a_sequence():
    """pyBKT's one-step predictions are the forward algorithm's P(answer_t | answers < t)."""
    answers = [True, False, False, True, True, True, False, True]
    transition = np.array(
        [
            [1 - FORGETFUL.forget, FORGETFUL.forget],
            [FORGETFUL.learn, 1 - FORGETFUL.learn],
        ]
    )
    emission_correct = np.array(
        [1 - FORGETFUL.slip, FORGETFUL.guess]
    )  # [known, unknown]
    alpha = np.array([FORGETFUL.prior, 1 - FORGETFUL.prior])
    p_known = FORGETFUL.prior
    for correct in answers:
        expected = float(alpha @ emission_correct / alpha.sum())
        assert bkt.predict_correct(p_known, FORGETFUL) == pytest.approx(
            expected, abs=1e-12
        )
        alpha = alpha * (emission_correct if correct else 1 - emission_correct)
        alpha = (alpha / alpha.sum()) @ transition
        p_known = bkt.update(p_known, correct, FORGETFUL)
        assert p_known == pytest.approx(alpha[0], abs=1e-12)


def test_it_leaves_p_known_unchanged_on_an_impossible_answer():
    certain = BKTParams(prior=1.0, learn=0.0, guess=0.0, slip=0.0)
    assert bkt.posterior(1.0, False, certain) == 1.0


def test_it_rejects_parameters_outside_zero_one():
    with pytest.raises(ValueError, match=r"BKTParams\.guess"):
        BKTParams(prior=0.5, learn=0.1, guess=1.2, slip=0.1)
    with pytest.raises(ValueError, match=r"BKTParams\.forget"):
        BKTParams(prior=0.5, learn=0.1, guess=0.2, slip=0.1, forget=-0.01)
    with pytest.raises(ValueError, match=r"BKTParams\.prior"):
        BKTParams(prior=math.nan, learn=0.1, guess=0.2, slip=0.1)


def test_it_stores_parameters_as_plain_floats():
    params = BKTParams(prior=np.float32(0.5), learn=1, guess=0.2, slip=0.1)
    assert type(params.prior) is float
    assert params.as_dict() == {
        "prior": 0.5,
        "learn": 1.0,
        "guess": 0.2,
        "slip": 0.1,
        "forget": 0.0,
    }


@pytest.mark.parametrize(
    ("p_known", "n_scored", "last_correct", "expected"),
    [
        (0.99, 0, None, "not_started"),
        (0.10, 1, False, "attempted"),
        (0.59, 4, True, "attempted"),
        (0.60, 1, True, "familiar"),
        (0.79, 2, False, "familiar"),
        (0.80, 2, True, "proficient"),
        (0.99, 2, True, "proficient"),  # too few attempts for mastery
        (0.99, 5, False, "proficient"),  # the last answer was wrong
        (0.95, 3, True, "mastered"),
        (0.999, 20, True, "mastered"),
    ],
)
def test_it_names_levels_from_p_known_attempts_and_the_last_answer(
    p_known, n_scored, last_correct, expected
):
    assert bkt.level(p_known, n_scored, last_correct) == expected
    assert expected in bkt.LEVELS


def test_it_halves_retention_every_half_life():
    assert bkt.retention(0.9, 0, 7) == 0.9
    assert bkt.retention(0.9, 7, 7) == pytest.approx(0.45)
    assert bkt.retention(0.9, 14, 7) == pytest.approx(0.225)
    with pytest.raises(ValueError, match="half_life_days"):
        bkt.retention(0.9, 1, 0)
    with pytest.raises(ValueError, match="days_since_last_practice"):
        bkt.retention(0.9, -1, 7)


def test_it_spaces_reviews_out_and_caps_the_interval():
    assert [bkt.next_review_interval(n) for n in range(5)] == [
        1.0,
        3.0,
        7.0,
        16.0,
        35.0,
    ]
    assert bkt.next_review_interval(5) == pytest.approx(77.0)
    assert bkt.next_review_interval(6) == pytest.approx(169.4)
    assert bkt.next_review_interval(7) == bkt.MAX_REVIEW_INTERVAL_DAYS
    assert bkt.next_review_interval(10**9) == bkt.MAX_REVIEW_INTERVAL_DAYS
    with pytest.raises(ValueError, match="n_successful_reviews"):
        bkt.next_review_interval(-1)
