"""Event-study figures for staggered DiD: pointwise and simultaneous bands, the joint pre-trend
test, and HonestDiD sensitivity plots. Pure functions from results to DataFrames and figures.

* :func:`pretrend_test`: Wald test that every pre-treatment event-time coefficient of a dynamic
  :func:`sahel_causal.did.aggte` result is zero, :math:`W=\\hat\\beta_{pre}'\\hat V_{pre}^{-1}
  \\hat\\beta_{pre}\\sim\\chi^2_{k}` under the null (analytic covariance from the influence
  functions; coefficients with zero variance -- the universal-base reference -- left out).
* :func:`plot_event_study`: estimates by event time with the pointwise 95% interval (analytic SE)
  and the simultaneous sup-t band (multiplier bootstrap) when available; the pre-trend test and the
  overall post-treatment ATT are written in the panel.
* :func:`plot_sensitivity`: robust confidence sets (``lb``, ``ub``) from
  :func:`sahel_causal.did.honest.sensitivity_relative_magnitudes` or
  :func:`~sahel_causal.did.honest.sensitivity_smoothness` against the restriction parameter, next
  to the original (parallel-trends) interval, as HonestDiD's ``createSensitivityPlot``.

Colours: Okabe-Ito (colour-blind safe).
"""
from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from scipy import stats

from sahel_causal.errors import SpecificationError

PRE, POST, BAND, ORIGINAL = "#E69F00", "#0072B2", "#56B4E9", "#D55E00"


def pretrend_test(es: Any) -> tuple[float, int, float]:
    """(Wald statistic, degrees of freedom, p-value) for all pre-treatment coefficients = 0."""
    if getattr(es, "type", None) != "dynamic":
        raise SpecificationError("pretrend_test: pass an aggte(..., type='dynamic') result")
    egt = np.asarray(es.egt, dtype=float)
    V = es.vcov_egt()
    pre = (egt < 0) & (np.diag(V) > 0)
    if not pre.any():
        return float("nan"), 0, float("nan")
    b = np.asarray(es.att_egt)[pre]
    Vp = V[np.ix_(pre, pre)]
    W = float(b @ np.linalg.pinv(Vp) @ b)
    k = int(np.linalg.matrix_rank(Vp))
    return W, k, float(stats.chi2.sf(W, k))


def plot_event_study(es: Any, ax: "plt.Axes | None" = None, title: str | None = None,
                     ylabel: str = "ATT", xlabel: str = "Years relative to entry") -> "plt.Figure":
    """Event-study plot of a dynamic aggregation (see the module docstring)."""
    if getattr(es, "type", None) != "dynamic":
        raise SpecificationError("plot_event_study: pass an aggte(..., type='dynamic') result")
    d = es.tidy()
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(7.0, 4.2))
    else:
        fig = ax.figure
    e = d["event_time"].to_numpy()
    has_band = np.isfinite(d["cband_low"]).any()
    for mask, col, lab in ((e < 0, PRE, "pre-treatment"), (e >= 0, POST, "post-treatment")):
        if not mask.any():
            continue
        x = e[mask]
        if has_band:
            ax.vlines(x, d["cband_low"][mask], d["cband_high"][mask], color=col, lw=1.0, alpha=0.55)
        ax.vlines(x, d["ci_low"][mask], d["ci_high"][mask], color=col, lw=3.2)
        ax.plot(x, d["att"][mask], "o", color=col, ms=6, label=lab, mec="white", mew=0.8)
    ax.axhline(0.0, color="0.25", lw=0.8)
    ax.axvline(-0.5, color="0.5", lw=0.8, ls="--")
    hi_col, lo_col = ("cband_high", "cband_low") if has_band else ("ci_high", "ci_low")
    top = np.nanmax(np.r_[d[hi_col], d["ci_high"], 0.0])
    bot = np.nanmin(np.r_[d[lo_col], d["ci_low"], 0.0])
    span = top - bot if top > bot else 1.0
    ax.set_ylim(bot - 0.05 * span, top + 0.32 * span)  # head-room for the annotation
    ax.set_xlabel(xlabel, fontsize=10)
    ax.set_ylabel(ylabel, fontsize=10)
    ax.set_xticks(e)
    ax.set_xticklabels([f"{int(v)}" for v in e], fontsize=9)
    ax.tick_params(axis="y", labelsize=9)
    ax.grid(axis="y", alpha=0.3)
    W, k, p = pretrend_test(es)
    z = stats.norm.ppf(1 - es.alp / 2)
    lines = [f"Overall ATT (e \u2265 0): {es.overall_att:.3g} (SE {es.overall_se:.2g}, "
             f"95% CI {es.overall_att - z * es.overall_se:.3g} to {es.overall_att + z * es.overall_se:.3g})"]
    if k:
        lines.append(f"Pre-trend test: chi2({k}) = {W:.2f}, p = {p:.3f}")
    ax.text(0.01, 0.98, "\n".join(lines), transform=ax.transAxes, va="top", ha="left", fontsize=8.5,
            bbox={"facecolor": "white", "edgecolor": "0.8", "alpha": 0.9})
    handles, labels = ax.get_legend_handles_labels()
    from matplotlib.lines import Line2D

    handles += [Line2D([0], [0], color="0.3", lw=3.2), Line2D([0], [0], color="0.3", lw=1.0, alpha=0.55)]
    labels += ["95% pointwise CI"] + (["95% simultaneous (sup-t) band"] if has_band else [])
    if not has_band:
        handles = handles[:-1]
    ax.legend(handles, labels, fontsize=8.5, loc="lower left", frameon=True)
    if title:
        ax.set_title(title, fontsize=10.5, loc="left")
    fig.tight_layout()
    return fig


