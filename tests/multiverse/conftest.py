"""Fixtures of the multiverse tests: the committed panel and a small multiverse on it."""
from __future__ import annotations

from pathlib import Path

import pytest

from sahel_causal.pipeline import PANEL_CSV, load_panel
from sahel_causal.specs.designs.multiverse import load

SMALL = Path(__file__).parent / "data" / "small_multiverse.toml"


@pytest.fixture(scope="session")
def panel():
    if not PANEL_CSV.is_file():
        pytest.skip("data/processed/panel_country_year.csv not available")
    return load_panel()


@pytest.fixture(scope="session")
def small_spec():
    return load(SMALL).spec


@pytest.fixture(scope="session")
def small_run(panel, small_spec):
    from sahel_causal.multiverse.run import estimate

    return estimate(small_spec, panel)
