"""Fragile States Index (Fund for Peace) per African state and report year, 2006-2023.

Source files ``fragile_states_index/fsi-2006.xlsx`` ... ``fsi-2023.xlsx`` (registry id ``fsi``):
one workbook per annual report, one sheet with ``Country``, ``Year``, ``Rank``, ``Total`` and the
twelve indicators (``C1: Security Apparatus`` ... ``X1: External Intervention``), each scored
0-10 (higher = more fragile; ``Total`` is their sum, 0-120). The column order differs in 2023,
2019-2020 have an extra "Change from Previous Year" column, the sheet name differs by year and
``Year`` is a date in some files and an integer in others: columns are therefore found by
their indicator code (``Total``, ``C1``, ``X1``), case- and space-insensitively, and the year
is taken from the file name (checked against the ``Year`` column).

Citation: The Fund for Peace. Fragile States Index, annual reports 2006-2023.
https://fragilestatesindex.org

**Year = report year.** The FSI of report year *t* is published in spring of *t* and scores
mostly reflect events of calendar year *t-1*; ``year`` here is the report year, as published
(lag it in the analysis if the previous year is meant). The index is built from content
analysis and expert review and is partly endogenous to violence.

Coverage: report years 2006-2023; a state absent from a report (the 2006 report covers 146
states) is NaN, as are 2024-2025. Country names are resolved through the crosswalk (trailing
spaces in several files are ignored).
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from sahel_causal.data.countries import iso3_from_names
from sahel_causal.data.coverage import finalize_types, flag_gaps, to_spine
from sahel_causal.data.datalog import DataLog
from sahel_causal.data.registry import resolve
from sahel_causal.data.schema_check import fails_loudly, validate_frame
from sahel_causal.errors import DuplicateKeyError, SchemaError

SOURCE_ID = "fsi"
COVERAGE = (2006, 2023)
#: Years of the returned country-year frame; outside :data:`COVERAGE` the values are NaN.
YEARS = (2006, 2025)
#: Output column -> regular expression matching the source column (after normalising spaces/case).
COLUMNS = {
    "fsi_total": r"^total$",
    "fsi_security_apparatus": r"^c1\b",
    "fsi_external_intervention": r"^x1\b",
}

COUNTRY_YEAR_SCHEMA = pa.DataFrameSchema(
    {
        "iso3": pa.Column(str, pa.Check.str_matches(r"^[A-Z]{3}$")),
        "year": pa.Column("int64", pa.Check.in_range(*YEARS)),
        "fsi_total": pa.Column(float, pa.Check.in_range(0, 120), nullable=True),
        "fsi_security_apparatus": pa.Column(float, pa.Check.in_range(0, 10), nullable=True),
        "fsi_external_intervention": pa.Column(float, pa.Check.in_range(0, 10), nullable=True),
    },
    strict=True, ordered=True, unique=["iso3", "year"],
)


def _norm(col: object) -> str:
    return " ".join(str(col).replace("\xa0", " ").lower().split())


def find_columns(columns: pd.Index, report_year: int) -> dict[str, str]:
    """Source column names for ``Country``, ``Year`` and each of :data:`COLUMNS` (exactly one match each)."""
    wanted = {"country": r"^country$", "year_col": r"^year$", **COLUMNS}
    found: dict[str, str] = {}
    for out, pattern in wanted.items():
        hits = [c for c in columns if re.search(pattern, _norm(c))]
        if len(hits) != 1:
            raise SchemaError(f"{SOURCE_ID}: fsi-{report_year}.xlsx has {len(hits)} columns matching {pattern!r} "
                              f"({hits}); columns are {list(columns)}.")
        found[out] = hits[0]
    return found


def _year_of(values: pd.Series) -> pd.Series:
    """Year from a column holding dates or integers."""
    if pd.api.types.is_datetime64_any_dtype(values):
        return values.dt.year
    return pd.to_numeric(values, errors="coerce")


@fails_loudly
def load(raw_dir: Path, log: DataLog | None = None) -> pd.DataFrame:
    """FSI scores per African state and report year.

    Columns:

    * ``iso3``, ``year`` - the state and the FSI **report year** (scores mostly reflect the
      previous calendar year);
    * ``fsi_total`` - total FSI score (0-120, higher = more fragile);
    * ``fsi_security_apparatus`` - indicator C1 "Security Apparatus" (0-10);
    * ``fsi_external_intervention`` - indicator X1 "External Intervention" (0-10).

    NaN for states absent from a report and for 2024-2025.
    """
    if log is None:
        log = DataLog()
    parts = []
    for year in range(COVERAGE[0], COVERAGE[1] + 1):
        path = resolve(SOURCE_ID, f"fsi-{year}.xlsx", Path(raw_dir))
        sheets = pd.read_excel(path, sheet_name=None)
        if len(sheets) != 1:
            raise SchemaError(f"{SOURCE_ID}: {path.name} has {len(sheets)} sheets; expected one.")
        raw = next(iter(sheets.values()))
        cols = find_columns(raw.columns, year)
        raw = raw[raw[cols["country"]].notna()]
        stated = _year_of(raw[cols["year_col"]])
        if not (stated == year).all():
            raise SchemaError(f"{SOURCE_ID}: {path.name} has Year values {sorted(set(stated.dropna()))} "
                              f"other than its report year {year}.")
        names = raw[cols["country"]].astype(str).str.strip()
        iso3 = iso3_from_names(names, SOURCE_ID)
        log.record(SOURCE_ID, "drop", int(iso3.isna().sum()), f"report {year}: out of scope: non-African states")
        part = pd.DataFrame({"iso3": iso3[iso3.notna()].astype(str), "year": year})
        for out_col in COLUMNS:
            part[out_col] = pd.to_numeric(raw.loc[iso3.notna(), cols[out_col]], errors="raise").astype(float)
        dup = part[part.duplicated("iso3", keep=False)]
        if len(dup):
            raise DuplicateKeyError(f"{SOURCE_ID}: report {year} lists a state twice: {dup.to_dict('records')}; "
                                    "check country_name_variants.csv.")
        parts.append(part)
    df = pd.concat(parts, ignore_index=True)
    df["year"] = df["year"].astype("int64")
    out = to_spine(df, list(COLUMNS), SOURCE_ID, log, YEARS)
    flag_gaps(out, "fsi_total", COVERAGE, SOURCE_ID, log,
              "state-years absent from the FSI report of that year (NaN)", limit=60)
    finalize_types(out)
    return validate_frame(out, COUNTRY_YEAR_SCHEMA, SOURCE_ID)
