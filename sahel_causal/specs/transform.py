"""Derived variables and estimation samples from a specification (pure functions).

Transformations live here, not in the panel: per-capita scalings, shares, log(1+x), lags and
leads, indicators and interactions are declared in the specification files and computed on a
copy of the panel. Lags use the previous *calendar* year of the same country; a gap in the
panel (e.g. a state that did not yet exist) gives a missing lag, never the value of an earlier
year.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sahel_causal.data.countries import SAHEL_G5
from sahel_causal.errors import SpecificationError
from sahel_causal.specs.samples import lagged_treatment_in_window, until_first_event
from sahel_causal.specs.schema import Derive, ModelSpec, SampleSpec, TableSpec



def _shift(df: pd.DataFrame, col: str, k: int, unit: str = "iso3", time: str = "year") -> pd.Series:
    """Value of ``col`` in period t - k (k > 0: lag; k < 0: lead) for the same unit; NaN across gaps."""
    key = df[[unit, time]].copy()
    key[time] = key[time] - k
    src = df[[unit, time, col]].rename(columns={col: "_v"})
    return key.merge(src, on=[unit, time], how="left")["_v"].set_axis(df.index)


def time_since_positive(df: pd.DataFrame, col: str, unit: str = "iso3", time: str = "year") -> pd.Series:
    """Years since the country's last year with ``col`` > 0, counted from the country's first panel year
    when no earlier event is observed (left-censoring; Carter & Signorino 2010, the coup trap)."""
    out = pd.Series(np.nan, index=df.index)
    for _iso, g in df.sort_values(time).groupby(unit, sort=False):
        last = g[time].iloc[0] - 1
        vals = []
        for year, v in zip(g[time], g[col]):
            vals.append(year - last)
            if pd.notna(v) and v > 0:
                last = year
        out.loc[g.index] = vals
    return out


def apply_derive(panel: pd.DataFrame, d: Derive, source: str = "<spec>", *, unit: str = "iso3",
                 time: str = "year") -> pd.Series:
    """Compute one derived variable on ``panel`` (which is not modified)."""
    missing = [a for a in d.args if a not in panel.columns]
    if missing:
        raise SpecificationError(f"{source}: [variables.{d.name}] unknown variable(s) {missing}; "
                                 "see data/processed/codebook.md or derive them first")
    a = [panel[c].astype(float) for c in d.args]
    if d.op == "from":
        s = a[0]
    elif d.op == "sum":
        s = pd.concat(a, axis=1).sum(axis=1, min_count=len(a))
    elif d.op == "ratio":
        s = a[0] / a[1].where(a[1] > 0)
    elif d.op == "share_of":
        s = (a[0] / a[1].where(a[1] > 0)).where(~((a[0] == 0) & (a[1] == 0)), 0.0)
    elif d.op == "any":
        s = (a[0] > 0).astype(float).where(a[0].notna())
    elif d.op == "interact":
        s = a[0] * a[1]
    elif d.op == "time_since":
        s = time_since_positive(panel, d.args[0], unit, time)
    else:  # pragma: no cover - validated in io
        raise SpecificationError(f"{source}: [variables.{d.name}] unknown operation {d.op}")
    s = s * d.scale
    if d.log1p:
        if (s < 0).any():
            raise SpecificationError(f"{source}: [variables.{d.name}] log1p of negative values: drop log1p or "
                                     "shift the variable")
        s = np.log1p(s)
    if d.lag or d.lead:
        tmp = panel[[unit, time]].assign(_s=s)
        s = _shift(tmp, "_s", d.lag - d.lead, unit, time)
    return s.rename(d.name)


def needed_variables(spec: TableSpec) -> tuple[Derive, ...]:
    """The defined variables the models use and those they are built from, dependencies first
    (declaration order otherwise)."""
    defined = spec.variables
    want: list[str] = []

    def add(name: str) -> None:
        if name in defined and name not in want:
            for a in defined[name].args:
                add(a)
            want.append(name)

    for m in spec.models:
        for c in m.columns():
            add(c)
        first_treat = getattr(m.spec, "first_treat", None)
        if first_treat:
            add(first_treat)
    return tuple(defined[n] for n in want)


def derive_all(panel: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """Copy of ``panel`` with the derived variables the models of ``spec`` use added."""
    unit, time = spec.data.unit, spec.data.time
    missing = [c for c in (unit, time) if c not in panel.columns]
    if missing:
        raise SpecificationError(f"{spec.source_file}: [data] the panel has no column(s) {missing}; set "
                                 f"data.unit / data.time to its unit and time columns (it has {list(panel.columns)[:12]})")
    out = panel.copy()
    for d in needed_variables(spec):
        if d.name in out.columns:
            raise SpecificationError(f"{spec.source_file}: [variables.{d.name}] would overwrite a panel column of "
                                     "the same name: rename the variable")
        out[d.name] = apply_derive(out, d, spec.source_file, unit=unit, time=time)
    if "coup_successes" in out.columns and unit == "iso3" and time == "year":
        out["section7008_window"] = suspension_window(out)
    return out


def suspension_window(panel: pd.DataFrame) -> pd.Series:
    """1 in the year of a successful coup and the next year, else 0 (missing coups -> 0).

    An approximation of the Section 7008 coup restriction (annual State-Foreign Operations
    appropriations acts), which suspends most security assistance to a government that took
    power by coup until a democratically elected government takes office; the restriction's
    exact dates are not coded by any source in the registry.
    """
    succ = panel["coup_successes"].fillna(0) > 0
    prev = _shift(panel.assign(_c=succ.astype(float)), "_c", 1).fillna(0) > 0
    return (succ | prev).astype(int)


@dataclass(frozen=True)
class ModelFrame:
    """The estimation sample of one model and every row dropped on the way, with reasons."""

    data: pd.DataFrame
    dropped: tuple[tuple[str, int], ...]


def country_mask(df: pd.DataFrame, s: SampleSpec, unit: str = "iso3") -> pd.Series:
    """True for the rows of ``df`` whose country belongs to the sample's country set."""
    if isinstance(s.countries, str):
        if s.countries == "sahel_g5":
            return df["iso3"].isin(SAHEL_G5)
        if s.countries == "sahel_partners":
            ever = df.groupby("iso3")["tsctp_entry_year"].transform(lambda x: x.notna().any()) \
                if "tsctp_entry_year" in df.columns else pd.Series(False, index=df.index)
            return df["iso3"].isin(SAHEL_G5) | ever.astype(bool)
        return pd.Series(True, index=df.index)
    return df[unit].astype(str).isin(s.countries)


