"""Analytic-derivative conditional logit (used for CRV3 refits): the vectorised (padded) kernel against
the per-group reference, brute-force enumeration and the statsmodels-based estimator."""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from sahel_causal.inference.clogit_fast import (
    _group_terms_reference,
    clogit_coefficients,
    clogit_newton,
    pad_groups,
    total,
    total_padded,
    total_reference,
)
from sahel_causal.models import conditional_logit
from sahel_causal.pipeline import load_panel
from sahel_causal.specs import load_spec, parse_spec
from sahel_causal.specs.transform import derive_all, select_sample

SPECS = Path(__file__).resolve().parents[2] / "analysis" / "specs"


def assert_rel(got, ref, rel: float, scale: float | None = None) -> None:
    """max |got - ref| <= rel * scale, scale = max |ref| unless given: relative to the object's size, so
    entries that cancel to ~0 (e.g. off-diagonal Hessian terms) are held to the precision of the largest."""
    got, ref = np.asarray(got, dtype=float), np.asarray(ref, dtype=float)
    assert got.shape == ref.shape
    scale = float(np.max(np.abs(ref))) if scale is None else scale
    err = float(np.max(np.abs(got - ref)))
    assert err <= rel * scale, f"max abs error {err:.3g} > {rel:g} * {scale:.3g}"


def first_moment_scale(X, y, groups, beta) -> float:
    """max over groups of max_j E[z_j]^2, z = sum of x over the periods with an event (under the
    conditional distribution): the size of the two terms whose difference is the Hessian."""
    out = 0.0
    for j in np.unique(groups):
        rows = groups == j
        Ez = X[rows].T @ y[rows] - _group_terms_reference(X[rows], y[rows], beta)[1]
        out = max(out, float(np.max(Ez ** 2)))
    return out


def random_design(rng, sizes, events, k=4, scale=1.0):
    """Groups of the given lengths and event counts (event periods at random), N(0, scale^2) regressors,
    rows of the groups interleaved (the layout must follow the group codes, not the row order)."""
    groups = np.repeat(np.arange(len(sizes)), sizes)
    X = rng.normal(size=(sum(sizes), k)) * scale
    y = np.zeros(sum(sizes))
    start = 0
    for T_i, n_i in zip(sizes, events):
        y[start + rng.choice(T_i, size=n_i, replace=False)] = 1.0
        start += T_i
    perm = rng.permutation(len(y))
    return X[perm], y[perm], groups[perm]


def brute_group(X, y, beta):
    """log L_i by enumerating all C(T, n) arrangements of the events."""
    T, n = len(y), int(y.sum())
    den = sum(np.exp(X[list(c)].sum(axis=0) @ beta) for c in itertools.combinations(range(T), n))
    return float(y @ X @ beta - np.log(den))


# --------------------------------------------------------------------------- exactness of the kernels
def test_group_derivatives_match_brute_force_enumeration():
    """Both kernels: log L_i by enumerating all C(T, n) subsets; gradient and Hessian by finite differences."""
    rng = np.random.default_rng(0)
    X, y, b = rng.normal(size=(7, 3)), np.array([1, 0, 0, 1, 0, 1, 0.0]), rng.normal(size=3) * 0.5
    one = np.zeros(7, dtype=int)

    def padded(beta):
        return total_padded(pad_groups(X, y, one), beta)

    for terms in (lambda beta: _group_terms_reference(X, y, beta), padded):
        ll, g, H = terms(b)
        assert ll == pytest.approx(brute_group(X, y, b), rel=1e-12)
        eps = 1e-6
        g_fd = np.array([(brute_group(X, y, b + eps * e) - brute_group(X, y, b - eps * e)) / (2 * eps)
                         for e in np.eye(3)])
        np.testing.assert_allclose(g, g_fd, rtol=1e-6, atol=1e-8)
        H_fd = np.array([(terms(b + eps * e)[1] - terms(b - eps * e)[1]) / (2 * eps) for e in np.eye(3)])
        np.testing.assert_allclose(H, H_fd, rtol=1e-5, atol=1e-7)


DESIGNS = {
    # group lengths and events; unequal lengths, so most groups carry padded periods
    "unequal lengths, n from 1 to T-1": ([2, 3, 5, 8, 13, 4, 9], [1, 2, 1, 7, 6, 3, 4]),
    "n = T - 1 everywhere": ([3, 6, 2, 10], [2, 5, 1, 9]),
    "single events, one long group": ([2, 21, 4, 3], [1, 1, 1, 2]),
    "single group": ([11], [4]),
    "groups without variation (n = 0, n = T) contribute log L = 0": ([5, 4, 6, 3], [0, 2, 6, 3]),
}


