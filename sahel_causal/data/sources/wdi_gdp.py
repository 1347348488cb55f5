"""GDP per capita (World Bank WDI) per African state-year, 1960-2024.

Source files in ``wdi_gdp_per_capita_constant/`` (registry id ``wdi_gdp``; World Bank bulk
downloads, last updated 19 December 2025):

* ``API_NY.GDP.PCAP.KD_DS2_en_csv_v2_141.csv`` - NY.GDP.PCAP.KD, GDP per capita in constant
  2015 US$;
* ``API_NY.GDP.PCAP.PP.KD_DS2_en_csv_v2_1423.csv`` - NY.GDP.PCAP.PP.KD, GDP per capita, PPP,
  in constant 2021 international $ (the series starts in 1990).

Both are the WDI wide layout: a UTF-8 byte-order mark, four lines of metadata, then ``Country
Name``, ``Country Code`` (ISO3 for economies, World Bank codes for aggregates), ``Indicator
Name``, ``Indicator Code``, one column per year 1960-2024 and an empty trailing column.

Citation: World Bank. World Development Indicators, NY.GDP.PCAP.KD and NY.GDP.PCAP.PP.KD (last
updated 19 December 2025).

Rows whose code is not an African state (other economies, aggregates such as "Sub-Saharan
Africa") are out of scope; values for years before a state's independence (e.g. Namibia before
1990) are dropped; both are logged. Missing values are "not reported by the World Bank"; no
column is ever zero-filled. 2025 is NaN.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from sahel_causal.data.countries import african_iso3
from sahel_causal.data.coverage import finalize_types, to_spine
from sahel_causal.data.datalog import DataLog
from sahel_causal.data.registry import resolve
from sahel_causal.data.schema_check import fails_loudly, validate_frame
from sahel_causal.errors import DuplicateKeyError, SchemaError

SOURCE_ID = "wdi_gdp"
#: Output column -> (registered file, WDI indicator code).
FILES = {
    "gdp_pc": ("API_NY.GDP.PCAP.KD_DS2_en_csv_v2_141.csv", "NY.GDP.PCAP.KD"),
    "gdp_pc_ppp": ("API_NY.GDP.PCAP.PP.KD_DS2_en_csv_v2_1423.csv", "NY.GDP.PCAP.PP.KD"),
}
COVERAGE = (1960, 2024)
#: Years of the returned country-year frame; outside :data:`COVERAGE` the values are NaN.
YEARS = (1960, 2025)

COUNTRY_YEAR_SCHEMA = pa.DataFrameSchema(
    {
        "iso3": pa.Column(str, pa.Check.str_matches(r"^[A-Z]{3}$")),
        "year": pa.Column("int64", pa.Check.in_range(*YEARS)),
        "gdp_pc": pa.Column(float, pa.Check.gt(0), nullable=True),
        "gdp_pc_ppp": pa.Column(float, pa.Check.gt(0), nullable=True),
    },
    strict=True, ordered=True, unique=["iso3", "year"],
)


def read_wdi_wide(path: Path, indicator: str) -> pd.DataFrame:
    """Long frame (``code``, ``year``, ``value``) of one WDI bulk CSV, checking its indicator code."""
    raw = pd.read_csv(path, skiprows=4, encoding="utf-8-sig")
    raw = raw.loc[:, ~raw.columns.str.startswith("Unnamed")]
    need = ["Country Name", "Country Code", "Indicator Code"]
    if any(c not in raw.columns for c in need):
        raise SchemaError(f"{SOURCE_ID}: {path} lacks columns {need}; is it a WDI bulk CSV (4 metadata lines)?")
    codes = set(raw["Indicator Code"].dropna())
    if codes != {indicator}:
        raise SchemaError(f"{SOURCE_ID}: {path} holds indicator(s) {sorted(codes)}, expected {indicator}.")
    years = [c for c in raw.columns if str(c).isdigit()]
    long = raw.melt(id_vars=["Country Code"], value_vars=years, var_name="year", value_name="value")
    return pd.DataFrame({"code": long["Country Code"].astype(str), "year": long["year"].astype("int64"),
                         "value": pd.to_numeric(long["value"], errors="raise").astype(float)})


@fails_loudly
def load(raw_dir: Path, log: DataLog | None = None) -> pd.DataFrame:
    """GDP per capita per African state-year.

    Columns:

    * ``iso3``, ``year`` - the state-year (years in which the state existed, 1960-2025);
    * ``gdp_pc`` - GDP per capita, constant 2015 US$ (WDI NY.GDP.PCAP.KD);
    * ``gdp_pc_ppp`` - GDP per capita, PPP, constant 2021 international $ (WDI
      NY.GDP.PCAP.PP.KD; from 1990).

    NaN where the World Bank reports no value, and for 2025.
    """
    if log is None:
        log = DataLog()
    africa = african_iso3()
    parts: list[pd.DataFrame] = []
    for col, (fname, indicator) in FILES.items():
        long = read_wdi_wide(resolve(SOURCE_ID, fname, Path(raw_dir)), indicator)
        if long.duplicated(["code", "year"]).any():
            raise DuplicateKeyError(f"{SOURCE_ID}: {fname} repeats a country code.")
        missing = sorted(africa - set(long["code"]))
        if missing:
            log.record(SOURCE_ID, "flag", len(missing), f"{indicator}: African states absent from the file",
                       ", ".join(missing))
        keep = long["code"].isin(africa)
        log.record(SOURCE_ID, "drop", int((~keep).sum()),
                   f"{indicator}: out of scope: country-years of non-African economies and aggregates",
                   f"{long.loc[~keep, 'code'].nunique()} codes")
        parts.append(long[keep].rename(columns={"code": "iso3", "value": col}))
    merged = parts[0]
    for part in parts[1:]:
        merged = merged.merge(part, on=["iso3", "year"], how="outer", validate="one_to_one")
    merged = merged[merged[list(FILES)].notna().any(axis=1)]
    out = to_spine(merged, list(FILES), SOURCE_ID, log, YEARS)
    finalize_types(out, FILES)
    return validate_frame(out, COUNTRY_YEAR_SCHEMA, SOURCE_ID)
