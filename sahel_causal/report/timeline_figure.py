"""Timeline figure: U.S. program membership, external deployments and coups, country by year.

One horizontal band per country (top to bottom in the order given). Inside each band, thin lanes show
U.S. programs (PSI/TSCTP with hatched red = U.S. aid suspended after a coup; SGI/PREACT) and external
deployments by actor (France, UN, EU, US, Russia, African organisations and regional joint forces).
Coups have their own top lane and are drawn at their date (``month``/``day`` columns, from
``data/processed/coup_events.csv``): filled downward triangles for successful coups, open circles
for failed attempts; events less than four months apart are staggered vertically so that both
stay visible (Mali, March and May 2012; Burkina Faso, January and September 2022). Bars use the
month where the reference tables give it, else the whole year (the tables' "any part of the
year" rule). Colours: Paul Tol's colour-blind-safe muted palette (:mod:`sahel_causal.report.figures`). Data: ``data/reference/us_programs.csv`` and
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
from sahel_causal.report.figures import TEXT_WIDTH_IN, TOL_MUTED  # noqa: E402

DEFAULT_COUNTRIES = ["MRT", "MLI", "BFA", "NER", "TCD", "SEN", "NGA", "CMR", "DZA", "MAR", "TUN"]

# program -> (lane, colour); lane 1 = PSI/TSCTP (+ suspensions), lane 2 = other U.S. programs
PROGRAM_STYLE = {"PSI": (1, TOL_MUTED["cyan"]), "TSCTP": (1, TOL_MUTED["indigo"]),
                 "SGI": (2, TOL_MUTED["green"]), "PREACT": (2, TOL_MUTED["teal"])}
SUSPENSION_COLOR = TOL_MUTED["black"]
LANES = [
    ("Coups", None, None),
    ("PSI / TSCTP", None, None),
    ("SGI / PREACT", None, None),
    ("France", ("France",), TOL_MUTED["rose"]),
    ("UN", ("UN",), TOL_MUTED["sand"]),
    ("EU", ("EU",), TOL_MUTED["olive"]),
    ("U.S. forces", ("US",), TOL_MUTED["wine"]),
    ("Russia (Wagner/Africa Corps)", ("Russia",), TOL_MUTED["black"]),
    ("AU / ECOWAS / other RECs", ("AU", "ECOWAS", "OtherREC"), TOL_MUTED["purple"]),
    ("G5 Sahel JF / MNJTF", ("G5_JF", "MNJTF"), TOL_MUTED["grey"]),
]
#: Events closer than this (years) are staggered vertically.
STAGGER = 1 / 3


def coup_positions(coups: pd.DataFrame) -> pd.DataFrame:
    """x position (decimal year at the event's date; mid-year when the month is unknown) and a
    stagger level (0, 1, 0, ...) for events of one country closer than :data:`STAGGER` years."""
    out = coups.copy()
    month = out["month"] if "month" in out.columns else pd.Series(float("nan"), index=out.index)
    day = out["day"] if "day" in out.columns else pd.Series(float("nan"), index=out.index)
    frac = [((float(m) - 1) + ((float(d) - 0.5) / 31 if pd.notna(d) else 0.5)) / 12 if pd.notna(m) else 0.5
            for m, d in zip(month, day)]
    out["x"] = out["year"].astype(float) + frac
    out = out.sort_values(["iso3", "x"], kind="stable")
    level = []
    prev_iso, prev_x, prev_level = None, None, 0
    for iso3, x in zip(out["iso3"], out["x"]):
        lev = (1 - prev_level) if iso3 == prev_iso and x - prev_x < STAGGER else 0
        level.append(lev)
        prev_iso, prev_x, prev_level = iso3, x, lev
    out["level"] = level
    return out


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
    lane_h = 0.86 / n_lanes
    height = 0.62 * len(codes) + 1.9
    fig, ax = plt.subplots(figsize=(TEXT_WIDTH_IN, height))
    placed = coup_positions(coups[coups["year"].between(years.start, years.stop - 1)])
    for i, iso3 in enumerate(codes):
        base = len(codes) - 1 - i  # first country on top
        top = base + 0.93
        ax.axhspan(base + 0.03, base + 0.97, color="0.94" if i % 2 else "white", zorder=0, lw=0)

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
            ax.broken_barh(sus, (lane_y(1), lane_h * 0.9), facecolors="white", edgecolors=SUSPENSION_COLOR,
                           hatch="xxxx", linewidth=0.6, zorder=3)
        dep = deployments[deployments["iso3"] == iso3]
        for k, (_label, actors, color) in enumerate(LANES[3:], start=3):
            bars = [iv for _, r in dep[dep["actor"].isin(actors)].iterrows() if (iv := _interval(r, years))]
            if bars:
                ax.broken_barh(bars, (lane_y(k), lane_h * 0.9), facecolors=color, zorder=2)
        for _, c in placed[placed["iso3"] == iso3].iterrows():
            y = lane_y(0) + lane_h * (0.25 + 0.9 * c["level"])
            if bool(c["successful"]):
                ax.plot(c["x"], y, marker="v", ms=6.5, zorder=6, color="black", mec="black", ls="")
            else:
                ax.plot(c["x"], y, marker="o", ms=5.5, zorder=6, mfc="white", mec="black", mew=1.2, ls="")
    ax.set_yticks([len(codes) - 1 - i + 0.5 for i in range(len(codes))], labels=names, fontsize=9)
    ax.tick_params(axis="y", length=0)
    ax.set_ylim(0, len(codes))
    ax.set_xlim(years.start, years.stop)
    ax.set_xticks(range(years.start, years.stop + 1, 5 if len(years) > 12 else 1))
    ax.set_xticks(range(years.start, years.stop + 1), minor=True)
    ax.grid(axis="x", which="major", color="0.75", lw=0.6, zorder=1)
    ax.grid(axis="x", which="minor", color="0.9", lw=0.4, zorder=1)
    ax.set_xlabel("Year (coups at their date)")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    handles = [Line2D([], [], marker="v", ls="", color="black", ms=7, label="Successful coup"),
               Line2D([], [], marker="o", ls="", mfc="white", mec="black", mew=1.2, ms=6, label="Failed coup attempt")]
    handles += [Patch(facecolor=c, label=p) for p, (_lane, c) in PROGRAM_STYLE.items()]
    handles.append(Patch(facecolor="white", edgecolor=SUSPENSION_COLOR, hatch="xxxx", label="U.S. aid suspended"))
    handles += [Patch(facecolor=c, label=label) for label, _a, c in LANES[3:]]
    fig.legend(handles=handles, loc="lower center", ncol=3, fontsize=8, frameon=False,
               handlelength=1.6, columnspacing=1.2)
    lanes = "Lanes in each country band, top to bottom: " + "; ".join(lab for lab, _a, _c in LANES) + "."
    ax.set_title(textwrap.fill(lanes, 100), fontsize=8, loc="left")
    fig.tight_layout(rect=(0, 1.2 / height, 1, 1))
    return fig
