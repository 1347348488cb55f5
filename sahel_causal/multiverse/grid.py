"""Expand a multiverse specification into its grid of specifications (one row per specification).

The grid is the Cartesian product of the dimensions in declaration order (outcome slowest,
estimator fastest), without the combinations matched by an ``[[model.exclude]]`` rule. Each
row carries the option chosen on every dimension, the internal column names the engine uses
(``y:<outcome>``, ``x:<treatment>:<scaling>:l<lag>``, ``c:<control>``), the sample key and a
content hash: sha256 of the canonical JSON of every *definition* the specification uses
(variable derivations, country and year sets, exclusion rule, fixed effects, cluster,
estimator), so that a changed definition never reuses a stored result.
"""
from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import asdict
from typing import Any

import pandas as pd

from sahel_causal.errors import SpecificationError
from sahel_causal.specs.designs.multiverse import DIMENSIONS, MultiverseSpec

ENGINE_VERSION = "multiverse-engine-1"


def outcome_column(name: str) -> str:
    return f"y:{name}"


def treatment_column(treatment: str, scaling: str, lag: int) -> str:
    return f"x:{treatment}:{scaling}:l{lag}"


def control_column(name: str) -> str:
    return f"c:{name}"


def sample_key(region: str, years: str, exclusion: str, lag: int) -> str:
    """Samples differ by lag only under the treatment-side Section 7008 rule."""
    return f"{region}|{years}|{exclusion}|{lag if exclusion == 'section7008_treatment' else 0}"


def _canon(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def _defn(obj: Any) -> dict[str, Any]:
    """A definition's content: its fields without the display label."""
    return {k: v for k, v in asdict(obj).items() if k != "label"}


def expand(spec: MultiverseSpec) -> pd.DataFrame:
    """All specifications of ``spec`` as a data frame (see the module docstring); index 0..S-1."""
    outcomes = {o.name: o for o in spec.outcomes}
    treatments = {t.name: t for t in spec.treatments}
    controls = {c.name: c for c in spec.controls}
    sets = {s.name: s for s in spec.control_sets}
    regions = {r.name: r for r in spec.regions}
    years = {y.name: y for y in spec.years}
    fes = {f.name: f for f in spec.fixed_effects}
    # canonical JSON fragments of each option's definition (hash inputs)
    frag = {
        "outcome": {k: _canon(_defn(v)) for k, v in outcomes.items()},
        "control_set": {k: _canon([_defn(controls[c]) for c in v.variables]) for k, v in sets.items()},
        "region": {k: _canon(asdict(v)) for k, v in regions.items()},
        "years": {k: _canon([v.start, v.end]) for k, v in years.items()},
        "fixed_effects": {k: _canon(list(v.columns)) for k, v in fes.items()},
        "treatment": {k: _canon({**_defn(v), "scalings": None}) for k, v in treatments.items()},
    }
    treat_options = [(t.name, s) for t in spec.treatments for s in t.scalings]
    rows: list[dict[str, Any]] = []
    for o, (t, s), lag, cs, r, y, ex, fe, est in itertools.product(
            outcomes, treat_options, spec.lags, sets, regions, years, spec.exclusions, fes, spec.estimators):
        row = {"outcome": o, "treatment": t, "scaling": s, "lag": lag, "control_set": cs, "region": r, "years": y,
               "exclusion": ex, "fixed_effects": fe, "estimator": est}
        if any(rule.matches(row) for rule in spec.exclude):
            continue
        content = "|".join([ENGINE_VERSION, frag["outcome"][o], frag["treatment"][t], s, str(lag),
                            frag["control_set"][cs], frag["region"][r], frag["years"][y], ex,
                            frag["fixed_effects"][fe], spec.cluster, est])
        row["spec_hash"] = hashlib.sha256(content.encode("utf-8")).hexdigest()[:16]
        row["y_col"] = outcome_column(o)
        row["x_col"] = treatment_column(t, s, lag)
        row["c_cols"] = ",".join(control_column(c) for c in sets[cs].variables)
        row["sample_key"] = sample_key(r, y, ex, lag)
        row["fe_cols"] = "+".join(fes[fe].columns)
        rows.append(row)
    if not rows:
        raise SpecificationError(f"{spec.source}: [model {spec.id}] every specification is excluded")
    grid = pd.DataFrame(rows)
    if grid["spec_hash"].duplicated().any():
        raise SpecificationError(f"{spec.source}: [model {spec.id}] two specifications have the same content "
                                 "(duplicated options under different names)")
    grid.insert(0, "spec_index", range(len(grid)))
    return grid[["spec_index", "spec_hash", *DIMENSIONS, "y_col", "x_col", "c_cols", "sample_key", "fe_cols"]]


def count(spec: MultiverseSpec) -> int:
    """Number of specifications after exclusions."""
    return len(expand(spec))
