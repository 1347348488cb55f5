"""Tests of sahel_causal.models.logit and sahel_causal.models.marginal_effects.

Independent references:
- conditional logit: statsmodels ``ConditionalLogit`` called directly, and a brute-force
  conditional likelihood written here (enumerating every arrangement of a country's events,
  Chamberlain 1980) maximised with scipy; the cluster sandwich is rebuilt from numerical
  derivatives of that brute-force likelihood;
- pooled logit: statsmodels ``GLM(family=Binomial)`` with the same design;
- AMEs: statsmodels ``Logit(...).get_margeff(at="overall")``; delta-method SEs vs a
  central-difference Jacobian.
All panels are SIMULATED (labelled in the fixtures).
"""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import optimize

from sahel_causal.errors import DuplicateKeyError, SchemaError, SpecificationError
from sahel_causal.models.logit import conditional_logit, pooled_logit, time_since_event
from sahel_causal.models.marginal_effects import average_marginal_effects, effect_at_baseline


# ----------------------------------------------------------------------------- data
def simulated_binary_panel(seed=0, G=25, T=8, alpha_mean=-2.0):
    """SIMULATED: P(y=1) = logistic(a_g + 0.8 x - 0.5 z); region = g // 5."""
    rng = np.random.default_rng(seed)
    gi = np.repeat(np.arange(G), T)
    df = pd.DataFrame({"iso3": [f"C{g:02d}" for g in gi], "year": np.tile(np.arange(2000, 2000 + T), G),
                       "region": [f"R{g // 5}" for g in gi]})
    a = rng.normal(alpha_mean, 1.0, G)
    df["x"] = rng.normal(size=len(df)) + 0.5 * a[gi]
    df["z"] = rng.normal(size=len(df))
    eta = a[gi] + 0.8 * df.x - 0.5 * df.z
    df["coup"] = (rng.uniform(size=len(df)) < 1 / (1 + np.exp(-eta))).astype(int)
    return df


# ----------------------------------------------------------------------------- time since event
def test_time_since_event_hand_example():
    df = pd.DataFrame({
        "iso3": ["A"] * 6 + ["B"] * 3 + ["C"] * 3,
        "year": [2000, 2001, 2002, 2003, 2004, 2005, 2000, 2001, 2002, 2000, 2003, 2004],
        "coup": [0, 1, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0],
    }).sample(frac=1.0, random_state=1)  # shuffled: output must follow the caller's index
    out = time_since_event(df, "iso3", "year", "coup", history={"B": 1995})
    expected = {  # (unit, year) -> value
        ("A", 2000): 0, ("A", 2001): 1, ("A", 2002): 1, ("A", 2003): 2, ("A", 2004): 3, ("A", 2005): 1,
        ("B", 2000): 5, ("B", 2001): 6, ("B", 2002): 7,
        ("C", 2000): 0, ("C", 2003): 3, ("C", 2004): 4,
    }
    for idx, row in df.iterrows():
        assert out[idx] == expected[(row.iso3, row.year)], (row.iso3, row.year)
    assert out.name == "time_since_coup" and out.index.equals(df.index)


def test_time_since_event_vs_brute_force():
    df = simulated_binary_panel(seed=3, G=10, T=15, alpha_mean=-1.0).sample(frac=0.8, random_state=2)
    hist = {"C01": 1990, "C02": None}
    out = time_since_event(df, "iso3", "year", "coup", history=hist)
    for idx, row in df.iterrows():
        unit = df[df.iso3 == row.iso3]
        past = unit.year[(unit.coup == 1) & (unit.year < row.year)]
        if len(past):
            origin = past.max()
        elif hist.get(row.iso3) is not None:
            origin = hist[row.iso3]
        else:
            origin = unit.year.min()
        assert out[idx] == row.year - origin


