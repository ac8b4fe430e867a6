"""Fitting BKT parameters per skill by EM (Baum-Welch), vectorised with numpy.

Input: for each skill, one boolean array per student (that student's scored attempts on the
skill, in order, True = correct). All skills and all random restarts are fitted together in one
batch, so the Python overhead is paid once per EM iteration, not once per skill:

* without forgetting, knowledge never goes away, so a student's hidden path is fully described by
  the attempt at which they learnt the skill (0 = knew it already, T = not yet). The E-step
  enumerates that time for every sequence with prefix counts: exact, and no loop over time
  (``_TauBatch``);
* with forgetting, the E-step is a scaled forward-backward pass, cut into chunks so that the
  Python loop is ~100 steps long even for sequences of thousands of attempts (``_ChainBatch``).

EM steps are over-relaxed adaptively (a unit falls back to the plain step whenever the
likelihood would drop), and a skill x restart leaves the batch once it has converged. The best
non-degenerate restart is kept; guess and slip are clipped to ``max_guess_slip`` in every
M-step; a skill whose restarts are all degenerate gets the pooled parameters; every other skill
is shrunk toward the pooled parameters with weight ``n_attempts / (n_attempts + shrink_k)``.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from tutor.mastery.bkt import POOLED_DEFAULTS, BKTParams

MAX_GUESS_SLIP = 0.3
DEFAULT_SHRINK_K = 50.0  # pseudo-attempts of pooled evidence blended into every skill
SHRUNK_AT = 0.05  # FitResult.shrunk: the pooled parameters carry at least this weight
DEFAULT_RESTARTS = 3
DEFAULT_MAX_ITER = 100
# A restart stops when its log-likelihood per attempt improves by less than this.
DEFAULT_TOL = 1e-6

_EPS = 1e-9  # parameters stay in [_EPS, 1 - _EPS] inside EM so every log is finite
_ETA_GROWTH = 1.5  # over-relaxation of EM steps, see _em
_ETA_MAX = 8.0
_PARAM_NAMES = ("prior", "learn", "guess", "slip", "forget")
_P, _L, _G, _S, _F = range(5)

K = TypeVar("K", bound=Hashable)
# One student's attempts on one skill, in order, truthy = correct.
BoolSeq = npt.ArrayLike


@dataclass(frozen=True)
class FitResult:
    """Fitted parameters of one skill, and how they were obtained.

    log_likelihood is the log-likelihood of the skill's data under ``params`` as returned (after
    shrinkage or fallback); NaN when the skill has no data. ``shrunk`` is True when the pooled
    parameters carry at least ``SHRUNK_AT`` (5%) of the weight, i.e. the skill has fewer than
    19 x shrink_k attempts; ``rejected_reason`` says why the fit was replaced by the pooled
    parameters (None when it was kept).
    """

    params: BKTParams
    log_likelihood: float
    n_students: int
    n_attempts: int
    converged: bool
    shrunk: bool
    rejected_reason: str | None


def fit_skill(
    sequences: Sequence[BoolSeq],
    *,
    forgetting: bool = False,
    pooled: BKTParams | None = None,
    n_restarts: int = DEFAULT_RESTARTS,
    max_iter: int = DEFAULT_MAX_ITER,
    tol: float = DEFAULT_TOL,
    shrink_k: float = DEFAULT_SHRINK_K,
    max_guess_slip: float = MAX_GUESS_SLIP,
    seed: int = 0,
) -> FitResult:
    """Fit one skill. Without ``pooled``, falls back to / shrinks toward ``POOLED_DEFAULTS``."""
    results = fit_all(
        {0: sequences},
        forgetting=forgetting,
        pooled=pooled if pooled is not None else POOLED_DEFAULTS,
        n_restarts=n_restarts,
        max_iter=max_iter,
        tol=tol,
        shrink_k=shrink_k,
        max_guess_slip=max_guess_slip,
        seed=seed,
    )
    return results[0]


def fit_pooled(
    attempts_by_skill: Mapping[K, Sequence[BoolSeq]],
    *,
    forgetting: bool = False,
    n_restarts: int = 1,
    max_iter: int = DEFAULT_MAX_ITER,
    tol: float = DEFAULT_TOL,
    max_guess_slip: float = MAX_GUESS_SLIP,
    seed: int = 0,
) -> FitResult:
    """One parameter set for all skills together (every sequence treated as the same skill).

    Used as the prior for sparse skills and for skills nobody has practised yet. With this much
    data one restart (from the fixed starting point) is enough. A degenerate pooled fit falls
    back to ``POOLED_DEFAULTS``.
    """
    everything = [seq for seqs in attempts_by_skill.values() for seq in seqs]
    return _fit_groups(
        [everything],
        forgetting=forgetting,
        pooled=POOLED_DEFAULTS,
        n_restarts=n_restarts,
        max_iter=max_iter,
        tol=tol,
        shrink_k=0.0,
        max_guess_slip=max_guess_slip,
        seed=seed,
    )[0]


def fit_all(
    attempts_by_skill: Mapping[K, Sequence[BoolSeq]],
    *,
    forgetting: bool = False,
    pooled: BKTParams | None = None,
    n_restarts: int = DEFAULT_RESTARTS,
    max_iter: int = DEFAULT_MAX_ITER,
    tol: float = DEFAULT_TOL,
    shrink_k: float = DEFAULT_SHRINK_K,
    max_guess_slip: float = MAX_GUESS_SLIP,
    seed: int = 0,
) -> dict[K, FitResult]:
    """Fit every skill (in one batch). Without ``pooled``, fits the pooled prior first."""
    if pooled is None:
        pooled = fit_pooled(
            attempts_by_skill,
            forgetting=forgetting,
            max_iter=max_iter,
            tol=tol,
            max_guess_slip=max_guess_slip,
            seed=seed,
        ).params
    skills = list(attempts_by_skill)
    results = _fit_groups(
        [attempts_by_skill[skill] for skill in skills],
        forgetting=forgetting,
        pooled=pooled,
        n_restarts=n_restarts,
        max_iter=max_iter,
        tol=tol,
        shrink_k=shrink_k,
        max_guess_slip=max_guess_slip,
        seed=seed,
    )
    return dict(zip(skills, results, strict=True))


def log_likelihood(sequences: Sequence[BoolSeq], params: BKTParams) -> float:
    """Log-likelihood of some students' attempts on one skill under ``params`` (forward pass)."""
    data = _Packed.from_groups([sequences])
    if data.n_attempts == 0:
        return 0.0
    batch = _ChainBatch(data, np.array([0]))
    ll, _ = batch.step(_params_array([params]), m_step=False)
    return float(ll[0])


