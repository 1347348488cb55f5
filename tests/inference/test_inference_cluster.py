"""CRV1 and CRV3 (sahel_causal.inference.cluster) against statsmodels, linearmodels, pyfixest,
Petersen's (2009) published values and brute-force leave-one-cluster-out loops."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sahel_causal.errors import SpecificationError
from sahel_causal.inference.cluster import (
    crv1,
    crv1_small_sample_factor,
    crv3,
    jackknife_coefficients,
)

RTOL_IMPL = 1e-8  # other implementations of the same formula (closed form, no iteration)
RTOL_FE = 1e-6  # pyfixest demeans fixed effects iteratively (its own convergence tolerance)
RTOL_PUBLISHED = 1e-3  # Petersen's website reports four decimals


@pytest.fixture(scope="module")
def petersen(validation_dir) -> pd.DataFrame:
    """Petersen (2009) test data, 500 firms x 10 years (copy of R sandwich::PetersenCL)."""
    return pd.read_csv(validation_dir / "petersen" / "PetersenCL.csv")


def _design(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    return np.column_stack([np.ones(len(df)), df["x"].to_numpy()]), df["y"].to_numpy()


def _ols_resid(X: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    b = np.linalg.lstsq(X, y, rcond=None)[0]
    return b, y - X @ b


def _two_way_demean(df: pd.DataFrame, col: str) -> np.ndarray:
    """Exact firm + year demeaning; PetersenCL is a balanced panel."""
    v = df[col]
    return (
        v - v.groupby(df["firm"]).transform("mean") - v.groupby(df["year"]).transform("mean") + v.mean()
    ).to_numpy()


# ----------------------------------------------------------------------------- CRV1


@pytest.mark.parametrize("by", ["firm", "year"])
def test_crv1_matches_statsmodels(petersen, by):
    import statsmodels.api as sm

    X, y = _design(petersen)
    _, u = _ols_resid(X, y)
    ours = crv1(X, u, petersen[by].to_numpy())
    ref = sm.OLS(y, X).fit(cov_type="cluster", cov_kwds={"groups": petersen[by].to_numpy()})
    np.testing.assert_allclose(ours, ref.cov_params(), rtol=RTOL_IMPL, atol=0)


def test_crv1_matches_linearmodels_panelols(petersen):
    from linearmodels.panel import PanelOLS

    X, y = _design(petersen)
    _, u = _ols_resid(X, y)
    ours = crv1(X, u, petersen["firm"].to_numpy())
    panel = petersen.set_index(["firm", "year"]).assign(const=1.0)
    # linearmodels: debiased -> n/(n-k), group_debias -> G/(G-1)*(n-1)/n; product = Stata factor
    ref = PanelOLS(panel["y"], panel[["const", "x"]]).fit(
        cov_type="clustered", cluster_entity=True, debiased=True, group_debias=True
    )
    np.testing.assert_allclose(ours, ref.cov.to_numpy(), rtol=RTOL_IMPL, atol=0)


def test_crv1_reproduces_petersen_published_values(petersen):
    """Petersen's web page: OLS slope 1.0348, SE clustered by firm 0.0506, by year 0.0334."""
    X, y = _design(petersen)
    b, u = _ols_resid(X, y)
    se_firm = np.sqrt(np.diag(crv1(X, u, petersen["firm"].to_numpy())))
    se_year = np.sqrt(np.diag(crv1(X, u, petersen["year"].to_numpy())))
    np.testing.assert_allclose(b[1], 1.0348, rtol=RTOL_PUBLISHED)
    np.testing.assert_allclose(se_firm[1], 0.0506, rtol=RTOL_PUBLISHED)
    np.testing.assert_allclose(se_year[1], 0.0334, rtol=RTOL_PUBLISHED)


@pytest.mark.parametrize(
    ("fml", "kwargs"),
    [
        ("y ~ x | firm", {"fe_nested": True}),  # firm FE nested in firm clusters: K = 1 + 1
        ("y ~ x | year", {"k_absorbed": 10}),  # 10 year FE, not nested: K = 1 + 10
        ("y ~ x | firm + year", {"k_absorbed": 10}),  # 500 + 10 - 1 - 500 nested + 1 = 10
    ],
)
def test_crv1_fixed_effect_dof_follows_pyfixest(petersen, fml, kwargs):
    import pyfixest as pf

    fe = fml.split("|")[1].strip()
    if fe == "firm":
        x = (petersen["x"] - petersen.groupby("firm")["x"].transform("mean")).to_numpy()
        y = (petersen["y"] - petersen.groupby("firm")["y"].transform("mean")).to_numpy()
    elif fe == "year":
        x = (petersen["x"] - petersen.groupby("year")["x"].transform("mean")).to_numpy()
        y = (petersen["y"] - petersen.groupby("year")["y"].transform("mean")).to_numpy()
    else:
        x, y = _two_way_demean(petersen, "x"), _two_way_demean(petersen, "y")
    X = x[:, None]
    _, u = _ols_resid(X, y)
    ours = crv1(X, u, petersen["firm"].to_numpy(), **kwargs)[0, 0]
    fit = pf.feols(fml, data=petersen, vcov={"CRV1": "firm"})
    np.testing.assert_allclose(ours, fit.se()["x"] ** 2, rtol=RTOL_FE)