@pytest.mark.parametrize("name", list(DESIGNS))
@pytest.mark.parametrize("case", ["plain", "wide", "level"])
def test_padded_kernel_equals_per_group_reference(name, case):
    """Log-likelihood, gradient and Hessian, vectorised vs per group, to 1e-12 relative.

    ``wide``: x'b spreads over tens within a group (u_t down to ~1e-20 after scaling). ``level``: a
    slowly varying regressor at level 8 (like log GDP per capita) with coefficient 100, so that
    |x'b| > 710 everywhere and exp(x'b) overflows unless scaled within the group.

    Both kernels compute the Hessian as a second moment minus the outer product of the first moment,
    E[zz'] - E[z]E[z]', and round differently (the padded one reads the second moment off
    leave-one-period-out polynomials); when both terms are much larger than their difference (regressors
    at a level, or a conditional distribution concentrated on few arrangements) each kernel is only
    accurate to about 1e-16 times their size (checked against exact values in
    :func:`test_kernels_match_exact_values_at_large_levels`). The Hessian is therefore compared
    relative to max(max |H|, max_j E[z_j]^2)."""
    sizes, events = DESIGNS[name]
    rng = np.random.default_rng([list(DESIGNS).index(name), ["plain", "wide", "level"].index(case)])
    for _ in range(3):
        X, y, groups = random_design(rng, sizes, events, k=4, scale=4.0 if case == "wide" else 1.0)
        beta = rng.normal(size=4)
        if case == "level":
            X[:, 0] = 8.0 + 0.05 * X[:, 0]
            beta[0] = 100.0
            assert np.min(np.abs(X @ beta)) > 710
        ll_r, g_r, H_r = total_reference(X, y, groups, beta)
        ll_p, g_p, H_p = total_padded(pad_groups(X, y, groups), beta)
        assert np.isfinite(ll_p) and np.all(np.isfinite(g_p)) and np.all(np.isfinite(H_p))
        assert ll_p == pytest.approx(ll_r, rel=1e-12)
        assert_rel(g_p, g_r, 1e-12)
        assert_rel(H_p, H_r, 1e-12, max(float(np.max(np.abs(H_r))), first_moment_scale(X, y, groups, beta)))
        np.testing.assert_array_equal(H_p, H_p.T)
        assert total(X, y, groups, beta)[0] == ll_p
        assert total(X, y, groups, beta, kernel="per_group")[0] == ll_r


def exact_terms(X, y, groups, beta):
    """Log-likelihood, gradient and Hessian by enumerating every arrangement of the events, in 60-digit
    decimal arithmetic (exp and log included), the Hessian as the covariance of z itself."""
    from decimal import Decimal, localcontext

    k = X.shape[1]
    with localcontext() as ctx:
        ctx.prec = 60
        b = [Decimal(float(v)) for v in beta]
        ll, g, H = Decimal(0), [Decimal(0)] * k, [[Decimal(0)] * k for _ in range(k)]
        for j in np.unique(groups):
            Xg, yg = X[groups == j], y[groups == j]
            xd = [[Decimal(float(v)) for v in row] for row in Xg]
            zs = [[sum((xd[t][i] for t in c), Decimal(0)) for i in range(k)]
                  for c in itertools.combinations(range(len(yg)), int(yg.sum()))]
            etas = [sum((z[i] * b[i] for i in range(k)), Decimal(0)) for z in zs]
            top = max(etas)
            w = [(e - top).exp() for e in etas]
            W = sum(w)
            Ez = [sum(wi * z[i] for wi, z in zip(w, zs)) / W for i in range(k)]
            zy = [sum((xd[t][i] for t in range(len(yg)) if yg[t] == 1), Decimal(0)) for i in range(k)]
            ll += sum(zy[i] * b[i] for i in range(k)) - (W.ln() + top)
            for i in range(k):
                g[i] += zy[i] - Ez[i]
                for m in range(k):
                    H[i][m] -= sum(wi * (z[i] - Ez[i]) * (z[m] - Ez[m]) for wi, z in zip(w, zs)) / W
        return float(ll), np.array([float(v) for v in g]), np.array([[float(v) for v in r] for r in H])


