"""Synthetic control / synthetic DiD of the Sahel exits at the country-month (or country-year) level.

For one :class:`~sahel_causal.specs.designs.synthetic_control.SyntheticControlSpec` ``run`` builds a
balanced units x periods matrix (donors sorted by ISO3, the treated state -- or the average of several
treated states -- last), fits the estimators of :mod:`sahel_causal.synth` (SDID, synthdid's SC, DiD),
and adds in-space placebos (RMSPE-ratio and |effect| ranks), the placebo standard error and
cumulative effects.

Estimand: the average effect of the exit on the treated state's (transformed) outcome over the post
window, relative to the weighted donor counterfactual; per-period effects give the cumulative effects
over the first 6, 12 and 24 periods. Causal reading needs no other shock specific to the treated state
at the same time (coups and the arrival of Russian forces are such shocks: see the table notes), no
anticipation before the dated event, and no spillovers to donors.

Timing. Periods are calendar months (``t = 12 * year + month - 1``) or years. The post window starts
``lag`` periods after the event's period (default: the first full month after the event) and has at
most ``post_periods`` periods, cut at the last complete period of the data (ACLED's last month is
partial: ``acled_month_complete``; ``acled_partial_year`` for years). The pre window is the
``pre_periods`` periods before it. For yearly data the event year is the last pre year.

Outcome. ``log1p``: :math:`\\log(1 + y)` (so effects are approximately proportional changes for large
counts); ``level``: raw counts. ``month_of_year`` seasonality: each state's pre-period calendar-month
means minus its pre-period mean are subtracted from all its months (removes a fixed seasonal profile,
keeps level and trend). ``per_100k``: the yearly outcome per 100,000 inhabitants (``population``).

Donor pool (``no_exits``): African states in the panel observed (complete) in every period of the
window, excluding the five G5 Sahel states (all touched by Barkhane and the exits) and every state where
a French, UN or U.S. deployment ended other than by transition or re-hatting within the window
(by month where the table codes the month) (``data/reference/external_deployments.csv``), and ``exclude_donors``. ``no_exits_no_neighbours``
also drops the land neighbours of the treated states (:data:`NEIGHBOURS`). Every dropped state is
recorded with its reason.

Randomness: none (placebos are exhaustive), so results are the same bytes on every run.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field, fields
from typing import Any, Callable

import numpy as np
import pandas as pd

from sahel_causal.data import timelines
from sahel_causal.errors import SchemaError, SpecificationError
from sahel_causal.specs.designs.synthetic_control import SyntheticControlSpec
from sahel_causal.synth.augmented import ascm_estimate
from sahel_causal.synth.conformal import conformal_test
from sahel_causal.synth.estimators import ESTIMATORS, trajectories
from sahel_causal.synth.placebo import placebo_in_space, placebo_in_time

SCHEMA = "sahel_causal.SyntheticControlResult/1"
G5_SAHEL = ("BFA", "MLI", "MRT", "NER", "TCD")
EXIT_ACTORS = ("France", "UN", "US")
NOT_AN_EXIT = ("transition", "rehatted")
# Land boundaries (CIA World Factbook, "Land boundaries" entries, 2024 edition).
NEIGHBOURS: dict[str, tuple[str, ...]] = {
    "MLI": ("BFA", "CIV", "DZA", "GIN", "MRT", "NER", "SEN"),
    "BFA": ("BEN", "CIV", "GHA", "MLI", "NER", "TGO"),
    "NER": ("BEN", "BFA", "DZA", "LBY", "MLI", "NGA", "TCD"),
    "TCD": ("CAF", "CMR", "LBY", "NER", "NGA", "SDN"),
    "MRT": ("DZA", "MLI", "SEN"),
}
CUMULATIVE_HORIZONS = (6, 12, 24)


# ============================================================================ results
def _num(x: float) -> float | str:
    x = float(x)
    return x if math.isfinite(x) else ("nan" if math.isnan(x) else ("inf" if x > 0 else "-inf"))


def _unnum(x: float | str) -> float:
    return float(x)


@dataclass(frozen=True)
class EstimatorFit:
    """One estimator's fit with its placebo inference (arrays as tuples for exact serialisation)."""

    estimator: str
    estimate: float
    se_placebo: float
    p_rmspe: float
    p_abs: float
    rmspe_pre: float
    rmspe_post: float
    cumulative: tuple[float, ...]
    placebo_in_time: float
    omega: tuple[float, ...]
    lambda_: tuple[float, ...]
    treated_path: tuple[float, ...]
    synthetic_path: tuple[float, ...]
    placebo_gaps: tuple[tuple[float, ...], ...]
    placebo_ratios: tuple[float, ...]
    p_conformal: float = math.nan
    ascm: float = math.nan
    ascm_lambda: float = math.nan


