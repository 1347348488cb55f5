"""The ``stacked_event_study`` design: outcomes around events (successful coups) with clean controls.

``run(spec, panel)`` takes the country-years where ``spec.event`` > 0 (within ``spec.years``) as
events and estimates :func:`sahel_causal.did.stacked.stacked_event_study` (Cengiz et al. 2019):
for each event year, the event countries against countries with no event from ``pre + buffer``
years before to ``post`` years after, stacked, with sub-experiment x country and sub-experiment x
year effects. Estimand: the average change in the outcome k years after the event relative to
the year before (k = -1), compared with clean controls (a coup is a one-time event, not an
absorbing treatment: its lingering effects are kept out of the controls by the buffer).
Assumptions: parallel trends of event and clean-control countries within each window; coups
are not anticipated in the outcome before k = 0 (testable with the leads; aid cut *in
anticipation* of a coup would show up there). Inference: CRV1 by country, t(G-1).

The Section 7008 restriction is quantified by the post-event coefficients of U.S. assistance:
with a log(1 + dollars) outcome, 100*(exp(b_k) - 1) is the percentage change k years after.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

from sahel_causal.designs.staggered_did import StaggeredDidResult
from sahel_causal.did.stacked import stacked_event_study
from sahel_causal.errors import SpecificationError
from sahel_causal.specs.designs.stacked_event_study import StackedEventStudySpec


def events_from(panel: pd.DataFrame, spec: StackedEventStudySpec) -> pd.DataFrame:
    """Country-years with ``event`` > 0 (within ``years``), columns (unit, time)."""
    for c in (spec.event, spec.outcome, spec.unit, spec.time):
        if c not in panel.columns:
            raise SpecificationError(f"stacked_event_study: column {c!r} is not in the panel; see data/processed/codebook.md")
    ev = panel.loc[pd.to_numeric(panel[spec.event], errors="coerce") > 0, [spec.unit, spec.time]]
    if spec.years is not None:
        ev = ev[(ev[spec.time] >= spec.years[0]) & (ev[spec.time] <= spec.years[1])]
    return ev.sort_values([spec.unit, spec.time], kind="mergesort").reset_index(drop=True)


def run(spec: StackedEventStudySpec, panel: pd.DataFrame, *, progress: Callable[[str], None] | None = None) -> StaggeredDidResult:
    """Estimate one stacked event study (pure, deterministic)."""
    from threadpoolctl import threadpool_limits

    (progress or (lambda m: None))(f"stacked_event_study {spec.id or ''}: {spec.outcome} around {spec.event}")
    ev = events_from(panel, spec)
    with threadpool_limits(limits=1, user_api="blas"):
        res = stacked_event_study(panel, spec.outcome, spec.time, spec.unit, ev, pre=spec.pre, post=spec.post,
                                  ref=spec.ref, buffer=spec.buffer, weighting=spec.weighting)
    diag = {"n_events_total": int(len(ev)), "n_events_used": res.meta["n_events"],
            "n_treated_units": res.n_treated_units, "n_control_units": res.n_units - res.n_treated_units,
            "pretrend_wald": res.meta["pretrend_wald"], "dropped": [list(d) for d in res.dropped]}
    return StaggeredDidResult(spec.id or "", spec.label or "", "stacked", spec.outcome, res, (), diag)