def test_crv1_without_small_sample_factor_is_plain_sandwich(petersen):
    X, y = _design(petersen)
    _, u = _ols_resid(X, y)
    g = petersen["firm"].to_numpy()
    factor = crv1_small_sample_factor(len(y), 2, 500)
    np.testing.assert_allclose(factor, 500 / 499 * 4999 / 4998, rtol=1e-15)
    np.testing.assert_allclose(crv1(X, u, g), factor * crv1(X, u, g, small_sample=False), rtol=1e-13)


def test_crv1_does_not_mutate_inputs(petersen):
    X, y = _design(petersen)
    _, u = _ols_resid(X, y)
    g = petersen["firm"].to_numpy()
    X0, u0, g0 = X.copy(), u.copy(), g.copy()
    crv1(X, u, g)
    assert np.array_equal(X, X0) and np.array_equal(u, u0) and np.array_equal(g, g0)


# ----------------------------------------------------------------------------- CRV3


def test_crv3_matches_pyfixest(petersen):
    import pyfixest as pf

    X, y = _design(petersen)
    ours = crv3(X, y, petersen["firm"].to_numpy())
    fit = pf.feols("y ~ x", data=petersen, vcov={"CRV3": "firm"}, ssc=pf.ssc(k_adj=False, G_adj=False))
    # pyfixest scales sum_g (b_g - b)(b_g - b)' by its CRV1 factor; ssc off -> factor 1
    G = 500
    np.testing.assert_allclose(
        np.diag(ours), (G - 1) / G * fit.se().to_numpy() ** 2, rtol=RTOL_IMPL, atol=0
    )


def _brute_force_jackknife(X, y, g):
    return np.array([np.linalg.lstsq(X[g != c], y[g != c], rcond=None)[0] for c in np.unique(g)])


@pytest.mark.parametrize("center", ["estimate", "mean"])
def test_crv3_matches_brute_force_leave_one_cluster_out(petersen, center):
    sub = petersen[petersen["firm"] <= 40]
    X, y = _design(sub)
    g = sub["firm"].to_numpy()
    jack = _brute_force_jackknife(X, y, g)
    np.testing.assert_allclose(jackknife_coefficients(X, y, g), jack, rtol=1e-10)
    b = np.linalg.lstsq(X, y, rcond=None)[0] if center == "estimate" else jack.mean(axis=0)
    G = jack.shape[0]
    expected = (G - 1) / G * (jack - b).T @ (jack - b)
    np.testing.assert_allclose(crv3(X, y, g, center=center), expected, rtol=1e-10)


def test_crv3_on_demeaned_nested_fe_equals_refit_with_dummies():
    """Simulated panel (8 clusters x 5 periods, cluster FE nested in clusters): CRV3 of x from
    cluster-demeaned data equals the jackknife that refits y ~ x + cluster dummies."""
    rng = np.random.default_rng(20240501)
    G, T = 8, 5
    g = np.repeat(np.arange(G), T)
    alpha = rng.normal(size=G)[g]
    x = rng.normal(size=G * T) + 0.5 * alpha
    y = 0.3 * x + alpha + rng.normal(size=G * T)
    frame = pd.DataFrame({"g": g, "x": x, "y": y})
    xd = (frame["x"] - frame.groupby("g")["x"].transform("mean")).to_numpy()
    yd = (frame["y"] - frame.groupby("g")["y"].transform("mean")).to_numpy()
    ours = crv3(xd[:, None], yd, g)[0, 0]
    dummies = (g[:, None] == np.arange(G)[None, :]).astype(float)
    full = np.column_stack([x, dummies])
    b_full = np.linalg.lstsq(full, y, rcond=None)[0][0]
    jack = []
    for c in range(G):
        keep = g != c
        cols = np.r_[0, 1 + np.setdiff1d(np.arange(G), [c])]
        jack.append(np.linalg.lstsq(full[keep][:, cols], y[keep], rcond=None)[0][0])
    jack = np.array(jack)
    np.testing.assert_allclose(ours, (G - 1) / G * np.sum((jack - b_full) ** 2), rtol=1e-10)


# ----------------------------------------------------------------------------- errors


def test_errors_are_named_and_actionable():
    """Simulated inputs that must be refused."""
    rng = np.random.default_rng(1)
    X = np.column_stack([np.ones(20), rng.normal(size=20)])
    y = rng.normal(size=20)
    g = np.repeat(np.arange(4), 5)
    with pytest.raises(SpecificationError, match="rank deficient"):
        crv1(np.column_stack([X, X[:, 1]]), y, g)
    with pytest.raises(SpecificationError, match="at least 2 clusters"):
        crv1(X, y, np.zeros(20))
    with pytest.raises(SpecificationError, match="one cluster code per observation"):
        crv1(X, y, g[:-1])
    with pytest.raises(SpecificationError, match="NaN"):
        crv1(X, np.r_[y[:-1], np.nan], g)
    # a regressor non-zero only in cluster 0: leaving that cluster out is not identified
    only_one = np.where(g == 0, rng.normal(size=20), 0.0)
    with pytest.raises(SpecificationError, match="CRV3 jackknife is undefined"):
        crv3(np.column_stack([X, only_one]), y, g)
    with pytest.raises(SpecificationError, match="center"):
        crv3(X, y, g, center="median")  # type: ignore[arg-type]
