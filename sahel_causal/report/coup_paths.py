"""Figure 4: U.S. training around coups (the reverse-causality check).

U.S. appropriations law (the Section 7008 coup restriction) suspends most security assistance
to a government that took power by coup, so training should fall *after* successful coups; a
fall *before* them would instead suggest that assistance anticipates instability. The figure
shows mean U.S. training spending per capita (constant 2023 US$) by years relative to each
coup (event time -5..+5), with 95% percentile-bootstrap intervals that resample events
(2,000 draws, seed 20240726): spending is non-negative and very skewed, so a normal interval
would cross zero; the percentile interval stays within the quantity's range. Successful coups
and failed attempts are shown separately. Descriptive: no fixed effects, no causal claim.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sahel_causal.report.figures import PAIR, TEXT_WIDTH_IN

WINDOW = range(-5, 6)
BOOT_DRAWS = 2000
BOOT_SEED = 20240726


def coup_event_paths(panel: pd.DataFrame, first: int = 2000, last: int = 2020) -> pd.DataFrame:
    """Long table: kind (successful/failed), event (iso3-year), k, training per capita at year+k."""
    p = panel.set_index(["iso3", "year"])
    pc = p["us_training_cost_usd"] / p["population"]
    recs = []
    for kind, col in (("successful coup", "coup_successes"), ("failed attempt", "coup_failed")):
        ev = panel[(panel[col] > 0) & panel["year"].between(first, last)]
        for r in ev.itertuples(index=False):
            for k in WINDOW:
                v = pc.get((r.iso3, r.year + k), np.nan)
                recs.append({"kind": kind, "event": f"{r.iso3} {r.year}", "k": k, "training_pc": v})
    return pd.DataFrame(recs)


def summarise(paths: pd.DataFrame, draws: int = BOOT_DRAWS, seed: int = BOOT_SEED) -> pd.DataFrame:
    """Mean, 95% percentile-bootstrap interval (resampling events) and number of events with data,
    by kind and event time. Deterministic given ``seed``."""
    rng = np.random.default_rng(seed)
    recs = []
    for (kind, k), g in paths.dropna(subset=["training_pc"]).groupby(["kind", "k"], sort=True):
        v = g["training_pc"].to_numpy(float)
        means = v[rng.integers(0, len(v), size=(draws, len(v)))].mean(axis=1)
        lo, hi = np.quantile(means, [0.025, 0.975])
        recs.append({"kind": kind, "k": k, "mean": v.mean(), "std": v.std(ddof=1) if len(v) > 1 else np.nan,
                     "count": len(v), "low": lo, "high": hi})
    return pd.DataFrame(recs)


def make_coup_paths_figure(panel: pd.DataFrame) -> "plt.Figure":
    """Two lines with bands: successful coups and failed attempts."""
    s = summarise(coup_event_paths(panel))
    fig, ax = plt.subplots(figsize=(TEXT_WIDTH_IN, 3.8))
    colors = {"successful coup": PAIR[0], "failed attempt": PAIR[1]}
    for kind, d in s.groupby("kind"):
        n = coup_event_paths(panel).query("kind == @kind")["event"].nunique()
        ax.plot(d["k"], d["mean"], marker="o", color=colors[kind], label=f"{kind} ({n} events)")
        ax.fill_between(d["k"], d["low"], d["high"], color=colors[kind], alpha=0.15, lw=0)
    ax.axvline(0, color="0.4", lw=0.8, ls="--")
    ax.set_xticks(list(WINDOW))
    ax.set_xlabel("Years relative to the coup (0 = coup year)")
    ax.set_ylabel("U.S. training per capita (constant 2023 US$)")
    ax.set_title("U.S. military training around coups, 2000-2020 (FMTR): mean, 95% bootstrap interval",
                 fontsize=9, loc="left")
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, fontsize=8.5)
    fig.tight_layout()
    return fig
