"""U.S. consumer prices: CPI-U, all items, U.S. city average, not seasonally adjusted.

Source file ``us_cpi_bls/cpi_u_CUUR0000SA0_monthly_annual.csv`` (registry id ``us_cpi``): BLS
series CUUR0000SA0 (1982-84 = 100), extracted from the database shipped in the PyPI package
``cpi`` 2.1.0 (built September 2026 from the BLS flat files). Columns ``series_id``, ``year``,
``period`` (``M01``-``M12`` = months, ``M13`` = the BLS annual average) and ``value``.

Citation: U.S. Bureau of Labor Statistics. Consumer Price Index for All Urban Consumers
(CPI-U), series CUUR0000SA0; via the cpi Python package 2.1.0 (Ben Welsh et al.).

Coverage: January 1913 to August 2026. **October 2025 is missing**: BLS published no October
2025 index because of the federal shutdown. The loader flags every missing month inside the
covered range in the data log (kind ``flag``); it does not interpolate. 2026 has no annual
average (incomplete year). The study uses it to deflate U.S. aid with the rules of
:mod:`sahel_causal.data.money` (fiscal-year averages of the monthly index).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa
from pandera.errors import SchemaError as PanderaSchemaError
from pandera.errors import SchemaErrors as PanderaSchemaErrors

from sahel_causal.data.schema_check import check_raw_columns, fails_loudly
from sahel_causal.data.datalog import DataLog
from sahel_causal.data.registry import resolve
from sahel_causal.errors import ImplausibleValueError, SchemaError

SOURCE_ID = "us_cpi"
FILE = "cpi_u_CUUR0000SA0_monthly_annual.csv"
SERIES = "CUUR0000SA0"

MONTHLY_SCHEMA = pa.DataFrameSchema(
    {
        "year": pa.Column("int64", pa.Check.in_range(1913, 2100)),
        "month": pa.Column("int64", pa.Check.in_range(1, 12)),
        "value": pa.Column(float, pa.Check.gt(0)),
    },
    strict=True, ordered=True, unique=["year", "month"],
)
ANNUAL_SCHEMA = pa.SeriesSchema(float, pa.Check.gt(0), name="cpi_u")


def _read(raw_dir: Path) -> pd.DataFrame:
    path = resolve(SOURCE_ID, FILE, Path(raw_dir))
    raw = pd.read_csv(path, dtype={"series_id": str, "period": str})
    missing = [c for c in ["series_id", "year", "period", "value"] if c not in raw.columns]
    if missing:
        raise SchemaError(f"{SOURCE_ID}: {path} lacks columns {missing}; is it the registered CPI extract?")
    check_raw_columns(raw, path, SOURCE_ID, integer=["year"], numeric=["value"], required=["series_id", "period", "value"],
                      nonnegative=["value"])
    other = sorted(set(raw["series_id"]) - {SERIES})
    if other:
        raise SchemaError(f"{SOURCE_ID}: {path} holds series {other} besides {SERIES}; use the registered file.")
    bad = raw[~raw["period"].str.fullmatch(r"M(0[1-9]|1[0-3])")]
    if len(bad):
        raise SchemaError(f"{SOURCE_ID}: unexpected periods {sorted(set(bad['period']))}; expected M01-M13.")
    if raw.duplicated(["year", "period"]).any():
        raise SchemaError(f"{SOURCE_ID}: duplicated year-period rows in {path}; use the registered file.")
    return raw


@fails_loudly
def load_monthly(raw_dir: Path, log: DataLog | None = None) -> pd.DataFrame:
    """Monthly CPI-U: columns ``year``, ``month`` (1-12) and ``value`` (index, 1982-84 = 100).

    The annual averages (``M13``) are excluded. Missing months between the first and the last
    month of the file (October 2025) are absent rows, not NaN, and are flagged in ``log``.
    """
    if log is None:
        log = DataLog()
    raw = _read(raw_dir)
    m = raw[raw["period"] != "M13"]
    out = pd.DataFrame({
        "year": m["year"].astype("int64"),
        "month": m["period"].str[1:].astype("int64"),
        "value": m["value"].astype(float),
    }).sort_values(["year", "month"], ignore_index=True)
    t = out["year"] * 12 + out["month"] - 1
    full = pd.RangeIndex(int(t.min()), int(t.max()) + 1)
    gaps = full.difference(pd.Index(t))
    if len(gaps):
        labels = [f"{g // 12}-{g % 12 + 1:02d}" for g in gaps]
        log.record(SOURCE_ID, "flag", len(gaps),
                   "month(s) missing from the CPI series (not interpolated: fiscal-year averages use "
                   "the months available)", ", ".join(labels))
    try:
        return MONTHLY_SCHEMA.validate(out, lazy=True)
    except (PanderaSchemaError, PanderaSchemaErrors) as exc:
        raise SchemaError(f"{SOURCE_ID}: monthly table fails its schema: {exc}.") from None


@fails_loudly
def load_annual(raw_dir: Path, log: DataLog | None = None) -> pd.Series:
    """Calendar-year average CPI-U (BLS ``M13``), a float Series named ``cpi_u`` indexed by ``year``.

    Years without a published annual average (2026, incomplete) are absent. The BLS average
    for 2025 is computed by BLS over the eleven months published.
    """
    if log is None:
        log = DataLog()
    raw = _read(raw_dir)
    a = raw[raw["period"] == "M13"]
    out = pd.Series(a["value"].astype(float).to_numpy(), index=pd.Index(a["year"].astype("int64"), name="year"),
                    name="cpi_u").sort_index()
    # Plausibility: the annual average lies within the range of that year's months.
    months = raw[raw["period"] != "M13"].groupby("year")["value"].agg(["min", "max"])
    chk = months.reindex(out.index)
    bad = out[(out < chk["min"] - 0.01) | (out > chk["max"] + 0.01)]
    if len(bad):
        raise ImplausibleValueError(
            f"{SOURCE_ID}: annual averages outside the range of their months for years {list(bad.index)}; "
            "the file is not the registered BLS extract."
        )
    try:
        return ANNUAL_SCHEMA.validate(out)
    except (PanderaSchemaError, PanderaSchemaErrors) as exc:
        raise SchemaError(f"{SOURCE_ID}: annual series fails its schema: {exc}.") from None