def test_time_since_event_errors():
    df = pd.DataFrame({"iso3": ["A", "A"], "year": [2000, 2000], "coup": [0, 1]})
    with pytest.raises(DuplicateKeyError):
        time_since_event(df, "iso3", "year", "coup")
    df = pd.DataFrame({"iso3": ["A", "A"], "year": [2000, 2001], "coup": [0, np.nan]})
    with pytest.raises(SchemaError):
        time_since_event(df, "iso3", "year", "coup")
    df = pd.DataFrame({"iso3": ["A", "A"], "year": [2000, 2001], "coup": [0, 1]})
    with pytest.raises(SchemaError):
        time_since_event(df, "iso3", "year", "coup", history={"A": 2000})


# ----------------------------------------------------------------------------- conditional logit
def brute_group_loglik(beta, X, y):
    """log L_i: exact conditional likelihood by enumerating all arrangements of the group's events."""
    k = int(y.sum())
    eta = X @ beta
    num = eta[y == 1].sum()
    terms = np.array([eta[list(c)].sum() for c in itertools.combinations(range(len(y)), k)])
    m = terms.max()
    return num - (m + np.log(np.exp(terms - m).sum()))


def brute_clogit(df, regs, group="iso3"):
    groups = [(g[regs].to_numpy(float), g["coup"].to_numpy(float)) for _, g in df.groupby(group, sort=True)
              if 0 < g.coup.sum() < len(g)]
    negll = lambda b: -sum(brute_group_loglik(b, X, y) for X, y in groups)  # noqa: E731
    res = optimize.minimize(negll, np.zeros(len(regs)), method="BFGS", options={"gtol": 1e-10})
    return res.x, groups


def numeric_sandwich(beta, groups, factor, h=1e-4):
    """Sandwich from central-difference scores and Hessian of the brute-force likelihood."""
    k = len(beta)
    E = np.eye(k) * h
    scores = np.array([[(brute_group_loglik(beta + E[j], X, y) - brute_group_loglik(beta - E[j], X, y)) / (2 * h)
                        for j in range(k)] for X, y in groups])
    total = lambda b: sum(brute_group_loglik(b, X, y) for X, y in groups)  # noqa: E731
    H = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            H[i, j] = (total(beta + E[i] + E[j]) - total(beta + E[i] - E[j]) - total(beta - E[i] + E[j])
                       + total(beta - E[i] - E[j])) / (4 * h * h)
    bread = np.linalg.inv(-H)
    return bread, factor * bread @ scores.T @ scores @ bread, scores


@pytest.fixture(scope="module")
def clogit_data():
    return simulated_binary_panel(seed=0)


def test_clogit_vs_statsmodels_and_brute_force(clogit_data):
    from statsmodels.discrete.conditional_models import ConditionalLogit

    d = clogit_data
    r = conditional_logit(d, "coup", ["x", "z"], group="iso3", cluster="iso3")
    # statsmodels directly (its default BFGS stops at gradient 1e-5: tolerance 1e-4)
    varying = d.groupby("iso3").coup.transform(lambda s: s.nunique() > 1)
    dv = d[varying]
    sm_fit = ConditionalLogit(dv.coup.to_numpy(), dv[["x", "z"]].to_numpy(), groups=dv.iso3.to_numpy()).fit()
    np.testing.assert_allclose(r.coef.to_numpy(), sm_fit.params, atol=1e-4)
    # brute-force conditional likelihood (independent): 1e-6
    beta, _ = brute_clogit(d, ["x", "z"])
    np.testing.assert_allclose(r.coef.to_numpy(), beta, atol=1e-6)
    assert r.nobs == len(dv) and r.n_groups["iso3"] == dv.iso3.nunique()


def test_clogit_dropped_groups_reported(clogit_data):
    d = clogit_data
    r = conditional_logit(d, "coup", ["x", "z"])
    flat = sorted(g for g, s in d.groupby("iso3").coup if s.nunique() == 1)
    grp = [x for x in r.dropped if x.level == "group"][0]
    assert grp.count == len(flat) > 0 and grp.ids == tuple(f"iso3={g}" for g in flat)
    rows = [x for x in r.dropped if x.level == "row"][0]
    assert rows.count == int(d.iso3.isin(flat).sum())
    assert r.metadata["outcome_mean_all_groups"] == pytest.approx(d.coup.mean(), abs=1e-15)


