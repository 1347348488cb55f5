"""The tables' randomization inference computes permutations in blocks (issue 9, speed): the same
permutations as the one-at-a-time loop of earlier versions (same seed -> same p-values), and a batched
statistic equal to the one-at-a-time CRV1 t for every permutation, in the tables' configuration
(controls, two-way fixed effects, unbalanced panel, interactions that follow the permuted path) and in
the fallbacks (no unit fixed effect; clusters that are not contiguous after sorting by unit).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import sahel_causal.estimation as E
from sahel_causal.estimation import _ri_batch_statistic, estimate
from sahel_causal.inference import randomization as R
from sahel_causal.pipeline import load_panel
from sahel_causal.specs import parse_spec


def _old_sources(rng: np.random.Generator, n_rows: int, strata, n_perm: int) -> np.ndarray:
    """The permutation loop of sahel-causal <= 0.2.0 (every stratum, singletons included)."""
    identity = np.arange(n_rows)
    out = []
    for _ in range(n_perm):
        source = identity.copy()
        for members in strata:
            source[members] = members[rng.permutation(members.shape[0])]
        out.append(source)
    return np.array(out)


@pytest.mark.parametrize("chunk", [1, 7, 128, 5000])
def test_random_blocks_draw_the_same_permutations_as_the_old_loop(chunk):
    strata = [np.array([0, 3, 5]), np.array([1]), np.array([2, 4, 6, 7, 9]), np.array([8]), np.array([10, 11])]
    old = _old_sources(np.random.default_rng(42), 12, strata, 1000)
    new = np.concatenate(list(R._random_blocks(np.random.default_rng(42), 12, strata, 1000, chunk)))
    assert new.shape == old.shape
    np.testing.assert_array_equal(new, old)


def test_batched_and_single_nulls_are_the_same_permutations():
    rng = np.random.default_rng(0)
    paths = rng.normal(size=(9, 6))
    paths[[1, 4], :2] = np.nan  # two strata of unequal support, one singleton
    paths[7, 5] = np.nan

    def stat(p):
        return float(np.nansum(p[:, 3:] - p[:, :3]) + np.nansum(p[0]))

    def batch(block):
        return np.array([stat(b) for b in block])

    a = R.randomization_inference(stat, paths, n_perm=777, seed=5, unbalanced="within_support", exact_if_leq=1)
    b = R.randomization_inference(stat, paths, n_perm=777, seed=5, unbalanced="within_support", exact_if_leq=1,
                                  batch_stat_fn=batch, batch_size=50)
    np.testing.assert_array_equal(a.null_distribution, b.null_distribution)
    assert a.p_value == b.p_value and a.n_perm == b.n_perm == 778


# --------------------------------------------------------------------------- the tables' statistic


def _spec(models, countries=None, years=(2000, 2020), fe=("iso3", "year")):
    doc = {
        "table": {"id": "t", "title": "T"},
        "sample": {"years": list(years), **({"countries": countries} if countries else {})},
        "defaults": {"controls": ["log_gdp_pc_l1", "polyarchy_l1"], "fixed_effects": list(fe)},
        "variables": {
            "coup_any": {"any": "coup_attempts"},
            "train_pc_l1": {"ratio": ["us_training_cost_usd", "population"], "lag": 1},
            "log_gdp_pc_l1": {"from": "gdp_pc", "log1p": True, "lag": 1},
            "polyarchy_l1": {"from": "polyarchy", "lag": 1},
            "train_x_poly": {"interact": ["train_pc_l1", "polyarchy_l1"]},
            "log_ucdp": {"sum": ["ucdp_state_based_best", "ucdp_nonstate_best", "ucdp_onesided_best"],
                         "log1p": True},
        },
        "model": models,
        "inference": {"wild_bootstrap": False, "randomization": {"permutations": 299, "seed": 11}},
    }
    return parse_spec(doc, "test.toml")


@pytest.fixture(scope="module")
def panel():
    return load_panel()


def _both_nulls(spec, panel, monkeypatch):
    """Run the model's RI and return (null from the batched statistic, null one permutation at a time)."""
    seen = {}

    def capture(stat_fn, paths, **kw):
        batched = R.randomization_inference(stat_fn, paths, **kw)
        kw.pop("batch_stat_fn")
        single = R.randomization_inference(stat_fn, paths, **kw)
        seen["nulls"] = (batched.null_distribution, single.null_distribution)
        seen["strata"] = R._strata(np.asarray(paths, float), kw["unbalanced"])
        return batched

    monkeypatch.setattr(E, "randomization_inference", capture)
    estimate(spec, panel)
    return seen


