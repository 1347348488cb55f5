"""Benchmark: Tables 2-4 end to end, and the wild cluster bootstrap on the real Table 2 LPM design.

Run from the project root::

    .venv/bin/python benchmarks/bench_tables.py [--quick] [--repeats N] [--wbt-large] [--blas-threads N]

Everything runs in one process and only prints (nothing is written to ``results/``).

(a) Wall time of ``estimate(spec, panel)`` for each table specification (Tables 2, 3 and 4 in
    ``analysis/specs/``) on the committed panel, one call each in the order ``make reproduce``
    runs them (so the first includes lazy imports), with every model and all attached inference
    (CRV1/CRV3, wild cluster bootstrap, randomization inference), and the total; then again with
    ``inference=False`` (fits and analytic CRV1/CRV3 only), to show what resampling costs.

(b) Draws per second of ``wild_cluster_bootstrap`` on the Table 2 ``lpm`` model (coup_any on
    train_pc_l1 + controls), built exactly as the runner's ``_attach_wild`` builds it, by reusing
    its helpers: the spec's derived variables (``derive_all``), the model's sample
    (``select_sample``), year dummies as explicit columns (``_year_dummies``) and country fixed
    effects partialled out (``partialled_design``). B = 9999 and 99999, Rademacher and Webb
    weights; ``ours p`` is the p-value only, ``ours+ci`` adds the test-inversion confidence
    interval (the setting ``estimate`` uses). The baseline is the ``wildboottest`` package
    (statsmodels OLS on the same partialled X and y, same country clusters, WCR11, B = 9999; with
    ``--wbt-large`` also B = 99999), as in ``bench_wild_bootstrap.py``. Timings are the best of
    ``repeats`` calls after one warm-up call; wildboottest re-JIT-compiles its numba kernel at
    every call, which is part of its per-call cost. Peak memory is the ``tracemalloc`` peak of
    one call (Python heap, which includes numpy buffers; numba's own allocations are not seen).

Our draws are run before wildboottest's, because numba's worker threads keep spinning for a while
after wildboottest's parallel kernel and would steal a core. Run it on an otherwise idle machine:
it prints how busy the CPU was just before starting and how much CPU other processes used during
each part, with a warning when they competed for the cores (the timings are then not valid).
With multithreaded OpenBLAS and busy cores, the small least-squares solves of the bootstrap set-up
can become very slow (threads waiting for a core); ``--blas-threads 1`` (threadpoolctl) shows
the single-threaded numbers.
"""
from __future__ import annotations

import argparse
import gc
import importlib
import os
import platform
import resource
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
from sahel_causal.models import partialled_design  # noqa: E402
from sahel_causal.paths import ANALYSIS_DIR  # noqa: E402
from sahel_causal.pipeline import load_panel  # noqa: E402
from sahel_causal.specs import load_spec  # noqa: E402
from sahel_causal.specs.transform import derive_all, select_sample  # noqa: E402


def _runner_module():
    """The estimate() runner: ``sahel_causal.estimation`` (``sahel_causal.estimate`` before the rename)."""
    try:
        return importlib.import_module("sahel_causal.estimation")
    except ModuleNotFoundError:
        return importlib.import_module("sahel_causal.estimate")


RUNNER = _runner_module()
SPECS = ("table2_coups", "table3_violence", "table4_heterogeneity")
TARGET_RATIO = 20.0
BASELINE = "wildboottest"


