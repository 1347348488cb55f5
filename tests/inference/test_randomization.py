"""Randomization inference by permuting treatment paths (sahel_causal.inference.randomization),
checked against brute-force enumeration of all G! permutations written out in the tests."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from sahel_causal.errors import SpecificationError
from sahel_causal.inference.cluster import crv1
from sahel_causal.inference.randomization import (
    count_distinct_assignments,
    ols_t_stat_fn,
    randomization_inference,
)


def _panel(G: int, T: int, seed: int):
    """Simulated balanced panel: outcome with unit effects, treatment paths with staggered
    adoption (unit g adopts at period g mod T, some never)."""
    rng = np.random.default_rng(seed)
    unit = np.repeat(np.arange(G), T)
    time = np.tile(np.arange(T), G)
    y = rng.normal(size=G)[unit] + 0.3 * rng.normal(size=G * T)
    paths = np.zeros((G, T))
    for g in range(G):
        start = rng.integers(1, T + 2)  # T or T+1 -> never treated within the window
        paths[g, start:] = 1.0
    return y, unit, time, paths


def _mean_gap_stat(y, unit, time):
    """Difference of mean outcomes between treated and untreated unit-periods."""

    def stat(paths):
        d = paths[unit, time]
        return float(y[d == 1].mean() - y[d == 0].mean()) if 0 < d.sum() < len(d) else 0.0

    return stat


def _brute_force_p(stat, paths, alternative="two-sided"):
    """Independent reference: loop over all G! permutations of the rows."""
    obs = stat(paths)
    vals = np.array([stat(paths[list(p)]) for p in itertools.permutations(range(paths.shape[0]))])
    tol = 1e-12 * max(1.0, abs(obs))
    if alternative == "two-sided":
        return np.mean(np.abs(vals) >= abs(obs) - tol)
    if alternative == "greater":
        return np.mean(vals >= obs - tol)
    return np.mean(vals <= obs + tol)


def test_exact_tiny_example_hand_checkable():
    """G = 4 distinct paths, statistic = treated total of a fixed outcome vector, so the 24
    permutation values are sums that can be listed by hand: p = k/24."""
    paths = np.array([[0, 0, 1], [0, 1, 1], [1, 1, 1], [0, 0, 0]], dtype=float)
    outcome = np.array([[0.0, 1.0, 2.0], [1.0, 0.0, 4.0], [3.0, 1.0, 0.0], [5.0, 2.0, 1.0]])

    def stat(p):
        return float(np.sum(p * outcome))

    # By hand: row r receiving path A/B/C/D adds (row0: 2/3/3/0, row1: 4/4/5/0, row2: 0/1/4/0,
    # row3: 1/3/8/0). Observed A,B,C,D -> 2 + 4 + 4 + 0 = 10. The 24 totals are
    # 5, 6, 7, 7, 8 (x6), 9 (x3), 10 (x3), 11 (x4), 12, 13, 14, 15: 11 of them are >= 10.
    res = randomization_inference(stat, paths, seed=0, alternative="greater")
    assert res.exact and res.n_perm == 24
    assert res.stat == 10.0
    assert res.p_value == pytest.approx(11 / 24, abs=1e-15)
    assert res.p_value == pytest.approx(_brute_force_p(stat, paths, "greater"), abs=1e-15)
    assert sorted(res.null_distribution.tolist()) == [
        5, 6, 7, 7, 8, 8, 8, 8, 8, 8, 9, 9, 9, 10, 10, 10, 11, 11, 11, 11, 12, 13, 14, 15
    ]


@pytest.mark.parametrize("alternative", ["two-sided", "greater", "less"])
def test_exact_matches_brute_force_with_t_statistic(alternative):
    y, unit, time, paths = _panel(G=6, T=5, seed=3)
    controls = np.column_stack([np.ones(len(y)), (time[:, None] == np.arange(1, 5)).astype(float)])
    stat = ols_t_stat_fn(y, controls, unit, time)
    res = randomization_inference(stat, paths, seed=1, alternative=alternative)
    assert res.exact
    assert res.n_perm == count_distinct_assignments(paths)
    assert res.p_value == pytest.approx(_brute_force_p(stat, paths, alternative), abs=1e-12)


def test_repeated_paths_enumerate_distinct_assignments_with_same_p_value():
    """Three never-treated and two identical treated paths: 7!/(3!2!) = 420 distinct
    reassignments give the same p-value as all 5040 permutations."""
    y, unit, time, _ = _panel(G=7, T=4, seed=8)
    paths = np.array(
        [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 1, 1, 1], [0, 1, 1, 1], [0, 0, 1, 1], [1, 1, 1, 1]],
        dtype=float,
    )
    stat = _mean_gap_stat(y, unit, time)
    assert count_distinct_assignments(paths) == math.factorial(7) // (6 * 2)
    res = randomization_inference(stat, paths, seed=0)
    assert res.exact and res.n_perm == 420
    assert res.p_value == pytest.approx(_brute_force_p(stat, paths), abs=1e-12)


def test_identity_included_and_p_value_in_unit_interval():
    """A statistic maximised only by the observed assignment has p = 1/M exactly."""
    y, unit, time, paths = _panel(G=5, T=4, seed=2)
    paths = paths + np.arange(5)[:, None] * 0.01  # make all paths distinct
    target = paths.copy()

    def stat(p):
        return -float(np.sum((p - target) ** 2))  # 0 at the identity, < 0 otherwise

    exact = randomization_inference(stat, paths, seed=0, alternative="greater")
    assert exact.exact and exact.n_perm == 120 and exact.p_value == pytest.approx(1 / 120)
    assert exact.null_distribution[0] == exact.stat
    sampled = randomization_inference(stat, paths, seed=0, alternative="greater", n_perm=199,
                                      exact_if_leq=10)
    assert not sampled.exact and sampled.n_perm == 200
    assert 1 / 200 <= sampled.p_value <= 1.0
    assert sampled.p_value == pytest.approx(
        np.mean(sampled.null_distribution >= sampled.stat - 1e-12)
    )


def test_sampled_permutations_deterministic_and_close_to_exact():
    y, unit, time, paths = _panel(G=8, T=6, seed=4)
    paths = paths + np.arange(8)[:, None] * 1e-3
    stat = ols_t_stat_fn(y, None, unit, time)
    a = randomization_inference(stat, paths, seed=42, n_perm=1999, exact_if_leq=100)
    b = randomization_inference(stat, paths, seed=42, n_perm=1999, exact_if_leq=100)
    c = randomization_inference(stat, paths, seed=43, n_perm=1999, exact_if_leq=100)
    exact = randomization_inference(stat, paths, seed=0)  # 8! = 40320 <= 50000
    assert a == b and np.array_equal(a.null_distribution, b.null_distribution)
    assert not np.array_equal(a.null_distribution, c.null_distribution)
    assert exact.exact and exact.n_perm == 40320
    # Monte Carlo s.d. of a sampled p-value with 2000 draws <= 0.0112; tolerance 4 s.d.
    assert abs(a.p_value - exact.p_value) < 0.045


def test_ols_t_stat_fn_matches_crv1_t_and_ignores_unused_paths():
    y, unit, time, paths = _panel(G=6, T=5, seed=5)
    controls = np.column_stack([np.ones(len(y)), (unit[:, None] == np.arange(1, 6)).astype(float)])
    stat = ols_t_stat_fn(y, controls, unit, time)
    X = np.column_stack([paths[unit, time], controls])
    b = np.linalg.lstsq(X, y, rcond=None)[0]
    se = np.sqrt(crv1(X, y - X @ b, unit)[0, 0])
    assert stat(paths) == pytest.approx(b[0] / se, rel=1e-10)
    coef = ols_t_stat_fn(y, controls, unit, time, statistic="coef")
    assert coef(paths) == pytest.approx(b[0], rel=1e-10)


def test_unbalanced_panels_permute_within_identical_support():
    y, unit, time, paths = _panel(G=6, T=4, seed=6)
    paths = paths + np.arange(6)[:, None] * 1e-3
    paths[[0, 1, 2], 0] = np.nan  # clusters 0-2 unobserved in period 0
    with pytest.raises(SpecificationError, match="within_support"):
        randomization_inference(lambda p: 0.0, paths, seed=0)
    support = np.isnan(paths)
    seen = []

    def stat(p):
        assert np.array_equal(np.isnan(p), support)  # support preserved by every reassignment
        seen.append(p.copy())
        return float(np.nansum(p[:3]) - np.nansum(p[3:]))

    res = randomization_inference(stat, paths, seed=0, unbalanced="within_support")
    assert res.exact and res.n_perm == 3 * 2 * 3 * 2  # 3! x 3!
    assert len({a.tobytes() for a in seen}) == 36
    lone = paths.copy()
    lone[0, 1] = np.nan
    lone[1, 2] = np.nan
    lone[2, 3] = np.nan  # three clusters with three different supports, three balanced ones
    assert count_distinct_assignments(lone, unbalanced="within_support") == 6


def test_errors_and_inputs_not_mutated():
    y, unit, time, _ = _panel(G=4, T=3, seed=7)
    paths = np.array([[0, 0, 1], [0, 1, 1], [0, 0, 0], [0, 0, 0]], dtype=float)
    keep = paths.copy()
    randomization_inference(_mean_gap_stat(y, unit, time), paths, seed=0)
    assert np.array_equal(paths, keep)
    with pytest.raises(SpecificationError, match="impossible"):
        randomization_inference(lambda p: 1.0, np.zeros((4, 3)), seed=0)
    with pytest.raises(SpecificationError, match="finite"):
        randomization_inference(lambda p: float("nan"), paths + np.arange(4)[:, None], seed=0)
    with pytest.raises(SpecificationError, match="seed"):
        randomization_inference(lambda p: 1.0, paths, seed=None)  # type: ignore[arg-type]
    with pytest.raises(SpecificationError, match="alternative"):
        randomization_inference(lambda p: 1.0, paths, seed=0, alternative="two")  # type: ignore[arg-type]
