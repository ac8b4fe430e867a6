import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from evals.gate import stats


def test_it_matches_scipy_binomtest_for_exact_mcnemar():
    for b, c in [
        (0, 0),
        (0, 1),
        (1, 0),
        (3, 3),
        (2, 9),
        (9, 2),
        (10, 25),
        (40, 61),
        (0, 12),
        (57, 31),
    ]:
        expected = 1.0 if b + c == 0 else sps.binomtest(b, b + c, 0.5).pvalue
        assert stats.mcnemar_exact(b, c) == pytest.approx(
            expected, rel=1e-12, abs=1e-15
        )


def test_it_gives_known_mcnemar_values():
    # b=2, c=9: 2 * P[X <= 2], X ~ Bin(11, 1/2) = 2 * (1 + 11 + 55) / 2048
    assert stats.mcnemar_exact(2, 9) == pytest.approx(134 / 2048)
    assert stats.mcnemar_exact(5, 5) == 1.0
    assert stats.mcnemar_exact(0, 0) == 1.0


def test_it_rejects_negative_mcnemar_counts():
    with pytest.raises(ValueError, match="discordant"):
        stats.mcnemar_exact(-1, 3)


@given(st.integers(0, 300), st.integers(0, 300))
@settings(max_examples=60, deadline=None)
def test_it_keeps_mcnemar_symmetric_and_in_range(b, c):
    p = stats.mcnemar_exact(b, c)
    assert 0 < p <= 1
    assert p == stats.mcnemar_exact(c, b)


def test_it_matches_hand_computed_holm():
    # sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1=0.04 -> running max 0.02 0.03 0.06 0.06
    result = stats.holm([0.01, 0.04, 0.03, 0.005], alpha=0.05)
    assert result.adjusted == pytest.approx((0.03, 0.06, 0.06, 0.02))
    assert result.reject == (True, False, False, True)


def test_it_caps_holm_at_one_and_handles_an_empty_family():
    assert stats.holm([0.5, 0.9]).adjusted == (1.0, 1.0)
    assert stats.holm([]) == ((), ())


@given(st.lists(st.floats(0, 1), min_size=1, max_size=20))
@settings(max_examples=60, deadline=None)
def test_it_never_lowers_a_p_value_with_holm(ps):
    result = stats.holm(ps)
    assert all(a >= p - 1e-15 for a, p in zip(result.adjusted, ps, strict=True))
    assert all(a <= 1 for a in result.adjusted)
    order = np.argsort(ps, kind="stable")
    adjusted_sorted = np.asarray(result.adjusted)[order]
    assert (np.diff(adjusted_sorted) >= -1e-15).all()


def test_it_counts_wins_ties_and_losses():
    assert stats.wins_ties_losses([0.5, 0, 0, -0.25, 1e-15, -1]) == (1, 3, 2)


def test_it_covers_the_true_mean_with_the_bootstrap_ci():
    rng = np.random.default_rng(7)
    true_mean, hits, sims = 0.02, 0, 300
    for i in range(sims):
        diffs = rng.normal(true_mean, 0.1, size=120)
        ci = stats.paired_bootstrap_ci(diffs, n_resamples=2000, seed=i)
        hits += ci.low <= true_mean <= ci.high
    coverage = hits / sims
    assert 0.91 <= coverage <= 0.98


def test_it_reproduces_the_bootstrap_ci_for_a_seed():
    diffs = np.random.default_rng(3).normal(0, 0.2, size=50)
    first = stats.paired_bootstrap_ci(diffs, seed=11)
    assert stats.paired_bootstrap_ci(diffs, seed=11) == first
    assert stats.paired_bootstrap_ci(diffs, seed=12) != first
    assert first.mean == pytest.approx(diffs.mean())
    assert first.low < first.mean < first.high


def test_it_resamples_in_chunks_without_changing_the_answer_shape(monkeypatch):
    diffs = np.linspace(-1, 1, 21)
    monkeypatch.setattr(stats, "_BOOTSTRAP_CHUNK_CELLS", 100)
    ci = stats.paired_bootstrap_ci(diffs, n_resamples=1000, seed=0)
    assert ci.low < 0 < ci.high
    assert ci.high - ci.low == pytest.approx(
        2 * 1.96 * diffs.std() / math.sqrt(21), rel=0.15
    )


def test_it_gives_a_point_ci_for_identical_results_and_an_unbounded_one_for_one_case():
    assert stats.paired_bootstrap_ci(np.zeros(400), seed=0) == (0.0, 0.0, 0.0)
    one = stats.paired_bootstrap_ci([0.3], seed=0)
    assert one.mean == 0.3
    assert one.low == -math.inf
    assert one.high == math.inf
    empty = stats.paired_bootstrap_ci([], seed=0)
    assert math.isnan(empty.mean)