def rejection_reason(params: BKTParams, log_likelihood: float) -> str | None:
    """Why a fit is degenerate and must not be used (None when it is fine): a non-finite
    log-likelihood; guess + slip >= 1 (a correct answer would not be evidence of knowing);
    learn ~ 0 with prior ~ 0 (nobody ever knows the skill)."""
    return _degenerate(_params_array([params])[0], log_likelihood)


def _fit_groups(
    groups: Sequence[Sequence[BoolSeq]],
    *,
    forgetting: bool,
    pooled: BKTParams,
    n_restarts: int,
    max_iter: int,
    tol: float,
    shrink_k: float,
    max_guess_slip: float,
    seed: int,
) -> list[FitResult]:
    if n_restarts < 1:
        raise ValueError("n_restarts must be >= 1")
    if not forgetting:
        pooled = BKTParams(pooled.prior, pooled.learn, pooled.guess, pooled.slip, 0.0)
    data = _Packed.from_groups(groups)
    fitted = np.flatnonzero(data.group_attempts > 0)
    rng = np.random.default_rng(seed)
    init = _initial_params(
        len(fitted) * n_restarts, n_restarts, forgetting, rng, max_guess_slip
    )
    units_group = np.repeat(fitted, n_restarts)
    params, ll, converged = _em(
        data,
        units_group,
        init,
        forgetting=forgetting,
        max_iter=max_iter,
        tol=tol,
        max_guess_slip=max_guess_slip,
    )
    pooled_row = _params_array([pooled])[0]
    unit_of = {int(g): i * n_restarts for i, g in enumerate(fitted)}
    final: list[tuple[BKTParams, bool, bool, str | None]] = []
    for g in range(len(groups)):
        n = int(data.group_attempts[g])
        if n == 0:
            final.append((pooled, False, False, "no attempts"))
            continue
        # The best restart that is not degenerate; if all are, report the best one's problem.
        units = range(unit_of[g], unit_of[g] + n_restarts)
        reasons = {u: _degenerate(params[u], float(ll[u])) for u in units}
        ok = [u for u in units if reasons[u] is None]
        if not ok:
            best = max(units, key=lambda u: ll[u] if np.isfinite(ll[u]) else -np.inf)
            final.append((pooled, bool(converged[best]), False, reasons[best]))
            continue
        best = max(ok, key=lambda u: ll[u])
        weight = n / (n + shrink_k) if shrink_k > 0 else 1.0
        blended = weight * params[best] + (1.0 - weight) * pooled_row
        blended[[_G, _S]] = np.minimum(blended[[_G, _S]], max_guess_slip)
        shrunk = 1.0 - weight >= SHRUNK_AT
        final.append((_to_params(blended), bool(converged[best]), shrunk, None))

    final_ll = np.full(len(groups), np.nan)
    if len(fitted):
        batch = _ChainBatch(data, fitted) if forgetting else _TauBatch(data, fitted)
        lls, _ = batch.step(_params_array([final[g][0] for g in fitted]), m_step=False)
        final_ll[fitted] = lls
    return [
        FitResult(
            params=p,
            log_likelihood=float(final_ll[g]),
            n_students=int(data.group_seqs[g]),
            n_attempts=int(data.group_attempts[g]),
            converged=conv,
            shrunk=shrunk,
            rejected_reason=reason,
        )
        for g, (p, conv, shrunk, reason) in enumerate(final)
    ]


