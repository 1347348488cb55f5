"""The estimate() runner against direct model calls and independent implementations.

Uses the committed panel (no raw data needed). Reduced draws keep the file fast; exactness is
checked where both sides enumerate (few clusters), so nothing depends on Monte Carlo luck.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from sahel_causal.estimation import _attach_crv3_refit, estimate
from sahel_causal.models import fe_ols
from sahel_causal.pipeline import load_panel
from sahel_causal.specs import parse_spec
from sahel_causal.specs.transform import derive_all, select_sample

FEW = ["BFA", "TCD", "MLI", "MRT", "NER", "SEN", "NGA", "CMR", "GHA", "KEN"]  # G = 10 -> 1,024 sign vectors


def _spec(countries=None, models=None, draws=1999, perms=999):
    doc = {
        "table": {"id": "test_table", "title": "Test"},
        "sample": {"years": [2000, 2020], **({"countries": countries} if countries else {})},
        "defaults": {"controls": ["log_gdp_pc_l1"]},
        "variables": {
            "coup_any": {"any": "coup_attempts"},
            "train_pc_l1": {"ratio": ["us_training_cost_usd", "population"], "lag": 1},
            "log_gdp_pc_l1": {"from": "gdp_pc", "log1p": True, "lag": 1},
            "log_ucdp": {"sum": ["ucdp_state_based_best", "ucdp_nonstate_best", "ucdp_onesided_best"], "log1p": True},
            "train_x_g5": {"interact": ["train_pc_l1", "sahel_g5"]},
        },
        "model": models or [{"id": "lpm", "outcome": "coup_any", "treatments": ["train_pc_l1"]}],
        "inference": {"wild_bootstrap": {"draws": draws, "weights": ["rademacher", "webb"], "seed": 7},
                      "randomization": {"permutations": perms, "seed": 11}},
    }
    return parse_spec(doc, "test.toml")


@pytest.fixture(scope="module")
def panel():
    return load_panel()


def test_point_estimates_and_crv1_equal_direct_fe_ols(panel):
    spec = _spec(models=[{"id": "m", "outcome": "log_ucdp", "treatments": ["train_pc_l1"]}])
    tr = estimate(spec, panel, inference=False)
    df = derive_all(panel, spec)
    data = select_sample(df, spec.models[0], spec, "iso3").data
    direct = fe_ols(data, "log_ucdp", ["train_pc_l1", "log_gdp_pc_l1"], fe=("iso3", "year"), cluster="iso3")
    got = tr.models[0].result
    assert got.coef["train_pc_l1"] == pytest.approx(direct.coef["train_pc_l1"], rel=1e-12)
    assert got.std_errors["train_pc_l1"] == pytest.approx(direct.std_errors["train_pc_l1"], rel=1e-12)
    # and the same numbers as statsmodels OLS with country and year dummies, clustered by country
    X = pd.get_dummies(data[["iso3"]].astype(str).join(data["year"].astype(str)), drop_first=True).astype(float)
    X.insert(0, "train_pc_l1", data["train_pc_l1"])
    X.insert(1, "log_gdp_pc_l1", data["log_gdp_pc_l1"])
    X = sm.add_constant(X)
    sm_fit = sm.OLS(data["log_ucdp"], X).fit()
    assert got.coef["train_pc_l1"] == pytest.approx(sm_fit.params["train_pc_l1"], rel=1e-8)


def test_panel_is_not_mutated(panel):
    before = panel.copy()
    estimate(_spec(), panel, inference=False)
    pd.testing.assert_frame_equal(panel, before)


def test_wild_bootstrap_matches_wildboottest_with_full_dummies(panel):
    """With G = 10 both implementations enumerate all 2^10 Rademacher sign vectors: exact equality.

    Independent check of the runner's design choice (country effects partialled out, year effects as
    explicit dummies) against wildboottest on the plain dummy regression.
    """
    wbt = pytest.importorskip("wildboottest.wildboottest")
    spec = _spec(countries=FEW, draws=9999, perms=99)
    tr = estimate(spec, panel)
    res = tr.models[0].result
    rec = res.inference["wild_rademacher"]["train_pc_l1"]
    assert rec.detail["enumerated"] is True and rec.detail["draws"] == 1024
    data = select_sample(derive_all(panel, spec), spec.models[0], spec, "iso3").data
    X = pd.get_dummies(data[["iso3"]].astype(str).join(data["year"].astype(str)), drop_first=True).astype(float)
    X.insert(0, "train_pc_l1", data["train_pc_l1"].to_numpy())
    X.insert(1, "log_gdp_pc_l1", data["log_gdp_pc_l1"].to_numpy())
    X = sm.add_constant(X)
    model = sm.OLS(data["coup_any"].to_numpy(float), X)
    codes = pd.factorize(data["iso3"], sort=True)[0]
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # wildboottest's "setting full_enumeration to True" notice
        out = wbt.wildboottest(model, param="train_pc_l1", cluster=codes, B=9999, seed=1, show=False)
    p_ref = float(out["p-value"].iloc[0])
    # The two sign vectors with equal weights in every cluster (all +1, all -1) reproduce |t| exactly;
    # we count only strictly more extreme draws (boottest's rule), while wildboottest's count of these two
    # ties depends on floating-point noise. So the p-values agree exactly or differ by exactly 2/2^G.
    diff = abs(rec.p_value - p_ref) * 1024
    assert min(abs(diff - 0), abs(diff - 2)) < 1e-6


def test_randomization_inference_exact_against_brute_force(panel):
    """Five countries, all 5! = 120 reassignments of whole treatment paths, refit by fe_ols each time."""
    five = ["BFA", "MLI", "NER", "SEN", "GHA"]
    spec = _spec(countries=five, models=[{"id": "m", "outcome": "log_ucdp", "treatments": ["train_pc_l1"],
                                          "controls": []}], draws=999, perms=999)
    tr = estimate(spec, panel)
    rec = tr.models[0].result.inference["ri"]["train_pc_l1"]
    data = select_sample(derive_all(panel, spec), spec.models[0], spec, "iso3").data
    # balanced within the sample?
    years = sorted(data["year"].unique())
    assert data.groupby("iso3").size().eq(len(years)).all()
    paths = {c: data.loc[data.iso3 == c].set_index("year")["train_pc_l1"] for c in five}

    def tstat(assign):
        d = data.copy()
        for c, src in zip(five, assign):
            d.loc[d.iso3 == c, "train_pc_l1"] = paths[src].reindex(d.loc[d.iso3 == c, "year"]).to_numpy()
        r = fe_ols(d, "log_ucdp", ["train_pc_l1"], fe=("iso3", "year"), cluster="iso3")
        return r.coef["train_pc_l1"] / r.std_errors["train_pc_l1"]

    t_obs = tstat(five)
    ts = [tstat(p) for p in itertools.permutations(five)]
    p_brute = np.mean([abs(t) >= abs(t_obs) - 1e-12 for t in ts])
    assert rec.detail["exact"] is True
    assert rec.p_value == pytest.approx(p_brute, abs=1e-12)


def test_interaction_follows_permuted_treatment_and_lead_gets_no_ri(panel):
    spec = _spec(models=[
        {"id": "inter", "outcome": "coup_any", "treatments": ["train_pc_l1", "train_x_g5"]},
    ], draws=999, perms=199)
    tr = estimate(spec, panel)
    ri = tr.models[0].result.inference["ri"]
    assert set(ri) == {"train_pc_l1"} and ri["train_pc_l1"].detail["permuted_with"] == ["train_x_g5"]
    assert 0 < ri["train_pc_l1"].p_value <= 1


def test_crv3_refit_equals_fe_ols_crv3(panel):
    """The generic leave-one-cluster-out jackknife used for nonlinear models, applied to OLS, equals
    fe_ols's CRV3 (itself checked against pyfixest) up to the reference distribution."""
    spec = _spec(countries=FEW, models=[{"id": "m", "outcome": "log_ucdp", "treatments": ["train_pc_l1"]}])
    data = select_sample(derive_all(panel, spec), spec.models[0], spec, "iso3").data
    regs = ["train_pc_l1", "log_gdp_pc_l1"]

    def fit(d):
        return fe_ols(d, "log_ucdp", regs, fe=("iso3", "year"), cluster="iso3")

    res = _attach_crv3_refit(fit(data), data, spec.models[0], "iso3", fit, 0.05)
    direct = fe_ols(data, "log_ucdp", regs, fe=("iso3", "year"), cluster="iso3", vcov="CRV3")
    assert res.inference["crv3"]["train_pc_l1"].detail["se"] == pytest.approx(
        direct.std_errors["train_pc_l1"], rel=1e-8)


def test_same_seed_same_table(panel):
    a = estimate(_spec(draws=499, perms=199), panel).tidy()
    b = estimate(_spec(draws=499, perms=199), panel).tidy()
    pd.testing.assert_frame_equal(a, b)
    assert {"crv3", "wild_rademacher", "wild_webb", "ri"} <= set(a["method"])
    w = estimate(_spec(draws=499, perms=199), panel).table_frame()
    assert {"p_crv3", "p_wild_rademacher", "p_wild_webb", "p_ri", "effect_1sd"} <= set(w.columns)


def test_tidy_reports_sample_and_lost_events(panel):
    tr = estimate(_spec(), panel, inference=False)
    mo = tr.models[0]
    assert mo.n_countries == 54 and mo.n_events and mo.n_events > 20
    assert any("missing train_pc_l1" in r for r, _ in mo.sample_drops)
    assert not math.isnan(tr.table_frame()["within_sd"].iloc[0])


def test_package_level_estimate_is_the_function():
    import sahel_causal
    from sahel_causal.estimation import estimate as fn

    assert sahel_causal.estimate is fn
