"""Figures: coups at their date, one panel per outcome scale, intervals within range, legible type."""
from __future__ import annotations

import numpy as np
import pandas as pd

from sahel_causal.report.coefplot import coefplot_data, make_coefplot, outcome_scale
from sahel_causal.report.coup_paths import summarise
from sahel_causal.report.figures import MIN_FONT_PT, TEXT_WIDTH_IN, smallest_font
from sahel_causal.report.timeline_figure import coup_positions, plot_timeline


def _coups() -> pd.DataFrame:
    return pd.DataFrame({"iso3": ["MLI", "MLI", "BFA", "BFA", "NER"], "year": [2012, 2012, 2022, 2022, 2023],
                         "month": [3, 5, 1, 9, 7], "day": [22, 1, 23, 30, 26], "successful": [1, 0, 1, 1, 1]})


def test_coups_are_placed_at_their_date_and_close_events_staggered() -> None:
    pos = coup_positions(_coups()).set_index(["iso3", "month"])
    assert pos.loc[("MLI", 3), "x"] < pos.loc[("MLI", 5), "x"] < 2012.5
    assert abs(pos.loc[("MLI", 3), "x"] - (2012 + (2 + 21.5 / 31) / 12)) < 1e-12
    assert pos.loc[("MLI", 3), "level"] == 0 and pos.loc[("MLI", 5), "level"] == 1  # 6 weeks apart
    assert pos.loc[("BFA", 1), "x"] < 2022.1 and pos.loc[("BFA", 9), "x"] > 2022.7  # two coups, two markers
    assert pos.loc[("BFA", 9), "level"] == 0
    no_month = coup_positions(_coups().drop(columns=["month", "day"]))
    assert (no_month["x"] == no_month["year"] + 0.5).all()  # unknown month: mid-year


def test_timeline_draws_one_marker_per_coup_at_print_size() -> None:
    empty = pd.DataFrame(columns=["program", "iso3", "start_year", "start_month", "end_year", "end_month"])
    dep = pd.DataFrame(columns=["actor", "iso3", "start_year", "start_month", "end_year", "end_month"])
    fig = plot_timeline(empty, dep, _coups(), ["MLI", "BFA", "NER"], range(2010, 2026))
    ax = fig.axes[0]
    markers = [ln for ln in ax.lines if ln.get_marker() in ("v", "o")]
    assert len(markers) == 5
    xs = sorted(float(ln.get_xdata()[0]) for ln in markers)
    assert len(set(np.round(xs, 6))) == 5
    assert fig.get_size_inches()[0] == TEXT_WIDTH_IN and smallest_font(fig) >= MIN_FONT_PT


def _tidy(table: str, estimator: str, n: int = 2) -> pd.DataFrame:
    return pd.DataFrame({"model": [f"m{i}" for i in range(n)], "label": [f"M{i}" for i in range(n)],
                         "estimator": estimator, "term": "x", "estimate": 0.1, "within_sd": 0.5,
                         "conf_low": -0.1, "conf_high": 0.3,
                         "ci_wild_webb_low": np.nan if estimator == "firth" else -0.2,
                         "ci_wild_webb_high": np.nan if estimator == "firth" else 0.4})


def test_coefficient_plot_has_one_panel_per_scale_and_a_legend() -> None:
    tidies = {"table2_coups": pd.concat([_tidy("table2_coups", "ols"), _tidy("table2_coups", "firth")]),
              "table3_violence": pd.concat([_tidy("table3_violence", "ppml"), _tidy("table3_violence", "ols")])}
    data = coefplot_data(tidies)
    assert set(data["scale"]) == {"lpm", "logit", "ppml", "ols_log"}
    lpm = data[data["scale"] == "lpm"].iloc[0]
    assert lpm["effect"] == 0.1 * 0.5 * 100 and lpm["low"] == -0.2 * 0.5 * 100  # percentage points
    firth = data[data["scale"] == "logit"].iloc[0]
    assert firth["interval"] == "CRV1 Wald, 95%" and firth["low"] == -0.1 * 0.5
    fig = make_coefplot(data)
    assert len(fig.axes) == 4 and fig.legends and smallest_font(fig) >= MIN_FONT_PT
    assert outcome_scale("table3_violence", "ols") == "ols_log" and outcome_scale("table2_coups", "ols") == "lpm"


def test_training_interval_stays_non_negative_and_is_deterministic() -> None:
    rng = np.random.default_rng(1)
    vals = np.r_[np.zeros(12), rng.exponential(5, 3)]  # skewed, mostly zero: a normal CI would cross 0
    paths = pd.DataFrame({"kind": "successful coup", "event": [f"E{i}" for i in range(len(vals))], "k": 0,
                          "training_pc": vals})
    s = summarise(paths)
    assert s["low"].iloc[0] >= 0 and s["low"].iloc[0] <= s["mean"].iloc[0] <= s["high"].iloc[0]
    normal_low = vals.mean() - 1.96 * vals.std(ddof=1) / np.sqrt(len(vals))
    assert normal_low < 0
    assert s.equals(summarise(paths))
