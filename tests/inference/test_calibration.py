"""Calibration Monte Carlo (sahel_causal.inference.calibration): its pieces against independent
computations, a reduced Monte Carlo with tolerances that catch a broken method, and the verdict rule."""
from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sahel_causal.inference import calibration as C
from sahel_causal.inference.randomization import _strata
from sahel_causal.models import fe_ols
from sahel_causal.pipeline import load_panel

SPECS = Path(__file__).resolve().parents[2] / "analysis" / "specs"
FULL_MC = os.environ.get("SAHEL_CAUSAL_FULL_MC") == "1"


@pytest.fixture(scope="module")
def panel():
    return load_panel()


@pytest.fixture(scope="module")
def africa(panel):
    return C.design_frame(C.DESIGNS[0], panel, SPECS)


def test_design_frame_is_the_table_sample(africa):
    assert africa.sample["iso3"].nunique() == 54 and len(africa.sample) == 1096  # Table 2 'lpm'
    assert not np.isnan(africa.paths[africa.ui, africa.ti]).any()


def test_engine_crv1_crv3_ri_statistics_match_fe_ols(africa):
    """One replicate: the engine's CRV1 t, its batched RI t for the observed assignment, and its closed-form
    CRV3 equal fe_ols on the same data (two-way FE, controls, the real imbalance)."""
    eng = C._LinearEngine(africa)
    rng = np.random.default_rng(5)
    strata = _strata(africa.paths, "within_support")
    src = C._reassign(africa.paths, strata, rng)
    y = africa.sample[africa.outcome].to_numpy(float)
    out = eng.tests(y, src, rng=rng, draws=99, perms=49, strata=strata, seed=1)
    d = africa.sample.copy()
    d[africa.base] = africa.paths[src][africa.ui, africa.ti]
    r1 = fe_ols(d, africa.outcome, africa.regs, fe=africa.fe, cluster="iso3")
    r3 = fe_ols(d, africa.outcome, africa.regs, fe=africa.fe, cluster="iso3", vcov="CRV3")
    t1 = r1.coef[africa.tested] / r1.std_errors[africa.tested]
    assert eng.last_crv1_t == pytest.approx(t1, rel=1e-6)
    assert eng.last_ri_t_obs == pytest.approx(t1, rel=1e-6)
    from scipy import stats
    p3 = 2 * stats.t(df=53).sf(abs(r3.coef[africa.tested] / r3.std_errors[africa.tested]))
    assert out["crv3"][0] == pytest.approx(p3, rel=1e-6)


def test_reduced_monte_carlo_catches_broken_methods(panel):
    """150 replicates of the Africa LPM (MC s.e. of a 5% size: 1.8 points). Randomization inference is
    exact under path reassignment, so its size must be near 5%; CRV3 and the wild bootstrap must not
    over-reject grossly; every method must have power above its size at the effect of interest. A method
    that ignored the data (p uniform or constant) or mis-studentized (e.g. the pre-fix RI statistic, or a
    dropped small-sample factor by orders of magnitude) fails one of these bounds."""
    des = replace(C.DESIGNS[0], replications=1000 if FULL_MC else 150, draws=199, permutations=99)
    cal = C.run_calibration(panel, SPECS, designs=[des])
    size = dict(zip(cal["method"], cal["size"]))
    power = dict(zip(cal["method"], cal["power"]))
    assert 0.01 <= size["ri"] <= 0.11
    assert size["crv3"] <= 0.11 and size["wild_webb"] <= 0.11 and size["wild_rademacher"] <= 0.11
    assert size["crv1"] >= size["crv3"]  # CRV3 is the conservative jackknife
    for m in C.LINEAR_METHODS:
        assert power[m] > size[m] + 0.1, m
    assert (cal["coverage"] - (1 - cal["size"])).abs().max() < 1e-12  # test inversion at the null
    again = C.run_calibration(panel, SPECS, designs=[des])
    pd.testing.assert_frame_equal(cal.drop(columns="seconds"), again.drop(columns="seconds"))


def test_calibrated_methods_applies_the_size_band():
    cal = pd.DataFrame({"design": ["a", "a", "a", "a", "b"], "method": ["crv1", "crv3", "ri", "wild_webb", "crv1"],
                        "size": [0.116, 0.05, 0.03, 0.0701, 0.05]})
    assert C.calibrated_methods("a", cal) == {"crv3", "ri"}
    assert C.calibrated_methods("b", cal) == {"crv1"}
    assert C.calibrated_methods("zzz", cal) == set()


@pytest.mark.parametrize("name", ["ppml_sahel", "clogit", "logit_cubic"])
def test_nonlinear_crv3_is_the_tables_crv3(panel, name):
    """The calibration's CRV3 for a nonlinear design is the p-value the tables report: same sample, same
    leave-one-country-out refits, same jackknife (checked against estimate() on the table's model)."""
    import dataclasses

    from sahel_causal.estimation import estimate
    from sahel_causal.models import conditional_logit, pooled_logit, ppml
    from sahel_causal.specs import load_spec

    des = next(d for d in C.DESIGNS if d.name == name)
    fr = C.design_frame(des, panel, SPECS)
    if fr.estimator == "ppml":
        res = ppml(fr.sample, fr.outcome, fr.regs, fe=fr.fe, cluster="iso3")
    elif fr.estimator == "conditional_logit":
        res = conditional_logit(fr.sample, fr.outcome, fr.regs, group="iso3", time="year", cluster="iso3")
    else:
        res = pooled_logit(fr.sample, fr.outcome, fr.regs, duration="_duration", dummies=fr.fe, cluster="iso3")
    p, covers = C._nonlinear_crv3(fr, fr.sample, res)
    spec = load_spec(SPECS / f"{des.table}.toml")
    model = next(m for m in spec.models if m.id == des.model)
    if des.countries is not None:
        model = dataclasses.replace(model, sample=dataclasses.replace(model.sample, countries=des.countries))
    model = dataclasses.replace(model, inference=dataclasses.replace(model.inference, wild_bootstrap=None,
                                                                     randomization=None))
    tr = estimate(dataclasses.replace(spec, models=(model,)), panel)
    rec = tr.models[0].result.inference["crv3"][des.tested]
    assert p == pytest.approx(rec.p_value, rel=1e-6)
    assert covers == bool(rec.ci_low <= 0 <= rec.ci_high)


def test_reduced_nonlinear_monte_carlo_reports_every_method(panel):
    """A few replicates of the pooled-logit design: every method the table reports for it (CRV1, CRV3,
    both wild score bootstraps) gets a size, a coverage and a power; reruns are identical."""
    des = replace(next(d for d in C.DESIGNS if d.name == "logit_cubic"), replications=10, draws=99)
    cal = C.run_calibration(panel, SPECS, designs=[des])
    assert list(cal["method"]) == ["crv1", "crv3", "wild_rademacher", "wild_webb"]
    assert cal["size"].between(0, 1).all() and cal["power"].between(0, 1).all()
    again = C.run_calibration(panel, SPECS, designs=[des])
    pd.testing.assert_frame_equal(cal.drop(columns="seconds"), again.drop(columns="seconds"))
