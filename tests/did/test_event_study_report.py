"""Event-study and sensitivity figures, and the joint pre-trend test."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sahel_causal.did import aggte, att_gt
from sahel_causal.errors import SpecificationError
from sahel_causal.report.event_study import plot_event_study, plot_sensitivity, pretrend_test


@pytest.fixture(scope="module")
def es(validation_dir):
    path = validation_dir / "mpdta" / "mpdta.csv"
    if not path.is_file():
        pytest.skip(f"{path} not available")
    d = pd.read_csv(path)
    r = att_gt(d, "lemp", "year", "countyreal", "first.treat", base_period="universal", biters=199)
    return aggte(r, type="dynamic")


def test_pretrend_wald(es):
    W, k, p = pretrend_test(es)
    pre = (es.egt < 0) & (es.egt != -1)  # the universal reference (-1) has zero variance
    IF = es.inf_func_egt[:, pre]
    V = IF.T @ IF / IF.shape[0] ** 2
    b = es.att_egt[pre]
    assert k == 3
    assert W == pytest.approx(float(b @ np.linalg.solve(V, b)), rel=1e-10)
    assert p == pytest.approx(stats.chi2.sf(W, 3), rel=1e-12)


def test_figures_build_and_reject_wrong_inputs(es, tmp_path):
    from sahel_causal.report.figures import save_figure

    fig = plot_event_study(es, title="mpdta")
    ax = fig.axes[0]
    assert ax.get_xlabel() and ax.get_ylabel()
    assert len(ax.get_xticks()) == es.egt.size
    paths = save_figure(fig, tmp_path, "es")
    assert all(p.stat().st_size > 1000 for p in paths)
    robust = pd.DataFrame({"lb": [-0.1, -0.2], "ub": [0.1, 0.2], "method": "C-LF", "Mbar": [0.5, 1.0]})
    fig2 = plot_sensitivity(robust, (-0.05, 0.05))
    assert "bar" in fig2.axes[0].get_xlabel() or "M" in fig2.axes[0].get_xlabel()
    with pytest.raises(SpecificationError):
        plot_sensitivity(robust.drop(columns="Mbar"), (-0.05, 0.05))
    with pytest.raises(SpecificationError):
        pretrend_test(object())
