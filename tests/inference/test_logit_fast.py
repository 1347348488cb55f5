"""Analytic-Newton pooled-logit refits (CRV3 of ``logit_cubic``) against full ``pooled_logit`` refits.

References: ``sahel_causal.models.pooled_logit`` (statsmodels ``Logit``, Newton tol 1e-10, after the
LP separation check of ``firthmodels.detect_separation``) on each leave-one-cluster-out sample, and
``detect_separation`` itself for the separation certificate. Real data: the committed panel (Table 2
``logit_cubic`` sample); the other panels are SIMULATED (labelled in the helpers).
"""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from sahel_causal import estimators
from sahel_causal.errors import SpecificationError
from sahel_causal.estimation import _attach_crv3_refit, _refit_logit_cubic, attach_crv3_refit_any, fit_logit_cubic
from sahel_causal.inference.logit_fast import PooledLogitRefits, logit_newton, no_separation_certificate
from sahel_causal.models import pooled_logit, time_since_event

ROOT = Path(__file__).resolve().parents[2]
REL = 1e-8


def _ctx(data: pd.DataFrame, outcome: str, regs: list[str], dummies: tuple[str, ...] = (),
         cluster: str = "iso3") -> estimators.FitContext:
    model = SimpleNamespace(id="m", estimator="logit_cubic", outcome=outcome, treatments=(regs[0],),
                            controls=tuple(regs[1:]), fixed_effects=dummies)
    return estimators.FitContext(data=data, full=data, model=model, table=None, regressors=tuple(regs),
                                 fixed_effects=dummies, cluster=cluster, alpha=0.05, metadata={})


def _assert_same_coefficients(got: pd.Series, ref: pd.Series) -> None:
    assert list(got.index) == list(ref.index)
    np.testing.assert_allclose(got.to_numpy(), ref.to_numpy(), rtol=REL, atol=0)


@pytest.fixture(scope="module")
def table2_cubic():
    """The Table 2 ``logit_cubic`` sample, built as ``estimation._estimate_model`` builds it."""
    from sahel_causal.pipeline import load_panel
    from sahel_causal.specs import load_spec
    from sahel_causal.specs.transform import derive_all, select_sample

    spec = load_spec(ROOT / "analysis" / "specs" / "table2_coups.toml")
    model = next(m for m in spec.models if m.id == "logit_cubic")
    df = derive_all(load_panel(), spec)
    known = df[df[model.outcome].notna()]
    data = df.assign(_duration=time_since_event(known, "iso3", "year", model.outcome).reindex(df.index))
    sample = select_sample(data, model, spec, "iso3").data
    ctx = estimators.FitContext(data=sample, full=data, model=model, table=spec,
                                regressors=(*model.treatments, *model.controls),
                                fixed_effects=tuple(model.fixed_effects), cluster="iso3", alpha=0.05,
                                metadata={"table": spec.id, "model": model.id})
    return ctx, fit_logit_cubic(ctx)


def test_table2_leave_one_out_coefficients_equal_full_refits(table2_cubic):
    """(a) every leave-one-country-out refit: all coefficients equal pooled_logit's to 1e-8 relative.

    The comparison is sharp enough to catch a refit that stops early: the warm start and the estimate
    after one Newton step are each off by more than 1e-4 (relative) for every country."""
    ctx, res = table2_cubic
    fast = PooledLogitRefits(ctx.data, "coup_any", list(ctx.regressors), duration="_duration", cluster="iso3",
                             start=res.aux["params_full"])
    slow = _refit_logit_cubic(ctx)
    groups = sorted(ctx.data["iso3"].unique())
    assert len(groups) >= 50
    for g in groups:
        d = ctx.data[ctx.data["iso3"] != g]
        ref = slow(d).aux["params_full"]
        _assert_same_coefficients(fast.coefficients(d), ref)
        rows = fast._rows(d)
        cols, start = fast._design(rows)
        X, y = fast._X[np.ix_(rows, cols)], fast._y[rows]
        _, one_step, _ = logit_newton(X, y, start, maxiter=1)
        for early in (start, one_step):
            assert np.max(np.abs(early / ref.to_numpy() - 1)) > 1e-4, g


