"""The estimator registry: what each estimator is, accepts and supports, in one place.

Each :class:`Estimator` entry declares its design, the outcome kinds it accepts, the inference
methods it supports, its label in tables, its reference, and the functions that fit it and attach
each inference method (as ``"module:function"`` strings, imported when first used, so this
module imports nothing heavy and nothing imports back). Specifications are checked against the
registry when parsed (:mod:`sahel_causal.specs.io`): an unknown estimator, an estimator of another
design, or an inference method the estimator does not support (unless the plan says ``skip`` or
``unsupported`` with a reason) is an error. Adding an estimator means one module with a ``fit``
function, one :func:`register` call and its tests.

Function signatures: ``fit(ctx: FitContext) -> EstimationResult``; each attach function
``attach(result, ctx) -> EstimationResult`` (returns a new result with the method's inference);
``margins(result, ctx) -> EstimationResult | None``; ``terms(result, ctx) -> tuple[str, ...]``
(the terms the table reports; default: the model's treatments).
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np
import pandas as pd

from sahel_causal.errors import SpecificationError

#: outcome kinds, nested: a binary outcome is also a count, a count is also non-negative...
OUTCOME_KINDS: tuple[str, ...] = ("binary", "count", "nonnegative", "continuous")
Ref = str | Callable[..., Any]


@dataclass(frozen=True)
class FitContext:
    """Everything an estimator needs to fit one model: the estimation sample and the plan."""

    data: pd.DataFrame           # the model's estimation sample (rows kept, all columns)
    full: pd.DataFrame           # the derived panel before the model's sample restrictions
    model: Any                   # ModelSpec
    table: Any                   # TableSpec
    regressors: tuple[str, ...]  # treatments then controls
    fixed_effects: tuple[str, ...]
    cluster: str
    alpha: float
    metadata: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Estimator:
    """One registered estimator."""

    name: str
    design: str
    outcomes: tuple[str, ...]
    inference: tuple[str, ...]
    label: str
    reference: str
    fit: Ref
    attach: Mapping[str, Ref] = field(default_factory=dict)
    margins: Ref | None = None
    terms: Ref | None = None
    description: str = ""
    margins_note: str = ""

    def __post_init__(self) -> None:
        bad = [k for k in self.outcomes if k not in OUTCOME_KINDS]
        if bad:
            raise SpecificationError(f"estimator {self.name}: unknown outcome kind(s) {bad}; use {OUTCOME_KINDS}")
        if "CRV1" not in self.inference:
            raise SpecificationError(f"estimator {self.name}: every estimator reports CRV1 standard errors")
        missing = [m for m in self.inference if m != "CRV1" and m not in self.attach]
        if missing:
            raise SpecificationError(f"estimator {self.name}: supports {missing} but has no attach function for them")

    def call(self, what: str, *args: Any) -> Any:
        """Resolve and call ``fit``/``margins``/``terms`` or an attach method by name."""
        ref = self.attach[what] if what in self.attach else getattr(self, what)
        return resolve(ref)(*args)

    def accepts(self, kind: str) -> bool:
        """True if an outcome of ``kind`` is acceptable (kinds are nested)."""
        return any(OUTCOME_KINDS.index(kind) <= OUTCOME_KINDS.index(k) for k in self.outcomes)


REGISTRY: dict[str, Estimator] = {}


def register(entry: Estimator, *, replace: bool = False) -> Estimator:
    """Add ``entry`` to the registry (an existing name is an error unless ``replace``)."""
    if entry.name in REGISTRY and not replace:
        raise SpecificationError(f"estimator {entry.name!r} is already registered")
    REGISTRY[entry.name] = entry
    return entry


def unregister(name: str) -> None:
    """Remove an estimator (for tests that register toys)."""
    REGISTRY.pop(name, None)


def get(name: str, design: str | None = None, *, source: str = "<spec>", where: str = "estimator") -> Estimator:
    """The registered estimator ``name`` (of ``design`` when given); a clear error otherwise."""
    entry = REGISTRY.get(name)
    names = sorted(e.name for e in REGISTRY.values() if design is None or e.design == design)
    if entry is None:
        raise SpecificationError(f"{source}: [{where}] unknown estimator {name!r}; allowed for design "
                                 f"{design!r}: {names}")
    if design is not None and entry.design != design:
        raise SpecificationError(f"{source}: [{where}] estimator {name!r} belongs to the {entry.design!r} design, "
                                 f"not {design!r}; allowed: {names}")
    return entry


def resolve(ref: Ref) -> Callable[..., Any]:
    """``"package.module:function"`` -> the function (callables pass through)."""
    if callable(ref):
        return ref
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


def outcome_kind(values: pd.Series) -> str:
    """The narrowest kind of an outcome column: binary, count, nonnegative or continuous."""
    x = pd.to_numeric(values, errors="coerce").dropna().to_numpy(float)
    if x.size and np.isin(x, (0.0, 1.0)).all():
        return "binary"
    if (x >= 0).all():
        return "count" if np.all(x == np.round(x)) else "nonnegative"
    return "continuous"


_E = "sahel_causal.estimation"
_LINEAR = {"CRV3": f"{_E}:attach_crv3_linear", "wild_bootstrap": f"{_E}:attach_wild_linear",
           "randomization": f"{_E}:attach_ri_linear"}

register(Estimator(
    name="ols", design="regression", outcomes=("continuous",), inference=("CRV1", "CRV3", "wild_bootstrap", "randomization"),
    label="OLS/LPM", reference="Correia (2017) for absorbing fixed effects; MacKinnon, Nielsen & Webb (2023) for CRV3",
    fit=f"{_E}:fit_ols", attach=_LINEAR,
    description="Least squares with absorbed fixed effects (linear probability model for binary outcomes)."))
register(Estimator(
    name="ppml", design="regression", outcomes=("nonnegative",), inference=("CRV1", "CRV3", "wild_bootstrap"),
    label="PPML", reference="Santos Silva & Tenreyro (2006); Correia, Guimaraes & Zylkin (2020)",
    fit=f"{_E}:fit_ppml", attach={"CRV3": f"{_E}:attach_crv3_refit_any", "wild_bootstrap": f"{_E}:attach_score_ppml"},
    description="Poisson pseudo-maximum likelihood with fixed effects; WCR = wild score bootstrap (Kline & Santos 2012)."))
register(Estimator(
    name="conditional_logit", design="regression", outcomes=("binary",), inference=("CRV1", "CRV3"),
    label="Cond. logit", reference="Chamberlain (1980)",
    fit=f"{_E}:fit_conditional_logit", attach={"CRV3": f"{_E}:attach_crv3_refit_any"},
    margins=f"{_E}:margins_at_baseline",
    description="Logit conditional on each unit's number of events; year dummies.",
    margins_note="effect at the sample event rate"))
register(Estimator(
    name="firth", design="regression", outcomes=("binary",), inference=("CRV1",),
    label="Firth logit", reference="Firth (1993); Heinze & Schemper (2002)",
    fit=f"{_E}:fit_firth", margins=f"{_E}:margins_ame",
    description="Firth-penalized logit with unit and time dummies; profile penalized-likelihood inference in the CSV.",
    margins_note="average marginal effect on the probability"))
register(Estimator(
    name="logit_cubic", design="regression", outcomes=("binary",), inference=("CRV1", "CRV3", "wild_bootstrap"),
    label="Logit + cubic", reference="Carter & Signorino (2010)",
    fit=f"{_E}:fit_logit_cubic", attach={"CRV3": f"{_E}:attach_crv3_refit_any",
                                         "wild_bootstrap": f"{_E}:attach_score_logit"},
    margins=f"{_E}:margins_ame",
    description="Pooled logit with a cubic in time since the unit's last event; WCR = wild score bootstrap.",
    margins_note="average marginal effect on the probability"))
register(Estimator(
    name="twfe_event_study", design="event_study", outcomes=("continuous",), inference=("CRV1", "CRV3"),
    label="TWFE event study", reference="Borusyak, Jaravel & Spiess (2024); Sun & Abraham (2021) on its bias",
    fit="sahel_causal.designs.event_study:fit", attach={"CRV3": "sahel_causal.designs.event_study:attach_crv3"},
    terms="sahel_causal.designs.event_study:terms",
    description="Two-way fixed-effects regression on relative-time dummies (reference period omitted)."))
