"""Fitting BKT parameters per skill by EM (Baum-Welch), vectorised with numpy.

Input: for each skill, one boolean array per student (that student's scored attempts on the
skill, in order, True = correct). All skills and all random restarts are fitted together in one
batch, so the Python overhead is paid once per EM iteration, not once per skill:

* without forgetting, knowledge never goes away, so a student's hidden path is fully described by
  the attempt at which they learnt the skill (0 = knew it already, T = not yet). The E-step
  enumerates that time for every sequence with prefix counts: exact, and no loop over time;
* with forgetting, the E-step is a scaled forward-backward pass over a time-major layout (all
  sequences step together, longest first, so each time step works on a prefix of the rows).

After EM: guess and slip are clipped to ``max_guess_slip`` in every M-step, degenerate fits are
rejected in favour of the pooled parameters, and every skill is shrunk toward the pooled
parameters with weight ``n_attempts / (n_attempts + shrink_k)``.
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
DEFAULT_RESTARTS = 3
DEFAULT_MAX_ITER = 100
DEFAULT_TOL = 1e-6  # stop when the log-likelihood per attempt improves by less than this

_EPS = 1e-9  # parameters stay in [_EPS, 1 - _EPS] inside EM so every log is finite
_PARAM_NAMES = ("prior", "learn", "guess", "slip", "forget")
_P, _L, _G, _S, _F = range(5)

K = TypeVar("K", bound=Hashable)
BoolSeq = npt.ArrayLike  # one student's attempts on one skill, in order, truthy = correct


@dataclass(frozen=True)
class FitResult:
    """Fitted parameters of one skill, and how they were obtained.

    log_likelihood is the log-likelihood of the skill's data under ``params`` as returned (after
    shrinkage or fallback); NaN when the skill has no data. ``shrunk`` is True when the pooled
    parameters carry at least 1% of the weight; ``rejected_reason`` says why the fit was
    replaced by the pooled parameters (None when it was kept).
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
    n_restarts: int = DEFAULT_RESTARTS,
    max_iter: int = DEFAULT_MAX_ITER,
    tol: float = DEFAULT_TOL,
    max_guess_slip: float = MAX_GUESS_SLIP,
    seed: int = 0,
) -> FitResult:
    """One parameter set for all skills together (every sequence treated as the same skill).

    Used as the prior for sparse skills and for skills nobody has practised yet. A degenerate
    pooled fit falls back to ``POOLED_DEFAULTS``.
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
            n_restarts=n_restarts,
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
    init = _initial_params(len(fitted) * n_restarts, n_restarts, forgetting, rng, max_guess_slip)
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
    best = np.full(len(groups), -1)
    if len(fitted):
        by_group = ll.reshape(len(fitted), n_restarts)
        by_group = np.where(np.isfinite(by_group), by_group, -np.inf)
        best[fitted] = np.arange(len(fitted)) * n_restarts + np.argmax(by_group, axis=1)

    final: list[tuple[BKTParams, bool, bool, str | None]] = []
    for g in range(len(groups)):
        n = int(data.group_attempts[g])
        if n == 0:
            final.append((pooled, False, False, "no attempts"))
            continue
        raw = params[best[g]].copy()
        reason = _degenerate(raw, float(ll[best[g]]))
        if reason is not None:
            final.append((pooled, bool(converged[best[g]]), False, reason))
            continue
        if not forgetting:
            raw[_F] = 0.0
        weight = n / (n + shrink_k) if shrink_k > 0 else 1.0
        blended = weight * raw + (1.0 - weight) * _params_array([pooled])[0]
        final.append(
            (_to_params(blended), bool(converged[best[g]]), 1.0 - weight >= 0.01, None)
        )

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
    n_units: int, n_restarts: int, forgetting: bool, rng: np.random.Generator, max_gs: float
) -> np.ndarray:
    """Restart 0 of every skill starts from a sensible fixed point, the others at random."""
    init = np.empty((n_units, 5))
    init[:, _P] = rng.uniform(0.05, 0.95, n_units)
    init[:, _L] = rng.uniform(0.01, 0.4, n_units)
    init[:, _G] = rng.uniform(0.01, max_gs, n_units)
    init[:, _S] = rng.uniform(0.01, max_gs, n_units)
    init[:, _F] = rng.uniform(0.0, 0.1, n_units) if forgetting else 0.0
    first = np.arange(0, n_units, n_restarts)
    init[first] = [0.5, 0.15, min(0.2, max_gs), min(0.1, max_gs), 0.02 if forgetting else 0.0]
    return init


def _params_array(params: Sequence[BKTParams]) -> np.ndarray:
    return np.array([[getattr(p, name) for name in _PARAM_NAMES] for p in params], dtype=float)


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
            np.add.reduceat(obs, seq_start, dtype=np.int64) if len(arrays) else seq_len.copy()
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
    """EM for every unit (a skill x restart) at once; converged units drop out of the batch."""
    params = init.copy()
    n_units = len(units_group)
    ll = np.full(n_units, -np.inf)
    converged = np.zeros(n_units, dtype=bool)
    if n_units == 0:
        return params, ll, converged
    unit_attempts = data.group_attempts[units_group].astype(float)
    batch_cls = _ChainBatch if forgetting else _TauBatch
    active = np.arange(n_units)
    batch = batch_cls(data, units_group[active])
    batch_units = active  # the units the current batch was built for
    for it in range(max_iter):
        idx = np.searchsorted(batch_units, active)  # rows of the batch still active
        step_params = params[batch_units].copy()
        new_ll, new_params = batch.step(step_params, m_step=True, max_guess_slip=max_guess_slip)
        new_ll, new_params = new_ll[idx], new_params[idx]
        if not forgetting:
            new_params[:, _F] = 0.0
        if it > 0:
            done = np.abs(new_ll - ll[active]) < tol * unit_attempts[active]
            converged[active[done]] = True
        ll[active] = new_ll
        params[active] = new_params
        active = active[~converged[active]]
        if len(active) == 0:
            break
        if unit_attempts[active].sum() < 0.7 * unit_attempts[batch_units].sum():
            batch = batch_cls(data, units_group[active])
            batch_units = active
    return params, ll, converged


def _clip_params(params: np.ndarray, max_gs: float) -> np.ndarray:
    out = np.clip(params, _EPS, 1.0 - _EPS)
    out[:, _G] = np.minimum(out[:, _G], max_gs)
    out[:, _S] = np.minimum(out[:, _S], max_gs)
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
        self.tau = (np.arange(total) - np.repeat(self.slot_start, n_slots)).astype(float)
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
        logp = self.c1 * np.repeat(a, self.unit_slots) + self.tau * np.repeat(b, self.unit_slots)
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
        w_tau = np.add.reduceat(w * self.tau, self.unit_slot_start)  # attempts while unknown
        w_c1 = np.add.reduceat(w * self.c1, self.unit_slot_start)  # correct while unknown
        w_first = np.add.reduceat(w[self.slot_start], self.unit_seq_start)  # known at start
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
    """Scaled forward-backward over a time-major layout, for BKT with forgetting.

    Rows are sequences sorted longest first, so at time t the rows still running are a prefix
    and each time step is a handful of numpy operations on contiguous slices.
    """

    def __init__(self, data: _Packed, units_group: np.ndarray) -> None:
        seqs = data.seq_ids(units_group)
        counts = data.group_seqs[units_group]
        self.n_units = len(units_group)
        seq_unit = np.repeat(np.arange(self.n_units), counts)
        order = np.argsort(-data.seq_len[seqs], kind="stable")
        seqs, self.row_unit = seqs[order], seq_unit[order]
        lens = data.seq_len[seqs]
        n_rows = len(seqs)
        t_max = int(lens[0]) if n_rows else 0
        # n_t[t] = rows longer than t; block t holds elements (t, 0..n_t[t]-1).
        n_t = n_rows - np.cumsum(np.bincount(lens, minlength=t_max + 1))[:t_max]
        self.n_t = n_t
        self.off = np.concatenate([[0], np.cumsum(n_t)])
        n_el = int(self.off[-1])
        t_of = np.repeat(np.arange(t_max), n_t)
        r_of = np.arange(n_el) - np.repeat(self.off[:-1], n_t)
        self.obs = data.obs[data.seq_start[seqs][r_of] + t_of].astype(float)
        self.el_unit = self.row_unit[r_of]
        self.r_of = r_of
        has_next = r_of < np.append(n_t[1:], 0)[t_of]
        self.nxt_from = np.flatnonzero(has_next)
        self.nxt_to = self.off[t_of[has_next] + 1] + r_of[has_next]
        self.nxt_unit = self.el_unit[has_next]
        last = np.flatnonzero(~has_next)
        self.last = last
        self.last_unit = self.el_unit[last]
        self.u_seqs = counts.astype(float)
        self.u_len = np.bincount(self.el_unit, minlength=self.n_units).astype(float)
        self.u_correct = np.bincount(self.el_unit, weights=self.obs, minlength=self.n_units)

    def step(
        self, params: np.ndarray, *, m_step: bool, max_guess_slip: float = 1.0
    ) -> tuple[np.ndarray, np.ndarray]:
        p = np.clip(params, _EPS, 1.0 - _EPS)
        row_p = p[self.row_unit]
        learn, forget = row_p[:, _L], row_p[:, _F]
        stay = 1.0 - learn - forget
        el_g = p[self.el_unit, _G]
        el_s = p[self.el_unit, _S]
        e_known = np.where(self.obs > 0, 1.0 - el_s, el_s)
        e_unknown = np.where(self.obs > 0, el_g, 1.0 - el_g)
        n_el = len(self.obs)
        pred = np.empty(n_el)  # P(known) before the attempt, given earlier answers
        filt = np.empty(n_el)  # P(known) after the answer
        norm = np.empty(n_el)  # P(answer | earlier answers)
        cur = row_p[:, _P].copy()
        off, n_t = self.off, self.n_t
        for t in range(len(n_t)):
            n = n_t[t]
            o = off[t]
            pk = cur[:n]
            pred[o : o + n] = pk
            a = pk * e_known[o : o + n]
            c = a + (1.0 - pk) * e_unknown[o : o + n]
            norm[o : o + n] = c
            f = a / c
            filt[o : o + n] = f
            cur = f * stay[:n] + learn[:n]
        ll = np.bincount(self.el_unit, weights=np.log(norm), minlength=self.n_units)
        if not m_step:
            return ll, params
        np.clip(pred, 1e-12, 1.0 - 1e-12, out=pred)
        gamma = filt.copy()  # P(known at t | all answers), filled backwards
        keep, lose = 1.0 - forget, forget
        for t in range(len(n_t) - 2, -1, -1):
            m = n_t[t + 1]
            o, on = off[t], off[t + 1]
            gn = gamma[on : on + m]
            pn = pred[on : on + m]
            gamma[o : o + m] = filt[o : o + m] * (keep[:m] * gn / pn + lose[:m] * (1.0 - gn) / (1.0 - pn))
        g_next = gamma[self.nxt_to]
        p_next = pred[self.nxt_to]
        f_from = filt[self.nxt_from]
        u = self.nxt_unit
        xi_learn = np.bincount(
            u, weights=(1.0 - f_from) * (g_next / p_next), minlength=self.n_units
        ) * p[:, _L]
        xi_forget = np.bincount(
            u, weights=f_from * ((1.0 - g_next) / (1.0 - p_next)), minlength=self.n_units
        ) * p[:, _F]
        known_all = np.bincount(self.el_unit, weights=gamma, minlength=self.n_units)
        known_last = np.bincount(self.last_unit, weights=gamma[self.last], minlength=self.n_units)
        known_correct = np.bincount(self.el_unit, weights=gamma * self.obs, minlength=self.n_units)
        known_first = np.bincount(self.row_unit, weights=gamma[: len(self.row_unit)], minlength=self.n_units)
        n_trans = self.u_len - self.u_seqs
        known_trans = known_all - known_last
        new = params.copy()
        new[:, _P] = known_first / self.u_seqs
        _safe_ratio(new, _L, xi_learn, n_trans - known_trans)
        _safe_ratio(new, _F, xi_forget, known_trans)
        _safe_ratio(new, _G, self.u_correct - known_correct, self.u_len - known_all)
        _safe_ratio(new, _S, known_all - known_correct, known_all)
        return ll, _clip_params(new, max_guess_slip)
