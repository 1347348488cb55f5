"""Read, override and validate specification files (TOML)."""
from __future__ import annotations

import copy
import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any

from sahel_causal.errors import SpecificationError
from sahel_causal.specs.schema import (BASE_OPS, BOOT_WEIGHTS, COUNTRY_SETS, ESTIMATORS, VCOV_TYPES, Derive,
                                       InferenceSpec, ModelSpec, RandomizationSpec, SampleSpec, TableSpec,
                                       WildBootstrapSpec)

_TOP = {"table", "sample", "defaults", "derive", "model", "inference"}
_TABLE = {"id", "title", "description", "notes"}
_SAMPLE = {"countries", "years", "exclude_suspension_years", "drop_if_missing", "exclude_lagged_suspension",
           "until_first_event"}
_DEFAULTS = {"controls", "fixed_effects", "estimator"}
_DERIVE = {"name", "scale", "log1p", "lag", "lead", "note", *BASE_OPS}
_MODEL = {"id", "label", "outcome", "treatments", "estimator", "controls", "fixed_effects", "sample", "note",
          "smallest_effect_1sd"}
_INFERENCE = {"vcov", "cluster", "wild_bootstrap", "randomization", "alpha"}
_WB = {"draws", "weights", "seed"}
_RI = {"permutations", "seed"}


class _Ctx:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, msg: str) -> SpecificationError:
        return SpecificationError(f"{self.source}: [{where}] {msg}")

    def keys(self, d: Any, allowed: set[str], where: str) -> dict[str, Any]:
        if not isinstance(d, dict):
            raise self.fail(where, f"must be a table, got {type(d).__name__}")
        unknown = sorted(set(d) - allowed)
        if unknown:
            raise self.fail(where, f"unknown key(s) {unknown}; allowed: {sorted(allowed)}")
        return d

    def strs(self, v: Any, where: str) -> tuple[str, ...]:
        if isinstance(v, str):
            v = [v]
        if not isinstance(v, list) or not all(isinstance(x, str) and x for x in v):
            raise self.fail(where, f"must be a list of names, got {v!r}")
        return tuple(v)


def _sample(ctx: _Ctx, d: dict[str, Any], base: SampleSpec, where: str) -> SampleSpec:
    ctx.keys(d, _SAMPLE, where)
    kw: dict[str, Any] = {}
    if "countries" in d:
        c = d["countries"]
        if isinstance(c, str):
            if c not in COUNTRY_SETS:
                raise ctx.fail(f"{where}.countries", f"unknown country set {c!r}; use one of {COUNTRY_SETS} or a list of ISO3 codes")
            kw["countries"] = c
        else:
            kw["countries"] = ctx.strs(c, f"{where}.countries")
    if "years" in d:
        y = d["years"]
        if not (isinstance(y, list) and len(y) == 2 and all(isinstance(v, int) for v in y) and y[0] <= y[1]):
            raise ctx.fail(f"{where}.years", f"must be [first, last] integers with first <= last, got {y!r}")
        kw["years"] = (y[0], y[1])
    if "exclude_suspension_years" in d:
        if not isinstance(d["exclude_suspension_years"], bool):
            raise ctx.fail(f"{where}.exclude_suspension_years", "must be true or false")
        kw["exclude_suspension_years"] = d["exclude_suspension_years"]
    if "drop_if_missing" in d:
        kw["drop_if_missing"] = ctx.strs(d["drop_if_missing"], f"{where}.drop_if_missing")
    if "exclude_lagged_suspension" in d:
        if not isinstance(d["exclude_lagged_suspension"], bool):
            raise ctx.fail(f"{where}.exclude_lagged_suspension", "must be true or false")
        kw["exclude_lagged_suspension"] = d["exclude_lagged_suspension"]
    if "until_first_event" in d:
        v = d["until_first_event"]
        if not isinstance(v, str) or not v:
            raise ctx.fail(f"{where}.until_first_event", f"must be a variable name (e.g. \"coup_any\"), got {v!r}")
        kw["until_first_event"] = v
    return SampleSpec(**{**base.__dict__, **kw})


