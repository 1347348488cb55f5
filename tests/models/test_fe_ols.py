"""Tests of sahel_causal.models.fe_ols against independent implementations and published values.

References
- linearmodels PanelOLS (entity + time effects, clustered by entity).
- statsmodels OLS/WLS with explicit dummies (coefficients, CRV1/HC1/iid covariances).
- NIST StRD certified values for Longley and Norris (https://www.itl.nist.gov/div898/strd/).
- Petersen (2009) test data, with the clustered result printed in the R sandwich README
  (Zeileis, Koell & Graham 2020): lm(y ~ x), vcovCL(cluster = ~firm): x = 1.0348 (0.0506),
  (Intercept) = 0.0297 (0.0670).
- Leave-one-cluster-out refits for CRV3 (MacKinnon, Nielsen & Webb 2023).
Simulated data below are labelled SIMULATED.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from sahel_causal.errors import SchemaError, SpecificationError
from sahel_causal.models.fe_ols import fe_ols, partialled_design, singleton_mask


# ----------------------------------------------------------------------------- data
@pytest.fixture(scope="module")
def petersen(validation_dir):
    return pd.read_csv(validation_dir / "petersen" / "PetersenCL.csv")


@pytest.fixture(scope="module")
def petersen_unbalanced(petersen):
    """Petersen data, 80% of rows of the first 150 firms: an unbalanced panel."""
    d = petersen[petersen.firm <= 150].sample(frac=0.8, random_state=11)
    return d.sort_values(["firm", "year"]).reset_index(drop=True)


def simulated_panel(seed=3, G=12, T=8, drop=(3, 17, 40)):
    """SIMULATED panel: y = 1 + 0.5 x - 0.2 z + unit effect + noise, a few rows removed."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"g": np.repeat(np.arange(G), T), "t": np.tile(np.arange(T), G)})
    u = rng.normal(size=G)
    df["x"] = rng.normal(size=len(df)) + u[df.g]
    df["z"] = rng.normal(size=len(df))
    df["y"] = 1 + 0.5 * df.x - 0.2 * df.z + rng.normal(size=G)[df.g] + rng.normal(size=len(df))
    df["w"] = rng.uniform(0.5, 2.0, len(df))
    return df.drop(index=list(drop)).reset_index(drop=True)


def dummies_design(d, regressors, fe):
    X = pd.get_dummies(d[list(fe)].astype(str), drop_first=True).astype(float)
    for r in reversed(regressors):
        X.insert(0, r, d[r].astype(float))
    return sm.add_constant(X, has_constant="add")


# ----------------------------------------------------------------------------- linearmodels
def _panel_ols(d, **fit_kw):
    from linearmodels import PanelOLS

    p = d.set_index(["firm", "year"])
    return PanelOLS(p.y, p[["x"]], entity_effects=True, time_effects=True).fit(
        cov_type="clustered", cluster_entity=True, **fit_kw)


@pytest.mark.parametrize("which", ["balanced", "unbalanced"])
def test_vs_linearmodels_paneols(which, petersen, petersen_unbalanced):
    """CRV1 SEs: fe_dof='none' == PanelOLS(debiased, group_debias, count_effects=False);
    fe_dof='full' == PanelOLS default (both effects counted). Tolerance: coef 1e-10, SE 1e-6."""
    d = petersen if which == "balanced" else petersen_unbalanced
    lm_none = _panel_ols(d, debiased=True, group_debias=True, auto_df=False, count_effects=False)
    lm_full = _panel_ols(d, debiased=True, group_debias=True)
    r_none = fe_ols(d, "y", ["x"], fe=("firm", "year"), cluster="firm", fe_dof="none")
    r_full = fe_ols(d, "y", ["x"], fe=("firm", "year"), cluster="firm", fe_dof="full")
    np.testing.assert_allclose(r_none.coef["x"], lm_none.params["x"], rtol=1e-10)
    np.testing.assert_allclose(r_none.std_errors["x"], lm_none.std_errors["x"], rtol=1e-6)
    np.testing.assert_allclose(r_full.std_errors["x"], lm_full.std_errors["x"], rtol=1e-6)
    assert r_none.nobs == len(d) and r_none.n_clusters == d.firm.nunique()


