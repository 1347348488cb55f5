"""UN peacekeeping operations hosted by African states: mission list and country-year presence.

Source files in ``un_peacekeeping_missions/`` (registry id ``un_pko``):

* ``DPPADPOSS-PKO.csv`` - the UN Peace and Security Data Hub list of peacekeeping operations
  (last update 19 February 2024): one row per mission with ``mission_acronym``,
  ``mission_name``, ``mission_isactive``, ``start_date`` and ``end_date`` (ISO dates; empty
  for active missions);
* ``unpko_country_crosswalk.xlsx`` - a third party's mission -> host-country table
  (``mission_acronym``, ``mission_name``, ``iso3c``; one row per host of multi-country
  missions; umbrella entries such as "UNOSOM (I & II)", "UNAVEM (I & II)" and "UNEF (I & II)"
  have no ``iso3c``).

Citation: United Nations DPPA/DPO, UN Peace and Security Data Hub, "Peacekeeping operations"
(DPPADPOSS-PKO), https://psdata.un.org/dataset/DPPADPOSS-PKO, via
github.com/tdballesteros/conflict-relapse (crosswalk by the repository's author).

Rules:

* **MINUSMA** (Mali) has no end date in this copy although it closed on 31 December 2023; the
  end date is set through ``data/corrections.csv`` (Security Council resolution 2690 (2023)).
* Umbrella entries without a host (``iso3c`` empty) duplicate their component missions and
  are dropped (logged), so a mission is never counted twice. Non-African hosts are out of scope.
* The crosswalk's host assignments are kept as published and should be read with care:
  MINURSO (Western Sahara) is assigned to Morocco, and UNTSO and UNEF I/II to Egypt (among
  others), so Morocco counts as a host from 1991 and Egypt from 1948.
* Presence: a mission is present in a year if its start date is on or before 31 December
  and its end date (if any) on or after 1 January of that year. Missions still active at
  the last update (19 February 2024) are present through 2024; **years after 2024 are not
  covered** (NaN). The list gives presence only, no troop numbers.
"""
from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from sahel_causal.data.corrections import apply_corrections
from sahel_causal.data.countries import african_iso3, state_years
from sahel_causal.data.datalog import DataLog
from sahel_causal.data.registry import resolve
from sahel_causal.data.schema_check import fails_loudly, validate_frame
from sahel_causal.errors import DuplicateKeyError, ImplausibleValueError, SchemaError

SOURCE_ID = "un_pko"
#: What to do when a table of this loader fails its schema (see :func:`validate_frame`).
ADVICE = ("The raw files or the loader changed; check them against MANIFEST.md and fix the loader.")
MISSIONS_FILE = "DPPADPOSS-PKO.csv"
CROSSWALK_FILE = "unpko_country_crosswalk.xlsx"
#: Last year the list covers (its last update is 19 February 2024).
LAST_COVERED_YEAR = 2024
FIRST_YEAR = 1948
#: Default years of :func:`load`.
YEARS = (1948, 2025)

MISSIONS_SCHEMA = pa.DataFrameSchema(
    {
        "mission_acronym": pa.Column(str),
        "mission_name": pa.Column(str),
        "iso3": pa.Column(str, pa.Check.str_matches(r"^[A-Z]{3}$")),
        "start_date": pa.Column("datetime64[ns]"),
        "end_date": pa.Column("datetime64[ns]", nullable=True),
        "active": pa.Column(bool),
    },
    strict=True, ordered=True, unique=["mission_acronym", "iso3"],
    checks=[pa.Check(lambda d: d["end_date"].isna() | (d["end_date"] >= d["start_date"]),
                     error="end date on or after start date"),
            pa.Check(lambda d: d["end_date"].notna() | d["active"], error="only active missions lack an end date")],
)
PRESENCE_SCHEMA = pa.DataFrameSchema(
    {
        "iso3": pa.Column(str, pa.Check.str_matches(r"^[A-Z]{3}$")),
        "year": pa.Column("int64"),
        "un_pko_missions": pa.Column(float, pa.Check.ge(0), nullable=True),
        "un_pko_present": pa.Column(float, pa.Check.isin([0.0, 1.0]), nullable=True),
    },
    strict=True, ordered=True, unique=["iso3", "year"],
    checks=pa.Check(lambda d: (d["un_pko_missions"] > 0).astype(float).where(d["un_pko_missions"].notna())
                    .equals(d["un_pko_present"]), error="present = missions > 0"),
)