def _degenerate(raw: np.ndarray, ll: float) -> str | None:
    if not np.isfinite(ll) or not np.all(np.isfinite(raw)):
        return "non-finite log-likelihood"
    if raw[_G] + raw[_S] >= 1.0:
        return "guess + slip >= 1: correct answers do not indicate knowledge"
    if raw[_L] < 1e-3 and raw[_P] < 1e-3:
        return "learn ~ 0 and prior ~ 0: nobody ever knows the skill"
    return None


def _initial_params(
    n_units: int,
    n_restarts: int,
    forgetting: bool,
    rng: np.random.Generator,
    max_gs: float,
) -> np.ndarray:
    """Restart 0 of every skill starts from a sensible fixed point, the others at random."""
    init = np.empty((n_units, 5))
    init[:, _P] = rng.uniform(0.05, 0.95, n_units)
    init[:, _L] = rng.uniform(0.01, 0.4, n_units)
    init[:, _G] = rng.uniform(0.01, max_gs, n_units)
    init[:, _S] = rng.uniform(0.01, max_gs, n_units)
    init[:, _F] = rng.uniform(0.0, 0.1, n_units) if forgetting else 0.0
    first = np.arange(0, n_units, n_restarts)
    init[first] = [
        0.5,
        0.15,
        min(0.2, max_gs),
        min(0.1, max_gs),
        0.02 if forgetting else 0.0,
    ]
    return init


def _params_array(params: Sequence[BKTParams]) -> np.ndarray:
    return np.array(
        [[getattr(p, name) for name in _PARAM_NAMES] for p in params], dtype=float
    )


def _to_params(row: np.ndarray) -> BKTParams:
    clipped = np.clip(row, 0.0, 1.0)
    return BKTParams(**{name: float(clipped[i]) for i, name in enumerate(_PARAM_NAMES)})


