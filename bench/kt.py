"""Knowledge-tracing benchmark: our BKT fit and online update against pyBKT on one split.

    python -m bench.kt SPLIT_DIR [--json] [--no-pybkt]

SPLIT_DIR holds ``preprocessed_data_train.csv`` and ``preprocessed_data_test.csv`` (tab-separated
``user_id item_id timestamp correct skill_id``, one header line, rows grouped by student in time
order), e.g. /work/shared/data/kt/gervet_statics. Protocol: fit on the train students only;
replay each test student's attempts in order, predicting P(correct) before each attempt from the
earlier ones and then updating with the truth; AUC and RMSE over all test attempts. Skills unseen
in train get our pooled parameters (pyBKT gives them its default prediction, 0.5).

Fit time is measured from the attempts already in memory (numpy arrays for us, a DataFrame for
pyBKT) to fitted parameters, so both include turning rows into per-student sequences. Our
predictions go through ``tutor.mastery.bkt.update`` one attempt at a time, as in production.

pyBKT (optional): ``pip install numpy wheel`` then
``pip install --no-build-isolation --no-binary pyBKT pyBKT==1.4.3`` (the C++ build).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import rankdata

from tutor.mastery import bkt
from tutor.mastery.bkt import BKTParams
from tutor.mastery.fit import MAX_GUESS_SLIP, fit_all, fit_pooled

USER, ITEM, TIME, CORRECT, SKILL = range(5)
PYBKT_MISSING = (
    "pyBKT is not importable ({}). Install its C++ build with\n"
    "  pip install numpy wheel\n"
    "  pip install --no-build-isolation --no-binary pyBKT pyBKT==1.4.3\n"
    "or run with --no-pybkt."
)


@dataclass
class Outcome:
    name: str
    auc: float
    rmse: float
    fit_seconds: float
    predictions_per_second: float
    note: str = ""


def load_split(split_dir: Path) -> tuple[np.ndarray, np.ndarray]:
    return _load(split_dir / "preprocessed_data_train.csv"), _load(
        split_dir / "preprocessed_data_test.csv"
    )


def _load(path: Path) -> np.ndarray:
    with path.open() as f:
        first = f.readline().split("\t")
    has_header = not first[0].strip().lstrip("-").isdigit()
    rows = np.loadtxt(
        path, delimiter="\t", skiprows=int(has_header), dtype=np.int64, ndmin=2
    )
    return rows[:, :5]


def sequences_by_skill(rows: np.ndarray) -> dict[int, list[np.ndarray]]:
    """Each skill's attempts, one boolean array per student in row (= time) order."""
    order = np.lexsort((np.arange(len(rows)), rows[:, USER], rows[:, SKILL]))
    skill, user = rows[order, SKILL], rows[order, USER]
    correct = rows[order, CORRECT] > 0
    new_seq = np.flatnonzero((np.diff(skill) != 0) | (np.diff(user) != 0)) + 1
    seqs = np.split(correct, new_seq)
    seq_skill = skill[np.concatenate([[0], new_seq])] if len(rows) else skill
    out: dict[int, list[np.ndarray]] = {}
    for s, seq in zip(seq_skill.tolist(), seqs, strict=True):
        out.setdefault(s, []).append(seq)
    return out


def auc(y: np.ndarray, p: np.ndarray) -> float:
    """Area under the ROC curve via ranks (ties averaged)."""
    y = np.asarray(y, dtype=bool)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(p)
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def rmse(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.sqrt(np.mean((np.asarray(y, dtype=float) - p) ** 2)))


