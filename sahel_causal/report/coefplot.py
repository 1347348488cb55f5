"""Coefficient plot (Figure 3): effect of a one within-country SD increase in the treatment.

One panel per outcome scale, because effects on different scales cannot share an axis:
coup probability from linear probability models (percentage points), coups on the log-odds
scale (conditional, Firth and pooled logits), deaths in log points (PPML), and log(1 + deaths)
from OLS. Each row is one model (and treatment, when a model has two). Intervals are 95%:
the restricted wild cluster bootstrap (linear models) or wild score bootstrap (PPML, pooled
logit) confidence set with Webb weights where the table has it, otherwise the CRV1 Wald
interval (conditional and Firth logits); the legend says which. Colour-blind-safe colours and
print-size type (:mod:`sahel_causal.report.figures`).
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.lines import Line2D

from sahel_causal.report.figures import PAIR, TEXT_WIDTH_IN

LOGITS = ("conditional_logit", "firth", "logit_cubic")
# scale id -> (panel title, multiplier)
SCALES = {
    "lpm": ("Coup probability, linear probability models (percentage points)", 100.0),
    "logit": ("Coups, logit models (log-odds)", 1.0),
    "ppml": ("Deaths, Poisson PML (log points)", 1.0),
    "ols_log": ("log(1 + deaths), OLS (log points)", 1.0),
}
INTERVAL_STYLE = {"Wild bootstrap (Webb), 95%": (PAIR[1], "o"), "CRV1 Wald, 95%": (PAIR[0], "s")}


def outcome_scale(table: str, estimator: str) -> str:
    """The scale id of a model: ``lpm``, ``logit``, ``ppml`` or ``ols_log``."""
    if estimator in LOGITS:
        return "logit"
    if estimator == "ppml":
        return "ppml"
    return "lpm" if "coup" in table else "ols_log"


def _row_label(label: str, term: str, first: bool) -> str:
    if first:
        return label
    if term.endswith("_f1"):
        return f"{label}: lead (t+1)"
    return f"{label}: {term}"


def coefplot_data(tidies: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Rows: table, model, label, estimator, term, scale, 1-SD effect and its 95% interval (scaled by
    the within-country SD and the panel's multiplier), interval kind."""
    recs = []
    for table, t in tidies.items():
        seen: set[str] = set()
        for _, r in t.iterrows():
            sd = r["within_sd"]
            if "ci_wild_webb_low" in t.columns and pd.notna(r.get("ci_wild_webb_low")):
                lo, hi, kind = r["ci_wild_webb_low"], r["ci_wild_webb_high"], "Wild bootstrap (Webb), 95%"
            else:
                lo, hi, kind = r["conf_low"], r["conf_high"], "CRV1 Wald, 95%"
            scale = outcome_scale(table, r["estimator"])
            mult = SCALES[scale][1]
            first = r["model"] not in seen
            seen.add(r["model"])
            recs.append({"table": table, "model": r["model"], "label": _row_label(r["label"], r["term"], first),
                         "estimator": r["estimator"], "term": r["term"], "scale": scale,
                         "effect": r["estimate"] * sd * mult, "low": lo * sd * mult, "high": hi * sd * mult,
                         "interval": kind})
    return pd.DataFrame(recs)


def make_coefplot(data: pd.DataFrame, titles: dict[str, str] | None = None) -> "plt.Figure":
    """One panel per outcome scale; rows = model (and term); markers by interval kind."""
    scales = [s for s in SCALES if (data["scale"] == s).any()]
    heights = [0.2 * (data["scale"] == s).sum() + 0.5 for s in scales]
    fig, axes = plt.subplots(len(scales), 1, figsize=(TEXT_WIDTH_IN, sum(heights) + 0.9),
                             gridspec_kw={"height_ratios": heights})
    axes = np.atleast_1d(axes)
    for ax, scale in zip(axes, scales):
        d = data[data["scale"] == scale].reset_index(drop=True)
        ypos = np.arange(len(d))[::-1]
        for y, (_, r) in zip(ypos, d.iterrows()):
            color, marker = INTERVAL_STYLE[r["interval"]]
            ax.plot([r["low"], r["high"]], [y, y], color=color, lw=1.6, solid_capstyle="butt")
            ax.plot(r["effect"], y, marker=marker, color=color, ms=5, ls="")
        ax.axvline(0, color="0.35", lw=0.8)
        ax.set_yticks(ypos, labels=list(d["label"]), fontsize=8)
        ax.set_ylim(-0.7, len(d) - 0.3)
        ax.set_title(SCALES[scale][0], fontsize=9, loc="left")
        ax.grid(axis="x", color="0.88", lw=0.6)
        ax.tick_params(axis="x", labelsize=8)
    handles = [Line2D([], [], color=c, marker=m, lw=1.6, label=k) for k, (c, m) in INTERVAL_STYLE.items()]
    fig.legend(handles=handles, loc="lower center", ncol=2, frameon=False, fontsize=8.5)
    fig.supxlabel("Effect of a one within-country SD increase in the treatment (scale in each panel title)",
                  fontsize=8.5, y=0.04)
    fig.tight_layout(rect=(0, 0.055, 1, 1))
    return fig
