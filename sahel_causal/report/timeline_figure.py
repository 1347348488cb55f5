"""Timeline figure: U.S. program membership, external deployments and coups, country by year.

One horizontal band per country (top to bottom in the order given). Inside each band, thin lanes show
U.S. programs (PSI/TSCTP with hatched red = U.S. aid suspended after a coup; SGI/PREACT) and external
deployments by actor (France, UN, EU, US, Russia, African organisations and regional joint forces).
Coups are drawn on the program lane: filled diamonds for successful coups, open diamonds for failed
attempts. Bars use the month where the reference tables give it, else the whole year (the tables'
"any part of the year" rule). Data: ``data/reference/us_programs.csv`` and
``data/reference/external_deployments.csv`` (see :mod:`sahel_causal.data.timelines`).
"""
from __future__ import annotations

import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402

from sahel_causal.data import countries as country_data  # noqa: E402

DEFAULT_COUNTRIES = ["MRT", "MLI", "BFA", "NER", "TCD", "SEN", "NGA", "CMR", "DZA", "MAR", "TUN"]

# program -> (lane, colour); lane 0 = PSI/TSCTP (+ suspensions and coups), lane 1 = other U.S. programs
PROGRAM_STYLE = {"PSI": (0, "#9ecae1"), "TSCTP": (0, "#08519c"), "SGI": (1, "#74c476"), "PREACT": (1, "#c7e9c0")}
SUSPENSION_COLOR = "#cb181d"
LANES = [
    ("PSI / TSCTP", None, None),
    ("SGI / PREACT", None, None),
    ("France", ("France",), "#1b9e77"),
    ("UN", ("UN",), "#7570b3"),
    ("EU", ("EU",), "#e6ab02"),
    ("U.S. forces", ("US",), "#e7298a"),
    ("Russia (Wagner/Africa Corps)", ("Russia",), "#444444"),
    ("AU / ECOWAS / other RECs", ("AU", "ECOWAS", "OtherREC"), "#a6761d"),
    ("G5 Sahel JF / MNJTF", ("G5_JF", "MNJTF"), "#bdbdbd"),
]


def _interval(row: pd.Series, years: range) -> tuple[float, float] | None:
    """Start and width on a continuous year axis, clipped to ``years``; None if outside."""
    start = float(row["start_year"]) + ((int(row["start_month"]) - 1) / 12 if pd.notna(row["start_month"]) else 0.0)
    if pd.isna(row["end_year"]):
        end = float(years.stop)
    else:
        end = float(row["end_year"]) + (int(row["end_month"]) / 12 if pd.notna(row["end_month"]) else 1.0)
    start, end = max(start, float(years.start)), min(end, float(years.stop))
    return (start, end - start) if end > start else None


def plot_timeline(programs: pd.DataFrame, deployments: pd.DataFrame, coups: pd.DataFrame,
                  countries: list[str] | None = None, years: range = range(2000, 2026)) -> "plt.Figure":
    """Draw the country-by-year timeline; returns the Figure (one y tick label per country).

    ``coups`` needs columns iso3, year, successful (1/0 or bool); an optional ``month`` column
    places the marker within the year. ``countries`` are ISO3 codes, drawn top to bottom.
    """
    codes = list(countries or DEFAULT_COUNTRIES)
    need = {"iso3", "year", "successful"}
    if not need <= set(coups.columns):
        raise ValueError(f"plot_timeline: coups needs columns {sorted(need)}, got {list(coups.columns)}.")
    names = country_data.country_name(pd.Series(codes)).fillna(pd.Series(codes)).tolist()
    n_lanes = len(LANES)
    lane_h = 0.8 / n_lanes
    fig, ax = plt.subplots(figsize=(11, 0.75 * len(codes) + 1.8))
    for i, iso3 in enumerate(codes):
        base = len(codes) - 1 - i  # first country on top
        top = base + 0.9
        ax.axhspan(base + 0.05, base + 0.95, color="0.96" if i % 2 else "white", zorder=0)

        def lane_y(k: int) -> float:
            return top - (k + 1) * lane_h

        prog = programs[programs["iso3"] == iso3]
        for program, (lane, color) in PROGRAM_STYLE.items():
            bars = [iv for _, r in prog[prog["program"] == program].iterrows() if (iv := _interval(r, years))]
            if bars:
                ax.broken_barh(bars, (lane_y(lane), lane_h * 0.9), facecolors=color, zorder=2)
        sus = [iv for _, r in prog[prog["program"] == "COUP_AID_SUSPENSION"].iterrows()
               if (iv := _interval(r, years))]
        if sus:
            ax.broken_barh(sus, (lane_y(0), lane_h * 0.9), facecolors="none", edgecolors=SUSPENSION_COLOR,
                           hatch="////", linewidth=0.8, zorder=3)
        dep = deployments[deployments["iso3"] == iso3]
        for k, (_label, actors, color) in enumerate(LANES[2:], start=2):
            bars = [iv for _, r in dep[dep["actor"].isin(actors)].iterrows() if (iv := _interval(r, years))]
            if bars:
                ax.broken_barh(bars, (lane_y(k), lane_h * 0.9), facecolors=color, zorder=2)
        cp = coups[(coups["iso3"] == iso3) & coups["year"].between(years.start, years.stop - 1)]
        for _, c in cp.iterrows():
            month = c["month"] if "month" in cp.columns and pd.notna(c.get("month")) else 6.5
            x = float(c["year"]) + (float(month) - 0.5) / 12
            ok = bool(c["successful"])
            ax.plot(x, lane_y(0) + lane_h * 0.45, marker="D", ms=6, zorder=5,
                    markerfacecolor="black" if ok else "white", markeredgecolor="black")
    ax.set_yticks([len(codes) - 1 - i + 0.5 for i in range(len(codes))], labels=names, fontsize=9)
    ax.set_ylim(0, len(codes))
    ax.set_xlim(years.start, years.stop)
    ax.set_xticks(range(years.start, years.stop + 1, 5 if len(years) > 12 else 1))
    ax.grid(axis="x", color="0.85", lw=0.6, zorder=1)
    ax.set_xlabel("Year")
    handles = [Patch(facecolor=c, label=p) for p, (_lane, c) in PROGRAM_STYLE.items()]
    handles.append(Patch(facecolor="none", edgecolor=SUSPENSION_COLOR, hatch="////", label="U.S. aid suspended"))
    handles += [Patch(facecolor=c, label=label) for label, _a, c in LANES[2:]]
    handles += [Line2D([], [], marker="D", ls="", color="black", label="Successful coup"),
                Line2D([], [], marker="D", ls="", markerfacecolor="white", markeredgecolor="black",
                       label="Failed coup attempt")]
    fig.legend(handles=handles, loc="lower center", ncol=5, fontsize=7.5, frameon=False)
    lanes = "Lanes within each country, top to bottom: " + "; ".join(lab for lab, _a, _c in LANES)
    ax.set_title("U.S. counterterrorism programs, external security deployments and coups, by country\n"
                 + textwrap.fill(lanes, 110), fontsize=9, loc="left")
    fig.tight_layout(rect=(0, 0.9 / (0.75 * len(codes) + 1.8), 1, 1))
    return fig
