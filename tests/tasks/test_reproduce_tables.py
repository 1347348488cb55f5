"""Tables 2-4 regenerate byte for byte from the committed panel and specifications.

This is the reproducibility check of ``make reproduce`` for the estimation tables (full draws
and permutations, fixed seeds): the tidy CSV, the LaTeX table and the sample notes must equal
the committed files.
"""
from __future__ import annotations

import pytest

from sahel_causal.paths import ANALYSIS_DIR, RESULTS_DIR
from sahel_causal.pipeline import load_panel


@pytest.mark.parametrize("spec_id", ["table2_coups", "table3_violence", "table4_heterogeneity"])
def test_table_regenerates_identically(spec_id, tmp_path):
    from sahel_causal import writing
    from sahel_causal.data.registry import sha256_file
    from sahel_causal.pipeline import PANEL_CSV
    from sahel_causal.tasks.published import estimate_table, write_table_result

    writing.allow(tmp_path)
    panel = load_panel()
    tr = estimate_table(spec_id, panel, sha256_file(PANEL_CSV))
    files = write_table_result(tr, tmp_path, sha256_file(ANALYSIS_DIR / "specs" / f"{spec_id}.toml"), panel=panel)
    for f in files:
        committed = RESULTS_DIR / f.relative_to(tmp_path)
        assert f.read_bytes() == committed.read_bytes(), f"{committed} differs from a fresh run"
