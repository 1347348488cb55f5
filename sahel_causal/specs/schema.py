"""The specification schema: frozen dataclasses of a validated table specification.

A table specification declares its data (which panel, its unit and time columns), its sample,
the variables it uses (shared definitions in ``analysis/variables.toml`` plus its own: per
capita, shares, log(1+x), lags and leads, indicators, interactions), the models (each with a
``design``: a regression, an event study, ...) and an inference plan per model. Every key is
checked when the file is read (see :mod:`sahel_causal.specs.io`): an unknown key, a value of
the wrong type, an estimator that does not fit the design or an inference method the estimator
does not support raises :class:`~sahel_causal.errors.SpecificationError` naming the file and
the field. ``docs/specification.md`` is generated from :data:`sahel_causal.specs.reference.KEYS`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Mapping, get_args

VcovType = Literal["CRV1", "CRV3"]
BootWeights = Literal["rademacher", "webb"]
CountrySet = Literal["africa", "sahel_g5", "sahel_partners"]

VCOV_TYPES: tuple[str, ...] = get_args(VcovType)
BOOT_WEIGHTS: tuple[str, ...] = get_args(BootWeights)
COUNTRY_SETS: tuple[str, ...] = get_args(CountrySet)
BASE_OPS = ("from", "sum", "ratio", "any", "interact", "time_since", "share_of")
#: number of columns each base operation takes (None: one or more)
OP_ARITY: dict[str, int | None] = {"from": 1, "any": 1, "time_since": 1, "ratio": 2, "share_of": 2,
                                   "interact": 2, "sum": None}
#: inference methods a model can ask for (CRV1 is the reference standard error of every model)
METHODS: tuple[str, ...] = ("CRV1", "CRV3", "wild_bootstrap", "randomization")


@dataclass(frozen=True)
class Derive:
    """A derived variable: one base operation, then optional ``scale``, ``log1p``, ``lag``/``lead``.

    Base operations: ``from = col`` (copy), ``sum = [cols]`` (row sum, missing if any is missing),
    ``ratio = [num, den]`` (num/den; den <= 0 -> missing), ``share_of = [part, total]`` (like ratio,
    0 when total is 0 and part is 0), ``any = col`` (1 if col > 0), ``interact = [a, b]`` (a*b),
    ``time_since = col`` (years since the unit's previous period with col > 0).
    Lags and leads are taken within unit over consecutive periods (a gap -> missing).
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
class DataSpec:
    """The panel a specification runs on: a file (default: the committed country-year panel) and
    the names of its unit and time columns."""

    path: str | None = None
    unit: str = "iso3"
    time: str = "year"


@dataclass(frozen=True)
class SampleSpec:
    """Which unit-periods enter: a country set (or explicit iso3 list), a period range, exclusions.

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
    """Randomization inference: permute units' whole treatment paths."""

    permutations: int = 9999
    seed: int = 20021125


@dataclass(frozen=True)
class InferenceSpec:
    """The inference plan of one model: methods reported side by side and their settings.

    ``skip`` maps a method switched off for this model to the reason written in the table note;
    ``unsupported`` maps a method to the reason written when the model's estimator does not
    support it (otherwise asking for an unsupported method is an error).
    """

    vcov: tuple[str, ...] = ("CRV1", "CRV3")
    cluster: str = "iso3"
    wild_bootstrap: WildBootstrapSpec | None = field(default_factory=WildBootstrapSpec)
    randomization: RandomizationSpec | None = field(default_factory=RandomizationSpec)
    alpha: float = 0.05
    skip: Mapping[str, str] = field(default_factory=dict)
    unsupported: Mapping[str, str] = field(default_factory=dict)

    def requested(self) -> tuple[str, ...]:
        """Methods asked for, before skips (CRV1 always)."""
        out = ["CRV1", *[v for v in self.vcov if v != "CRV1"]]
        if self.wild_bootstrap is not None:
            out.append("wild_bootstrap")
        if self.randomization is not None:
            out.append("randomization")
        return tuple(out)


@dataclass(frozen=True)
class ModelSpec:
    """One model of a table: its design, the design's validated fields, sample and inference plan.

    ``spec`` is the design-specific object (e.g. :class:`~sahel_causal.specs.designs.regression.
    RegressionSpec`); ``outcome``, ``treatments``, ``estimator``, ``controls`` and
    ``fixed_effects`` read through to it (empty when the design has no such field).
    ``methods`` are the inference methods that will be computed; ``not_computed`` maps the
    others that were asked for to the reason (skip or unsupported).
    """

    id: str
    label: str
    design: str
    spec: Any
    sample: SampleSpec = field(default_factory=SampleSpec)
    note: str = ""
    inference: InferenceSpec = field(default_factory=InferenceSpec)
    methods: tuple[str, ...] = ("CRV1",)
    not_computed: Mapping[str, str] = field(default_factory=dict)
    #: headline estimates: the smallest effect of interest of one within-unit SD of the first treatment,
    #: in outcome units (PPML: log points), for the MDE and the equivalence test (inference.power)
    smallest_effect_1sd: float | None = None

    @property
    def outcome(self) -> str:
        return getattr(self.spec, "outcome", "")

    @property
    def treatments(self) -> tuple[str, ...]:
        return tuple(getattr(self.spec, "treatments", ()))

    @property
    def estimator(self) -> str:
        return getattr(self.spec, "estimator", "")

    @property
    def controls(self) -> tuple[str, ...]:
        return tuple(getattr(self.spec, "controls", ()))

    @property
    def fixed_effects(self) -> tuple[str, ...]:
        return tuple(getattr(self.spec, "fixed_effects", ()))

    def columns(self) -> tuple[str, ...]:
        """Panel columns the model needs (missing values in them drop the row)."""
        cols = getattr(self.spec, "columns", None)
        base = cols() if callable(cols) else (self.outcome, *self.treatments, *self.controls, *self.fixed_effects)
        return tuple(dict.fromkeys([*base, self.inference.cluster, *self.sample.drop_if_missing]))


@dataclass(frozen=True)
class TableSpec:
    """A whole table: metadata, data, variables, models, plus the source file and its document.

    ``document`` is the resolved specification (shared variables merged in, ``--set`` overrides
    applied) as plain TOML data: ``parse_spec(document)`` rebuilds this object, and its hash
    identifies the run. ``overrides`` lists the ``--set`` items of a rerun.
    """

    id: str
    title: str
    description: str
    derive: tuple[Derive, ...]
    models: tuple[ModelSpec, ...]
    inference: InferenceSpec
    source_file: str = ""
    notes: tuple[str, ...] = ()
    data: DataSpec = field(default_factory=DataSpec)
    overrides: tuple[str, ...] = ()
    document: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def variables(self) -> dict[str, Derive]:
        """Derived variables by name."""
        return {d.name: d for d in self.derive}
