"""U.S. military personnel (DMDC, troopdata rebuild) and U.S. bases/lily pads per African state-year.

Source files in ``us_troop_deployments/`` (registry id ``troopdata``; troopdata R package by
Allen, Flynn & Martinez Machain):

* ``troopdata-rebuild-country-year.csv`` - U.S. personnel by host country and year,
  1950-2024, rebuilt from the Defense Manpower Data Center's quarterly reports: ``countryname``,
  ``year``, ``ccode``, ``iso3c`` and counts by service; ``troops_ad`` is active-duty military
  personnel of all services;
* ``basedata.csv`` (Latin-1) - David Vine's list of U.S. military sites abroad: one row per
  site with ``iso3c``, ``basename``, ``base`` (1 = a U.S. base), ``lilypad`` (1 = a "lily pad",
  a small forward site without permanent large presence) and ``fundedsite``.

Citation: Allen, Michael A., Michael E. Flynn & Carla Martinez Machain. 2022. "Global U.S.
military deployment data: 1950-2020." Conflict Management and Peace Science 39(3): 351-370;
Vine, David. 2015. Base Nation. New York: Metropolitan Books.

Rules:

* The rebuild lists every host country in each report, with explicit zeros; all African
  state-years of 1950-2024 are present, so nothing is zero-filled. Where one state-year has
  two rows under two spellings (e.g. "Côte D'ivoire"/"Ivory Coast", "Eswatini"/"Swaziland"
  in 2013, 2016-2017, 2021, 2024; one of the two is always 0) they are summed (logged).
  Rows without an ISO3 code (Western Sahara, Zanzibar, Seychelles before independence) and
  years before a state's independence are dropped (logged).
* **DMDC counts exclude temporary duty and most special-operations deployments**: Sahel
  figures (e.g. Niger, 547 in 2017 against roughly 800 reported in the press) are strong
  under-counts, an indicator of permanent presence rather than of true troop levels.
* ``us_base`` and ``us_lilypad`` are **time-invariant**: Vine's list describes the network
  around 2015 and has no dates, so a state with a site has the indicator 1 in every year and
  the indicators must not be read as dating the sites. They are 0 for states without a site.
  One site is corrected through ``data/corrections.csv``: Dungu (Haut-Uele) is in the
  Democratic Republic of the Congo, but the file gives the Republic of the Congo's ISO3.
* Coverage: troops 1950-2024; 2025 is NaN. The indicators are set for all years.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from sahel_causal.data.corrections import apply_corrections
from sahel_causal.data.countries import african_iso3
from sahel_causal.data.coverage import finalize_types, flag_gaps, to_spine
from sahel_causal.data.datalog import DataLog
from sahel_causal.data.registry import resolve
from sahel_causal.data.schema_check import fails_loudly, validate_frame
from sahel_causal.errors import SchemaError

SOURCE_ID = "troopdata"
TROOPS_FILE = "troopdata-rebuild-country-year.csv"
BASES_FILE = "basedata.csv"
COVERAGE = (1950, 2024)
#: Years of the returned country-year frame; outside :data:`COVERAGE` the troop counts are NaN.
YEARS = (1950, 2025)

COUNTRY_YEAR_SCHEMA = pa.DataFrameSchema(
    {
        "iso3": pa.Column(str, pa.Check.str_matches(r"^[A-Z]{3}$")),
        "year": pa.Column("int64", pa.Check.in_range(*YEARS)),
        "us_troops": pa.Column(float, pa.Check.ge(0), nullable=True),
        "us_base": pa.Column("int64", pa.Check.isin([0, 1])),
        "us_lilypad": pa.Column("int64", pa.Check.isin([0, 1])),
    },
    strict=True, ordered=True, unique=["iso3", "year"],
    checks=pa.Check(lambda d: d["us_troops"].notna() == d["year"].between(*COVERAGE),
                    error="troop counts present exactly in 1950-2024"),
)


@fails_loudly
def load_bases(raw_dir: Path, log: DataLog | None = None) -> pd.DataFrame:
    """U.S. sites in African states (corrections applied): iso3, basename, base, lilypad, fundedsite."""
    if log is None:
        log = DataLog()
    path = resolve(SOURCE_ID, BASES_FILE, Path(raw_dir))
    raw = pd.read_csv(path, encoding="latin-1", dtype={"iso3c": str, "countryname": str, "basename": str})
    missing = [c for c in ["iso3c", "basename", "base", "lilypad", "fundedsite"] if c not in raw.columns]
    if missing:
        raise SchemaError(f"{SOURCE_ID}: {path} lacks columns {missing}; is it Vine's base list (basedata.csv)?")
    fixed = apply_corrections(raw, SOURCE_ID, log)
    africa = fixed["iso3c"].isin(african_iso3())
    log.record(SOURCE_ID, "drop", int((~africa).sum()), "basedata: out of scope: sites outside African states")
    out = fixed.loc[africa, ["iso3c", "basename", "base", "lilypad", "fundedsite"]].rename(columns={"iso3c": "iso3"})
    for c in ["base", "lilypad", "fundedsite"]:
        if not out[c].isin([0, 1]).all():
            raise SchemaError(f"{SOURCE_ID}: basedata column {c} is not 0/1.")
    return out.reset_index(drop=True)


@fails_loudly
def load(raw_dir: Path, log: DataLog | None = None) -> pd.DataFrame:
    """U.S. military presence per African state-year.

    Columns:

    * ``iso3``, ``year`` - the state-year (years in which the state existed, 1950-2025);
    * ``us_troops`` - U.S. active-duty military personnel in the country (persons, DMDC
      ``troops_ad`` as rebuilt by troopdata; an under-count, see module docstring); NaN in 2025;
    * ``us_base`` - 1 if Vine's list has a U.S. base in the country (time-invariant);
    * ``us_lilypad`` - 1 if Vine's list has a U.S. "lily pad" site in the country
      (time-invariant).
    """
    if log is None:
        log = DataLog()
    path = resolve(SOURCE_ID, TROOPS_FILE, Path(raw_dir))
    raw = pd.read_csv(path, dtype={"iso3c": str, "countryname": str})
    missing = [c for c in ["countryname", "year", "iso3c", "troops_ad"] if c not in raw.columns]
    if missing:
        raise SchemaError(f"{SOURCE_ID}: {path} lacks columns {missing}; is it the troopdata rebuild file?")
    africa = raw["iso3c"].isin(african_iso3())
    no_code = raw[raw["iso3c"].isna()]
    log.record(SOURCE_ID, "drop", int((~africa).sum()),
               "out of scope: rows of non-African hosts and of territories without an ISO3 code",
               f"territories without a code (all hosts): {sorted(no_code['countryname'].unique())[:60]}")
    df = pd.DataFrame({"iso3": raw.loc[africa, "iso3c"].astype(str), "year": raw.loc[africa, "year"].astype("int64"),
                       "name": raw.loc[africa, "countryname"], "us_troops": raw.loc[africa, "troops_ad"].astype(float)})
    if df["us_troops"].isna().any() or (df["us_troops"] < 0).any():
        raise SchemaError(f"{SOURCE_ID}: troops_ad has missing or negative values for African hosts.")
    dup = df[df.duplicated(["iso3", "year"], keep=False)]
    if len(dup):
        log.record(SOURCE_ID, "aggregate", len(dup),
                   "state-years listed twice under two spellings: summed (one of the two is 0 in this file)",
                   "; ".join(f"{r.iso3} {r.year} {r.name!r}={r.us_troops:g}" for r in dup.itertuples()))
    summed = df.groupby(["iso3", "year"], as_index=False)["us_troops"].sum()
    out = to_spine(summed, ["us_troops"], SOURCE_ID, log, YEARS)
    flag_gaps(out, "us_troops", COVERAGE, SOURCE_ID, log, "covered state-years missing from the rebuild (left NaN)")
    out["us_troops"] = np.where(out["year"].between(*COVERAGE), out["us_troops"], np.nan).astype(float)

    bases = load_bases(raw_dir, log)
    flags = bases.groupby("iso3")[["base", "lilypad"]].max()
    out["us_base"] = out["iso3"].map(flags["base"]).fillna(0).astype("int64")
    out["us_lilypad"] = out["iso3"].map(flags["lilypad"]).fillna(0).astype("int64")
    log.record(SOURCE_ID, "note", int(flags.any(axis=1).sum()),
               "us_base/us_lilypad are time-invariant (Vine's undated list, about 2015): set in every year "
               "for the states with a site",
               f"bases: {sorted(flags.index[flags['base'] == 1])}; "
               f"lily pads: {sorted(flags.index[flags['lilypad'] == 1])}")
    finalize_types(out)
    return validate_frame(out, COUNTRY_YEAR_SCHEMA, SOURCE_ID)
