"""Read, override and validate specification files (TOML).

Steps: read the spec file; merge the shared variable definitions (``analysis/variables.toml``)
into its ``[variables]`` table; apply ``--set key=value`` overrides to that document; validate
it strictly into a :class:`~sahel_causal.specs.schema.TableSpec` (types, designs through
:data:`~sahel_causal.specs.designs.DESIGNS`, estimators and inference methods through the
registry in :mod:`sahel_causal.estimators`). Every error names the file and the field.
"""
from __future__ import annotations

import copy
import difflib
import functools
import tomllib
from pathlib import Path
from typing import Any

from sahel_causal import estimators
from sahel_causal.errors import SpecificationError
from sahel_causal.specs import validate as v
from sahel_causal.specs.designs import DESIGNS
from sahel_causal.specs.schema import (BASE_OPS, BOOT_WEIGHTS, COUNTRY_SETS, METHODS, OP_ARITY, VCOV_TYPES, DataSpec,
                                       Derive, InferenceSpec, ModelSpec, RandomizationSpec, SampleSpec, TableSpec,
                                       WildBootstrapSpec)

_TOP = {"table", "data", "sample", "defaults", "variables", "model", "inference"}
_TABLE = {"id", "title", "description", "notes"}
_DATA = {"path", "unit", "time"}
_SAMPLE = {"countries", "years", "exclude_suspension_years", "drop_if_missing", "exclude_lagged_suspension",
           "until_first_event"}
_DEFAULTS = {"controls", "fixed_effects", "estimator"}
_VARIABLE = {"scale", "log1p", "lag", "lead", "note", *BASE_OPS}
_MODEL_COMMON = {"id", "label", "design", "sample", "note", "inference", "smallest_effect_1sd"}
_INFERENCE = {"vcov", "cluster", "wild_bootstrap", "randomization", "alpha", "skip", "unsupported"}
_WB = {"draws", "weights", "seed"}
_RI = {"permutations", "seed"}
#: refuse a bootstrap or permutation plan whose working memory would exceed this
MEMORY_LIMIT_BYTES = 2 * 1024**3
_BYTES_PER_DRAW = 8 * 64 * 3     # a (draws x clusters) block of float64 weights and two work arrays, G <= 64
_BYTES_PER_PERMUTATION = 8 * 64  # one permutation index per cluster
SHARED_VARIABLES = Path(__file__).resolve().parents[2] / "analysis" / "variables.toml"


