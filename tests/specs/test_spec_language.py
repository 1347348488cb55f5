"""The specification language: designs, shared variables, strict types, --set everywhere, inference plans."""
from __future__ import annotations

import copy

import pytest

from sahel_causal.errors import SpecificationError
from sahel_causal.paths import ANALYSIS_DIR
from sahel_causal.specs import apply_overrides, load_spec, parse_spec
from sahel_causal.specs.designs import DESIGNS
from sahel_causal.specs.designs.event_study import EventStudySpec
from sahel_causal.specs.designs.regression import RegressionSpec
from sahel_causal.specs.io import read_toml, with_shared_variables

TABLE2 = ANALYSIS_DIR / "specs" / "table2_coups.toml"
MIN = {"table": {"id": "t", "title": "T"},
       "model": [{"id": "m", "outcome": "y", "treatments": ["x"]}],
       "inference": {"wild_bootstrap": False, "randomization": False}}


def _with(path: str, value, base=None):
    doc = copy.deepcopy(base or MIN)
    cur = doc
    parts = path.split(".")
    for p in parts[:-1]:
        cur = cur[int(p)] if isinstance(cur, list) else cur.setdefault(p, {})
    cur[parts[-1]] = value
    return doc


def test_designs_registry_has_regression_and_event_study():
    assert {"regression", "event_study"} <= set(DESIGNS)
    spec = parse_spec(MIN, "x.toml")
    assert isinstance(spec.models[0].spec, RegressionSpec) and spec.models[0].design == "regression"
    es = parse_spec({**MIN, "model": [{"id": "e", "design": "event_study", "outcome": "y", "first_treat": "g",
                                       "leads": 2, "lags": 1}]}, "x.toml")
    m = es.models[0]
    assert isinstance(m.spec, EventStudySpec) and m.spec.event_times() == (-2, 0, 1)
    assert m.estimator == "twfe_event_study" and m.fixed_effects == ("iso3", "year")


@pytest.mark.parametrize("doc,where,what", [
    # issue 13 item 3: booleans are booleans, integers integers, lists lists
    (_with("variables", {"z": {"from": "x", "log1p": "false"}}), "variables.z.log1p", "true or false"),
    (_with("variables", {"z": {"from": "x", "lag": True}}), "variables.z.lag", "integer"),
    (_with("variables", {"z": {"from": "x", "lag": 1.9}}), "variables.z.lag", "integer"),
    (_with("variables", {"z": {"from": "x", "scale": True}}), "variables.z.scale", "number"),
    (_with("variables", {"z": {"from": ["x"]}}), "variables.z.from", "one column name"),
    (_with("inference.wild_bootstrap", {"seed": 1.9}), "inference.wild_bootstrap.seed", "integer"),
    (_with("inference.wild_bootstrap", {"draws": True}), "inference.wild_bootstrap.draws", "integer"),
    (_with("sample.exclude_suspension_years", "yes"), "sample.exclude_suspension_years", "true or false"),
    (_with("sample.years", [2000.0, 2010]), "sample.years", "integers"),
    (_with("model.0.treatments", "x"), "treatments", "list of names"),
    (_with("model.0.controls", "gdp"), "controls", "list of names"),
    # ISO3 codes must be African states of the crosswalk
    (_with("sample.countries", ["MLI", "NGR"]), "sample.countries", "not African state"),
    (_with("sample.countries", ["FRA"]), "sample.countries", "not African state"),
    # one cluster variable
    (_with("inference.cluster", ["iso3", "year"]), "inference.cluster", "multiway"),
    # requests that cannot fit in memory, with the estimate
    (_with("inference.wild_bootstrap", {"draws": 10 ** 11}), "inference.wild_bootstrap.draws", "GiB"),
    (_with("inference.randomization", {"permutations": 10 ** 11}), "inference.randomization.permutations", "GiB"),
    # ids that would escape the output folders
    (_with("table.id", "../../x"), "table.id", "letters, digits"),
    (_with("table.id", "sub/x"), "table.id", "letters, digits"),
    (_with("model.0.id", "a b"), "id", "letters, digits"),
    # designs and the registry
    (_with("model.0.design", "rdd"), "design", "unknown design"),
    (_with("model.0.estimator", "probit"), "estimator", "unknown estimator"),
    (_with("model.0.estimator", "twfe_event_study"), "estimator", "belongs to the 'event_study' design"),
    (_with("model.0.first_treat", "g"), "model #1 (m)", "unknown key"),
    (_with("inference.vcov", ["CRV3"]), "inference.vcov", "must include CRV1"),
    (_with("inference.skip", {"CRV9": "x"}), "inference.skip", "unknown key"),
    (_with("variables", {"a": {"from": "b"}, "b": {"from": "a"}}), "variables.a", "itself"),
])
def test_strict_types_name_file_and_field(doc, where, what):
    with pytest.raises(SpecificationError) as exc:
        parse_spec(doc, "bad.toml")
    msg = str(exc.value)
    assert msg.startswith("bad.toml: [") and where in msg and what in msg, msg


def test_unsupported_inference_is_an_error_or_a_stated_reason():
    doc = {**MIN, "inference": {"randomization": {"permutations": 999, "seed": 1}, "wild_bootstrap": False},
           "model": [{"id": "m", "outcome": "y", "treatments": ["x"], "estimator": "firth", "fixed_effects": []}]}
    with pytest.raises(SpecificationError, match=r"\[model #1 \(m\).inference\] estimator 'firth' does not support"):
        parse_spec(doc, "bad.toml")
    doc["inference"]["vcov"] = ["CRV1"]
    doc["inference"]["unsupported"] = {"randomization": "only for linear models"}
    m = parse_spec(doc, "ok.toml").models[0]
    assert m.methods == ("CRV1",) and m.not_computed == {"randomization": "only for linear models"}
    # an explicit skip switches a supported method off, with its reason
    ols = parse_spec({**MIN, "model": [{"id": "m", "outcome": "y", "treatments": ["x"],
                                        "inference": {"skip": {"CRV3": "not needed here"}}}]}, "ok.toml").models[0]
    assert "CRV3" not in ols.methods and ols.not_computed == {"CRV3": "not needed here"}


def test_inference_plan_per_model_merges_table_defaults():
    doc = {**MIN, "inference": {"wild_bootstrap": {"draws": 999, "seed": 5, "weights": ["webb"]},
                                "randomization": False},
           "model": [{"id": "a", "outcome": "y", "treatments": ["x"]},
                     {"id": "b", "outcome": "y", "treatments": ["x"], "inference": {"wild_bootstrap": {"seed": 6}}},
                     {"id": "c", "outcome": "y", "treatments": ["x"], "inference": {"wild_bootstrap": False}}]}
    a, b, c = parse_spec(doc, "p.toml").models
    assert (a.inference.wild_bootstrap.seed, b.inference.wild_bootstrap.seed) == (5, 6)
    assert b.inference.wild_bootstrap.draws == 999 and b.inference.wild_bootstrap.weights == ("webb",)
    assert c.inference.wild_bootstrap is None and "wild_bootstrap" not in c.methods


def test_committed_tables_use_shared_variables_only_once():
    shared = read_toml(ANALYSIS_DIR / "variables.toml")["variables"]
    for f in sorted((ANALYSIS_DIR / "specs").glob("table*.toml")):
        own = read_toml(f).get("variables", {})
        assert not set(own) & set(shared), f.name
        assert "derive" not in read_toml(f)
    spec = load_spec(TABLE2)
    assert spec.variables["train_pc_l1"].lag == 1 and spec.document["variables"]["train_pc_l1"]["lag"] == 1


def test_redefining_a_shared_variable_is_an_error(tmp_path):
    p = tmp_path / "t.toml"
    p.write_text('[table]\nid = "t"\ntitle = "T"\n[variables.train_pc_l1]\nfrom = "x"\n'
                 '[[model]]\nid = "m"\noutcome = "coup_any"\ntreatments = ["train_pc_l1"]\n')
    with pytest.raises(SpecificationError, match=r"t.toml: \[variables.train_pc_l1\] redefines the shared"):
        load_spec(p)


@pytest.mark.parametrize("item,check", [
    ("variables.train_pc_l1.lag=2", lambda s: s.variables["train_pc_l1"].lag == 2),
    ("model.lpm.controls=[]", lambda s: s.models[0].controls == () and s.models[1].controls != ()),
    ("model.lpm.inference.randomization=false", lambda s: "randomization" not in s.models[0].methods
     and "randomization" in s.models[1].methods),
    ("inference.wild_bootstrap.draws=999", lambda s: s.models[0].inference.wild_bootstrap.draws == 999
     and s.models[0].inference.wild_bootstrap.seed == 20240726),
    ("model.fixed_effects=[\"iso3\"]", lambda s: all(m.fixed_effects == ("iso3",) for m in s.models)),
    ("sample.years=[2005, 2015]", lambda s: s.models[0].sample.years == (2005, 2015)),
])
def test_set_reaches_every_field(item, check):
    spec = load_spec(TABLE2, [item])
    assert check(spec) and spec.overrides == (item,)


@pytest.mark.parametrize("item,what", [
    ("variables.train_pc_l1.lag=true", "[variables.train_pc_l1.lag] must be an integer"),
    ("variables.train_pc_l1.lag=1.5", "[variables.train_pc_l1.lag] must be an integer"),
    ("variables.train_pc_l1.log1p=\"false\"", "must be true or false"),
    ("model.lpm.controls=gdp", "must be a list of names"),
    ("model.nosuch.outcome=\"y\"", "no model with id 'nosuch'"),
    ("model.lpm=1", "name a field of model 'lpm'"),
    ("table.id.x=1", "table.id is str"),
    ("sample.countries=[\"XXX\"]", "not African state"),
    ("inference.cluster=[\"iso3\",\"year\"]", "multiway"),
    ("inference.wild_bootstrap.draws=100000000000", "GiB"),
    ("novalue", "use key=value"),
    ("colour=1", "unknown key(s) ['colour']"),
])
def test_set_values_get_the_same_checks(item, what):
    with pytest.raises(SpecificationError) as exc:
        load_spec(TABLE2, [item])
    assert what in str(exc.value) and str(exc.value).startswith("table2_coups.toml"), str(exc.value)


def test_resolved_document_reparses_to_the_same_spec():
    raw = with_shared_variables(read_toml(TABLE2), TABLE2.name)
    doc = apply_overrides(raw, ["variables.train_pc_l1.lag=2"], TABLE2.name)
    a = parse_spec(doc, TABLE2.name)
    b = parse_spec(copy.deepcopy(a.document), TABLE2.name)
    assert a.models == b.models and a.derive == b.derive


def test_rerun_title_and_notes_follow_the_overrides():
    from sahel_causal.report.notes import table_notes, title
    from sahel_causal.results import TableResult

    base = TableResult(spec=load_spec(TABLE2), models=(), data_sha256="x")
    assert title(base) == base.spec.title
    rerun = TableResult(spec=load_spec(TABLE2, ["variables.polyarchy_l1.lag=3", "model.lpm.controls=[]"]),
                        models=(), data_sha256="x")
    assert title(rerun).startswith("Rerun of Table 2") and "variables.polyarchy_l1.lag=3" in title(rerun)
    notes = table_notes(rerun)
    assert any(n.startswith("Rerun: ") and "model.lpm.controls=[]" in n for n in notes)
    controls = next(n for n in notes if n.startswith("Controls: "))
    assert "none [model lpm]" in controls and "polyarchy_l1" in controls
    inference = " ".join(notes)
    assert "seed 20240726" in inference and "9999 permutations, seed 20230726" in inference
    assert "Not computed: randomization for models clogit, firth, logit_cubic" in inference


def test_variables_are_derived_lazily_with_clear_errors():
    import pandas as pd

    from sahel_causal.specs.transform import derive_all, needed_variables

    spec = load_spec(TABLE2)
    names = [d.name for d in needed_variables(spec)]
    assert names.index("ct_training") < names.index("ct_share_l1")  # dependencies first
    assert "log_ucdp_total" not in names  # shared but unused by Table 2: not computed
    toy = pd.DataFrame({"iso3": ["MLI"], "year": [2000], "coup_attempts": [0]})
    with pytest.raises(SpecificationError, match=r"\[variables.train_pc_l1\] unknown variable\(s\) "
                                                 r"\['us_training_cost_usd', 'population'\]"):
        derive_all(toy, spec)
