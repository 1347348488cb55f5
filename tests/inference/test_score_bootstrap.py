"""Wild score cluster bootstrap for PPML and logit (sahel_causal.inference.score_bootstrap).

Every data set here is SIMULATED (seeded numpy draws), never study data: (a) the restricted fit
and efficient scores against statsmodels GLM with explicit dummies, (b) full enumeration and
random weights against a slow explicit loop, (c) determinism, (d) a size Monte Carlo, (e) power
and sign agreement with the package's estimators, plus sample rules, the inverted interval and
input validation.
"""
from __future__ import annotations

import itertools
import json
import math
import os
import warnings

import numpy as np
import pandas as pd
import pytest

from sahel_causal.errors import SpecificationError
from sahel_causal.inference.score_bootstrap import (
    RestrictedScores,
    logit_restricted_scores,
    ppml_restricted_scores,
    score_bootstrap_logit,
    score_bootstrap_ppml,
    score_bootstrap_stats,
    score_bootstrap_test,
)
from sahel_causal.inference.wild_bootstrap import draw_weights, rademacher_enumeration

FULL_MC = os.environ.get("SAHEL_CAUSAL_FULL_MC") == "1"
STUDENTIZATIONS = ("recentred", "uncentred", "refit")


# ----------------------------------------------------------------------- simulated data


def simulated_count_panel(seed: int, G: int = 12, T: int = 8, beta: float = 0.0) -> pd.DataFrame:
    """SIMULATED country-year panel: overdispersed counts with country and year effects, a
    regressor ``x`` with a country component and a control ``c``; E[y | x, c] = exp(... + beta x)."""
    rng = np.random.default_rng(seed)
    n = G * T
    iso = np.repeat([f"S{g:02d}" for g in range(G)], T)
    year = np.tile(np.arange(2000, 2000 + T), G)
    a = np.repeat(rng.normal(0.0, 0.8, G), T)
    gt = np.tile(rng.normal(0.0, 0.3, T), G)
    x = np.repeat(rng.normal(0.0, 1.0, G), T) + rng.normal(0.0, 1.0, n)
    c = rng.normal(0.0, 1.0, n)
    sd = 0.4 * np.sqrt(0.5 + 0.5 * x**2)  # mean-one multiplicative noise, cluster-correlated
    v = sd * (0.7 * np.repeat(rng.normal(size=G), T) + 0.71 * rng.normal(size=n))
    mu = np.exp(0.8 + a + gt + beta * x + 0.2 * c + v - sd**2 / 2.0)
    return pd.DataFrame({"iso3": iso, "year": year, "y": rng.poisson(mu).astype(float), "x": x, "c": c},
                        index=[f"r{i}" for i in range(n)])


def simulated_event_panel(seed: int, G: int = 15, T: int = 20, beta: float = 0.0) -> pd.DataFrame:
    """SIMULATED binary-event panel: country heterogeneity, three regions, a duration clock."""
    rng = np.random.default_rng(seed)
    n = G * T
    iso = np.repeat([f"S{g:02d}" for g in range(G)], T)
    region = np.repeat([f"R{g % 3}" for g in range(G)], T)
    x = np.repeat(rng.normal(0.0, 1.0, G), T) + rng.normal(0.0, 1.0, n)
    c = rng.normal(0.0, 1.0, n)
    a = np.repeat(rng.normal(0.0, 0.7, G), T)
    dur = np.tile(np.arange(T) % 7, G).astype(float)
    eta = -1.5 + a + beta * x + 0.3 * c - 0.05 * dur
    y = (rng.uniform(size=n) < 1.0 / (1.0 + np.exp(-eta))).astype(float)
    return pd.DataFrame({"iso3": iso, "region": region, "y": y, "x": x, "c": c, "dur": dur})


# ----------------------------------------------------------------------- (a) statsmodels


def _sm_fe_design(frame: pd.DataFrame, fe: tuple[str, ...]) -> pd.DataFrame:
    """Explicit dummies built independently with pandas (first FE all levels, others drop first)."""
    if not fe:
        return pd.DataFrame({"const": np.ones(len(frame))}, index=frame.index)
    parts = [pd.get_dummies(frame[fe[0]].astype(str), prefix=fe[0], dtype=float)]
    for f in fe[1:]:
        parts.append(pd.get_dummies(frame[f].astype(str), prefix=f, drop_first=True, dtype=float))
    return pd.concat(parts, axis=1)


