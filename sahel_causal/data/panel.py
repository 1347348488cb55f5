"""The analysis panel: a spine of African state-years plus one builder per source.

Following peacesciencer's design (Miller 2022), :func:`build_panel` starts from the spine of
state-years (:func:`sahel_causal.data.countries.state_years`) and left-joins one source at a
time with :func:`add_source`, which checks that the source is unique on ``(iso3, year)``,
never changes the row count and keeps only the declared columns. Each source's own loader
decides what is zero and what is missing from the source's coverage window; joining only
adds missing values for years the source does not cover.

Dollar amounts are converted to constant U.S. dollars of :data:`money.BASE_YEAR` here, with
the fiscal-year CPI-U deflator (see :mod:`sahel_causal.data.money`).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sahel_causal.data import countries, money
from sahel_causal.data.datalog import DataLog
from sahel_causal.errors import DuplicateKeyError, SchemaError

PANEL_FIRST_YEAR = 1990
KEY = ["iso3", "year"]


@dataclass(frozen=True)
class Builder:
    """How one source enters the panel: loader, columns kept (and renamed) and the source ids read."""

    name: str
    load: Callable[[Path, DataLog], pd.DataFrame]
    columns: dict[str, str]
    source_ids: tuple[str, ...]


def check_unique(df: pd.DataFrame, what: str, key: list[str] = KEY) -> None:
    """Raise :class:`DuplicateKeyError` listing duplicated keys of ``df``."""
    dup = df[df.duplicated(key, keep=False)]
    if len(dup):
        sample = dup[key].drop_duplicates().head(10).to_dict("records")
        raise DuplicateKeyError(
            f"{what}: {len(dup)} rows share a duplicated {'-'.join(key)} key, e.g. {sample}. "
            "Each country-year must appear once: fix the loader or the source."
        )


def add_source(panel: pd.DataFrame, df: pd.DataFrame, builder_name: str,
               columns: dict[str, str]) -> pd.DataFrame:
    """Left-join the declared ``columns`` (source name -> panel name) of ``df`` onto ``panel``.

    The join key must be unique in ``df``; the row count of ``panel`` never changes; a
    declared column that is missing from ``df`` or already present in ``panel`` is an error.
    """
    missing = [c for c in [*KEY, *columns] if c not in df.columns]
    if missing:
        raise SchemaError(f"{builder_name}: loader output lacks columns {missing}.")
    clash = [v for v in columns.values() if v in panel.columns]
    if clash:
        raise SchemaError(f"{builder_name}: panel already has columns {clash}.")
    sub = df[[*KEY, *columns]].rename(columns=columns)
    sub = sub[sub["iso3"].notna()]
    check_unique(sub, builder_name)
    out = panel.merge(sub, on=KEY, how="left", validate="one_to_one")
    if len(out) != len(panel):  # pragma: no cover - guarded by validate=
        raise SchemaError(f"{builder_name}: join changed the panel's row count.")
    return out


def spine(last_year: int) -> pd.DataFrame:
    """State-years from :data:`PANEL_FIRST_YEAR` to ``last_year`` with the Sahel G5 flag."""
    sp = countries.state_years(PANEL_FIRST_YEAR, last_year)
    sp["sahel_g5"] = sp["iso3"].isin(countries.SAHEL_G5).astype("int8")
    return sp


def deflate_columns(panel: pd.DataFrame, nominal_to_constant: dict[str, str],
                    factor: pd.Series) -> pd.DataFrame:
    """Add constant-dollar columns (``factor`` indexed by fiscal year) and drop the nominal ones."""
    out = panel.copy()
    for nominal, constant in nominal_to_constant.items():
        out[constant] = money.to_constant(out[nominal], out["year"], factor)
    return out.drop(columns=list(nominal_to_constant))


def order_columns(panel: pd.DataFrame, first: list[str]) -> pd.DataFrame:
    """Put ``first`` columns first (in that order), the rest after them in their current order."""
    rest = [c for c in panel.columns if c not in first]
    return panel[[c for c in first if c in panel.columns] + rest]


def round_floats(panel: pd.DataFrame, digits: int = 6) -> pd.DataFrame:
    """Round float columns so the CSV is byte-stable across platforms' last-bit differences."""
    out = panel.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            out[c] = np.round(out[c].astype(float), digits)
    return out
