"""Restricted wild cluster bootstrap (sahel_causal.inference.wild_bootstrap) against the
``wildboottest`` package, a slow refit-from-scratch reference, its own inverted CI, and a size
Monte Carlo."""
from __future__ import annotations

import itertools
import os
import tracemalloc
import warnings

import numpy as np
import pandas as pd
import pytest

from sahel_causal.errors import SpecificationError
from sahel_causal.inference.wild_bootstrap import (
    draw_weights,
    rademacher_enumeration,
    wild_bootstrap_t_stats,
    wild_cluster_bootstrap,
)

FULL_MC = os.environ.get("SAHEL_CAUSAL_FULL_MC") == "1"


@pytest.fixture(scope="module")
def petersen(validation_dir) -> pd.DataFrame:
    """Petersen (2009) test data, 500 firms x 10 years (copy of R sandwich::PetersenCL)."""
    return pd.read_csv(validation_dir / "petersen" / "PetersenCL.csv")


def _arrays(df: pd.DataFrame):
    X = np.column_stack([np.ones(len(df)), df["x"].to_numpy()])
    return X, df["y"].to_numpy(), df["firm"].to_numpy()


def _wildboottest(X, y, g, param: str, B: int, seed: int):
    import statsmodels.api as sm
    from wildboottest.wildboottest import wildboottest

    model = sm.OLS(y, pd.DataFrame(X, columns=["const", "x"]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # its "setting full_enumeration to True" notice
        out = wildboottest(model, B=B, cluster=g, param=param, seed=seed, show=False)
    return float(out["statistic"].iloc[0]), float(out["p-value"].iloc[0])


# ----------------------------------------------------------------------- slow reference


def _crv1_t(X, y, g, j, beta0):
    """OLS + CRV1 t-statistic with the Stata factor, computed by explicit loops."""
    n, k = X.shape
    b = np.linalg.lstsq(X, y, rcond=None)[0]
    u = y - X @ b
    bread = np.linalg.inv(X.T @ X)
    meat = np.zeros((k, k))
    labels = np.unique(g)
    for c in labels:
        s = X[g == c].T @ u[g == c]
        meat += np.outer(s, s)
    G = len(labels)
    v = G / (G - 1) * (n - 1) / (n - k) * bread @ meat @ bread
    return (b[j] - beta0) / np.sqrt(v[j, j])


def _slow_wcr(X, y, g, j, beta0, W, p_value_type="symmetric"):
    """Refit every bootstrap sample from scratch. Returns (t, t_boot, p).

    Ties: draws whose weights are equal in every cluster reproduce +-t exactly in exact
    arithmetic and are never counted as strictly more extreme (boottest convention)."""
    labels, codes = np.unique(g, return_inverse=True)
    others = np.delete(X, j, axis=1)
    y_r = y - beta0 * X[:, j]
    gamma = np.linalg.lstsq(others, y_r, rcond=None)[0]
    fitted = beta0 * X[:, j] + others @ gamma
    u_tilde = y - fitted
    t = _crv1_t(X, y, g, j, beta0)
    t_boot = np.array([_crv1_t(X, fitted + u_tilde * w[codes], g, j, beta0) for w in W])
    tie = np.all(W == W[:, :1], axis=1)
    if p_value_type == "symmetric":
        p = np.sum((np.abs(t_boot) > abs(t)) & ~tie) / len(W)
    else:
        lo = np.sum((t_boot < t) & ~tie) + np.sum(tie & (W[:, 0] < 0) & (-t < t))
        hi = np.sum((t_boot > t) & ~tie) + np.sum(tie & (W[:, 0] < 0) & (-t > t))
        p = min(1.0, 2 * min(lo, hi) / len(W))
    return t, t_boot, p


@pytest.fixture(scope="module")
def tiny():
    """Simulated data: 6 clusters of unequal size (3..12), k = 3 regressors."""
    rng = np.random.default_rng(7)
    sizes = np.array([3, 5, 8, 12, 4, 9])
    g = np.repeat(np.arange(10, 16), sizes)  # non-zero-based labels on purpose
    n = len(g)
    common = rng.normal(size=6)[g - 10]
    x = rng.normal(size=n) + common
    z = rng.normal(size=n)
    y = 0.5 + 0.2 * x - 0.3 * z + common + rng.normal(size=n)
    return np.column_stack([np.ones(n), x, z]), y, g


# ----------------------------------------------------------------------- (a) wildboottest


def test_enumeration_order_matches_itertools_product():
    expected = np.array(list(itertools.product([-1, 1], repeat=5)), dtype=float)
    np.testing.assert_array_equal(rademacher_enumeration(5), expected)
    np.testing.assert_array_equal(rademacher_enumeration(5, 7, 19), expected[7:19])


@pytest.mark.parametrize(("param", "j"), [("const", 0), ("x", 1)])
def test_full_enumeration_matches_wildboottest(petersen, param, j):
    """12 firms: 2**12 = 4096 <= 9999 draws, so both packages enumerate all sign vectors."""
    X, y, g = _arrays(petersen[petersen["firm"] <= 12])
    ours = wild_cluster_bootstrap(X, y, g, j, B=9999, seed=3, ci=False)
    t_ref, p_ref = _wildboottest(X, y, g, param, B=9999, seed=3)
    assert ours.enumerated and ours.n_draws == 4096
    assert ours.t_stat == pytest.approx(t_ref, rel=1e-10)
    assert abs(ours.p_value - p_ref) <= 1e-6


def test_bootstrap_t_distribution_matches_wildboottest_draw_by_draw(petersen):
    from wildboottest.wildboottest import WildboottestCL

    X, y, g = _arrays(petersen[petersen["firm"] <= 12])
    wb = WildboottestCL(X=X, Y=y, cluster=g, R=np.array([0.0, 1.0]), B=9999, seed=1)
    wb.get_scores(bootstrap_type="11", impose_null=True)
    wb.get_weights(weights_type="rademacher")
    wb.get_numer()
    wb.get_denom()
    wb.get_tboot()
    np.testing.assert_array_equal(wb.v.T, rademacher_enumeration(12))
    _, t_boot = wild_bootstrap_t_stats(X, y, g, 1, wb.v.T)
    np.testing.assert_allclose(t_boot, wb.t_boot, rtol=1e-9, atol=1e-12)


def test_many_clusters_matches_wildboottest_within_monte_carlo_error(petersen):
    """All 500 firms, intercept (p ~ 0.66): wildboottest B = 9999 vs ours B = 99999; the
    Monte Carlo s.d. of the difference is ~0.005, tolerance 0.02."""
    X, y, g = _arrays(petersen)
    t_ref, p_ref = _wildboottest(X, y, g, "const", B=9999, seed=11)
    ours = wild_cluster_bootstrap(X, y, g, 0, B=99999, seed=11, ci=False)
    assert not ours.enumerated and ours.n_draws == 99999
    assert ours.t_stat == pytest.approx(t_ref, rel=1e-10)
    assert abs(ours.p_value - p_ref) < 0.02


# ----------------------------------------------------------------------- (b) slow reference


@pytest.mark.parametrize(("j", "beta0"), [(1, 0.0), (1, 0.4), (2, -0.1), (0, 1.0)])
@pytest.mark.parametrize("p_value_type", ["symmetric", "equal-tailed"])
def test_enumerated_bootstrap_equals_refit_reference(tiny, j, beta0, p_value_type):
    X, y, g = tiny
    W = rademacher_enumeration(6)
    t_ref, t_boot_ref, p_ref = _slow_wcr(X, y, g, j, beta0, W, p_value_type)
    t, t_boot = wild_bootstrap_t_stats(X, y, g, j, W, beta0=beta0)
    np.testing.assert_allclose(t, t_ref, rtol=1e-10)
    np.testing.assert_allclose(t_boot, t_boot_ref, rtol=1e-10, atol=1e-12)
    res = wild_cluster_bootstrap(
        X, y, g, j, beta0=beta0, B=999, seed=0, ci=False, p_value_type=p_value_type
    )
    assert res.enumerated and res.n_draws == 64
    assert abs(res.p_value - p_ref) <= 1e-10


@pytest.mark.parametrize("weights", ["webb", "mammen"])
def test_random_weights_equal_refit_reference(tiny, weights):
    X, y, g = tiny
    W = draw_weights(weights, 300, 6, np.random.default_rng(5))
    t_ref, t_boot_ref, _ = _slow_wcr(X, y, g, 1, 0.1, W)
    t, t_boot = wild_bootstrap_t_stats(X, y, g, 1, W, beta0=0.1)
    np.testing.assert_allclose(t, t_ref, rtol=1e-10)
    np.testing.assert_allclose(t_boot, t_boot_ref, rtol=1e-10, atol=1e-12)


def test_weight_distributions_have_mean_zero_variance_one():
    rng = np.random.default_rng(2)
    for weights, support in [("rademacher", 2), ("webb", 6), ("mammen", 2)]:
        w = draw_weights(weights, 200_000, 1, rng)[:, 0]
        assert len(np.unique(w)) == support
        assert abs(w.mean()) < 0.01 and abs(w.var() - 1) < 0.01  # 4+ Monte Carlo s.d.


# ----------------------------------------------------------------------- (c) CI inversion


@pytest.mark.parametrize(
    ("weights", "B", "p_value_type"),
    [("rademacher", 9999, "symmetric"), ("webb", 1999, "symmetric"), ("webb", 1999, "equal-tailed")],
)
def test_ci_bounds_are_where_the_p_value_crosses_alpha(petersen, weights, B, p_value_type):
    X, y, g = _arrays(petersen[petersen["firm"] <= 12])
    kw = dict(B=B, weights=weights, seed=21, p_value_type=p_value_type)
    res = wild_cluster_bootstrap(X, y, g, 1, alpha=0.05, **kw)
    assert res.ci_low < res.coef < res.ci_high
    delta = 1e-7 * res.se
    for bound, inward in [(res.ci_low, 1.0), (res.ci_high, -1.0)]:
        p_in = wild_cluster_bootstrap(X, y, g, 1, beta0=bound + inward * delta, ci=False, **kw).p_value
        p_out = wild_cluster_bootstrap(X, y, g, 1, beta0=bound - inward * delta, ci=False, **kw).p_value
        assert p_in >= 0.05 > p_out
        assert abs(p_in - 0.05) <= 3.0 / res.n_draws  # the step of the p-value function


def test_ci_is_close_to_the_t_interval_with_many_clusters(petersen):
    """With 500 clusters the bootstrap CI should be close to b +- 1.96 se (within 10%)."""
    X, y, g = _arrays(petersen)
    res = wild_cluster_bootstrap(X, y, g, 1, B=9999, seed=5)
    half = 1.959964 * res.se
    assert abs(res.ci_low - (res.coef - half)) < 0.1 * half
    assert abs(res.ci_high - (res.coef + half)) < 0.1 * half


# ----------------------------------------------------------------------- (d) determinism


def test_same_seed_same_result_and_seed_matters(tiny):
    X, y, g = tiny
    a = wild_cluster_bootstrap(X, y, g, 1, B=999, weights="webb", seed=123)
    b = wild_cluster_bootstrap(X, y, g, 1, B=999, weights="webb", seed=123)
    c = wild_cluster_bootstrap(X, y, g, 1, B=999, weights="webb", seed=124)
    assert a == b
    assert (a.p_value, a.ci_low, a.ci_high) != (c.p_value, c.ci_low, c.ci_high)
    assert a.seed == 123 and not a.enumerated


def test_inputs_are_not_mutated(tiny):
    X, y, g = tiny
    X0, y0, g0 = X.copy(), y.copy(), g.copy()
    wild_cluster_bootstrap(X, y, g, 1, B=99, weights="webb", seed=1)
    assert np.array_equal(X, X0) and np.array_equal(y, y0) and np.array_equal(g, g0)


def test_small_sample_factor_changes_t_but_not_p_or_ci(tiny):
    X, y, g = tiny
    a = wild_cluster_bootstrap(X, y, g, 1, B=999, seed=9, small_sample=True)
    b = wild_cluster_bootstrap(X, y, g, 1, B=999, seed=9, small_sample=False)
    n, k, G = len(y), 3, 6
    assert a.t_stat * np.sqrt(G / (G - 1) * (n - 1) / (n - k)) == pytest.approx(b.t_stat, rel=1e-12)
    assert a.p_value == b.p_value
    assert a.ci_low == pytest.approx(b.ci_low, abs=1e-9) and a.ci_high == pytest.approx(b.ci_high, abs=1e-9)


# ----------------------------------------------------------------------- FWL with fixed effects


def _panel(seed=3, G=8, T=6):
    """Simulated country-year panel with country and year effects."""
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(G), T)
    year = np.tile(np.arange(T), G)
    a = rng.normal(size=G)[unit]
    d = rng.normal(size=T)[year]
    x = rng.normal(size=G * T) + a + d
    y = 0.2 * x + a + d + rng.normal(size=G * T) * (1 + unit / G)
    cd = (unit[:, None] == np.arange(G)).astype(float)
    yd = (year[:, None] == np.arange(1, T)).astype(float)
    return x, y, unit, cd, yd


def _demean(v, codes):
    v = np.asarray(v, dtype=float)
    means = np.stack([np.bincount(codes, weights=col) for col in np.atleast_2d(v.T)]) / np.bincount(codes)
    return v - means.T[codes].reshape(v.shape)


def test_partialling_nested_fe_is_exact_and_non_nested_must_be_columns():
    x, y, unit, cd, yd = _panel()
    W = rademacher_enumeration(8)
    # country FE nested in country clusters: demeaned data == dummy regression (same K)
    full = np.column_stack([x, cd])
    t_full, tb_full = wild_bootstrap_t_stats(full, y, unit, 0, W, beta0=0.1)
    t_dm, tb_dm = wild_bootstrap_t_stats(_demean(x, unit)[:, None], _demean(y, unit), unit, 0, W,
                                         beta0=0.1, k_absorbed=8)
    assert t_dm == pytest.approx(t_full, rel=1e-10)
    np.testing.assert_allclose(tb_dm, tb_full, rtol=1e-9, atol=1e-12)
    # two-way FE, recommended route: partial country FE, keep year dummies as columns
    full2 = np.column_stack([x, cd, yd])
    t_full2, tb_full2 = wild_bootstrap_t_stats(full2, y, unit, 0, W)
    mixed = _demean(np.column_stack([x, yd]), unit)
    t_mix, tb_mix = wild_bootstrap_t_stats(mixed, _demean(y, unit), unit, 0, W, k_absorbed=8)
    assert t_mix == pytest.approx(t_full2, rel=1e-10)
    np.testing.assert_allclose(tb_mix, tb_full2, rtol=1e-9, atol=1e-12)
    # partialling the non-nested year FE changes the bootstrap denominators
    year = np.tile(np.arange(6), 8)
    both = _demean(_demean(np.column_stack([x, y]), unit), year)  # balanced: exact two-way
    t_bad, tb_bad = wild_bootstrap_t_stats(both[:, :1], both[:, 1], unit, 0, W, k_absorbed=13)
    assert t_bad == pytest.approx(t_full2, rel=1e-10)  # the original t is still exact
    assert np.max(np.abs(tb_bad - tb_full2)) > 1e-3


# ----------------------------------------------------------------------- memory and errors


def test_memory_does_not_grow_with_draws_times_observations():
    """Simulated: n = 2000, G = 50, B = 99999; a draws x observations matrix would be 1.6 GB."""
    rng = np.random.default_rng(0)
    g = np.repeat(np.arange(50), 40)
    X = np.column_stack([np.ones(2000), rng.normal(size=2000)])
    y = rng.normal(size=2000)
    tracemalloc.start()
    wild_cluster_bootstrap(X, y, g, 1, B=99999, seed=1, ci=True)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 40e6


def test_invalid_arguments_raise_specification_error(tiny):
    X, y, g = tiny
    with pytest.raises(SpecificationError, match="weights"):
        wild_cluster_bootstrap(X, y, g, 1, seed=1, weights="normal")  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match="B must"):
        wild_cluster_bootstrap(X, y, g, 1, seed=1, B=0)
    with pytest.raises(SpecificationError, match="seed"):
        wild_cluster_bootstrap(X, y, g, 1, seed=None)  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match="out of range"):
        wild_cluster_bootstrap(X, y, g, 3, seed=1)
    with pytest.raises(SpecificationError, match="alpha"):
        wild_cluster_bootstrap(X, y, g, 1, seed=1, alpha=1.5)
    with pytest.raises(SpecificationError, match="rank deficient"):
        wild_cluster_bootstrap(np.column_stack([X, X[:, 1]]), y, g, 1, seed=1)
    with pytest.raises(SpecificationError, match="t-test is undefined"):
        wild_cluster_bootstrap(X, X @ np.array([1.0, 2.0, 3.0]), g, 1, seed=1)  # exact fit