def _check_against_glm(rs: RestrictedScores, frame: pd.DataFrame, y, x_j, others: pd.DataFrame, family, beta0):
    import statsmodels.api as sm

    offset = beta0 * x_j
    restricted = sm.GLM(y, others, family=family, offset=offset).fit(tol=1e-14, maxiter=200)
    mu_sm = np.asarray(restricted.fittedvalues)
    np.testing.assert_allclose(rs.fitted, mu_sm, rtol=1e-8)
    # full model's score at the restricted parameters padded with beta0 for the tested coefficient
    full = sm.GLM(y, pd.concat([pd.Series(x_j, index=others.index, name="xj"), others], axis=1), family=family)
    padded = np.r_[beta0, np.asarray(restricted.params)]
    score_j = full.score(padded)[0]
    assert rs.cluster_scores.sum() == pytest.approx(score_j, rel=1e-6, abs=1e-9)
    # per-cluster efficient scores: statsmodels WLS residual of x_j on the nuisance design
    w = mu_sm if isinstance(family, sm.families.Poisson) else mu_sm * (1.0 - mu_sm)
    x_tilde = np.asarray(sm.WLS(x_j, others, weights=w).fit().resid)
    ref = pd.Series(x_tilde * (y - mu_sm)).groupby(frame["iso3"].to_numpy()).sum().sort_index()
    assert list(ref.index) == list(rs.cluster_labels)
    np.testing.assert_allclose(rs.cluster_scores, ref.to_numpy(), rtol=0, atol=1e-6 * np.abs(ref).max())


@pytest.mark.parametrize("fe", [("iso3", "year"), ("year",), ()])
@pytest.mark.parametrize("beta0", [0.0, 0.15])
def test_ppml_restricted_fit_and_scores_match_statsmodels_glm(fe, beta0):
    """(a) Simulated panel: fitted means to 1e-8 and sum_g S_g equal to statsmodels' full-model
    Poisson score at the restricted parameters (tested coefficient = beta0) to 1e-6 relative;
    the cluster sums equal an independent WLS projection to 1e-6 of their scale."""
    import statsmodels.api as sm

    df = simulated_count_panel(1)
    rs = ppml_restricted_scores(df, "y", ["x", "c"], "x", fe=fe, cluster="iso3", beta0=beta0)
    frame = df.loc[rs.kept_index]
    assert rs.nobs == len(df)  # nothing to drop in this simulated panel
    others = pd.concat([frame[["c"]], _sm_fe_design(frame, fe)], axis=1)
    _check_against_glm(rs, frame, frame["y"].to_numpy(), frame["x"].to_numpy(), others,
                       sm.families.Poisson(), beta0)


@pytest.mark.parametrize("beta0", [0.0, -0.3])
def test_logit_restricted_fit_and_scores_match_statsmodels_glm(beta0):
    """(a) Simulated events, logit with region dummies and a cubic duration: same checks with
    statsmodels Binomial GLM."""
    import statsmodels.api as sm

    df = simulated_event_panel(2)
    rs = logit_restricted_scores(df, "y", ["x", "c"], "x", cluster="iso3", dummies=["region"],
                                 duration="dur", beta0=beta0)
    frame = df.loc[rs.kept_index]
    d = frame["dur"]
    others = pd.concat(
        [pd.DataFrame({"const": 1.0, "c": frame["c"], "d1": d, "d2": d**2, "d3": d**3}, index=frame.index),
         pd.get_dummies(frame["region"], prefix="region", drop_first=True, dtype=float)], axis=1)
    _check_against_glm(rs, frame, frame["y"].to_numpy(), frame["x"].to_numpy(), others,
                       sm.families.Binomial(), beta0)


def test_restricted_scores_satisfy_the_restricted_first_order_conditions():
    """The refit matrix annihilates the all-ones draw (M 1 = 0) and shares sum to one."""
    rs = ppml_restricted_scores(simulated_count_panel(3), "y", ["x", "c"], "x")
    assert np.abs(rs.refit_matrix.sum(axis=1)).max() <= 1e-9 * np.abs(rs.cluster_scores).max()
    assert rs.cluster_shares.sum() == pytest.approx(1.0, abs=1e-14)


