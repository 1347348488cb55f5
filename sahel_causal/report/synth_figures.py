"""Figures for Table 6: event-time gaps with the placebo distribution, treated versus synthetic paths,
and donor weights. Pure functions from results to matplotlib figures (no estimation, no file I/O).

Palette: Okabe & Ito (2008) colour-blind-safe colours; the weights heat map uses viridis.
"""
from __future__ import annotations

import math
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from sahel_causal.designs.synthetic_control import SyntheticControlResult  # noqa: E402

BLACK, ORANGE, SKY, GREEN, BLUE, VERMILLION, GREY = ("#000000", "#E69F00", "#56B4E9", "#009E73", "#0072B2",
                                                     "#D55E00", "#BBBBBB")


def _grid(n: int, ncols: int = 2, height: float = 2.6) -> tuple[plt.Figure, np.ndarray]:
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(11, height * nrows + 0.8), squeeze=False)
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, axes.ravel()


def _ylabel(r: SyntheticControlResult) -> str:
    return "log(1 + events)" if r.transform == "log1p" else "events"


def event_time_figure(results: Sequence[SyntheticControlResult]) -> plt.Figure:
    """Per model: the SDID gap (treated minus synthetic) by month relative to the first post month, the
    SC gap, and the SDID gaps of every in-space placebo (grey)."""
    fig, axes = _grid(len(results))
    for ax, r in zip(axes, results):
        sd, sc = r.fit("synthdid"), r.fit("sc")
        x = np.arange(len(r.periods)) - r.T0
        for g in sd.placebo_gaps:
            ax.plot(x, g, color=GREY, lw=0.6, alpha=0.6, zorder=1)
        ax.plot(x, np.array(sd.treated_path) - np.array(sd.synthetic_path), color=BLACK, lw=2.0, zorder=3,
                label="SDID gap")
        ax.plot(x, np.array(sc.treated_path) - np.array(sc.synthetic_path), color=ORANGE, lw=1.6, ls="--",
                zorder=2, label="SC gap")
        ax.axvline(-0.5, color=VERMILLION, lw=1.0, ls=":")
        ax.axhline(0, color=BLACK, lw=0.5)
        ax.set_title(f"{r.label}\nSDID {sd.estimate:+.2f} (p = {sd.p_rmspe:.2f}), SC {sc.estimate:+.2f} "
                     f"(p = {sc.p_rmspe:.2f})", fontsize=9)
        ax.set_xlabel("months since the first post-exit month")
        ax.set_ylabel(f"gap, {_ylabel(r)}", fontsize=9)
        ax.tick_params(labelsize=8)
    handles = [plt.Line2D([], [], color=BLACK, lw=2, label="treated minus synthetic (SDID)"),
               plt.Line2D([], [], color=ORANGE, lw=1.6, ls="--", label="treated minus synthetic (SC)"),
               plt.Line2D([], [], color=GREY, lw=1, label="placebo states (SDID)"),
               plt.Line2D([], [], color=VERMILLION, lw=1, ls=":", label="exit")]
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=9, frameon=False)
    fig.suptitle("Exits and political violence: gaps to the synthetic control, with in-space placebos", fontsize=11)
    fig.tight_layout(rect=(0, 0.04, 1, 0.97))
    return fig


def paths_figure(results: Sequence[SyntheticControlResult]) -> plt.Figure:
    """Per model: the treated state's (seasonally adjusted) outcome and its SDID and SC counterfactuals."""
    fig, axes = _grid(len(results))
    for ax, r in zip(axes, results):
        sd, sc = r.fit("synthdid"), r.fit("sc")
        x = np.arange(len(r.periods)) - r.T0
        ax.plot(x, sd.treated_path, color=BLACK, lw=2.0, label="treated")
        ax.plot(x, sd.synthetic_path, color=BLUE, lw=1.6, label="synthetic (SDID)")
        ax.plot(x, sc.synthetic_path, color=ORANGE, lw=1.6, ls="--", label="synthetic (SC)")
        ax.axvline(-0.5, color=VERMILLION, lw=1.0, ls=":")
        ax.set_title(r.label, fontsize=9)
        ax.set_xlabel("months since the first post-exit month")
        ax.set_ylabel(_ylabel(r), fontsize=9)
        ax.tick_params(labelsize=8)
    handles = [plt.Line2D([], [], color=BLACK, lw=2, label="treated state"),
               plt.Line2D([], [], color=BLUE, lw=1.6, label="synthetic (SDID, level-shifted)"),
               plt.Line2D([], [], color=ORANGE, lw=1.6, ls="--", label="synthetic control (SC)"),
               plt.Line2D([], [], color=VERMILLION, lw=1, ls=":", label="exit")]
    fig.legend(handles=handles, loc="lower center", ncol=4, fontsize=9, frameon=False)
    fig.suptitle("Treated states and their synthetic counterfactuals (seasonally adjusted)", fontsize=11)
    fig.tight_layout(rect=(0, 0.04, 1, 0.97))
    return fig


def donor_weights_figure(results: Sequence[SyntheticControlResult]) -> plt.Figure:
    """Heat maps of the SC and SDID donor weights (rows: donors, columns: models); blank = not a donor."""
    donors = sorted({d for r in results for d in r.donors})
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.2 * len(donors) + 2.6), sharey=True)
    for ax, est, name in zip(axes, ("sc", "synthdid"), ("Synthetic control", "Synthetic DiD")):
        mat = np.full((len(donors), len(results)), np.nan)
        for j, r in enumerate(results):
            w = dict(zip(r.donors, r.fit(est).omega))
            for i, d in enumerate(donors):
                if d in w:
                    mat[i, j] = w[d]
        im = ax.imshow(np.ma.masked_invalid(mat), aspect="auto", cmap="viridis", vmin=0,
                       vmax=float(np.nanmax(mat)), interpolation="nearest")
        ax.set_xticks(range(len(results)))
        ax.set_xticklabels([r.id for r in results], rotation=60, ha="right", fontsize=8)
        ax.set_yticks(range(len(donors)))
        ax.set_yticklabels(donors, fontsize=7)
        ax.set_title(f"{name} (own colour scale)", fontsize=10)
        ax.set_facecolor("#F2F2F2")
        fig.colorbar(im, ax=ax, shrink=0.5, pad=0.02, label="donor weight")
    fig.text(0.5, 0.005, "Light grey: not in the donor pool of that exit (see the table notes).", ha="center",
             fontsize=8)
    fig.suptitle("Donor weights by exit (monthly events)", fontsize=11)
    return fig
