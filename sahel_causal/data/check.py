"""Validation of the analysis panel: schema, unique keys, ranges and coverage per source and year."""
from __future__ import annotations

import pandas as pd

from sahel_causal.data import countries
from sahel_causal.data.codebook import load_definitions

REQUIRED = ["iso3", "country", "year", "sahel_g5", "coup_attempts", "coup_successes",
            "us_training_cost_usd", "us_trainees", "us_aid_total_usd", "us_military_aid_usd",
            "ucdp_state_based_best", "ucdp_nonstate_best", "ucdp_onesided_best", "acled_fatalities",
            "acled_civilian_fatalities", "gtd_fatalities", "population", "gdp_pc", "polyarchy", "milex_usd"]

# Plausible ranges (inclusive). A value outside is an error in the panel, not a finding.
RANGES: dict[str, tuple[float, float]] = {
    "coup_attempts": (0, 5), "coup_successes": (0, 3), "us_trainees": (0, 50_000),
    "us_training_cost_usd": (0, 500e6), "us_aid_total_usd": (-1e8, 2e10),
    "us_military_aid_usd": (-1e8, 5e9), "ucdp_state_based_best": (0, 500_000),
    "ucdp_nonstate_best": (0, 100_000), "ucdp_onesided_best": (0, 1_000_000),
    "acled_fatalities": (0, 200_000), "acled_civilian_fatalities": (0, 100_000),
    "gtd_fatalities": (0, 50_000), "population": (5e4, 3e8), "gdp_pc": (100, 50_000),
    "polyarchy": (0, 1), "milex_usd": (0, 1e11), "sahel_g5": (0, 1),
}


def panel_problems(panel: pd.DataFrame) -> list[str]:
    """Every violation of the panel's schema, key, range and crosswalk rules (empty if none)."""
    problems = []
    missing = [c for c in REQUIRED if c not in panel.columns]
    if missing:
        problems.append(f"missing required columns: {missing}")
    dup = panel[panel.duplicated(["iso3", "year"], keep=False)]
    if len(dup):
        problems.append(f"{len(dup)} rows with a duplicated iso3-year key, e.g. {dup[['iso3', 'year']].head(3).to_dict('records')}")
    unknown = sorted(set(panel["iso3"]) - countries.african_iso3())
    if unknown:
        problems.append(f"iso3 codes not in the crosswalk: {unknown}")
    for col, (lo, hi) in RANGES.items():
        if col in panel.columns:
            bad = panel[(panel[col] < lo) | (panel[col] > hi)]
            if len(bad):
                problems.append(f"{col}: {len(bad)} values outside [{lo:g}, {hi:g}], e.g. "
                                f"{bad[['iso3', 'year', col]].head(3).to_dict('records')}")
    defs = set(load_definitions()["name"])
    undocumented = [c for c in panel.columns if c not in defs]
    if undocumented:
        problems.append(f"columns without a codebook definition: {undocumented}")
    return problems


def coverage_table(panel: pd.DataFrame, columns: list[str] | None = None) -> pd.DataFrame:
    """Share of country-years with a value, by column and 5-year period."""
    cols = columns or [c for c in REQUIRED if c in panel.columns and c not in ("iso3", "country", "year", "sahel_g5")]
    period = (panel["year"] // 5 * 5).astype(int)
    return panel[cols].notna().groupby(period).mean().T.round(2)


def panel_report(panel: pd.DataFrame) -> tuple[str, bool]:
    """A short text report: size, key check, problems, coverage by period."""
    problems = panel_problems(panel)
    lines = [f"panel: {len(panel)} country-years, {panel['iso3'].nunique()} states, "
             f"{int(panel['year'].min())}-{int(panel['year'].max())}",
             "checks: " + ("all passed" if not problems else f"{len(problems)} problem(s)")]
    lines += [f"  FAIL {p}" for p in problems]
    lines.append("coverage (share of country-years with a value, by 5-year period):")
    lines.append(coverage_table(panel).to_string())
    return "\n".join(lines), not problems