# ----------------------------------------------------------------------- (b) slow reference


def _slow_t(S, shares, M, v, kind):
    """t for weights v (all ones = the original sample), by explicit loops."""
    G = len(S)
    numer = math.fsum(v[g] * S[g] for g in range(G))
    if kind == "uncentred":
        k = [v[g] * S[g] for g in range(G)]
    elif kind == "recentred":
        k = [v[g] * S[g] - shares[g] * numer for g in range(G)]
    elif len(set(v)) == 1:  # M 1 = 0 exactly (restricted first-order conditions); M 1 ~ 1e-14 in floats
        k = [v[g] * S[g] for g in range(G)]
    else:
        k = [v[g] * S[g] - math.fsum(M[g, h] * v[h] for h in range(G)) for g in range(G)]
    return numer / math.sqrt(math.fsum(kg * kg for kg in k))


def _slow_bootstrap(rs, W, kind):
    S, pi, M = list(rs.cluster_scores), list(rs.cluster_shares), rs.refit_matrix
    G = len(S)
    # the sample's own statistic: K_g = S_g - pi_g N (recentred) or S_g (uncentred, refit)
    t = _slow_t(S, pi, M, [1.0] * G, "recentred" if kind == "recentred" else "uncentred")
    t_boot = np.array([_slow_t(S, pi, M, list(v), kind) for v in W])
    p = sum(abs(tb) > abs(t) for tb in t_boot) / len(W)
    return t, t_boot, p


@pytest.fixture(scope="module")
def tiny():
    """Simulated panel with G = 6 clusters (2**6 = 64 sign vectors)."""
    df = simulated_count_panel(5, G=6, T=8)
    return df, ppml_restricted_scores(df, "y", ["x", "c"], "x")


@pytest.mark.parametrize("kind", STUDENTIZATIONS)
def test_full_enumeration_equals_explicit_loop_over_sign_vectors(tiny, kind):
    """(b) G = 6: all 64 t* and the p-value equal a loop over itertools.product to 1e-12."""
    df, rs = tiny
    W = np.array(list(itertools.product([-1.0, 1.0], repeat=6)))
    np.testing.assert_array_equal(rademacher_enumeration(6), W)
    t_ref, tb_ref, p_ref = _slow_bootstrap(rs, W, kind)
    t, tb = score_bootstrap_stats(rs.cluster_scores, W, studentization=kind,
                                  cluster_shares=rs.cluster_shares, refit_matrix=rs.refit_matrix)
    assert t == pytest.approx(t_ref, rel=1e-12)
    np.testing.assert_allclose(tb, tb_ref, rtol=1e-12, atol=1e-12)
    res = score_bootstrap_ppml(df, "y", ["x", "c"], "x", B=9999, seed=0, studentization=kind)
    assert res.enumerated and res.n_draws == 64
    assert res.stat == pytest.approx(t_ref, rel=1e-12)
    assert abs(res.p_value - p_ref) <= 1e-12
    # the all-(+1) and all-(-1) draws reproduce +-t exactly and are not counted (strict)
    assert tb[-1] == t and tb[0] == -t


@pytest.mark.parametrize("kind", STUDENTIZATIONS)
def test_webb_draws_equal_explicit_loop(tiny, kind):
    """(b) Random Webb weights (one chunk: the same draws as draw_weights with that seed)."""
    _, rs = tiny
    W = draw_weights("webb", 999, 6, np.random.default_rng(5))
    t_ref, tb_ref, p_ref = _slow_bootstrap(rs, W, kind)
    _, tb = score_bootstrap_stats(rs.cluster_scores, W, studentization=kind,
                                  cluster_shares=rs.cluster_shares, refit_matrix=rs.refit_matrix)
    np.testing.assert_allclose(tb, tb_ref, rtol=1e-12, atol=1e-12)
    res = score_bootstrap_test(rs, B=999, weights="webb", seed=5, studentization=kind)
    assert not res.enumerated and res.n_draws == 999
    assert abs(res.p_value - p_ref) <= 1e-12


