"""Fitting BKT parameters by EM (tutor.mastery.fit) on students simulated from known parameters."""

import itertools
import math

import numpy as np
import pytest

from tutor.mastery import bkt
from tutor.mastery.bkt import POOLED_DEFAULTS, BKTParams
from tutor.mastery.fit import (
    MAX_GUESS_SLIP,
    fit_all,
    fit_pooled,
    fit_skill,
    log_likelihood,
    rejection_reason,
)

TRUE = BKTParams(prior=0.3, learn=0.15, guess=0.2, slip=0.1)
TRUE_FORGETTING = BKTParams(prior=0.3, learn=0.2, guess=0.15, slip=0.1, forget=0.05)
POOLED = BKTParams(prior=0.5, learn=0.1, guess=0.2, slip=0.1)


def simulate(params, n_students, min_len, max_len, seed):
    """Students drawn from the BKT generative model; one boolean array each."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(min_len, max_len + 1, n_students)
    known = rng.random(n_students) < params.prior
    answers = np.zeros((n_students, lengths.max()), dtype=bool)
    for t in range(lengths.max()):
        answers[:, t] = rng.random(n_students) < np.where(
            known, 1 - params.slip, params.guess
        )
        u = rng.random(n_students)
        known = np.where(known, u >= params.forget, u < params.learn)
    return [answers[i, : lengths[i]] for i in range(n_students)]


def brute_force_log_likelihood(sequences, params):
    """Sum over every hidden path of every (short) sequence."""
    total = 0.0
    for seq in sequences:
        likelihood = 0.0
        for path in itertools.product([True, False], repeat=len(seq)):
            p = params.prior if path[0] else 1 - params.prior
            for t, (known, correct) in enumerate(zip(path, seq, strict=True)):
                p_correct = 1 - params.slip if known else params.guess
                p *= p_correct if correct else 1 - p_correct
                if t + 1 < len(seq):
                    stays = 1 - params.forget if known else 1 - params.learn
                    p *= stays if path[t + 1] == known else 1 - stays
            likelihood += p
        total += math.log(likelihood)
    return total


def assert_close(fitted, true, tol):
    for name, value in true.as_dict().items():
        assert getattr(fitted, name) == pytest.approx(value, abs=tol.get(name, 0.03)), (
            name
        )


def test_it_computes_the_exact_log_likelihood():
    sequences = [
        np.array(s, dtype=bool) for s in ([1], [0, 1], [1, 1, 0, 1], [0, 0, 0, 1, 1, 1])
    ]
    for params in (TRUE, TRUE_FORGETTING):
        expected = brute_force_log_likelihood(sequences, params)
        assert log_likelihood(sequences, params) == pytest.approx(expected, abs=1e-9)


def test_it_computes_the_log_likelihood_of_long_sequences_step_by_step():
    sequences = simulate(
        TRUE_FORGETTING, 20, 1, 400, seed=3
    )  # long enough to be chunked
    expected = 0.0
    for seq in sequences:
        p_known = TRUE_FORGETTING.prior
        for correct in seq:
            p_correct = bkt.predict_correct(p_known, TRUE_FORGETTING)
            expected += math.log(p_correct if correct else 1 - p_correct)
            p_known = bkt.update(p_known, bool(correct), TRUE_FORGETTING)
    assert log_likelihood(sequences, TRUE_FORGETTING) == pytest.approx(
        expected, rel=1e-10
    )


def test_it_recovers_the_parameters_of_simulated_students():
    sequences = simulate(TRUE, 1000, 2, 30, seed=1)
    result = fit_skill(sequences, shrink_k=0)
    assert_close(result.params, TRUE, {"prior": 0.04})
    assert result.params.forget == 0.0
    assert result.converged
    assert result.rejected_reason is None
    assert result.n_students == 1000
    assert result.n_attempts == sum(len(s) for s in sequences)
    assert result.log_likelihood == pytest.approx(
        log_likelihood(sequences, result.params)
    )
    assert result.log_likelihood > log_likelihood(
        sequences, TRUE
    )  # the MLE beats the truth


def test_it_recovers_forgetting_from_long_sequences():
    sequences = simulate(TRUE_FORGETTING, 400, 20, 120, seed=2)
    result = fit_skill(sequences, forgetting=True, shrink_k=0)
    assert_close(result.params, TRUE_FORGETTING, {"prior": 0.06, "forget": 0.015})
    assert result.converged


def test_it_keeps_guess_and_slip_within_the_bound():
    sloppy = BKTParams(prior=0.3, learn=0.2, guess=0.55, slip=0.45)
    sequences = simulate(sloppy, 300, 5, 20, seed=4)
    for forgetting in (False, True):
        result = fit_skill(sequences, forgetting=forgetting, pooled=POOLED)
        assert result.params.guess <= MAX_GUESS_SLIP
        assert result.params.slip <= MAX_GUESS_SLIP
    tighter = fit_skill(sequences, pooled=POOLED, max_guess_slip=0.2)
    assert tighter.params.guess <= 0.2
    assert tighter.params.slip <= 0.2


def test_it_falls_back_to_pooled_when_nobody_ever_knows_the_skill():
    result = fit_skill([np.zeros(10, dtype=bool)] * 50, pooled=POOLED)
    assert result.params == POOLED
    assert (
        result.rejected_reason == "learn ~ 0 and prior ~ 0: nobody ever knows the skill"
    )
    assert result.shrunk is False
    assert result.log_likelihood == pytest.approx(
        log_likelihood([np.zeros(10, bool)] * 50, POOLED)
    )


def test_it_names_degenerate_parameters():
    assert rejection_reason(TRUE, -10.0) is None
    assert rejection_reason(TRUE, math.nan) == "non-finite log-likelihood"
    inverted = BKTParams(prior=0.5, learn=0.1, guess=0.6, slip=0.4)
    assert rejection_reason(inverted, -10.0).startswith("guess + slip >= 1")
    nobody = BKTParams(prior=0.0, learn=0.0, guess=0.2, slip=0.1)
    assert rejection_reason(nobody, -10.0).startswith("learn ~ 0 and prior ~ 0")


def test_it_shrinks_a_skill_with_little_data_toward_pooled():
    sequences = [np.array([True, True, True]), np.array([True, True, False, True])]
    result = fit_skill(sequences, pooled=POOLED)  # 7 attempts: pooled weight 50/57
    assert result.shrunk is True
    assert result.rejected_reason is None
    for name, value in POOLED.as_dict().items():
        assert getattr(result.params, name) == pytest.approx(value, abs=0.13), name
    unshrunk = fit_skill(sequences, pooled=POOLED, shrink_k=0)
    assert unshrunk.shrunk is False
    assert abs(unshrunk.params.prior - POOLED.prior) > abs(
        result.params.prior - POOLED.prior
    )


def test_it_barely_shrinks_a_skill_with_plenty_of_data():
    result = fit_skill(simulate(TRUE, 1000, 2, 30, seed=1), pooled=POOLED)
    assert result.shrunk is False
    assert_close(result.params, TRUE, {"prior": 0.04})


def test_it_gives_skills_without_attempts_the_pooled_parameters():
    results = fit_all({"empty": [], "blank": [np.array([], dtype=bool)]}, pooled=POOLED)
    for result in results.values():
        assert result.params == POOLED
        assert result.rejected_reason == "no attempts"
        assert (result.n_students, result.n_attempts) == (0, 0)
        assert math.isnan(result.log_likelihood)


def test_it_fits_every_skill_in_one_call_and_the_pooled_prior():
    by_skill = {
        "fractions": simulate(TRUE, 600, 2, 25, seed=5),
        "decimals": simulate(
            BKTParams(prior=0.6, learn=0.05, guess=0.25, slip=0.05), 600, 2, 25, seed=6
        ),
    }
    results = fit_all(by_skill, shrink_k=0)
    assert set(results) == {"fractions", "decimals"}
    assert_close(results["fractions"].params, TRUE, {"prior": 0.05})
    assert results["decimals"].params.prior == pytest.approx(0.6, abs=0.05)
    pooled = fit_pooled(by_skill)
    assert pooled.n_attempts == sum(r.n_attempts for r in results.values())
    assert pooled.rejected_reason is None
    assert (
        results["fractions"].params.prior
        < pooled.params.prior
        < results["decimals"].params.prior
    )


def test_it_falls_back_to_the_defaults_when_there_is_nothing_to_pool():
    result = fit_pooled({"empty": []})
    assert result.params == POOLED_DEFAULTS
    assert result.rejected_reason == "no attempts"