@dataclass(frozen=True)
class SyntheticControlResult:
    """All fits of one model, with the data window, the donors and every dropped state."""

    id: str
    label: str
    role: str
    outcome: str
    frequency: str
    transform: str
    treated: tuple[str, ...]
    event: str
    first_post: str
    periods: tuple[str, ...]
    T0: int
    donors: tuple[str, ...]
    dropped: tuple[tuple[str, str], ...]
    fits: tuple[EstimatorFit, ...]

    def fit(self, estimator: str) -> EstimatorFit:
        for f in self.fits:
            if f.estimator == estimator:
                return f
        raise KeyError(estimator)

    def tidy(self) -> pd.DataFrame:
        """One row per estimator: estimate, placebo SE, RMSPE-rank p-value, normal 95% interval."""
        rows = []
        for f in self.fits:
            rows.append({"term": self.id, "estimate": f.estimate, "std_error": f.se_placebo, "p_value": f.p_rmspe,
                         "ci_low": f.estimate - 1.959963984540054 * f.se_placebo,
                         "ci_high": f.estimate + 1.959963984540054 * f.se_placebo,
                         "method": f.estimator, "p_value_abs": f.p_abs, "rmspe_pre": f.rmspe_pre,
                         "rmspe_post": f.rmspe_post, "n_donors": len(self.donors), "n_pre": self.T0,
                         "n_post": len(self.periods) - self.T0,
                         **{f"cum_{h}": c for h, c in zip(CUMULATIVE_HORIZONS, f.cumulative)},
                         "placebo_in_time": f.placebo_in_time, "p_value_conformal": f.p_conformal,
                         "ascm": f.ascm, "ascm_lambda": f.ascm_lambda})
        return pd.DataFrame(rows)

    def to_dict(self, placebo_paths: bool = True) -> dict[str, Any]:
        """Plain JSON types; exact round trip with :meth:`from_dict`. ``placebo_paths=False`` leaves out
        the placebo gap paths (the bulk of the data; ``from_dict`` then restores them as empty)."""
        out: dict[str, Any] = {"schema": SCHEMA}
        for fl in fields(self):
            v = getattr(self, fl.name)
            if fl.name == "fits":
                out["fits"] = [_fit_to_dict(f, placebo_paths) for f in v]
            elif fl.name == "dropped":
                out["dropped"] = [list(x) for x in v]
            elif isinstance(v, tuple):
                out[fl.name] = list(v)
            else:
                out[fl.name] = v
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "SyntheticControlResult":
        if d.get("schema") != SCHEMA:
            raise SpecificationError(f"SyntheticControlResult.from_dict: schema must be {SCHEMA!r}.")
        kw = {k: v for k, v in d.items() if k != "schema"}
        kw["fits"] = tuple(_fit_from_dict(f) for f in d["fits"])
        kw["dropped"] = tuple(tuple(x) for x in d["dropped"])
        for k in ("treated", "periods", "donors"):
            kw[k] = tuple(d[k])
        return cls(**kw)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))


