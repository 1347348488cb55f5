"""One result family: TableResult.tidy() (term x method rows), exact JSON round trips incl. aux."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from sahel_causal.estimation import estimate
from sahel_causal.results import TIDY_COLUMNS, EstimationResult, Result, TableResult, decode_aux, encode_aux
from sahel_causal.specs import parse_spec


def _panel(G: int = 16, T: int = 10, seed: int = 9) -> pd.DataFrame:
    """Simulated panel (test data): a binary outcome, a continuous treatment."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame([(f"U{g:02d}", 2000 + t) for g in range(G) for t in range(T)], columns=["iso3", "year"])
    df["x"] = rng.normal(size=len(df))
    df["y"] = (rng.random(len(df)) < 1 / (1 + np.exp(-(-1.5 + 0.7 * df["x"])))).astype(float)
    return df


def _spec():
    return parse_spec({
        "table": {"id": "fam", "title": "Family"},
        "model": [{"id": "ols", "outcome": "y", "treatments": ["x"]},
                  {"id": "logit", "outcome": "y", "treatments": ["x"], "estimator": "logit_cubic",
                   "fixed_effects": []}],
        "inference": {"wild_bootstrap": {"draws": 199, "seed": 1, "weights": ["webb"]},
                      "randomization": {"permutations": 99, "seed": 2},
                      "unsupported": {"randomization": "linear models only"}}}, "fam.toml")


@pytest.fixture(scope="module")
def tr():
    return estimate(_spec(), _panel())


def test_tidy_has_one_row_per_term_and_method(tr):
    t = tr.tidy()
    assert list(t.columns[4:4 + len(TIDY_COLUMNS)]) == list(TIDY_COLUMNS)
    ols = t[t["model"] == "ols"]
    assert ols["method"].tolist() == ["CRV1", "crv3", "wild_webb", "ri"]
    assert not t.duplicated(["model", "term", "method"]).any()
    w = tr.table_frame()
    row = w[w["model"] == "ols"].iloc[0]
    assert ols.set_index("method").loc["wild_webb", "p_value"] == row["p_wild_webb"]
    assert ols.set_index("method").loc["crv3", "std_error"] == tr.models[0].result.inference["crv3"]["x"].detail["se"]
    assert isinstance(tr, Result) and isinstance(tr.models[0].result, Result)


def test_table_result_json_round_trip_is_exact(tr):
    text = tr.to_json()
    back = TableResult.from_json(text)
    assert back.to_json() == text
    pd.testing.assert_frame_equal(back.tidy(), tr.tidy())
    pd.testing.assert_frame_equal(back.table_frame(), tr.table_frame())
    # aux survives: marginal effects can be recomputed from the read-back result
    from sahel_causal.models import average_marginal_effects

    a = average_marginal_effects(tr.models[1].result, ["x"]).coef["x"]
    b = average_marginal_effects(back.models[1].result, ["x"]).coef["x"]
    assert a == b


def test_aux_round_trip_is_bit_exact():
    rng = np.random.default_rng(0)
    aux = {"influence": rng.normal(size=(7, 3)), "ids": np.arange(5), "flags": np.array([True, False]),
           "series": pd.Series([0.1, math.nan, 1e-300], index=["a", "b", "c"], name="s"),
           "frame": pd.DataFrame({"p": [0.1 + 0.2, -0.0], "q": [np.inf, 3.0]}, index=[10, 11]),
           "kind": "logit", "nested": {"w": [1.5, "x"]}}
    back = decode_aux(json.loads(json.dumps(encode_aux(aux), allow_nan=False)))
    assert back["influence"].tobytes() == aux["influence"].tobytes() and back["ids"].dtype == aux["ids"].dtype
    assert back["flags"].tolist() == [True, False]
    pd.testing.assert_series_equal(back["series"], aux["series"])
    pd.testing.assert_frame_equal(back["frame"], aux["frame"])
    assert math.copysign(1, back["frame"]["p"].iloc[1]) == -1.0
    assert back["kind"] == "logit" and back["nested"] == {"w": [1.5, "x"]}


def test_estimation_result_to_dict_default_is_unchanged_and_aux_optional(tr):
    r = tr.models[1].result
    d = r.to_dict()
    assert "aux" not in d
    full = EstimationResult.from_dict(json.loads(json.dumps(r.to_dict(include_aux=True))))
    assert full == r and full.aux["X"].equals(r.aux["X"])
