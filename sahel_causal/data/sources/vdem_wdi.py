"""V-Dem democracy indices and WDI population per African state-year, 1960-2024.

Source file ``vdem_wdi_subset/vdem3_vdem_wdi_1960_2024.csv`` (registry id ``vdem_wdi``): a third
party's full outer join of the V-Dem country-year high-level indices (inferred to be v15) with
World Bank WDI series, 1960-2024. V-Dem rows carry ``country_name`` and ``country_text_id``;
rows that exist only in WDI (aggregates such as "Africa Eastern and Southern" and economies
V-Dem does not code in that year) have an empty ``country_name``. ``iso3c`` is the ISO3 code
of either side (equal to ``country_text_id`` on every V-Dem row).

Citation: Coppedge, Michael et al. 2025. V-Dem Country-Year Dataset v15. Varieties of
Democracy (V-Dem) Project. https://doi.org/10.23696/vdemds25 ; World Bank, World Development
Indicators (SP.POP.TOTL).

What the loader does:

* keeps the rows whose ``iso3c`` is one of the 54 African states (non-African countries,
  V-Dem units without an ISO3 code such as Somaliland or Zanzibar, and WDI aggregates are
  out of scope; counted in the log);
* takes ``polyarchy`` and ``libdem`` from the V-Dem rows and ``population`` from the V-Dem
  row's WDI columns; where an African state-year has no V-Dem row or its population is empty,
  the WDI-only row supplies the population (logged as ``recover``). All 54 African states
  are coded by V-Dem; the WDI-only African rows are Cameroon 1960 (V-Dem's row for Cameroon
  starts 1961 in this merge) and South Sudan 1960-2010 (before independence, dropped);
* keeps only years in which the state existed (crosswalk ``state_start``): V-Dem codes many
  colonies (e.g. Namibia before 1990), whose rows are dropped and logged.

Coverage: 1960-2024; 2025 rows are NaN. Missing values are "not covered by the source"; none
of these columns is ever zero-filled. The GDP columns of the merge are in current US$ and are
not used (see :mod:`sahel_causal.data.sources.wdi_gdp`).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from sahel_causal.data.countries import african_iso3
from sahel_causal.data.coverage import finalize_types, flag_gaps, to_spine
from sahel_causal.data.datalog import DataLog
from sahel_causal.data.registry import resolve
from sahel_causal.data.schema_check import check_raw_columns, fails_loudly, validate_frame
from sahel_causal.errors import DuplicateKeyError, SchemaError

SOURCE_ID = "vdem_wdi"
FILE = "vdem3_vdem_wdi_1960_2024.csv"
RAW_COLUMNS = ["country_name", "country_text_id", "year", "iso3c", "v2x_polyarchy", "v2x_libdem", "population"]
COVERAGE = (1960, 2024)
#: Years of the returned country-year frame; outside :data:`COVERAGE` the values are NaN.
YEARS = (1960, 2025)
COLUMNS = ["polyarchy", "libdem", "population"]

_INDEX = pa.Column(float, pa.Check.in_range(0, 1), nullable=True)
COUNTRY_YEAR_SCHEMA = pa.DataFrameSchema(
    {
        "iso3": pa.Column(str, pa.Check.str_matches(r"^[A-Z]{3}$")),
        "year": pa.Column("int64", pa.Check.in_range(*YEARS)),
        "polyarchy": _INDEX,
        "libdem": _INDEX,
        "population": pa.Column(float, pa.Check.gt(0), nullable=True),
    },
    strict=True, ordered=True, unique=["iso3", "year"],
)


@fails_loudly
def load(raw_dir: Path, log: DataLog | None = None) -> pd.DataFrame:
    """V-Dem indices and population per African state-year.

    Columns:

    * ``iso3``, ``year`` - the state-year (years in which the state existed, 1960-2025);
    * ``polyarchy`` - V-Dem electoral democracy index ``v2x_polyarchy`` (0-1, point estimate);
    * ``libdem`` - V-Dem liberal democracy index ``v2x_libdem`` (0-1, point estimate);
    * ``population`` - WDI total population ``SP.POP.TOTL`` (persons, mid-year estimate).

    NaN where the source has no value (and for 2025).
    """
    if log is None:
        log = DataLog()
    path = resolve(SOURCE_ID, FILE, Path(raw_dir))
    raw = pd.read_csv(path, usecols=RAW_COLUMNS,
                      dtype={"country_name": str, "country_text_id": str, "iso3c": str})
    check_raw_columns(raw, path, SOURCE_ID, integer=["year"])
    vdem = raw["country_name"].notna()
    bad = raw[vdem & (raw["iso3c"] != raw["country_text_id"]) & raw["iso3c"].notna()]
    if len(bad):
        raise SchemaError(f"{SOURCE_ID}: V-Dem rows whose iso3c differs from country_text_id: "
                          f"{bad[['country_name', 'country_text_id', 'iso3c']].drop_duplicates().to_dict('records')}.")
    africa = raw["iso3c"].isin(african_iso3())
    log.record(SOURCE_ID, "drop", int((~africa).sum()),
               "out of scope: rows of non-African countries, WDI aggregates and units without an African ISO3",
               f"{int((~africa & vdem).sum())} V-Dem rows, {int((~africa & ~vdem).sum())} WDI-only rows")
    v = raw[africa & vdem]
    w = raw[africa & ~vdem]
    for part, what in ((v, "V-Dem"), (w, "WDI-only")):
        dup = part[part.duplicated(["iso3c", "year"], keep=False)]
        if len(dup):
            raise DuplicateKeyError(f"{SOURCE_ID}: duplicated {what} state-years "
                                    f"{dup[['iso3c', 'year']].head(6).to_dict('records')}.")
    vals = pd.DataFrame({
        "iso3": v["iso3c"].astype(str), "year": v["year"].astype("int64"),
        "polyarchy": v["v2x_polyarchy"].astype(float), "libdem": v["v2x_libdem"].astype(float),
        "population": v["population"].astype(float),
    })
    wdi = pd.DataFrame({"iso3": w["iso3c"].astype(str), "year": w["year"].astype("int64"),
                        "population_wdi": w["population"].astype(float)})
    vals = vals.merge(wdi, on=["iso3", "year"], how="outer", validate="one_to_one")
    vals = vals[vals[[*COLUMNS, "population_wdi"]].notna().any(axis=1)]

    out = to_spine(vals, [*COLUMNS, "population_wdi"], SOURCE_ID, log, YEARS)
    fill = out["population"].isna() & out["population_wdi"].notna()
    if fill.any():
        log.record(SOURCE_ID, "recover", int(fill.sum()),
                   "population taken from the WDI-only row where V-Dem has no row (or no population) "
                   "for an African state-year",
                   "; ".join(f"{r.iso3} {r.year}" for r in out[fill].head(60).itertuples()))
    out["population"] = out["population"].fillna(out["population_wdi"])
    out = out.drop(columns="population_wdi")
    finalize_types(out, COLUMNS)
    flag_gaps(out, "polyarchy", COVERAGE, SOURCE_ID, log,
              "covered state-years without a V-Dem polyarchy value (left NaN)")
    return validate_frame(out, COUNTRY_YEAR_SCHEMA, SOURCE_ID)
