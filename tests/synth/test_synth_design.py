"""The synthetic-control design: spec parsing, data window and donor pool, seasonality, results."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from sahel_causal.designs.synthetic_control import (SyntheticControlResult, build_setup, run)
from sahel_causal.errors import SchemaError, SpecificationError
from sahel_causal.paths import PROCESSED_DIR
from sahel_causal.specs.designs.synthetic_control import parse
from sahel_causal.synth import synthdid_estimate

from conftest_synth import BASE, _deployments, _events, month_panel  # noqa: E402


def test_parse_is_strict():
    s = parse(dict(BASE), source="f.toml", where="model 1")
    assert s.frequency == "month" and s.seasonality == "month_of_year" and s.pre_periods == 60
    for bad, field in [({"pre_periods": True}, "pre_periods"), ({"pre_periods": 60.0}, "pre_periods"),
                       ({"treated": "MLI"}, "treated"), ({"colour": 1}, "colour"), ({"role": "x"}, "role"),
                       ({"frequency": "year", "seasonality": "month_of_year"}, "seasonality"),
                       ({"estimators": ["sc", "lasso"]}, "estimators"), ({"placebo_in_time": 58}, "placebo_in_time"),
                       ({"exclude_donors": ["MLI"]}, "exclude_donors"), ({"augmented": 1}, "augmented"), ({"transform": "per_100k"}, "transform"),
                       ({"augmented": True, "estimators": ["did"]}, "augmented")]:
        with pytest.raises(SpecificationError, match=rf"f\.toml: \[model 1\] {field}:"):
            parse({**BASE, **bad}, source="f.toml", where="model 1")
    with pytest.raises(SpecificationError, match="label: is required"):
        parse({k: v for k, v in BASE.items() if k != "label"}, source="f.toml", where="model 1")


def test_window_donor_pool_and_effect_recovery():
    spec = parse({**BASE, "pre_periods": 48, "post_periods": 24}, source="f", where="m")
    panel = month_panel(effect=0.5)
    setup = build_setup(spec, panel, _events(), _deployments())
    assert setup.T0 == 48 and setup.Y.shape == (12 + 1, 72)
    assert setup.periods[48] == 12 * 2022 + 8  # September 2022 (0-based month index 8)
    assert dict(setup.dropped) == {"NER": "G5 Sahel state", "SOM": "US exit (op, 2021)"}
    res = run(spec, panel, events=_events(), deployments=_deployments())
    sd = res.fit("synthdid")
    assert abs(sd.estimate - 0.5) < 0.15 and sd.p_rmspe == pytest.approx(1 / 13)
    assert res.first_post == "2022-09" and res.periods[-1] == "2024-08"
    # no effect -> estimate near zero and an unremarkable rank
    sd0 = run(spec, month_panel(effect=0.0), events=_events(), deployments=_deployments()).fit("synthdid")
    assert abs(sd0.estimate) < 0.15


def test_post_window_cut_at_last_complete_month_and_neighbours():
    spec = parse({**BASE, "pre_periods": 36, "post_periods": 60, "donor_pool": "no_exits_no_neighbours"},
                 source="f", where="m")
    res = run(spec, month_panel(), events=_events(2024, 6), deployments=_deployments())
    assert res.periods[-1] == "2025-11"  # December 2025 is incomplete
    assert ("SEN", "land neighbour of a treated state") in res.dropped and "SEN" not in res.donors


def test_month_of_year_adjustment_removes_a_fixed_seasonal_profile():
    spec = parse({**BASE, "pre_periods": 48}, source="f", where="m")
    plain = build_setup(spec, month_panel(seed=3, seasonal=0.0), _events(), _deployments())
    seas = build_setup(spec, month_panel(seed=3, seasonal=0.4), _events(), _deployments())
    # same draws except the profile (drawn after level and load), so compare estimates loosely and
    # check that every unit's pre-period calendar-month means are equal after adjustment
    cal = np.array([t % 12 for t in seas.periods[:48]])
    means = np.array([[seas.Y[i, :48][cal == m].mean() for m in range(12)] for i in range(seas.Y.shape[0])])
    np.testing.assert_allclose(means - means.mean(axis=1, keepdims=True), 0, atol=1e-12)
    assert plain.Y.shape == seas.Y.shape


def test_result_round_trip_and_tidy():
    spec = parse({**BASE, "pre_periods": 36, "estimators": ["synthdid", "did"], "placebo_in_time": 6},
                 source="f", where="m")
    res = run(spec, month_panel(effect=0.3), events=_events(), deployments=_deployments())
    back = SyntheticControlResult.from_dict(json.loads(json.dumps(res.to_dict())))
    assert back.to_json() == res.to_json()  # NaN-aware (non-finite floats serialised as strings)
    assert back.fit("did").omega == res.fit("did").omega and back.fit("synthdid").estimate == res.fit("synthdid").estimate
    assert math.isnan(back.fit("synthdid").p_conformal) and 0 < back.fit("did").p_conformal <= 1
    slim = SyntheticControlResult.from_dict(json.loads(json.dumps(res.to_dict(placebo_paths=False))))
    assert slim.fit("synthdid").placebo_gaps == () and slim.fit("synthdid").estimate == res.fit("synthdid").estimate
    assert slim.to_dict(placebo_paths=False) == res.to_dict(placebo_paths=False)
    t = res.tidy()
    assert list(t["method"]) == ["synthdid", "did"]
    assert {"term", "estimate", "std_error", "p_value", "ci_low", "ci_high", "method"} <= set(t.columns)
    assert math.isnan(t.loc[0, "cum_24"]) is False and not math.isnan(t.loc[0, "placebo_in_time"])
    # the SDID fit is the plain synthdid_estimate on the setup's matrix
    setup = build_setup(spec, month_panel(effect=0.3), _events(), _deployments())
    assert res.fit("synthdid").estimate == synthdid_estimate(setup.Y, setup.N0, setup.T0).estimate


def test_errors_name_the_model():
    spec = parse({**BASE, "event": "NOPE"}, source="f", where="m")
    with pytest.raises(SpecificationError, match="model 'm1': event 'NOPE'"):
        run(spec, month_panel(), events=_events(), deployments=_deployments())
    gap = month_panel()
    gap = gap[~((gap.iso3 == "MLI") & (gap.year == 2020) & (gap.month == 3))]
    with pytest.raises(SchemaError, match="treated state MLI lacks complete data"):
        run(parse(dict(BASE), source="f", where="m"), gap, events=_events(), deployments=_deployments())


def test_real_panel_two_models_deterministic():
    path = PROCESSED_DIR / "panel_country_month.csv"
    if not path.is_file():
        pytest.skip("processed country-month panel not built")
    month = pd.read_csv(path)
    spec = parse({**BASE, "event": "FRA_MLI_EXIT", "estimators": ["synthdid", "sc"]}, source="f", where="m")
    a, b = run(spec, month), run(spec, month)
    assert a.to_json() == b.to_json()
    J = len(a.donors)
    for f in a.fits:  # rank p-values live on the grid k / (J + 1)
        assert abs(f.p_rmspe * (J + 1) - round(f.p_rmspe * (J + 1))) < 1e-9
    assert not {"MLI", "BFA", "NER", "TCD", "MRT"} & set(a.donors)


def test_yearly_per_100k_uses_population():
    rng = np.random.default_rng(5)
    rows = []
    for c in DONORS_Y + ["MLI"]:
        pop = rng.uniform(1e6, 5e7)
        for y in range(2008, 2025):
            rows.append({"iso3": c, "year": y, "acled_fatalities": float(rng.poisson(50)), "population": pop,
                         "acled_partial_year": 0})
    panel = pd.DataFrame(rows)
    spec = parse({**BASE, "outcome": "acled_fatalities", "frequency": "year", "transform": "per_100k",
                  "estimators": ["did"]}, source="f", where="m")
    setup = build_setup(spec, panel, _events(), _deployments())
    mli = panel[(panel.iso3 == "MLI") & (panel.year.between(2013, 2024))]
    np.testing.assert_allclose(setup.Y[-1], mli.acled_fatalities / mli.population * 1e5)
    assert setup.T0 == 10 and len(setup.periods) == 12


DONORS_Y = ["AGO", "BEN", "BWA", "CMR", "GHA", "KEN"]
