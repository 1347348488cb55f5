"""MDE and TOST (sahel_causal.inference.power) against textbook values and simulation."""
from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sahel_causal.errors import SpecificationError
from sahel_causal.inference.power import minimum_detectable_effect, power_at, tost
from sahel_causal.specs import parse_spec


def test_mde_normal_is_2_8_standard_errors():
    # Bloom (1995): 1.96 + 0.84 = 2.80 standard errors for 80% power, two-sided 5%
    assert minimum_detectable_effect(1.0) == pytest.approx(1.959964 + 0.841621, rel=1e-6)
    assert minimum_detectable_effect(0.5, df=10) == pytest.approx(0.5 * (stats.t(10).ppf(0.975) + stats.t(10).ppf(0.8)))
    # power at the MDE is 80% (up to the wrong-sign rejection probability)
    assert power_at(minimum_detectable_effect(1.0, df=20), 1.0, df=20) == pytest.approx(0.8, abs=1e-3)


def test_power_formula_by_simulation():
    rng = np.random.default_rng(3)
    z = 1.5 + rng.normal(size=200_000)
    assert power_at(1.5, 1.0) == pytest.approx(np.mean(np.abs(z) > 1.959964), abs=0.005)


def test_tost_matches_the_90_percent_interval_rule():
    r = tost(0.1, 0.2, 0.5)  # 90% CI 0.1 +- 0.329 = (-0.229, 0.429) inside (-0.5, 0.5)
    assert r.equivalent and r.p_value == pytest.approx(stats.norm.cdf((0.1 - 0.5) / 0.2), rel=1e-12)
    assert r.ci_low == pytest.approx(0.1 - 1.644854 * 0.2, rel=1e-6)
    r = tost(0.1, 0.3, 0.5)  # (-0.393, 0.593): not inside
    assert not r.equivalent and r.p_value > 0.05
    with pytest.raises(SpecificationError):
        tost(0.0, 0.0, 0.5)


def test_tost_size_at_the_margin_by_simulation():
    """At |beta| = margin, TOST rejects (declares equivalence) at most alpha of the time."""
    rng = np.random.default_rng(4)
    b = 0.5 + 0.2 * rng.normal(size=2000)
    rej = np.mean([tost(x, 0.2, 0.5).equivalent for x in b])
    assert rej <= 0.05 + 3 * np.sqrt(0.05 * 0.95 / 2000)


def test_smallest_effect_in_the_spec_is_validated():
    doc = {"table": {"id": "t", "title": "T"},
           "model": [{"id": "m", "outcome": "y", "treatments": ["x"], "smallest_effect_1sd": 0.02}]}
    assert parse_spec(doc, "t.toml").models[0].smallest_effect_1sd == 0.02
    for bad in (True, -1, "0.02"):
        doc["model"][0]["smallest_effect_1sd"] = bad
        with pytest.raises(SpecificationError, match="smallest_effect_1sd"):
            parse_spec(doc, "t.toml")


def test_equivalence_from_tidy_uses_the_interaction_and_crv3():
    import pandas as pd

    from sahel_causal.inference.power import equivalence_from_tidy

    doc = {"table": {"id": "t", "title": "T"},
           "variables": {"xg": {"interact": ["x", "g"]}},
           "model": [{"id": "m", "outcome": "y", "treatments": ["x", "xg"], "smallest_effect_1sd": 0.02}]}
    spec = parse_spec(doc, "t.toml")
    q = stats.t(df=9).ppf(0.975)
    tidy = pd.DataFrame({"model": ["m", "m"], "term": ["x", "xg"], "estimate": [1.0, 0.01],
                         "std_error": [0.1, 0.004], "ci_crv3_low": [0.8, 0.01 - q * 0.005],
                         "ci_crv3_high": [1.2, 0.01 + q * 0.005], "n_clusters": [10, 10], "within_sd": [1.0, 2.0]})
    row = equivalence_from_tidy(tidy, spec).iloc[0]
    assert row["term"] == "xg" and row["se_method"].startswith("CRV3")
    assert row["se_1sd"] == pytest.approx(0.01, rel=1e-9)  # CRV3 s.e. 0.005 times the SD 2
    assert row["effect_1sd"] == pytest.approx(0.02)
    assert row["mde80_1sd"] == pytest.approx(0.01 * (q + stats.t(df=9).ppf(0.8)), rel=1e-9)
