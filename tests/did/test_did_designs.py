"""The staggered_did and stacked_event_study designs, their specs, and the Table 5 task pieces."""
from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from sahel_causal.designs import event_study_coups
from sahel_causal.designs.staggered_did import StaggeredDidResult, _ri_twfe, run
from sahel_causal.did.simulate import staggered_panel
from sahel_causal.did.twfe import twfe_static
from sahel_causal.errors import SpecificationError
from sahel_causal.specs.designs import stacked_event_study as sspec
from sahel_causal.specs.designs.staggered_did import parse


def _sim():
    d = staggered_panel(seed=61, n_units=40, n_periods=10, cohorts=(4, 7)).rename(columns={"id": "iso3", "t": "year"})
    d["iso3"] = "C" + d["iso3"].astype(str)
    return d


@pytest.mark.parametrize("est", ["twfe", "cs_dr", "sun_abraham", "imputation"])
def test_run_tidy_contract_and_json_round_trip(est):
    d = _sim()
    spec = parse({"outcome": "y", "cohort": "g", "estimator": est, "id": f"y::{est}", "biters": 49, "ri_draws": 49,
                  "min_e": -3, "max_e": 4}, source="t", where="m")
    r = run(spec, d)
    t = r.tidy()
    assert {"term", "estimate", "std_error", "p_value", "ci_low", "ci_high", "method"} <= set(t.columns)
    assert "ATT" in set(t.term)
    back = StaggeredDidResult.from_dict(json.loads(json.dumps(r.to_dict())))
    pd.testing.assert_frame_equal(back.tidy(), t)
    assert r.diagnostics["n_treated_units"] == d.loc[d.g > 0, "iso3"].nunique()


def test_sun_abraham_equals_callaway_santanna_simple_att_on_balanced_panel():
    """Two helpers' independent code paths: S&A IW with never-treated controls and the CS simple
    aggregate (unconditional, never-treated) are the same estimator on a balanced panel."""
    d = _sim()
    kw = {"outcome": "y", "cohort": "g", "bootstrap": False}
    sa = run(parse({**kw, "estimator": "sun_abraham"}, source="t", where="m"), d)
    cs = run(parse({**kw, "estimator": "cs_dr"}, source="t", where="m"), d)
    assert sa.estimates.coef("ATT") == pytest.approx(cs.estimates.coef("ATT"), abs=1e-10)
    for e in range(0, 5):
        assert sa.estimates.coef(f"e={e}") == pytest.approx(cs.estimates.coef(f"e={e}"), abs=1e-10)


def test_twfe_randomization_p_value_matches_brute_force():
    d = _sim()
    spec = parse({"outcome": "y", "cohort": "g", "estimator": "twfe"}, source="t", where="m")
    p, n = _ri_twfe(d, spec, draws=30, seed=5)
    # brute force with the same permutations
    units = np.array(sorted(d.iso3.unique()))
    g_unit = d.groupby("iso3").g.first().reindex(units).to_numpy()
    rng = np.random.default_rng(5)
    obs = twfe_static(d, "y", "year", "iso3", "g").coef("ATT")
    hits = 0
    for _ in range(30):
        perm = dict(zip(units, rng.permutation(g_unit)))
        b = twfe_static(d.assign(g=d.iso3.map(perm)), "y", "year", "iso3", "g").coef("ATT")
        hits += abs(b) >= abs(obs) - 1e-12
    assert n == 30
    assert p == pytest.approx((1 + hits) / 31)


def test_always_treated_units_dropped_and_recorded():
    d = _sim()
    d.loc[d.iso3 == "C0", "g"] = 1  # treated from its first year
    r = run(parse({"outcome": "y", "cohort": "g", "estimator": "imputation"}, source="t", where="m"), d)
    assert any("C0" in k for k, _ in r.diagnostics["dropped"])


def test_stacked_spec_is_strict():
    ok = sspec.parse({"outcome": "y", "event": "e", "pre": 2}, source="s.toml", where="m1")
    assert ok.pre == 2 and ok.ref == -1
    with pytest.raises(SpecificationError, match=r"s.toml: \[m1\] pre: must be an integer"):
        sspec.parse({"outcome": "y", "event": "e", "pre": True}, source="s.toml", where="m1")
    with pytest.raises(SpecificationError, match="unknown key"):
        sspec.parse({"outcome": "y", "event": "e", "window": 3}, source="s.toml", where="m1")
    with pytest.raises(SpecificationError, match="ref"):
        sspec.parse({"outcome": "y", "event": "e", "pre": 2, "ref": -3}, source="s.toml", where="m1")
    with pytest.raises(SpecificationError, match="weighting"):
        sspec.parse({"outcome": "y", "event": "e", "weighting": "cengiz"}, source="s.toml", where="m1")