def replay(
    test: np.ndarray, params_for: Callable[[int], BKTParams]
) -> tuple[np.ndarray, float]:
    """P(correct) before each test attempt, updating with the truth after it (online)."""
    state: dict[tuple[int, int], float] = {}
    cache: dict[int, BKTParams] = {}
    preds = np.empty(len(test))
    users, skills = test[:, USER].tolist(), test[:, SKILL].tolist()
    corrects = (test[:, CORRECT] > 0).tolist()
    start = time.perf_counter()
    for i, (user, skill, correct) in enumerate(
        zip(users, skills, corrects, strict=True)
    ):
        params = cache.get(skill)
        if params is None:
            params = cache[skill] = params_for(skill)
        p_known = state.get((user, skill), params.prior)
        preds[i] = bkt.predict_correct(p_known, params)
        state[(user, skill)] = bkt.update(p_known, correct, params)
    return preds, time.perf_counter() - start


def run_ours(
    train: np.ndarray, test: np.ndarray, *, forgetting: bool, max_guess_slip: float
) -> Outcome:
    start = time.perf_counter()
    by_skill = sequences_by_skill(train)
    pooled = fit_pooled(by_skill, forgetting=forgetting, max_guess_slip=max_guess_slip)
    fits = fit_all(
        by_skill,
        forgetting=forgetting,
        pooled=pooled.params,
        max_guess_slip=max_guess_slip,
    )
    fit_seconds = time.perf_counter() - start

    def params_for(skill: int) -> BKTParams:
        fitted = fits.get(skill)
        return fitted.params if fitted is not None else pooled.params

    preds, seconds = replay(test, params_for)
    y = test[:, CORRECT]
    n_rejected = sum(f.rejected_reason is not None for f in fits.values())
    n_shrunk = sum(f.shrunk for f in fits.values())
    n_unseen = len(set(test[:, SKILL].tolist()) - set(fits))
    return Outcome(
        name="ours, BKT + forgetting" if forgetting else "ours, BKT",
        auc=auc(y, preds),
        rmse=rmse(y, preds),
        fit_seconds=fit_seconds,
        predictions_per_second=len(test) / seconds,
        note=f"{len(fits)} skills, {n_shrunk} shrunk, {n_rejected} rejected, "
        f"{n_unseen} test skills unseen; pooled {_fmt_params(pooled.params)}",
    )


def _fmt_params(p: BKTParams) -> str:
    return " ".join(f"{k}={v:.3f}" for k, v in p.as_dict().items())


def import_pybkt() -> Any:
    """pyBKT's Model. pyBKT 1.4.3 probes every scikit-learn metric with plain lists at import
    time and only tolerates TypeError; scikit-learn >= 1.9 raises AttributeError there. Wrap the
    probed functions for the duration of the import so the probe fails the way it expects."""
    try:
        import sklearn.metrics as skm
    except ImportError as exc:
        raise SystemExit(PYBKT_MISSING.format(exc)) from exc

    originals: dict[tuple[Any, str], Any] = {}
    for module in (skm._regression, skm._classification):
        for name in dir(module):
            func = getattr(module, name)
            if name.endswith(("_loss", "_score", "_error")) and callable(func):
                originals[(module, name)] = func
                setattr(module, name, _typeerror_on_failure(func))
    try:
        from pyBKT.models import Model
    except ImportError as exc:
        raise SystemExit(PYBKT_MISSING.format(exc)) from exc
    finally:
        for (module, name), func in originals.items():
            setattr(module, name, func)
    return Model


