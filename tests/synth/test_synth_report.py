"""Table 6 formatting and figures on simulated results: sections, formats, deterministic bytes."""
from __future__ import annotations

import matplotlib.pyplot as plt
import pytest

from sahel_causal.designs.synthetic_control import run
from sahel_causal.report import synth_figures, synth_table
from sahel_causal.report.figures import save_figure
from sahel_causal.specs.designs.synthetic_control import parse

from conftest_synth import BASE, _deployments, _events, month_panel


@pytest.fixture(scope="module")
def results():
    out = []
    for i, (role, extra) in enumerate([("main", {}), ("competing", {"pre_periods": 36})]):
        spec = parse({**BASE, "id": f"m{i}", "label": f"Model {i}", "role": role, **extra}, source="f", where="m")
        out.append(run(spec, month_panel(seed=i, effect=0.3), events=_events(), deployments=_deployments()))
    return out


def test_table6_sections_and_formats(results):
    tab = synth_table.table6(results, "Table 6. Test", ["first note", "second note"], {"spec": "abc"})
    assert len(tab.raw) == 6 and set(tab.raw["method"]) == {"synthdid", "sc", "did"}
    md = synth_table.table6_markdown(tab)
    assert "| **A. Exits: ACLED political-violence events, country-month** |" in md
    assert "| **D. Competing events" in md and "Note 2. second note" in md and "B. Exits" not in md
    sd = results[0].fit("synthdid")
    assert f"| {sd.estimate:.2f} | {sd.p_rmspe:.2f} |" in md
    tex = synth_table.table6_latex(tab)
    # two section rows plus the continuation line of the repeated header; a longtable breaks across pages
    assert tex.count(r"\multicolumn{17}{l}") == 3 and r"\begin{longtable}" in tex and r"\endhead" in tex
    assert tab.body.columns[0] == "Exit / event"


def test_figures_are_deterministic(results, tmp_path):
    for make, name in ((synth_figures.event_time_figure, "ev"), (synth_figures.paths_figure, "paths"),
                       (synth_figures.donor_weights_figure, "w")):
        a = save_figure(make(results), tmp_path / "a", name)
        b = save_figure(make(results), tmp_path / "b", name)
        for pa, pb in zip(a, b):
            assert pa.read_bytes() == pb.read_bytes()
    fig = synth_figures.event_time_figure(results)
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 2 and visible[0].get_xlabel() == "months since the first post-exit month"
    plt.close(fig)
