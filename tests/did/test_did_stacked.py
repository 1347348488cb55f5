"""Stacked event study with clean controls."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyfixest as pf
import pytest

from sahel_causal.did.simulate import staggered_panel
from sahel_causal.did.stacked import build_stack, stacked_event_study


def _events(d):
    return d[d.g > 0].groupby("id").g.first().reset_index().rename(columns={"g": "t"})


def test_single_event_date_equals_twfe_event_study():
    d = staggered_panel(seed=51, cohorts=(6,), n_units=40)
    r = stacked_event_study(d, "y", "t", "id", _events(d), pre=5, post=6, absorbing=True)
    d["rel"] = np.where(d.g > 0, d.t - d.g, -1)
    f = pf.feols("y ~ i(rel, ref=-1) | id + t", data=d, vcov={"CRV1": "id"})
    for k in (-5, -2, 0, 3, 6):
        assert r.coef(f"e={k}") == pytest.approx(float(f.coef()[f"rel::{k}"]), rel=1e-9)
        assert r.se(f"e={k}") == pytest.approx(float(f.se()[f"rel::{k}"]), rel=1e-6)


def test_recovers_homogeneous_dynamic_effects_and_wing_weights():
    d = staggered_panel(seed=52, noise=0.0, heterogeneous=False, n_periods=14)
    r = stacked_event_study(d, "y", "t", "id", _events(d), pre=3, post=3, absorbing=True)
    for k in range(4):
        assert r.coef(f"e={k}") == pytest.approx(1 + 0.5 * k, abs=1e-9)
    d = staggered_panel(seed=52, noise=0.0, heterogeneous=True, n_periods=14)
    rw = stacked_event_study(d, "y", "t", "id", _events(d), pre=3, post=3, absorbing=True, weighting="wing")
    st, _ = build_stack(d, "y", "t", "id", _events(d), 3, 3, absorbing=True)
    st = st.merge(d[["id", "t", "te"]].rename(columns={"id": "unit", "t": "time"}))
    truth = st[st.treated == 1].groupby("k").te.mean()
    for k in range(4):
        assert rw.coef(f"e={k}") == pytest.approx(truth[k], abs=1e-9)


def test_one_time_events_clean_controls_and_unclean_events_dropped():
    rng = np.random.default_rng(0)
    N, T = 50, 20
    rows = []
    ev = []
    for i in range(N):
        es = sorted(rng.choice(np.arange(4, 17), size=rng.integers(0, 3), replace=False).tolist())
        ev += [(i, e) for e in es]
        a = rng.normal()
        for t in range(1, T + 1):
            te = sum(-2.0 * (0.5 ** (t - e)) for e in es if t >= e)  # decaying shock
            rows.append((i, t, a + 0.1 * t + te))
    d = pd.DataFrame(rows, columns=["id", "t", "y"])
    events = pd.DataFrame(ev, columns=["id", "t"])
    r = stacked_event_study(d, "y", "t", "id", events, pre=2, post=2, buffer=3)
    # clean: no other event of the treated unit in [e-2, e+2]; controls: none in [e-5, e+2];
    # residual effects of the treated unit's earlier events (decayed) bias by < 2 * 0.5**3
    assert r.coef("e=0") == pytest.approx(-2.0, abs=0.3)
    assert r.coef("e=1") == pytest.approx(-1.0, abs=0.3)
    n_unclean = dict(r.dropped).get("events with another event of the same unit in the window", 0)
    assert n_unclean + r.meta["n_events"] <= len(events)
    assert r.meta["pretrend_wald"]["df"] >= 1