def test_equal_tailed_p_value(tiny):
    _, rs = tiny
    W = rademacher_enumeration(6)
    t, tb = score_bootstrap_stats(rs.cluster_scores, W, studentization="recentred", cluster_shares=rs.cluster_shares)
    expected = min(1.0, 2 * min(np.sum(tb < t), np.sum(tb > t)) / 64)
    res = score_bootstrap_test(rs, B=9999, seed=0, p_value_type="equal-tailed")
    assert res.p_value == pytest.approx(expected, abs=1e-15)


# ----------------------------------------------------------------------- (c) determinism


def test_same_seed_same_result_and_seed_matters():
    df = simulated_count_panel(7, G=30, T=6)
    kw = dict(B=199, weights="webb")
    a = score_bootstrap_ppml(df, "y", ["x", "c"], "x", seed=123, **kw)
    b = score_bootstrap_ppml(df, "y", ["x", "c"], "x", seed=123, **kw)
    assert (a.stat, a.p_value, a.n_draws, a.seed) == (b.stat, b.p_value, b.n_draws, 123)
    g = score_bootstrap_ppml(df, "y", ["x", "c"], "x", seed=np.random.default_rng(123), **kw)
    assert g.p_value == a.p_value and g.seed is None  # same stream, seed not recorded
    others = {score_bootstrap_ppml(df, "y", ["x", "c"], "x", seed=s, **kw).p_value for s in range(5)}
    assert len(others) > 1
    r1 = score_bootstrap_logit(simulated_event_panel(8), "y", ["x"], "x", seed=9, B=499)
    r2 = score_bootstrap_logit(simulated_event_panel(8), "y", ["x"], "x", seed=9, B=499)
    assert (r1.stat, r1.p_value) == (r2.stat, r2.p_value)


def test_inputs_are_not_mutated():
    df = simulated_count_panel(9)
    df.loc["r3", "c"] = np.nan
    before = df.copy()
    score_bootstrap_ppml(df, "y", ["x", "c"], "x", seed=1, B=99)
    pd.testing.assert_frame_equal(df, before)


# ----------------------------------------------------------------------- (d) size


@pytest.mark.slow
@pytest.mark.parametrize("model", ["ppml", "logit"])
def test_size_under_a_simulated_null_with_15_clusters(model):
    """(d) Simulated null (b_x = 0), G = 15 clusters. Reduced: 300 replications, B = 399,
    5% rejection rate in [0.01, 0.11] for the default ("recentred") and "refit" studentizations
    (s.d. of the rate ~0.013). SAHEL_CAUSAL_FULL_MC=1: 2000 replications, B = 999, band
    [0.03, 0.085]. Observed with these seeds: reduced PPML 0.063 / 0.050, logit 0.067 / 0.053;
    full PPML 0.068 / 0.051, logit 0.073 / 0.059 (recentred / refit)."""
    reps, B, band = (2000, 999, (0.03, 0.085)) if FULL_MC else (300, 399, (0.01, 0.11))
    rejections = {"recentred": 0, "refit": 0}
    for r in range(reps):
        if model == "ppml":
            rs = ppml_restricted_scores(simulated_count_panel(10_000 + r, G=15, T=10), "y", ["x"], "x")
        else:
            rs = logit_restricted_scores(simulated_event_panel(20_000 + r, G=15, T=20), "y", ["x"], "x",
                                         dummies=["region"])
        for kind in rejections:
            res = score_bootstrap_test(rs, B=B, seed=r, studentization=kind)
            rejections[kind] += res.p_value < 0.05
    rates = {k: v / reps for k, v in rejections.items()}
    for kind, rate in rates.items():
        assert band[0] <= rate <= band[1], (kind, rates)


# ----------------------------------------------------------------------- (e) power / sign


