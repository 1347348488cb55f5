"""Leave-one-country-out influence data against actual refits, and the figure function."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sahel_causal.inference.influence import leave_one_country_out, scaling_comparison
from sahel_causal.models import fe_ols
from sahel_causal.pipeline import load_panel
from sahel_causal.specs import load_spec
from sahel_causal.specs.transform import derive_all, select_sample

SPECS = Path(__file__).resolve().parents[2] / "analysis" / "specs"


@pytest.fixture(scope="module")
def panel():
    return load_panel()


def test_loo_closed_form_equals_refits_without_the_country(panel):
    spec = load_spec(SPECS / "table4_heterogeneity.toml")
    loo = leave_one_country_out(spec, panel, "coup_g5", "train_x_g5")
    m = next(x for x in spec.models if x.id == "coup_g5")
    data = select_sample(derive_all(panel, spec), m, spec, "iso3").data
    regs = [*m.treatments, *m.controls]
    for c in ("MRT", "NER", "GHA"):
        ref = fe_ols(data[data.iso3 != c], m.outcome, regs, fe=("iso3", "year"), cluster="iso3").coef["train_x_g5"]
        got = loo.loc[loo.country_left_out == c, "estimate_without"].iloc[0]
        assert got == pytest.approx(ref, rel=1e-7, abs=1e-12)
    assert len(loo) == data.iso3.nunique()


def test_scaling_comparison_and_figure(panel):
    from sahel_causal.report.influence import make_influence_figure

    sc = scaling_comparison(load_spec(SPECS / "table2_coups.toml"), panel)
    assert list(sc["model"]) == ["lpm", "lpm_total"] and (sc["n_clusters"] == sc["n_clusters"].iloc[0]).all()
    assert (sc["ci_crv3_low_1sd"] < sc["effect_1sd"]).all() and (sc["effect_1sd"] < sc["ci_crv3_high_1sd"]).all()
    loo = leave_one_country_out(load_spec(SPECS / "table2_coups.toml"), panel, "lpm")
    fig = make_influence_figure(loo)
    assert len(fig.axes) == 1 and fig.axes[0].get_ylabel()
    assert np.isfinite(loo["estimate_without"]).all()
