"""Benchmark: Callaway & Sant'Anna (att_gt + aggte) against diff-diff, and randomization inference.

Run from the project root::

    .venv/bin/python benchmarks/bench_did.py [--quick] [--repeats N]

Everything runs in one process and only prints.

(a) A simulated staggered panel of 10,000 units x 20 periods (five entry cohorts and never-treated
    units, heterogeneous dynamic effects, one time-invariant covariate). Both packages estimate
    every ATT(g,t) with analytic standard errors (no bootstrap) and the simple and dynamic
    aggregations, in three settings: unconditional DR with never-treated comparisons,
    unconditional DR with not-yet-treated comparisons, and DR with the covariate. The baseline is
    ``diff_diff.CallawaySantAnna`` (``aggregate="all"`` also computes the group aggregation,
    so ours runs ``aggte`` for simple, dynamic and group too). Best of ``repeats`` calls after a
    warm-up call; the printed ratio is diff-diff time / our time (> 1: we are faster), next to the
    largest absolute difference between the two sets of ATT(g,t) as a correctness check.

(b) The real panel's size: 54 units x 30 years with 9 treated units in 4 cohorts; att_gt + aggte
    (dynamic) and randomization inference with 9,999 reassignments of the entry years.

The machine is shared; compare ratios, not absolute times. BLAS is single-threaded here.
"""
from __future__ import annotations

import argparse
import os
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sahel_causal.did import aggte, att_gt  # noqa: E402
from sahel_causal.did.randomization import randomization_inference  # noqa: E402


def simulate(n: int, T: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    cohorts = np.array([0, 5, 8, 11, 14, 17])
    G = rng.choice(cohorts, size=n, p=[0.3, 0.14, 0.14, 0.14, 0.14, 0.14])
    x = rng.normal(size=n)
    alpha = rng.normal(size=n) + 0.2 * x
    t = np.repeat(np.arange(1, T + 1), n)
    ids = np.tile(np.arange(n), T)
    Gl, xl, al = G[ids], x[ids], alpha[ids]
    e = t - Gl
    eff = np.where((Gl > 0) & (e >= 0), 0.1 * (e + 1) * (1 + Gl / 10), 0.0)
    y = al + 0.05 * t + 0.1 * xl * t / T + eff + rng.normal(scale=0.5, size=n * T)
    return pd.DataFrame({"id": ids, "t": t, "G": Gl, "x": xl, "y": y})


def best(f, repeats: int) -> tuple[float, object]:
    out = f()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = f()
        times.append(time.perf_counter() - t0)
    return min(times), out


def ours(df: pd.DataFrame, control_group: str, xformla: str | None):
    r = att_gt(df, "y", "t", "id", "G", xformla=xformla, control_group=control_group,
               est_method="dr", bstrap=False)
    aggs = [aggte(r, type=k, bstrap=False) for k in ("simple", "dynamic", "group")]
    return r, aggs


def theirs(df: pd.DataFrame, control_group: str, xformla: str | None):
    from diff_diff import CallawaySantAnna

    cs = CallawaySantAnna(control_group={"nevertreated": "never_treated",
                                         "notyettreated": "not_yet_treated"}[control_group],
                          estimation_method="dr", n_bootstrap=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cs.fit(df, outcome="y", unit="id", time="t", first_treat="G",
                      covariates=None if xformla is None else ["x"], aggregate="all")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="2,000 units instead of 10,000")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    n = 2000 if args.quick else 10_000
    df = simulate(n, 20)
    print(f"(a) Callaway & Sant'Anna, {n} units x 20 periods ({len(df)} rows), analytic SEs, "
          f"best of {args.repeats}")
    try:
        import diff_diff

        have_dd = True
        print(f"    baseline: diff-diff {diff_diff.__version__}")
    except ImportError:
        have_dd = False
        print("    baseline diff-diff not installed: only our times are printed")
    print(f"    {'setting':<28}{'ours (s)':>10}{'diff-diff (s)':>15}{'ratio':>8}{'max |dATT|':>13}")
    for label, cg, xf in (("dr, never treated", "nevertreated", None),
                          ("dr, not yet treated", "notyettreated", None),
                          ("dr, never treated, ~ x", "nevertreated", "~ x")):
        t_ours, (r, _) = best(lambda: ours(df, cg, xf), args.repeats)
        if have_dd:
            t_dd, res = best(lambda: theirs(df, cg, xf), args.repeats)
            tid = r.tidy().set_index(["group", "t"])
            diff = max(abs(v["effect"] - tid.loc[k, "att"]) for k, v in res.group_time_effects.items())
            print(f"    {label:<28}{t_ours:>10.3f}{t_dd:>15.3f}{t_dd / t_ours:>8.2f}{diff:>13.2e}")
        else:
            print(f"    {label:<28}{t_ours:>10.3f}")

    print("(b) real-panel size: 54 units x 30 years, 9 treated units in 4 cohorts")
    rng = np.random.default_rng(1)
    G = np.zeros(54)
    G[:9] = rng.choice([2003, 2005, 2008, 2012], size=9)
    small = pd.concat([pd.DataFrame({"id": np.arange(54), "t": 1995 + s, "G": G,
                                     "y": rng.normal(size=54)}) for s in range(30)],
                      ignore_index=True)
    t_fit, r = best(lambda: att_gt(small, "y", "t", "id", "G", bstrap=True, biters=999), args.repeats)
    print(f"    att_gt (999 multiplier-bootstrap draws): {t_fit:.3f} s")
    t_ri, ri = best(lambda: randomization_inference(r, type="dynamic", draws=9999, seed=3),
                    args.repeats)
    print(f"    randomization inference, dynamic overall ATT, 9,999 draws: {t_ri:.3f} s "
          f"(p = {ri.p_value:.4f})")


if __name__ == "__main__":
    main()
