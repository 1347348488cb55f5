"""Benchmark: the multiverse engine against a loop of pyfixest ``feols`` fits, in one run.

Run from the project root::

    .venv/bin/python benchmarks/bench_multiverse.py [--quick] [--loop N] [--blas-threads N]

Nothing is written. On the committed panel and the committed multiverses
(``analysis/multiverse/*.toml``):

(a) the engine, end to end (derived columns, grid, grouping, within transformation, solves,
    CRV1 from scores, p-values, the assembled tidy table), serial backend, for every
    specification; best of ``--repeats`` runs;
(b) a loop of ``pyfixest.feols`` fits (CRV1 by country, the same formula, sample and fixed
    effects) over a seeded random sample of ``--loop`` specifications of the same grid (a loop
    over all of them would take minutes), and the engine on exactly that sample (end to end,
    so its fixed costs count against it). Coefficients and SEs of the loop are compared with the
    engine's (largest relative difference printed).

The ratio on the last line is the engine's rate on the whole grid over the loop's rate. The
machine may be shared: the script prints the load average and the process CPU time beside the
wall time, so contention is visible (wall >> CPU means the process waited for a core).

Last line: ``multiverse: N specs in S s; R specs/s; X.Xx pyfixest loop``.
"""
from __future__ import annotations

import argparse
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sahel_causal.multiverse.grid import expand  # noqa: E402
from sahel_causal.multiverse.prepare import prepare  # noqa: E402
from sahel_causal.multiverse.run import estimate  # noqa: E402
from sahel_causal.pipeline import load_panel  # noqa: E402
from sahel_causal.specs.designs.multiverse import load  # noqa: E402


def _timed(fn):
    w, c = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - w, time.process_time() - c


def _pyfixest_loop(prep, grid: pd.DataFrame) -> tuple[pd.DataFrame, float, float]:
    import pyfixest as pf

    frame = prep.frame()
    safe = {c: f"v{i}" for i, c in enumerate(prep.columns)}
    frame = frame.rename(columns=safe)
    rows = []

    def run():
        for r in grid.itertuples(index=False):
            ctrl = [safe[c] for c in r.c_cols.split(",") if c]
            fe = [f for f in r.fe_cols.split("+") if f]
            y, x = safe[r.y_col], safe[r.x_col]
            sub = frame.loc[prep.masks[r.sample_key], ["iso3", "year", y, x, *ctrl]]
            fml = f"{y} ~ {' + '.join([x, *ctrl])}" + (f" | {' + '.join(fe)}" if fe else "")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit = pf.feols(fml, data=sub, vcov={"CRV1": "iso3"})
            t = fit.tidy()
            rows.append((r.spec_index, float(t.loc[x, "Estimate"]), float(t.loc[x, "Std. Error"])))

    _, wall, cpu = _timed(run)
    return pd.DataFrame(rows, columns=["spec_index", "estimate", "std_error"]), wall, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="200 loop fits and one engine run (under a minute)")
    ap.add_argument("--loop", type=int, default=None, help="pyfixest loop sample size (default 1000; quick 200)")
    ap.add_argument("--repeats", type=int, default=None, help="engine runs, best kept (default 3; quick 1)")
    ap.add_argument("--blas-threads", type=int, default=1)
    args = ap.parse_args()
    n_loop = args.loop or (200 if args.quick else 1000)
    repeats = args.repeats or (1 if args.quick else 3)
    from threadpoolctl import threadpool_limits

    threadpool_limits(args.blas_threads)
    print(f"cores: {os.cpu_count()}; load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; "
          f"BLAS threads: {args.blas_threads}")
    panel = load_panel()
    specs = [load(p).spec for p in sorted((ROOT / "analysis" / "multiverse").glob("*.toml"))]
    import pyfixest  # noqa: F401  (import cost outside the timings)

    estimate(specs[0], panel)  # warm-up (lazy imports)
    total_n, best_wall, cpu_at_best = 0, 0.0, 0.0
    for s in specs:
        times = []
        for _ in range(repeats):
            run, wall, cpu = _timed(lambda: estimate(s, panel))
            times.append((wall, cpu))
        wall, cpu = min(times)
        n = len(run.grid)
        total_n += n
        best_wall += wall
        cpu_at_best += cpu
        print(f"engine  {s.id:10s} {n:6d} specs: {wall:6.2f} s wall, {cpu:6.2f} s CPU, {n / wall:8.0f} specs/s")
    rate = total_n / best_wall
    # loop on a seeded sample of the same grids; the engine on exactly that sample
    rng = np.random.default_rng(20261129)
    loop_n, loop_wall, loop_cpu, eng_wall, worst_b, worst_s = 0, 0.0, 0.0, 0.0, 0.0, 0.0
    from sahel_causal.multiverse.engine import fit_chunk, plan

    for s in specs:
        grid = expand(s)
        prep = prepare(s, panel)
        k = int(round(n_loop * len(grid) / total_n))
        sub = grid[grid["spec_index"].isin(rng.choice(len(grid), k, replace=False))]
        ref, w, c = _pyfixest_loop(prep, sub)
        loop_n += len(sub)
        loop_wall += w
        loop_cpu += c
        def engine_on_sample(s=s, sub=sub):
            p = prepare(s, panel)
            return pd.concat([fit_chunk(p, ch).tidy for ch in plan(sub, p, s.chunk_groups)])

        res, ew, _ = _timed(engine_on_sample)
        eng_wall += ew
        mine = res[res["role"] == "treatment"].set_index("spec_index").loc[ref["spec_index"]]
        ok = mine["status"].to_numpy() == "ok"
        worst_b = max(worst_b, float(np.max(np.abs(mine["estimate"].to_numpy()[ok] - ref["estimate"].to_numpy()[ok])
                                            / np.abs(ref["estimate"].to_numpy()[ok]))))
        worst_s = max(worst_s, float(np.max(np.abs(mine["std_error"].to_numpy()[ok] - ref["std_error"].to_numpy()[ok])
                                            / ref["std_error"].to_numpy()[ok])))
    loop_rate = loop_n / loop_wall
    print(f"pyfixest loop: {loop_n} specs in {loop_wall:.2f} s wall ({loop_cpu:.2f} s CPU): {loop_rate:.1f} specs/s")
    print(f"engine on the same {loop_n} specs (end to end incl. preparation): {eng_wall:.2f} s, "
          f"{loop_n / eng_wall:.0f} specs/s, {loop_wall / eng_wall:.1f}x the loop")
    print(f"largest relative difference engine vs pyfixest loop: coefficients {worst_b:.1e}, CRV1 SEs {worst_s:.1e} "
          "(the loop uses pyfixest's default demeaning tolerance; fe_ols, at 1e-13, agrees to 1e-10 in the tests)")
    print(f"CPU-time rates: engine {total_n / cpu_at_best:.0f} specs/s, loop {loop_n / loop_cpu:.1f} specs/s, "
          f"ratio {(total_n / cpu_at_best) / (loop_n / loop_cpu):.1f}x")
    print(f"CPU/wall of the engine runs: {cpu_at_best / best_wall:.2f} (below ~0.9: the process waited for a core)")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"multiverse: {total_n} specs in {best_wall:.1f} s; {rate:.0f} specs/s; {rate / loop_rate:.1f}x pyfixest loop")


if __name__ == "__main__":
    main()
