"""The leader in office at the end of each year (REIGN leader list), African states 1950-2020.

Source file ``reign_leaders/leader_reign.csv`` (registry id ``reign``; Latin-1): the leader
list underlying OEF Research's REIGN data set, about August 2021. One row per leader spell:
``ccode`` (Correlates of War code), ``leader``, start ``syear``/``smonth``/``sdate`` (day), end
``eyear``/``emonth`` (empty while in office), ``militarycareer`` (1 = the leader had a military
career, 0 = not, 0.5 for five ambiguous leaders, -99 = unknown) and other fields.

Citation: Bell, Curtis, Clayton Besaw & Matthew Frank. 2021. The Rulers, Elections, and
Irregular Governance (REIGN) Dataset. Broomfield, CO: One Earth Future.

Rule - **the leader in office on 31 December**: for state-year *y* the study takes the spell
with the latest start date on or before 31 December *y*. If that spell ended before
December of *y* (a gap: no successor recorded by year end, e.g. Somalia 1991-2011) the values
are NaN (logged). REIGN dates ends by month only, so a spell ending in December of *y* with
no successor starting by 31 December counts as in office at year end (Senegal 1980: Senghor
resigned on 31 December, Diouf took office on 1 January 1981). Tenure counts the current
spell only (a leader's earlier spells are not added).

Coverage: **1950-2020**. REIGN covers 1950 onward (spells in office in 1950 start earlier);
the list was last updated in August 2021 (latest start: 3 August 2021), so the leader at the
end of 2021 is unknown - e.g. Guinea's Alpha Condé, removed on 5 September 2021, is still
open in the file - and 2021 is NaN, like every later year. Nothing is zero-filled.
``militarycareer`` -99 (unknown) becomes NaN; 0.5 is kept as published (Mauritania's Ely
Ould Mohamed Vall, 2005, and Tanzania's Kikwete, 2005, among African leaders).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from sahel_causal.data.countries import iso3_from_code, state_years
from sahel_causal.data.datalog import DataLog
from sahel_causal.data.registry import resolve
from sahel_causal.data.schema_check import check_raw_columns, fails_loudly, validate_frame
from sahel_causal.errors import DuplicateKeyError, ImplausibleValueError, SchemaError

SOURCE_ID = "reign"
FILE = "leader_reign.csv"
RAW_COLUMNS = ["ccode", "leader", "sdate", "smonth", "syear", "emonth", "eyear", "militarycareer"]
COVERAGE = (1950, 2020)
#: Years of the returned country-year frame; outside :data:`COVERAGE` the values are NaN.
YEARS = (1950, 2025)
UNKNOWN = -99

COUNTRY_YEAR_SCHEMA = pa.DataFrameSchema(
    {
        "iso3": pa.Column(str, pa.Check.str_matches(r"^[A-Z]{3}$")),
        "year": pa.Column("int64", pa.Check.in_range(*YEARS)),
        "leader_name": pa.Column(str, nullable=True),
        "leader_military_career": pa.Column(float, pa.Check.isin([0.0, 0.5, 1.0]), nullable=True),
        "leader_tenure_years": pa.Column(float, pa.Check.ge(0), nullable=True),
    },
    strict=True, ordered=True, unique=["iso3", "year"],
    checks=pa.Check(lambda d: d["leader_tenure_years"].isna() | d["year"].between(*COVERAGE),
                    error="values only within 1950-2020"),
)


@fails_loudly
def load_spells(raw_dir: Path, log: DataLog | None = None) -> pd.DataFrame:
    """Leader spells of African states: iso3, leader, start (date), end_year, end_month, military_career."""
    if log is None:
        log = DataLog()
    path = resolve(SOURCE_ID, FILE, Path(raw_dir))
    raw = pd.read_csv(path, encoding="latin-1")
    missing = [c for c in RAW_COLUMNS if c not in raw.columns]
    if missing:
        raise SchemaError(f"{SOURCE_ID}: {path} lacks columns {missing}; is it the registered leader list?")
    check_raw_columns(raw, path, SOURCE_ID, integer=["ccode"], encoding="latin-1")
    iso3 = iso3_from_code(raw["ccode"], "cow", SOURCE_ID)
    log.record(SOURCE_ID, "drop", int(iso3.isna().sum()), "out of scope: leader spells of non-African states")
    df = raw[iso3.notna()]
    start = pd.to_datetime(pd.DataFrame({"year": df["syear"], "month": df["smonth"], "day": df["sdate"]}),
                           errors="coerce")
    if start.isna().any():
        bad = df.loc[start.isna(), ["leader", "syear", "smonth", "sdate"]].to_dict("records")
        raise ImplausibleValueError(f"{SOURCE_ID}: invalid start dates {bad}; add a documented correction.")
    career = df["militarycareer"].astype(float)
    unknown = career == UNKNOWN
    if unknown.any():
        log.record(SOURCE_ID, "note", int(unknown.sum()), "militarycareer -99 (unknown) set to NaN")
    spells = pd.DataFrame({
        "iso3": iso3[iso3.notna()].astype(str),
        "leader": df["leader"].astype(str).str.strip(),
        "start": start.astype("datetime64[ns]"),
        "end_year": df["eyear"].astype(float),
        "end_month": df["emonth"].astype(float),
        "military_career": career.where(~unknown),
    }).sort_values(["iso3", "start"], ignore_index=True)
    dup = spells[spells.duplicated(["iso3", "start"], keep=False)]
    if len(dup):
        raise DuplicateKeyError(f"{SOURCE_ID}: two spells start on the same day: {dup.to_dict('records')}.")
    ends_before_start = spells["end_year"] < spells["start"].dt.year
    if ends_before_start.any():
        raise ImplausibleValueError(f"{SOURCE_ID}: spells ending before they start: "
                                    f"{spells[ends_before_start].to_dict('records')}.")
    return spells


@fails_loudly
def load(raw_dir: Path, log: DataLog | None = None) -> pd.DataFrame:
    """Characteristics of the leader in office on 31 December, per African state-year.

    Columns:

    * ``iso3``, ``year`` - the state-year (years in which the state existed, 1950-2025);
    * ``leader_name`` - REIGN's name of that leader (for checking);
    * ``leader_military_career`` - REIGN ``militarycareer`` of that leader: 1 = military
      career, 0 = none, 0.5 = ambiguous (as published);
    * ``leader_tenure_years`` - years from the start of the leader's current spell to
      31 December of the year (fraction of a year, 365.25-day years).

    NaN outside 1950-2020, where no leader is recorded at year end, and where the military
    career is unknown.
    """
    if log is None:
        log = DataLog()
    spells = load_spells(raw_dir, log)
    spine = state_years(*YEARS)[["iso3", "year"]]
    spine["date"] = pd.to_datetime(spine["year"].astype(str) + "-12-31").astype("datetime64[ns]")
    hit = pd.merge_asof(spine.sort_values("date"), spells.sort_values("start"), left_on="date",
                        right_on="start", by="iso3", direction="backward")
    hit = hit.sort_values(["iso3", "year"], ignore_index=True)
    cov = hit["year"].between(*COVERAGE)
    ended = (hit["end_year"] < hit["year"]) | ((hit["end_year"] == hit["year"]) & (hit["end_month"] < 12))
    gap = cov & hit["start"].notna() & ended
    none = cov & hit["start"].isna()
    if gap.any():
        log.record(SOURCE_ID, "flag", int(gap.sum()),
                   "state-years whose latest leader spell ended by 31 December with no successor recorded (NaN)",
                   "; ".join(f"{r.iso3} {r.year}" for r in hit[gap].head(40).itertuples()))
    if none.any():
        log.record(SOURCE_ID, "flag", int(none.sum()),
                   "state-years before the first leader spell of the state in REIGN (NaN)",
                   "; ".join(f"{r.iso3} {r.year}" for r in hit[none].head(40).itertuples()))
    ok = cov & hit["start"].notna() & ~gap
    log.record(SOURCE_ID, "flag", int(hit["year"].between(COVERAGE[1] + 1, YEARS[1]).sum()),
               "state-years after 2020 set to NaN: the list ends in August 2021, so the year-end leader "
               "of 2021 is unknown (e.g. Guinea's September 2021 coup is not in it)")
    tenure = (hit["date"] - hit["start"]).dt.days / 365.25
    out = pd.DataFrame({
        "iso3": hit["iso3"].astype(str),
        "year": hit["year"].astype("int64"),
        "leader_name": hit["leader"].where(ok).astype(object),
        "leader_military_career": hit["military_career"].where(ok).astype(float),
        "leader_tenure_years": np.where(ok, tenure, np.nan).astype(float),
    })
    out["leader_name"] = out["leader_name"].where(out["leader_name"].notna(), None)
    return validate_frame(out, COUNTRY_YEAR_SCHEMA, SOURCE_ID)
