"""dCDH DID_l for non-absorbing treatments, and the continuous-dose WAS with stayers."""
from __future__ import annotations

import numpy as np
import pytest

from sahel_causal.did.continuous import was_stayers
from sahel_causal.did.dcdh import did_multiplegt
from sahel_causal.did.imputation import imputation_did
from sahel_causal.did.simulate import dose_panel, staggered_panel, switching_panel
from sahel_causal.errors import SpecificationError


def test_did_l_recovers_effects_of_switching_on_and_off():
    d = switching_panel(noise=0.0)
    r = did_multiplegt(d, "y", "t", "id", "d", effects=5, placebo=2, bootstrap=0)
    truth = d[d.F > 0].assign(e=lambda x: x.t - x.F).groupby("e").te.mean()
    for e in range(0, 5):
        assert r.coef(f"e={e}") == pytest.approx(truth[e], abs=1e-10)
    for e in (-2, -3):
        assert r.coef(f"e={e}") == pytest.approx(0.0, abs=1e-10)
    # switching off matters: effect at e=3 is below the always-on path
    assert r.coef("e=3") < r.coef("e=1")


def test_did_l_switchers_out_and_unbalanced_panel():
    d = switching_panel(seed=5, noise=0.0)
    # constant effect 1.5 while treated and units that start treated and switch off
    d["y"] = d["y"] - d["te"] + 1.5 * d["d"]
    flip = d.id % 4 == 0
    d.loc[flip, "d"] = 1 - d.loc[flip, "d"]
    d.loc[flip, "y"] = d.loc[flip, "y"] + 1.5 * (2 * d.loc[flip, "d"] - 1)
    d = d.sample(frac=0.93, random_state=1).sort_values(["id", "t"])
    r = did_multiplegt(d, "y", "t", "id", "d", effects=2, placebo=1, bootstrap=0)
    assert r.coef("e=0") == pytest.approx(1.5, abs=1e-10)
    assert r.coef("e=-2") == pytest.approx(0.0, abs=1e-10)


def test_did_l_equals_long_difference_imputation_structure_on_absorbing_data():
    """Absorbing, noise-free: DID_l = ATT at e = l-1, as the imputation estimator."""
    d = staggered_panel(seed=41, noise=0.0)
    d["D"] = ((d.g > 0) & (d.t >= d.g)).astype(int)
    r = did_multiplegt(d, "y", "t", "id", "D", effects=3, placebo=0, bootstrap=0)
    imp = imputation_did(d, "y", "t", "id", "g")
    for e in range(3):
        assert r.coef(f"e={e}") == pytest.approx(imp.coef(f"e={e}"), abs=1e-9)


def test_did_l_bootstrap_deterministic_and_sized():
    d = switching_panel(seed=3, noise=1.0)
    a = did_multiplegt(d, "y", "t", "id", "d", effects=2, placebo=1, bootstrap=99, seed=7)
    b = did_multiplegt(d, "y", "t", "id", "d", effects=2, placebo=1, bootstrap=99, seed=7)
    assert a == b
    assert all(0 < s < 2 for s in a.std_error)


def test_was_recovers_weighted_average_of_slopes():
    f = lambda dd, i: (0.5 + (i % 3) * 0.5) * dd + 0.2 * dd**2  # noqa: E731
    d = dose_panel(noise=0.0, response=f)
    r = was_stayers(d, "y", "t", "id", "d", bootstrap=0)
    p = d.merge(d.assign(t=d.t + 1)[["id", "t", "d", "fd"]].rename(columns={"d": "d0", "fd": "f0"}), on=["id", "t"])
    p["dd"] = p.d - p.d0
    cells = set(zip(p.loc[p.dd == 0, "t"], p.loc[p.dd == 0, "d0"]))
    sw = p[(p.dd != 0).to_numpy() & np.array([(a, b) in cells for a, b in zip(p.t, p.d0)])]
    truth = (np.sign(sw.dd) * (sw.fd - sw.f0)).sum() / sw.dd.abs().sum()
    assert r.coef("WAS") == pytest.approx(truth, abs=1e-10)


def test_was_constant_slope_and_errors():
    d = dose_panel(noise=0.0, response=lambda dd, i: 0.7 * dd)
    assert was_stayers(d, "y", "t", "id", "d", bootstrap=0).coef("WAS") == pytest.approx(0.7, abs=1e-10)
    d2 = d.assign(d=d.d + d.t * 0.01 + d.id * 1e-4)  # nobody stays
    with pytest.raises(SpecificationError, match="stayer"):
        was_stayers(d2, "y", "t", "id", "d", bootstrap=0)
