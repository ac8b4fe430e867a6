"""Statistics for the eval gate: pure functions over plain numbers and numpy arrays.

Every function here is deterministic: the bootstrap takes an explicit seed. Nothing imports Django.

Conventions
- A *paired difference* ``d_i`` is, for case ``i``, the candidate's mean over its repeats minus the
  baseline's mean over its repeats, oriented so that positive means "candidate better".
- Cases are the unit of resampling and of every test (repeats are nested inside a case and are not
  independent of each other).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy import stats as sps

# Bootstrap resamples are drawn in chunks so that memory stays near this many indices at once.
_BOOTSTRAP_CHUNK_CELLS = 4_000_000


class BootstrapCI(NamedTuple):
    mean: float
    low: float
    high: float


class WinsTiesLosses(NamedTuple):
    wins: int
    ties: int
    losses: int


class HolmResult(NamedTuple):
    adjusted: tuple[float, ...]
    reject: tuple[bool, ...]


class NonInferiorityTest(NamedTuple):
    """One-sided paired t-tests of the mean difference against ``-margin``.

    ``p_noninferior``: H0 mean <= -margin; small means "shown to be no worse than the margin".
    ``p_inferior``: H0 mean >= -margin; small means "shown to be worse than the margin".
    """

    mean: float
    se: float
    p_noninferior: float
    p_inferior: float


def _as_1d(values: ArrayLike) -> np.ndarray:
    arr = np.asarray(values, dtype=float).ravel()
    if np.isnan(arr).any():
        raise ValueError("values contain NaN")
    return arr


def paired_bootstrap_ci(
    diffs_per_case: ArrayLike,
    *,
    confidence: float = 0.95,
    n_resamples: int = 10_000,
    seed: int | Sequence[int],
) -> BootstrapCI:
    """Percentile bootstrap CI of the mean paired difference, resampling whole cases.

    ``diffs_per_case`` holds one value per case (already averaged over that case's repeats), so a
    resample draws cases with replacement and keeps each case's repeats together: cases are the
    clusters. With fewer than two cases nothing can be said about spread and the interval is
    ``(-inf, +inf)``; with no cases the mean is NaN as well.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}")
    d = _as_1d(diffs_per_case)
    n = d.size
    if n == 0:
        return BootstrapCI(math.nan, -math.inf, math.inf)
    mean = float(d.mean())
    if n == 1:
        return BootstrapCI(mean, -math.inf, math.inf)
    rng = np.random.default_rng(seed)
    means = np.empty(n_resamples, dtype=float)
    chunk = max(1, _BOOTSTRAP_CHUNK_CELLS // n)
    for start in range(0, n_resamples, chunk):
        stop = min(start + chunk, n_resamples)
        idx = rng.integers(
            0, n, size=(stop - start, n), dtype=np.int32 if n < 2**31 else np.int64
        )
        means[start:stop] = d[idx].mean(axis=1)
    tail = (1 - confidence) / 2
    low, high = np.quantile(means, [tail, 1 - tail])
    # Guard against floating-point dust putting the point estimate outside a degenerate interval.
    return BootstrapCI(mean, float(min(low, mean)), float(max(high, mean)))


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar test: a binomial test of ``b`` against ``b + c`` at p = 1/2.

    ``b`` and ``c`` are the discordant pairs (baseline-only passes, candidate-only passes). The
    two-sided p-value is ``min(1, 2 * P[X <= min(b, c)])`` with ``X ~ Bin(b + c, 1/2)``, which is
    what ``scipy.stats.binomtest(b, b + c, 0.5)`` returns for this symmetric case.
    """
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts must be >= 0, got b={b}, c={c}")
    n = b + c
    if n == 0:
        return 1.0
    return float(min(1.0, 2.0 * sps.binom.cdf(min(b, c), n, 0.5)))


def wins_ties_losses(diffs: ArrayLike, *, tol: float = 1e-12) -> WinsTiesLosses:
    """Count cases where the candidate is better (d > tol), equal, or worse (d < -tol)."""
    d = _as_1d(diffs)
    wins = int((d > tol).sum())
    losses = int((d < -tol).sum())
    return WinsTiesLosses(wins, int(d.size) - wins - losses, losses)


def holm(p_values: Sequence[float], *, alpha: float = 0.05) -> HolmResult:
    """Holm step-down adjustment (controls the family-wise error rate at ``alpha``).

    Sorted ascending, the i-th smallest p (1-based) is multiplied by ``m - i + 1``; adjusted
    values are made monotone with a running maximum and capped at 1. A hypothesis is rejected
    when its adjusted p-value is <= ``alpha``. Results keep the input order.
    """
    p = np.asarray(p_values, dtype=float)
    m = p.size
    if m == 0:
        return HolmResult((), ())
    if np.isnan(p).any() or (p < 0).any() or (p > 1).any():
        raise ValueError("p-values must be in [0, 1]")
    order = np.argsort(p, kind="stable")
    scaled = p[order] * (m - np.arange(m))
    adjusted_sorted = np.minimum(1.0, np.maximum.accumulate(scaled))
    adjusted = np.empty(m, dtype=float)
    adjusted[order] = adjusted_sorted
    return HolmResult(
        tuple(float(x) for x in adjusted), tuple(bool(x <= alpha) for x in adjusted)
    )


def _sd_from(sd_of_diffs: float | None, discordant_share: float | None) -> float:
    if (sd_of_diffs is None) == (discordant_share is None):
        raise ValueError("give exactly one of sd_of_diffs or discordant_share")
    if discordant_share is not None:
        if not 0 <= discordant_share <= 1:
            raise ValueError(
                f"discordant_share must be in [0, 1], got {discordant_share}"
            )
        # For a binary metric d_i is -1, 0 or +1 and Var(d) = p_disc - (p_c - p_b)^2 <= p_disc;
        # at no difference (the planning case) the standard deviation is sqrt(p_disc).
        return math.sqrt(discordant_share)
    assert sd_of_diffs is not None
    if sd_of_diffs < 0:
        raise ValueError(f"sd_of_diffs must be >= 0, got {sd_of_diffs}")
    return float(sd_of_diffs)


def ci_half_width(
    n_cases: int,
    *,
    sd_of_diffs: float | None = None,
    discordant_share: float | None = None,
    confidence: float = 0.95,
) -> float:
    """Normal-approximation half-width of the two-sided CI of the mean difference.

    ``z_{1-(1-confidence)/2} * sd / sqrt(n)``: the "resolution" of a suite. For a binary metric
    with 15% discordant cases and 400 cases: 1.96 * sqrt(0.15 / 400) = 0.038 (+/-3.8 points).
    """
    if n_cases <= 0:
        return math.inf
    sd = _sd_from(sd_of_diffs, discordant_share)
    return float(sps.norm.ppf(1 - (1 - confidence) / 2) * sd / math.sqrt(n_cases))


def minimum_detectable_effect(
    n_cases: int,
    *,
    sd_of_diffs: float | None = None,
    discordant_share: float | None = None,
    alpha: float = 0.05,
    power: float = 0.8,
) -> float:
    """Smallest true mean difference a two-sided test at ``alpha`` detects with ``power``.

    ``MDE = (z_{1-alpha/2} + z_{power}) * sd / sqrt(n)``, with ``sd = sqrt(discordant_share)``
    for a binary metric. At ``power=0.5`` (z = 0) this equals :func:`ci_half_width`, which is the
    design note's "a 400-case suite with 15% discordant cases resolves about +/-3.8 points";
    at the default 80% power the same suite's MDE is 2.80 * sqrt(0.15/400) = 0.054.
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if not 0 < power < 1:
        raise ValueError(f"power must be in (0, 1), got {power}")
    if n_cases <= 0:
        return math.inf
    sd = _sd_from(sd_of_diffs, discordant_share)
    z = sps.norm.ppf(1 - alpha / 2) + sps.norm.ppf(power)
    return float(z * sd / math.sqrt(n_cases))


def clopper_pearson_upper(k: float, n: int, *, confidence: float = 0.95) -> float:
    """Exact one-sided upper confidence bound for a binomial rate with ``k`` events in ``n``.

    ``k`` may be fractional (a sum of per-case rates in [0, 1]); the Beta quantile accepts it.
    Zero events give ``1 - (1 - confidence) ** (1 / n)`` (the "rule of three" for large n).
    """
    if n <= 0:
        return 1.0
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    if k >= n:
        return 1.0
    return float(sps.beta.ppf(confidence, k + 1, n - k))


def wilson_upper(k: float, n: int, *, confidence: float = 0.95) -> float:
    """One-sided Wilson score upper bound for a binomial rate (approximate, never above 1)."""
    if n <= 0:
        return 1.0
    if not 0 <= k <= n:
        raise ValueError(f"need 0 <= k <= n, got k={k}, n={n}")
    z = float(sps.norm.ppf(confidence))
    p = k / n
    denom = 1 + z * z / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return float(min(1.0, (centre + spread) / denom))


def pass_hat_k(n: int, c: int, k: int) -> float:
    """Unbiased estimate of pass^k: the chance that k repeats drawn from n all pass (c passed).

    ``C(c, k) / C(n, k)``; equals 1 only when every one of the n repeats passed.
    """
    if not 0 <= c <= n:
        raise ValueError(f"need 0 <= c <= n, got c={c}, n={n}")
    if k < 1 or k > n:
        raise ValueError(f"need 1 <= k <= n, got k={k}, n={n}")
    return math.comb(c, k) / math.comb(n, k)


def pass_k(outcomes: Sequence[bool], k: int) -> bool:
    """A case passes pass^k when it has at least ``k`` repeats and every one of them passed."""
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return len(outcomes) >= k and all(outcomes)


def non_inferiority_test(diffs: ArrayLike, margin: float) -> NonInferiorityTest:
    """One-sided paired t-tests of the mean case-level difference against ``-margin``.

    ``t = (mean(d) + margin) / (sd(d) / sqrt(n))`` with n - 1 degrees of freedom.
    ``p_noninferior = P[T >= t]`` tests H0 "worse than the margin"; ``p_inferior = P[T <= t]``
    tests H0 "no worse than the margin", the one the gate adjusts with Holm across slices.
    With zero spread the decision is exact (0 or 1); with fewer than two cases both are 1.
    """
    if margin < 0:
        raise ValueError(f"margin must be >= 0, got {margin}")
    d = _as_1d(diffs)
    n = d.size
    if n < 2:
        mean = float(d.mean()) if n else math.nan
        return NonInferiorityTest(mean, math.inf, 1.0, 1.0)
    mean = float(d.mean())
    se = float(d.std(ddof=1) / math.sqrt(n))
    shifted = mean + margin
    if se == 0:
        return NonInferiorityTest(
            mean, 0.0, 0.0 if shifted > 0 else 1.0, 0.0 if shifted < 0 else 1.0
        )
    t = shifted / se
    return NonInferiorityTest(
        mean, se, float(sps.t.sf(t, n - 1)), float(sps.t.cdf(t, n - 1))
    )
