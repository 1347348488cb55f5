"""Build the analysis panel from the raw sources: load each, join onto the spine, deflate.

The list :func:`builders` is the one place that says which source supplies which panel
column. Every loader logs its corrections, recoveries, drops and zero-fills into the shared
:class:`DataLog`, which becomes the data report.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sahel_causal.data import money
from sahel_causal.data.datalog import DataLog
from sahel_causal.data.panel import Builder, add_source, check_unique, deflate_columns, order_columns, round_floats, spine
from sahel_causal.data import registry as _registry  # looked up at call time (tests re-pin sources)
from sahel_causal.paths import CORRECTIONS_CSV, REFERENCE_DIR


@dataclass(frozen=True)
class BuiltPanel:
    """The panel, the companion country-month panel, inputs used and column-to-source map."""

    panel: pd.DataFrame
    country_month: pd.DataFrame
    inputs: list[tuple[str, str, str]]
    column_sources: dict[str, str]
    coup_events: pd.DataFrame | None = None  # dated coups for the figures (data/coup_events.py)


def reference_files() -> list[Path]:
    """Hand-coded reference tables the build reads (their checksums go into provenance.json)."""
    files = sorted(REFERENCE_DIR.glob("*.csv")) + [CORRECTIONS_CSV]
    return [f for f in files if f.is_file()]


def builders() -> list[Builder]:
    """Which loader supplies which panel columns (source column -> panel column)."""
    from sahel_causal.data.sources import (acled, archigos, cline_center, cow_nmc, fmtr, fsi, gtd, mme_exercises, polity5,
                                           powell_thyne, reign, sipri_milex, sipri_tiv, troopdata, ucdp, un_pko,
                                           us_military_aid, usaid_explorer, vdem_wdi, wdi_gdp)

    return [
        Builder("powell_thyne", powell_thyne.load_country_year,
                _same("coup_attempts", "coup_successes", "coup_failed"), ("powell_thyne",)),
        Builder("cline_center", cline_center.load_country_year,
                _same("cline_coups_realized", "cline_coups_attempted", "cline_conspiracies"), ("cline_center",)),
        Builder("fmtr", fmtr.load_country_year, FMTR_COLUMNS, ("fmtr",)),
        Builder("usaid_explorer", usaid_explorer.load,
                _same("us_aid_total_usd_nominal", "us_aid_disbursed_usd_nominal"), ("usaid_explorer",)),
        Builder("us_military_aid", us_military_aid.load, _same("us_military_aid_usd_nominal"), ("us_military_aid",)),
        Builder("ucdp_orgviol", ucdp.load_organized_violence,
                _same("ucdp_state_based_best", "ucdp_nonstate_best", "ucdp_onesided_best"), ("ucdp_orgviol",)),
        Builder("ucdp_brd", ucdp.load_battle_deaths, _same("ucdp_brd_best"), ("ucdp_brd",)),
        Builder("acled", acled.load_country_year,
                _same("acled_fatalities", "acled_civilian_fatalities", "acled_civilian_events", "acled_pv_events",
                      "acled_demonstrations", "acled_partial_year", "acled_months_covered"), ("acled",)),
        Builder("gtd", gtd.load, _same("gtd_fatalities", "gtd_incidents"), ("gtd",)),
        Builder("vdem_wdi", vdem_wdi.load, _same("population", "polyarchy", "libdem"), ("vdem_wdi",)),
        Builder("wdi_gdp", wdi_gdp.load, _same("gdp_pc", "gdp_pc_ppp"), ("wdi_gdp",)),
        Builder("sipri_milex", sipri_milex.load, _same("milex_usd", "milex_gdp_share"), ("sipri_milex",)),
        Builder("sipri_tiv", sipri_tiv.load,
                _same("tiv_from_usa", "tiv_from_fra", "tiv_from_rus", "tiv_from_chn"), ("sipri_tiv",)),
        Builder("cow_nmc", cow_nmc.load, _same("milper"), ("cow_nmc",)),
        Builder("polity5", polity5.load, _same("polity2"), ("polity5",)),
        Builder("archigos", archigos.load, _same("irregular_transition"), ("archigos",)),
        Builder("reign", reign.load, _same("leader_military_career", "leader_tenure_years"), ("reign",)),
        Builder("troopdata", troopdata.load, _same("us_troops", "us_base", "us_lilypad"), ("troopdata",)),
        Builder("mme_exercises", mme_exercises.load, _same("us_exercises"), ("troopdata",)),
        Builder("fsi", fsi.load, _same("fsi_total", "fsi_security_apparatus", "fsi_external_intervention"), ("fsi",)),
        Builder("un_pko", un_pko.load, _same("un_pko_missions"), ("un_pko",)),
    ]


def _same(*cols: str) -> dict[str, str]:
    return {c: c for c in cols}


FMTR_GROUPS = ("imet", "ctfp", "train_and_equip", "peacekeeping", "regional_centers", "fmf", "other")
FMTR_COLUMNS: dict[str, str] = {
    "us_training_cost_usd_nominal": "us_training_cost_usd_nominal", "us_trainees": "us_trainees",
    **{f"us_training_cost_nominal_{g}": f"us_training_cost_nominal_{g}" for g in FMTR_GROUPS},
    **{f"us_trainees_{g}": f"us_trainees_{g}" for g in FMTR_GROUPS},
}

NOMINAL_TO_CONSTANT = {
    "us_training_cost_usd_nominal": "us_training_cost_usd",
    "us_aid_total_usd_nominal": "us_aid_total_usd",
    "us_military_aid_usd_nominal": "us_military_aid_usd",
    "us_aid_disbursed_usd_nominal": "us_aid_disbursed_usd",
    **{f"us_training_cost_nominal_{g}": f"us_training_cost_usd_{g}" for g in FMTR_GROUPS},
}

FIRST_COLUMNS = ["iso3", "country", "year", "sahel_g5", "coup_attempts", "coup_successes",
                 "us_training_cost_usd", "us_trainees", "us_aid_total_usd", "us_military_aid_usd",
                 "ucdp_state_based_best", "ucdp_nonstate_best", "ucdp_onesided_best", "acled_fatalities",
                 "acled_civilian_fatalities", "gtd_fatalities", "population", "gdp_pc", "polyarchy", "milex_usd"]


def _last_covered_year(frames: dict[str, pd.DataFrame], columns: dict[str, dict[str, str]]) -> int:
    last = 0
    for name, df in frames.items():
        cols = list(columns[name])
        has = df[cols].notna().any(axis=1) & df["iso3"].notna()
        if has.any():
            last = max(last, int(df.loc[has, "year"].max()))
    return last


def build_panel(raw_dir: Path, log: DataLog, progress: Callable[[str], None] = lambda _m: None) -> BuiltPanel:
    """Load every source, join onto the spine 1990..last covered year, deflate dollars, add timelines."""
    from sahel_causal.data.sources import acled, us_cpi

    frames: dict[str, pd.DataFrame] = {}
    specs = builders()
    for b in specs:
        progress(f"  loading {b.name}")
        frames[b.name] = b.load(raw_dir, log)
    last_year = _last_covered_year(frames, {b.name: b.columns for b in specs})
    panel = spine(last_year)
    column_sources: dict[str, str] = {"iso3": "crosswalk", "country": "crosswalk", "year": "crosswalk",
                                      "sahel_g5": "crosswalk"}
    for b in specs:
        panel = add_source(panel, frames[b.name], b.name, b.columns)
        column_sources.update({v: "+".join(b.source_ids) for v in b.columns.values()})
    cpi_m = us_cpi.load_monthly(raw_dir, log)
    cpi_a = us_cpi.load_annual(raw_dir, log)
    factor = money.deflator(cpi_m, cpi_a, basis="fiscal")
    panel = deflate_columns(panel, NOMINAL_TO_CONSTANT, factor)
    for nom, const in NOMINAL_TO_CONSTANT.items():
        column_sources[const] = column_sources.pop(nom) + "+us_cpi"
    panel = _add_timelines(panel, column_sources)
    check_unique(panel, "panel")
    for c in panel.columns:
        if pd.api.types.is_bool_dtype(panel[c]):
            panel[c] = panel[c].astype("int8")
    panel = round_floats(order_columns(panel, FIRST_COLUMNS))
    month = acled.load_country_month(raw_dir, log)
    month = month[month["iso3"].notna()].sort_values(["iso3", "year", "month"], ignore_index=True)
    check_unique(month, "country-month panel", ["iso3", "year", "month"])
    ids = sorted({s for b in specs for s in b.source_ids} | {"us_cpi", "acled"})
    reg = _registry.registry()
    inputs = [(sid, f.path, f.sha256) for sid in ids for f in reg[sid].files]
    from sahel_causal.data.coup_events import make_coup_events

    return BuiltPanel(panel=panel, country_month=round_floats(month), inputs=inputs, column_sources=column_sources,
                      coup_events=make_coup_events(raw_dir, DataLog()))


ALT_TIMELINE_COLUMNS = ("tsctp_partner", "tsctp_entry_year", "external_security_actors")


def _add_timelines(panel: pd.DataFrame, column_sources: dict[str, str]) -> pd.DataFrame:
    """Timeline columns (main coding) plus ``<col>_alt`` columns of the alternative coding.

    Where sources disagree on a year, the reference tables hold the alternative in
    ``alt_start_year``/``alt_end_year``; the ``_alt`` columns let a specification rerun a model
    on the alternative coding (robustness) without editing the tables.
    """
    from sahel_causal.data import timelines

    before = set(panel.columns)
    out = timelines.add_timelines(panel)
    years = sorted(panel["year"].unique())
    alt = timelines.program_country_years(timelines.load_us_programs(), years, alternative=True).merge(
        timelines.deployment_country_years(timelines.load_deployments(), years, alternative=True),
        on=["iso3", "year"], how="outer", validate="one_to_one")
    sub = alt[["iso3", "year", *ALT_TIMELINE_COLUMNS]].rename(columns={c: f"{c}_alt" for c in ALT_TIMELINE_COLUMNS})
    out = add_source(out, sub, "timelines (alternative coding)",
                     {f"{c}_alt": f"{c}_alt" for c in ALT_TIMELINE_COLUMNS})
    for c in set(out.columns) - before:
        column_sources[c] = "reference"
    return out