def test_ppml_real_effect_sign_agrees_with_ppml_and_rejects():
    """(e) Simulated panel with b_x = 0.3 and G = 40: the score statistic has the sign of the
    package's PPML estimate and the bootstrap rejects at 5%."""
    from sahel_causal.models import ppml

    df = simulated_count_panel(11, G=40, T=15, beta=0.3)
    fit = ppml(df, "y", ["x", "c"], fe=("iso3", "year"), cluster="iso3")
    for kind in STUDENTIZATIONS:
        res = score_bootstrap_ppml(df, "y", ["x", "c"], "x", seed=3, studentization=kind)
        assert np.sign(res.stat) == np.sign(fit.coef["x"]) == 1.0
        assert res.p_value < 0.05
    pos = score_bootstrap_ppml(df, "y", ["x", "c"], "x", seed=3)
    neg = score_bootstrap_ppml(df.assign(x=-df["x"]), "y", ["x", "c"], "x", seed=3)
    assert neg.stat == pytest.approx(-pos.stat, rel=1e-9)
    assert neg.p_value == pos.p_value


def test_logit_real_effect_sign_agrees_with_pooled_logit_and_rejects():
    from sahel_causal.models import pooled_logit

    df = simulated_event_panel(12, G=40, T=20, beta=0.6)
    fit = pooled_logit(df, "y", ["x", "c"], dummies=["region"], cluster="iso3")
    res = score_bootstrap_logit(df, "y", ["x", "c"], "x", dummies=["region"], seed=4)
    assert np.sign(res.stat) == np.sign(fit.coef["x"]) == 1.0
    assert res.p_value < 0.05


# ----------------------------------------------------------------------- sample rules


def test_ppml_sample_matches_the_model_drops():
    """Missing values, an all-zero country, a singleton and rows separated by a regressor are
    dropped exactly as sahel_causal.models.ppml drops them (same row labels)."""
    from sahel_causal.models import ppml

    df = simulated_count_panel(13, G=14, T=8)
    df.loc[df["iso3"] == "S03", "y"] = 0.0  # all-zero country
    df.loc["r5", "c"] = np.nan  # missing value
    df = df.drop(index=[f"r{i}" for i in range(8 * 13 + 1, 8 * 14)])  # S13 keeps one row: singleton
    positive = df.groupby("iso3")["y"].transform("sum") > 0
    zero_rows = df.index[(df["y"] == 0) & positive & (df["iso3"] != "S13")][:4]
    df["s"] = 0.0
    df.loc[zero_rows, "s"] = [1.0, 2.0, 3.0, 4.0]  # separates those zero-outcome rows
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = ppml(df, "y", ["x", "c", "s"], fe=("iso3", "year"), cluster="iso3")
    res = score_bootstrap_ppml(df, "y", ["x", "c", "s"], "x", seed=1, B=99)
    assert res.nobs == fit.nobs
    model_rows = {i for d in fit.dropped if d.level == "row" for i in d.ids}
    ours = {i for d in res.dropped if d.level == "row" for i in d.ids}
    assert ours == model_rows
    assert res.n_dropped_rows == len(df) - res.nobs
    reasons = " ".join(d.reason for d in res.dropped)
    for word in ("missing", "all-zero", "singleton", "separated"):
        assert word in reasons


def test_logit_separation_raises():
    df = simulated_event_panel(14)
    df["sep"] = df["y"] * 2.0 + 0.1  # perfectly predicts the outcome
    with pytest.raises(SpecificationError, match="separation"):
        score_bootstrap_logit(df, "y", ["x", "sep"], "x", seed=1)


def test_tested_regressor_collinear_with_fixed_effects_raises():
    df = simulated_count_panel(15)
    df["xc"] = df.groupby("iso3")["x"].transform("mean")
    with pytest.raises(SpecificationError, match="collinear"):
        score_bootstrap_ppml(df, "y", ["xc", "c"], "xc", seed=1)


# ----------------------------------------------------------------------- interval