def test_kernels_match_exact_values_at_large_levels():
    """Against exact values, both kernels are accurate to ~1e-16 x E[z]^2 in the Hessian (and far better
    in the log-likelihood and gradient), also when x'b is in the hundreds and must be scaled."""
    rng = np.random.default_rng(11)
    for _ in range(3):
        X, y, groups = random_design(rng, [2, 3, 5, 8, 4], [1, 2, 1, 4, 3], k=3)
        beta = rng.normal(size=3)
        X[:, 0] = 8.0 + 0.05 * X[:, 0]
        beta[0] = 100.0
        ll_e, g_e, H_e = exact_terms(X, y, groups, beta)
        scale = max(float(np.max(np.abs(H_e))), first_moment_scale(X, y, groups, beta))
        for ll, g, H in (total_reference(X, y, groups, beta), total_padded(pad_groups(X, y, groups), beta)):
            assert ll == pytest.approx(ll_e, rel=1e-13)
            assert_rel(g, g_e, 1e-13, np.sqrt(first_moment_scale(X, y, groups, beta)))
            assert_rel(H, H_e, 1e-13, scale)


def test_padding_adds_nothing():
    """Padded periods (u = 0, x = 0) must not enter any sum: with very unequal group lengths the padded
    total equals the sum of each group evaluated alone (no padding), and a long group added to a
    design leaves the short groups' contribution unchanged."""
    rng = np.random.default_rng(7)
    X, y, groups = random_design(rng, [2, 3, 17, 2, 6], [1, 1, 5, 1, 2], k=3)
    beta = rng.normal(size=3)
    P = pad_groups(X, y, groups)
    assert P.shape[1] == 17 and not P.valid.all()
    ll, g, H = total_padded(P, beta)
    alone = [total_padded(pad_groups(X[groups == j], y[groups == j], groups[groups == j]), beta)
             for j in np.unique(groups)]
    assert all(pad_groups(X[groups == j], y[groups == j], groups[groups == j]).valid.all() for j in np.unique(groups))
    assert ll == pytest.approx(sum(a[0] for a in alone), rel=1e-13)
    assert_rel(g, sum(a[1] for a in alone), 1e-13)
    assert_rel(H, sum(a[2] for a in alone), 1e-13)
    short = np.isin(groups, [0, 1, 3])
    ll_short = total_padded(pad_groups(X[short], y[short], groups[short]), beta)[0]
    assert ll_short == pytest.approx(sum(alone[j][0] for j in (0, 1, 3)), rel=1e-13)


def test_newton_kernels_agree_on_random_design():
    rng = np.random.default_rng(3)
    X, y, groups = random_design(rng, [4, 9, 6, 12, 5, 7, 3, 8], [1, 3, 2, 4, 1, 2, 1, 3], k=3)
    b_p = clogit_newton(X, y, groups)
    b_r = clogit_newton(X, y, groups, kernel="per_group")
    np.testing.assert_allclose(b_p, b_r, rtol=1e-10, atol=1e-12)
    with pytest.raises(Exception, match="kernel"):
        clogit_newton(X, y, groups, kernel="loop")


# --------------------------------------------------------------------------- Table 2 (committed panel)
@pytest.fixture(scope="module")
def table2_clogit():
    """The Table 2 ``clogit`` model's estimation sample (committed panel), regressors and full-fit start."""
    spec = load_spec(SPECS / "table2_coups.toml")
    model = next(m for m in spec.models if m.id == "clogit")
    data = select_sample(derive_all(load_panel(), spec), model, spec, "iso3").data
    regs = [*model.treatments, *model.controls]
    ref = conditional_logit(data, model.outcome, regs, group="iso3", time="year", cluster="iso3")
    full = ref.aux["params_full"]
    return data, model.outcome, regs, dict(zip(full.index, full.to_numpy())), ref


def test_table2_leave_one_country_out_equals_previous_implementation(table2_clogit):
    """All 54 leave-one-country-out refits (as CRV3 runs them: warm start at the full fit), padded
    kernel vs the per-group reference, every design coefficient (slopes and year dummies), 1e-10."""
    data, outcome, regs, start, _ = table2_clogit
    countries = sorted(data["iso3"].unique())
    assert len(countries) == 54
    for c in countries:
        d = data[data["iso3"] != c]
        new = clogit_coefficients(d, outcome, regs, group="iso3", time="year", start=start)
        old = clogit_coefficients(d, outcome, regs, group="iso3", time="year", start=start, kernel="per_group")
        assert list(new.index) == list(old.index)
        np.testing.assert_allclose(new.to_numpy(), old.to_numpy(), rtol=1e-10, atol=0, err_msg=c)


