"""Specification curve figure (Simonsohn, Simmons & Nelson 2020): one column per multiverse.

Top panel: every estimated specification's treatment coefficient, standardized (per standard
deviation of the treatment, in standard deviations of the outcome, both in the estimation
sample) so that scalings are comparable, sorted, with its 95% CRV1 interval; colour marks sign
and significance; the headline specification is marked. Bottom panel: which option each
specification uses on every dimension (a dark tick per specification). The y axis of the top
panel is cut at the 0.5% and 99.5% quantiles of the interval ends (stated on the figure).
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from sahel_causal.multiverse.analysis import MultiverseSummary

# Okabe-Ito (colour-blind safe)
SIG_POS, SIG_NEG, NOT_SIG = "#0072B2", "#D55E00", "#9E9E9E"
DIMS = ("outcome", "treatment", "scaling", "lag", "control_set", "region", "years", "exclusion", "fixed_effects")


def curve_data(s: MultiverseSummary) -> pd.DataFrame:
    """Specifications sorted by standardized estimate, with standardized interval and category."""
    c = s.curve.copy()
    ratio = c["std_estimate"] / c["estimate"].where(c["estimate"] != 0)
    c["std_low"] = c["ci_low"] * ratio
    c["std_high"] = c["ci_high"] * ratio
    sig = c["p_value"] < s.alpha
    c["category"] = np.where(sig & (c["estimate"] > 0), "significant positive",
                             np.where(sig & (c["estimate"] < 0), "significant negative", "not significant"))
    c = c.sort_values(["std_estimate", "spec_index"], kind="mergesort").reset_index(drop=True)
    c["rank"] = np.arange(1, len(c) + 1)
    return c


def make_specification_curve(summaries: list[MultiverseSummary]) -> "plt.Figure":
    """The figure described in the module docstring."""
    n = len(summaries)
    fig = plt.figure(figsize=(8.5 * n, 11.5))
    gs = fig.add_gridspec(2, n, height_ratios=[1.0, 1.6], hspace=0.06, wspace=0.55)
    for col, s in enumerate(summaries):
        d = curve_data(s)
        ax = fig.add_subplot(gs[0, col])
        bx = fig.add_subplot(gs[1, col], sharex=ax)
        colors = d["category"].map({"significant positive": SIG_POS, "significant negative": SIG_NEG,
                                    "not significant": NOT_SIG}).to_numpy()
        ax.vlines(d["rank"], d["std_low"], d["std_high"], colors=colors, linewidth=0.3, alpha=0.25, rasterized=True)
        ax.scatter(d["rank"], d["std_estimate"], c=colors, s=1.5, linewidths=0, rasterized=True)
        ax.axhline(0, color="black", linewidth=0.8)
        h = d.index[d["spec_index"] == s.headline]
        if len(h):
            r = d.loc[h[0]]
            ax.plot([r["rank"]], [r["std_estimate"]], marker="v", color="black", markersize=8, linestyle="none",
                    label="headline specification")
        lo, hi = np.nanquantile(d["std_low"], 0.005), np.nanquantile(d["std_high"], 0.995)
        pad = 0.05 * (hi - lo)
        ax.set_ylim(lo - pad, hi + pad)
        ax.set_xlim(0, len(d) + 1)
        sh = s.shares
        joint_p = s.joint.set_index("statistic")["p_value"]
        ax.set_title(f"{s.label}: {len(d):,} specifications\n"
                     f"significant at 5%: {100 * sh['share_significant_positive']:.1f}% positive, "
                     f"{100 * sh['share_significant_negative']:.1f}% negative\njoint test under the null: p = "
                     f"{joint_p['share_significant_dominant']:.3f} (share significant), "
                     f"{joint_p['abs_median_std_estimate']:.3f} (median)", fontsize=10)
        ax.set_ylabel("Standardized estimate\n(SD of outcome per SD of treatment)", fontsize=9)
        handles = [plt.Line2D([], [], color=SIG_POS, marker="o", linestyle="none", label="significant positive (5%)"),
                   plt.Line2D([], [], color=SIG_NEG, marker="o", linestyle="none", label="significant negative (5%)"),
                   plt.Line2D([], [], color=NOT_SIG, marker="o", linestyle="none", label="not significant"),
                   plt.Line2D([], [], color="black", marker="v", linestyle="none", label="headline specification")]
        ax.legend(handles=handles, loc="upper left", fontsize=8, frameon=False)
        ax.tick_params(labelbottom=False, labelsize=8)
        ax.text(1.0, -0.02, "y axis cut at the 0.5% / 99.5% quantiles of the interval ends", transform=ax.transAxes,
                ha="right", va="top", fontsize=7, color="#555555")
        # indicator panel
        labels, ys, xs = [], [], []
        row = 0
        for dim in DIMS:
            opts = sorted(d[dim].astype(str).unique(), key=lambda v: (len(v), v) if dim == "lag" else (0, v))
            for o in opts:
                ranks = d.loc[d[dim].astype(str) == o, "rank"].to_numpy()
                xs.append(ranks)
                ys.append(np.full(len(ranks), row))
                labels.append(f"{dim.replace('_', ' ')}: {o}")
                row += 1
            row += 0.6
        yy = np.concatenate(ys)
        bx.scatter(np.concatenate(xs), yy, marker="|", s=30, linewidths=0.1, color="#222222", alpha=0.6, rasterized=True)
        ticks = sorted(set(float(y[0]) for y in ys))
        bx.set_yticks(ticks)
        bx.set_yticklabels(labels, fontsize=7)
        bx.set_ylim(max(ticks) + 0.8, -0.8)
        bx.set_xlabel("Specifications, sorted by standardized estimate", fontsize=9)
        bx.tick_params(axis="x", labelsize=8)
    return fig


def make_influence_figure(summaries: list[MultiverseSummary]) -> "plt.Figure":
    """Headline estimate without each country (left) and each year (right), 95% CRV1 intervals.

    One row per multiverse; the dashed line is the full-sample estimate. Countries are sorted by
    the estimate without them, years chronologically.
    """
    n = len(summaries)
    fig, axes = plt.subplots(n, 2, figsize=(13, 4.2 * n), gridspec_kw={"width_ratios": [2.4, 1]}, squeeze=False)
    for row, s in enumerate(summaries):
        infl = s.influence
        base = infl[infl["left_out"] == "none"].iloc[0]
        df_t = float(s.curve.loc[s.curve["spec_index"] == s.headline, "df_t"].iloc[0])
        from scipy import stats

        q = stats.t.ppf(1 - s.alpha / 2, df_t)
        for col, kind in enumerate(("country", "year")):
            ax = axes[row, col]
            d = infl[(infl["left_out"] == kind) & (infl["status"] == "ok")]
            d = d.sort_values(["estimate", "unit"] if kind == "country" else ["unit"], kind="mergesort")
            x = np.arange(len(d))
            ax.errorbar(x, d["estimate"], yerr=q * d["std_error"], fmt="o", markersize=3, color=SIG_POS,
                        ecolor="#9ECAE1", elinewidth=1, capsize=0, label=f"without one {kind}")
            ax.axhline(base["estimate"], color="black", linestyle="--", linewidth=1, label="all observations")
            ax.axhline(0, color="#555555", linewidth=0.6)
            ax.set_xticks(x)
            ax.set_xticklabels(d["unit"], rotation=90, fontsize=6 if kind == "country" else 7)
            ax.set_xlim(-1, len(d))
            ax.set_xlabel(f"{kind.capitalize()} left out", fontsize=9)
            if col == 0:
                ax.set_ylabel(f"{s.label}: headline coefficient\n(95% CRV1 interval)", fontsize=9)
            ax.tick_params(axis="y", labelsize=8)
            ax.legend(fontsize=8, frameon=False, loc="upper left")
    fig.tight_layout()
    return fig
