"""Military expenditure (SIPRI) per African state-year, 1948-2023.

Source file ``sipri_milex/SIPRI-Milex-data-1948-2023.xlsx`` (registry id ``sipri_milex``): the
SIPRI Military Expenditure Database, 2024 release. Two of its sheets are read:

* ``Constant (2022) US$`` - military expenditure in **millions** of constant 2022 US$;
* ``Share of GDP`` - military expenditure as a share of GDP (a fraction: 0.038 = 3.8 %).

Each sheet is wide: some title lines, a header row whose first cell is ``Country`` (then, on
the constant-dollar sheet, a blank column, ``Notes`` and one column per year 1948-2023), then
one row per country under region headings ("Africa", "North Africa", ...; rows with no value
at all). ``". ."``/``"..."`` means no data and ``"xxx"`` means the country did not exist or
was not independent; both become NaN (the log counts them for African states).

Citation: SIPRI Military Expenditure Database 2024. Stockholm International Peace Research
Institute. https://doi.org/10.55163/CQGC9685

Units: ``milex_usd`` is converted from US$ millions to **US$** (multiplied by 1,000,000), in
constant 2022 prices and exchange rates. SIPRI lists 52 of the 54 African states (not
Comoros or Sao Tome and Principe), and Somalia's row has no data in any year. "Sudan"
before 2011 is the undivided Sudan (``SDN``).
Missing values are "no data"; nothing is zero-filled. 2024-2025 are NaN.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from sahel_causal.data.countries import iso3_from_names
from sahel_causal.data.coverage import finalize_types, to_spine
from sahel_causal.data.datalog import DataLog
from sahel_causal.data.registry import resolve
from sahel_causal.data.schema_check import fails_loudly, validate_frame
from sahel_causal.errors import DuplicateKeyError, SchemaError

SOURCE_ID = "sipri_milex"
FILE = "SIPRI-Milex-data-1948-2023.xlsx"
#: Output column -> (sheet name, multiplier to the output unit).
SHEETS = {
    "milex_usd": ("Constant (2022) US$", 1_000_000.0),
    "milex_gdp_share": ("Share of GDP", 1.0),
}
COVERAGE = (1948, 2023)
#: Years of the returned country-year frame; outside :data:`COVERAGE` the values are NaN.
YEARS = (1948, 2025)
NO_DATA = {"...", ". .", ".."}
NOT_A_STATE = {"xxx"}

COUNTRY_YEAR_SCHEMA = pa.DataFrameSchema(
    {
        "iso3": pa.Column(str, pa.Check.str_matches(r"^[A-Z]{3}$")),
        "year": pa.Column("int64", pa.Check.in_range(*YEARS)),
        "milex_usd": pa.Column(float, pa.Check.ge(0), nullable=True),
        "milex_gdp_share": pa.Column(float, pa.Check.in_range(0, 1), nullable=True),
    },
    strict=True, ordered=True, unique=["iso3", "year"],
)


def read_sheet(sheet: pd.DataFrame, name: str) -> pd.DataFrame:
    """Long frame (``country``, ``year``, ``raw``) of one wide SIPRI sheet read with ``header=None``.

    The header row is the one whose first cell is "Country"; year columns are the header cells
    that are integers. Region headings (rows without any value) are left out.
    """
    first = sheet.iloc[:, 0].astype("string").str.strip()
    hits = first.index[first == "Country"]
    if len(hits) != 1:
        raise SchemaError(f"{SOURCE_ID}: sheet {name!r} has {len(hits)} rows starting with 'Country'; "
                          "expected one header row.")
    h = hits[0]
    header = sheet.loc[h]
    year_cols = {c: int(v) for c, v in header.items()
                 if isinstance(v, (int, float, np.integer, np.floating)) and not pd.isna(v) and float(v).is_integer()}
    if not year_cols or min(year_cols.values()) != COVERAGE[0] or max(year_cols.values()) != COVERAGE[1]:
        raise SchemaError(f"{SOURCE_ID}: sheet {name!r} year columns are not {COVERAGE[0]}-{COVERAGE[1]}.")
    body = sheet.loc[h + 1:, [0, *year_cols]].rename(columns={0: "country", **year_cols})
    body = body[body["country"].notna()]
    body = body[body[list(year_cols.values())].notna().any(axis=1)]  # drop region headings
    long = body.melt(id_vars="country", var_name="year", value_name="raw")
    long["country"] = long["country"].astype(str).str.strip()
    long["year"] = long["year"].astype("int64")
    return long


def _to_number(raw: pd.Series, name: str) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Numeric values, and masks of "no data" and "did not exist" codes; other text is an error."""
    text = raw.map(lambda v: v.strip() if isinstance(v, str) else v)
    no_data = text.isin(NO_DATA)
    absent = text.isin(NOT_A_STATE)
    num = pd.to_numeric(text.where(~(no_data | absent)), errors="coerce")
    bad = text[num.isna() & text.notna() & ~no_data & ~absent]
    if len(bad):
        raise SchemaError(f"{SOURCE_ID}: sheet {name!r} has unexpected cell values {sorted(set(map(str, bad)))[:10]}; "
                          "only numbers, '...' and 'xxx' are documented.")
    return num.astype(float), no_data, absent