def _derive(ctx: _Ctx, d: dict[str, Any], i: int) -> Derive:
    where = f"derive #{i + 1} ({d.get('name', '?')})"
    ctx.keys(d, _DERIVE, where)
    if not isinstance(d.get("name"), str) or not d["name"]:
        raise ctx.fail(where, "needs a name")
    ops = [k for k in BASE_OPS if k in d]
    if len(ops) != 1:
        raise ctx.fail(where, f"needs exactly one base operation of {BASE_OPS}, found {ops}")
    op = ops[0]
    args = ctx.strs(d[op], f"{where}.{op}")
    need = {"from": 1, "any": 1, "time_since": 1, "ratio": 2, "share_of": 2, "interact": 2}.get(op)
    if need is not None and len(args) != need:
        raise ctx.fail(f"{where}.{op}", f"takes {need} column(s), got {len(args)}")
    for k in ("lag", "lead"):
        if k in d and (not isinstance(d[k], int) or d[k] < 0):
            raise ctx.fail(f"{where}.{k}", "must be a non-negative integer")
    if "scale" in d and not isinstance(d["scale"], (int, float)):
        raise ctx.fail(f"{where}.scale", "must be a number")
    return Derive(name=d["name"], op=op, args=args, scale=float(d.get("scale", 1.0)),
                  log1p=bool(d.get("log1p", False)), lag=int(d.get("lag", 0)), lead=int(d.get("lead", 0)),
                  note=str(d.get("note", "")))


def _inference(ctx: _Ctx, d: dict[str, Any]) -> InferenceSpec:
    ctx.keys(d, _INFERENCE, "inference")
    kw: dict[str, Any] = {}
    if "vcov" in d:
        v = ctx.strs(d["vcov"], "inference.vcov")
        bad = [x for x in v if x not in VCOV_TYPES]
        if bad:
            raise ctx.fail("inference.vcov", f"unknown vcov {bad}; allowed {VCOV_TYPES}")
        kw["vcov"] = v
    if "cluster" in d:
        kw["cluster"] = ctx.strs(d["cluster"], "inference.cluster")[0]
    if "alpha" in d:
        if not (isinstance(d["alpha"], float) and 0 < d["alpha"] < 1):
            raise ctx.fail("inference.alpha", "must be a number in (0, 1)")
        kw["alpha"] = d["alpha"]
    if "wild_bootstrap" in d:
        wb = d["wild_bootstrap"]
        if wb is False:
            kw["wild_bootstrap"] = None
        else:
            ctx.keys(wb, _WB, "inference.wild_bootstrap")
            w = ctx.strs(wb.get("weights", list(WildBootstrapSpec().weights)), "inference.wild_bootstrap.weights")
            bad = [x for x in w if x not in BOOT_WEIGHTS]
            if bad:
                raise ctx.fail("inference.wild_bootstrap.weights", f"unknown weights {bad}; allowed {BOOT_WEIGHTS}")
            draws = wb.get("draws", WildBootstrapSpec().draws)
            if not isinstance(draws, int) or draws < 99:
                raise ctx.fail("inference.wild_bootstrap.draws", "must be an integer >= 99")
            kw["wild_bootstrap"] = WildBootstrapSpec(draws=draws, weights=w, seed=int(wb.get("seed", WildBootstrapSpec().seed)))
    if "randomization" in d:
        ri = d["randomization"]
        if ri is False:
            kw["randomization"] = None
        else:
            ctx.keys(ri, _RI, "inference.randomization")
            n = ri.get("permutations", RandomizationSpec().permutations)
            if not isinstance(n, int) or n < 99:
                raise ctx.fail("inference.randomization.permutations", "must be an integer >= 99")
            kw["randomization"] = RandomizationSpec(permutations=n, seed=int(ri.get("seed", RandomizationSpec().seed)))
    return InferenceSpec(**kw)


