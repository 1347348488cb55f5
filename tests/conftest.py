"""Shared fixtures. Tests that need the raw or validation data skip with a reason when absent."""
from __future__ import annotations

import pytest

from sahel_causal.paths import find_raw_dir, find_validation_dir


@pytest.fixture(autouse=True)
def _allow_writes_under_tmp_path(request):
    """Outputs may only be written under the project's output folders (sahel_causal.writing); a test
    that uses ``tmp_path`` may also write there (and nowhere else)."""
    if "tmp_path" in request.fixturenames:
        from sahel_causal import writing

        writing.allow(request.getfixturevalue("tmp_path"))


@pytest.fixture(scope="session")
def raw_dir():
    """The raw-data directory (``--raw-dir``/``SAHEL_CAUSAL_RAW_DIR``/``../shared/data/raw``)."""
    d = find_raw_dir()
    if d is None or not d.is_dir():
        pytest.skip("raw-data directory not available (set SAHEL_CAUSAL_RAW_DIR or place ../shared/data/raw)")
    return d


@pytest.fixture(scope="session")
def validation_dir():
    """The public benchmark data sets (``../shared/data/validation``)."""
    d = find_validation_dir()
    if d is None or not d.is_dir():
        pytest.skip("validation data directory ../shared/data/validation not available")
    return d