@fails_loudly
def load(raw_dir: Path, log: DataLog | None = None) -> pd.DataFrame:
    """SIPRI military expenditure per African state-year.

    Columns:

    * ``iso3``, ``year`` - the state-year (years in which the state existed, 1948-2025);
    * ``milex_usd`` - military expenditure in **US$** (not millions) at constant 2022 prices
      and exchange rates;
    * ``milex_gdp_share`` - military expenditure as a share of GDP (fraction, 0-1).

    NaN where SIPRI has no data ("...") or the state did not exist ("xxx"), and after 2023.
    """
    if log is None:
        log = DataLog()
    path = resolve(SOURCE_ID, FILE, Path(raw_dir))
    sheets = pd.read_excel(path, sheet_name=[s for s, _ in SHEETS.values()], header=None)
    parts = []
    for col, (sheet_name, mult) in SHEETS.items():
        long = read_sheet(sheets[sheet_name], sheet_name)
        iso3 = iso3_from_names(long["country"], SOURCE_ID)
        out_names = long.loc[iso3.isna(), "country"].unique()
        log.record(SOURCE_ID, "drop", len(out_names),
                   f"{sheet_name}: out of scope: rows (countries) of non-African states", "")
        long = long[iso3.notna()].assign(iso3=iso3[iso3.notna()].astype(str))
        val, no_data, absent = _to_number(long["raw"], sheet_name)
        log.record(SOURCE_ID, "note", int(no_data.sum()),
                   f"{sheet_name}: African cells '...' (no data) set to NaN")
        log.record(SOURCE_ID, "note", int(absent.sum()),
                   f"{sheet_name}: African cells 'xxx' (country did not exist / not independent) set to NaN")
        part = pd.DataFrame({"iso3": long["iso3"], "year": long["year"], col: val * mult})
        dup = part[part.duplicated(["iso3", "year"], keep=False)]
        if len(dup):
            raise DuplicateKeyError(f"{SOURCE_ID}: several rows map to one state-year in {sheet_name!r}: "
                                    f"{dup.head(6).to_dict('records')}; check country_name_variants.csv.")
        parts.append(part)
    merged = parts[0].merge(parts[1], on=["iso3", "year"], how="outer", validate="one_to_one")
    merged = merged[merged[list(SHEETS)].notna().any(axis=1)]
    out = to_spine(merged, list(SHEETS), SOURCE_ID, log, YEARS)
    finalize_types(out, SHEETS)
    return validate_frame(out, COUNTRY_YEAR_SCHEMA, SOURCE_ID)
