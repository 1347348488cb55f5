"""Tests of the single result type (sahel_causal.results).

Reference computations are written out here with scipy (t and normal quantiles), independent
of the implementation. The numbers in the hand-built results are arbitrary (not data).
"""
from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sahel_causal.errors import SpecificationError
from sahel_causal.results import DropRecord, EstimationResult, data_checksum, spec_hash


def _result(**over) -> EstimationResult:
    terms = ["aid", "aid_x_sahel", "Intercept"]
    coef = pd.Series([0.1 + 0.2, 1 / 3, -5e-324], index=terms)
    vcov = pd.DataFrame([[0.04, 0.001, 0.0], [0.001, 0.09, 0.0], [0.0, 0.0, 2.5e-7]], index=terms, columns=terms)
    kw = dict(
        spec_id="T1-c3",
        estimator="fe_ols",
        outcome="coup",
        coef=coef,
        vcov=vcov,
        vcov_label="CRV1 (iso3)",
        nobs=1234,
        n_clusters=54,
        n_groups={"iso3": 54, "year": 30},
        outcome_mean=0.0123,
        fixed_effects=("iso3", "year"),
        dropped=(DropRecord("missing value in 'aid'", "row", 2, ("17", "18")),
                 DropRecord("singleton in fixed effects (iso3, year)", "row", 1, ("99",))),
        dist="t",
        df_resid=53,
        metadata={"data_checksum": "sha256:abc", "spec_hash": "sha256:def", "seed": 20240501,
                  "nested": {"list": [1, 2.5, None], "flag": True}},
    )
    kw.update(over)
    return EstimationResult(**kw)


def test_tidy_matches_scipy_t_reference():
    r = _result()
    tidy = r.tidy(alpha=0.10)
    assert list(tidy.columns) == ["term", "estimate", "std_error", "statistic", "p_value", "conf_low", "conf_high"]
    se = np.sqrt(np.diag(r.vcov.to_numpy()))
    est = r.coef.to_numpy()
    p = 2 * stats.t.sf(np.abs(est / se), df=53)
    q = stats.t.ppf(0.95, df=53)
    np.testing.assert_allclose(tidy["std_error"], se, rtol=1e-15)
    np.testing.assert_allclose(tidy["p_value"], p, rtol=1e-12)
    np.testing.assert_allclose(tidy["conf_low"], est - q * se, rtol=1e-12)
    np.testing.assert_allclose(tidy["conf_high"], est + q * se, rtol=1e-12)


def test_tidy_normal_reference():
    r = _result(dist="normal", df_resid=None)
    tidy = r.tidy()
    se = np.sqrt(np.diag(r.vcov.to_numpy()))
    z = r.coef.to_numpy() / se
    np.testing.assert_allclose(tidy["p_value"], 2 * stats.norm.sf(np.abs(z)), rtol=1e-12)
    np.testing.assert_allclose(tidy["conf_high"] - tidy["estimate"], stats.norm.ppf(0.975) * se, rtol=1e-12)


def test_with_inference_returns_new_result_and_adds_columns():
    r = _result()
    r2 = r.with_inference("wild", "aid", 0.034, -0.01, 0.5, {"B": 9999, "weights": "webb", "seed": 7})
    r3 = r2.with_inference("ri", "aid", 0.05)
    assert r.inference == {} and "ri" not in r2.inference  # originals untouched
    tidy = r3.tidy()
    for col in ["p_wild", "ci_wild_low", "ci_wild_high", "p_ri", "ci_ri_low", "ci_ri_high"]:
        assert col in tidy.columns
    row = tidy.set_index("term").loc["aid"]
    assert (row["p_wild"], row["ci_wild_low"], row["ci_wild_high"], row["p_ri"]) == (0.034, -0.01, 0.5, 0.05)
    assert math.isnan(tidy.set_index("term").loc["aid_x_sahel", "p_wild"])
    assert math.isnan(row["ci_ri_low"])
    with pytest.raises(SpecificationError):
        r3.with_inference("wild", "aid", 0.2)  # already attached
    with pytest.raises(SpecificationError):
        r.with_inference("wild", "no_such_term", 0.2)
    with pytest.raises(SpecificationError):
        r.with_inference("Wild Bootstrap", "aid", 0.2)
    with pytest.raises(SpecificationError):
        r.with_inference("wild", "aid", 1.5)


