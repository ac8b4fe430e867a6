"""Mastery: the online BKT update (per call), and the knowledge-tracing comparison on the public
splits when they are present (KT_DATA_DIR, default ../shared/data/kt next to the repository)."""

from __future__ import annotations

import os
import timeit
from pathlib import Path

from bench.harness import ROOT

SPLITS = ("gervet_assistments09", "gervet_statics")


def online_update_us(n: int = 200_000) -> float:
    from tutor.mastery import bkt

    params = bkt.BKTParams(prior=0.3, learn=0.1, guess=0.2, slip=0.1, forget=0.02)
    seconds = timeit.timeit(lambda: bkt.update(0.42, True, params), number=n)
    return round(seconds / n * 1e6, 3)


def kt_splits(quick: bool) -> dict:
    from bench import kt

    base = Path(os.environ.get("KT_DATA_DIR", ROOT.parent / "shared" / "data" / "kt"))
    figures = {}
    for name in SPLITS:
        split = base / name
        if not split.is_dir():
            figures[name] = "not found (set KT_DATA_DIR)"
            continue
        train, test = kt.load_split(split)
        runs = {"ours": kt.run_ours(train, test, forgetting=True, max_guess_slip=kt.MAX_GUESS_SLIP)}
        if not quick:
            try:
                runs["pybkt"] = kt.run_pybkt(train, test, forgetting=False)
                runs["pybkt_forgets"] = kt.run_pybkt(train, test, forgetting=True)
            except (ImportError, SystemExit) as missing:
                runs["pybkt"] = None
                figures[f"{name}_pybkt"] = f"skipped: {missing}"
        figures[name] = {
            key: {"auc": round(o.auc, 4), "rmse": round(o.rmse, 4), "fit_seconds": round(o.fit_seconds, 2)}
            for key, o in runs.items()
            if o is not None
        }
    return figures


def run(quick: bool = False) -> dict:
    return {"online_update_us": online_update_us(), **kt_splits(quick)}
