"""Specification of the ``staggered_did`` design: a frozen dataclass and its strict parser.

A ``[[model]]`` entry with ``design = "staggered_did"`` estimates the effect of entering a
program in different years (staggered adoption) with one of the estimators in
:data:`ESTIMATORS`:

* ``cs_dr``, ``cs_ipw``, ``cs_reg``: Callaway & Sant'Anna (2021) group-time ATTs
  (:func:`sahel_causal.did.att_gt`) with the doubly robust, IPW or outcome-regression 2x2
  estimator, aggregated by :func:`sahel_causal.did.aggte`;
* ``sun_abraham`` (interaction-weighted event study), ``imputation`` (Borusyak, Jaravel &
  Spiess), ``twfe`` (two-way fixed effects with the Goodman-Bacon and de Chaisemartin &
  D'Haultfoeuille diagnostics), ``dcdh`` (de Chaisemartin & D'Haultfoeuille DID_l):
  estimated by the design module of ``sahel_causal.designs.staggered_did``.

Fields (TOML key = dataclass field; types are checked strictly, unknown keys are errors):

==========================  ===========================================================  =========
key                         meaning                                                      default
==========================  ===========================================================  =========
``outcome``                 outcome column (R did: ``yname``)                            required
``cohort``                  first treated year, 0 = never treated (``gname``)            required
``estimator``               one of :data:`ESTIMATORS`                                    required
``unit``, ``time``          unit and period columns (``idname``, ``tname``)              iso3, year
``treatment``               0/1 treatment-status column for twfe/dcdh (switching on and  none
                            off allowed for dcdh); none = ``1{time >= cohort > 0}``
``covariates``              list of columns, taken at the base period (``xformla``)      []
``control_group``           ``"nevertreated"`` or ``"notyettreated"``                    nevertreated
``base_period``             ``"varying"`` or ``"universal"``                             varying
``anticipation``            periods of anticipation (int >= 0)                           0
``allow_unbalanced_panel``  keep units not observed every year (pairwise 2x2 samples)    false
``aggregations``            subset of simple, dynamic, group, calendar                   [simple, dynamic]
``min_e``, ``max_e``        event-time window (int)                                      none
``balance_e``               balance cohorts in event time (int)                          none
``cluster``                 cluster column (constant within unit); none = unit           none
``bootstrap``               multiplier bootstrap SEs and sup-t bands                     true
``biters``                  bootstrap draws (int >= 2)                                   999
``boot_weights``            ``"mammen"`` or ``"rademacher"``                             mammen
``ri_draws``                randomization-inference draws reassigning entry years (0=off) 0
``ri_exact_limit``          enumerate all assignments when there are at most this many   100000
``alpha``                   significance level (float in (0, 1))                         0.05
``seed``                    seed of every random draw (int)                              20211
``honest_mbar``             relative-magnitudes bounds for HonestDiD (list of floats)     []
``honest_m``                smoothness bounds for HonestDiD (list of floats)              []
==========================  ===========================================================  =========

The general keys ``design`` (must be ``"staggered_did"``), ``id`` and ``label`` are accepted
and checked for type; everything else is an error.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Literal, Mapping, get_args

from sahel_causal.errors import SpecificationError
from sahel_causal.specs import validate as v

Estimator = Literal["cs_dr", "cs_ipw", "cs_reg", "sun_abraham", "imputation", "twfe", "dcdh"]
ESTIMATORS: tuple[str, ...] = get_args(Estimator)
CONTROL_GROUPS = ("nevertreated", "notyettreated")
BASE_PERIODS = ("varying", "universal")
AGGREGATIONS = ("simple", "dynamic", "group", "calendar")
BOOT_WEIGHTS = ("mammen", "rademacher")
DESIGN = "staggered_did"
_GENERAL_KEYS = ("design", "id", "label")


@dataclass(frozen=True)
class StaggeredDidSpec:
    """Every setting of one staggered-adoption DiD model (see the module docstring)."""

    outcome: str
    cohort: str
    estimator: str
    unit: str = "iso3"
    time: str = "year"
    treatment: str | None = None
    covariates: tuple[str, ...] = ()
    control_group: str = "nevertreated"
    base_period: str = "varying"
    anticipation: int = 0
    allow_unbalanced_panel: bool = False
    aggregations: tuple[str, ...] = ("simple", "dynamic")
    min_e: int | None = None
    max_e: int | None = None
    balance_e: int | None = None
    cluster: str | None = None
    bootstrap: bool = True
    biters: int = 999
    boot_weights: str = "mammen"
    ri_draws: int = 0
    ri_exact_limit: int = 100_000
    alpha: float = 0.05
    seed: int = 20211
    honest_mbar: tuple[float, ...] = ()
    honest_m: tuple[float, ...] = ()
    id: str | None = None
    label: str | None = None

    @property
    def est_method(self) -> str | None:
        """R did's ``est_method`` for the Callaway & Sant'Anna estimators, else ``None``."""
        return self.estimator[3:] if self.estimator.startswith("cs_") else None

    @property
    def xformla(self) -> str | None:
        """The covariates as R did's one-sided formula (``None`` without covariates)."""
        return "~ " + " + ".join(self.covariates) if self.covariates else None

    def att_gt_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :func:`sahel_causal.did.att_gt` (Callaway & Sant'Anna only)."""
        if self.est_method is None:
            raise SpecificationError(f"estimator {self.estimator!r} is not a Callaway & Sant'Anna estimator")
        return dict(yname=self.outcome, tname=self.time, idname=self.unit, gname=self.cohort,
                    xformla=self.xformla, control_group=self.control_group,
                    est_method=self.est_method, base_period=self.base_period,
                    anticipation=self.anticipation,
                    allow_unbalanced_panel=self.allow_unbalanced_panel,
                    clustervars=self.cluster, alp=self.alpha, bstrap=self.bootstrap,
                    biters=self.biters, boot_weights=self.boot_weights, seed=self.seed)


def parse(model: Mapping[str, Any], *, source: str, where: str) -> StaggeredDidSpec:
    """Validate one ``[[model]]`` table of design ``staggered_did`` into a :class:`StaggeredDidSpec`.

    Raises :class:`~sahel_causal.errors.SpecificationError` ``"{source}: [{where}] <key>: ..."``
    on a missing required key, an unknown key or a value of the wrong type or range.
    """
    c = v.Fields(source, where)
    if not isinstance(model, Mapping):
        raise SpecificationError(f"{source}: [{where}] must be a table, got {type(model).__name__}")
    known = {f.name for f in fields(StaggeredDidSpec)} | set(_GENERAL_KEYS)
    unknown = sorted(set(model) - known)
    if unknown:
        raise c.fail(unknown[0], f"unknown key (allowed: {', '.join(sorted(known))})")
    if "design" in model and model["design"] != DESIGN:
        raise c.fail("design", f"must be {DESIGN!r} for this parser, got {model['design']!r}")
    for req in ("outcome", "cohort", "estimator"):
        if req not in model:
            raise c.fail(req, "is required")
    m = dict(model)
    kw: dict[str, Any] = {
        "outcome": c.string("outcome", m["outcome"]),
        "cohort": c.string("cohort", m["cohort"]),
        "estimator": c.choice("estimator", m["estimator"], ESTIMATORS),
    }
    d = StaggeredDidSpec.__dataclass_fields__
    get = lambda k: m.get(k, d[k].default)  # noqa: E731
    kw["unit"] = c.string("unit", get("unit"))
    kw["time"] = c.string("time", get("time"))
    kw["treatment"] = c.opt_string("treatment", get("treatment"))
    kw["covariates"] = c.strings("covariates", m.get("covariates", []))
    kw["control_group"] = c.choice("control_group", get("control_group"), CONTROL_GROUPS)
    kw["base_period"] = c.choice("base_period", get("base_period"), BASE_PERIODS)
    kw["anticipation"] = c.integer("anticipation", get("anticipation"), 0)
    kw["allow_unbalanced_panel"] = c.boolean("allow_unbalanced_panel", get("allow_unbalanced_panel"))
    aggs = c.strings("aggregations", m.get("aggregations", list(d["aggregations"].default)), allowed=AGGREGATIONS)
    if not aggs:
        raise c.fail("aggregations", "must name at least one of " + ", ".join(AGGREGATIONS))
    kw["aggregations"] = aggs
    kw["min_e"] = c.opt_integer("min_e", get("min_e"))
    kw["max_e"] = c.opt_integer("max_e", get("max_e"))
    if kw["min_e"] is not None and kw["max_e"] is not None and kw["min_e"] > kw["max_e"]:
        raise c.fail("min_e", f"{kw['min_e']} is larger than max_e = {kw['max_e']}")
    kw["balance_e"] = c.opt_integer("balance_e", get("balance_e"), 0)
    kw["cluster"] = c.opt_string("cluster", get("cluster"))
    kw["bootstrap"] = c.boolean("bootstrap", get("bootstrap"))
    kw["biters"] = c.integer("biters", get("biters"), 2)
    kw["boot_weights"] = c.choice("boot_weights", get("boot_weights"), BOOT_WEIGHTS)
    kw["ri_draws"] = c.integer("ri_draws", get("ri_draws"), 0)
    kw["ri_exact_limit"] = c.integer("ri_exact_limit", get("ri_exact_limit"), 0)
    alpha = c.number("alpha", get("alpha"))
    if not 0.0 < alpha < 1.0:
        raise c.fail("alpha", f"must lie in (0, 1), got {alpha}")
    kw["alpha"] = alpha
    kw["seed"] = c.integer("seed", get("seed"), 0)
    kw["honest_mbar"] = c.numbers("honest_mbar", m.get("honest_mbar", []), minimum=0)
    kw["honest_m"] = c.numbers("honest_m", m.get("honest_m", []), minimum=0)
    kw["id"] = c.opt_string("id", m.get("id"))
    kw["label"] = c.opt_string("label", m.get("label"))
    if kw["covariates"] and kw["estimator"] in ("dcdh",):
        raise c.fail("covariates", "are not supported with estimator 'dcdh' here; remove them")
    return StaggeredDidSpec(**kw)
