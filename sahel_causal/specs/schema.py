"""The specification schema: frozen dataclasses and their validation.

A table specification declares its sample, derived variables (transformations of panel
columns: per capita, shares, log(1+x), lags and leads, indicators, interactions), the models
(outcome, treatments, controls, fixed effects, estimator) and the inference settings. Every
key is checked: an unknown key, estimator or variable, or an empty sample, raises
:class:`~sahel_causal.errors.SpecificationError` naming the file and the field.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

Estimator = Literal["ols", "ppml", "conditional_logit", "firth", "logit_cubic"]
VcovType = Literal["CRV1", "CRV3"]
BootWeights = Literal["rademacher", "webb"]
CountrySet = Literal["africa", "sahel_g5", "sahel_partners"]

ESTIMATORS: tuple[str, ...] = get_args(Estimator)
VCOV_TYPES: tuple[str, ...] = get_args(VcovType)
BOOT_WEIGHTS: tuple[str, ...] = get_args(BootWeights)
COUNTRY_SETS: tuple[str, ...] = get_args(CountrySet)
BASE_OPS = ("from", "sum", "ratio", "any", "interact", "time_since", "share_of")


@dataclass(frozen=True)
class Derive:
    """A derived variable: one base operation, then optional ``scale``, ``log1p``, ``lag``/``lead``.

    Base operations: ``from = col`` (copy), ``sum = [cols]`` (row sum, missing if any is missing),
    ``ratio = [num, den]`` (num/den; den <= 0 -> missing), ``share_of = [part, total]`` (like ratio,
    0 when total is 0 and part is 0), ``any = col`` (1 if col > 0), ``interact = [a, b]`` (a*b),
    ``time_since = col`` (years since the country's previous year with col > 0).
    Lags and leads are taken within country over consecutive calendar years (a gap -> missing).
    """

    name: str
    op: str
    args: tuple[str, ...]
    scale: float = 1.0
    log1p: bool = False
    lag: int = 0
    lead: int = 0
    note: str = ""


@dataclass(frozen=True)
class SampleSpec:
    """Which country-years enter: a country set (or explicit iso3 list), a year range, exclusions.

    ``exclude_suspension_years`` drops the *outcome* years of a successful coup and the next year
    (selects on the outcome; kept only for comparison). ``exclude_lagged_suspension`` drops the
    rows whose lagged treatment year (t-1) falls in a suspension window, ``until_first_event``
    (a variable name) keeps each country until its first event: see :mod:`sahel_causal.specs.samples`.
    """

    countries: str | tuple[str, ...] = "africa"
    years: tuple[int, int] = (1990, 2100)
    exclude_suspension_years: bool = False
    drop_if_missing: tuple[str, ...] = ()
    exclude_lagged_suspension: bool = False
    until_first_event: str = ""


@dataclass(frozen=True)
class WildBootstrapSpec:
    """Restricted wild cluster bootstrap settings (full enumeration when 2^G <= draws)."""

    draws: int = 9999
    weights: tuple[str, ...] = ("rademacher", "webb")
    seed: int = 20021124


@dataclass(frozen=True)
class RandomizationSpec:
    """Randomization inference: permute countries' whole treatment paths."""

    permutations: int = 9999
    seed: int = 20021125


@dataclass(frozen=True)
class InferenceSpec:
    """Inference reported side by side: analytic vcovs, wild bootstrap, randomization inference."""

    vcov: tuple[str, ...] = ("CRV1", "CRV3")
    cluster: str = "iso3"
    wild_bootstrap: WildBootstrapSpec | None = field(default_factory=WildBootstrapSpec)
    randomization: RandomizationSpec | None = field(default_factory=RandomizationSpec)
    alpha: float = 0.05


@dataclass(frozen=True)
class ModelSpec:
    """One column of a table: outcome ~ treatments + controls | fixed effects, by estimator."""

    id: str
    label: str
    outcome: str
    treatments: tuple[str, ...]
    estimator: str = "ols"
    controls: tuple[str, ...] = ()
    fixed_effects: tuple[str, ...] = ("iso3", "year")
    sample: SampleSpec = field(default_factory=SampleSpec)
    note: str = ""
    smallest_effect_1sd: float | None = None  # headline estimates: effect of interest per within-SD of the tested term


@dataclass(frozen=True)
class TableSpec:
    """A whole table: metadata, derived variables, models and inference, plus the source file."""

    id: str
    title: str
    description: str
    derive: tuple[Derive, ...]
    models: tuple[ModelSpec, ...]
    inference: InferenceSpec
    source_file: str = ""
    notes: tuple[str, ...] = ()
