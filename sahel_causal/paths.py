"""Where things live: the project root, the raw-data directory and the processed outputs.

The raw-data directory is resolved, in order, from an explicit argument (the CLI's
``--raw-dir``), the environment variable ``SAHEL_CAUSAL_RAW_DIR``, and ``../shared/data/raw``
next to the project when that folder exists. Nothing here depends on today's date.
"""
from __future__ import annotations

import os
from pathlib import Path

from sahel_causal.errors import RawDataError

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = PROJECT_ROOT / "data"
REFERENCE_DIR = DATA_DIR / "reference"
PROCESSED_DIR = DATA_DIR / "processed"
RESULTS_DIR = PROJECT_ROOT / "results"
ANALYSIS_DIR = PROJECT_ROOT / "analysis"
SOURCES_TOML = DATA_DIR / "sources.toml"
CORRECTIONS_CSV = DATA_DIR / "corrections.csv"
RAW_DIR_ENV = "SAHEL_CAUSAL_RAW_DIR"
DEFAULT_RAW_DIR = PROJECT_ROOT.parent / "shared" / "data" / "raw"
DEFAULT_VALIDATION_DIR = PROJECT_ROOT.parent / "shared" / "data" / "validation"


def find_raw_dir(raw_dir: str | os.PathLike[str] | None = None, *, create: bool = False) -> Path | None:
    """Return the raw-data directory, or ``None`` when none is configured or present.

    A directory that is configured (``raw_dir`` or ``$SAHEL_CAUSAL_RAW_DIR``) but does not exist
    is an error (:class:`RawDataError`), never a silent fallback to the committed panel; with
    ``create=True`` (``data fetch``, which downloads into it) it is returned as is.
    """
    if raw_dir is not None:
        found, how = Path(raw_dir).expanduser().resolve(), "--raw-dir"
    elif os.environ.get(RAW_DIR_ENV):
        found, how = Path(os.environ[RAW_DIR_ENV]).expanduser().resolve(), f"${RAW_DIR_ENV}"
    elif DEFAULT_RAW_DIR.is_dir():
        return DEFAULT_RAW_DIR.resolve()
    else:
        return None
    if not create and not found.is_dir():
        what = "is not a directory" if found.exists() else "does not exist"
        raise RawDataError(
            f"Raw-data directory {found} (from {how}) {what}: fix the path, or unset it to use the "
            f"default {DEFAULT_RAW_DIR} (run `sahel-causal data fetch` to download the sources)."
        )
    return found


def require_raw_dir(raw_dir: str | os.PathLike[str] | None = None) -> Path:
    """Like :func:`find_raw_dir`, but raise a helpful error when there is no raw directory."""
    found = find_raw_dir(raw_dir)
    if found is None:
        raise RawDataError(
            "No raw-data directory: pass --raw-dir, set SAHEL_CAUSAL_RAW_DIR, or place the "
            f"data at {DEFAULT_RAW_DIR} (run `sahel-causal data fetch` to download the sources "
            "that have a public location)."
        )
    if not found.is_dir():
        raise RawDataError(
            f"Raw-data directory {found} does not exist: check --raw-dir / SAHEL_CAUSAL_RAW_DIR."
        )
    return found


def find_validation_dir() -> Path | None:
    """Folder of public benchmark data sets used by the estimator tests, if present."""
    env = os.environ.get("SAHEL_CAUSAL_VALIDATION_DIR")
    if env:
        return Path(env)
    return DEFAULT_VALIDATION_DIR if DEFAULT_VALIDATION_DIR.is_dir() else None
