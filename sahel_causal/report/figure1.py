"""Figure 1: coup attempts, conflict fatalities and U.S. training spending over time, Sahel G5 vs rest of Africa."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from sahel_causal.data.money import BASE_YEAR
from sahel_causal.report.figures import PAIR, TEXT_WIDTH_IN
from sahel_causal.report.groups import G5

PANELS = [
    ("coup_attempts", "Coup attempts\nper country", 1, "Coup attempts (Powell & Thyne, to 2023)"),
    ("ucdp_total_best", "Deaths per country", 1,
     "Organized-violence deaths (UCDP v25.1: state-based + non-state + one-sided; log scale)"),
    ("us_training_cost_usd", f"US$ m ({BASE_YEAR})\nper country", 1e6,
     "U.S. military training spending (FMTR FY1999-FY2020; FY2006 report missing)"),
]


def figure1_data(panel: pd.DataFrame) -> pd.DataFrame:
    """Per-country yearly means for the two groups (long: year, group, variable, value, n)."""
    df = panel.copy()
    df["ucdp_total_best"] = df[["ucdp_state_based_best", "ucdp_nonstate_best", "ucdp_onesided_best"]].sum(
        axis=1, min_count=3)
    df["group"] = df["sahel_g5"].map({1: G5, 0: "Rest of Africa"})
    recs = []
    for col, _label, div, _src in PANELS:
        g = df.dropna(subset=[col]).groupby(["year", "group"])[col]
        m = (g.mean() / div).rename("value").reset_index()
        m["n"] = g.size().values
        m["variable"] = col
        recs.append(m)
    return pd.concat(recs, ignore_index=True)


def make_figure1(panel: pd.DataFrame) -> "plt.Figure":
    """Three stacked panels sharing the year axis; lines: Sahel G5 and the rest of Africa."""
    data = figure1_data(panel)
    fig, axes = plt.subplots(3, 1, figsize=(TEXT_WIDTH_IN, 7.5), sharex=True)
    colors = {G5: PAIR[0], "Rest of Africa": PAIR[1]}
    for ax, (col, label, _div, src) in zip(axes, PANELS):
        sub = data[data["variable"] == col]
        years = range(int(panel["year"].min()), int(panel["year"].max()) + 1)
        for grp, s in sub.groupby("group"):
            s = s.set_index("year")["value"].reindex(years)  # a year without data breaks the line
            ax.plot(s.index, s.values, marker="o", ms=3, lw=1.6, color=colors[grp], label=grp)
        if col == "ucdp_total_best":
            ax.set_yscale("symlog", linthresh=100)
        ax.set_ylabel(label, fontsize=8.5)
        ax.set_title(src, fontsize=8.5, loc="left")
        ax.grid(alpha=0.3)
        for year in (2002, 2005, 2013, 2022):
            ax.axvline(year, color="0.6", lw=0.8, ls="--")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, frameon=False, fontsize=8.5, loc="lower center", ncol=2)
    axes[-1].set_xlabel("Year (dashed lines: PSI 2002, TSCTP 2005, Operation Serval 2013, French exit from Mali 2022)",
                        fontsize=8.5)
    fig.suptitle("Coups, organized violence and U.S. military training: Sahel G5 vs rest of Africa",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig
