"""Regression tests for the inference bugs of issue 9 (each failed before its fix).

Uses the committed panel; reduced draws; exactness is checked where both sides enumerate.
"""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from sahel_causal.errors import SpecificationError
from sahel_causal.estimation import estimate
from sahel_causal.models import fe_ols
from sahel_causal.pipeline import load_panel
from sahel_causal.specs import parse_spec
from sahel_causal.specs.transform import derive_all, select_sample

FIVE = ["BFA", "MLI", "NER", "SEN", "GHA"]


def _spec(models, countries=None, years=(2000, 2020), perms=199, draws=199):
    doc = {
        "table": {"id": "t", "title": "T"},
        "sample": {"years": list(years), **({"countries": countries} if countries else {})},
        "defaults": {"controls": ["log_gdp_pc_l1", "polyarchy_l1"]},
        "variables": {
            "coup_any": {"any": "coup_attempts"},
            "train_pc_l1": {"ratio": ["us_training_cost_usd", "population"], "lag": 1},
            "log_gdp_pc_l1": {"from": "gdp_pc", "log1p": True, "lag": 1},
            "polyarchy_l1": {"from": "polyarchy", "lag": 1},
            "log_ucdp": {"sum": ["ucdp_state_based_best", "ucdp_nonstate_best", "ucdp_onesided_best"],
             "log1p": True},
        },
        "model": models,
        "inference": {"wild_bootstrap": {"draws": draws, "weights": ["rademacher"], "seed": 7},
                      "randomization": {"permutations": perms, "seed": 11}},
    }
    return parse_spec(doc, "test.toml")


@pytest.fixture(scope="module")
def panel():
    return load_panel()


def test_ri_with_controls_matches_brute_force_refits(panel):
    """With controls and two-way FE (the tables' configuration) the permutation statistic is the CRV1 t
    of fe_ols: all 5! reassignments refitted by fe_ols give the same exact p-value. Before the fix the
    controls entered Z before the dummies, one country dummy was lost and no intercept remained."""
    spec = _spec([{"id": "m", "outcome": "log_ucdp", "treatments": ["train_pc_l1"]}], countries=FIVE)
    tr = estimate(spec, panel)
    res = tr.models[0].result
    rec = res.inference["ri"]["train_pc_l1"]
    data = select_sample(derive_all(panel, spec), spec.models[0], spec, "iso3").data
    regs = ["train_pc_l1", "log_gdp_pc_l1", "polyarchy_l1"]
    paths = {c: data.loc[data.iso3 == c].set_index("year")["train_pc_l1"] for c in FIVE}
    assert data.groupby("iso3").size().nunique() == 1  # balanced: all 120 permutations admissible

    def tstat(assign):
        d = data.copy()
        for c, src in zip(FIVE, assign):
            d.loc[d.iso3 == c, "train_pc_l1"] = paths[src].reindex(d.loc[d.iso3 == c, "year"]).to_numpy()
        r = fe_ols(d, "log_ucdp", regs, fe=("iso3", "year"), cluster="iso3")
        return r.coef["train_pc_l1"] / r.std_errors["train_pc_l1"]

    t_obs = tstat(FIVE)
    ts = np.array([tstat(p) for p in itertools.permutations(FIVE)])
    p_brute = float(np.mean(np.abs(ts) >= abs(t_obs) - 1e-10))
    assert rec.detail["exact"] is True
    assert rec.p_value == pytest.approx(p_brute, abs=1e-12)
    assert rec.detail["observed_statistic"] == pytest.approx(t_obs, rel=1e-8)


def test_ri_observed_statistic_is_the_reported_crv1_t_in_the_africa_lpm(panel):
    spec = _spec([{"id": "m", "outcome": "coup_any", "treatments": ["train_pc_l1"]}], perms=99, draws=99)
    res = estimate(spec, panel).models[0].result
    t = res.coef["train_pc_l1"] / res.std_errors["train_pc_l1"]
    assert res.inference["ri"]["train_pc_l1"].detail["observed_statistic"] == pytest.approx(t, rel=1e-8)


def test_every_inference_record_stores_its_observed_statistic(panel):
    spec = _spec([{"id": "m", "outcome": "coup_any", "treatments": ["train_pc_l1"]},
                  {"id": "c", "outcome": "coup_any", "treatments": ["train_pc_l1"], "estimator": "conditional_logit",
                   "inference": {"wild_bootstrap": False, "randomization": False}},
                  {"id": "f", "outcome": "coup_any", "treatments": ["train_pc_l1"], "estimator": "firth",
                   "inference": {"vcov": ["CRV1"], "wild_bootstrap": False, "randomization": False}}],
                 perms=99, draws=99)
    tr = estimate(spec, panel)
    for mo in tr.models:
        for name, per in mo.result.inference.items():
            for term, rec in per.items():
                assert np.isfinite(rec.detail["observed_statistic"]), (mo.model.id, name, term)


def test_events_lost_respects_the_model_country_sample(panel):
    spec = _spec([{"id": "g5", "outcome": "coup_any", "treatments": ["train_pc_l1"],
                   "sample": {"countries": "sahel_g5"}}])
    mo = estimate(spec, panel, inference=False).models[0]
    g5 = {"BFA", "TCD", "MLI", "MRT", "NER"}
    assert all(e.split()[0] in g5 for e in mo.events_lost), mo.events_lost


def test_used_index_drops_groups_the_estimator_dropped(panel):
    """Group drop records carry ids like 'iso3=AGO' or 'year=2005' (column=level); rows of those levels
    are not used. Before the fix the ids were compared with raw country codes and never matched."""
    from dataclasses import replace

    from sahel_causal.estimation import _used_index
    from sahel_causal.results import DropRecord

    spec = _spec([{"id": "m", "outcome": "coup_any", "treatments": ["train_pc_l1"]}])
    data = select_sample(derive_all(panel, spec), spec.models[0], spec, "iso3").data
    res = fe_ols(data, "coup_any", ["train_pc_l1"], fe=("iso3", "year"), cluster="iso3")
    res = replace(res, dropped=(DropRecord("no variation", "group", 2, ("iso3=AGO", "year=2005")),))
    used = data.loc[_used_index(res, data)]
    assert "AGO" not in set(used["iso3"]) and 2005 not in set(used["year"])
    assert len(used) == int(((data["iso3"] != "AGO") & (data["year"] != 2005)).sum())
    # and the conditional logit's sample: only countries with variation in the outcome
    spec = _spec([{"id": "c", "outcome": "coup_any", "treatments": ["train_pc_l1"],
                   "estimator": "conditional_logit",
                   "inference": {"wild_bootstrap": False, "randomization": False}}])
    mo = estimate(spec, panel, inference=False).models[0]
    per = data.groupby("iso3")["coup_any"].agg(["sum", "size"])
    assert mo.n_countries == int(((per["sum"] > 0) & (per["sum"] < per["size"])).sum())


def test_treatment_collinear_with_fixed_effects_is_a_named_error(panel):
    spec = _spec([{"id": "m", "outcome": "coup_any", "treatments": ["sahel_g5"]}])
    with pytest.raises(SpecificationError, match=r"sahel_g5.*collinear"):
        estimate(spec, panel, inference=False)


def test_batched_ri_equals_one_permutation_at_a_time(panel, monkeypatch):
    """The tables' RI computes the permutation statistics in blocks as matrix products; the p-value and
    the whole null distribution equal the one-at-a-time computation (same permutations)."""
    import sahel_causal.estimation as E
    from sahel_causal.inference import randomization as R

    spec = _spec([{"id": "m", "outcome": "coup_any", "treatments": ["train_pc_l1"]}], perms=499, draws=99)
    batched = estimate(spec, panel).models[0].result.inference["ri"]["train_pc_l1"]
    seen = {}

    def one_at_a_time(stat_fn, paths, **kw):
        kw.pop("batch_stat_fn")
        out = R.randomization_inference(stat_fn, paths, **kw)
        seen["null"] = out.null_distribution
        return out

    monkeypatch.setattr(E, "randomization_inference", one_at_a_time)
    single = estimate(spec, panel).models[0].result.inference["ri"]["train_pc_l1"]
    assert batched.p_value == single.p_value
    assert batched.detail["observed_statistic"] == pytest.approx(single.detail["observed_statistic"], rel=1e-12)


def test_closed_form_crv3_equals_leave_one_country_out_refits(panel):
    """The tables' CRV3 for linear models (closed form on the partialled design) equals the jackknife
    of actual fe_ols refits without each country (two-way FE, controls, unbalanced)."""
    from sahel_causal.estimation import _attach_crv3_refit

    ten = ["BFA", "TCD", "MLI", "MRT", "NER", "SEN", "NGA", "CMR", "GHA", "KEN"]
    spec = _spec([{"id": "m", "outcome": "log_ucdp", "treatments": ["train_pc_l1"]}], countries=ten)
    tr = estimate(spec, panel, inference=False)
    rec = tr.models[0].result.inference["crv3"]["train_pc_l1"]
    data = select_sample(derive_all(panel, spec), spec.models[0], spec, "iso3").data
    regs = ["train_pc_l1", "log_gdp_pc_l1", "polyarchy_l1"]

    def fit(d):
        return fe_ols(d, "log_ucdp", regs, fe=("iso3", "year"), cluster="iso3")

    ref = _attach_crv3_refit(fit(data), data, spec.models[0], "iso3", fit, 0.05)
    assert rec.detail["se"] == pytest.approx(ref.inference["crv3"]["train_pc_l1"].detail["se"], rel=1e-8)


def test_ri_is_not_computed_when_a_lead_of_the_same_path_is_held_fixed(panel):
    """A lead test holds the lead of the same training path fixed while permuting the lag: not a
    permutation of one path. Before the fix RI was computed (the check compared the first treatment's
    name with the lead's raw columns and never matched); now it is recorded as not computed, with why."""
    doc_models = [{"id": "lead", "outcome": "coup_any", "treatments": ["train_pc_l1", "train_pc_f1"]}]
    spec = _spec(doc_models, perms=99, draws=99)
    spec = parse_spec({**spec.document, "variables": {**spec.document["variables"],
                                                       "train_pc_f1": {"ratio": ["us_training_cost_usd",
                                                                                 "population"], "lead": 1}}},
                      "test.toml")
    tr = estimate(spec, panel)
    rec = tr.models[0].result.inference["ri"]["train_pc_l1"]
    assert np.isnan(rec.p_value) and "same treatment path" in rec.detail["reason"]
