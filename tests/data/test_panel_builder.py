"""Panel builder rules: unique keys, row count preserved, clear errors."""
from __future__ import annotations

import pandas as pd
import pytest

from sahel_causal.data.panel import add_source, spine
from sahel_causal.errors import DuplicateKeyError, SchemaError


def test_spine_flags_g5():
    sp = spine(2000)
    assert sp.loc[sp["iso3"] == "MLI", "sahel_g5"].eq(1).all()
    assert sp.loc[sp["iso3"] == "SEN", "sahel_g5"].eq(0).all()


def test_add_source_keeps_rows_and_leaves_uncovered_missing():
    sp = spine(2000)
    src = pd.DataFrame({"iso3": ["MLI", "NER", None], "year": [1995, 1995, 1995], "x": [1.0, 0.0, 5.0]})
    out = add_source(sp, src, "test", {"x": "x"})
    assert len(out) == len(sp)
    assert out.loc[(out.iso3 == "MLI") & (out.year == 1995), "x"].item() == 1.0
    assert out.loc[(out.iso3 == "NER") & (out.year == 1995), "x"].item() == 0.0
    assert out.loc[(out.iso3 == "SEN") & (out.year == 1995), "x"].isna().item()


def test_duplicated_country_year_is_an_error():
    src = pd.DataFrame({"iso3": ["MLI", "MLI"], "year": [1995, 1995], "x": [1.0, 2.0]})
    with pytest.raises(DuplicateKeyError, match="MLI"):
        add_source(spine(2000), src, "test", {"x": "x"})


def test_missing_declared_column_is_an_error():
    src = pd.DataFrame({"iso3": ["MLI"], "year": [1995]})
    with pytest.raises(SchemaError, match="lacks columns"):
        add_source(spine(2000), src, "test", {"x": "x"})
