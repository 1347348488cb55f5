"""Strict parser of the multiverse design (``design = "multiverse"`` in a ``[[model]]`` entry).

A multiverse declares *dimensions*, each with a list of options, and the grid is their full
Cartesian product minus declared *exclusions* of incoherent combinations:

* ``outcome``: derived outcome variables (``[[model.outcome]]``, the derive operations of the
  table specifications: ``from``, ``sum``, ``ratio``, ``share_of``, ``any``, with ``scale``,
  ``log1p`` and ``lag``);
* ``treatment`` x ``scaling``: a treatment source (one panel column or a sum of columns) and the
  scalings that make sense for it (``per_capita``, ``per_1000_milper``, ``log1p_millions``,
  ``log1p``, ``any``); the scalings are applied in year *t-lag* (the treatment is lagged);
* ``lag``: years between treatment and outcome (1-3);
* ``control_set``: named lists of control variables (``[[model.control]]`` are derived like
  outcomes);
* ``region``, ``years``, ``exclusion``: the sample (a country set, a year window, and a closed
  set of exclusion rules: ``none`` or ``section7008_treatment`` = drop the observations whose
  treatment year *t-lag* is a successful-coup year or the year after, when the Section 7008
  restriction suspends most security assistance);
* ``fixed_effects``: absorbed fixed-effect structures (country and year, country, year, none);
* ``estimator``: only ``fe_ols`` (linear FE OLS; with a 0/1 outcome the linear probability
  model). Nonlinear estimators (conditional logit, Firth logit, PPML) are not in the engine:
  they have no Frisch-Waugh-Lovell partialling, so no work can be shared across specifications;
  they stay in the table specifications.

``[model.family]`` names the hypotheses of the Romano-Wolf family (one per outcome, at the
*headline* choice of every other dimension).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from sahel_causal.errors import SpecificationError
from sahel_causal.specs import validate as val

DERIVE_OPS = ("from", "sum", "ratio", "share_of", "any")
SCALINGS = ("per_capita", "per_1000_milper", "log1p_millions", "log1p", "any")
EXCLUSIONS = ("none", "section7008_treatment")
ESTIMATORS = ("fe_ols",)
DIMENSIONS = ("outcome", "treatment", "scaling", "lag", "control_set", "region", "years", "exclusion",
              "fixed_effects", "estimator")
COUNTRY_SETS = ("africa", "sahel_g5", "sahel_partners")
_NOT_SUPPORTED = {
    "ppml": "PPML is nonlinear (no Frisch-Waugh-Lovell partialling, so fixed effects cannot be removed once "
            "per group); use the table specifications for PPML",
    "conditional_logit": "conditional logit is nonlinear; use the table specifications",
    "firth": "Firth logit is nonlinear and penalised; use the table specifications",
    "logit_cubic": "pooled logit is nonlinear; use the table specifications",
}

_MODEL_KEYS = {"design", "id", "label", "cluster", "estimators", "alpha", "seed", "bootstrap_draws", "chunk_groups",
               "lags", "exclusions", "outcome", "treatment", "control", "control_set", "region", "years",
               "fixed_effects", "exclude", "family", "note"}
_DERIVE_KEYS = {"name", "label", "scale", "log1p", "lag", "note", *DERIVE_OPS}


@dataclass(frozen=True)
class VariableDef:
    """A derived variable (outcome or control): one base operation, then scale, log1p, lag."""

    name: str
    label: str
    op: str
    args: tuple[str, ...]
    scale: float = 1.0
    log1p: bool = False
    lag: int = 0


@dataclass(frozen=True)
class TreatmentDef:
    """A treatment: the sum of ``source`` columns, measured with each of ``scalings``."""

    name: str
    label: str
    source: tuple[str, ...]
    scalings: tuple[str, ...]


@dataclass(frozen=True)
class ControlSet:
    name: str
    variables: tuple[str, ...]


@dataclass(frozen=True)
class Region:
    """A country sample: a named set (``africa``, ``sahel_g5``, ``sahel_partners``) or ISO3 list, minus ``exclude``."""

    name: str
    countries: str | tuple[str, ...]
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class YearWindow:
    name: str
    start: int
    end: int


@dataclass(frozen=True)
class FixedEffects:
    name: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class ExcludeRule:
    """Drop every specification matching all ``conditions`` (dimension -> allowed option names)."""

    reason: str
    conditions: tuple[tuple[str, tuple[str, ...]], ...]

    def matches(self, row: Mapping[str, Any]) -> bool:
        return all(str(row[dim]) in opts for dim, opts in self.conditions)


@dataclass(frozen=True)
class Family:
    """Romano-Wolf family: one hypothesis per outcome at the headline choice of the other dimensions."""

    outcomes: tuple[str, ...]
    headline: tuple[tuple[str, str], ...]

    def headline_dict(self) -> dict[str, str]:
        return dict(self.headline)


@dataclass(frozen=True)
class MultiverseSpec:
    """Every field of one multiverse (see the module docstring)."""

    id: str
    label: str
    cluster: str
    estimators: tuple[str, ...]
    alpha: float
    seed: int
    bootstrap_draws: int
    chunk_groups: int
    lags: tuple[int, ...]
    exclusions: tuple[str, ...]
    outcomes: tuple[VariableDef, ...]
    treatments: tuple[TreatmentDef, ...]
    controls: tuple[VariableDef, ...]
    control_sets: tuple[ControlSet, ...]
    regions: tuple[Region, ...]
    years: tuple[YearWindow, ...]
    fixed_effects: tuple[FixedEffects, ...]
    exclude: tuple[ExcludeRule, ...]
    family: Family
    source: str = "<spec>"
    note: str = ""


# --------------------------------------------------------------------------- strict helpers
class _P:
    """The multiverse parser's checks: the shared type checks of :mod:`sahel_causal.specs.validate`
    (called here value first, then the field) and the structure checks of this design."""

    def __init__(self, source: str, where: str) -> None:
        self.source, self.where = source, where
        self.fields = val.Fields(source, where)

    def err(self, field: str, msg: str) -> SpecificationError:
        return self.fields.fail(field, msg)

    def table(self, d: Any, allowed: set[str], field: str) -> dict[str, Any]:
        return val.table(d, allowed, source=self.source, where=self.where, field=field)

    def req(self, d: dict[str, Any], key: str, field: str) -> Any:
        if key not in d:
            raise self.err(f"{field}.{key}" if field else key, "is required")
        return d[key]

    def string(self, x: Any, field: str) -> str:
        return self.fields.string(field, x)

    def integer(self, x: Any, field: str, lo: int | None = None) -> int:
        return self.fields.integer(field, x, lo)

    def number(self, x: Any, field: str) -> float:
        return self.fields.number(field, x)

    def boolean(self, x: Any, field: str) -> bool:
        return self.fields.boolean(field, x)

    def strings(self, x: Any, field: str, allow_empty: bool = False) -> tuple[str, ...]:
        return self.fields.strings(field, x, allow_empty=allow_empty)

    def array_of_tables(self, v: Any, field: str) -> list[dict[str, Any]]:
        if not isinstance(v, list) or not v or not all(isinstance(x, dict) for x in v):
            raise self.err(field, f"must be a non-empty array of tables ([[model.{field}]]), got {v!r}")
        return v

    def unique_names(self, items: tuple[Any, ...], field: str) -> None:
        names = [i.name for i in items]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise self.err(field, f"duplicated names {dup}")


def _variable(p: _P, d: Any, field: str) -> VariableDef:
    p.table(d, _DERIVE_KEYS, field)
    name = p.string(p.req(d, "name", field), f"{field}.name")
    f = f"{field} {name}"
    ops = [o for o in DERIVE_OPS if o in d]
    if len(ops) != 1:
        raise p.err(f, f"needs exactly one of {list(DERIVE_OPS)}, got {ops}")
    op = ops[0]
    raw = d[op]
    args = (p.string(raw, f"{f}.{op}"),) if isinstance(raw, str) else p.strings(raw, f"{f}.{op}")
    want = {"from": 1, "any": 1, "ratio": 2, "share_of": 2}.get(op)
    if want is not None and len(args) != want:
        raise p.err(f"{f}.{op}", f"takes {want} column(s), got {list(args)}")
    scale = p.number(d.get("scale", 1.0), f"{f}.scale")
    if scale <= 0:
        raise p.err(f"{f}.scale", f"must be positive, got {scale}")
    return VariableDef(name=name, label=p.string(d.get("label", name), f"{f}.label"), op=op, args=args,
                       scale=scale, log1p=p.boolean(d.get("log1p", False), f"{f}.log1p"),
                       lag=p.integer(d.get("lag", 0), f"{f}.lag", lo=0))


def _treatment(p: _P, d: Any, i: int) -> TreatmentDef:
    field = f"treatment[{i}]"
    p.table(d, {"name", "label", "source", "scalings"}, field)
    name = p.string(p.req(d, "name", field), f"{field}.name")
    src = p.req(d, "source", field)
    source = (p.string(src, f"{field}.source"),) if isinstance(src, str) else p.strings(src, f"{field}.source")
    scalings = p.strings(p.req(d, "scalings", field), f"{field}.scalings")
    bad = [s for s in scalings if s not in SCALINGS]
    if bad:
        raise p.err(f"{field}.scalings", f"unknown scaling(s) {bad}; use {list(SCALINGS)}")
    return TreatmentDef(name, p.string(d.get("label", name), f"{field}.label"), source, scalings)


def _region(p: _P, d: Any, i: int) -> Region:
    field = f"region[{i}]"
    p.table(d, {"name", "countries", "exclude"}, field)
    name = p.string(p.req(d, "name", field), f"{field}.name")
    c = p.req(d, "countries", field)
    if isinstance(c, str):
        if c not in COUNTRY_SETS:
            raise p.err(f"{field}.countries", f"unknown country set {c!r}; use one of {list(COUNTRY_SETS)} or a "
                                              "list of ISO3 codes")
        countries: str | tuple[str, ...] = c
    else:
        countries = p.strings(c, f"{field}.countries")
    exclude = p.strings(d.get("exclude", []), f"{field}.exclude", allow_empty=True)
    return Region(name, countries, exclude)


def _years(p: _P, d: Any, i: int) -> YearWindow:
    field = f"years[{i}]"
    p.table(d, {"name", "range"}, field)
    r = p.req(d, "range", field)
    if not isinstance(r, list) or len(r) != 2:
        raise p.err(f"{field}.range", f"must be [first, last], got {r!r}")
    a, b = (p.integer(x, f"{field}.range") for x in r)
    if a > b:
        raise p.err(f"{field}.range", f"first year {a} is after last year {b}")
    return YearWindow(p.string(d.get("name", f"{a}-{b}"), f"{field}.name"), a, b)


def _family(p: _P, d: Any, known: dict[str, set[str]]) -> Family:
    p.table(d, {"outcomes", "headline"}, "family")
    outcomes = p.strings(p.req(d, "outcomes", "family"), "family.outcomes")
    bad = [o for o in outcomes if o not in known["outcome"]]
    if bad:
        raise p.err("family.outcomes", f"unknown outcome(s) {bad}; declared: {sorted(known['outcome'])}")
    h = p.table(p.req(d, "headline", "family"), set(DIMENSIONS) - {"outcome"}, "family.headline")
    missing = sorted(set(DIMENSIONS) - {"outcome"} - set(h))
    if missing:
        raise p.err("family.headline", f"must set every dimension except outcome; missing {missing}")
    head = []
    for dim in DIMENSIONS:
        if dim == "outcome":
            continue
        v = h[dim]
        v = str(p.integer(v, f"family.headline.{dim}")) if dim == "lag" else p.string(v, f"family.headline.{dim}")
        if v not in known[dim]:
            raise p.err(f"family.headline.{dim}", f"{v!r} is not an option of the dimension; options: "
                                                  f"{sorted(known[dim])}")
        head.append((dim, v))
    return Family(outcomes, tuple(head))


def parse(model: dict[str, Any], *, source: str, where: str) -> MultiverseSpec:
    """Validate one ``[[model]]`` entry with ``design = "multiverse"`` into a :class:`MultiverseSpec`."""
    p = _P(source, where)
    p.table(model, _MODEL_KEYS, "model")
    design = p.req(model, "design", "")
    if design != "multiverse":
        raise p.err("design", f"must be 'multiverse' for this parser, got {design!r}")
    mid = p.string(p.req(model, "id", ""), "id")
    estimators = p.strings(model.get("estimators", ["fe_ols"]), "estimators")
    for e in estimators:
        if e not in ESTIMATORS:
            why = _NOT_SUPPORTED.get(e, "unknown estimator")
            raise p.err("estimators", f"{e!r} is not supported by the multiverse engine ({why}); use {list(ESTIMATORS)}")
    alpha = p.number(model.get("alpha", 0.05), "alpha")
    if not 0 < alpha < 1:
        raise p.err("alpha", f"must be in (0, 1), got {alpha}")
    lags_raw = p.req(model, "lags", "")
    if not isinstance(lags_raw, list) or not lags_raw:
        raise p.err("lags", f"must be a non-empty list of integers, got {lags_raw!r}")
    lags = tuple(p.integer(x, "lags", lo=1) for x in lags_raw)
    if len(set(lags)) != len(lags):
        raise p.err("lags", f"has duplicates: {list(lags)}")
    exclusions = p.strings(model.get("exclusions", ["none"]), "exclusions")
    bad = [e for e in exclusions if e not in EXCLUSIONS]
    if bad:
        raise p.err("exclusions", f"unknown rule(s) {bad}; use {list(EXCLUSIONS)}")
    outcomes = tuple(_variable(p, d, f"outcome[{i}]") for i, d in
                     enumerate(p.array_of_tables(p.req(model, "outcome", ""), "outcome")))
    treatments = tuple(_treatment(p, d, i) for i, d in
                       enumerate(p.array_of_tables(p.req(model, "treatment", ""), "treatment")))
    controls = tuple(_variable(p, d, f"control[{i}]") for i, d in enumerate(model.get("control", []))) \
        if model.get("control", []) != [] else ()
    if "control" in model and not isinstance(model["control"], list):
        raise p.err("control", "must be an array of tables [[model.control]]")
    sets = []
    for i, d in enumerate(p.array_of_tables(p.req(model, "control_set", ""), "control_set")):
        f = f"control_set[{i}]"
        p.table(d, {"name", "variables"}, f)
        vs = p.strings(p.req(d, "variables", f), f"{f}.variables", allow_empty=True)
        unknown = [v for v in vs if v not in {c.name for c in controls}]
        if unknown:
            raise p.err(f"{f}.variables", f"unknown control(s) {unknown}; declare them as [[model.control]]")
        sets.append(ControlSet(p.string(p.req(d, "name", f), f"{f}.name"), vs))
    regions = tuple(_region(p, d, i) for i, d in enumerate(p.array_of_tables(p.req(model, "region", ""), "region")))
    years = tuple(_years(p, d, i) for i, d in enumerate(p.array_of_tables(p.req(model, "years", ""), "years")))
    fes = []
    for i, d in enumerate(p.array_of_tables(p.req(model, "fixed_effects", ""), "fixed_effects")):
        f = f"fixed_effects[{i}]"
        p.table(d, {"name", "columns"}, f)
        cols = p.strings(p.req(d, "columns", f), f"{f}.columns", allow_empty=True)
        if any(c not in ("iso3", "year") for c in cols) or len(cols) > 2:
            raise p.err(f"{f}.columns", f"must be a subset of ['iso3', 'year'], got {list(cols)}")
        fes.append(FixedEffects(p.string(p.req(d, "name", f), f"{f}.name"), cols))
    for items, field in ((outcomes, "outcome"), (treatments, "treatment"), (controls, "control"),
                         (tuple(sets), "control_set"), (regions, "region"), (years, "years"), (tuple(fes), "fixed_effects")):
        p.unique_names(items, field)
    known: dict[str, set[str]] = {
        "outcome": {o.name for o in outcomes}, "treatment": {t.name for t in treatments},
        "scaling": {s for t in treatments for s in t.scalings}, "lag": {str(x) for x in lags},
        "control_set": {s.name for s in sets}, "region": {r.name for r in regions}, "years": {y.name for y in years},
        "exclusion": set(exclusions), "fixed_effects": {f.name for f in fes}, "estimator": set(estimators),
    }
    rules = []
    for i, d in enumerate(model.get("exclude", [])):
        f = f"exclude[{i}]"
        p.table(d, {"reason", *DIMENSIONS}, f)
        reason = p.string(p.req(d, "reason", f), f"{f}.reason")
        conds = []
        for dim in DIMENSIONS:
            if dim not in d:
                continue
            raw = d[dim]
            vals = [str(p.integer(x, f"{f}.{dim}")) for x in raw] if dim == "lag" and isinstance(raw, list) \
                else list(p.strings(raw, f"{f}.{dim}"))
            unknown = [v for v in vals if v not in known[dim]]
            if unknown:
                raise p.err(f"{f}.{dim}", f"unknown option(s) {unknown}; options: {sorted(known[dim])}")
            conds.append((dim, tuple(vals)))
        if not conds:
            raise p.err(f, "needs at least one dimension condition")
        rules.append(ExcludeRule(reason, tuple(conds)))
    family = _family(p, p.req(model, "family", ""), known)
    cluster = p.string(model.get("cluster", "iso3"), "cluster")
    if cluster != "iso3":
        raise p.err("cluster", f"the engine clusters by country ('iso3'), got {cluster!r}")
    return MultiverseSpec(
        id=mid, label=p.string(model.get("label", mid), "label"), cluster=cluster, estimators=estimators,
        alpha=alpha, seed=p.integer(p.req(model, "seed", ""), "seed", lo=0),
        bootstrap_draws=p.integer(model.get("bootstrap_draws", 999), "bootstrap_draws", lo=99),
        chunk_groups=p.integer(model.get("chunk_groups", 64), "chunk_groups", lo=1),
        lags=lags, exclusions=exclusions, outcomes=outcomes, treatments=treatments, controls=controls,
        control_sets=tuple(sets), regions=regions, years=years, fixed_effects=tuple(fes), exclude=tuple(rules),
        family=family, source=source, note=str(model.get("note", "")),
    )


@dataclass(frozen=True)
class MultiverseFile:
    """A multiverse specification file: the ``[table]`` metadata and its multiverse."""

    id: str
    title: str
    description: str
    notes: tuple[str, ...]
    spec: MultiverseSpec


def load(path: Path) -> MultiverseFile:
    """Read and validate ``analysis/multiverse/<id>.toml`` (one ``[table]``, one multiverse ``[[model]]``)."""
    import tomllib

    source = Path(path).name
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError as e:
        raise SpecificationError(f"{path}: file not found") from e
    except tomllib.TOMLDecodeError as e:
        raise SpecificationError(f"{source}: not valid TOML ({e})") from e
    p = _P(source, "file")
    p.table(raw, {"table", "model"}, "top level")
    t = p.table(p.req(raw, "table", ""), {"id", "title", "description", "notes"}, "table")
    models = raw.get("model")
    if not isinstance(models, list) or len(models) != 1:
        raise p.err("model", "a multiverse file holds exactly one [[model]] with design = \"multiverse\"")
    notes = p.strings(t.get("notes", []), "table.notes", allow_empty=True)
    spec = parse(models[0], source=source, where="model 0")
    return MultiverseFile(p.string(p.req(t, "id", "table"), "table.id"), p.string(p.req(t, "title", "table"), "table.title"),
                          p.string(t.get("description", ""), "table.description") if t.get("description") else "",
                          notes, spec)
