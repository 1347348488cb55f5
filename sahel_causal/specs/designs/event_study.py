"""The ``event_study`` design: a two-way fixed-effects event study with relative-time dummies.

For unit i first treated in period G_i (never-treated units: G_i missing or 0) the model is

    y_it = a_i + l_t + sum_{k != reference} b_k 1{t - G_i = k} + controls + e_it,

with k running from ``-leads`` to ``lags``; with ``bin_endpoints`` the first and last dummies
also collect all earlier / later event times (Schmidt, Borusyak & Jaravel 2024 on binning), else
treated units' periods outside the window are dropped. The terms are named ``event_-3``,
``event_+0``... Under heterogeneous effects across cohorts the b_k are contaminated averages
(Sun & Abraham 2021); the staggered-DiD design gives the heterogeneity-robust alternative.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sahel_causal.specs import validate as v

KEYS: dict[str, tuple[str, str, str]] = {
    "outcome": ("string", "required", "Outcome variable."),
    "first_treat": ("string", "required", "Column with each unit's first treated period (missing or 0 = never treated)."),
    "leads": ("integer >= 1", "4", "Number of pre-treatment event times (k = -leads ... -1)."),
    "lags": ("integer >= 0", "4", "Number of post-treatment event times (k = 0 ... lags)."),
    "reference": ("integer", "-1", "Omitted event time (normalised to 0)."),
    "bin_endpoints": ("boolean", "true", "Bin event times beyond the window into the end dummies (else drop them)."),
    "controls": ("list of strings", "[]", "Time-varying controls."),
    "estimator": ("string", '"twfe_event_study"', "A registered estimator of the event_study design."),
}


@dataclass(frozen=True)
class EventStudySpec:
    """Design fields of one event-study model (unit and time come from ``[data]``)."""

    outcome: str
    first_treat: str
    unit: str = "iso3"
    time: str = "year"
    leads: int = 4
    lags: int = 4
    reference: int = -1
    bin_endpoints: bool = True
    controls: tuple[str, ...] = ()
    estimator: str = "twfe_event_study"

    @property
    def fixed_effects(self) -> tuple[str, ...]:
        return (self.unit, self.time)

    def event_times(self) -> tuple[int, ...]:
        return tuple(k for k in range(-self.leads, self.lags + 1) if k != self.reference)

    def columns(self) -> tuple[str, ...]:
        return (self.outcome, *self.controls, self.unit, self.time)


def term(k: int) -> str:
    """Name of the event-time-k dummy."""
    return f"event_{k:+d}"


def parse(model: dict[str, Any], *, source: str, where: str) -> EventStudySpec:
    """Validate the event-study keys of a ``[[model]]`` table (``unit``/``time`` injected from [data])."""
    v.table(model, {*KEYS, "unit", "time"}, source=source, where=where)
    for k in ("outcome", "first_treat"):
        if k not in model:
            raise v.fail(source, f"{where}.{k}", "is required")
    leads = v.integer(model.get("leads", 4), source=source, where=f"{where}.leads", minimum=1, maximum=50)
    lags = v.integer(model.get("lags", 4), source=source, where=f"{where}.lags", minimum=0, maximum=50)
    ref = v.integer(model.get("reference", -1), source=source, where=f"{where}.reference")
    if not -leads <= ref <= lags:
        raise v.fail(source, f"{where}.reference", f"must lie in the window [-{leads}, {lags}], got {ref}")
    return EventStudySpec(
        outcome=v.string(model["outcome"], source=source, where=f"{where}.outcome"),
        first_treat=v.string(model["first_treat"], source=source, where=f"{where}.first_treat"),
        unit=v.string(model.get("unit", "iso3"), source=source, where=f"{where}.unit"),
        time=v.string(model.get("time", "year"), source=source, where=f"{where}.time"),
        leads=leads, lags=lags, reference=ref,
        bin_endpoints=v.boolean(model.get("bin_endpoints", True), source=source, where=f"{where}.bin_endpoints"),
        controls=v.name_list(model.get("controls", []), source=source, where=f"{where}.controls"),
        estimator=v.string(model.get("estimator", "twfe_event_study"), source=source, where=f"{where}.estimator"))