@pytest.mark.parametrize("model", ["ppml", "logit"])
def test_inverted_interval_brackets_the_p_value_crossing(model):
    """ci=True: the unrestricted estimate equals the package's estimator to 1e-6; just inside
    each bound p >= alpha, just outside p < alpha (same seed, hence the same draws)."""
    from sahel_causal.models import pooled_logit, ppml

    if model == "ppml":
        df = simulated_count_panel(16, G=20, T=10, beta=0.1)
        run = lambda **kw: score_bootstrap_ppml(df, "y", ["x", "c"], "x", B=999, seed=21, **kw)  # noqa: E731
        coef = ppml(df, "y", ["x", "c"]).coef["x"]
    else:
        df = simulated_event_panel(17, G=20, T=20, beta=0.3)
        run = lambda **kw: score_bootstrap_logit(df, "y", ["x", "c"], "x", B=999, seed=21, **kw)  # noqa: E731
        coef = pooled_logit(df, "y", ["x", "c"]).coef["x"]
    res = run(ci=True)
    assert res.coef == pytest.approx(coef, rel=1e-6)
    assert res.ci_low < res.coef < res.ci_high
    eps = 1e-4 * res.se
    assert run(beta0=res.ci_low + eps).p_value >= 0.05
    assert run(beta0=res.ci_low - eps).p_value < 0.05
    assert run(beta0=res.ci_high - eps).p_value >= 0.05
    assert run(beta0=res.ci_high + eps).p_value < 0.05
    at_estimate = run(beta0=res.coef)
    assert abs(at_estimate.stat) < 1e-6 and at_estimate.p_value > 0.9


def test_no_interval_by_default_and_detail_attaches_to_a_result():
    from sahel_causal.models import ppml

    df = simulated_count_panel(18)
    res = score_bootstrap_ppml(df, "y", ["x", "c"], "x", seed=2, B=999)
    assert math.isnan(res.ci_low) and math.isnan(res.ci_high) and math.isnan(res.coef)
    json.dumps(res.detail())
    fit = ppml(df, "y", ["x", "c"]).with_inference("score", "x", res.p_value, res.ci_low, res.ci_high,
                                                   res.detail())
    assert fit.tidy().set_index("term").loc["x", "p_score"] == res.p_value


# ----------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(term="zz"), "term"),
        (dict(term="iso3"), "term"),
        (dict(regressors=[]), "at least one"),
        (dict(weights="normal"), "weights"),
        (dict(B=0), "B must"),
        (dict(B=True), "B must"),
        (dict(seed=None), "seed"),
        (dict(seed=-1), "seed"),
        (dict(beta0=float("nan")), "beta0"),
        (dict(p_value_type="lower"), "p_value_type"),
        (dict(studentization="wald"), "studentization"),
        (dict(alpha=1.5), "alpha"),
        (dict(cluster="nope"), "not in the data"),
        (dict(fe=("iso3", "iso3")), "duplicated"),
        (dict(ci="yes"), "ci must"),
    ],
)
def test_invalid_arguments_raise_specification_error(kwargs, match):
    df = simulated_count_panel(19)
    args = dict(df=df, outcome="y", regressors=["x", "c"], term="x", fe=("iso3", "year"), cluster="iso3",
                seed=1, B=99)
    args.update(kwargs)
    with pytest.raises(SpecificationError, match=match):
        score_bootstrap_ppml(**args)


def test_invalid_data_raise_specification_error():
    df = simulated_count_panel(20)
    with pytest.raises(SpecificationError, match="non-negative"):
        score_bootstrap_ppml(df.assign(y=df["y"] - 5.0), "y", ["x"], "x", seed=1)
    with pytest.raises(SpecificationError, match="0/1"):
        score_bootstrap_logit(df, "y", ["x"], "x", seed=1)
    with pytest.raises(SpecificationError, match="at least 2 clusters"):
        score_bootstrap_ppml(df.assign(one="a"), "y", ["x"], "x", cluster="one", seed=1)
    with pytest.raises(SpecificationError, match="infinite"):
        score_bootstrap_ppml(df.assign(x=np.where(df.index == "r0", np.inf, df["x"])), "y", ["x"], "x", seed=1)
    with pytest.raises(SpecificationError, match="DataFrame"):
        score_bootstrap_ppml(df.to_dict(), "y", ["x"], "x", seed=1)
    with pytest.raises(SpecificationError, match="shape"):
        score_bootstrap_stats(np.ones(4), np.ones((3, 5)))
    with pytest.raises(SpecificationError, match="cluster shares"):
        score_bootstrap_stats(np.ones(4), np.ones((3, 4)), studentization="recentred")
    with pytest.raises(SpecificationError, match="RestrictedScores"):
        score_bootstrap_test(np.ones(4), seed=1)