def _ranges(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenation of arange(start, start + count) for each pair."""
    counts = np.asarray(counts, dtype=np.int64)
    offsets = np.cumsum(counts) - counts
    return np.repeat(np.asarray(starts, dtype=np.int64) - offsets, counts) + np.arange(
        int(counts.sum()), dtype=np.int64
    )


@dataclass(frozen=True)
class _Packed:
    """All non-empty sequences of all groups (skills), concatenated, grouped by group."""

    obs: np.ndarray  # int8, every attempt
    seq_start: np.ndarray  # into obs
    seq_len: np.ndarray
    seq_correct: np.ndarray
    group_first_seq: np.ndarray
    group_seqs: np.ndarray
    group_attempts: np.ndarray

    @property
    def n_attempts(self) -> int:
        return len(self.obs)

    @classmethod
    def from_groups(cls, groups: Sequence[Sequence[BoolSeq]]) -> _Packed:
        arrays: list[np.ndarray] = []
        group_seqs = np.zeros(len(groups), dtype=np.int64)
        for g, seqs in enumerate(groups):
            for seq in seqs:
                a = np.asarray(seq)
                if a.ndim != 1:
                    raise ValueError("each sequence must be one-dimensional")
                if len(a):
                    arrays.append(a.astype(bool, copy=False))
                    group_seqs[g] += 1
        seq_len = np.array([len(a) for a in arrays], dtype=np.int64)
        obs = np.concatenate(arrays).astype(np.int8) if arrays else np.zeros(0, np.int8)
        seq_start = np.cumsum(seq_len) - seq_len
        seq_correct = (
            np.add.reduceat(obs, seq_start, dtype=np.int64)
            if len(arrays)
            else seq_len.copy()
        )
        group_first_seq = np.cumsum(group_seqs) - group_seqs
        seq_group = np.repeat(np.arange(len(groups)), group_seqs)
        group_attempts = np.bincount(seq_group, weights=seq_len, minlength=len(groups))
        return cls(
            obs=obs,
            seq_start=seq_start,
            seq_len=seq_len,
            seq_correct=seq_correct,
            group_first_seq=group_first_seq,
            group_seqs=group_seqs,
            group_attempts=group_attempts.astype(np.int64),
        )

    def seq_ids(self, groups: np.ndarray | None = None) -> np.ndarray:
        """Sequence indices of the given groups (repeats allowed), in that order."""
        if groups is None:
            return np.arange(len(self.seq_len))
        return _ranges(self.group_first_seq[groups], self.group_seqs[groups])


def _em(
    data: _Packed,
    units_group: np.ndarray,
    init: np.ndarray,
    *,
    forgetting: bool,
    max_iter: int,
    tol: float,
    max_guess_slip: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """EM for every unit (a skill x restart) at once; converged units drop out of the batch.

    Adaptive over-relaxation (Salakhutdinov & Roweis, 2003): each unit moves ``eta`` times the
    EM step, eta growing while the log-likelihood keeps improving; when it drops, the unit goes
    back to the plain EM step from its last accepted point (which never lowers the likelihood)
    and eta restarts at 1. Returns the parameters after the last plain EM step, the
    log-likelihood of the last accepted point and whether each unit converged.
    """
    n_units = len(units_group)
    theta = init.copy()  # the point each unit evaluates next
    em_acc = init.copy()  # plain EM step from the last accepted point
    ll_acc = np.full(n_units, -np.inf)
    eta = np.ones(n_units)
    converged = np.zeros(n_units, dtype=bool)
    if n_units == 0:
        return em_acc, ll_acc, converged
    unit_attempts = data.group_attempts[units_group].astype(float)
    batch_cls = _ChainBatch if forgetting else _TauBatch
    active = np.arange(n_units)
    batch = batch_cls(data, units_group[active])
    batch_units = active  # the units the current batch was built for
    for _ in range(max_iter):
        rows = np.searchsorted(batch_units, active)  # rows of the batch still active
        ll_b, em_b = batch.step(
            theta[batch_units], m_step=True, max_guess_slip=max_guess_slip
        )
        ll_new, em_new = ll_b[rows], em_b[rows]
        if not forgetting:
            em_new[:, _F] = 0.0
        gain = ll_new - ll_acc[active]
        accepted = gain >= -1e-9 * unit_attempts[active]  # NaN: rejected
        done = accepted & (np.abs(gain) < tol * unit_attempts[active])
        acc, rej = active[accepted], active[~accepted]
        ll_acc[acc] = ll_new[accepted]
        em_acc[acc] = em_new[accepted]
        step = theta[acc] + eta[acc, None] * (em_new[accepted] - theta[acc])
        theta[acc] = _clip_params(step, max_guess_slip, forgetting)
        eta[acc] = np.minimum(eta[acc] * _ETA_GROWTH, _ETA_MAX)
        theta[rej] = em_acc[rej]
        eta[rej] = 1.0
        converged[active[done]] = True
        active = active[~converged[active]]
        if len(active) == 0:
            break
        if unit_attempts[active].sum() < 0.7 * unit_attempts[batch_units].sum():
            batch = batch_cls(data, units_group[active])
            batch_units = active
    return em_acc, ll_acc, converged


def _clip_params(
    params: np.ndarray, max_gs: float, forgetting: bool = True
) -> np.ndarray:
    out: np.ndarray = np.clip(params, _EPS, 1.0 - _EPS)
    out[:, _G] = np.minimum(out[:, _G], max_gs)
    out[:, _S] = np.minimum(out[:, _S], max_gs)
    if not forgetting:
        out[:, _F] = 0.0
    return out


class _TauBatch:
    """Exact E-step for BKT without forgetting, by enumerating when each sequence learnt.

    For a sequence of length T, tau in 0..T is the number of attempts made before the skill was
    known (tau = 0: known from the start; tau = T: not known by the end). Its joint
    log-probability with the answers is linear in two prefix counts (c1 = correct answers among
    the first tau, and tau itself) plus terms at tau = 0 and tau = T, so one "slot" per
    (sequence, tau) and a segmented log-sum-exp give the posterior over tau, the likelihood and
    every expected count EM needs.
    """

    def __init__(self, data: _Packed, units_group: np.ndarray) -> None:
        seqs = data.seq_ids(units_group)
        counts = data.group_seqs[units_group]
        self.n_units = len(units_group)
        self.unit_seq_start = np.cumsum(counts) - counts
        self.seq_unit = np.repeat(np.arange(self.n_units), counts)
        seq_len = data.seq_len[seqs]
        n_slots = seq_len + 1
        self.n_slots = n_slots
        self.slot_start = np.cumsum(n_slots) - n_slots
        self.slot_end = self.slot_start + seq_len
        total = int(n_slots.sum())
        # c1[slot]: correct answers among the first tau attempts of the sequence.
        x = np.zeros(total, dtype=np.int64)
        slot_of_attempt = _ranges(self.slot_start + 1, seq_len)
        x[slot_of_attempt] = data.obs[_ranges(data.seq_start[seqs], seq_len)]
        cs = np.cumsum(x)
        self.c1 = (cs - np.repeat(cs[self.slot_start], n_slots)).astype(float)
        self.tau = (np.arange(total) - np.repeat(self.slot_start, n_slots)).astype(
            float
        )
        unit_slots = np.bincount(self.seq_unit, weights=n_slots, minlength=self.n_units)
        self.unit_slots = unit_slots.astype(np.int64)
        self.unit_slot_start = np.cumsum(self.unit_slots) - self.unit_slots
        self.u_seqs = counts.astype(float)
        self.u_len = np.bincount(self.seq_unit, weights=seq_len, minlength=self.n_units)
        self.u_correct = np.bincount(
            self.seq_unit, weights=data.seq_correct[seqs], minlength=self.n_units
        )

    def step(
        self, params: np.ndarray, *, m_step: bool, max_guess_slip: float = 1.0
    ) -> tuple[np.ndarray, np.ndarray]:
        p = np.clip(params, _EPS, 1.0 - _EPS)
        lp, l1p = np.log(p[:, _P]), np.log1p(-p[:, _P])
        ll_, l1l = np.log(p[:, _L]), np.log1p(-p[:, _L])
        lg, l1g = np.log(p[:, _G]), np.log1p(-p[:, _G])
        ls, l1s = np.log(p[:, _S]), np.log1p(-p[:, _S])
        a = lg - l1g - l1s + ls  # per correct answer made while unknown
        b = l1g - ls + l1l  # per attempt made while unknown
        c = lp - l1p + l1l - ll_  # known from the start
        d = -ll_  # never learnt within the sequence
        # Per-unit constant: every answer as if known, and one "learn" event per sequence.
        const = (
            self.u_correct * l1s
            + (self.u_len - self.u_correct) * ls
            + self.u_seqs * (l1p - l1l + ll_)
        )
        logp = self.c1 * np.repeat(a, self.unit_slots) + self.tau * np.repeat(
            b, self.unit_slots
        )
        logp[self.slot_start] += c[self.seq_unit]
        logp[self.slot_end] += d[self.seq_unit]
        peak = np.maximum.reduceat(logp, self.slot_start)
        w = np.exp(logp - np.repeat(peak, self.n_slots))
        z = np.add.reduceat(w, self.slot_start)
        seq_ll = peak + np.log(z)
        ll = np.add.reduceat(seq_ll, self.unit_seq_start) + const
        if not m_step:
            return ll, params
        w /= np.repeat(z, self.n_slots)
        w_tau = np.add.reduceat(
            w * self.tau, self.unit_slot_start
        )  # attempts while unknown
        w_c1 = np.add.reduceat(
            w * self.c1, self.unit_slot_start
        )  # correct while unknown
        w_first = np.add.reduceat(
            w[self.slot_start], self.unit_seq_start
        )  # known at start
        w_never = np.add.reduceat(w[self.slot_end], self.unit_seq_start)  # never learnt
        new = params.copy()
        new[:, _P] = w_first / self.u_seqs
        _safe_ratio(new, _L, self.u_seqs - w_first - w_never, w_tau - w_never)
        _safe_ratio(new, _G, w_c1, w_tau)
        known = self.u_len - w_tau
        _safe_ratio(new, _S, (self.u_len - self.u_correct) - (w_tau - w_c1), known)
        return ll, _clip_params(new, max_guess_slip)


def _safe_ratio(out: np.ndarray, col: int, num: np.ndarray, den: np.ndarray) -> None:
    """out[:, col] = num / den where the denominator carries evidence; else keep the old value."""
    ok = den > 1e-9
    out[ok, col] = num[ok] / den[ok]


class _ChainBatch:
    """Scaled forward-backward for BKT with forgetting, chunked so long sequences stay cheap.

    Each step of the hidden chain maps the (unnormalised) state vector by a 2x2 matrix
    M_t = transition x diag(emission_t). Every sequence is cut into chunks of ``size``
    attempts and the passes run in three phases, each a loop of numpy operations across all
    chunks of all sequences at once, so the Python loop runs ~3 x size + 2 x (number of chunks)
    times instead of 2 x the longest sequence:

    1. the product of the M_t over every chunk of a sequence that has more than one chunk;
    2. those products carry the forward state (and, transposed, the backward message) from
       chunk to chunk along each sequence;
    3. the ordinary forward and backward recursions inside every chunk, from its boundary values.

    Chunks are sorted longest first, so at step c the chunks still running are a prefix and
    most operations work on contiguous slices: element (chunk j, step c) lives at
    ``eoff[c] + j``.
    """

    def __init__(
        self, data: _Packed, units_group: np.ndarray, chunk: int | None = None
    ) -> None:
        seqs = data.seq_ids(units_group)
        counts = data.group_seqs[units_group]
        self.n_units = len(units_group)
        self.u_seqs = counts.astype(float)
        row_unit = np.repeat(np.arange(self.n_units), counts)
        lens = data.seq_len[seqs]
        n_rows = len(seqs)
        t_max = int(lens.max()) if n_rows else 0
        size = chunk if chunk is not None else _chunk_length(t_max)
        self.size = size
        # Chunks in (row, k) order: g = row_first[row] + k ...
        row_chunks = -(-lens // size)
        row_first = np.cumsum(row_chunks) - row_chunks
        g_row = np.repeat(np.arange(n_rows), row_chunks)
        g_k = np.arange(len(g_row)) - row_first[g_row]
        g_len = np.minimum(size, lens[g_row] - g_k * size)
        # ... and in working order j: longest first.
        order = np.argsort(-g_len, kind="stable")
        inv = np.empty_like(order)
        inv[order] = np.arange(len(order))
        j_row, j_k, j_len = g_row[order], g_k[order], g_len[order]
        self.chunk_unit = row_unit[j_row]
        self.m_c = len(order) - np.cumsum(np.bincount(j_len, minlength=size + 1))[:size]
        self.eoff = np.concatenate([[0], np.cumsum(self.m_c)])
        n_el = int(self.eoff[-1])
        el_c = np.repeat(np.arange(size), self.m_c)
        el_j = np.arange(n_el) - self.eoff[:-1][el_c]
        pos = data.seq_start[seqs][j_row[el_j]] + j_k[el_j] * size + el_c
        self.obs = data.obs[pos].astype(float)
        self.el_unit = self.chunk_unit[el_j]
        self.el_code = (
            2 * self.el_unit + data.obs[pos]
        )  # (unit, answer) -> emission lookup
        self.first_el = inv[row_first]  # step 0 of chunk 0 of each row
        last_j = inv[row_first + row_chunks - 1]
        self.last_el = self.eoff[j_len[last_j] - 1] + last_j  # each row's last attempt
        self.first_unit = row_unit
        # Phase 1 works on the chunks of multi-chunk rows ("linked"), longest first; their
        # elements per step are gathered through link_el[link_off[c] : link_off[c + 1]].
        linked = np.flatnonzero(row_chunks[j_row] > 1)  # j ids, already longest first
        self.n_linked = len(linked)
        link_pos = np.full(len(order), -1)
        link_pos[linked] = np.arange(len(linked))
        self.link_m = (
            len(linked)
            - np.cumsum(np.bincount(j_len[linked], minlength=size + 1))[:size]
        )
        self.link_off = np.concatenate([[0], np.cumsum(self.link_m)])
        l_c = np.repeat(np.arange(size), self.link_m)
        l_i = np.arange(int(self.link_off[-1])) - self.link_off[:-1][l_c]
        self.link_el = self.eoff[:-1][l_c] + linked[l_i]
        self.link_chunk = linked
        # Phase 2: rows ranked by number of chunks; level k lists chunk k of the rows having one.
        rank_rows = np.argsort(-row_chunks, kind="stable")
        k_max = int(row_chunks.max()) if n_rows else 0
        self.n2 = (
            n_rows - np.cumsum(np.bincount(row_chunks, minlength=k_max + 1))[:k_max]
        )
        self.off2 = np.concatenate([[0], np.cumsum(self.n2)])
        lvl = np.repeat(np.arange(k_max), self.n2)
        rank = np.arange(int(self.off2[-1])) - self.off2[:-1][lvl]
        self.lvl_chunk = inv[row_first[rank_rows[rank]] + lvl]
        self.lvl_link = link_pos[
            self.lvl_chunk
        ]  # -1 for single-chunk rows (never used)
        self.u_len = np.bincount(self.el_unit, minlength=self.n_units).astype(float)
        self.u_correct = np.bincount(
            self.el_unit, weights=self.obs, minlength=self.n_units
        )

    def step(
        self, params: np.ndarray, *, m_step: bool, max_guess_slip: float = 1.0
    ) -> tuple[np.ndarray, np.ndarray]:
        # Only EM needs parameters strictly inside (0, 1) (it divides by them); evaluation
        # uses them as they are.
        eps = _EPS if m_step else 0.0
        p = np.clip(params, eps, 1.0 - eps)
        learn, forget = p[:, _L][self.chunk_unit], p[:, _F][self.chunk_unit]
        # P(answer | known) and P(answer | unknown), looked up by (unit, answer).
        e_known = np.column_stack([p[:, _S], 1.0 - p[:, _S]]).ravel()[self.el_code]
        e_unknown = np.column_stack([1.0 - p[:, _G], p[:, _G]]).ravel()[self.el_code]
        mats = self._chunk_products(e_known, e_unknown, learn, forget)
        start = self._forward_boundaries(mats, p[:, _P][self.first_unit])
        pred, norm = self._forward(start, e_known, e_unknown, learn, forget)
        n = self.n_units
        ll = np.bincount(self.el_unit, weights=np.log(norm), minlength=n)
        if not m_step:
            return ll, params
        end = self._backward_boundaries(mats)
        back, to_unknown, to_known = self._backward(
            end, e_known, e_unknown, learn, forget
        )
        known = pred * back
        gamma = known / (
            known + (1.0 - pred) * (1.0 - back)
        )  # P(known at t | all answers)
        known_all = np.bincount(self.el_unit, weights=gamma, minlength=n)
        known_correct = np.bincount(self.el_unit, weights=gamma * self.obs, minlength=n)
        known_last = np.bincount(
            self.first_unit, weights=gamma[self.last_el], minlength=n
        )
        known_first = np.bincount(
            self.first_unit, weights=gamma[self.first_el], minlength=n
        )
        forgot = np.bincount(self.el_unit, weights=gamma * to_unknown, minlength=n)
        learnt = np.bincount(
            self.el_unit, weights=(1.0 - gamma) * to_known, minlength=n
        )
        known_trans = known_all - known_last
        new = params.copy()
        new[:, _P] = known_first / self.u_seqs
        _safe_ratio(new, _L, learnt, self.u_len - self.u_seqs - known_trans)
        _safe_ratio(new, _F, forgot, known_trans)
        _safe_ratio(new, _G, self.u_correct - known_correct, self.u_len - known_all)
        _safe_ratio(new, _S, known_all - known_correct, known_all)
        return ll, _clip_params(new, max_guess_slip)

    def _chunk_products(
        self,
        e_known: np.ndarray,
        e_unknown: np.ndarray,
        learn: np.ndarray,
        forget: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Phase 1: P = M_last ... M_first of every linked chunk, rescaled (only its direction
        matters)."""
        size = self.n_linked
        p00, p01, p10, p11 = (
            np.ones(size),
            np.zeros(size),
            np.zeros(size),
            np.ones(size),
        )
        lrn, fgt = learn[self.link_chunk], forget[self.link_chunk]
        for c in range(self.size):
            n = self.link_m[c]
            if n == 0:
                break
            idx = self.link_el[self.link_off[c] : self.link_off[c + 1]]
            ek, eu = e_known[idx], e_unknown[idx]
            m00, m01 = (1.0 - fgt[:n]) * ek, lrn[:n] * eu
            m10, m11 = fgt[:n] * ek, (1.0 - lrn[:n]) * eu
            a00, a01, a10, a11 = p00[:n], p01[:n], p10[:n], p11[:n]
            p00[:n], p01[:n], p10[:n], p11[:n] = (
                m00 * a00 + m01 * a10,
                m00 * a01 + m01 * a11,
                m10 * a00 + m11 * a10,
                m10 * a01 + m11 * a11,
            )
            if c % 8 == 7:
                scale = p00[:n] + p01[:n] + p10[:n] + p11[:n]
                for arr in (p00, p01, p10, p11):
                    arr[:n] /= scale
        return p00, p01, p10, p11

    def _forward_boundaries(
        self,
        mats: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
        prior: np.ndarray,
    ) -> np.ndarray:
        """Phase 2, forward: P(known) at the start of every chunk."""
        p00, p01, p10, p11 = mats
        start = np.empty(len(self.chunk_unit))
        start[self.first_el] = prior
        cur = start[self.lvl_chunk[: self.off2[1]]] if len(self.n2) else start[:0]
        for k in range(len(self.n2) - 1):
            n = self.n2[k + 1]
            s = self.lvl_link[self.off2[k] : self.off2[k] + n]
            pk = cur[:n]
            nk = p00[s] * pk + p01[s] * (1.0 - pk)
            nu = p10[s] * pk + p11[s] * (1.0 - pk)
            cur = nk / (nk + nu)
            start[self.lvl_chunk[self.off2[k + 1] : self.off2[k + 1] + n]] = cur
        return start

    def _forward(
        self,
        start: np.ndarray,
        e_known: np.ndarray,
        e_unknown: np.ndarray,
        learn: np.ndarray,
        forget: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Phase 3, forward: P(known) before each attempt, and P(answer | earlier answers)."""
        pred = np.empty(len(self.obs))
        norm = np.empty(len(self.obs))
        stay = 1.0 - learn - forget
        cur = start
        for c in range(self.size):
            n, o = self.m_c[c], self.eoff[c]
            pk = cur[:n]
            pred[o : o + n] = pk
            a = pk * e_known[o : o + n]
            z = a + (1.0 - pk) * e_unknown[o : o + n]
            norm[o : o + n] = z
            cur = (a / z) * stay[:n] + learn[:n]
        return pred, norm

    def _backward_boundaries(
        self, mats: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
    ) -> np.ndarray:
        """Phase 2, backward: the backward message at the end of every chunk, as the share of
        its 'known' component (0.5, no information, after a sequence's last attempt)."""
        p00, p01, p10, p11 = mats
        end = np.full(len(self.chunk_unit), 0.5)
        for k in range(len(self.n2) - 1, 0, -1):
            n = self.n2[k]
            j_next = self.lvl_chunk[self.off2[k] : self.off2[k] + n]
            s = self.lvl_link[self.off2[k] : self.off2[k] + n]
            bk = end[j_next]
            # Message at the start of chunk k = P^T (message at its end).
            nk = p00[s] * bk + p10[s] * (1.0 - bk)
            nu = p01[s] * bk + p11[s] * (1.0 - bk)
            end[self.lvl_chunk[self.off2[k - 1] : self.off2[k - 1] + n]] = nk / (
                nk + nu
            )
        return end

    def _backward(
        self,
        end: np.ndarray,
        e_known: np.ndarray,
        e_unknown: np.ndarray,
        learn: np.ndarray,
        forget: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Phase 3, backward. Per attempt: the share of 'known' in the backward message
        P(this and later answers | state now); and, given all answers, P(unknown next | known
        now) and P(known next | unknown now), the pieces of the expected transition counts
        (zero after a sequence's last attempt)."""
        back = np.empty(len(self.obs))
        to_unknown = np.empty(len(self.obs))
        to_known = np.empty(len(self.obs))
        cur = end.copy()
        for c in range(self.size - 1, -1, -1):
            n, o = self.m_c[c], self.eoff[c]
            bk = cur[:n]  # share of 'known' in the message from the next attempt on
            fgt, lrn = forget[:n], learn[:n]
            f_next = fgt * (1.0 - bk)
            l_next = lrn * bk
            q_known = bk - bk * fgt + f_next  # known now: sum over next states
            q_unknown = l_next + (1.0 - lrn) - (bk - l_next)  # unknown now
            to_unknown[o : o + n] = f_next / q_known
            to_known[o : o + n] = l_next / q_unknown
            nk = e_known[o : o + n] * q_known
            b = nk / (nk + e_unknown[o : o + n] * q_unknown)
            back[o : o + n] = b
            cur[:n] = b
        to_unknown[self.last_el] = 0.0
        to_known[self.last_el] = 0.0
        return back, to_unknown, to_known


def _chunk_length(t_max: int) -> int:
    """Chunk length: balances phase-3 steps (~3 x size) against phase-2 steps (~2 x chunks),
    leaning to longer chunks, whose steps work on wider arrays (measured on the benchmark)."""
    if t_max <= 48:
        return max(t_max, 1)
    return int(min(64, max(16, np.ceil(np.sqrt(2.0 * t_max)))))