def _time(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up
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


def _cpu_busy(seconds: float = 1.0) -> str:
    """Share of all cores busy over ``seconds`` before the benchmark (Linux /proc/stat), else the load."""
    def sample() -> tuple[int, int]:
        with open("/proc/stat") as fh:
            v = [int(x) for x in fh.readline().split()[1:]]
        return sum(v), v[3] + (v[4] if len(v) > 4 else 0)  # total, idle + iowait
    try:
        t0, i0 = sample()
        time.sleep(seconds)
        t1, i1 = sample()
        return f"{100.0 * (1.0 - (i1 - i0) / max(t1 - t0, 1)):.0f}%"
    except OSError:
        return f"load average {os.getloadavg()[0]:.2f}"


class _OtherLoad:
    """CPU used by *other* processes while a section runs (Linux): all busy CPU time from /proc/stat
    minus this process's own CPU time, as a share of the section's wall time x cores."""

    def __init__(self) -> None:
        self.start = self._sample()

    @staticmethod
    def _sample() -> tuple[float, float, float] | None:
        try:
            with open("/proc/stat") as fh:
                v = [int(x) for x in fh.readline().split()[1:]]
        except OSError:
            return None
        busy = (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")  # user..steal minus idle, iowait
        ru = resource.getrusage(resource.RUSAGE_SELF)
        return time.perf_counter(), busy, ru.ru_utime + ru.ru_stime

    def report(self, label: str) -> None:
        end = self._sample()
        if self.start is None or end is None:
            return
        wall = end[0] - self.start[0]
        other = (end[1] - self.start[1]) - (end[2] - self.start[2])
        share = max(0.0, other) / (wall * (os.cpu_count() or 1))
        flag = "  WARNING: timings contaminated, rerun on an idle machine" if share > 0.10 else ""
        print(f"[{label}: other processes used {100 * share:.0f}% of the cores meanwhile]{flag}")


def _blas_threads() -> str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}"
    info = [f"{i['internal_api']}={i['num_threads']}" for i in threadpool_info()]
    return ", ".join(info) or "none loaded"


def time_tables(panel: pd.DataFrame) -> None:
    print("(a) estimate() per table specification, committed panel; 'wall s' = all inference attached "
          "(as make reproduce), 'no resampling s' = estimate(..., inference=False) (fits, CRV1/CRV3 only)")
    header = f"{'spec':<24}{'models':>7}{'wall s':>9}{'no resampling s':>17}"
    print(header)
    print("-" * len(header))
    total = total_fit = 0.0
    for name in SPECS:
        path = ANALYSIS_DIR / "specs" / f"{name}.toml"
        gc.collect()
        t0 = time.perf_counter()
        tr = RUNNER.estimate(path, panel)
        dt = time.perf_counter() - t0
        gc.collect()
        t0 = time.perf_counter()
        RUNNER.estimate(path, panel, inference=False)
        dt_fit = time.perf_counter() - t0
        total += dt
        total_fit += dt_fit
        print(f"{name:<24}{len(tr.models):>7}{dt:>9.2f}{dt_fit:>17.2f}", flush=True)
    print(f"{'total (Tables 2-4)':<24}{'':>7}{total:>9.2f}{total_fit:>17.2f}")
    print(f"target: Tables 2-4 well under 120 s on 2 cores -> {'met' if total < 120 else 'NOT met'}")


def lpm_design(panel: pd.DataFrame):
    """The Table 2 ``lpm`` design exactly as ``_attach_wild`` builds it (same helpers, same order)."""
    spec = load_spec(ANALYSIS_DIR / "specs" / "table2_coups.toml")
    model = next(m for m in spec.models if m.id == "lpm")
    cluster = spec.inference.cluster
    sample = select_sample(derive_all(panel, spec), model, spec, cluster).data
    fe = tuple(model.fixed_effects)
    regs = [*model.treatments, *model.controls]
    data, dummies = (RUNNER._year_dummies(sample) if "year" in fe else (sample, []))
    other_fe = tuple(f for f in fe if f != "year")
    design = partialled_design(data, model.outcome, [*regs, *dummies], fe=other_fe or None, cluster=cluster)
    kwargs = {"k_absorbed": len(other_fe) and 1, "fe_nested": bool(other_fe),
              "alpha": spec.inference.alpha}
    return design.X_tilde, design.y_tilde, design.cluster_codes, 0, spec, model, kwargs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="bootstrap at B = 9999 only, one repeat")
    parser.add_argument("--repeats", type=int, default=3, help="timed bootstrap calls per setting (best is kept)")
    parser.add_argument("--wbt-large", action="store_true", help="also run wildboottest at B = 99999 (slow)")
    parser.add_argument("--skip-tables", action="store_true", help="skip part (a)")
    parser.add_argument("--blas-threads", type=int, default=None,
                        help="limit BLAS/OpenMP threads for the whole run (threadpoolctl)")
    args = parser.parse_args()
    if args.blas_threads is not None:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=args.blas_threads)
    sizes = [9999] if args.quick else [9999, 99999]
    repeats = 1 if args.quick else max(1, args.repeats)
    wbt_sizes = [9999, 99999] if args.wbt_large and not args.quick else [9999]
    weights = ("rademacher", "webb")

    from importlib.metadata import version

    print(f"baseline: {BASELINE} {version('wildboottest')} (statsmodels OLS, WCR11, "
          f"CRV1); runner: {RUNNER.__name__}")
    busy = _cpu_busy()
    print(f"cores: {os.cpu_count()}; python {platform.python_version()}; numpy {np.__version__}; "
          f"BLAS threads: {_blas_threads()}; CPU busy before start: {busy}")
    if busy.endswith("%") and float(busy[:-1]) > 25.0:
        print("WARNING: other processes are using the CPU; timings will be pessimistic and noisy")
    print()

    panel = load_panel()
    if not args.skip_tables:
        load = _OtherLoad()
        time_tables(panel)
        load.report("part (a)")
        print()

    X, y, g, j, spec, model, kw = lpm_design(panel)
    seed = spec.inference.wild_bootstrap.seed
    G = int(g.max()) + 1
    n_dummies = X.shape[1] - len(model.treatments) - len(model.controls)
    print(f"(b) wild cluster bootstrap, Table 2 model '{model.id}': {model.outcome} on "
          f"{', '.join([*model.treatments, *model.controls])} + {n_dummies} year dummies, country FE "
          f"partialled out; N = {X.shape[0]}, k = {X.shape[1]}, G = {G}; H0: {model.treatments[0]} = 0")
    print(f"timings: best of {repeats} after a warm-up; memory: tracemalloc peak of one call; "
          f"ratio = ours draws/s over {BASELINE} draws/s at B = 9999 with the same weights\n")

    load = _OtherLoad()
    ours: dict[tuple[str, int], dict[str, float]] = {}
    for w in weights:
        for B in sizes:
            def run(ci: bool, w=w, B=B):
                return wild_cluster_bootstrap(X, y, g, j, B=B, weights=w, seed=seed, ci=ci, **kw)
            ours[(w, B)] = {
                "t": _time(lambda: run(False), repeats),
                "t_ci": _time(lambda: run(True), repeats),
                "mib": _peak(lambda: run(False)),
                "mib_ci": _peak(lambda: run(True)),
                "p": run(False).p_value,
            }

    import statsmodels.api as sm
    from wildboottest.wildboottest import wildboottest as wbt

    names = [f"c{i}" for i in range(X.shape[1])]
    sm_model = sm.OLS(y, pd.DataFrame(X, columns=names))
    theirs: dict[tuple[str, int], dict[str, float]] = {}
    for w in weights:
        for B in wbt_sizes:
            def run_wbt(w=w, B=B):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    return wbt(sm_model, B=B, cluster=g, param=names[j], weights_type=w, seed=seed, show=False)
            theirs[(w, B)] = {
                "t": _time(run_wbt, 1 if B > 10000 else repeats),
                "mib": _peak(run_wbt),
                "p": float(run_wbt()["p-value"].iloc[0]),
            }

    load.report("part (b)")
    header = (f"{'impl':<14}{'weights':<12}{'B':>7}{'time s':>9}{'draws/s':>13}{'ratio':>8}"
              f"{'peak MiB':>10}{'p-value':>9}")
    print(header)
    print("-" * len(header))
    for w in weights:
        base = theirs[(w, 9999)]
        base_rate = 9999 / base["t"]
        for B in sizes:
            o = ours[(w, B)]
            for label, t, mib in (("ours p", o["t"], o["mib"]), ("ours+ci", o["t_ci"], o["mib_ci"])):
                rate = B / t
                print(f"{label:<14}{w:<12}{B:>7}{t:>9.4f}{rate:>13,.0f}{rate / base_rate:>7.0f}x"
                      f"{mib:>10.2f}{o['p']:>9.4f}")
        for B in wbt_sizes:
            tt = theirs[(w, B)]
            print(f"{BASELINE:<14}{w:<12}{B:>7}{tt['t']:>9.4f}{B / tt['t']:>13,.0f}"
                  f"{(B / tt['t']) / base_rate:>7.1f}x{tt['mib']:>10.2f}{tt['p']:>9.4f}")

    worst = min((B / ours[(w, B)]["t"]) / (9999 / theirs[(w, 9999)]["t"]) for w in weights for B in sizes)
    worst_ci = min((B / ours[(w, B)]["t_ci"]) / (9999 / theirs[(w, 9999)]["t"]) for w in weights for B in sizes)
    verdict = "met" if worst >= TARGET_RATIO else "NOT met"
    print(f"\ntarget: >= {TARGET_RATIO:.0f}x {BASELINE}'s draws/s -> {verdict} "
          f"(smallest ratio, p-value only: {worst:.0f}x; with the CI: {worst_ci:.0f}x)")
    tbl = spec.inference.wild_bootstrap
    print(f"Table 2 uses B = {tbl.draws}, weights {list(tbl.weights)}, seed {tbl.seed}; the p-values above at "
          "B = 9999 are those of the lpm row of results/tables/table2_coups.md (WCR-R, WCR-W).")


if __name__ == "__main__":
    main()