def test_nested_small_sample_factor(petersen):
    """'nested': firm effects nested in firm clusters count as one parameter, so
    K = 1 (x) + (10 - 1) (years) + 1 (firm) = 11 and V_nested / V_none = (N-1)/(N-11)."""
    N = len(petersen)
    r_nested = fe_ols(petersen, "y", ["x"], fe=("firm", "year"), cluster="firm")
    r_none = fe_ols(petersen, "y", ["x"], fe=("firm", "year"), cluster="firm", fe_dof="none")
    ratio = r_nested.vcov.loc["x", "x"] / r_none.vcov.loc["x", "x"]
    np.testing.assert_allclose(ratio, (N - 1) / (N - 11), rtol=1e-12)
    np.testing.assert_allclose(r_nested.metadata["small_sample_factor"], 500 / 499 * (N - 1) / (N - 11), rtol=1e-12)
    assert r_nested.dist == "t" and r_nested.df_resid == 499


# ----------------------------------------------------------------------------- statsmodels
def test_vs_statsmodels_dummies(petersen_unbalanced):
    """Coefficients 1e-8 (abs); CRV1/HC1/iid with fe_dof='full' vs statsmodels, SE rtol 1e-6."""
    d = petersen_unbalanced
    X = dummies_design(d, ["x"], ["firm", "year"])
    cl = sm.OLS(d.y, X).fit(cov_type="cluster", cov_kwds={"groups": d.firm.to_numpy()})
    hc1 = sm.OLS(d.y, X).fit(cov_type="HC1")
    iid = sm.OLS(d.y, X).fit()
    r = fe_ols(d, "y", ["x"], fe=("firm", "year"), cluster="firm", fe_dof="full")
    np.testing.assert_allclose(r.coef["x"], cl.params["x"], atol=1e-8, rtol=0)
    np.testing.assert_allclose(r.std_errors["x"], cl.bse["x"], rtol=1e-6)
    r_h = fe_ols(d, "y", ["x"], fe=("firm", "year"), vcov="hetero")
    np.testing.assert_allclose(r_h.std_errors["x"], hc1.bse["x"], rtol=1e-6)
    r_i = fe_ols(d, "y", ["x"], fe=("firm", "year"), vcov="iid")
    np.testing.assert_allclose(r_i.std_errors["x"], iid.bse["x"], rtol=1e-6)
    assert r_i.df_resid == iid.df_resid


def test_weights_vs_statsmodels_wls():
    """SIMULATED data; weighted FE-OLS == WLS with dummies (coef 1e-8, CRV1 'full' SE 1e-6)."""
    d = simulated_panel()
    X = dummies_design(d, ["x", "z"], ["g", "t"])
    m = sm.WLS(d.y, X, weights=d.w).fit(cov_type="cluster", cov_kwds={"groups": d.g.to_numpy()})
    r = fe_ols(d, "y", ["x", "z"], fe=("g", "t"), cluster="g", weights="w", fe_dof="full")
    np.testing.assert_allclose(r.coef.to_numpy(), m.params[["x", "z"]].to_numpy(), atol=1e-8, rtol=0)
    np.testing.assert_allclose(r.std_errors.to_numpy(), m.bse[["x", "z"]].to_numpy(), rtol=1e-6)


def test_linear_probability_model_is_fe_ols_on_binary_outcome():
    """SIMULATED 0/1 outcome; same numbers as statsmodels OLS with dummies (coef 1e-8)."""
    d = simulated_panel(seed=5)
    d["event"] = (d.y > d.y.quantile(0.8)).astype(int)
    r = fe_ols(d, "event", ["x", "z"], fe=("g", "t"), cluster="g")
    m = sm.OLS(d.event, dummies_design(d, ["x", "z"], ["g", "t"])).fit()
    np.testing.assert_allclose(r.coef.to_numpy(), m.params[["x", "z"]].to_numpy(), atol=1e-8, rtol=0)
    assert r.outcome_mean == pytest.approx(d.event.mean(), abs=1e-15)


def test_crv3_vs_leave_one_cluster_out_refits():
    """CRV3 == (G-1)/G sum_g (b_-g - b)(b_-g - b)' from statsmodels refits (rtol 1e-8)."""
    d = simulated_panel()
    G = d.g.nunique()
    b = sm.OLS(d.y, dummies_design(d, ["x", "z"], ["g", "t"])).fit().params[["x", "z"]].to_numpy()
    diffs = []
    for g in sorted(d.g.unique()):
        s = d[d.g != g]
        diffs.append(sm.OLS(s.y, dummies_design(s, ["x", "z"], ["g", "t"])).fit().params[["x", "z"]].to_numpy() - b)
    diffs = np.array(diffs)
    V = (G - 1) / G * diffs.T @ diffs
    r = fe_ols(d, "y", ["x", "z"], fe=("g", "t"), cluster="g", vcov="CRV3")
    np.testing.assert_allclose(r.vcov.to_numpy(), V, rtol=1e-8)
    assert r.vcov_label == "CRV3 (g)"