def select_sample(df: pd.DataFrame, model: ModelSpec, spec: TableSpec, cluster: str) -> ModelFrame:
    """Rows of the derived panel that enter ``model``; error if a variable is unknown or the sample empty."""
    s: SampleSpec = model.sample
    src = spec.source_file
    unit, time = spec.data.unit, spec.data.time
    needed = [*model.columns(), cluster]
    unknown = [v for v in dict.fromkeys(needed) if v not in df.columns]
    if unknown:
        raise SpecificationError(f"{src}: [model {model.id}] unknown variable(s) {unknown}")
    dropped: list[tuple[str, int]] = []
    keep = pd.Series(True, index=df.index)
    if isinstance(s.countries, str) and s.countries != "africa" and unit != "iso3":
        raise SpecificationError(f"{src}: [model {model.id}.sample.countries] country sets need a panel of "
                                 f"countries (unit iso3), not {unit!r}")
    cmask = country_mask(df, s, unit)
    dropped.append(("outside the country sample", int((keep & ~cmask).sum())))
    keep &= cmask
    ymask = df[time].between(*s.years)
    dropped.append((f"outside years {s.years[0]}-{s.years[1]}", int((keep & ~ymask).sum())))
    keep &= ymask
    if s.exclude_suspension_years:
        if "section7008_window" not in df.columns:
            raise SpecificationError(f"{src}: [model {model.id}.sample.exclude_suspension_years] needs the "
                                     "country-year panel's coup_successes column")
        sus = df["section7008_window"] == 1
        dropped.append(("Section 7008 window (successful coup year and next year)", int((keep & sus).sum())))
        keep &= ~sus
    if s.exclude_lagged_suspension:
        lagged = lagged_treatment_in_window(df)
        dropped.append(("lagged treatment year in a suspension window (coup year and next, or us_aid_suspended)",
                        int((keep & lagged).sum())))
        keep &= ~lagged
    if s.until_first_event:
        if s.until_first_event not in df.columns:
            raise SpecificationError(f"{src}: [model {model.id}] sample.until_first_event: unknown variable "
                                     f"{s.until_first_event!r}; declare it in [variables]")
        first = until_first_event(df, s.until_first_event, s.years)
        dropped.append((f"after the country's first {s.until_first_event} event", int((keep & ~first).sum())))
        keep &= first
    for v in dict.fromkeys(needed):
        na = df[v].isna()
        n = int((keep & na).sum())
        if n:
            dropped.append((f"missing {v}", n))
        keep &= ~na
    data = df.loc[keep].copy()
    if data.empty:
        raise SpecificationError(f"{src}: [model {model.id}] the sample is empty after the restrictions "
                                 f"({[d for d in dropped if d[1]]})")
    return ModelFrame(data=data, dropped=tuple(d for d in dropped if d[1]))
