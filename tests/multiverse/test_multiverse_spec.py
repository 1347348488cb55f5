"""The multiverse specification: committed files, strict validation, grid expansion and hashes."""
from __future__ import annotations

import tomllib
from dataclasses import replace
from pathlib import Path

import pytest

from sahel_causal.errors import SpecificationError
from sahel_causal.multiverse.grid import expand
from sahel_causal.paths import ANALYSIS_DIR
from sahel_causal.specs.designs.multiverse import DIMENSIONS, load, parse

FILES = sorted((ANALYSIS_DIR / "multiverse").glob("*.toml"))
SMALL = Path(__file__).parent / "data" / "small_multiverse.toml"


def _model() -> dict:
    return tomllib.loads(SMALL.read_text())["model"][0]


def test_committed_multiverses_have_at_least_10000_specifications():
    assert [f.stem for f in FILES] == ["coups", "violence"]
    sizes = {f.stem: len(expand(load(f).spec)) for f in FILES}
    assert sum(sizes.values()) >= 10_000
    for f in FILES:
        s = load(f).spec
        assert s.lags == (1, 2, 3) and "section7008_treatment" in s.exclusions and s.estimators == ("fe_ols",)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_grid_is_the_product_minus_exclusions(path):
    s = load(path).spec
    grid = expand(s)
    full = (len(s.outcomes) * sum(len(t.scalings) for t in s.treatments) * len(s.lags) * len(s.control_sets)
            * len(s.regions) * len(s.years) * len(s.exclusions) * len(s.fixed_effects) * len(s.estimators))
    excluded = 0
    for rule in s.exclude:  # the committed rules do not overlap
        conds = dict(rule.conditions)
        sizes = {"outcome": len(s.outcomes), "treatment_scaling": sum(len(t.scalings) for t in s.treatments),
                 "lag": len(s.lags), "control_set": len(s.control_sets), "region": len(s.regions),
                 "years": len(s.years), "exclusion": len(s.exclusions), "fixed_effects": len(s.fixed_effects)}
        n = 1
        for dim, size in sizes.items():
            n *= len(conds[dim]) if dim in conds else size
        excluded += n
    assert len(grid) == full - excluded
    assert grid["spec_hash"].is_unique
    for rule in s.exclude:
        assert not grid.apply(lambda r: rule.matches(r), axis=1).any()
    assert list(grid.columns[2:2 + len(DIMENSIONS)]) == list(DIMENSIONS)


@pytest.mark.parametrize("edit,field", [
    (lambda m: m.update(colour=1), "unknown key"),
    (lambda m: m.update(lags=[1, True]), "lags"),
    (lambda m: m.update(lags=[1.0]), "lags"),
    (lambda m: m.update(seed=1.5), "seed"),
    (lambda m: m.update(estimators=["ppml"]), "nonlinear"),
    (lambda m: m.update(exclusions=["drop_coups"]), "exclusions"),
    (lambda m: m["treatment"][0].update(scalings=["per_gdp"]), "scalings"),
    (lambda m: m["control_set"][1].update(variables=["gdp"]), "control_set[1].variables"),
    (lambda m: m["family"]["headline"].pop("lag"), "missing ['lag']"),
    (lambda m: m["family"]["headline"].update(region="asia"), "family.headline.region"),
    (lambda m: m.update(cluster="year"), "cluster"),
    (lambda m: m["outcome"][0].update(log1p="yes"), "log1p"),
    (lambda m: m["exclude"][0].update(region=["atlantis"]), "exclude[0].region"),
    (lambda m: m["fixed_effects"][0].update(columns=["iso3", "region"]), "fixed_effects[0].columns"),
])
def test_strict_validation_names_file_and_field(edit, field):
    m = _model()
    edit(m)
    with pytest.raises(SpecificationError) as e:
        parse(m, source="x.toml", where="model 0")
    assert str(e.value).startswith("x.toml: [model 0]") and field in str(e.value)


def test_hash_changes_with_a_definition_not_with_a_label():
    s = parse(_model(), source="x.toml", where="model 0")
    base = expand(s).set_index("spec_index")["spec_hash"]
    o = s.outcomes[0]
    relabel = expand(replace(s, outcomes=(replace(o, label="other"), *s.outcomes[1:]))).set_index("spec_index")
    assert relabel["spec_hash"].equals(base)
    rescale = expand(replace(s, outcomes=(replace(o, scale=2.0), *s.outcomes[1:]))).set_index("spec_index")
    changed = rescale["outcome"] == o.name
    assert (rescale.loc[changed, "spec_hash"] != base[changed]).all()
    assert (rescale.loc[~changed, "spec_hash"] == base[~changed]).all()


def test_every_option_excluded_is_an_error():
    m = _model()
    m["exclude"] = [{"reason": "all", "estimator": ["fe_ols"]}]
    with pytest.raises(SpecificationError, match="every specification is excluded"):
        expand(parse(m, source="x.toml", where="model 0"))


def test_section7008_treatment_side_mask(panel):
    """Drop t when year t-lag is a successful-coup year or the year after (checked by a plain loop)."""
    from sahel_causal.multiverse.prepare import prepare

    s = load(ANALYSIS_DIR / "multiverse" / "coups.toml").spec
    prep = prepare(s, panel)
    frame = prep.frame()
    succ = {(r.iso3, int(r.year)) for r in panel.itertuples() if r.coup_successes > 0}
    for lag in (1, 3):
        base = prep.masks[f"africa|2000-2021|none|0"]
        excl = prep.masks[f"africa|2000-2021|section7008_treatment|{lag}"]
        for i, r in enumerate(frame.itertuples()):
            t = int(r.year) - lag
            in_window = (r.iso3, t) in succ or (r.iso3, t - 1) in succ
            assert excl[i] == (base[i] and not in_window)
    mli = frame[(frame["iso3"] == "MLI")].assign(keep=excl[frame["iso3"] == "MLI"])
    assert not mli.loc[mli["year"].isin([2015, 2016]), "keep"].any()   # lag 3: 2012 coup -> 2015, 2016 dropped
    assert mli.loc[mli["year"] == 2014, "keep"].item()


def test_region_masks(panel):
    from sahel_causal.multiverse.prepare import prepare

    s = load(ANALYSIS_DIR / "multiverse" / "coups.toml").spec
    prep = prepare(s, panel)
    frame = prep.frame()
    ssa = set(frame.loc[prep.masks["sub_saharan|2000-2021|none|0"], "iso3"])
    no_g5 = set(frame.loc[prep.masks["africa_without_g5|2000-2021|none|0"], "iso3"])
    assert not ssa & {"DZA", "EGY", "LBY", "MAR", "TUN"} and len(ssa) == 49
    assert not no_g5 & {"BFA", "TCD", "MLI", "MRT", "NER"} and len(no_g5) == 49
    years = frame.loc[prep.masks["africa|2005-2021|none|0"], "year"]
    assert years.min() == 2005 and years.max() == 2021