# --------------------------------------------------------------------------- files
def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; a missing file or a syntax error names the file."""
    path = Path(path)
    if not path.is_file():
        raise SpecificationError(f"specification file {path} does not exist")
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise SpecificationError(f"{path}: not valid TOML: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise SpecificationError(f"{path}: not UTF-8 text ({exc.reason}); save it as UTF-8") from exc


def with_shared_variables(raw: dict[str, Any], source: str, shared: Path | None = SHARED_VARIABLES) -> dict[str, Any]:
    """Copy of ``raw`` whose ``[variables]`` starts with the shared definitions of ``shared``."""
    doc = copy.deepcopy(raw)
    if "derive" in doc:
        raise v.fail(source, "derive", "[[derive]] lists were replaced by [variables.<name>] tables "
                     "(shared ones in analysis/variables.toml); see docs/specification.md")
    own = doc.get("variables", {})
    if not isinstance(own, dict):
        raise v.fail(source, "variables", "must be a table of [variables.<name>] tables")
    if shared is None or not Path(shared).is_file():
        return doc
    base = read_toml(Path(shared))
    v.table(base, {"variables"}, source=Path(shared).name, where="top level")
    common = base.get("variables", {})
    clash = sorted(set(common) & set(own))
    if clash:
        raise v.fail(source, f"variables.{clash[0]}", f"redefines the shared variable(s) {clash} of "
                     f"{Path(shared).name}: use another name, or change it for one run with "
                     f"--set variables.{clash[0]}.<key>=<value>")
    doc["variables"] = {**copy.deepcopy(common), **own}
    return doc


def load_spec(path: Path, overrides: list[str] | None = None, *, shared: Path | None = SHARED_VARIABLES) -> TableSpec:
    """Read a specification file, merge the shared variables, apply overrides and validate."""
    path = Path(path)
    doc = apply_overrides(with_shared_variables(read_toml(path), path.name, shared), overrides or [], path.name)
    return parse_spec(doc, path.name, overrides=tuple(overrides or ()))


# --------------------------------------------------------------------------- overrides
def _set_dotted(doc: dict[str, Any], key: str, value: Any, source: str, full: str) -> None:
    parts = key.split(".")
    if not all(parts):
        raise SpecificationError(f"{source}: --set {full}: empty part in the key {key!r}")
    cur: Any = doc
    for j, p in enumerate(parts[:-1]):
        if p == "model" and cur is doc:
            models = doc.get("model")
            if not isinstance(models, list):
                raise SpecificationError(f"{source}: --set {full}: the specification has no [[model]] list")
            rest = parts[j + 1:]
            ids = [m.get("id") for m in models if isinstance(m, dict)]
            if rest[0] in ids and len(rest) > 1:
                _set_dotted(models[ids.index(rest[0])], ".".join(rest[1:]), value, source, full)
                return
            if rest[0] in ids:
                raise SpecificationError(f"{source}: --set {full}: name a field of model {rest[0]!r}, "
                                         f"e.g. model.{rest[0]}.controls=[]")
            if len(rest) > 1:
                raise SpecificationError(f"{source}: --set {full}: no model with id {rest[0]!r}; ids: {ids}")
            for m in models:
                m[rest[0]] = copy.deepcopy(value)
            return
        nxt = cur.get(p) if isinstance(cur, dict) else None
        if nxt is None:
            nxt = cur[p] = {}
        if not isinstance(nxt, dict):
            raise SpecificationError(f"{source}: --set {full}: {'.'.join(parts[:j + 1])} is "
                                     f"{type(nxt).__name__} {nxt!r}, not a table")
        cur = nxt
    cur[parts[-1]] = value


def parse_value(text: str) -> Any:
    """A ``--set`` value: TOML (``2``, ``true``, ``[1, 2]``, ``"x"``, ``{a = 1}``), else the bare text."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(raw: dict[str, Any], overrides: list[str], source: str = "<spec>") -> dict[str, Any]:
    """Return a copy of ``raw`` with ``key=value`` overrides applied.

    ``model.<id>.<field>=...`` changes one model, ``model.<field>=...`` every model;
    ``variables.<name>.<key>=...`` a variable definition; any other dotted key the table it names.
    """
    doc = copy.deepcopy(raw)
    for item in overrides:
        if not isinstance(item, str) or "=" not in item:
            raise SpecificationError(f"{source}: --set {item!r}: use key=value, e.g. --set sample.years=[2005,2020]")
        key, text = item.split("=", 1)
        _set_dotted(doc, key.strip(), parse_value(text.strip()), source, item)
    return doc


# --------------------------------------------------------------------------- parts
@functools.lru_cache(maxsize=1)
def african_iso3() -> frozenset[str]:
    """ISO3 codes of the African states in ``data/reference/countries.csv``."""
    import csv

    from sahel_causal.paths import REFERENCE_DIR

    with open(REFERENCE_DIR / "countries.csv", newline="", encoding="utf-8") as fh:
        return frozenset(r["iso3"] for r in csv.DictReader(fh))


def _sample(src: str, d: Any, base: SampleSpec, where: str, unit: str) -> SampleSpec:
    v.table(d, _SAMPLE, source=src, where=where)
    kw: dict[str, Any] = {}
    if "countries" in d:
        c = d["countries"]
        if isinstance(c, str):
            if c in COUNTRY_SETS:
                kw["countries"] = c
            else:
                # named sets of the crosswalk's regions and the U.S. program partner groups (`sahel-causal list
                # country-sets`), expanded to their ISO3 codes
                from sahel_causal.review.country_sets import load_country_sets

                named = load_country_sets()
                if c not in named:
                    raise v.fail(src, f"{where}.countries", f"unknown country set {c!r}; use one of "
                                 f"{sorted(set(COUNTRY_SETS) | set(named))} or a list of ISO3 codes")
                kw["countries"] = tuple(named[c])
        else:
            codes = v.name_list(c, source=src, where=f"{where}.countries", allow_empty=False)
            if unit == "iso3":
                known = african_iso3()
                bad = [x for x in codes if x not in known]
                if bad:
                    hint = difflib.get_close_matches(bad[0], sorted(known), n=1)
                    raise v.fail(src, f"{where}.countries", f"{bad} not African state(s) in data/reference/countries.csv"
                                 + (f" (did you mean {hint[0]!r}?)" if hint else ""))
            kw["countries"] = codes
    if "years" in d:
        y = d["years"]
        if not (isinstance(y, list) and len(y) == 2 and all(isinstance(x, int) and not isinstance(x, bool) for x in y)
                and y[0] <= y[1]):
            raise v.fail(src, f"{where}.years", f"must be [first, last] integers with first <= last, got {y!r}")
        kw["years"] = (y[0], y[1])
    if "exclude_suspension_years" in d:
        kw["exclude_suspension_years"] = v.boolean(d["exclude_suspension_years"], source=src,
                                                   where=f"{where}.exclude_suspension_years")
    if "drop_if_missing" in d:
        kw["drop_if_missing"] = v.name_list(d["drop_if_missing"], source=src, where=f"{where}.drop_if_missing")
    if "exclude_lagged_suspension" in d:
        kw["exclude_lagged_suspension"] = v.boolean(d["exclude_lagged_suspension"], source=src,
                                                    where=f"{where}.exclude_lagged_suspension")
    if "until_first_event" in d:
        kw["until_first_event"] = v.string(d["until_first_event"], source=src, where=f"{where}.until_first_event",
                                           pattern=v.NAME)
    return SampleSpec(**{**base.__dict__, **kw})


