"""Tables flag p-values of methods whose measured size lies outside [3%, 7%] for the design (issue 9)."""
from __future__ import annotations

import pandas as pd

from sahel_causal.report.results_table import SIZE_MARK, ModelMeta, build_panels


def _tidy(model: str) -> pd.DataFrame:
    return pd.DataFrame([{"model": model, "term": "x", "estimate": 0.1, "std_error": 0.05, "p_value": 0.04,
                          "p_crv3": 0.2, "p_wild_webb": 0.3, "p_ri": 0.25, "nobs": 100, "n_countries": 10,
                          "fixed_effects": "iso3+year", "outcome_mean": 0.1, "effect_1sd": 0.01,
                          "within_sd": 0.1, "few_clusters": False}])


def _p_rows(panel) -> dict[str, tuple[str, ...]]:
    return {stub: cells for group, stub, cells in panel.rows if group.startswith("p-values")}


def test_flag_marks_only_the_uncalibrated_method_of_the_flagged_model():
    tidy = pd.concat([_tidy("a"), _tidy("b")], ignore_index=True)
    models = [ModelMeta("a", "A", "y", "ols"), ModelMeta("b", "B", "y", "ols")]
    rows = _p_rows(build_panels(tidy, models, {}, uncalibrated={"a": {"p_value"}})[0])
    assert rows["Cluster-robust (CRV1)"] == ("0.040" + SIZE_MARK, "0.040")
    assert SIZE_MARK not in "".join(rows["Wild bootstrap, Webb"] + rows["Randomization inference"])
    plain = _p_rows(build_panels(tidy, models, {})[0])
    assert SIZE_MARK not in "".join(c for cells in plain.values() for c in cells)


def test_family_wise_p_values_get_their_own_row():
    tidy = pd.concat([_tidy("a"), _tidy("b")], ignore_index=True)
    models = [ModelMeta("a", "A", "y", "ols"), ModelMeta("b", "B", "y", "ols")]
    rows = _p_rows(build_panels(tidy, models, {}, family={("a", "x"): 0.51, ("b", "x"): 0.0004})[0])
    assert rows["Romano-Wolf, family of the table"] == ("0.510", "<0.001")
    assert "Romano-Wolf, family of the table" not in _p_rows(build_panels(tidy, models, {})[0])