def test_round_trip_is_exact_including_nonfinite_values():
    r = _result(outcome_mean=float("nan"))
    vc = r.vcov.copy()
    vc.iloc[2, 2] = float("inf")
    r = _result(vcov=vc, outcome_mean=float("nan"))
    r = r.with_inference("profile", "aid", 0.0061, -1.97378838, float("nan"), {"alpha": 0.05, "x": float("-inf")})
    d = r.to_dict()
    text = json.dumps(d, allow_nan=False)  # strict JSON: no NaN/Infinity literals
    back = EstimationResult.from_dict(json.loads(text))
    assert back == r
    # bit-for-bit floats
    assert back.coef.to_numpy().tobytes() == r.coef.to_numpy().tobytes()
    assert back.vcov.to_numpy().tobytes() == r.vcov.to_numpy().tobytes()
    assert back.coef["aid"] == 0.1 + 0.2 and back.coef["Intercept"] == -5e-324
    assert back.dropped == r.dropped
    assert back.metadata == r.metadata
    assert back.inference["profile"]["aid"].ci_low == -1.97378838
    pd.testing.assert_frame_equal(back.tidy(), r.tidy())
    assert EstimationResult.from_json(r.to_json()) == r


def test_serialisation_is_deterministic_and_has_no_timestamps():
    a, b = _result().to_json(), _result().to_json()
    assert a == b
    assert not any(k in a.lower() for k in ("timestamp", "created", "date"))


def test_from_dict_rejects_unknown_schema():
    d = _result().to_dict()
    d["schema"] = "something/9"
    with pytest.raises(SpecificationError):
        EstimationResult.from_dict(d)


def test_inputs_are_copied_not_shared():
    coef = pd.Series([1.0, 2.0], index=["a", "b"])
    vcov = pd.DataFrame(np.eye(2), index=["a", "b"], columns=["a", "b"])
    meta = {"seed": 1, "list": [1, 2]}
    r = EstimationResult("s", "fe_ols", "y", coef, vcov, "iid", 10, metadata=meta)
    coef.iloc[0] = 99.0
    vcov.iloc[0, 0] = 99.0
    meta["list"].append(3)
    assert r.coef["a"] == 1.0 and r.vcov.loc["a", "a"] == 1.0 and r.metadata["list"] == [1, 2]


def test_validation_errors():
    r = _result()
    with pytest.raises(SpecificationError):
        _result(vcov=r.vcov.iloc[:2, :2])
    with pytest.raises(SpecificationError):
        _result(df_resid=None)  # dist t needs df
    with pytest.raises(SpecificationError):
        _result(metadata={"bad": object()})
    with pytest.raises(SpecificationError):
        DropRecord("x", "unit", 1)


def test_pickle_round_trip_for_parallel_workers():
    r = _result().with_inference("wild", "aid", 0.1)
    assert pickle.loads(pickle.dumps(r)) == r


def test_summary_and_dropped_table():
    r = _result()
    text = r.summary()
    assert "fe_ols: coup" in text and "CRV1 (iso3)" in text and "Clusters: 54" in text
    assert "Dropped: 2 row(s): missing value in 'aid'" in text
    table = r.dropped_table()
    assert table["count"].tolist() == [2, 1] and table.loc[0, "ids"] == "17;18"
    assert r.n_dropped_rows == 3


def test_checksum_and_spec_hash_are_stable_and_sensitive():
    df = pd.DataFrame({"a": [0.1, 0.2], "b": ["x", "y"]})
    assert data_checksum(df) == data_checksum(df.copy())
    df2 = df.copy()
    df2.loc[1, "a"] = 0.2000000000000001
    assert data_checksum(df2) != data_checksum(df)
    assert spec_hash({"b": 1, "a": [1, 2]}) == spec_hash({"a": (1, 2), "b": 1})
    assert spec_hash({"a": 1}) != spec_hash({"a": 2})


def test_disjoint_confidence_set_is_listed_next_to_its_hull():
    """A wild-bootstrap confidence set of two intervals: ci_low/ci_high hold the hull and the
    ``ci_<method>_set`` column lists the intervals; a one-interval set leaves it empty."""
    res = _result()
    term = res.coef.index[0]
    res = res.with_inference("wild_webb", term, 0.3, -12.5, 12.6,
                             {"ci_set": [[-12.5, -1.53], [-0.317, 12.6]], "ci_is_hull": True})
    t = res.tidy()
    row = t[t["term"] == term].iloc[0]
    assert (row["ci_wild_webb_low"], row["ci_wild_webb_high"]) == (-12.5, 12.6)
    assert row["ci_wild_webb_set"] == "[-12.5, -1.53] U [-0.317, 12.6]"
    one = _result().with_inference("wild_webb", term, 0.3, -1.0, 1.0, {"ci_set": [[-1.0, 1.0]], "ci_is_hull": False})
    assert "ci_wild_webb_set" not in one.tidy().columns
