"""The list of published outputs: each a thin step (read the panel, call a pure function, write).

``steps()`` is the single registry that ``reproduce`` runs and the README's table of outputs
describes. A step declares the program that makes it and the specification it follows.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sahel_causal.data.registry import sha256_file
from sahel_causal.paths import RESULTS_DIR


@dataclass(frozen=True)
class Step:
    """One output step: ``run(panel)`` writes files and returns their paths."""

    name: str
    made_by: str
    spec: str
    run: Callable[[pd.DataFrame], list[Path]]


def _panel_provenance() -> dict[str, str]:
    from sahel_causal.pipeline import PANEL_CSV

    return {"panel": "data/processed/panel_country_year.csv", "sha256": sha256_file(PANEL_CSV)[:16]}


def _table1(panel: pd.DataFrame) -> list[Path]:
    from sahel_causal.report.table1 import make_table1

    return make_table1(panel, _panel_provenance()).write(RESULTS_DIR / "tables")


def _figure1(panel: pd.DataFrame) -> list[Path]:
    from sahel_causal.pipeline import write_csv
    from sahel_causal.report.figure1 import figure1_data, make_figure1
    from sahel_causal.report.figures import save_figure

    out = save_figure(make_figure1(panel), RESULTS_DIR / "figures", "figure1_trends")
    out.append(write_csv(figure1_data(panel), RESULTS_DIR / "figures" / "figure1_trends_data.csv"))
    return out


def coups_from_panel(panel: pd.DataFrame) -> pd.DataFrame:
    """Coup markers (iso3, year, successful) from the panel's Powell & Thyne country-year counts."""
    rows = []
    for r in panel.itertuples(index=False):
        if pd.notna(r.coup_successes) and r.coup_successes > 0:
            rows.append((r.iso3, r.year, True))
        if pd.notna(r.coup_failed) and r.coup_failed > 0:
            rows.append((r.iso3, r.year, False))
    return pd.DataFrame(rows, columns=["iso3", "year", "successful"])


def _timeline(panel: pd.DataFrame) -> list[Path]:
    from sahel_causal.data import timelines
    from sahel_causal.report.figures import save_figure
    from sahel_causal.report.timeline_figure import DEFAULT_COUNTRIES, plot_timeline

    fig = plot_timeline(timelines.load_us_programs(), timelines.load_deployments(), coups_from_panel(panel),
                        DEFAULT_COUNTRIES, range(2000, 2026))
    return save_figure(fig, RESULTS_DIR / "figures", "figure2_timeline")


def steps() -> list[Step]:
    """Every output of ``make reproduce``, in order."""
    return [
        Step("Table 1 (summary statistics)", "sahel_causal/report/table1.py", "descriptive: all state-years", _table1),
        Step("Figure 1 (trends)", "sahel_causal/report/figure1.py", "descriptive: per-country means by year", _figure1),
        Step("Figure 2 (timeline)", "sahel_causal/report/timeline_figure.py",
             "data/reference/us_programs.csv + external_deployments.csv", _timeline),
    ]
