"""Multinational Military Exercises (MME v7) with U.S. participation, by African state-year.

Source: the MME data set of Kuo & Blankenship (2022), file ``mme_v7.csv`` of the troopdata
repository (registered under source id ``troopdata``). One row per exercise with up to 39
participant states (``StateA``..``StateAM``) and the start year ``s.year``; exercises 1980-2010.

Column: ``us_exercises`` - number of multinational exercises starting in the year in which both
the United States and the state took part (wherever held). Coverage 1980-2010: a state-year with
no such exercise is 0 (the data set lists all exercises it found); outside the window missing.

The copy is UTF-8 (the manifest's "Latin-1" note is wrong: reading it as Latin-1 garbles
"Côte d'Ivoire"); "-9" marks an empty participant slot. Citation: Kuo, Raymond & Brian
Blankenship. 2022. "Deterrence and Restraint: Do Joint Military Exercises Escalate Conflict?"
Journal of Conflict Resolution 66(1).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from sahel_causal.data.countries import iso3_from_names
from sahel_causal.data.coverage import counts_to_spine, drop_events_before_independence, fill_zeros_within
from sahel_causal.data.datalog import DataLog
from sahel_causal.data.registry import resolve
from sahel_causal.data.schema_check import check_raw_columns, fails_loudly, validate_frame

SOURCE_ID = "troopdata"
FILE = "mme_v7.csv"
COVERAGE = (1980, 2010)
YEARS = (1945, 2025)
US_NAMES = {"United States"}

SCHEMA = pa.DataFrameSchema(
    {
        "iso3": pa.Column(str, pa.Check.str_matches(r"^[A-Z]{3}$")),
        "year": pa.Column("int64", pa.Check.in_range(*YEARS)),
        "us_exercises": pa.Column(float, pa.Check.in_range(0, 200), nullable=True),
    },
    strict=True, ordered=True, unique=["iso3", "year"],
)


@fails_loudly
def load_participations(raw_dir: Path, log: DataLog | None = None) -> pd.DataFrame:
    """One row per exercise and African participant in exercises with U.S. participation."""
    log = DataLog() if log is None else log
    path = resolve(SOURCE_ID, FILE, Path(raw_dir))
    raw = pd.read_csv(path, encoding="utf-8", dtype=str)
    check_raw_columns(raw, path, SOURCE_ID, integer=["s.year"], required=["MMEID"])
    states = [c for c in raw.columns if c.startswith("State")]
    long = raw.melt(id_vars=["MMEID", "s.year"], value_vars=states, value_name="state").dropna(subset=["state"])
    long["state"] = long["state"].str.strip()
    long = long[(long["state"] != "") & (long["state"] != "-9")]
    with_us = set(long.loc[long["state"].isin(US_NAMES), "MMEID"])
    log.record(SOURCE_ID, "note", len(with_us), "MME exercises with U.S. participation (of all exercises)",
               f"{len(with_us)} of {raw['MMEID'].nunique()} exercises, {COVERAGE[0]}-{COVERAGE[1]}")
    long = long[long["MMEID"].isin(with_us)].copy()
    long["iso3"] = iso3_from_names(long["state"], "mme_v7")
    long = long[long["iso3"].notna()].copy()
    long["year"] = pd.to_numeric(long["s.year"], errors="raise").astype("int64")
    long = long.drop_duplicates(["MMEID", "iso3"])
    return long[["MMEID", "iso3", "year"]].reset_index(drop=True)


@fails_loudly
def load(raw_dir: Path, log: DataLog | None = None) -> pd.DataFrame:
    """``us_exercises`` per African state-year (see module docstring for the coverage rule)."""
    log = DataLog() if log is None else log
    part = load_participations(raw_dir, log)
    part = drop_events_before_independence(part, SOURCE_ID, log, lambda r: f"{r.iso3} {r.year} ({r.MMEID})")
    counts = part.groupby(["iso3", "year"]).size().rename("us_exercises").reset_index()
    out = counts_to_spine(counts, YEARS, SOURCE_ID, what="exercises")
    covered = out["year"].between(*COVERAGE)
    out = fill_zeros_within(out, ["us_exercises"], covered, SOURCE_ID, log,
                            "MME: state-years without an exercise with U.S. participation inside 1980-2010 are 0")
    out["iso3"] = out["iso3"].astype(str)
    out["year"] = out["year"].astype("int64")
    return validate_frame(out[["iso3", "year", "us_exercises"]], SCHEMA, SOURCE_ID)
