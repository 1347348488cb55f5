"""The estimator registry: a new estimator joins through the registry alone; specs are checked against it.

Panels here are simulated (labelled test data), never results.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sahel_causal import estimators
from sahel_causal.errors import SpecificationError
from sahel_causal.estimation import estimate
from sahel_causal.results import EstimationResult
from sahel_causal.specs import parse_spec


def _panel(G: int = 20, T: int = 8, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame([(f"U{g:02d}", 2000 + t) for g in range(G) for t in range(T)], columns=["iso3", "year"])
    df["x"] = rng.normal(size=len(df))
    df["y"] = 0.5 * df["x"] + rng.normal(size=len(df))
    df["d"] = (rng.random(len(df)) < 0.3).astype(float)
    return df


def toy_fit(ctx: estimators.FitContext) -> EstimationResult:
    """Pooled least squares with an intercept and classical (non-clustered) variance: the toy."""
    d = ctx.data
    X = np.column_stack([np.ones(len(d)), d[list(ctx.regressors)].to_numpy(float)])
    y = d[ctx.model.outcome].to_numpy(float)
    beta, *_ = np.linalg.lstsq(X, y, rcond=None)
    e = y - X @ beta
    V = np.linalg.inv(X.T @ X) * (e @ e) / (len(y) - X.shape[1])
    names = ["(Intercept)", *ctx.regressors]
    return EstimationResult(spec_id=ctx.model.id, estimator="toy_pooled", outcome=ctx.model.outcome,
                            coef=pd.Series(beta, index=names), vcov=pd.DataFrame(V, index=names, columns=names),
                            vcov_label="CRV1 (toy: classical)", nobs=len(y), n_clusters=int(d[ctx.cluster].nunique()),
                            outcome_mean=float(y.mean()), dist="normal")


@pytest.fixture
def toy():
    entry = estimators.register(estimators.Estimator(
        name="toy_pooled", design="regression", outcomes=("continuous",), inference=("CRV1",), label="Toy pooled",
        reference="Toy (2024)", fit=toy_fit, description="A toy estimator registered by a test."))
    yield entry
    estimators.unregister("toy_pooled")


def _doc(estimator: str, **inference):
    return {"table": {"id": "toy", "title": "Toy"},
            "model": [{"id": "m", "outcome": "y", "treatments": ["x"], "estimator": estimator, "fixed_effects": []}],
            "inference": {"vcov": ["CRV1"], "wild_bootstrap": False, "randomization": False, **inference}}


def _row(table, stub: str) -> tuple[str, ...]:
    """Cells of the journal-layout row ``stub`` (first panel)."""
    return next(cells for _, s, cells in table.panels[0].rows if s == stub)


def test_toy_estimator_added_through_the_registry_runs_from_a_spec(toy):
    from sahel_causal.report.results_table import format_results

    panel = _panel()
    tr = estimate(parse_spec(_doc("toy_pooled"), "toy.toml"), panel)
    X = np.column_stack([np.ones(len(panel)), panel["x"]])
    beta = np.linalg.lstsq(X, panel["y"].to_numpy(), rcond=None)[0]
    assert tr.models[0].result.coef["x"] == pytest.approx(beta[1], rel=1e-12)
    tidy = tr.tidy()
    assert list(tidy["term"]) == ["x"] and list(tidy["method"]) == ["CRV1"]
    table = format_results(tr, {})
    assert _row(table, "Estimator") == ("Toy pooled",)
    assert any("Toy (2024)" in n for n in table.notes)


def test_toy_estimator_rejects_methods_it_does_not_support(toy):
    with pytest.raises(SpecificationError, match="does not support CRV3"):
        parse_spec(_doc("toy_pooled", vcov=["CRV1", "CRV3"]), "toy.toml")
    spec = parse_spec(_doc("toy_pooled", vcov=["CRV1", "CRV3"], unsupported={"CRV3": "toy has no jackknife"}),
                      "toy.toml")
    tr = estimate(spec, _panel())
    from sahel_causal.report.notes import table_notes

    assert any("Not computed: CRV3 for all models (toy has no jackknife)" in n for n in table_notes(tr))


def test_entry_must_be_consistent():
    with pytest.raises(SpecificationError, match="no attach function"):
        estimators.Estimator(name="bad", design="regression", outcomes=("continuous",), inference=("CRV1", "CRV3"),
                             label="x", reference="x", fit=toy_fit)
    with pytest.raises(SpecificationError, match="unknown outcome kind"):
        estimators.Estimator(name="bad", design="regression", outcomes=("ordinal",), inference=("CRV1",),
                             label="x", reference="x", fit=toy_fit)
    with pytest.raises(SpecificationError, match="already registered"):
        estimators.register(estimators.REGISTRY["ols"])


def test_outcome_kind_is_checked_against_the_registry():
    panel = _panel()
    panel["y"] = panel["y"] - 10  # negative: not a count
    doc = _doc("ppml")
    doc["model"][0]["fixed_effects"] = ["iso3"]
    with pytest.raises(SpecificationError, match="continuous outcome but estimator 'ppml' accepts"):
        estimate(parse_spec(doc, "toy.toml"), panel)
    assert estimators.outcome_kind(pd.Series([0, 1, 1])) == "binary"
    assert estimators.outcome_kind(pd.Series([0, 3, 1])) == "count"
    assert estimators.outcome_kind(pd.Series([0, 0.5])) == "nonnegative"
    assert estimators.REGISTRY["ppml"].accepts("count") and not estimators.REGISTRY["firth"].accepts("count")


def test_two_clusters_refuse_cluster_robust_p_values():
    panel = _panel(G=2, T=30)
    with pytest.raises(SpecificationError, match="only 2 cluster"):
        estimate(parse_spec(_doc("ols"), "toy.toml"), panel)


def test_few_clusters_and_few_treated_clusters_are_flagged():
    from sahel_causal.report.notes import FEW_MARK, table_notes
    from sahel_causal.report.results_table import format_results

    few = estimate(parse_spec(_doc("ols"), "toy.toml"), _panel(G=8))
    assert bool(few.tidy()["few_clusters"].all()) and FEW_MARK in _row(format_results(few, {}), "Cluster-robust (CRV1)")[0]
    assert any("few clusters" in n for n in table_notes(few))
    many = estimate(parse_spec(_doc("ols"), "toy.toml"), _panel(G=30))
    assert not many.tidy()["few_clusters"].any()
    # an indicator treatment present in only 5 of 30 clusters
    p = _panel(G=30)
    p["d"] = p["iso3"].isin([f"U{g:02d}" for g in range(5)]).astype(float) * (p["year"] >= 2004)
    doc = _doc("ols")
    doc["model"][0]["treatments"] = ["d"]
    tr = estimate(parse_spec(doc, "toy.toml"), p)
    assert tr.models[0].treated_clusters == {"d": 5} and bool(tr.tidy()["few_clusters"].iloc[0])
