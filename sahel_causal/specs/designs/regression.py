"""The ``regression`` design: outcome ~ treatments + controls | fixed effects, by a registered estimator.

The estimator (``ols``, ``ppml``, ``conditional_logit``, ``firth``, ``logit_cubic`` or any
estimator registered for this design in :mod:`sahel_causal.estimators`) is checked against the
registry by :mod:`sahel_causal.specs.io`; here only the types are checked.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sahel_causal.specs import validate as v

#: key -> (type, default, meaning), for the generated specification reference
KEYS: dict[str, tuple[str, str, str]] = {
    "outcome": ("string", "required", "Outcome variable (a panel column or a defined variable)."),
    "treatments": ("list of strings", "required", "Treatment terms reported in the table, in order."),
    "estimator": ("string", '"ols"', "A registered estimator of the regression design (see the estimator table)."),
    "controls": ("list of strings", "[defaults] controls, else []", "Control variables (not reported)."),
    "fixed_effects": ("list of strings", "[defaults] fixed_effects, else [unit, time]",
                      "Fixed effects (absorbed or as dummies, by estimator); [] for none."),
}


@dataclass(frozen=True)
class RegressionSpec:
    """Design fields of one regression model."""

    outcome: str
    treatments: tuple[str, ...]
    estimator: str = "ols"
    controls: tuple[str, ...] = ()
    fixed_effects: tuple[str, ...] = ("iso3", "year")

    def columns(self) -> tuple[str, ...]:
        return (self.outcome, *self.treatments, *self.controls, *self.fixed_effects)


def parse(model: dict[str, Any], *, source: str, where: str) -> RegressionSpec:
    """Validate the regression keys of a ``[[model]]`` table."""
    v.table(model, KEYS, source=source, where=where)
    for k in ("outcome", "treatments"):
        if k not in model:
            raise v.fail(source, f"{where}.{k}", "is required")
    treatments = v.name_list(model["treatments"], source=source, where=f"{where}.treatments", allow_empty=False)
    controls = v.name_list(model.get("controls", []), source=source, where=f"{where}.controls")
    fe = v.name_list(model.get("fixed_effects", ["iso3", "year"]), source=source, where=f"{where}.fixed_effects")
    overlap = sorted(set(treatments) & set(controls))
    if overlap:
        raise v.fail(source, f"{where}.controls", f"{overlap} also listed as treatments")
    return RegressionSpec(
        outcome=v.string(model["outcome"], source=source, where=f"{where}.outcome"), treatments=treatments,
        estimator=v.string(model.get("estimator", "ols"), source=source, where=f"{where}.estimator"),
        controls=controls, fixed_effects=fe)