def _typeerror_on_failure(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except (AttributeError, ValueError) as exc:
            raise TypeError(str(exc)) from exc

    return wrapper


def run_pybkt(train: np.ndarray, test: np.ndarray, *, forgetting: bool) -> Outcome:
    import pandas as pd

    model_cls = import_pybkt()

    def frame(rows: np.ndarray) -> Any:
        return pd.DataFrame(
            {
                "order_id": np.arange(len(rows)),
                "user_id": rows[:, USER],
                "skill_name": rows[:, SKILL].astype(str),
                "correct": rows[:, CORRECT],
            }
        )

    train_df, test_df = frame(train), frame(test)
    model = model_cls(seed=0, num_fits=5)
    start = time.perf_counter()
    model.fit(data=train_df, forgets=forgetting)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    out = model.predict(data=test_df)
    predict_seconds = time.perf_counter() - start
    # predict() returns the rows re-sorted: put them back in our order by order_id.
    preds = np.empty(len(test))
    preds[out["order_id"].to_numpy()] = out["correct_predictions"].to_numpy()
    y = test[:, CORRECT]

    # Same parameters through our online update: must give pyBKT's predictions.
    def pybkt_params(skill: int) -> BKTParams:
        m = model.fit_model.get(str(skill))
        if m is None:  # pyBKT predicts 0.5 for unseen skills
            return BKTParams(prior=0.5, learn=0.0, guess=0.5, slip=0.5)
        return BKTParams(
            prior=float(m["prior"]),
            learn=float(m["learns"][0]),
            guess=float(m["guesses"][0]),
            slip=float(m["slips"][0]),
            forget=float(m["forgets"][0]) if forgetting else 0.0,
        )

    same, _ = replay(test, pybkt_params)
    return Outcome(
        name="pyBKT, BKT + forgetting" if forgetting else "pyBKT, BKT",
        auc=auc(y, preds),
        rmse=rmse(y, preds),
        fit_seconds=fit_seconds,
        predictions_per_second=len(test) / predict_seconds,
        note=f"our update with pyBKT's parameters: max |diff| {np.max(np.abs(same - preds)):.1e}",
    )


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"{os.cpu_count()} CPUs ({cpu}), load average {load}, "
        f"Python {platform.python_version()}, numpy {np.__version__}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.kt", description=__doc__.split("\n")[0]
    )
    parser.add_argument("split_dir", type=Path)
    parser.add_argument(
        "--json", action="store_true", help="last line: the figures as JSON"
    )
    parser.add_argument("--no-pybkt", action="store_true", help="skip the pyBKT runs")
    parser.add_argument(
        "--max-guess-slip",
        type=float,
        default=MAX_GUESS_SLIP,
        help=f"bound on our fitted guess and slip (default {MAX_GUESS_SLIP})",
    )
    args = parser.parse_args(argv)

    train, test = load_split(args.split_dir)
    print(
        f"split {args.split_dir.name}: train {len(np.unique(train[:, USER]))} students / "
        f"{len(train)} attempts, test {len(np.unique(test[:, USER]))} / {len(test)}, "
        f"{len(np.unique(train[:, SKILL]))} train skills"
    )
    print(f"machine: {machine()}")
    print(f"our guess and slip bound: {args.max_guess_slip}")
    runs: dict[str, Outcome] = {
        # "ours" is what the platform runs: BKT with forgetting (docs/decisions/0002).
        "ours": run_ours(
            train, test, forgetting=True, max_guess_slip=args.max_guess_slip
        ),
        "ours_no_forgetting": run_ours(
            train, test, forgetting=False, max_guess_slip=args.max_guess_slip
        ),
    }
    if not args.no_pybkt:
        runs["pybkt"] = run_pybkt(train, test, forgetting=False)
        runs["pybkt_forgets"] = run_pybkt(train, test, forgetting=True)

    print(f"{'model':<26}{'AUC':>8}{'RMSE':>8}{'fit s':>8}{'pred/s':>11}")
    for o in runs.values():
        print(
            f"{o.name:<26}{o.auc:>8.4f}{o.rmse:>8.4f}{o.fit_seconds:>8.2f}"
            f"{o.predictions_per_second:>11,.0f}"
        )
    for o in runs.values():
        print(f"  {o.name}: {o.note}")
    if args.json:
        print(
            json.dumps(
                {
                    key: {
                        "auc": round(o.auc, 5),
                        "rmse": round(o.rmse, 5),
                        "fit_seconds": round(o.fit_seconds, 3),
                    }
                    for key, o in runs.items()
                }
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