def _variable(src: str, name: str, d: Any) -> Derive:
    where = f"variables.{name}"
    v.string(name, source=src, where=where, pattern=v.NAME)
    v.table(d, _VARIABLE, source=src, where=where)
    ops = [k for k in BASE_OPS if k in d]
    if len(ops) != 1:
        raise v.fail(src, where, f"needs exactly one base operation of {list(BASE_OPS)}, found {ops}")
    op = ops[0]
    need = OP_ARITY[op]
    if need == 1:
        if not isinstance(d[op], str) or not d[op]:
            raise v.fail(src, f"{where}.{op}", f"takes one column name as a string, got {d[op]!r}")
        args: tuple[str, ...] = (d[op],)
    else:
        args = v.name_list(d[op], source=src, where=f"{where}.{op}", allow_empty=False)
        if need is not None and len(args) != need:
            raise v.fail(src, f"{where}.{op}", f"takes {need} column(s), got {len(args)}")
    lag = v.integer(d.get("lag", 0), source=src, where=f"{where}.lag", minimum=0, maximum=100)
    lead = v.integer(d.get("lead", 0), source=src, where=f"{where}.lead", minimum=0, maximum=100)
    if lag and lead:
        raise v.fail(src, where, "give lag or lead, not both")
    note = d.get("note", "")
    if not isinstance(note, str):
        raise v.fail(src, f"{where}.note", f"must be a string, got {note!r}")
    return Derive(name=name, op=op, args=args, scale=v.number(d.get("scale", 1.0), source=src, where=f"{where}.scale"),
                  log1p=v.boolean(d.get("log1p", False), source=src, where=f"{where}.log1p"),
                  lag=lag, lead=lead, note=note)


def _variables(src: str, d: Any) -> tuple[Derive, ...]:
    v.table(d, set(d) if isinstance(d, dict) else set(), source=src, where="variables")
    out = tuple(_variable(src, n, spec) for n, spec in d.items())
    defined = {x.name: x for x in out}
    # reject cycles (a variable built, directly or not, from itself)
    state: dict[str, int] = {}

    def visit(n: str, path: list[str]) -> None:
        if state.get(n) == 2:
            return
        if state.get(n) == 1:
            raise v.fail(src, f"variables.{n}", f"is defined in terms of itself: {' -> '.join([*path, n])}")
        state[n] = 1
        for a in defined[n].args:
            if a in defined:
                visit(a, [*path, n])
        state[n] = 2

    for n in defined:
        visit(n, [])
    return out


def _draws_fit(n: int, per: int, src: str, where: str, what: str) -> None:
    need = n * per
    if need > MEMORY_LIMIT_BYTES:
        raise v.fail(src, where, f"{n:,} {what} would need about {need / 1024**3:,.1f} GiB of memory (limit "
                     f"{MEMORY_LIMIT_BYTES / 1024**3:.0f} GiB): use at most {MEMORY_LIMIT_BYTES // per:,}")


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for k, val in top.items():
        if isinstance(val, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], val)
        else:
            out[k] = copy.deepcopy(val)
    return out


def _reasons(src: str, d: Any, where: str) -> dict[str, str]:
    v.table(d, METHODS, source=src, where=where)
    for m, r in d.items():
        if not isinstance(r, str) or not r.strip():
            raise v.fail(src, f"{where}.{m}", f"must be the reason (a string) written in the table note, got {r!r}")
    return dict(d)