def test_table2_crv3_equals_jackknife_of_full_refits(table2_cubic):
    ctx, res = table2_cubic
    got = attach_crv3_refit_any(res, ctx).inference["crv3"]["train_pc_l1"]
    ref = _attach_crv3_refit(res, ctx.data, ctx.model, "iso3", _refit_logit_cubic(ctx), 0.05)
    ref = ref.inference["crv3"]["train_pc_l1"]
    assert got.detail["se"] == pytest.approx(ref.detail["se"], rel=REL)
    assert got.p_value == pytest.approx(ref.p_value, rel=REL)
    assert (got.ci_low, got.ci_high) == pytest.approx((ref.ci_low, ref.ci_high), rel=REL)


# ----------------------------------------------------------------------------- simulated panels
def _panel(seed: int, G: int, T: int, intercept: float) -> pd.DataFrame:
    """SIMULATED: P(y=1) = logistic(intercept + 0.6 x - 0.4 z), x binary, z normal; duration clock."""
    rng = np.random.default_rng(seed)
    gi = np.repeat(np.arange(G), T)
    df = pd.DataFrame({"iso3": [f"C{g:02d}" for g in gi], "year": np.tile(np.arange(1990, 1990 + T), G)})
    df["x"] = (rng.uniform(size=len(df)) < 0.3).astype(float)
    df["z"] = rng.normal(size=len(df))
    eta = intercept + 0.6 * df["x"] - 0.4 * df["z"]
    df["coup"] = (rng.uniform(size=len(df)) < 1 / (1 + np.exp(-eta))).astype(int)
    return df


def _with_duration(df: pd.DataFrame) -> pd.DataFrame:
    return df.assign(_duration=time_since_event(df, "iso3", "year", "coup"))


def test_separation_after_leaving_a_cluster_out_fails_like_the_full_refit():
    """(b) SIMULATED: only C00 has events in rows with x = 1, so without C00 the x coefficient is
    -infinity (quasi-complete separation). The fast refit raises pooled_logit's error (type and
    message) and CRV3 is NaN with the same recorded reason; the other refits agree."""
    df = _panel(seed=4, G=8, T=25, intercept=-1.0)
    df.loc[(df["iso3"] != "C00") & (df["x"] == 1), "coup"] = 0
    treated_c00 = (df["iso3"] == "C00") & (df["x"] == 1)
    df.loc[treated_c00, "coup"] = np.arange(int(treated_c00.sum())) % 2  # events and non-events
    data = _with_duration(df)
    regs = ["x", "z"]
    ctx = _ctx(data, "coup", regs)
    res = fit_logit_cubic(ctx)  # the full sample is not separated
    fast = PooledLogitRefits(data, "coup", regs, duration="_duration", cluster="iso3", start=res.aux["params_full"])
    slow = _refit_logit_cubic(ctx)
    without = data[data["iso3"] != "C00"]
    with pytest.raises(SpecificationError) as ref_err:
        slow(without)
    with pytest.raises(SpecificationError) as got_err:
        fast.coefficients(without)
    assert "separation" in str(ref_err.value)
    assert str(got_err.value) == str(ref_err.value)
    for g in sorted(data["iso3"].unique())[1:]:
        d = data[data["iso3"] != g]
        _assert_same_coefficients(fast.coefficients(d), slow(d).aux["params_full"])

    got = attach_crv3_refit_any(res, ctx).inference["crv3"]["x"]
    ref = _attach_crv3_refit(res, data, ctx.model, "iso3", slow, 0.05).inference["crv3"]["x"]
    assert np.isnan(got.p_value) and np.isnan(got.ci_low) and np.isnan(got.ci_high)
    assert got.detail == ref.detail == {"reason": "leave-one-cluster-out refit failed",
                                        "failed": ["C00: SpecificationError"]}