# ----------------------------------------------------------------------- (e) size


def _size_sample(rng, G=10):
    """Simulated null DGP: 10 clusters of 15..45 observations, cluster-correlated regressor and
    error (intra-cluster correlation 0.5 each), true slope 0."""
    sizes = rng.integers(15, 46, size=G)
    g = np.repeat(np.arange(G), sizes)
    n = len(g)
    x = rng.normal(size=G)[g] + rng.normal(size=n)
    u = rng.normal(size=G)[g] + rng.normal(size=n)
    return np.column_stack([np.ones(n), x]), 1.0 + u, g


@pytest.mark.slow
@pytest.mark.parametrize("weights", ["rademacher", "webb"])
def test_size_under_the_null_with_ten_clusters(weights):
    """Rejection rate at 5% in [0.02, 0.09]: 2000 replications by default (s.d. 0.005),
    20000 with SAHEL_CAUSAL_FULL_MC=1."""
    reps = 20000 if FULL_MC else 2000
    rng = np.random.default_rng(20250101)
    rejections = 0
    for r in range(reps):
        X, y, g = _size_sample(rng)
        B = 9999 if weights == "rademacher" else 999  # 2**10 = 1024 <= 9999: enumeration
        res = wild_cluster_bootstrap(X, y, g, 1, B=B, weights=weights, seed=r, ci=False)
        assert res.enumerated == (weights == "rademacher")
        rejections += res.p_value < 0.05
    rate = rejections / reps
    assert 0.02 <= rate <= 0.09, rate


