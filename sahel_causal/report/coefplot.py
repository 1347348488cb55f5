"""Coefficient plot: effect of a one within-country SD increase in the treatment, by model.

Models with a wild bootstrap (linear models: restricted wild cluster bootstrap; PPML and pooled
logit: wild score bootstrap) show its 95% confidence set (Webb weights, test inversion); the
conditional and Firth logits show the CRV1 Wald interval. All on the scale of each
model's outcome (probability for LPMs, log-odds for logits, log points for PPML).
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd


def coefplot_data(tidies: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Rows: table, model label, term, 1-SD effect and its interval (scaled by the within SD)."""
    recs = []
    for table, t in tidies.items():
        for _, r in t.iterrows():
            sd = r["within_sd"]
            if "ci_wild_webb_low" in t.columns and pd.notna(r.get("ci_wild_webb_low")):
                lo, hi, kind = r["ci_wild_webb_low"], r["ci_wild_webb_high"], "WCR (Webb)"
            else:
                lo, hi, kind = r["conf_low"], r["conf_high"], "CRV1 Wald"
            recs.append({"table": table, "model": r["model"], "label": r["label"], "estimator": r["estimator"],
                         "term": r["term"], "effect": r["estimate"] * sd, "low": lo * sd, "high": hi * sd,
                         "interval": kind})
    return pd.DataFrame(recs)


def make_coefplot(data: pd.DataFrame, titles: dict[str, str]) -> "plt.Figure":
    """One panel per table; rows = model and term."""
    tables = list(dict.fromkeys(data["table"]))
    heights = [max(2.0, 0.32 * (data["table"] == t).sum() + 0.8) for t in tables]
    fig, axes = plt.subplots(len(tables), 1, figsize=(8, sum(heights)), gridspec_kw={"height_ratios": heights})
    axes = np.atleast_1d(axes)
    colors = {"ols": "#2166ac", "ppml": "#b2182b", "conditional_logit": "#1b7837", "firth": "#762a83",
              "logit_cubic": "#e08214"}
    for ax, table in zip(axes, tables):
        d = data[data["table"] == table].reset_index(drop=True)
        ypos = np.arange(len(d))[::-1]
        for y, (_, r) in zip(ypos, d.iterrows()):
            c = colors.get(r["estimator"], "0.3")
            ax.plot([r["low"], r["high"]], [y, y], color=c, lw=1.8)
            ax.plot(r["effect"], y, "o", color=c, ms=5)
        ax.axvline(0, color="0.3", lw=0.8)
        ax.set_yticks(ypos)
        ax.set_yticklabels([f"{r['label']}: {r['term']}" for _, r in d.iterrows()], fontsize=7.5)
        ax.set_title(titles.get(table, table), fontsize=9, loc="left")
        ax.grid(axis="x", alpha=0.3)
        ax.tick_params(axis="x", labelsize=8)
    axes[-1].set_xlabel("Effect of +1 within-country SD of the treatment (outcome scale of each model); "
                        "95% interval: wild (score) bootstrap, Webb weights; CRV1 for conditional and Firth logits", fontsize=7.5)
    fig.tight_layout()
    return fig
