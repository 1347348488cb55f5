"""Two-way fixed-effects event study (the ``event_study`` design, estimator ``twfe_event_study``).

Estimand and model: for unit i first treated in period G_i, with relative time r_it = t - G_i,

    y_it = a_i + l_t + sum_{k in K} b_k D^k_it + x_it'g + e_it,   D^k_it = 1{r_it = k},

K = {-leads, ..., lags} without the reference period (default -1), so b_k is the difference in
outcomes k periods from treatment relative to the period before it, net of unit and period
effects. Never-treated units (first period missing, 0 or infinite) have all D^k = 0. With
``bin_endpoints`` the end dummies also absorb r < -leads and r > lags; otherwise treated units'
periods outside the window are dropped. Assumptions: parallel trends and no anticipation beyond
the window; homogeneous effects across cohorts (else the b_k mix cohorts with possibly negative
weights: Sun & Abraham 2021, Borusyak, Jaravel & Spiess 2024). Standard errors: CRV1 by the
plan's cluster (t(G-1) reference), CRV3 optional. The regression itself is
:func:`sahel_causal.models.fe_ols` on the dummies.
"""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pandas as pd
from scipy import stats

from sahel_causal.errors import SpecificationError
from sahel_causal.estimators import FitContext
from sahel_causal.models import fe_ols
from sahel_causal.results import DropRecord, EstimationResult
from sahel_causal.specs.designs.event_study import EventStudySpec, term


def event_dummies(data: pd.DataFrame, es: EventStudySpec) -> tuple[pd.DataFrame, pd.Series]:
    """``data`` with one column per event time of the window, and a mask of rows kept."""
    first = pd.to_numeric(data[es.first_treat], errors="coerce")
    treated = first.notna() & (first > 0) & np.isfinite(first)
    rel = (data[es.time] - first).where(treated)
    keep = pd.Series(True, index=data.index)
    if es.bin_endpoints:
        rel = rel.clip(lower=-es.leads, upper=es.lags)
    else:
        keep = ~treated | rel.between(-es.leads, es.lags)
    cols = {term(k): (rel == k).astype(float) for k in es.event_times()}
    return data.assign(**cols), keep


def _frame(data: pd.DataFrame, es: EventStudySpec, where: str) -> tuple[pd.DataFrame, list[str], int]:
    if es.first_treat not in data.columns:
        raise SpecificationError(f"{where}.first_treat] the panel has no column {es.first_treat!r}")
    d, keep = event_dummies(data, es)
    d = d.loc[keep]
    regs = [r for r in (term(k) for k in es.event_times()) if d[r].any()]
    if not regs:
        raise SpecificationError(f"{where}] no treated unit-period falls inside the event window")
    return d, [*regs, *es.controls], int((~keep).sum())


def _design(ctx: FitContext) -> tuple[pd.DataFrame, list[str], EventStudySpec, int]:
    es: EventStudySpec = ctx.model.spec
    d, regs, n_out = _frame(ctx.data, es, f"{ctx.table.source_file}: [model {ctx.model.id}")
    return d, regs, es, n_out


def run(spec: EventStudySpec, panel: pd.DataFrame, *, cluster: str | None = None, spec_id: str = "",
        progress=None) -> EstimationResult:
    """The design's pure entry point: fit ``spec`` on ``panel`` (rows with missing values in the
    model's columns are dropped by :func:`fe_ols`); CRV1 by ``cluster`` (default: the unit)."""
    d, regs, n_out = _frame(panel, spec, f"<event_study {spec_id}>: [model {spec_id}")
    res = fe_ols(d, spec.outcome, regs, fe=(spec.unit, spec.time), cluster=cluster or spec.unit, vcov="CRV1",
                 spec_id=spec_id, metadata={"reference_period": spec.reference, "bin_endpoints": spec.bin_endpoints})
    if n_out:
        res = replace(res, dropped=(*res.dropped, DropRecord("treated unit-period outside the event window",
                                                             "row", n_out)))
    return res


def fit(ctx: FitContext) -> EstimationResult:
    """Fit the event study by least squares with unit and time fixed effects (registry entry point)."""
    d, regs, es, n_out = _design(ctx)
    res = fe_ols(d, es.outcome, regs, fe=(es.unit, es.time), cluster=ctx.cluster, vcov="CRV1",
                 spec_id=ctx.model.id, metadata={**ctx.metadata, "reference_period": es.reference,
                                                 "bin_endpoints": es.bin_endpoints})
    if n_out:
        res = replace(res, dropped=(*res.dropped, DropRecord("treated unit-period outside the event window",
                                                             "row", n_out)))
    return res


def terms(res: EstimationResult, ctx: FitContext) -> tuple[str, ...]:
    """The event-time terms, in event-time order."""
    return tuple(t for t in res.coef.index if t.startswith("event_"))


def attach_crv3(res: EstimationResult, ctx: FitContext) -> EstimationResult:
    """CRV3 (leave-one-cluster-out jackknife) for every event-time term; t(G-1) reference."""
    d, regs, es, _ = _design(ctx)
    r3 = fe_ols(d, es.outcome, regs, fe=(es.unit, es.time), cluster=ctx.cluster, vcov="CRV3")
    G = res.n_clusters or 2
    ref = stats.t(df=G - 1)
    q = ref.ppf(1 - ctx.alpha / 2)
    for t in terms(res, ctx):
        b, s = float(res.coef[t]), float(r3.std_errors[t])
        p = float(2 * ref.sf(abs(b / s))) if s > 0 else math.nan
        res = res.with_inference("crv3", t, p, b - q * s, b + q * s, {"se": s, "reference": f"t({G - 1})"})
    return res
