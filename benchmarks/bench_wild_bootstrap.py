"""Benchmark: sahel_causal's restricted wild cluster bootstrap vs the ``wildboottest`` package.

Run from the project root::

    .venv/bin/python benchmarks/bench_wild_bootstrap.py [--quick]

Data sets (both tests a coefficient with H0: b = 0, Rademacher weights, WCR, CRV1):

* ``petersen``: Petersen (2009) test data, 500 firms x 10 years, y ~ 1 + x, intercept tested
  (read from ../shared/data/validation/petersen/PetersenCL.csv, never copied);
* ``panel54``: simulated 54 clusters x 30 years, y ~ 1 + x + z;
* ``panel54_fe``: the same with country FE partialled out and 29 year dummies as columns (k=30).

For each, one process measures wall-clock time per call (best of ``repeats``, after one warm-up
call; wildboottest re-JIT-compiles its numba kernel at every call, which is part of its per-call
cost), draws per second, the speed ratio, and peak Python-heap memory (``tracemalloc``, which
sees numpy buffers) for B = 9999 and B = 99999. ``ours+ci`` adds the test-inversion confidence
interval, which wildboottest does not compute.
"""
from __future__ import annotations

import argparse
import gc
import os
import sys
import time
import tracemalloc
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sahel_causal.inference.wild_bootstrap import wild_cluster_bootstrap  # noqa: E402
from sahel_causal.paths import find_validation_dir  # noqa: E402


def _petersen() -> tuple[np.ndarray, np.ndarray, np.ndarray, int] | None:
    vdir = find_validation_dir()
    if vdir is None or not (vdir / "petersen" / "PetersenCL.csv").is_file():
        return None
    d = pd.read_csv(vdir / "petersen" / "PetersenCL.csv")
    X = np.column_stack([np.ones(len(d)), d["x"].to_numpy()])
    return X, d["y"].to_numpy(), d["firm"].to_numpy(), 0


def _panel54(with_fe: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray, int]:
    """Simulated 54-country x 30-year panel (seeded), slope of x tested."""
    rng = np.random.default_rng(54)
    G, T = 54, 30
    unit = np.repeat(np.arange(G), T)
    year = np.tile(np.arange(T), G)
    a = rng.normal(size=G)[unit]
    d = rng.normal(size=T)[year]
    x = rng.normal(size=G)[unit] + rng.normal(size=G * T)  # cluster-correlated, exogenous
    z = rng.normal(size=G * T)
    y = 0.0 * x + 0.3 * z + a + d + rng.normal(size=G)[unit] + rng.normal(size=G * T)
    if not with_fe:
        return np.column_stack([np.ones(G * T), x, z]), y, unit, 1
    cols = np.column_stack([x, (year[:, None] == np.arange(1, T)).astype(float), y])
    means = np.stack([np.bincount(unit, weights=c) for c in cols.T], axis=1) / T
    dm = cols - means[unit]
    return dm[:, :-1], dm[:, -1], unit, 0


def _ours(X, y, g, j, B, ci):
    return lambda: wild_cluster_bootstrap(X, y, g, j, B=B, seed=1, ci=ci)


def _theirs(X, y, g, j, B):
    import statsmodels.api as sm
    from wildboottest.wildboottest import wildboottest

    names = [f"c{i}" for i in range(X.shape[1])]
    model = sm.OLS(y, pd.DataFrame(X, columns=names))

    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return wildboottest(model, B=B, cluster=g, param=names[j], seed=1, show=False)

    return run


def _time(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up (imports, BLAS threads, numba for other kernels)
    best = np.inf
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _peak(fn: Callable[[], object]) -> float:
    gc.collect()
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="B = 9999 only, one repeat")
    args = parser.parse_args()
    sizes = [9999] if args.quick else [9999, 99999]
    repeats = 1 if args.quick else 3

    datasets = {}
    pet = _petersen()
    if pet is None:
        print("PetersenCL not found (../shared/data/validation): skipping that data set")
    else:
        datasets["petersen G=500 k=2"] = pet
    datasets["panel54 G=54 k=3"] = _panel54(False)
    datasets["panel54_fe G=54 k=30"] = _panel54(True)

    print(f"cores: {os.cpu_count()}; timings are best of {repeats} after a warm-up; "
          "memory = tracemalloc peak\n")
    header = (f"{'data':<22}{'B':>7}{'ours s':>9}{'ours+ci s':>10}{'wbt s':>9}"
              f"{'ours draws/s':>14}{'wbt draws/s':>13}{'ratio':>8}{'ours MiB':>10}{'wbt MiB':>10}"
              f"{'p ours':>8}{'p wbt':>8}")
    print(header)
    print("-" * len(header))
    # Phase 1: ours; phase 2: wildboottest. Kept apart because numba's worker threads keep
    # spinning for a while after wildboottest's parallel kernel and would steal a core.
    ours_res: dict[tuple[str, int], tuple[float, float, float, float]] = {}
    for name, (X, y, g, j) in datasets.items():
        for B in sizes:
            ours = _ours(X, y, g, j, B, ci=False)
            ours_ci = _ours(X, y, g, j, B, ci=True)
            ours_res[(name, B)] = (_time(ours, repeats), _time(ours_ci, repeats), _peak(ours_ci),
                                   ours().p_value)
    times: dict[tuple[str, int], tuple[float, float]] = {}
    for name, (X, y, g, j) in datasets.items():
        for B in sizes:
            theirs = _theirs(X, y, g, j, B)
            t_theirs = _time(theirs, 1 if B > 10000 else repeats)
            m_theirs = _peak(theirs)
            p_theirs = float(theirs()["p-value"].iloc[0])
            t_ours, t_ci, m_ours, p_ours = ours_res[(name, B)]
            times[(name, B)] = (t_ours, t_theirs)
            print(f"{name:<22}{B:>7}{t_ours:>9.3f}{t_ci:>10.3f}{t_theirs:>9.3f}"
                  f"{B / t_ours:>14,.0f}{B / t_theirs:>13,.0f}{t_theirs / t_ours:>8.0f}"
                  f"{m_ours:>10.1f}{m_theirs:>10.1f}{p_ours:>8.4f}{p_theirs:>8.4f}", flush=True)
    if len(sizes) == 2:
        lo, hi = sizes
        print("\nmarginal throughput (extra draws / extra time between B = "
              f"{lo} and B = {hi}; removes fixed costs such as wildboottest's per-call JIT):")
        for name in datasets:
            (o1, w1), (o2, w2) = times[(name, lo)], times[(name, hi)]
            mo, mw = (hi - lo) / max(o2 - o1, 1e-9), (hi - lo) / max(w2 - w1, 1e-9)
            print(f"  {name:<22} ours {mo:>14,.0f}/s  wildboottest {mw:>12,.0f}/s  ratio {mo / mw:>6.1f}")


if __name__ == "__main__":
    main()