@pytest.mark.parametrize("cluster", ["iso3", "region"])
def test_clogit_sandwich_vs_numerical(clogit_data, cluster):
    """CRV1 sandwich vs central differences of the brute-force likelihood (rtol 1e-6)."""
    d = clogit_data
    r = conditional_logit(d, "coup", ["x", "z"], cluster=cluster)
    beta = r.coef.to_numpy()
    _, groups = brute_clogit(d, ["x", "z"])
    kept = d[d.groupby("iso3").coup.transform(lambda s: s.nunique() > 1)]
    N, K = len(kept), 2
    clusters = kept.groupby("iso3")[cluster].first().to_numpy()
    G = len(set(clusters))
    bread, _, scores = numeric_sandwich(beta, groups, 1.0)
    S = pd.DataFrame(scores).groupby(clusters).sum().to_numpy()
    V = G / (G - 1) * (N - 1) / (N - K) * bread @ S.T @ S @ bread
    np.testing.assert_allclose(r.vcov.to_numpy(), V, rtol=1e-6)
    assert r.n_clusters == G
    r_model = conditional_logit(d, "coup", ["x", "z"], cluster=None, vcov="model")
    np.testing.assert_allclose(r_model.vcov.to_numpy(), bread, rtol=1e-6)


def test_clogit_clusters_must_nest_groups(clogit_data):
    with pytest.raises(SpecificationError, match="lie in one"):
        conditional_logit(clogit_data, "coup", ["x"], cluster="year")


def test_clogit_year_dummies_drop_years_without_events():
    from statsmodels.discrete.conditional_models import ConditionalLogit

    d = simulated_binary_panel(seed=2, G=30, T=8, alpha_mean=-1.5)
    d.loc[d.year == 2003, "coup"] = 0  # no event in 2003: its dummy is not identified
    r = conditional_logit(d, "coup", ["x", "z"], time="year")
    yr = [x for x in r.dropped if x.reason.startswith("year")]
    assert yr and "year=2003" in yr[0].ids
    # reference: same sample, explicit dummies, statsmodels directly (BFGS tolerance)
    keep = d[d.year != 2003]
    keep = keep[keep.groupby("iso3").coup.transform(lambda s: s.nunique() > 1)]
    X = pd.concat([keep[["x", "z"]], pd.get_dummies(keep.year, prefix="y", drop_first=True).astype(float)], axis=1)
    ref = ConditionalLogit(keep.coup.to_numpy(), X.to_numpy(), groups=keep.iso3.to_numpy()).fit(maxiter=500)
    np.testing.assert_allclose(r.coef.to_numpy(), ref.params[:2], atol=1e-4)
    assert r.fixed_effects == ("iso3", "year")


def test_clogit_rejects_time_invariant_regressor(clogit_data):
    d = clogit_data.assign(const_x=clogit_data.groupby("iso3").x.transform("mean"))
    with pytest.raises(SpecificationError, match="constant within"):
        conditional_logit(d, "coup", ["x", "const_x"])


def test_effect_at_baseline(clogit_data):
    d = clogit_data
    r = conditional_logit(d, "coup", ["x", "z"])
    e = effect_at_baseline(r)
    p0 = d.coup.mean()
    np.testing.assert_allclose(e.coef.to_numpy(), r.coef.to_numpy() * p0 * (1 - p0), rtol=1e-14)
    np.testing.assert_allclose(e.std_errors.to_numpy(), r.std_errors.to_numpy() * p0 * (1 - p0), rtol=1e-12)
    assert e.metadata["baseline_probability"] == pytest.approx(p0, abs=1e-15)
    e2 = effect_at_baseline(r, baseline=0.05)
    np.testing.assert_allclose(e2.coef.to_numpy(), r.coef.to_numpy() * 0.05 * 0.95, rtol=1e-14)
    with pytest.raises(SpecificationError, match="not identified"):
        average_marginal_effects(r)