def plot_sensitivity(robust: pd.DataFrame, original: tuple[float, float], ax: "plt.Axes | None" = None,
                     title: str | None = None, ylabel: str = "Effect") -> "plt.Figure":
    """Robust confidence sets against the restriction parameter (``Mbar`` or ``M`` column)."""
    param = "Mbar" if "Mbar" in robust.columns else "M" if "M" in robust.columns else None
    if param is None or not {"lb", "ub"} <= set(robust.columns):
        raise SpecificationError("plot_sensitivity: robust must have columns lb, ub and Mbar or M")
    vals = robust[param].to_numpy(float)
    gap = np.min(np.diff(np.sort(vals))) if vals.size > 1 else 1.0
    x0 = vals.min() - gap
    fig = None
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.0, 4.0))
    else:
        fig = ax.figure
    ax.vlines([x0], [original[0]], [original[1]], color=ORIGINAL, lw=2.2, label="Original (parallel trends)")
    ax.plot([x0 - gap / 6, x0 + gap / 6], [original[0]] * 2, color=ORIGINAL, lw=2.2)
    ax.plot([x0 - gap / 6, x0 + gap / 6], [original[1]] * 2, color=ORIGINAL, lw=2.2)
    method = str(robust["method"].iloc[0]) if "method" in robust.columns else "robust"
    ok = np.isfinite(robust["lb"]) & np.isfinite(robust["ub"])
    ax.vlines(vals[ok], robust["lb"][ok], robust["ub"][ok], color=POST, lw=2.2, label=f"Robust ({method})")
    for v, lo, hi in zip(vals[ok], robust["lb"][ok], robust["ub"][ok]):
        ax.plot([v - gap / 6, v + gap / 6], [lo, lo], color=POST, lw=2.2)
        ax.plot([v - gap / 6, v + gap / 6], [hi, hi], color=POST, lw=2.2)
    ax.axhline(0.0, color="0.25", lw=0.8)
    sym = r"$\bar{M}$" if param == "Mbar" else r"$M$"
    ax.set_xlabel(f"{sym} ({'relative magnitudes' if param == 'Mbar' else 'smoothness'} bound)", fontsize=10)
    ax.set_ylabel(ylabel, fontsize=10)
    ax.set_xticks(np.r_[x0, vals])
    ax.set_xticklabels(["orig."] + [f"{v:g}" for v in vals], fontsize=9)
    ax.tick_params(axis="y", labelsize=9)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8.5, loc="best")
    if title:
        ax.set_title(title, fontsize=10.5, loc="left")
    fig.tight_layout()
    return fig
