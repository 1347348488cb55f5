"""U.S. fiscal years and constant dollars.

Fiscal-year rule: U.S. federal fiscal year *t* runs from 1 October of *t-1* to 30 September
of *t*. The study assigns FY *t* to calendar year *t*, the year in which nine of its twelve
months fall (no pro-rating, which would invent a monthly spending profile the sources do not
report). The FMTR reports name training done in FY *t* (report "2015_2016" covers FY2015).

Deflation: nominal amounts of FY *t* are divided by the average CPI-U (BLS CUUR0000SA0,
1982-84=100, not seasonally adjusted) over the twelve months of FY *t* (Oct *t-1* to Sep *t*)
and multiplied by the calendar-year average CPI-U of the base year :data:`BASE_YEAR`.
Calendar-year amounts use the annual average (M13). A fiscal year with a month missing in the
CPI (October 2025) is averaged over the months available, and the data log says so.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from sahel_causal.errors import SchemaError

BASE_YEAR = 2023


def fiscal_to_calendar_year(fy: pd.Series | int) -> pd.Series | int:
    """Calendar year assigned to U.S. fiscal year ``fy`` (FY t -> t; see module docstring)."""
    return fy


def fy_cpi(cpi_monthly: pd.DataFrame) -> pd.Series:
    """Fiscal-year average CPI-U from monthly rows (columns year, month, value), indexed by FY."""
    m = cpi_monthly.copy()
    m["fy"] = m["year"] + (m["month"] >= 10).astype(int)
    return m.groupby("fy")["value"].mean()


def deflator(cpi_monthly: pd.DataFrame, cpi_annual: pd.Series, basis: str = "fiscal",
             base_year: int = BASE_YEAR) -> pd.Series:
    """Multiplicative factor taking nominal dollars of a (fiscal or calendar) year to ``base_year`` dollars."""
    base = float(cpi_annual.loc[base_year])
    idx = fy_cpi(cpi_monthly) if basis == "fiscal" else cpi_annual
    return base / idx


def to_constant(amount: pd.Series, year: pd.Series, factor: pd.Series) -> pd.Series:
    """Deflate ``amount`` of ``year`` with ``factor`` (from :func:`deflator`); unknown years -> NaN."""
    return amount * year.map(factor)


def deflate_fy(df: pd.DataFrame, cols: Mapping[str, str] | Sequence[str], cpi_monthly: pd.DataFrame,
               cpi_annual: pd.Series, base_year: int = BASE_YEAR, year_col: str = "year") -> pd.DataFrame:
    """Copy of ``df`` with fiscal-year dollar columns converted to constant ``base_year`` dollars.

    ``df[year_col]`` holds the calendar year assigned to each fiscal year (FY *t* -> *t*, see
    :func:`fiscal_to_calendar_year`); each amount is divided by the average CPI-U of its fiscal
    year (Oct *t-1* to Sep *t*) and multiplied by the calendar-year average of ``base_year``
    (the module rule). ``cols`` is either a mapping ``{nominal column: constant column}``
    (the constant column is added, the nominal one kept) or a sequence of columns converted in
    place. Years the CPI does not cover give NaN. ``df`` is not modified.
    """
    if isinstance(cols, str):
        cols = [cols]
    mapping = dict(cols) if isinstance(cols, Mapping) else {c: c for c in cols}
    missing = [c for c in [year_col, *mapping] if c not in df.columns]
    if missing:
        raise SchemaError(f"deflate_fy: columns {missing} not in the frame; pass existing column names.")
    factor = deflator(cpi_monthly, cpi_annual, basis="fiscal", base_year=base_year)
    out = df.copy()
    for nominal, constant in mapping.items():
        out[constant] = to_constant(out[nominal].astype(float), out[year_col], factor)
    return out