@pytest.mark.parametrize("case", ["two_way_fe_controls", "interaction_follower", "year_fe_only", "ols_log_deaths"])
def test_batched_statistic_equals_one_at_a_time_on_the_real_panel(panel, monkeypatch, case):
    models = {
        "two_way_fe_controls": [{"id": "m", "outcome": "coup_any", "treatments": ["train_pc_l1"]}],
        "interaction_follower": [{"id": "m", "outcome": "coup_any", "treatments": ["train_pc_l1", "train_x_poly"]}],
        "year_fe_only": [{"id": "m", "outcome": "coup_any", "treatments": ["train_pc_l1"]}],
        "ols_log_deaths": [{"id": "m", "outcome": "log_ucdp", "treatments": ["train_pc_l1"]}],
    }[case]
    spec = _spec(models, fe=("year",) if case == "year_fe_only" else ("iso3", "year"))
    seen = _both_nulls(spec, panel, monkeypatch)
    batched, single = seen["nulls"]
    assert len(seen["strata"]) > 1  # the real panel is unbalanced: permutations within time supports
    assert batched.shape == single.shape == (300,)
    np.testing.assert_array_equal(np.isnan(batched), np.isnan(single))
    np.testing.assert_allclose(batched, single, rtol=1e-9, atol=1e-12)
    assert np.std(single[1:]) > 0.1  # a statistic that moves with the permutation (not a constant)


def _reference_t(y, d, Z, cl):
    """CRV1 t of d in OLS of y on [d, Z] (Z of full column rank after pruning), without the constant factor."""
    q, r = np.linalg.qr(Z)
    keep = np.abs(np.diag(r)) > 1e-10 * np.abs(np.diag(r)).max()
    q = q[:, keep]
    x = d - q @ (q.T @ d)
    yt = y - q @ (q.T @ y)
    beta = (x @ yt) / (x @ x)
    e = yt - x * beta
    s = np.bincount(cl, weights=x * e)
    return beta / math.sqrt((s @ s) / (x @ x) ** 2)


@pytest.mark.parametrize("contiguous", [True, False])
def test_batched_statistic_against_explicit_regressions(contiguous):
    """Independent check: each batched t equals the CRV1 t of an explicit least-squares fit with the full
    dummy design, on an unbalanced simulated panel; clusters are the units (contiguous after sorting) or
    pairs of non-adjacent units (not contiguous: the indicator-matrix path)."""
    rng = np.random.default_rng(3)
    G, T = 14, 9
    cells = [(g, t) for g in range(G) for t in range(T) if not (g % 4 == 0 and t < 3)]
    rng.shuffle(cells)  # rows not sorted by unit
    ui = np.array([c[0] for c in cells])
    ti = np.array([c[1] for c in cells])
    n = len(cells)
    used = pd.DataFrame({"iso3": [f"U{g:02d}" for g in ui], "year": 2000 + ti, "ctl": rng.normal(size=n)})
    paths = np.full((G, T), np.nan)
    paths[ui, ti] = rng.gamma(0.5, size=n)
    y = 0.3 * used["ctl"].to_numpy() + rng.normal(size=n) + ui * 0.1
    cl = ui if contiguous else ui % 7  # units g and g+7 share a cluster
    Z = np.column_stack([np.ones(n), used["ctl"], np.eye(G)[ui][:, 1:], np.eye(T)[ti][:, 1:]])
    q, r = np.linalg.qr(Z)
    yq = y - q @ (q.T @ y)
    fn = _ri_batch_statistic(used, ui, ti, T, "iso3", ("iso3", "year"), ["ctl"], [], q, yq, cl, 1.0)
    strata = [np.flatnonzero(np.arange(G) % 4 == 0), np.flatnonzero(np.arange(G) % 4 != 0)]
    sources = np.tile(np.arange(G), (25, 1))
    for row in sources:
        for members in strata:
            row[members] = members[rng.permutation(len(members))]
    blocks = paths[sources]
    assert not np.isnan(blocks[:, ui, ti]).any()
    got = fn(blocks)
    want = [_reference_t(y, b[ui, ti], Z, cl) for b in blocks]
    np.testing.assert_allclose(got, want, rtol=1e-9)


@pytest.mark.parametrize("bad", [0, -3, True, 2.5])
def test_a_bad_batch_size_is_a_named_error(bad):
    """A block size of 0 would never finish drawing permutations: refused with a message instead."""
    from sahel_causal.errors import SpecificationError

    paths = np.arange(12, dtype=float).reshape(4, 3)
    with pytest.raises(SpecificationError, match="batch_size must be a positive integer"):
        R.randomization_inference(lambda p: float(p[0, 0]), paths, n_perm=9, seed=1, batch_size=bad)
