"""Event-study and sensitivity figures for the DiD designs (pure: results -> matplotlib figures).

One style for every figure: Okabe-Ito colour-blind-safe palette, estimators offset horizontally,
thick bars = pointwise 95% CI, thin bars = simultaneous (sup-t) 95% band computed from each
estimator's covariance of the plotted event-time coefficients (Olea & Plagborg-Moller 2019).
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from scipy import stats  # noqa: E402

from sahel_causal.did._common import sup_t_critical  # noqa: E402

OKABE_ITO = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000"]
MARKERS = ["o", "s", "D", "^", "v", "P"]


def _style(ax, xlabel: str = "Years since entry", ylabel: str = "Effect") -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.axhline(0, color="0.3", lw=0.8)
    ax.axvline(-0.5, color="0.6", lw=0.8, ls="--")
    ax.set_xlabel(xlabel, fontsize=9)
    ax.set_ylabel(ylabel, fontsize=9)
    ax.tick_params(labelsize=8)
    ax.grid(axis="y", color="0.9", lw=0.6)
    for s in ("top", "right"):
        ax.spines[s].set_visible(False)


def event_terms(res: Any, window: tuple[float, float]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(event times, estimates, pointwise SEs, covariance) of a DidResult's ``e=k`` terms in ``window``."""
    idx = [(i, int(t[2:])) for i, t in enumerate(res.terms) if t.startswith("e=") and window[0] <= int(t[2:]) <= window[1]]
    if not idx:
        return np.array([]), np.array([]), np.array([]), np.zeros((0, 0))
    ii = [i for i, _ in idx]
    V = res.vcov_matrix()[np.ix_(ii, ii)]
    return (np.array([e for _, e in idx]), np.asarray(res.estimate)[ii], np.asarray(res.std_error)[ii], V)


def draw_event_study(ax, series: Sequence[tuple[str, Any]], window: tuple[float, float], alpha: float = 0.05,
                     seed: int = 20240601) -> None:
    """Plot several estimators' event-time coefficients on one axis."""
    z = stats.norm.ppf(1 - alpha / 2)
    n = len(series)
    for j, (name, res) in enumerate(series):
        e, b, se, V = event_terms(res, window)
        if e.size == 0:
            continue
        ok = np.isfinite(b) & np.isfinite(se)
        crit = sup_t_critical(V[np.ix_(ok, ok)], alpha=alpha, seed=seed) if ok.sum() else math.nan
        x = e + (j - (n - 1) / 2) * 0.22
        c = OKABE_ITO[j % len(OKABE_ITO)]
        if math.isfinite(crit):
            ax.vlines(x[ok], (b - crit * se)[ok], (b + crit * se)[ok], color=c, lw=0.8, alpha=0.6)
        ax.vlines(x[ok], (b - z * se)[ok], (b + z * se)[ok], color=c, lw=2.2)
        ax.plot(x[ok], b[ok], MARKERS[j % len(MARKERS)], color=c, ms=3.8, label=name, mec="white", mew=0.4)
    if window[0] <= -1 <= window[1]:
        ax.plot([-1], [0], "o", mfc="white", mec="0.2", ms=4.5, zorder=5)  # reference period (normalised to 0)
    _style(ax)


def event_study_panels(per_outcome: Sequence[Sequence[Any]], titles: Sequence[str], names: Mapping[str, str],
                       window: tuple[float, float]) -> "matplotlib.figure.Figure":
    """Grid of event-study panels, one per outcome; legend in a free panel."""
    k = len(per_outcome)
    ncol = 3
    nrow = math.ceil((k + 1) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(11, 3.3 * nrow), squeeze=False)
    handles = None
    for ax, results, title in zip(axes.flat, per_outcome, titles):
        series = [(names[r.model_id.split("::")[1]], r.estimates) for r in results]
        draw_event_study(ax, series, window)
        ax.set_title(title, fontsize=10)
        pre = next((r.diagnostics.get("pretrend_wald") for r in results if r.model_id.endswith("::sa")), None)
        if pre and math.isfinite(pre.get("p_value", math.nan)):
            ax.text(0.02, 0.96, f"S&A pre-trend p = {pre['p_value']:.2f}", transform=ax.transAxes, fontsize=7.5, va="top")
        handles = ax.get_legend_handles_labels()
    for ax in list(axes.flat)[k:]:
        ax.axis("off")
    if handles:
        leg_ax = list(axes.flat)[k] if k < nrow * ncol else axes.flat[-1]
        leg_ax.legend(*handles, loc="center", fontsize=9, frameon=False,
                      title="Thick: pointwise 95% CI\nThin: sup-t 95% band\nOpen circle: reference year -1\n(CS pre-periods: year-on-year;\nimputation: post-entry only)", title_fontsize=8.5)
    fig.tight_layout()
    return fig


