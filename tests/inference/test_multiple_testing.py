"""Romano-Wolf step-down p-values against a brute-force definition and FWER by simulation."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sahel_causal.inference.multiple_testing import romano_wolf


def _brute(t, tb):
    """Direct definition: for each hypothesis, max over the step-down sets that contain it."""
    t, tb = np.abs(t), np.abs(tb)
    order = np.argsort(-t)
    out = np.zeros(len(t))
    for s, m in enumerate(order):
        out[m] = max(np.mean(tb[:, order[r:]].max(axis=1) >= t[order[r]]) for r in range(s + 1))
    return out


def test_matches_brute_force_and_bounds():
    rng = np.random.default_rng(1)
    tb = rng.normal(size=(2000, 6)) @ np.linalg.cholesky(0.5 * np.eye(6) + 0.5).T
    t = np.array([3.1, -0.2, 2.2, 1.0, -2.6, 0.4])
    p = romano_wolf(t, tb)
    np.testing.assert_allclose(p, _brute(t, tb))
    single = np.mean(np.abs(tb) >= np.abs(t), axis=0)
    assert np.all(p >= single - 1e-12)  # adjusted >= unadjusted
    bonf = np.minimum(1, 6 * single)
    assert np.all(p <= bonf + 1e-12)  # never worse than Bonferroni
    assert np.all(np.diff(p[np.argsort(-np.abs(t))]) >= 0)  # monotone in |t|


def test_family_wise_error_rate_under_the_global_null():
    """Correlated normal t's, all nulls true: P(any p_adj < 0.05) ~ 5% (1,000 families)."""
    rng = np.random.default_rng(2)
    L = np.linalg.cholesky(0.3 * np.eye(5) + 0.7)
    hits = 0
    for _ in range(1000):
        t = L @ rng.normal(size=5)
        tb = rng.normal(size=(499, 5)) @ L.T
        hits += np.any(romano_wolf(t, tb) < 0.05)
    assert 0.025 <= hits / 1000 <= 0.08


def test_table_family_on_the_panel_uses_shared_draws():
    """Two LPM columns on the committed panel: each model's shared-draw bootstrap p is close to its own
    wild-bootstrap p (same method, other draws), and the adjusted p's are >= them."""
    from sahel_causal.estimation import estimate
    from sahel_causal.inference.multiple_testing import table_family_pvalues
    from sahel_causal.pipeline import load_panel
    from sahel_causal.specs import parse_spec

    doc = {"table": {"id": "t", "title": "T"}, "sample": {"years": [2000, 2021]},
           "defaults": {"controls": ["log_gdp_pc_l1"]},
           "variables": {"coup_any": {"any": "coup_attempts"},
                      "train_pc_l1": {"ratio": ["us_training_cost_usd", "population"], "lag": 1},
                      "log_train_l1": {"from": "us_training_cost_usd", "scale": 1e-6, "log1p": True, "lag": 1},
                      "log_gdp_pc_l1": {"from": "gdp_pc", "log1p": True, "lag": 1}},
           "model": [{"id": "a", "outcome": "coup_any", "treatments": ["train_pc_l1"]},
                     {"id": "b", "outcome": "coup_any", "treatments": ["log_train_l1"]}],
           "inference": {"wild_bootstrap": {"draws": 1999, "weights": ["webb"], "seed": 3}, "randomization": False}}
    spec = parse_spec(doc, "t.toml")
    panel = load_panel()
    fam = table_family_pvalues(spec, panel)
    tr = estimate(spec, panel)
    for mo in tr.models:
        own = mo.result.inference["wild_webb"][mo.model.treatments[0]]
        row = fam[fam.model == mo.model.id].iloc[0]
        assert row["t"] == pytest.approx(own.detail["observed_statistic"], rel=1e-8)
        assert abs(row["p_boot_shared"] - own.p_value) < 4 * np.sqrt(0.25 / 1999) + 0.01
        assert row["p_romano_wolf"] >= row["p_boot_shared"] - 1e-12
    # the tables pass their own fits (no refits): the same family, to the last bit
    reused = table_family_pvalues(spec, panel, fitted={mo.model.id: mo.result for mo in tr.models})
    pd.testing.assert_frame_equal(reused, fam)