def _inference(src: str, d: Any, where: str, unit: str) -> InferenceSpec:
    v.table(d, _INFERENCE, source=src, where=where)
    kw: dict[str, Any] = {"cluster": unit}
    if "vcov" in d:
        vc = v.name_list(d["vcov"], source=src, where=f"{where}.vcov")
        bad = [x for x in vc if x not in VCOV_TYPES]
        if bad:
            raise v.fail(src, f"{where}.vcov", f"unknown vcov {bad}; allowed {list(VCOV_TYPES)}")
        if "CRV1" not in vc:
            raise v.fail(src, f"{where}.vcov", "must include CRV1, the reference standard error of every model "
                         "(switch CRV3 off with vcov = [\"CRV1\"])")
        kw["vcov"] = vc
    if "cluster" in d:
        if isinstance(d["cluster"], list):
            raise v.fail(src, f"{where}.cluster", f"one cluster variable, not a list {d['cluster']!r}: multiway "
                         "clustering is not implemented")
        kw["cluster"] = v.string(d["cluster"], source=src, where=f"{where}.cluster")
    if "alpha" in d:
        a = v.number(d["alpha"], source=src, where=f"{where}.alpha")
        if not 0 < a < 1:
            raise v.fail(src, f"{where}.alpha", f"must lie in (0, 1), got {a}")
        kw["alpha"] = a
    for key, fields, cls in (("wild_bootstrap", _WB, WildBootstrapSpec), ("randomization", _RI, RandomizationSpec)):
        if key not in d:
            continue
        val = d[key]
        if val is False:
            kw[key] = None
            continue
        if val is True:
            val = {}
        w = f"{where}.{key}"
        v.table(val, fields, source=src, where=w)
        default = cls()
        seed = v.integer(val.get("seed", default.seed), source=src, where=f"{w}.seed", minimum=0, maximum=2**63 - 1)
        if key == "wild_bootstrap":
            draws = v.integer(val.get("draws", default.draws), source=src, where=f"{w}.draws", minimum=99)
            _draws_fit(draws, _BYTES_PER_DRAW, src, f"{w}.draws", "bootstrap draws")
            weights = v.name_list(val.get("weights", list(default.weights)), source=src, where=f"{w}.weights",
                                  allow_empty=False)
            bad = [x for x in weights if x not in BOOT_WEIGHTS]
            if bad:
                raise v.fail(src, f"{w}.weights", f"unknown weights {bad}; allowed {list(BOOT_WEIGHTS)}")
            kw[key] = WildBootstrapSpec(draws=draws, weights=weights, seed=seed)
        else:
            n = v.integer(val.get("permutations", default.permutations), source=src, where=f"{w}.permutations",
                          minimum=99)
            _draws_fit(n, _BYTES_PER_PERMUTATION, src, f"{w}.permutations", "permutations")
            kw[key] = RandomizationSpec(permutations=n, seed=seed)
    if "skip" in d:
        kw["skip"] = _reasons(src, d["skip"], f"{where}.skip")
    if "unsupported" in d:
        kw["unsupported"] = _reasons(src, d["unsupported"], f"{where}.unsupported")
    if "CRV1" in kw.get("skip", {}):
        raise v.fail(src, f"{where}.skip.CRV1", "CRV1 is the reference standard error and cannot be skipped")
    return InferenceSpec(**kw)


def _plan_against_registry(src: str, where: str, plan: InferenceSpec, entry: estimators.Estimator
                           ) -> tuple[tuple[str, ...], dict[str, str]]:
    not_computed: dict[str, str] = {}
    for m in plan.requested():
        if m in plan.skip:
            not_computed[m] = plan.skip[m]
        elif m not in entry.inference:
            if m not in plan.unsupported:
                raise v.fail(src, f"{where}.inference", f"estimator {entry.name!r} does not support {m} (it supports "
                             f"{list(entry.inference)}): switch it off for this model, or give the reason for the "
                             f"table note with inference.unsupported.{m} = \"...\" or inference.skip.{m} = \"...\"")
            not_computed[m] = plan.unsupported[m]
    methods = tuple(m for m in plan.requested() if m not in not_computed)
    return methods, not_computed


