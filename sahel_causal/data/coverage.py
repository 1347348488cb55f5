"""Placing source values on the state-year list: coverage windows, zeros and independence.

Every source loader returns one row per state-year in which the state existed
(:func:`sahel_causal.data.countries.state_years`). The helpers here do the steps the loaders
share, the same way everywhere:

* **Zero versus missing.** A state-year *inside* a source's coverage window that the source
  does not list is **0** only when the source lists every event/transfer of its window (event
  lists, aid files listing only recipients with aid): absence then means none happened
  (:func:`fill_zeros_within`). Outside the coverage window a value is unknown and is **NaN**,
  never 0. Sources that are not complete lists (indices, estimates) are never zero-filled: a
  state-year they lack stays NaN and is flagged (:func:`flag_gaps`).
* **Independence.** Rows dated before a state's independence (``state_start`` in
  ``data/reference/countries.csv``) cannot enter the state-year panel: they are dropped
  (:func:`to_spine`, :func:`drop_events_before_independence`,
  :func:`drop_before_independence`).

Every fill and every drop is recorded in the :class:`~sahel_causal.data.datalog.DataLog`
with its number of records and its reason, so the data report lists them all.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sahel_causal.data.countries import crosswalk, state_years
from sahel_causal.data.datalog import DataLog
from sahel_causal.errors import SchemaError

#: Seceded states whose rows dated before independence are dropped (see :func:`drop_before_independence`).
SECEDED = ("SSD", "ERI")


def independence_years() -> dict[str, Any]:
    """First year of each African state in the panel (``state_start`` of the crosswalk), by ISO3."""
    return dict(zip(crosswalk()["iso3"], crosswalk()["state_start"]))


#: Reason logged by :func:`to_spine` for the rows it drops.
OUTSIDE_REASON = "rows for years in which the state did not exist (or outside the frame's years)"


def _state_year(r: Any) -> str:
    return f"{r.iso3} {r.year}"


def to_spine(values: pd.DataFrame, cols: list[str], source: str, log: DataLog,
             years: tuple[int, int], *, reason: str = OUTSIDE_REASON,
             describe: Callable[[Any], str] = _state_year, limit: int | None = 40) -> pd.DataFrame:
    """Left-join ``values`` (unique iso3-year) onto the state-years of ``years``.

    Rows of years in which the state did not exist (or outside ``years``) cannot enter the
    panel: they are dropped and logged (kind ``drop``, with ``reason``; the detail lists
    ``describe(row)`` for the first ``limit`` rows, all if ``limit`` is None). State-years the
    source lacks are NaN (no zero-filling here; see :func:`fill_zeros_within`).
    """
    spine = state_years(*years)[["iso3", "year"]]
    merged = values.merge(spine.assign(_in=True), on=["iso3", "year"], how="left")
    outside = merged[merged["_in"].isna()]
    if len(outside):
        shown = outside if limit is None else outside.head(limit)
        log.record(source, "drop", len(outside), reason,
                   "; ".join(describe(r) for r in shown.itertuples())
                   + (" ..." if len(outside) > len(shown) else ""))
    return spine.merge(values[["iso3", "year", *cols]], on=["iso3", "year"], how="left", validate="one_to_one")


def counts_to_spine(counts: pd.DataFrame, years: tuple[int, int], source: str,
                    what: str = "events") -> pd.DataFrame:
    """Left-join per-state-year ``counts`` onto the state-years of ``years``.

    Event counts come from events already restricted to years of the state's existence
    (:func:`drop_events_before_independence`), so none may fall outside the list; if one does
    (only possible if ``years`` is narrowed), :class:`SchemaError` is raised. Nothing is
    filled: state-years without a count are NaN until :func:`fill_zeros_within`.
    """
    spine = state_years(*years)[["iso3", "year"]]
    out = spine.merge(counts, on=["iso3", "year"], how="left", validate="one_to_one")
    first = next(c for c in counts.columns if c not in ("iso3", "year"))
    lost = len(counts) - int(out[first].notna().sum())
    if lost:
        raise SchemaError(f"{source}: {lost} state-years with {what} fall outside YEARS={years}.")
    return out


def fill_zeros_within(out: pd.DataFrame, cols: Sequence[str], covered: pd.Series, source: str,
                      log: DataLog, reason: str, detail: str = "") -> pd.DataFrame:
    """Apply the zero-versus-missing rule to ``cols`` of ``out`` (in place; ``out`` is returned).

    Inside the coverage window (``covered`` True) a missing value becomes 0: the source lists
    everything of its window, so a state-year it lacks had none. Outside the window every
    value becomes NaN. The columns are cast to float. The fill is logged (kind ``fill``) with
    ``reason`` and ``detail``; its count is the covered state-years missing from the source
    (missing value in the first of ``cols``), recorded even when it is 0.
    """
    n_filled = int((covered & out[cols[0]].isna()).sum())
    log.record(source, "fill", n_filled, reason, detail)
    for c in cols:
        out[c] = np.where(covered, out[c].fillna(0.0), np.nan).astype(float)
    return out


def flag_gaps(out: pd.DataFrame, col: str, coverage: tuple[int, int], source: str, log: DataLog,
              reason: str, limit: int = 40, among: pd.Series | None = None) -> None:
    """Log (kind ``flag``) the state-years of ``coverage`` whose ``col`` is missing (left NaN).

    For sources that are not complete lists: a state-year they lack is unknown, not 0.
    ``among`` restricts the check (e.g. to states the source codes at all); the detail lists
    the first ``limit`` state-years. Nothing is logged when there is no gap.
    """
    mask = out["year"].between(*coverage) & out[col].isna()
    if among is not None:
        mask &= among
    gaps = out[mask]
    if len(gaps):
        log.record(source, "flag", len(gaps), reason,
                   "; ".join(f"{r.iso3} {r.year}" for r in gaps.head(limit).itertuples()))


def drop_events_before_independence(events: pd.DataFrame, source: str, log: DataLog,
                                    describe: Callable[[Any], str]) -> pd.DataFrame:
    """Events (``iso3``, ``year``) dated before the state's independence year removed, with a log entry.

    Such events cannot be placed in the state-year panel (they stay in the loader's event
    table). The drop is logged (kind ``drop``) with one ``describe(row)`` per event (``row``
    from :meth:`DataFrame.itertuples`). Returns the remaining events.
    """
    start = pd.to_numeric(events["iso3"].map(independence_years()), errors="coerce").astype(float)
    early = events[events["year"] < start]
    if len(early):
        log.record(source, "drop", len(early),
                   "event before the state's independence year (not in the state-year panel; kept in "
                   "the event table)",
                   "; ".join(describe(r) for r in early.itertuples()))
        events = events.drop(early.index)
    return events


def drop_before_independence(df: pd.DataFrame, source: str, log: DataLog, amount_cols: list[str],
                             states: Iterable[str] = SECEDED) -> pd.DataFrame:
    """Drop rows of a seceded state (:data:`SECEDED`) dated before its independence, with a log entry.

    Aid coded to South Sudan before 2011 went to the autonomous Government of Southern Sudan
    and its forces (SPLA), not to the Sudanese state, and ``SSD`` does not exist in the panel
    before 2011: the amounts are dropped (kind ``drop``, totals in the detail), as the FMTR
    loader does with pre-independence Southern Sudan training. Returns a copy.
    """
    start = independence_years()
    keep = pd.Series(True, index=df.index)
    for state in states:
        mask = (df["iso3"] == state) & (df["year"] < int(start[state]))
        if mask.any():
            total = {c: float(df.loc[mask, c].sum()) for c in amount_cols}
            log.record(source, "drop", int(mask.sum()),
                       f"{state} amounts dated before its independence ({int(start[state])}): aid to the "
                       "autonomous government/forces of the territory, not to the state that existed then; "
                       "not added to any state",
                       f"years {sorted(df.loc[mask, 'year'].unique().tolist())}; totals {total}")
            keep &= ~mask
    return df[keep].copy()


def finalize_types(out: pd.DataFrame, float_cols: Iterable[str] = ()) -> pd.DataFrame:
    """Cast the key to ``iso3`` str and ``year`` int64 and ``float_cols`` to float (in place; returned)."""
    out["iso3"] = out["iso3"].astype(str)
    out["year"] = out["year"].astype("int64")
    for c in float_cols:
        out[c] = out[c].astype(float)
    return out