def test_coup_event_design_on_simulated_events():
    rng = np.random.default_rng(3)
    rows = []
    for i in range(40):
        ev = 8 + (i % 10) if i < 12 else None
        for t in range(1, 25):
            rows.append((f"C{i}", t, int(ev == t), rng.normal() + (-1.5 if ev is not None and t >= ev else 0.0)))
    d = pd.DataFrame(rows, columns=["iso3", "year", "coup", "aid"])
    spec = sspec.parse({"outcome": "aid", "event": "coup", "pre": 3, "post": 2, "buffer": 2}, source="s", where="m")
    r = event_study_coups.run(spec, d)
    assert r.diagnostics["n_events_used"] == 12
    assert r.estimates.coef("e=1") == pytest.approx(-1.5, abs=0.6)
    assert abs(r.estimates.coef("e=-3")) < 0.8


def test_table5_task_pieces_on_real_panel():
    from sahel_causal.pipeline import load_panel
    from sahel_causal.tasks import table5

    panel = load_panel()
    raw = table5._read(table5.SPEC)
    data = table5.derive(panel, raw, "t")
    assert data["year"].max() == 2024  # ACLED's partial 2025 excluded
    models = table5.partnership_models(raw, "t")
    assert len({m.id for m in models}) == len(models)
    m = next(m for m in models if m.id == "coup_any::twfe")
    r = run(m, data)
    assert r.diagnostics["n_treated_units"] == 11 and r.diagnostics["n_control_units"] == 43
    # the Bacon decomposition reproduces the TWFE coefficient on its balanced subsample
    by = r.diagnostics["bacon"]["by_type"]
    assert sum(x["weight"] for x in by) == pytest.approx(1.0)
    assert sum(x["weight"] * x["estimate"] for x in by) == pytest.approx(r.diagnostics["bacon"]["twfe_balanced"], abs=1e-10)
    fa = table5.first_arrival(data, "actor_g5_jf")
    assert set(fa[fa > 0].unique()) == {2017}


def test_imputation_randomization_p_value_matches_brute_force():
    from sahel_causal.designs.staggered_did import _ri_imputation
    from sahel_causal.did.imputation import imputation_did

    d = _sim()
    d = d[np.random.default_rng(2).random(len(d)) > 0.1]  # unbalanced
    spec = parse({"outcome": "y", "cohort": "g", "estimator": "imputation"}, source="t", where="m")
    p, n = _ri_imputation(d, spec, draws=25, seed=9)
    units = np.array(sorted(d.iso3.unique()))
    g_unit = d.groupby("iso3").g.first().reindex(units).to_numpy()
    rng = np.random.default_rng(9)
    obs = imputation_did(d, "y", "year", "iso3", "g").coef("ATT")
    hits = 0
    for _ in range(25):
        perm = dict(zip(units, rng.permutation(g_unit)))
        b = imputation_did(d.assign(g=d.iso3.map(perm)), "y", "year", "iso3", "g").coef("ATT")
        hits += abs(b) >= abs(obs) - 1e-12
    assert n == 25
    assert p == pytest.approx((1 + hits) / 26)


@pytest.mark.slow
@pytest.mark.skipif(os.environ.get("SAHEL_CAUSAL_FULL_MC") != "1", reason="runs the full Table 5 task twice (about 40 s of CPU); set SAHEL_CAUSAL_FULL_MC=1")
def test_table5_task_is_byte_reproducible(tmp_path):
    """make() twice -> identical bytes in every table and figure."""
    import hashlib

    from sahel_causal.pipeline import load_panel
    from sahel_causal.tasks import table5

    panel = load_panel()
    a = table5.make(panel, tmp_path / "a")
    b = table5.make(panel, tmp_path / "b")
    assert [p.name for p in a] == [p.name for p in b]
    for pa, pb in zip(a, b):
        assert hashlib.sha256(pa.read_bytes()).hexdigest() == hashlib.sha256(pb.read_bytes()).hexdigest(), pa.name


def test_dcdh_design_uses_switching_treatment_column():
    from sahel_causal.did.simulate import switching_panel

    d = switching_panel(noise=0.0).rename(columns={"id": "iso3", "t": "year"})
    d["g"] = d["F"]
    spec = parse({"outcome": "y", "cohort": "g", "estimator": "dcdh", "treatment": "d", "bootstrap": False,
                  "min_e": -3, "max_e": 3}, source="t", where="m")
    r = run(spec, d)
    truth = d[d.F > 0].assign(e=lambda x: x.year - x.F).groupby("e").te.mean()
    for e in range(4):
        assert r.estimates.coef(f"e={e}") == pytest.approx(truth[e], abs=1e-10)
    bad = parse({"outcome": "y", "cohort": "g", "estimator": "dcdh", "treatment": "nope"}, source="t", where="m")
    with pytest.raises(SpecificationError, match="not in the panel"):
        run(bad, d)


def test_exclude_ever_drops_only_untreated_program_members():
    from sahel_causal.pipeline import load_panel
    from sahel_causal.tasks import table5

    panel = load_panel()
    out = table5._exclude_ever(panel, ["preact_partner", "sgi_partner"], "t")
    members = set(panel.loc[(panel.preact_partner == 1) | (panel.sgi_partner == 1), "iso3"])
    partners = set(panel.loc[panel.tsctp_entry_year.notna(), "iso3"])
    assert set(out.iso3) == set(panel.iso3) - (members - partners)
    assert partners <= set(out.iso3)
    with pytest.raises(SpecificationError, match="exclude_ever"):
        table5._exclude_ever(panel, ["nope"], "t")