def test_it_reproduces_the_design_notes_resolution_of_3_8_points():
    # 400 cases, 15% discordant, 95%: 1.96 * sqrt(0.15 / 400) = 0.03795
    half_width = stats.ci_half_width(400, discordant_share=0.15, confidence=0.95)
    assert half_width == pytest.approx(0.038, abs=5e-4)
    assert stats.minimum_detectable_effect(
        400, discordant_share=0.15, alpha=0.05, power=0.5
    ) == pytest.approx(half_width)
    # at 80% power the same suite reliably detects only (1.96 + 0.84) * sqrt(0.15/400) = 0.054
    assert stats.minimum_detectable_effect(400, discordant_share=0.15) == pytest.approx(
        0.0542, abs=5e-4
    )


def test_it_detects_an_effect_of_the_mde_with_about_80_percent_power():
    n, p_disc = 400, 0.15
    mde = stats.minimum_detectable_effect(n, discordant_share=p_disc)
    rng = np.random.default_rng(5)
    # discordant cases split so that the mean difference is the MDE
    p_up, p_down = (p_disc + mde) / 2, (p_disc - mde) / 2
    draws = rng.choice([1, -1, 0], p=[p_up, p_down, 1 - p_disc], size=(4000, n))
    z = draws.mean(axis=1) / (draws.std(axis=1, ddof=1) / math.sqrt(n))
    power = (np.abs(z) > 1.96).mean()
    assert 0.76 <= power <= 0.84


def test_it_refuses_an_ambiguous_mde_spread():
    with pytest.raises(ValueError, match="exactly one"):
        stats.minimum_detectable_effect(100, sd_of_diffs=0.1, discordant_share=0.1)
    with pytest.raises(ValueError, match="exactly one"):
        stats.ci_half_width(100)
    assert stats.minimum_detectable_effect(0, sd_of_diffs=0.1) == math.inf


def test_it_matches_scipy_for_clopper_pearson_and_wilson_upper_bounds():
    for k, n in [(0, 400), (3, 400), (8, 400), (1, 12), (50, 60)]:
        exact = (
            sps.binomtest(k, n)
            .proportion_ci(confidence_level=0.90, method="exact")
            .high
        )
        wilson = (
            sps.binomtest(k, n)
            .proportion_ci(confidence_level=0.90, method="wilson")
            .high
        )
        assert stats.clopper_pearson_upper(k, n, confidence=0.95) == pytest.approx(
            exact
        )
        assert stats.wilson_upper(k, n, confidence=0.95) == pytest.approx(wilson)
    assert stats.clopper_pearson_upper(0, 400) == pytest.approx(1 - 0.05 ** (1 / 400))
    assert stats.clopper_pearson_upper(5, 5) == 1.0
    assert stats.clopper_pearson_upper(0, 0) == 1.0


def test_it_accepts_a_fractional_event_count_for_the_exact_bound():
    low = stats.clopper_pearson_upper(1, 100)
    high = stats.clopper_pearson_upper(2, 100)
    assert low < stats.clopper_pearson_upper(1.5, 100) < high


def test_it_computes_pass_hat_k_and_pass_k():
    assert stats.pass_hat_k(3, 3, 3) == 1.0
    assert stats.pass_hat_k(5, 4, 3) == pytest.approx(4 / 10)
    assert stats.pass_hat_k(3, 2, 3) == 0.0
    assert stats.pass_k([True, True, True], 3)
    assert not stats.pass_k([True, True], 3)
    assert not stats.pass_k([True, False, True, True], 3)


def test_it_matches_a_shifted_one_sided_t_test_for_non_inferiority():
    diffs = np.random.default_rng(2).normal(-0.02, 0.15, size=60)
    result = stats.non_inferiority_test(diffs, margin=0.05)
    greater = sps.ttest_1samp(diffs + 0.05, 0, alternative="greater").pvalue
    less = sps.ttest_1samp(diffs + 0.05, 0, alternative="less").pvalue
    assert result.p_noninferior == pytest.approx(greater)
    assert result.p_inferior == pytest.approx(less)
    assert result.p_noninferior + result.p_inferior == pytest.approx(1)


def test_it_decides_non_inferiority_exactly_without_spread():
    assert stats.non_inferiority_test([-0.1] * 40, margin=0.05).p_inferior == 0.0
    assert stats.non_inferiority_test([0.0] * 40, margin=0.05).p_inferior == 1.0
    assert stats.non_inferiority_test([0.0] * 40, margin=0.05).p_noninferior == 0.0
    assert stats.non_inferiority_test([-0.3], margin=0.05).p_inferior == 1.0
