"""Analytic-derivative conditional logit (used for CRV3 refits) against the statsmodels-based estimator."""
from __future__ import annotations

import numpy as np
import pytest

from sahel_causal.inference.clogit_fast import _group_terms, clogit_coefficients
from sahel_causal.models import conditional_logit
from sahel_causal.pipeline import load_panel
from sahel_causal.specs import parse_spec
from sahel_causal.specs.transform import derive_all, select_sample


def test_group_derivatives_match_brute_force_enumeration():
    """log L_i by enumerating all C(T, n) subsets; gradient and Hessian by finite differences."""
    import itertools
    rng = np.random.default_rng(0)
    X, y, b = rng.normal(size=(7, 3)), np.array([1, 0, 0, 1, 0, 1, 0.0]), rng.normal(size=3) * 0.5

    def brute(beta):
        den = sum(np.exp(X[list(c)].sum(axis=0) @ beta) for c in itertools.combinations(range(7), 3))
        return float(y @ X @ beta - np.log(den))

    ll, g, H = _group_terms(X, y, b)
    assert ll == pytest.approx(brute(b), rel=1e-12)
    eps = 1e-6
    g_fd = np.array([(brute(b + eps * e) - brute(b - eps * e)) / (2 * eps) for e in np.eye(3)])
    np.testing.assert_allclose(g, g_fd, rtol=1e-6, atol=1e-8)
    H_fd = np.array([(_group_terms(X, y, b + eps * e)[1] - _group_terms(X, y, b - eps * e)[1]) / (2 * eps)
                     for e in np.eye(3)])
    np.testing.assert_allclose(H, H_fd, rtol=1e-5, atol=1e-7)


def test_table2_clogit_and_a_leave_one_out_refit_match_statsmodels():
    doc = {"table": {"id": "t", "title": "T"}, "sample": {"years": [2000, 2021]},
           "defaults": {"controls": ["log_gdp_pc_l1", "polyarchy_l1"]},
           "variables": {"coup_any": {"any": "coup_attempts"},
                      "train_pc_l1": {"ratio": ["us_training_cost_usd", "population"], "lag": 1},
                      "log_gdp_pc_l1": {"from": "gdp_pc", "log1p": True, "lag": 1},
                      "polyarchy_l1": {"from": "polyarchy", "lag": 1}},
           "model": [{"id": "c", "outcome": "coup_any", "treatments": ["train_pc_l1"],
                      "estimator": "conditional_logit"}],
           "inference": {"wild_bootstrap": False, "randomization": False}}
    spec = parse_spec(doc, "t.toml")
    data = select_sample(derive_all(load_panel(), spec), spec.models[0], spec, "iso3").data
    regs = ["train_pc_l1", "log_gdp_pc_l1", "polyarchy_l1"]
    for d in (data, data[data.iso3 != "MRT"]):
        ref = conditional_logit(d, "coup_any", regs, group="iso3", time="year", cluster="iso3")
        got = clogit_coefficients(d, "coup_any", regs, group="iso3", time="year")
        for r in regs:
            assert got[r] == pytest.approx(ref.coef[r], rel=1e-6, abs=1e-9)


def test_tables_clogit_crv3_equals_statsmodels_refits():
    """The tables' CRV3 for the conditional logit (fast refits) equals the jackknife of statsmodels refits."""
    from sahel_causal.estimation import _attach_crv3_refit, estimate

    eight = ["BFA", "MLI", "MRT", "NER", "TCD", "GNB", "CIV", "GIN"]
    doc = {"table": {"id": "t", "title": "T"}, "sample": {"years": [2000, 2021], "countries": eight},
           "defaults": {"controls": ["log_gdp_pc_l1"]},
           "variables": {"coup_any": {"any": "coup_attempts"},
                      "train_pc_l1": {"ratio": ["us_training_cost_usd", "population"], "lag": 1},
                      "log_gdp_pc_l1": {"from": "gdp_pc", "log1p": True, "lag": 1}},
           "model": [{"id": "c", "outcome": "coup_any", "treatments": ["train_pc_l1"],
                      "estimator": "conditional_logit"}],
           "inference": {"wild_bootstrap": False, "randomization": False}}
    spec = parse_spec(doc, "t.toml")
    panel = load_panel()
    rec = estimate(spec, panel, inference=False).models[0].result.inference["crv3"]["train_pc_l1"]
    data = select_sample(derive_all(panel, spec), spec.models[0], spec, "iso3").data
    regs = ["train_pc_l1", "log_gdp_pc_l1"]

    def slow(d):
        return conditional_logit(d, "coup_any", regs, group="iso3", time="year", cluster="iso3")

    ref = _attach_crv3_refit(slow(data), data, spec.models[0], "iso3", slow, 0.05).inference["crv3"]["train_pc_l1"]
    assert rec.detail["se"] == pytest.approx(ref.detail["se"], rel=1e-6)
    assert rec.p_value == pytest.approx(ref.p_value, rel=1e-6)
