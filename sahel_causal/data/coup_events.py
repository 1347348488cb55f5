"""Dated coup events for the figures: ``data/processed/coup_events.csv``.

The analysis panel is country-year, but the timeline figure places each coup at its month
(Mali's failed and successful attempts of 2012 and Burkina Faso's two successful coups of 2022
must be told apart). This module turns the Powell & Thyne event list (with the documented
corrections of ``data/corrections.csv`` applied by the loader) into a small committed file so
that ``reproduce`` can draw the figures without the raw data.

Columns (one row per coup attempt in an African state, 1950-2023):

* ``iso3`` - ISO 3166 alpha-3 code of the state;
* ``date`` - date of the attempt, ``YYYY-MM-DD``;
* ``year``, ``month``, ``day`` - the same date as integers;
* ``successful`` - 1 when the incumbent was removed for at least seven days, 0 for a failed attempt;
* ``source`` - ``powell_thyne V2023.09.08``.

Coverage: as the source (complete for 1950-2023; events after 8 September 2023 are absent).
Citation: Powell, Jonathan M. & Clayton L. Thyne. 2011. "Global Instances of Coups from 1950 to
2010: A New Dataset." Journal of Peace Research 48(2): 249-259.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from sahel_causal.data.datalog import DataLog
from sahel_causal.errors import RawDataError, SchemaError
from sahel_causal.paths import PROCESSED_DIR

COUP_EVENTS_CSV = PROCESSED_DIR / "coup_events.csv"
COLUMNS = ["iso3", "date", "year", "month", "day", "successful", "source"]
SOURCE_LABEL = "powell_thyne V2023.09.08"
#: Codebook rows (name, meaning, unit) for the coordinator's codebook.
CODEBOOK = [
    ("iso3", "ISO 3166-1 alpha-3 code of the state", "code"),
    ("date", "Date of the coup attempt (Powell & Thyne; corrections applied)", "YYYY-MM-DD"),
    ("year", "Year of the attempt", "year"),
    ("month", "Month of the attempt", "1-12"),
    ("day", "Day of the attempt", "1-31"),
    ("successful", "1 if the incumbent was removed for at least seven days, 0 if the attempt failed", "0/1"),
    ("source", "Source and version", "text"),
]


def coup_events_frame(events: pd.DataFrame) -> pd.DataFrame:
    """The committed layout from :func:`sahel_causal.data.sources.powell_thyne.load_events` output
    (columns iso3, year, month, day, date, successful); sorted by iso3 and date."""
    need = {"iso3", "year", "month", "day", "successful"}
    if not need <= set(events.columns):
        raise SchemaError(f"coup events need columns {sorted(need)}, got {list(events.columns)}")
    out = pd.DataFrame({
        "iso3": events["iso3"].astype(str),
        "year": events["year"].astype(int),
        "month": events["month"].astype(int),
        "day": events["day"].astype(int),
        "successful": events["successful"].astype(bool).astype(int),
    })
    out["date"] = [f"{y:04d}-{m:02d}-{d:02d}" for y, m, d in zip(out["year"], out["month"], out["day"])]
    out["source"] = SOURCE_LABEL
    return out[COLUMNS].sort_values(["iso3", "date", "successful"], ignore_index=True)


def make_coup_events(raw_dir: Path, log: DataLog | None = None) -> pd.DataFrame:
    """Read the raw Powell & Thyne file (checksum-verified) and return the committed layout."""
    from sahel_causal.data.sources import powell_thyne

    return coup_events_frame(powell_thyne.load_events(Path(raw_dir), log))


def load_coup_events(path: Path = COUP_EVENTS_CSV) -> pd.DataFrame:
    """Read the committed coup events; a clear error when the file is missing or malformed."""
    if not Path(path).is_file():
        raise RawDataError(f"{path} is missing: run `sahel-causal data build` (needs the raw Powell & Thyne file) "
                           "or restore it with git.")
    df = pd.read_csv(path, dtype={"iso3": str, "date": str, "source": str})
    missing = [c for c in COLUMNS if c not in df.columns]
    if missing:
        raise SchemaError(f"{path}: missing columns {missing}; rebuild it with `sahel-causal data build`.")
    bad = df[~df["month"].between(1, 12) | ~df["successful"].isin([0, 1])]
    if len(bad):
        raise SchemaError(f"{path}: {len(bad)} rows with a month outside 1-12 or successful not 0/1 "
                          f"(first: {bad.iloc[0].to_dict()}); rebuild it with `sahel-causal data build`.")
    return df