@fails_loudly
def load_missions(raw_dir: Path, log: DataLog | None = None) -> pd.DataFrame:
    """One row per UN peacekeeping mission and African host state (MINUSMA end date corrected).

    Columns: ``mission_acronym``, ``mission_name`` (from the UN list), ``iso3`` (host state),
    ``start_date``, ``end_date`` (NaT while active at the last update), ``active`` (True if
    the UN list has no end date after corrections).
    """
    if log is None:
        log = DataLog()
    mpath = resolve(SOURCE_ID, MISSIONS_FILE, Path(raw_dir))
    cpath = resolve(SOURCE_ID, CROSSWALK_FILE, Path(raw_dir))
    missions = pd.read_csv(mpath, dtype=str, keep_default_na=False, na_values=[""])
    need = ["mission_acronym", "mission_name", "start_date", "end_date"]
    if any(c not in missions.columns for c in need):
        raise SchemaError(f"{SOURCE_ID}: {mpath} lacks columns {need}; is it the DPPADPOSS-PKO list?")
    missions = apply_corrections(missions, SOURCE_ID, log)
    if missions["mission_acronym"].duplicated().any():
        raise DuplicateKeyError(f"{SOURCE_ID}: {mpath.name} lists a mission twice.")
    cross = pd.read_excel(cpath, dtype=str)
    if any(c not in cross.columns for c in ["mission_acronym", "iso3c"]):
        raise SchemaError(f"{SOURCE_ID}: {cpath} lacks mission_acronym/iso3c; is it the registered crosswalk?")
    cross["mission_acronym"] = cross["mission_acronym"].str.strip()
    umbrella = cross[cross["iso3c"].isna()]
    log.record(SOURCE_ID, "drop", len(umbrella),
               "crosswalk entries without a host country (umbrella entries duplicating their component "
               "missions) dropped, so no mission is counted twice",
               ", ".join(umbrella["mission_acronym"]))
    cross = cross[cross["iso3c"].notna()]
    unknown = sorted(set(cross["mission_acronym"]) - set(missions["mission_acronym"]))
    if unknown:
        raise SchemaError(f"{SOURCE_ID}: crosswalk missions not in the UN list: {unknown}.")
    hosted = set(cross["mission_acronym"]) | set(umbrella["mission_acronym"])
    no_host = sorted(set(missions["mission_acronym"]) - hosted)
    if no_host:
        log.record(SOURCE_ID, "drop", len(no_host), "missions without any host in the crosswalk", ", ".join(no_host))
    africa = cross["iso3c"].isin(african_iso3())
    log.record(SOURCE_ID, "drop", int((~africa).sum()), "out of scope: mission-host rows of non-African hosts")
    m = cross[africa].merge(missions, on="mission_acronym", how="left", validate="many_to_one",
                            suffixes=("_crosswalk", ""))
    start = pd.to_datetime(m["start_date"], format="%Y-%m-%d", errors="coerce")
    end = pd.to_datetime(m["end_date"], format="%Y-%m-%d", errors="coerce")
    bad = m[start.isna() | (end.isna() & m["end_date"].notna())]
    if len(bad):
        raise ImplausibleValueError(f"{SOURCE_ID}: African missions with a missing or invalid date: "
                                    f"{bad[['mission_acronym', 'start_date', 'end_date']].to_dict('records')}; "
                                    "add a documented correction to data/corrections.csv.")
    out = pd.DataFrame({
        "mission_acronym": m["mission_acronym"].astype(str),
        "mission_name": m["mission_name"].astype(str),
        "iso3": m["iso3c"].astype(str),
        "start_date": start.astype("datetime64[ns]"),
        "end_date": end.astype("datetime64[ns]"),
        "active": end.isna().to_numpy(),
    }).sort_values(["iso3", "start_date", "mission_acronym"], ignore_index=True)
    return validate_frame(out, MISSIONS_SCHEMA, SOURCE_ID, "mission table", advice=ADVICE)


def country_year_presence(missions: pd.DataFrame, years: Iterable[int]) -> pd.DataFrame:
    """UN peacekeeping presence per African state-year for ``years`` (from :func:`load_missions`).

    Columns:

    * ``iso3``, ``year`` - state-years of ``years`` in which the state existed;
    * ``un_pko_missions`` - number of UN peacekeeping missions present in the state at some
      time during the year (count; 0 when none);
    * ``un_pko_present`` - 1 if at least one mission was present, else 0.

    Years after :data:`LAST_COVERED_YEAR` (2024) and before 1948 are NaN (not covered).
    ``missions`` is not modified.
    """
    yrs = sorted({int(y) for y in years})
    if not yrs:
        raise SchemaError(f"{SOURCE_ID}: country_year_presence needs at least one year.")
    spine = state_years(yrs[0], yrs[-1])
    spine = spine.loc[spine["year"].isin(yrs), ["iso3", "year"]].reset_index(drop=True)
    first = missions["start_date"].dt.year
    last = missions["end_date"].dt.year.fillna(LAST_COVERED_YEAR).astype(int)
    rows = [(iso, y) for iso, a, b in zip(missions["iso3"], first, last) for y in range(int(a), int(b) + 1)]
    counts = (pd.DataFrame(rows, columns=["iso3", "year"]).groupby(["iso3", "year"]).size()
              .rename("un_pko_missions").reset_index())
    inside = counts[counts["year"].isin(yrs)]
    orphan = inside.merge(spine, on=["iso3", "year"], how="left", indicator=True)
    orphan = orphan[orphan["_merge"] == "left_only"]
    if len(orphan):
        raise ImplausibleValueError(f"{SOURCE_ID}: missions present in state-years in which the host did not "
                                    f"exist: {orphan[['iso3', 'year']].to_dict('records')}; check the crosswalk.")
    out = spine.merge(counts, on=["iso3", "year"], how="left", validate="one_to_one")
    covered = out["year"].between(FIRST_YEAR, LAST_COVERED_YEAR)
    out["un_pko_missions"] = np.where(covered, out["un_pko_missions"].fillna(0), np.nan).astype(float)
    out["un_pko_present"] = np.where(covered, (out["un_pko_missions"] > 0).astype(float), np.nan).astype(float)
    out["iso3"] = out["iso3"].astype(str)
    out["year"] = out["year"].astype("int64")
    return validate_frame(out, PRESENCE_SCHEMA, SOURCE_ID, "country-year presence", advice=ADVICE)


@fails_loudly
def load(raw_dir: Path, log: DataLog | None = None) -> pd.DataFrame:
    """Panel entry point: :func:`country_year_presence` of :func:`load_missions` for :data:`YEARS`."""
    if log is None:
        log = DataLog()
    missions = load_missions(raw_dir, log)
    return country_year_presence(missions, range(YEARS[0], YEARS[1] + 1))
