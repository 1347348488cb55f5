"""Military personnel and expenditure (Correlates of War NMC) per African state-year, 1816-2022.

Source file ``peacesciencer_extracts/cow_nmc.csv`` (registry id ``cow_nmc``): the Correlates of
War National Material Capabilities data (probably v7.0) as shipped by the R package
peacesciencer (``cow_nmc``, converted from .rda to CSV; derived). Columns ``ccode`` (COW code),
``year``, ``milex`` (military expenditure, **thousands** of current US$), ``milper`` (military
personnel, **thousands**), ``irst``, ``pec``, ``tpop``, ``upop``, ``cinc``.

Citation: Singer, J. David, Stuart Bremer & John Stuckey. 1972. "Capability Distribution,
Uncertainty, and Major Power War, 1820-1965." In Bruce Russett (ed.), Peace, War, and Numbers;
National Material Capabilities v7.0 documentation; via Miller, Steven V. 2022. "peacesciencer."
Conflict Management and Peace Science 39(6).

Units: both columns are converted from thousands to units - ``milper`` to **persons** and
``cow_milex`` to **current US$** (multiplied by 1,000). ``milper`` is the denominator of
"trainees per 1,000 military personnel": NMC rounds personnel to thousands, so small armies
have coarse values, and some state-years are **0** as published (under 500 personnel, e.g.
small island states); a ratio with a zero denominator must be treated as undefined.

Coverage: 1816-2022 for states in the COW system (all 54 African states). Missing values are
"not reported by NMC" (NaN, nothing zero-filled); 2023-2025 are NaN. Years before a state's
independence are dropped (logged).
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

SOURCE_ID = "cow_nmc"
FILE = "cow_nmc.csv"
COVERAGE = (1816, 2022)
#: Years of the returned country-year frame; outside :data:`COVERAGE` the values are NaN.
YEARS = (1816, 2025)
#: Source column -> (output column, multiplier to the output unit).
COLUMNS = {"milper": ("milper", 1000.0), "milex": ("cow_milex", 1000.0)}
MISSING_CODES = (-9,)

COUNTRY_YEAR_SCHEMA = pa.DataFrameSchema(
    {
        "iso3": pa.Column(str, pa.Check.str_matches(r"^[A-Z]{3}$")),
        "year": pa.Column("int64", pa.Check.in_range(*YEARS)),
        "milper": pa.Column(float, pa.Check.ge(0), nullable=True),
        "cow_milex": pa.Column(float, pa.Check.ge(0), nullable=True),
    },
    strict=True, ordered=True, unique=["iso3", "year"],
)


@fails_loudly
def load(raw_dir: Path, log: DataLog | None = None) -> pd.DataFrame:
    """COW military personnel and expenditure per African state-year.

    Columns:

    * ``iso3``, ``year`` - the state-year (years in which the state existed, 1816-2025);
    * ``milper`` - military personnel (persons; NMC thousands x 1,000);
    * ``cow_milex`` - military expenditure (current US$; NMC thousands x 1,000).

    NaN where NMC reports no value and after 2022; 0 only where NMC reports 0.
    """
    if log is None:
        log = DataLog()
    path = resolve(SOURCE_ID, FILE, Path(raw_dir))
    raw = pd.read_csv(path)
    missing = [c for c in ["ccode", "year", *COLUMNS] if c not in raw.columns]
    if missing:
        raise SchemaError(f"{SOURCE_ID}: {path} lacks columns {missing}; is it the peacesciencer cow_nmc?")
    check_raw_columns(raw, path, SOURCE_ID, integer=["ccode", "year"], numeric=list(COLUMNS))
    iso3 = iso3_from_code(raw["ccode"], "cow", SOURCE_ID)
    log.record(SOURCE_ID, "drop", int(iso3.isna().sum()), "out of scope: state-years of non-African states")
    src = raw[iso3.notna()]
    df = pd.DataFrame({"iso3": iso3[iso3.notna()].astype(str), "year": src["year"].astype("int64")})
    for col, (out_col, mult) in COLUMNS.items():
        v = src[col].astype(float)
        coded = v.isin(MISSING_CODES)
        if coded.any():
            log.record(SOURCE_ID, "correct", int(coded.sum()), f"{col}: NMC missing-value code -9 set to NaN")
            v = v.where(~coded)
        df[out_col] = v * mult
    dup = df[df.duplicated(["iso3", "year"], keep=False)]
    if len(dup):
        raise DuplicateKeyError(f"{SOURCE_ID}: duplicated state-years {dup.head(6).to_dict('records')}.")
    out_cols = [c for c, _ in COLUMNS.values()]
    out = to_spine(df, out_cols, SOURCE_ID, log, YEARS)
    zero = out[out["milper"] == 0]
    if len(zero):
        log.record(SOURCE_ID, "note", len(zero),
                   "milper is 0 as published (under 500 personnel, rounded); ratios per personnel are undefined there",
                   "; ".join(f"{r.iso3} {r.year}" for r in zero.head(40).itertuples())
                   + (" ..." if len(zero) > 40 else ""))
    flag_gaps(out, "milper", COVERAGE, SOURCE_ID, log, "state-years without NMC military personnel (NaN)")
    finalize_types(out, out_cols)
    return validate_frame(out, COUNTRY_YEAR_SCHEMA, SOURCE_ID)
