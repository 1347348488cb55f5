"""Sample rules that cut the reverse-causal channel on the treatment side (pure functions).

Section 7008 of the annual State-Foreign Operations appropriations acts suspends most security
assistance to a government that took power by coup. A coup therefore *lowers* training in the
following years, and coups recur, so a regression of coups on lagged training can pick up the
suspension itself. Dropping the *outcome* years after a coup (the former "no 7008 years" model)
selects on the dependent variable: it deleted 26 of 41 coup events. The two rules here act on
the treatment instead:

* :func:`suspension_window` marks the years in which assistance was (or is presumed) suspended:
  the year of a successful coup and the next one (presumption: the restriction is not coded by
  any source in the registry), plus every year the cited timeline ``us_aid_suspended`` codes a
  suspension (MLI 2012-13 and 2020-, MRT 2005-09, NER 2009-11 and 2023-, BFA 2022-).
  :func:`lagged_treatment_in_window` flags country-years whose *lagged treatment year* (t - 1)
  lies in a window: their treatment value is the suspension, not a policy choice. Observations
  are dropped because of past events only, never because of the outcome in t.
* :func:`until_first_event` keeps each country until (and including) its first event (e.g. the
  first coup attempt) within the sample years: a first-coup hazard sample, in which no
  treatment value can be a reaction to an earlier coup of the same country in the window.
  Countries without an event keep all their years. (Left-censoring: coups before the window
  still affect treatment; the lagged-window rule covers those.)

Both return boolean Series aligned with the panel; the panel is not modified.
"""
from __future__ import annotations

import pandas as pd

from sahel_causal.errors import SpecificationError


def _lag(panel: pd.DataFrame, values: pd.Series, k: int = 1) -> pd.Series:
    """``values`` of the same country in year - k (NaN where that year is not in the panel)."""
    src = pd.Series(values.to_numpy(), index=pd.MultiIndex.from_arrays([panel["iso3"], panel["year"]]))
    want = pd.MultiIndex.from_arrays([panel["iso3"], panel["year"] - k])
    return pd.Series(src.reindex(want).to_numpy(), index=panel.index)


def suspension_window(panel: pd.DataFrame) -> pd.Series:
    """True in years of (presumed) suspension of U.S. security assistance, see the module docstring.

    Needs ``iso3``, ``year``, ``coup_successes``; uses ``us_aid_suspended`` when present.
    """
    for col in ("iso3", "year", "coup_successes"):
        if col not in panel.columns:
            raise SpecificationError(f"panel: column {col!r} is needed for the Section 7008 window; rebuild the panel")
    succ = panel["coup_successes"].fillna(0) > 0
    prev = _lag(panel, succ.astype(float), 1).fillna(0) > 0
    timeline = panel["us_aid_suspended"].fillna(0) > 0 if "us_aid_suspended" in panel.columns else False
    return (succ | prev | timeline).rename("suspension_window")


def lagged_treatment_in_window(panel: pd.DataFrame, lag: int = 1) -> pd.Series:
    """True where year t - ``lag`` (the year the lagged treatment is measured) is in a suspension window."""
    w = suspension_window(panel).astype(float)
    return (_lag(panel, w, lag).fillna(0) > 0).rename("lagged_treatment_in_window")


def until_first_event(panel: pd.DataFrame, event: str, years: tuple[int, int]) -> pd.Series:
    """True for each country's years up to and including its first year with ``event`` > 0 in ``years``."""
    if event not in panel.columns:
        raise SpecificationError(f"sample.until_first_event: unknown variable {event!r}; derive it first")
    inside = panel["year"].between(*years)
    hit = inside & (panel[event].fillna(0) > 0)
    first = panel.loc[hit].groupby("iso3")["year"].min()
    cutoff = panel["iso3"].map(first)
    return (cutoff.isna() | (panel["year"] <= cutoff)).rename("until_first_event")
