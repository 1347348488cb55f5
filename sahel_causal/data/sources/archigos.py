"""Leader transitions (Archigos 4.1) per African state-year, 1870-2015.

Source file ``peacesciencer_extracts/archigossums.csv`` (registry id ``archigos``): Archigos 4.1
summarised to Gleditsch-Ward state-years by the R package peacesciencer (``archigossums``,
converted from .rda to CSV; derived). Columns ``gwcode``, ``year``, ``leadertransition`` (1 if
at least one leader left office in the year), ``irregular`` (1 if at least one leader entered
or left office irregularly, i.e. outside the state's rules: coups, assassinations, revolts,
foreign imposition), ``n_leaders``, ``jan1obsid``, ``dec31obsid``.

Citation: Goemans, Henk E., Kristian Skrede Gleditsch & Giacomo Chiozza. 2009. "Introducing
Archigos: A Dataset of Political Leaders." Journal of Peace Research 46(2); Miller, Steven V.
2022. "peacesciencer." Conflict Management and Peace Science 39(6).

Coverage: 1870-2015 for the states of the Gleditsch-Ward list, which omits the microstates
Sao Tome and Principe and Seychelles (NaN throughout). A state-year of a covered state
missing from the file stays NaN (logged): Somalia 1992-2011 (no recognised central
government in Archigos) and Liberia 1870-1871. Nothing is zero-filled. 2016-2025 are NaN.
Rows of Gleditsch-Ward codes that are not African states today (e.g. Zanzibar, Transvaal,
Orange Free State) and years before a state's independence are dropped and logged.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from sahel_causal.data.countries import iso3_from_code
from sahel_causal.data.coverage import finalize_types, flag_gaps, to_spine
from sahel_causal.data.datalog import DataLog
from sahel_causal.data.registry import resolve
from sahel_causal.data.schema_check import check_raw_columns, fails_loudly, validate_frame
from sahel_causal.errors import DuplicateKeyError, SchemaError

SOURCE_ID = "archigos"
FILE = "archigossums.csv"
COVERAGE = (1870, 2015)
#: Years of the returned country-year frame; outside :data:`COVERAGE` the values are NaN.
YEARS = (1870, 2025)
COLUMNS = {"leadertransition": "leader_transition", "irregular": "irregular_transition", "n_leaders": "n_leaders"}

_FLAG = pa.Column(float, pa.Check.isin([0.0, 1.0]), nullable=True)
COUNTRY_YEAR_SCHEMA = pa.DataFrameSchema(
    {
        "iso3": pa.Column(str, pa.Check.str_matches(r"^[A-Z]{3}$")),
        "year": pa.Column("int64", pa.Check.in_range(*YEARS)),
        "leader_transition": _FLAG,
        "irregular_transition": _FLAG,
        "n_leaders": pa.Column(float, pa.Check.ge(1), nullable=True),
    },
    strict=True, ordered=True, unique=["iso3", "year"],
    checks=pa.Check(lambda d: d["leader_transition"].isna() | d["year"].between(*COVERAGE),
                    error="values only within 1870-2015"),
)


@fails_loudly
def load(raw_dir: Path, log: DataLog | None = None) -> pd.DataFrame:
    """Archigos leader transitions per African state-year.

    Columns:

    * ``iso3``, ``year`` - the state-year (years in which the state existed, 1870-2025);
    * ``leader_transition`` - 1 if at least one leader left office during the year, else 0;
    * ``irregular_transition`` - 1 if at least one leader entered or left office irregularly
      during the year (Archigos ``irregular``), else 0;
    * ``n_leaders`` - number of leaders who held office during the year (count).

    NaN after 2015, for states Archigos does not code (STP, SYC) and for missing state-years.
    """
    if log is None:
        log = DataLog()
    path = resolve(SOURCE_ID, FILE, Path(raw_dir))
    raw = pd.read_csv(path)
    missing = [c for c in ["gwcode", "year", *COLUMNS] if c not in raw.columns]
    if missing:
        raise SchemaError(f"{SOURCE_ID}: {path} lacks columns {missing}; is it the peacesciencer archigossums?")
    check_raw_columns(raw, path, SOURCE_ID, integer=["gwcode", "year"], numeric=list(COLUMNS))
    iso3 = iso3_from_code(raw["gwcode"], "gw", SOURCE_ID)
    log.record(SOURCE_ID, "drop", int(iso3.isna().sum()),
               "out of scope: state-years of Gleditsch-Ward states that are not African states",
               f"{raw.loc[iso3.isna(), 'gwcode'].nunique()} GW codes")
    df = raw[iso3.notna()].rename(columns=COLUMNS).assign(iso3=iso3[iso3.notna()].astype(str))
    df["year"] = df["year"].astype("int64")
    df = df[["iso3", "year", *COLUMNS.values()]]
    dup = df[df.duplicated(["iso3", "year"], keep=False)]
    if len(dup):
        raise DuplicateKeyError(f"{SOURCE_ID}: duplicated state-years {dup.head(6).to_dict('records')}.")
    out = to_spine(df, list(COLUMNS.values()), SOURCE_ID, log, YEARS)
    covered_states = set(df["iso3"])
    flag_gaps(out, "leader_transition", COVERAGE, SOURCE_ID, log,
              "state-years of covered states missing from Archigos (left NaN)",
              among=out["iso3"].isin(covered_states))
    absent = sorted(set(out["iso3"]) - covered_states)
    log.record(SOURCE_ID, "flag", len(absent), "African states not coded by Archigos (NaN)", ", ".join(absent))
    finalize_types(out, COLUMNS.values())
    return validate_frame(out, COUNTRY_YEAR_SCHEMA, SOURCE_ID)