def test_direct_recomputation_path_agrees(tiny, monkeypatch):
    """Force every draw through the cancellation fallback (direct cluster-score formula): the
    t* must equal both the fast expansion and the refit reference."""
    import sahel_causal.inference.wild_bootstrap as wb

    X, y, g = tiny
    W = np.vstack([rademacher_enumeration(6), draw_weights("webb", 50, 6, np.random.default_rng(1))])
    _, fast = wild_bootstrap_t_stats(X, y, g, 1, W, beta0=0.2)
    ci_fast = wild_cluster_bootstrap(X, y, g, 1, B=999, weights="webb", seed=4)
    monkeypatch.setattr(wb, "_CANCELLATION_RTOL", 1e300)  # every draw
    _, direct = wild_bootstrap_t_stats(X, y, g, 1, W, beta0=0.2)
    _, ref, _ = _slow_wcr(X, y, g, 1, 0.2, W)
    np.testing.assert_allclose(direct, fast, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(direct, ref, rtol=1e-10, atol=1e-12)
    ci_direct = wild_cluster_bootstrap(X, y, g, 1, B=999, weights="webb", seed=4)
    assert ci_direct.p_value == ci_fast.p_value
    assert ci_direct.ci_low == pytest.approx(ci_fast.ci_low, rel=1e-9)
    assert ci_direct.ci_high == pytest.approx(ci_fast.ci_high, rel=1e-9)


# ----------------------------------------------------------------------- (e) disjoint confidence sets


def _disjoint_case():
    """Simulated: 4 clusters of 3 (seed 11): the WCR acceptance region is two disjoint intervals."""
    rng = np.random.default_rng(11)
    G, m = int(rng.integers(4, 9)), int(rng.integers(3, 8))  # 4 and 3 (found by a search over seeds)
    assert (G, m) == (4, 3)
    g = np.repeat(np.arange(G), m)
    n = len(g)
    x = rng.normal(size=n) * np.exp(rng.normal(size=G))[g]
    y = rng.standard_t(2, size=n) * np.exp(rng.normal(size=G))[g]
    return np.column_stack([np.ones(n), x]), y, g


@pytest.mark.parametrize("p_value_type", ["symmetric", "equal-tailed"])
def test_confidence_set_is_the_whole_acceptance_region_even_when_disjoint(p_value_type):
    """All 16 sign vectors; the p-value at every grid point is recomputed by refitting each bootstrap
    sample from scratch (_slow_wcr). Membership in the returned set must agree everywhere except
    within a hair of a boundary. Before the fix only the interval holding the estimate was found."""
    X, y, g = _disjoint_case()
    res = wild_cluster_bootstrap(X, y, g, 1, B=999, seed=1, p_value_type=p_value_type)
    assert res.enumerated and res.n_draws == 16
    W = rademacher_enumeration(4)
    grid = np.linspace(res.coef - 8 * res.se, res.coef + 12 * res.se, 801)
    p_ref = np.array([_slow_wcr(X, y, g, 1, b, W, p_value_type)[2] for b in grid])
    inside = np.array([any(lo <= b <= hi for lo, hi in res.ci_set) for b in grid])
    edges = np.array([lo for lo, _ in res.ci_set] + [hi for _, hi in res.ci_set])
    near = np.min(np.abs(grid[:, None] - edges[None, :]), axis=1) < 1e-6 * res.se
    np.testing.assert_array_equal(inside[~near], (p_ref >= 0.05)[~near])
    if p_value_type == "symmetric":
        assert len(res.ci_set) == 2 and res.ci_is_hull
    assert (res.ci_low, res.ci_high) == (res.ci_set[0][0], res.ci_set[-1][1])
    gaps = [(a[1], b[0]) for a, b in zip(res.ci_set, res.ci_set[1:])]
    for lo, hi in gaps:  # the hull contains rejected values
        assert _slow_wcr(X, y, g, 1, 0.5 * (lo + hi), W, p_value_type)[2] < 0.05


def test_confidence_set_is_one_interval_in_a_regular_case(tiny):
    res = wild_cluster_bootstrap(tiny[0], tiny[1], tiny[2], 1, B=999, seed=3)
    assert len(res.ci_set) == 1 and not res.ci_is_hull
    assert res.ci_set[0] == (res.ci_low, res.ci_high)