def _fit_to_dict(f: EstimatorFit, placebo_paths: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for fl in fields(f):
        v = getattr(f, fl.name)
        if isinstance(v, str):
            out[fl.name] = v
        elif fl.name == "placebo_gaps":
            if placebo_paths:
                out[fl.name] = [[_num(x) for x in g] for g in v]
        elif isinstance(v, tuple):
            out[fl.name] = [_num(x) for x in v]
        else:
            out[fl.name] = _num(v)
    return out


def _fit_from_dict(d: dict[str, Any]) -> EstimatorFit:
    kw: dict[str, Any] = {}
    for fl in fields(EstimatorFit):
        if fl.name not in d and fl.name == "placebo_gaps":
            kw[fl.name] = ()
            continue
        v = d[fl.name]
        if fl.name == "estimator":
            kw[fl.name] = v
        elif fl.name == "placebo_gaps":
            kw[fl.name] = tuple(tuple(_unnum(x) for x in g) for g in v)
        elif isinstance(v, list):
            kw[fl.name] = tuple(_unnum(x) for x in v)
        else:
            kw[fl.name] = _unnum(v)
    return EstimatorFit(**kw)


# ============================================================================ data
def _event_period(spec: SyntheticControlSpec, events: pd.DataFrame) -> int:
    ev = events[events["event_id"] == spec.event]
    if ev.empty:
        raise SpecificationError(f"model '{spec.id}': event '{spec.event}' is not in "
                                 f"data/reference/withdrawal_events.csv; use one of {sorted(events['event_id'])}.")
    r = ev.iloc[0]
    missing = sorted(set(spec.treated) - set(r["iso3_list"]))
    if missing:
        raise SpecificationError(f"model '{spec.id}': event '{spec.event}' concerns {list(r['iso3_list'])}, "
                                 f"not the treated states {missing}.")
    y, m = int(r["year"]), int(r["month"])
    return 12 * y + m - 1 if spec.frequency == "month" else y


def _label(t: int, frequency: str) -> str:
    return f"{t // 12}-{t % 12 + 1:02d}" if frequency == "month" else str(t)


def _long(spec: SyntheticControlSpec, panel: pd.DataFrame) -> pd.DataFrame:
    """iso3, t, value, complete from the month or year panel."""
    need = (["iso3", "year", spec.outcome] + (["month"] if spec.frequency == "month" else [])
            + (["population"] if spec.transform == "per_100k" else []))
    miss = [c for c in need if c not in panel.columns]
    if miss:
        kind = "country-month" if spec.frequency == "month" else "country-year"
        raise SchemaError(f"model '{spec.id}': the {kind} panel lacks columns {miss}.")
    if spec.frequency == "month":
        t = 12 * panel["year"].astype(int) + panel["month"].astype(int) - 1
        complete = panel["acled_month_complete"].astype(bool) if "acled_month_complete" in panel else True
    else:
        t = panel["year"].astype(int)
        complete = (panel["acled_partial_year"].fillna(0) == 0) if "acled_partial_year" in panel else True
    value = pd.to_numeric(panel[spec.outcome], errors="coerce").to_numpy(dtype=float)
    if spec.transform == "per_100k":
        pop = pd.to_numeric(panel["population"], errors="coerce").to_numpy(dtype=float)
        value = np.where(pop > 0, value / pop * 1e5, np.nan)
    out = pd.DataFrame({"iso3": panel["iso3"].astype(str).to_numpy(), "t": t.to_numpy(), "value": value})
    out["complete"] = np.asarray(complete, dtype=bool) if not isinstance(complete, bool) else True
    if out.duplicated(["iso3", "t"]).any():
        raise SchemaError(f"model '{spec.id}': the panel has duplicate iso3-period rows.")
    return out


def _excluded_by_exits(deployments: pd.DataFrame, start: int, end: int, frequency: str) -> dict[str, str]:
    """States where a French, UN or U.S. deployment ended (not by transition) inside the window.

    Monthly windows compare the end month (the end year's December when the month is not coded);
    yearly windows compare years.
    """
    d = deployments[deployments["actor"].isin(EXIT_ACTORS) & deployments["end_year"].notna()
                    & ~deployments["exit_type"].isin(NOT_AN_EXIT)]
    out: dict[str, str] = {}
    for r in d.sort_values(["iso3", "end_year", "actor"]).itertuples():
        if frequency == "month":
            t = 12 * int(r.end_year) + (int(r.end_month) if not pd.isna(r.end_month) else 12) - 1
        else:
            t = int(r.end_year)
        if start <= t <= end:
            out.setdefault(r.iso3, f"{r.actor} exit ({r.operation}, {int(r.end_year)})")
    return out


@dataclass(frozen=True)
class Setup:
    """The matrix handed to the estimators, with labels and the dropped states."""

    Y: np.ndarray
    N0: int
    T0: int
    donors: tuple[str, ...]
    periods: tuple[int, ...]
    dropped: tuple[tuple[str, str], ...]
    first_post: int


def build_setup(spec: SyntheticControlSpec, panel: pd.DataFrame, events: pd.DataFrame,
                deployments: pd.DataFrame) -> Setup:
    """Window, donor pool, transformation and seasonal adjustment (see the module docstring)."""
    long = _long(spec, panel)
    first_post = _event_period(spec, events) + spec.lag
    start = first_post - spec.pre_periods
    tr = long[long["iso3"].isin(spec.treated)]
    ok_tr = tr[tr["complete"] & tr["value"].notna()]
    last_complete = int(ok_tr.groupby("iso3")["t"].max().min()) if len(ok_tr) else start - 1
    end = min(first_post + spec.post_periods - 1, last_complete)
    if end < first_post:
        raise SpecificationError(f"model '{spec.id}': no complete post-period data after "
                                 f"{_label(first_post, spec.frequency)}.")
    periods = list(range(start, end + 1))
    win = long[(long["t"] >= start) & (long["t"] <= end)]
    wide = win.pivot(index="iso3", columns="t", values="value").reindex(columns=periods)
    comp = win.pivot(index="iso3", columns="t", values="complete").reindex(columns=periods)
    values = wide.to_numpy(dtype=float)
    full = (~np.isnan(values)) & (comp.to_numpy(dtype=object) == True)  # noqa: E712 - object array of bools/NaN
    complete_unit = dict(zip(wide.index, full.all(axis=1)))
    for c in spec.treated:
        if not complete_unit.get(c, False):
            raise SchemaError(f"model '{spec.id}': treated state {c} lacks complete data in "
                              f"{_label(start, spec.frequency)}..{_label(end, spec.frequency)}; shorten pre_periods.")
    exits = _excluded_by_exits(deployments, start, end, spec.frequency)
    neighbours = set()
    if spec.donor_pool == "no_exits_no_neighbours":
        for c in spec.treated:
            neighbours |= set(NEIGHBOURS.get(c, ()))
    dropped: list[tuple[str, str]] = []
    donors: list[str] = []
    for c in sorted(wide.index):
        if c in spec.treated:
            continue
        if c in G5_SAHEL:
            dropped.append((c, "G5 Sahel state"))
        elif c in exits:
            dropped.append((c, exits[c]))
        elif c in spec.exclude_donors:
            dropped.append((c, "excluded by the specification"))
        elif c in neighbours:
            dropped.append((c, "land neighbour of a treated state"))
        elif not complete_unit[c]:
            dropped.append((c, "incomplete data in the window"))
        else:
            donors.append(c)
    if len(donors) < 3:
        raise SpecificationError(f"model '{spec.id}': only {len(donors)} donors left; relax the donor pool.")
    pos = {c: k for k, c in enumerate(wide.index)}
    raw = values[[pos[c] for c in donors + list(spec.treated)]]
    if spec.transform == "log1p":
        if (raw < 0).any():
            raise SchemaError(f"model '{spec.id}': log1p needs non-negative outcomes.")
        raw = np.log1p(raw)
    treated_row = np.add.reduce(raw[len(donors):], axis=0) / len(spec.treated)
    Y = np.vstack([raw[:len(donors)], treated_row[np.newaxis, :]])
    T0 = spec.pre_periods
    if spec.seasonality == "month_of_year":
        cal = np.array([t % 12 for t in periods])
        pre_mean = np.add.reduce(Y[:, :T0], axis=1) / T0
        seasonal = np.zeros_like(Y)
        for m in range(12):
            cols = np.flatnonzero(cal[:T0] == m)
            if cols.size == 0:
                raise SpecificationError(f"model '{spec.id}': month_of_year seasonality needs >= 12 pre-periods.")
            prof = np.add.reduce(Y[:, cols], axis=1) / cols.size - pre_mean
            seasonal[:, cal == m] = prof[:, np.newaxis]
        Y = Y - seasonal
    return Setup(Y=Y, N0=len(donors), T0=T0, donors=tuple(donors), periods=tuple(periods),
                 dropped=tuple(dropped), first_post=first_post)


# ============================================================================ run
def _fit_one(setup: Setup, estimator: str, spec: SyntheticControlSpec) -> EstimatorFit:
    Y, N0, T0 = setup.Y, setup.N0, setup.T0
    est = ESTIMATORS[estimator](Y, N0, T0)
    pis = placebo_in_space(Y, N0, T0, estimator)  # type: ignore[arg-type]
    plac = pis.estimates[1:]
    se = math.sqrt(float(np.add.reduce((plac - np.add.reduce(plac) / plac.size) ** 2)) / plac.size)
    curve = est.effect_curve()
    cum = tuple(float(np.add.reduce(curve[:h])) if curve.size >= h else math.nan for h in CUMULATIVE_HORIZONS)
    pit = (placebo_in_time(Y, N0, T0, spec.placebo_in_time, estimator).estimate  # type: ignore[arg-type]
           if spec.placebo_in_time > 0 else math.nan)
    tr, sy = trajectories(est)
    p_conf = conformal_test(Y, N0, T0, estimator).p_value if estimator in ("sc", "did") else math.nan  # type: ignore[arg-type]
    aug = ascm_estimate(Y, N0, T0) if estimator == "sc" and spec.augmented else None
    return EstimatorFit(
        estimator=estimator, estimate=est.estimate, se_placebo=se, p_rmspe=pis.p_value, p_abs=pis.p_value_estimate,
        rmspe_pre=float(pis.rmspe_pre[0]), rmspe_post=float(pis.rmspe_post[0]), cumulative=cum,
        placebo_in_time=float(pit), omega=tuple(float(x) for x in est.omega),
        lambda_=tuple(float(x) for x in est.lambda_), treated_path=tuple(float(x) for x in tr),
        synthetic_path=tuple(float(x) for x in sy),
        placebo_gaps=tuple(tuple(float(x) for x in g) for g in pis.gaps[1:]),
        placebo_ratios=tuple(float(x) for x in pis.ratios), p_conformal=float(p_conf),
        ascm=aug.estimate if aug else math.nan, ascm_lambda=aug.lambda_ridge if aug else math.nan)


def run(spec: SyntheticControlSpec, panel: pd.DataFrame, *, events: pd.DataFrame | None = None,
        deployments: pd.DataFrame | None = None,
        progress: Callable[[str], None] | None = None) -> SyntheticControlResult:
    """Fit every estimator of ``spec`` on ``panel`` (the month panel for monthly specs, the
    country-year panel for yearly ones). Reads the reference tables when they are not passed."""
    events = timelines.load_events() if events is None else events
    deployments = timelines.load_deployments() if deployments is None else deployments
    setup = build_setup(spec, panel, events, deployments)
    if progress:
        progress(f"synthetic control {spec.id}: {setup.N0} donors, {setup.T0} pre / "
                 f"{len(setup.periods) - setup.T0} post periods")
    fits = tuple(_fit_one(setup, e, spec) for e in spec.estimators)
    return SyntheticControlResult(
        id=spec.id, label=spec.label, role=spec.role, outcome=spec.outcome, frequency=spec.frequency,
        transform=spec.transform, treated=spec.treated, event=spec.event,
        first_post=_label(setup.first_post, spec.frequency),
        periods=tuple(_label(t, spec.frequency) for t in setup.periods), T0=setup.T0, donors=setup.donors,
        dropped=setup.dropped, fits=fits)