def _model(src: str, i: int, m: Any, defaults: dict[str, Any], sample: SampleSpec, plan_doc: dict[str, Any],
           data: DataSpec) -> ModelSpec:
    mid = m.get("id", "?") if isinstance(m, dict) else "?"
    where = f"model #{i + 1} ({mid})"
    if not isinstance(m, dict):
        raise v.fail(src, where, f"must be a table, got {m!r}")
    mid = v.string(m.get("id"), source=src, where=f"{where}.id", pattern=v.SAFE_ID)
    design = m.get("design", "regression")
    if design not in DESIGNS:
        raise v.fail(src, f"{where}.design", f"unknown design {design!r}; allowed: {sorted(DESIGNS)}")
    rest = {k: copy.deepcopy(val) for k, val in m.items() if k not in _MODEL_COMMON}
    if design == "regression":
        for k, val in defaults.items():
            rest.setdefault(k, copy.deepcopy(val))
        rest.setdefault("fixed_effects", [data.unit, data.time])
    elif design == "event_study":
        rest.setdefault("unit", data.unit)
        rest.setdefault("time", data.time)
    dspec = DESIGNS[design](rest, source=src, where=where)
    estimator = getattr(dspec, "estimator", None)
    plan = _inference(src, _merge(plan_doc, m.get("inference", {}) if isinstance(m.get("inference", {}), dict)
                                  else v.table(m.get("inference"), _INFERENCE, source=src, where=f"{where}.inference")),
                      f"{where}.inference", data.unit)
    if estimator is not None:
        entry = estimators.get(estimator, design, source=src, where=f"{where}.estimator")
        methods, not_computed = _plan_against_registry(src, where, plan, entry)
    else:
        methods, not_computed = plan.requested(), {}
    label = m.get("label", mid)
    note = m.get("note", "")
    for k, val in (("label", label), ("note", note)):
        if not isinstance(val, str):
            raise v.fail(src, f"{where}.{k}", f"must be a string, got {val!r}")
    sesoi = m.get("smallest_effect_1sd")
    if sesoi is not None and (isinstance(sesoi, bool) or not isinstance(sesoi, (int, float)) or not sesoi > 0):
        raise v.fail(src, f"{where}.smallest_effect_1sd", "must be a positive number: the smallest effect of "
                     "interest of one within-unit SD of the first treatment, in outcome units (PPML: log points), "
                     f"got {sesoi!r}")
    return ModelSpec(id=mid, label=label, design=design, spec=dspec,
                     sample=_sample(src, m.get("sample", {}), sample, f"{where}.sample", data.unit), note=note,
                     inference=plan, methods=methods, not_computed=not_computed,
                     smallest_effect_1sd=None if sesoi is None else float(sesoi))


def parse_spec(raw: dict[str, Any], source: str = "<spec>", *, overrides: tuple[str, ...] = ()) -> TableSpec:
    """Validate a specification document (shared variables already merged) into a :class:`TableSpec`."""
    src = source
    if isinstance(raw, dict) and "derive" in raw:
        raise v.fail(src, "derive", "[[derive]] lists were replaced by [variables.<name>] tables "
                     "(shared ones in analysis/variables.toml); see docs/specification.md")
    v.table(raw, _TOP, source=src, where="top level")
    t = v.table(raw.get("table", {}), _TABLE, source=src, where="table")
    for k in ("id", "title"):
        if k not in t:
            raise v.fail(src, f"table.{k}", "is required")
    tid = v.string(t["id"], source=src, where="table.id", pattern=v.SAFE_ID)
    title = v.string(t["title"], source=src, where="table.title")
    description = t.get("description", "")
    if not isinstance(description, str):
        raise v.fail(src, "table.description", f"must be a string, got {description!r}")
    notes = t.get("notes", [])
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        raise v.fail(src, "table.notes", f"must be a list of strings, got {notes!r}")
    dd = v.table(raw.get("data", {}), _DATA, source=src, where="data")
    data = DataSpec(path=v.string(dd["path"], source=src, where="data.path") if "path" in dd else None,
                    unit=v.string(dd.get("unit", "iso3"), source=src, where="data.unit"),
                    time=v.string(dd.get("time", "year"), source=src, where="data.time"))
    sample = _sample(src, raw.get("sample", {}), SampleSpec(), "sample", data.unit)
    defaults = v.table(raw.get("defaults", {}), _DEFAULTS, source=src, where="defaults")
    derives = _variables(src, raw.get("variables", {}))
    plan_doc = v.table(raw.get("inference", {}), _INFERENCE, source=src, where="inference")
    table_plan = _inference(src, plan_doc, "inference", data.unit)
    models_raw = raw.get("model", [])
    if not isinstance(models_raw, list):
        raise v.fail(src, "model", "must be a list of [[model]] tables")
    models = tuple(_model(src, i, m, defaults, sample, plan_doc, data) for i, m in enumerate(models_raw))
    if not models:
        raise v.fail(src, "model", "a table needs at least one [[model]]")
    ids = [m.id for m in models]
    if len(set(ids)) != len(ids):
        raise v.fail(src, "model", f"model ids must be unique: {sorted({i for i in ids if ids.count(i) > 1})}")
    return TableSpec(id=tid, title=title, description=description, derive=derives, models=models,
                     inference=table_plan, source_file=source, notes=tuple(notes), data=data,
                     overrides=tuple(overrides), document=copy.deepcopy(raw))