# ----------------------------------------------------------------------------- NIST
LONGLEY_CERTIFIED = {  # NIST StRD, Longley (1967), certified values (coefficient, standard deviation)
    "Intercept": (-3482258.63459582, 890420.383607373),
    "GNPDEFL": (15.0618722713733, 84.9149257747669),
    "GNP": (-0.358191792925910e-01, 0.334910077722432e-01),
    "UNEMP": (-2.02022980381683, 0.488399681651699),
    "ARMED": (-1.03322686717359, 0.214274163161675),
    "POP": (-0.511041056535807e-01, 0.226073200069370),
    "YEAR": (1829.15146461355, 455.478499142212),
}
NORRIS_CERTIFIED = {"Intercept": (-0.262323073774029, 0.232818234301152),
                    "x": (1.00211681802045, 0.429796848199937e-03)}


@pytest.mark.filterwarnings("ignore:An ill-conditioned matrix")  # pyfixest's normal equations; we re-solve by SVD
def test_nist_longley(validation_dir):
    """Plain OLS (no FE), iid SEs vs NIST certified values: coef rtol 1e-7 (we reach ~1e-11), SE rtol 1e-7."""
    d = pd.read_csv(validation_dir / "nist_strd" / "longley_statsmodels.csv")
    regs = ["GNPDEFL", "GNP", "UNEMP", "ARMED", "POP", "YEAR"]
    r = fe_ols(d, "TOTEMP", regs, fe=(), cluster=None, vcov="iid")
    for term, (b, se) in LONGLEY_CERTIFIED.items():
        assert r.coef[term] == pytest.approx(b, rel=1e-7), term
        assert r.std_errors[term] == pytest.approx(se, rel=1e-7), term


def test_nist_norris(validation_dir):
    d = pd.read_csv(validation_dir / "nist_strd" / "norris.csv")
    r = fe_ols(d, "y", ["x"], fe=(), cluster=None, vcov="iid")
    for term, (b, se) in NORRIS_CERTIFIED.items():
        assert r.coef[term] == pytest.approx(b, rel=1e-9), term
        assert r.std_errors[term] == pytest.approx(se, rel=1e-9), term


def test_petersen_published_clustered_ols(petersen):
    """No FE, CRV1 by firm vs the R sandwich README (4 decimals: abs tol 5e-5)."""
    r = fe_ols(petersen, "y", ["x"], fe=(), cluster="firm")
    assert r.coef["x"] == pytest.approx(1.0348, abs=5e-5)
    assert r.std_errors["x"] == pytest.approx(0.0506, abs=5e-5)
    assert r.coef["Intercept"] == pytest.approx(0.0297, abs=5e-5)
    assert r.std_errors["Intercept"] == pytest.approx(0.0670, abs=5e-5)


# ----------------------------------------------------------------------------- FWL
@pytest.mark.parametrize("weights", [None, "w"])
def test_partialled_design_reproduces_fe_coefficients(weights):
    """FWL: OLS of y_tilde on X_tilde == fe_ols slopes (abs 1e-10); SIMULATED data with a singleton."""
    d = simulated_panel(seed=7, G=15, T=6, drop=(1, 2, 3, 4, 5, 20))  # unit 0 keeps one row: singleton
    r = fe_ols(d, "y", ["x", "z"], fe=("g", "t"), cluster="g", weights=weights)
    y_t, X_t, cl, kept = partialled_design(d, "y", ["x", "z"], fe=("g", "t"), cluster="g", weights=weights)
    b = np.linalg.lstsq(X_t, y_t, rcond=None)[0]
    np.testing.assert_allclose(b, r.coef.to_numpy(), atol=1e-10, rtol=0)
    assert len(kept) == r.nobs == len(y_t) and 0 not in set(d.loc[kept, "g"])
    assert cl.max() + 1 == r.n_clusters and cl.min() == 0


