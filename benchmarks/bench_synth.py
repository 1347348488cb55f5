"""Benchmark: synthdid-type estimators on California Proposition 99 and one Table 6 model.

Run from the project root::

    .venv/bin/python benchmarks/bench_synth.py [--repeats N]

Prints (nothing is written):

(a) the wall time of ``synthdid_estimate`` and ``sc_estimate`` on Proposition 99 (39 x 31; both hit
    synthdid's 10,000-iteration cap) with the compiled Frank-Wolfe kernel (``sc_weight_fw``), and
    the baseline: the line-by-line numpy mirror of R's ``sc.weight.fw`` (``sc_weight_fw_reference``)
    in the same process, with the ratio; best of ``repeats`` after one warm-up call;
(b) the wall time of the Table 6 model ``fra_mli_exit`` (3 estimators, 36 in-space placebos each,
    in-time placebo) on the committed country-month panel.
The Proposition 99 data are read from ``../shared/data/validation`` (skipped when absent).
"""
from __future__ import annotations

import argparse
import time

import pandas as pd

from sahel_causal.paths import PROCESSED_DIR, find_validation_dir
from sahel_causal.synth import estimators as E
from sahel_causal.synth import panel_matrices, sc_estimate, synthdid_estimate
from sahel_causal.synth.solver import sc_weight_fw, sc_weight_fw_reference


def best(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    vd = find_validation_dir()
    if vd is not None and (vd / "california_prop99" / "california_prop99.csv").is_file():
        pm = panel_matrices(pd.read_csv(vd / "california_prop99" / "california_prop99.csv", sep=";"),
                            "State", "Year", "PacksPerCapita", "treated")
        print(f"{'Proposition 99':<28}{'kernel (s)':>12}{'reference (s)':>15}{'ratio':>8}")
        for name, fn in (("synthdid_estimate", synthdid_estimate), ("sc_estimate", sc_estimate)):
            E.sc_weight_fw = sc_weight_fw
            fast = best(lambda: fn(pm.Y, pm.N0, pm.T0), args.repeats)
            E.sc_weight_fw = sc_weight_fw_reference
            ref = best(lambda: fn(pm.Y, pm.N0, pm.T0), args.repeats)
            E.sc_weight_fw = sc_weight_fw
            print(f"{name:<28}{fast:>12.4f}{ref:>15.4f}{ref / fast:>8.1f}")
    else:
        print("Proposition 99 data not found; part (a) skipped")
    month_csv = PROCESSED_DIR / "panel_country_month.csv"
    if month_csv.is_file():
        from sahel_causal.data import timelines
        from sahel_causal.designs.synthetic_control import run
        from sahel_causal.tasks.table6 import load_spec

        _meta, specs = load_spec()
        spec = next(s for s in specs if s.id == "fra_mli_exit")
        month = pd.read_csv(month_csv)
        ev, dep = timelines.load_events(), timelines.load_deployments()
        t = best(lambda: run(spec, month, events=ev, deployments=dep), args.repeats)
        print(f"Table 6 model fra_mli_exit (3 estimators x 37 fits): {t:.3f} s")


if __name__ == "__main__":
    main()