def parse_spec(raw: dict[str, Any], source: str = "<spec>") -> TableSpec:
    """Validate a parsed TOML document and freeze it into a :class:`TableSpec`."""
    ctx = _Ctx(source)
    ctx.keys(raw, _TOP, "top level")
    t = ctx.keys(raw.get("table", {}), _TABLE, "table")
    for k in ("id", "title"):
        if not isinstance(t.get(k), str) or not t[k]:
            raise ctx.fail(f"table.{k}", "is required")
    sample = _sample(ctx, raw.get("sample", {}), SampleSpec(), "sample")
    defaults = ctx.keys(raw.get("defaults", {}), _DEFAULTS, "defaults")
    derives = tuple(_derive(ctx, d, i) for i, d in enumerate(raw.get("derive", [])))
    names = [d.name for d in derives]
    if len(set(names)) != len(names):
        raise ctx.fail("derive", f"duplicated derived names {sorted({n for n in names if names.count(n) > 1})}")
    models = []
    for i, m in enumerate(raw.get("model", [])):
        where = f"model #{i + 1} ({m.get('id', '?') if isinstance(m, dict) else '?'})"
        ctx.keys(m, _MODEL, where)
        for k in ("id", "outcome"):
            if not isinstance(m.get(k), str) or not m[k]:
                raise ctx.fail(f"{where}.{k}", "is required")
        est = m.get("estimator", defaults.get("estimator", "ols"))
        if est not in ESTIMATORS:
            raise ctx.fail(f"{where}.estimator", f"unknown estimator {est!r}; allowed {ESTIMATORS}")
        if "treatments" not in m:
            raise ctx.fail(f"{where}.treatments", "is required")
        sesoi = m.get("smallest_effect_1sd")
        if sesoi is not None and (isinstance(sesoi, bool) or not isinstance(sesoi, (int, float)) or not sesoi > 0):
            raise ctx.fail(f"{where}.smallest_effect_1sd", "must be a positive number: the smallest effect of "
                           "interest of one within-country SD of the first treatment, in outcome units "
                           f"(PPML: log points), got {sesoi!r}")
        models.append(ModelSpec(
            id=m["id"], label=str(m.get("label", m["id"])), outcome=m["outcome"],
            treatments=ctx.strs(m["treatments"], f"{where}.treatments"), estimator=est,
            controls=ctx.strs(m.get("controls", defaults.get("controls", [])), f"{where}.controls") if
            (m.get("controls", defaults.get("controls", [])) != []) else (),
            fixed_effects=ctx.strs(m.get("fixed_effects", defaults.get("fixed_effects", ["iso3", "year"])),
                                   f"{where}.fixed_effects") if
            (m.get("fixed_effects", defaults.get("fixed_effects", ["iso3", "year"])) != []) else (),
            sample=_sample(ctx, m.get("sample", {}), sample, f"{where}.sample"), note=str(m.get("note", "")),
            smallest_effect_1sd=None if sesoi is None else float(sesoi)))
    if not models:
        raise ctx.fail("model", "a table needs at least one [[model]]")
    ids = [m.id for m in models]
    if len(set(ids)) != len(ids):
        raise ctx.fail("model", "model ids must be unique")
    notes = t.get("notes", [])
    return TableSpec(id=t["id"], title=t["title"], description=str(t.get("description", "")), derive=derives,
                     models=tuple(models), inference=_inference(ctx, raw.get("inference", {})),
                     source_file=source, notes=tuple(notes) if isinstance(notes, list) else (str(notes),))


def _set_dotted(doc: dict[str, Any], key: str, value: Any, source: str) -> None:
    parts = key.split(".")
    cur: Any = doc
    for j, p in enumerate(parts[:-1]):
        if p == "model" and isinstance(cur.get("model"), list) and j + 1 < len(parts) - 1:
            mid = parts[j + 1]
            hits = [m for m in cur["model"] if m.get("id") == mid]
            if not hits:
                raise SpecificationError(f"{source}: --set {key}: no model with id {mid!r}")
            rest = ".".join(parts[j + 2:])
            _set_dotted(hits[0], rest, value, source)
            return
        if p == "model" and isinstance(cur.get("model"), list):
            for m in cur["model"]:
                m[parts[-1]] = value
            return
        cur = cur.setdefault(p, {})
        if not isinstance(cur, dict):
            raise SpecificationError(f"{source}: --set {key}: {p!r} is not a table")
    cur[parts[-1]] = value


def apply_overrides(raw: dict[str, Any], overrides: list[str], source: str = "<spec>") -> dict[str, Any]:
    """Return a copy of ``raw`` with ``key=value`` overrides (value parsed as TOML, else a string).

    ``model.<id>.<field>=...`` changes one model; ``model.<field>=...`` changes every model.
    """
    doc = copy.deepcopy(raw)
    for item in overrides:
        if "=" not in item:
            raise SpecificationError(f"{source}: --set {item!r}: use key=value")
        key, text = item.split("=", 1)
        try:
            value = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            value = text
        _set_dotted(doc, key.strip(), value, source)
    return doc


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; a syntax error names the file."""
    if not path.is_file():
        raise SpecificationError(f"specification file {path} does not exist")
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise SpecificationError(f"{path}: not valid TOML: {exc}") from exc


def load_spec(path: Path, overrides: list[str] | None = None) -> TableSpec:
    """Read, override and validate a specification file."""
    raw = apply_overrides(read_toml(path), overrides or [], path.name)
    return parse_spec(raw, path.name)


def spec_hash(raw: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of a (possibly overridden) specification document."""
    return hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()