def test_partialled_design_petersen(petersen_unbalanced):
    d = petersen_unbalanced
    r = fe_ols(d, "y", ["x"], fe=("firm", "year"), cluster="firm")
    y_t, X_t, _, _ = partialled_design(d, "y", ["x"], fe=("firm", "year"), cluster="firm")
    assert np.linalg.lstsq(X_t, y_t, rcond=None)[0][0] == pytest.approx(r.coef["x"], abs=1e-10)


def test_partialled_design_rejects_collinear_regressor():
    d = simulated_panel()
    d["unit_const"] = d.g * 2.0
    with pytest.raises(SpecificationError, match="collinear"):
        partialled_design(d, "y", ["x", "unit_const"], fe=("g", "t"), cluster="g")


# ----------------------------------------------------------------------------- sample records
def test_dropped_rows_are_reported():
    d = simulated_panel(seed=9, G=10, T=5, drop=())
    d.loc[[4, 7], "x"] = np.nan
    d = d[~((d.g == 9) & (d.t > 0))]  # unit 9 keeps one row -> singleton
    d["unit_const"] = d.g.astype(float)  # absorbed by the unit effect
    r = fe_ols(d, "y", ["x", "unit_const"], fe=("g", "t"), cluster="g")
    rec = {x.reason: x for x in r.dropped}
    assert rec["missing value in 'x'"].ids == ("4", "7")
    single = [x for x in r.dropped if x.reason.startswith("singleton")][0]
    assert single.count == 1 and single.ids == (str(d.index[d.g == 9][0]),)
    collin = [x for x in r.dropped if x.level == "regressor"][0]
    assert collin.ids == ("unit_const",) and list(r.coef.index) == ["x"]
    assert r.nobs == len(d) - 3


def test_singleton_search_is_iterative():
    # only row 0 is a singleton at first (unit a); without it, year 1 has one row (row 1); without
    # that, unit b has one row (row 2). Rows 3-4 remain.
    frame = pd.DataFrame({"u": ["a", "b", "b", "c", "c"], "t": [1, 1, 2, 2, 2]})
    assert singleton_mask(frame, ["u", "t"]).tolist() == [True, True, True, False, False]
    assert singleton_mask(frame, ["u"]).tolist() == [True, False, False, False, False]


def test_caller_data_not_mutated(petersen_unbalanced):
    d = petersen_unbalanced.copy()
    before = d.copy()
    fe_ols(d, "y", ["x"], fe=("firm", "year"), cluster="firm", vcov="CRV3")
    partialled_design(d, "y", ["x"], fe=("firm", "year"), cluster="firm")
    pd.testing.assert_frame_equal(d, before)


def test_input_errors(petersen):
    with pytest.raises(SchemaError):
        fe_ols(petersen, "y", ["nope"], fe=("firm", "year"), cluster="firm")
    with pytest.raises(SpecificationError):
        fe_ols(petersen, "y", ["x"], fe=("firm",), cluster=None, vcov="CRV1")
    with pytest.raises(SpecificationError):
        fe_ols(petersen, "y", ["x"], fe=("firm",), cluster="firm", vcov="HC3")
    with pytest.raises(SpecificationError):
        fe_ols(petersen, "y", ["x"], fe=("firm",), cluster="firm", fe_dof="some")
    bad = petersen.assign(x=petersen.x.astype(str))
    with pytest.raises(SchemaError):
        fe_ols(bad, "y", ["x"], fe=("firm",), cluster="firm")


def test_result_metadata_and_tidy(petersen):
    r = fe_ols(petersen, "y", ["x"], fe=("firm", "year"), cluster="firm", spec_id="petersen-fe",
               metadata={"note": "validation"})
    assert r.metadata["data_checksum"].startswith("sha256:") and r.metadata["note"] == "validation"
    r2 = fe_ols(petersen, "y", ["x"], fe=("firm", "year"), cluster="firm", spec_id="petersen-fe",
                metadata={"note": "validation"})
    assert r2 == r  # deterministic
    assert r.tidy().loc[0, "term"] == "x" and r.fixed_effects == ("firm", "year")
    assert r.n_groups == {"firm": 500, "year": 10}


# NIST StRD Wampler1-5 (degree-5 polynomials in x = 0..20), certified values from the NIST pages.
_W_SD5 = (21523262.4678170, 23635517.3469681, 7793435.24331583, 1014755.07550350, 56456.6512170752,
          1123.24854679312)
