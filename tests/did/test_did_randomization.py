"""Randomization inference for aggregated ATTs: exact enumeration on a tiny panel checked by brute
force, the vectorised kernel against aggte, and the sampled version's reproducibility."""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from sahel_causal.did import aggte, att_gt
from sahel_causal.did.randomization import enumerate_assignments, n_assignments, randomization_inference


def _tiny(seed=0, n=7, T=5, unbalanced=False):
    rng = np.random.default_rng(seed)
    G = np.array([0, 0, 0, 3, 3, 4, 0][:n])
    rows = []
    for t in range(1, T + 1):
        y = rng.normal(size=n) + 0.3 * t + np.where((G > 0) & (t >= G), 1.0, 0.0)
        rows.append(pd.DataFrame({"id": np.arange(n), "t": t, "G": G, "y": y,
                                  "x": rng.normal(size=n)}))
    df = pd.concat(rows, ignore_index=True)
    if unbalanced:
        df = df[~((df["id"] == 1) & (df["t"] == 1)) & ~((df["id"] == 5) & (df["t"] == 2))]
    return df


def test_enumeration_counts():
    G = np.array([0, 0, 0, 3, 3, 4, 0])
    assert n_assignments(G) == 7 * 6 * 5 * 4 * 3 * 2 // (24 * 2)  # 7!/(4!2!1!) = 105
    rows = enumerate_assignments(G)
    assert rows.shape == (105, 7)
    assert len({tuple(r) for r in rows}) == 105
    assert all(sorted(r) == sorted(G) for r in rows)


@pytest.mark.parametrize("control_group", ["nevertreated", "notyettreated"])
@pytest.mark.parametrize("unbalanced", [False, True])
def test_exact_randomization_matches_brute_force(control_group, unbalanced):
    df = _tiny(unbalanced=unbalanced)
    kw = dict(control_group=control_group, bstrap=False, allow_unbalanced_panel=unbalanced)
    aggs = ("simple", "dynamic", "group", "calendar")
    res = att_gt(df, "y", "t", "id", "G", **kw)
    # brute force: re-run att_gt + aggte on every distinct reassignment of the entry years
    G = df.groupby("id")["G"].first().to_numpy()
    brute = {a: [] for a in aggs}
    for perm in {tuple(p) for p in itertools.permutations(G)}:
        d2 = df.assign(G=df["id"].map(dict(zip(range(7), perm))))
        r2 = att_gt(d2, "y", "t", "id", "G", **kw)
        for a in aggs:
            brute[a].append(aggte(r2, type=a, na_rm=True).overall_att)
    for a in aggs:
        ri = randomization_inference(res, type=a)
        assert ri.exact and ri.n_assignments == 105
        obs = aggte(res, type=a, na_rm=True).overall_att
        assert ri.statistic == pytest.approx(obs, abs=1e-13)
        b = np.sort(np.array(brute[a]))
        np.testing.assert_allclose(np.sort(ri.null), b, atol=1e-12)
        p = np.mean(np.abs(b) >= abs(obs) - 1e-12)
        assert ri.p_value == pytest.approx(p, abs=1e-15)


def test_covariate_path_matches_kernel_when_covariate_is_constant():
    df = _tiny().assign(c=1.0)
    a = randomization_inference(att_gt(df, "y", "t", "id", "G", bstrap=False, est_method="reg",
                                       xformla="~ x"), type="simple")
    assert a.exact and np.isfinite(a.null).all()
    b = randomization_inference(att_gt(df, "y", "t", "id", "G", bstrap=False), type="simple")
    c = randomization_inference(att_gt(df, "y", "t", "id", "G", bstrap=False, est_method="reg",
                                       xformla="~ 1"), type="simple")
    np.testing.assert_allclose(b.null, c.null, atol=1e-12)


def test_sampled_draws_reproducible_and_valid():
    rng = np.random.default_rng(1)
    n, T = 54, 30
    G = np.zeros(n)
    G[:9] = rng.choice([2003, 2005, 2008, 2012], size=9)
    rows = [pd.DataFrame({"id": np.arange(n), "t": 1995 + s, "G": G, "y": rng.normal(size=n)})
            for s in range(T)]
    df = pd.concat(rows, ignore_index=True)
    res = att_gt(df, "y", "t", "id", "G", bstrap=False)
    a = randomization_inference(res, type="dynamic", draws=999, seed=5)
    b = randomization_inference(res, type="dynamic", draws=999, seed=5)
    assert not a.exact and a.n_assignments == 999
    np.testing.assert_array_equal(a.null, b.null)
    assert a.p_value == b.p_value and 0.0 < a.p_value <= 1.0
    assert a.statistic == pytest.approx(aggte(res, type="dynamic").overall_att, abs=1e-13)


def test_weighted_kernel_matches_brute_force():
    df = _tiny(seed=4)
    df["w"] = df["id"].map(dict(zip(range(7), [1.0, 2.0, 0.5, 1.5, 1.0, 3.0, 1.0])))
    kw = dict(bstrap=False, weightsname="w", control_group="notyettreated")
    res = att_gt(df, "y", "t", "id", "G", **kw)
    ri = randomization_inference(res, type="dynamic")
    G = df.groupby("id")["G"].first().to_numpy()
    brute = []
    for perm in {tuple(p) for p in itertools.permutations(G)}:
        d2 = df.assign(G=df["id"].map(dict(zip(range(7), perm))))
        brute.append(aggte(att_gt(d2, "y", "t", "id", "G", **kw), type="dynamic", na_rm=True).overall_att)
    np.testing.assert_allclose(np.sort(ri.null), np.sort(brute), atol=1e-12)