@pytest.mark.parametrize("drop", [None, "GAB", "CIV", "MRT"])
def test_table2_clogit_and_leave_one_out_refits_match_statsmodels(table2_clogit, drop):
    """Full fit and the refits furthest from statsmodels (GAB 1.9e-8, CIV 8e-9, MRT 1e-9) to 1e-7."""
    data, outcome, regs, start, ref = table2_clogit
    d = data if drop is None else data[data["iso3"] != drop]
    if drop is not None:
        ref = conditional_logit(d, outcome, regs, group="iso3", time="year", cluster="iso3")
    got = clogit_coefficients(d, outcome, regs, group="iso3", time="year", start=start)
    for r in regs:
        assert got[r] == pytest.approx(ref.coef[r], rel=1e-7, abs=1e-9)


def test_table2_clogit_from_zero_start_matches_statsmodels():
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
            assert got[r] == pytest.approx(ref.coef[r], rel=1e-7, abs=1e-9)


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


def test_clogit_refits_on_codes_equal_clogit_coefficients_bit_for_bit(table2_clogit):
    """The CRV3 refits with the sample rule and design on integer codes (built once) give exactly what
    clogit_coefficients gives on each leave-one-country-out subsample (same arrays, same solver)."""
    from sahel_causal.inference.clogit_fast import ClogitRefits

    data, outcome, regs, start, _ = table2_clogit
    refits = ClogitRefits(data, outcome, regs, group="iso3", time="year", start=start)
    for c in sorted(data["iso3"].unique()):
        d = data[data["iso3"] != c]
        fast = refits.coefficients(d)
        ref = clogit_coefficients(d, outcome, regs, group="iso3", time="year", start=start)
        assert list(fast.index) == list(ref.index), c
        np.testing.assert_array_equal(fast.to_numpy(), ref.to_numpy(), err_msg=c)


def _toy_panel(seed=0, G=8, T=6):
    import pandas as pd

    rng = np.random.default_rng(seed)
    rows = [{"iso3": f"C{g}", "year": 2000 + t, "x": rng.normal(), "z": rng.normal(),
             "y": float(rng.random() < 0.3)} for g in range(G) for t in range(T)]
    return pd.DataFrame(rows)


def test_clogit_refits_follow_the_sample_rule_when_a_group_is_left_out():
    """Chains of drops and a vanishing reference period: leaving C0 out removes the only event of 2000
    (the first period, so 2001 becomes the reference) and of 2003; results equal clogit_coefficients."""
    from sahel_causal.inference.clogit_fast import ClogitRefits

    df = _toy_panel()
    df.loc[df.year.isin([2000, 2003]), "y"] = 0.0
    df.loc[(df.iso3 == "C0") & df.year.isin([2000, 2003]), "y"] = 1.0
    df.loc[(df.iso3 == "C0") & ~df.year.isin([2000, 2003]), "y"] = 0.0
    refits = ClogitRefits(df, "y", ["x", "z"], group="iso3", time="year")
    for c in sorted(df.iso3.unique()):
        d = df[df.iso3 != c]
        try:
            ref = clogit_coefficients(d, "y", ["x", "z"], group="iso3", time="year")
        except Exception as exc:  # noqa: BLE001 - the fast path must fail the same way
            with pytest.raises(type(exc)):
                refits.coefficients(d)
            continue
        fast = refits.coefficients(d)
        assert list(fast.index) == list(ref.index), c
        np.testing.assert_array_equal(fast.to_numpy(), ref.to_numpy(), err_msg=c)
    without_c0 = refits.coefficients(df[df.iso3 != "C0"])
    assert "year=2001" not in without_c0.index and "year=2003" not in without_c0.index


def test_clogit_refits_refuse_a_regressor_constant_within_groups():
    from sahel_causal.errors import SpecificationError
    from sahel_causal.inference.clogit_fast import ClogitRefits

    df = _toy_panel(seed=3)
    df["w"] = df["iso3"].str[1:].astype(float)  # constant within each group
    df.loc[df.iso3 == "C2", "w"] = df.loc[df.iso3 == "C2", "x"]  # ... except in C2
    refits = ClogitRefits(df, "y", ["x", "w"], group="iso3", time="year")
    with pytest.raises(SpecificationError, match="constant within iso3"):
        refits.coefficients(df[df.iso3 != "C2"])
