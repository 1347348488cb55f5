"""MME exercises with U.S. participation (Kuo & Blankenship 2022)."""
from __future__ import annotations

import pytest

from sahel_causal.data.datalog import DataLog
from sahel_causal.data.sources import mme_exercises


@pytest.fixture(scope="module")
def ex(raw_dir):
    return mme_exercises.load(raw_dir, DataLog())


def test_coverage_and_key(ex):
    assert not ex.duplicated(["iso3", "year"]).any()
    inside = ex[ex["year"].between(1980, 2010)]
    assert inside["us_exercises"].notna().all()
    assert ex.loc[~ex["year"].between(1980, 2010), "us_exercises"].isna().all()


def test_known_participation(ex, raw_dir):
    # Flintlock (U.S. AFRICOM's Sahel exercise) includes Mali from 2005 on; Egypt hosts Bright Star.
    mli = ex[(ex.iso3 == "MLI") & ex.year.between(2005, 2010)]["us_exercises"]
    assert (mli >= 1).all()
    assert ex.loc[ex.iso3 == "EGY", "us_exercises"].sum() >= 20
    part = mme_exercises.load_participations(raw_dir)
    # every counted participation is an exercise that lists the United States
    import pandas as pd

    raw = pd.read_csv(raw_dir / "us_troop_deployments" / "mme_v7.csv", encoding="utf-8", dtype=str)
    states = [c for c in raw.columns if c.startswith("State")]
    us_ids = set(raw.loc[(raw[states] == "United States").any(axis=1), "MMEID"])
    assert set(part["MMEID"]) <= us_ids
