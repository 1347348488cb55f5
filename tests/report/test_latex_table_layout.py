"""Generated LaTeX tables are laid out to fit a page: long headers stacked, design groups as heading rows."""
from __future__ import annotations

import pandas as pd

from sahel_causal.report.latex import stacked_header


def test_stacked_header_breaks_long_headers_and_escapes() -> None:
    assert stacked_header("TWFE") == "TWFE"
    assert stacked_header("Coup attempt", 10) == r"\makecell[b]{Coup \\ attempt}"
    assert stacked_header("ACLED civilian fatalities (log)", 10) == r"\makecell[b]{ACLED \\ civilian \\ fatalities \\ (log)}"
    assert stacked_header("sigma_fe of x_y", 8) == r"\makecell[b]{sigma\_fe \\ of x\_y}"


def test_did_table_stacks_headers_and_wraps_row_labels() -> None:
    from sahel_causal.report.did_tables import to_latex

    df = pd.DataFrame({"": ["Pre-trend test p (CS, e = -6..-1)"], "ACLED civilian fatalities (log)": ["0.048"]})
    tex = to_latex(df, "Table 5. T", ["a note"])
    assert r"p{3.2cm}" in tex and r"\makecell[b]{ACLED \\ civilian \\ fatalities \\ (log)}" in tex
    assert "ACLED civilian fatalities (log) " not in tex.split(r"\hline")[1]  # no one-line long header


def test_calibration_latex_has_one_heading_row_per_design() -> None:
    from sahel_causal.report.calibration import to_latex

    cal = pd.DataFrame({"design": ["africa_lpm", "africa_lpm", "sahel_partners_lpm"],
                        "label": ["Africa-wide LPM (54 clusters)"] * 2 + ["Sahel partners LPM (11 clusters)"],
                        "method": ["crv1", "ri", "crv1"], "replications": [1000] * 3, "size": [0.044, 0.041, 0.121],
                        "size_se": [0.006, 0.006, 0.01], "coverage": [0.956, 0.959, 0.879], "power": [0.9, 0.9, 0.4],
                        "power_se": [0.01] * 3, "smallest_effect_1sd": [0.02] * 3, "in_band": [True, True, False]})
    tex = to_latex(cal)
    assert tex.count(r"\multicolumn{7}{l}{\textit{") == 2
    assert r"\textit{Africa-wide LPM (54 clusters)}" in tex and "12.1\\% (1.0)" in tex
    assert "Table A1. Calibration" in tex
