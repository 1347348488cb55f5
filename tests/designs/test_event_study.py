"""The event_study design (two-way FE event study) against statsmodels, and ``run --panel`` on mpdta."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from sahel_causal import writing
from sahel_causal.estimation import estimate
from sahel_causal.paths import PROJECT_ROOT
from sahel_causal.specs import parse_spec

EXAMPLE = PROJECT_ROOT / "analysis" / "examples" / "mpdta_event_study.toml"


@pytest.fixture(scope="module")
def mpdta(validation_dir):
    f = validation_dir / "mpdta" / "mpdta.csv"
    if not f.is_file():
        pytest.skip("mpdta.csv not in the validation directory")
    return f


def _doc(vcov=("CRV1",), **model):
    return {"table": {"id": "es", "title": "ES"}, "data": {"unit": "countyreal", "time": "year"},
            "model": [{"id": "es", "design": "event_study", "outcome": "lemp", "first_treat": "first.treat",
                       "leads": 3, "lags": 3, **model}],
            "inference": {"vcov": list(vcov), "wild_bootstrap": False, "randomization": False}}


def _dummies_ols(df: pd.DataFrame, rel: pd.Series, window: list[int]):
    X = pd.DataFrame({f"event_{k:+d}": (rel == k).astype(float) for k in window}, index=df.index)
    fe = pd.get_dummies(df[["countyreal", "year"]].astype(str), drop_first=True).astype(float)
    X = sm.add_constant(pd.concat([X, fe], axis=1))
    return sm.OLS(df["lemp"].to_numpy(), X).fit(cov_type="cluster", cov_kwds={"groups": df["countyreal"].to_numpy()})


def test_binned_event_study_equals_statsmodels_dummy_regression(mpdta):
    df = pd.read_csv(mpdta)
    tr = estimate(parse_spec(_doc(), "es.toml"), df)
    res = tr.models[0].result
    g = df["first.treat"].where(df["first.treat"] > 0)
    rel = (df["year"] - g).clip(-3, 3)
    window = [-3, -2, 0, 1, 2, 3]
    ref = _dummies_ols(df, rel, window)
    G, N = df["countyreal"].nunique(), len(df)
    # statsmodels' small-sample factor G/(G-1)*(N-1)/(N-K) counts every dummy in K; fe_ols, like fixest,
    # does not count the county effects nested in the county clusters: K = 6 event + 4 year + intercept
    k_sm, k_fe = ref.params.size, len(window) + 4 + 1
    scale = np.sqrt((N - k_sm) / (N - k_fe))
    for k in window:
        t = f"event_{k:+d}"
        assert res.coef[t] == pytest.approx(ref.params[t], rel=1e-8, abs=1e-12)
        assert res.std_errors[t] == pytest.approx(ref.bse[t] * scale, rel=1e-6)
    assert res.nobs == N and res.n_clusters == G
    tidy = tr.tidy()
    assert list(tidy["term"]) == [f"event_{k:+d}" for k in window] and set(tidy["method"]) == {"CRV1"}
    from sahel_causal.designs.event_study import run

    direct = run(tr.spec.models[0].spec, df, spec_id="es")
    assert direct.coef.equals(res.coef) and direct.vcov.equals(res.vcov)


def test_unbinned_event_study_drops_periods_outside_the_window(mpdta):
    df = pd.read_csv(mpdta)
    tr = estimate(parse_spec(_doc(bin_endpoints=False, leads=2, lags=2), "es.toml"), df)
    res = tr.models[0].result
    g = df["first.treat"].where(df["first.treat"] > 0)
    rel = df["year"] - g
    keep = g.isna() | rel.between(-2, 2)
    ref = _dummies_ols(df[keep], rel[keep], [-2, 0, 1, 2])
    for k in (-2, 0, 1, 2):
        assert res.coef[f"event_{k:+d}"] == pytest.approx(ref.params[f"event_{k:+d}"], rel=1e-8)
    assert any("outside the event window" in d.reason and d.count == int((~keep).sum()) for d in res.dropped)


def test_run_with_panel_writes_only_to_a_run_folder(mpdta, tmp_path):
    from sahel_causal.pipeline import run_table

    writing.allow(tmp_path)
    files = run_table(str(EXAMPLE), [], panel_file=mpdta, runs_dir=tmp_path)
    assert files and all(tmp_path in f.resolve().parents for f in files)
    csv = next(f for f in files if f.name == "mpdta_event_study.csv")
    t = pd.read_csv(csv)
    assert t["term"].tolist() == ["event_-3", "event_-2", "event_+0", "event_+1", "event_+2", "event_+3"]
    from sahel_causal.data.registry import sha256_file

    est = json.loads(next(f for f in files if f.suffix == ".json" and f.parent.name == "estimates").read_text())
    prov = json.loads(next(f for f in files if f.name == "provenance.json").read_text())
    assert prov["panel_sha256"] == sha256_file(mpdta) and "seeds" in prov
    assert est["data_sha256"] == sha256_file(mpdta)
    assert np.isfinite(t["p_crv3"]).all() and (t["p_crv3"] > 0).all()


def test_cli_run_panel_on_mpdta(mpdta, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from sahel_causal import pipeline
    from sahel_causal.cli import app

    writing.allow(tmp_path)
    monkeypatch.setattr(pipeline, "RESULTS_DIR", tmp_path)
    res = CliRunner().invoke(app, ["run", str(EXAMPLE), "--panel", str(mpdta), "--set", 'inference.vcov=["CRV1"]'])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "_runs").is_dir() and list((tmp_path / "_runs").glob("mpdta_event_study-*/tables/*.md"))


def test_data_path_in_the_spec_names_the_panel(mpdta, tmp_path):
    from sahel_causal.pipeline import run_table

    writing.allow(tmp_path)
    text = EXAMPLE.read_text().replace('[data]\n', f'[data]\npath = "{mpdta.as_posix()}"\n')
    spec = tmp_path / "es.toml"
    spec.write_text(text)
    files = run_table(str(spec), ['inference.vcov=["CRV1"]'], runs_dir=tmp_path / "runs")
    md = next(f for f in files if f.suffix == ".md").read_text()
    assert md.startswith("**Rerun of Event study") and "event_+3" in md