WAMPLER_CERTIFIED = {
    1: ((1.0,) * 6, (0.0,) * 6),
    2: ((1.0, 0.1, 0.01, 0.001, 1e-4, 1e-5), (0.0,) * 6),
    3: ((1.0,) * 6, tuple(s / 1e4 for s in _W_SD5)),
    4: ((1.0,) * 6, tuple(s / 1e2 for s in _W_SD5)),
    5: ((1.0,) * 6, _W_SD5),
}
# Minimum log relative error (LRE, McCullough 1998) required. Double-precision QR on the raw design
# reaches about 6 digits on the Wampler5 coefficients (the data carry y ~ 2e7 around a unit signal;
# numpy lstsq gets 5.8), more elsewhere; the normal equations (pyfixest) lose about twice as many.
WAMPLER_MIN_LRE = {1: (9, None), 2: (9, None), 3: (8, 9), 4: (7, 9), 5: (5.5, 9)}


def _lre(est: float, cert: float) -> float:
    err = abs(est - cert) / abs(cert) if cert != 0 else abs(est)
    return 15.0 if err == 0 else min(15.0, -np.log10(err))


@pytest.mark.filterwarnings("ignore:An ill-conditioned matrix")
@pytest.mark.parametrize("k", [1, 2, 3, 4, 5])
def test_nist_wampler_at_certified_precision(validation_dir, k):
    d = pd.read_csv(validation_dir / "nist_strd" / f"wampler{k}.csv")
    regs = ["x"] + [f"x{p}" for p in range(2, 6)]
    for p in range(2, 6):
        d[f"x{p}"] = d["x"].astype(float) ** p
    r = fe_ols(d, "y", regs, fe=(), cluster=None, vcov="iid")
    beta, sds = WAMPLER_CERTIFIED[k]
    order = ["Intercept", *regs]
    min_b, min_se = WAMPLER_MIN_LRE[k]
    for term, b, s in zip(order, beta, sds):
        assert _lre(r.coef[term], b) >= min_b, (term, r.coef[term], b)
        if min_se is None:  # exact fit: certified SD 0
            assert r.std_errors[term] <= 1e-8 * max(abs(b), 1.0), (term, r.std_errors[term])
        else:
            assert _lre(r.std_errors[term], s) >= min_se, (term, r.std_errors[term], s)


@pytest.mark.parametrize("estimator", ["fe_ols", "ppml"])
def test_two_way_fe_estimates_invariant_to_rescaling_by_1000(estimator):
    """Simulated unbalanced panel (54 units x 22 years, 10% rows missing) with a regressor in 'dollars'
    (~1e6) and one in 'people' (~1e7). Before the fix pyfixest's absolute demeaning tolerance (1e-13)
    was never met ("Demeaning failed after 100000 iterations"). Rescaling y and x by 1,000 must give
    b(x*1000) = b/1000 (OLS: times 1000 for y*1000) and the same t-statistics."""
    from sahel_causal.models import ppml

    rng = np.random.default_rng(42)
    unit, year = np.repeat(np.arange(54), 22), np.tile(np.arange(2000, 2022), 54)
    keep = rng.random(unit.size) > 0.1
    unit, year = unit[keep], year[keep]
    a = rng.normal(size=54)[unit]
    dollars = np.exp(rng.normal(13, 1.5, size=unit.size) + a)
    people = np.exp(rng.normal(16, 1, size=54))[unit] * (1 + 0.02 * (year - 2000))
    mu = np.exp(-3 + 0.3 * a + 1e-7 * dollars / 10)
    y = rng.poisson(mu * 5).astype(float) if estimator == "ppml" else mu + rng.normal(size=unit.size)
    df = pd.DataFrame({"u": unit, "t": year, "y": y, "d": dollars, "p": people})
    fit = (lambda f, yv: ppml(f, yv, ["d", "p"], fe=("u", "t"), cluster="u")) if estimator == "ppml" else \
        (lambda f, yv: fe_ols(f, yv, ["d", "p"], fe=("u", "t"), cluster="u"))
    r1 = fit(df, "y")
    big = df.assign(y=df.y * 1000, d=df.d * 1000, p=df.p * 1000)
    r2 = fit(big, "y")
    y_factor = 1.0 if estimator == "ppml" else 1000.0
    for term in ("d", "p"):
        assert r2.coef[term] == pytest.approx(r1.coef[term] * y_factor / 1000, rel=1e-7)
        t1 = r1.coef[term] / r1.std_errors[term]
        t2 = r2.coef[term] / r2.std_errors[term]
        assert t2 == pytest.approx(t1, rel=1e-6)
