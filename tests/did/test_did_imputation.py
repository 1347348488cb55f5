"""Imputation (BJS) / two-stage (Gardner) DiD: parity with pyfixest did2s and recovery."""
from __future__ import annotations

import numpy as np
import pyfixest as pf
import pytest

from sahel_causal.did.imputation import imputation_did
from sahel_causal.did.simulate import staggered_panel
from sahel_causal.did.twfe import twfe_static


# pyfixest recovers the first-stage fixed effects iteratively: on unbalanced panels its point
# estimates differ from the exact least-squares ones in the 6th digit (checked against an
# explicit dummy regression in test_exact_against_dummy_regression), hence the looser tolerance.
@pytest.mark.parametrize("drop,tol", [(0.0, 1e-9), (0.1, 1e-5)])
def test_matches_pyfixest_did2s(drop, tol):
    d = staggered_panel(seed=31, drop_share=drop)
    r = imputation_did(d, "y", "t", "id", "g")
    d["D"] = ((d.g > 0) & (d.t >= d.g)).astype(int)
    f = pf.did2s(d.copy(), yname="y", first_stage="~0|id+t", second_stage="~D", treatment="D", cluster="id")
    assert r.coef("ATT") == pytest.approx(float(f.coef()["D"]), rel=tol)
    assert r.se("ATT") == pytest.approx(float(f.se()["D"]), rel=max(tol, 1e-7))
    d["rel"] = np.where(d.g > 0, d.t - d.g, -1000)
    f2 = pf.did2s(d.copy(), yname="y", first_stage="~0|id+t", second_stage="~i(rel, ref=-1000)", treatment="D", cluster="id")
    for e in range(0, 9):
        assert r.coef(f"e={e}") == pytest.approx(float(f2.coef()[f"rel::{e}"]), rel=tol)
        assert r.se(f"e={e}") == pytest.approx(float(f2.se()[f"rel::{e}"]), rel=max(tol, 1e-7))


def test_exact_against_dummy_regression():
    d = staggered_panel(seed=31, drop_share=0.1)
    d["D"] = ((d.g > 0) & (d.t >= d.g)).astype(int)
    r = imputation_did(d, "y", "t", "id", "g")
    f1 = pf.feols("y ~ C(id) + C(t)", data=d[d.D == 0])
    tau = d.loc[d.D == 1, "y"].to_numpy() - f1.predict(newdata=d[d.D == 1])
    assert r.coef("ATT") == pytest.approx(tau.mean(), abs=1e-11)


@pytest.mark.parametrize("kw", [dict(), dict(never=False), dict(drop_share=0.1)])
def test_recovers_known_att(kw):
    d = staggered_panel(seed=32, noise=0.0, **kw)
    r = imputation_did(d, "y", "t", "id", "g")
    # without never-treated units the last cohort's treated periods have no untreated units
    if kw.get("never", True) is False:
        tr = d[(d.g > 0) & (d.t >= d.g) & (d.t < d.g.max())]
    else:
        tr = d[(d.g > 0) & (d.t >= d.g)]
    assert r.coef("ATT") == pytest.approx(tr.te.mean(), abs=1e-9)
    for e, v in tr.assign(e=tr.t - tr.g).groupby("e").te.mean().items():
        assert r.coef(f"e={e}") == pytest.approx(v, abs=1e-9)
    if kw.get("never", True) is False:
        assert twfe_static(d, "y", "t", "id", "g").coef("ATT") < 0 < r.coef("ATT")


def test_anticipation_shifts_treated_window():
    d = staggered_panel(seed=33, noise=0.0)
    r = imputation_did(d, "y", "t", "id", "g", anticipation=1)
    assert r.coef("e=-1") == pytest.approx(0.0, abs=1e-9)
    assert "e=-1" in r.terms