# ----------------------------------------------------------------------------- pooled logit
@pytest.fixture(scope="module")
def pooled_data():
    d = simulated_binary_panel(seed=5, G=40, T=20, alpha_mean=-2.0)
    d["tse"] = time_since_event(d, "iso3", "year", "coup")
    return d


def _glm_design(d):
    X = pd.DataFrame({"Intercept": 1.0, "x": d.x, "z": d.z, "tse": d.tse, "tse^2": d.tse**2, "tse^3": d.tse**3},
                     index=d.index)
    return pd.concat([X, pd.get_dummies(d.region, prefix="region", prefix_sep="=", drop_first=True).astype(float)],
                     axis=1)


def test_pooled_logit_vs_glm_binomial(pooled_data):
    """Coefficients atol 1e-8; CRV1 (statsmodels default correction) and HC0 SEs rtol 1e-6."""
    d = pooled_data
    X = _glm_design(d)
    glm_cl = sm.GLM(d.coup, X, family=sm.families.Binomial()).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(d.iso3, sort=True)[0]}, tol=1e-12)
    r = pooled_logit(d, "coup", ["x", "z"], duration="tse", dummies="region", cluster="iso3")
    shown = list(r.coef.index)
    assert shown == ["Intercept", "x", "z", "tse", "tse^2", "tse^3"]
    np.testing.assert_allclose(r.coef.to_numpy(), glm_cl.params[shown].to_numpy(), atol=1e-8, rtol=0)
    np.testing.assert_allclose(r.std_errors.to_numpy(), glm_cl.bse[shown].to_numpy(), rtol=1e-6)
    glm_hc = sm.GLM(d.coup, X, family=sm.families.Binomial()).fit(cov_type="HC0", tol=1e-12)
    r_hc = pooled_logit(d, "coup", ["x", "z"], duration="tse", dummies="region", vcov="hetero")
    np.testing.assert_allclose(r_hc.std_errors.to_numpy(), glm_hc.bse[shown].to_numpy(), rtol=1e-6)
    assert r.fixed_effects == ("region",) and r.n_groups == {"region": 8}


def test_pooled_logit_separation_is_an_error(pooled_data):
    d = pooled_data.copy()
    d["perfect"] = d.coup.astype(float) * 2.0 + d.x * 0  # quasi: identical to the outcome
    with pytest.raises(SpecificationError, match="separation"):
        pooled_logit(d, "coup", ["x", "perfect"])


def test_ame_vs_statsmodels_get_margeff(pooled_data):
    """AMEs atol 1e-8 and delta-method SEs rtol 1e-8 vs statsmodels."""
    d = pooled_data
    X = _glm_design(d)
    logit = sm.Logit(d.coup, X).fit(disp=False, cov_type="cluster",
                                     cov_kwds={"groups": pd.factorize(d.iso3, sort=True)[0]}, tol=1e-12, method="newton")
    mfx = logit.get_margeff(at="overall", method="dydx").summary_frame()
    r = pooled_logit(d, "coup", ["x", "z"], duration="tse", dummies="region", cluster="iso3")
    ame = average_marginal_effects(r)
    np.testing.assert_allclose(ame.coef.to_numpy(), mfx.loc[["x", "z"], "dy/dx"].to_numpy(), atol=1e-8, rtol=0)
    np.testing.assert_allclose(ame.std_errors.to_numpy(), mfx.loc[["x", "z"], "Std. Err."].to_numpy(), rtol=1e-8)
    assert ame.estimator == "ame(pooled_logit)"