def sensitivity_plot(frames: Sequence[tuple[str, Any]], original: tuple[float, float], xlabel: str,
                     title: str) -> "matplotlib.figure.Figure":
    """HonestDiD robust confidence sets (columns lb, ub and the restriction column first) against the
    restriction parameter, one panel per restriction type, next to the original CI."""
    fig, axes = plt.subplots(1, len(frames), figsize=(4.6 * len(frames), 3.4), squeeze=False)
    for ax, (label, df) in zip(axes.flat, frames):
        par = df.columns[0]
        x = df[par].to_numpy(float)
        ax.vlines(x, df["lb"], df["ub"], color=OKABE_ITO[0], lw=2.2, label="Robust 95% CI")
        ax.vlines([x.min() - (x.max() - x.min() + 1e-9) * 0.15], [original[0]], [original[1]], color=OKABE_ITO[1], lw=2.2,
                  label="Original 95% CI")
        ax.axhline(0, color="0.3", lw=0.8)
        ax.set_xlabel(label, fontsize=9)
        ax.set_ylabel("Effect", fontsize=9)
        ax.tick_params(labelsize=8)
        for s in ("top", "right"):
            ax.spines[s].set_visible(False)
        ax.legend(fontsize=8, frameon=False)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def coup_event_panels(results: Sequence[Any], titles: Sequence[str], window: tuple[float, float]) -> "matplotlib.figure.Figure":
    """Stacked event-study coefficients around successful coups, one panel per outcome."""
    k = len(results)
    ncol = 3
    nrow = math.ceil(k / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(11, 3.3 * nrow), squeeze=False)
    for ax, r, title in zip(axes.flat, results, titles):
        draw_event_study(ax, [("Stacked", r.estimates)], window)
        ax.set_xlabel("Years since successful coup", fontsize=9)
        ax.set_ylabel("Change (log points)", fontsize=9)
        ax.set_title(title, fontsize=10)
        pre = r.diagnostics["pretrend_wald"]
        ax.text(0.02, 0.04, f"events = {r.diagnostics['n_events_used']}; pre-trend p = {pre['p_value']:.2f}",
                transform=ax.transAxes, fontsize=7.5)
    for ax in list(axes.flat)[k:]:
        ax.axis("off")
    if k < nrow * ncol:
        list(axes.flat)[k].text(0.05, 0.5, "Dots: estimate (ref. year -1)\nThick: pointwise 95% CI\nThin: sup-t 95% band",
                                fontsize=9, va="center")
    fig.tight_layout()
    return fig


def sensitivity_grid(rows: Sequence[tuple[str, Any, Any, tuple[float, float]]], target: str) -> "matplotlib.figure.Figure":
    """HonestDiD sensitivity: one row per outcome, columns = relative magnitudes (Mbar) and
    smoothness (M); robust 95% CIs against the restriction parameter, the original CI at left."""
    fig, axes = plt.subplots(len(rows), 2, figsize=(10, 3.2 * len(rows)), squeeze=False)
    for (title, rm, sd, ci), axr in zip(rows, axes):
        for ax, df, par, lab in ((axr[0], rm, "Mbar", "Relative magnitudes bound M̄"),
                                 (axr[1], sd, "M", "Smoothness bound M (change in slope per year)")):
            x = df[par].to_numpy(float)
            span = (x.max() - x.min()) or 1.0
            x0 = x.min() - 0.18 * span
            ax.vlines([x0], [ci[0]], [ci[1]], color=OKABE_ITO[1], lw=2.6, label="Original 95% CI")
            ax.vlines(x, df["lb"], df["ub"], color=OKABE_ITO[0], lw=2.6, label="Robust 95% CI")
            ax.plot([x0], [(ci[0] + ci[1]) / 2], "s", color=OKABE_ITO[1], ms=4)
            ax.axhline(0, color="0.3", lw=0.8)
            ax.set_xlabel(lab, fontsize=9)
            ax.set_ylabel(target, fontsize=9)
            ax.set_title(title, fontsize=10)
            ax.tick_params(labelsize=8)
            for s in ("top", "right"):
                ax.spines[s].set_visible(False)
            ax.grid(axis="y", color="0.9", lw=0.6)
        axr[0].legend(fontsize=8, frameon=False, loc="upper left")
    fig.tight_layout()
    return fig
