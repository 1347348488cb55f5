"""Documented corrections: applied exactly once, stale ones fail, input untouched."""
from __future__ import annotations

import pandas as pd
import pytest

from sahel_causal.data.corrections import apply_corrections, load_corrections
from sahel_causal.data.datalog import DataLog
from sahel_causal.errors import ReferenceDataError


def _frame():
    return pd.DataFrame({"country": ["Niger", "Mali"], "year": [2023, 2020], "month": [6, 8], "day": [26, 18]})


def test_niger_2023_month_is_corrected_and_logged():
    df = _frame()
    log = DataLog()
    out = apply_corrections(df, "powell_thyne", log)
    assert out.loc[0, "month"] == 7 and out.loc[1, "month"] == 8
    assert df.loc[0, "month"] == 6  # caller's data not mutated
    assert len(log.for_source("powell_thyne")) == 1 and log.actions[0].kind == "correct"


def test_stale_correction_fails():
    df = _frame()
    df.loc[0, "month"] = 7  # upstream fixed: the correction no longer applies
    with pytest.raises(ReferenceDataError, match="stale"):
        apply_corrections(df, "powell_thyne")


def test_correction_matching_no_row_fails():
    with pytest.raises(ReferenceDataError, match="matches 0 rows"):
        apply_corrections(_frame().iloc[1:], "powell_thyne")


def test_every_correction_has_reason_and_reference():
    t = load_corrections()
    assert len(t) >= 1
    assert (t["reason"].str.len() > 10).all() and (t["reference"].str.len() > 5).all()