def test_ame_delta_method_vs_numerical_jacobian(pooled_data):
    d = pooled_data
    r = pooled_logit(d, "coup", ["x", "z"], duration="tse", cluster="iso3")
    X = r.aux["X"].to_numpy()
    beta = r.aux["params_full"].to_numpy()
    V = r.aux["vcov_full"].to_numpy()
    cols = [1, 2]

    def ame(b):
        p = 1 / (1 + np.exp(-(X @ b)))
        return np.array([b[j] * np.mean(p * (1 - p)) for j in cols])

    h = 1e-6
    J = np.column_stack([(ame(beta + h * e) - ame(beta - h * e)) / (2 * h) for e in np.eye(len(beta))])
    se_num = np.sqrt(np.diag(J @ V @ J.T))
    got = average_marginal_effects(r)
    np.testing.assert_allclose(got.coef.to_numpy(), ame(beta), rtol=1e-13)
    np.testing.assert_allclose(got.std_errors.to_numpy(), se_num, rtol=1e-6)


def test_inputs_not_mutated_and_errors(pooled_data, clogit_data):
    d = pooled_data.copy()
    before = d.copy()
    pooled_logit(d, "coup", ["x"], duration="tse")
    conditional_logit(d, "coup", ["x"], time="year")
    time_since_event(d, "iso3", "year", "coup")
    pd.testing.assert_frame_equal(d, before)
    with pytest.raises(SchemaError):
        pooled_logit(d.assign(coup=d.coup * 2), "coup", ["x"])
    with pytest.raises(SpecificationError):
        pooled_logit(d, "coup", ["x"], cluster=None, vcov="CRV1")
    with pytest.raises(SpecificationError):
        conditional_logit(clogit_data, "coup", ["x"], vcov="hetero")


def brute_group_hessian(beta, X, y):
    """Minus the covariance of sum_{t in S} x_t over all arrangements S of the group's events."""
    k = int(y.sum())
    combos = list(itertools.combinations(range(len(y)), k))
    sums = np.array([X[list(c)].sum(axis=0) for c in combos])
    eta = sums @ beta
    p = np.exp(eta - eta.max())
    p /= p.sum()
    mean = p @ sums
    return -((sums - mean).T * p) @ (sums - mean)


@pytest.mark.parametrize("seed", [0, 1])
def test_clogit_hessian_exact_vs_enumeration(seed):
    """The analytic Hessian equals the enumerated one to 1e-10 (relative), with several events per
    group and year dummies; the previous central-difference Hessian agreed only to about 1e-8 and its
    last digits moved with the BLAS kernel, which broke byte-identical tables across machines."""
    from sahel_causal.models.logit import clogit_hessian

    rng = np.random.default_rng(seed)
    G, T, K = 6, 9, 4
    X = rng.normal(size=(G * T, K))
    groups = np.repeat(np.arange(G), T)
    y = np.zeros(G * T)
    for g in range(G):
        y[g * T + rng.choice(T, size=1 + g % 4, replace=False)] = 1.0
    beta = rng.normal(scale=0.5, size=K)
    H = clogit_hessian(X, y, groups, beta)
    Hb = sum(brute_group_hessian(beta, X[groups == g], y[groups == g]) for g in range(G))
    np.testing.assert_allclose(H, Hb, rtol=1e-10, atol=1e-12 * np.abs(Hb).max())


def test_clogit_hessian_is_the_derivative_of_the_score(clogit_data):
    """Independent check: the Hessian matches central differences of statsmodels' exact score (1e-6)."""
    from statsmodels.discrete.conditional_models import ConditionalLogit
    from statsmodels.tools.numdiff import approx_fprime

    from sahel_causal.models.logit import clogit_hessian

    d = clogit_data[clogit_data.groupby("iso3").coup.transform(lambda s: s.nunique() > 1)]
    X = d[["x", "z"]].to_numpy(float)
    g = pd.factorize(d.iso3, sort=True)[0]
    m = ConditionalLogit(d.coup.to_numpy(float), X, groups=g)
    b = np.array([0.3, -0.2])
    np.testing.assert_allclose(clogit_hessian(X, d.coup.to_numpy(float), g, b),
                               approx_fprime(b, m.score, centered=True), rtol=1e-6)