def test_indicator_levels_that_disappear_or_become_the_reference():
    """(c) SIMULATED, with region dummies: region A (the omitted first level) is only C00 and region D
    only C09. Without C09 the column region=D disappears; without C00 region B becomes the omitted
    level. Rows with a missing control are dropped as pooled_logit drops them. Every refit equals
    pooled_logit's, column names included, and so does CRV3."""
    df = _panel(seed=11, G=10, T=30, intercept=-0.8)
    df["region"] = np.select([df["iso3"] == "C00", df["iso3"] == "C09", df["iso3"] <= "C04"], ["A", "D", "B"], "C")
    df.loc[df.index[::37], "z"] = np.nan
    data = _with_duration(df)
    regs = ["x", "z"]
    ctx = _ctx(data, "coup", regs, dummies=("region",))
    res = fit_logit_cubic(ctx)
    assert {"region=B", "region=C", "region=D"} <= set(res.aux["params_full"].index)
    fast = PooledLogitRefits(data, "coup", regs, duration="_duration", dummies=("region",), cluster="iso3",
                             start=res.aux["params_full"])
    slow = _refit_logit_cubic(ctx)
    for g in sorted(data["iso3"].unique()):
        d = data[data["iso3"] != g]
        got, ref = fast.coefficients(d), slow(d).aux["params_full"]
        _assert_same_coefficients(got, ref)
        if g == "C09":
            assert "region=D" not in got.index
        if g == "C00":
            assert "region=B" not in got.index and {"region=C", "region=D"} <= set(got.index)
    got3 = attach_crv3_refit_any(res, ctx).inference["crv3"]["x"]
    ref3 = _attach_crv3_refit(res, data, ctx.model, "iso3", slow, 0.05).inference["crv3"]["x"]
    assert got3.detail["se"] == pytest.approx(ref3.detail["se"], rel=REL)


def test_reference_level_shift_keeps_the_linear_index_of_the_start():
    """The start re-expressed in the new reference level predicts every remaining row as before."""
    df = _panel(seed=11, G=10, T=30, intercept=-0.8)
    df["region"] = np.select([df["iso3"] == "C00", df["iso3"] <= "C04"], ["A", "B"], "C")
    data = _with_duration(df)
    res = pooled_logit(data, "coup", ["x", "z"], duration="_duration", dummies=["region"], cluster="iso3")
    full = res.aux["params_full"]
    fast = PooledLogitRefits(data, "coup", ["x", "z"], duration="_duration", dummies=["region"], cluster="iso3",
                             start=full)
    rows = fast._rows(data[data["iso3"] != "C00"])
    cols, start = fast._design(rows)
    eta_full = fast._X[rows] @ full.to_numpy()
    np.testing.assert_allclose(fast._X[np.ix_(rows, cols)] @ start, eta_full, rtol=1e-12, atol=1e-12)


def test_certificate_agrees_with_detect_separation():
    """SIMULATED small samples, many of them separated: whenever the fitted weights certify 'no
    separation', the linear program agrees; on separated data Newton does not converge or the
    certificate fails."""
    from firthmodels import detect_separation

    rng = np.random.default_rng(2)
    certified = separated = 0
    for _ in range(300):
        n = int(rng.integers(8, 30))
        X = np.column_stack([np.ones(n), rng.normal(size=(n, 2))])
        y = (rng.uniform(size=n) < 1 / (1 + np.exp(-(X @ rng.normal(0, 2, 3))))).astype(float)
        if y.min() == y.max() or np.linalg.matrix_rank(X) < 3:
            continue
        ok, beta, _ = logit_newton(X, y)
        cert = ok and no_separation_certificate(X, y, beta)
        sep = detect_separation(X[:, 1:], y).separation
        certified += cert
        separated += sep
        assert not (cert and sep)
    assert certified > 50 and separated > 50


def test_refits_refuse_rows_they_were_not_built_on():
    data = _with_duration(_panel(seed=1, G=5, T=20, intercept=-1.0))
    fast = PooledLogitRefits(data.iloc[:60], "coup", ["x", "z"], duration="_duration", cluster="iso3")
    with pytest.raises(ValueError):
        fast.coefficients(data.iloc[50:70])
