"""Sun & Abraham interaction-weighted event study: pyfixest parity and recovery of known ATTs."""
from __future__ import annotations

import warnings

import numpy as np
import pyfixest as pf
import pytest

from sahel_causal.did.simulate import staggered_panel
from sahel_causal.did.sun_abraham import sun_abraham
from sahel_causal.did.twfe import twfe_event_study


@pytest.mark.parametrize("drop", [0.0, 0.08])
def test_matches_pyfixest_saturated_event_study(drop):
    d = staggered_panel(seed=21)
    if drop:
        # pyfixest 0.60 re-derives each unit's cohort from its first *observed* treated row, so a
        # unit whose entry-period row is missing becomes a later cohort there (not here, where the
        # cohort is the given first treated period): keep the entry rows for the comparison
        rng = np.random.default_rng(0)
        d = d[(rng.random(len(d)) >= drop) | (d.t == d.g)].reset_index(drop=True)
    r = sun_abraham(d, "y", "t", "id", "g")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        f = pf.event_study(d, yname="y", idname="id", tname="t", gname="g", estimator="saturated", cluster="id")
    coef, se = f.coef(), f.se()
    for c in r.meta["catt"]:
        name = f"rel_time::{float(c['e'])}:first_treated_period::{c['cohort']}"
        assert c["estimate"] == pytest.approx(float(coef[name]), rel=1e-9, abs=1e-12)
        assert c["std_error"] == pytest.approx(float(se[name]), rel=1e-7)
    if drop:
        # pyfixest 0.60's aggregate() fails (KeyError) when a cohort misses a relative period;
        # aggregate pyfixest's cell estimates by hand with observation-count shares instead
        d["e"] = d.t - d.g
        n = d[d.g > 0].groupby(["g", "e"]).size()
        names = list(coef.index)
        for e in (-3, 0, 2, 5):
            cells = [(g, e) for g in sorted(d.g[d.g > 0].unique()) if (g, e) in n.index]
            w = np.zeros(len(names))
            for g, _ in cells:
                w[names.index(f"rel_time::{float(e)}:first_treated_period::{g}")] = n[g, e]
            w /= w.sum()
            assert r.coef(f"e={e}") == pytest.approx(float(w @ coef.to_numpy()), rel=1e-9)
            assert r.se(f"e={e}") == pytest.approx(float(np.sqrt(w @ f._vcov @ w)), rel=1e-7)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        agg = f.aggregate()
    for e, row in agg.iterrows():
        assert r.coef(f"e={int(e)}") == pytest.approx(float(row["Estimate"]), rel=1e-9, abs=1e-12)
        assert r.se(f"e={int(e)}") == pytest.approx(float(row["Std. Error"]), rel=1e-7)


@pytest.mark.parametrize("drop", [0.0, 0.1])
def test_recovers_known_att_where_twfe_fails(drop):
    d = staggered_panel(seed=22, noise=0.0, drop_share=drop)
    r = sun_abraham(d, "y", "t", "id", "g")
    truth = d[(d.g > 0) & (d.t >= d.g)].assign(e=lambda x: x.t - x.g).groupby("e").te.mean()
    for e, v in truth.items():
        assert r.coef(f"e={e}") == pytest.approx(v, abs=1e-9)
    assert r.coef("ATT") == pytest.approx(d.loc[(d.g > 0) & (d.t >= d.g), "te"].mean(), abs=1e-9)
    for e in range(-5, -1):
        assert abs(r.coef(f"e={e}")) < 1e-9
    tw = twfe_event_study(d, "y", "t", "id", "g", leads=5, lags=5)
    assert abs(tw.coef("e=-3")) > 0.05  # contaminated leads in TWFE


def test_last_treated_cohort_as_control():
    d = staggered_panel(seed=23, noise=0.0, never=False)
    r = sun_abraham(d, "y", "t", "id", "g", control="last")
    sub = d[(d.g > 0) & (d.g < 10) & (d.t >= d.g) & (d.t < 10)]
    truth = sub.assign(e=lambda x: x.t - x.g).groupby("e").te.mean()
    for e, v in truth.items():
        assert r.coef(f"e={e}") == pytest.approx(v, abs=1e-9)
