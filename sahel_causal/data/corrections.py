"""Documented corrections of known source defects, applied from ``data/corrections.csv``.

Each row names the source, the record (``column=value`` pairs joined by ``;`` that must match
exactly one row of the loaded table), the field, the value the source has, the corrected
value, the reason and a reference. A correction that matches no row, several rows, or a row
whose current value is not ``old_value`` is an error: a stale correction is never applied
silently, and a source that was fixed upstream is noticed.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from sahel_causal.data.datalog import DataLog
from sahel_causal.errors import ReferenceDataError
from sahel_causal.paths import CORRECTIONS_CSV

COLUMNS = ["source", "record", "field", "old_value", "new_value", "reason", "reference"]


def load_corrections(path: Path = CORRECTIONS_CSV) -> pd.DataFrame:
    """Read and check the corrections table."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    if list(df.columns) != COLUMNS:
        raise ReferenceDataError(f"{path}: columns must be {COLUMNS}, found {list(df.columns)}.")
    empty = df[(df[["source", "record", "field", "reason", "reference"]] == "").any(axis=1)]
    if len(empty):
        raise ReferenceDataError(f"{path}: rows {list(empty.index + 2)} lack source, record, field, reason or reference.")
    return df


def _parse_record(record: str) -> list[tuple[str, str]]:
    pairs = []
    for part in record.split(";"):
        if "=" not in part:
            raise ReferenceDataError(f"corrections: malformed record {record!r}; use col=value;col=value.")
        k, v = part.split("=", 1)
        pairs.append((k.strip(), v.strip()))
    return pairs


def _same(a: object, b: str) -> bool:
    if pd.isna(a):
        return b == ""
    try:
        return float(a) == float(b)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(a) == b


def apply_corrections(df: pd.DataFrame, source: str, log: DataLog | None = None,
                      table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Return a copy of ``df`` with every correction for ``source`` applied (input untouched)."""
    table = load_corrections() if table is None else table
    out = df.copy()
    for row in table[table["source"] == source].itertuples(index=False):
        mask = pd.Series(True, index=out.index)
        for col, val in _parse_record(row.record):
            if col not in out.columns:
                raise ReferenceDataError(f"corrections: {source} has no column {col!r} (record {row.record!r}).")
            mask &= out[col].map(lambda a, v=val: _same(a, v))
        n = int(mask.sum())
        if n != 1:
            raise ReferenceDataError(
                f"corrections: record {row.record!r} of {source} matches {n} rows (need exactly 1); "
                "the source may have changed: review data/corrections.csv."
            )
        idx = out.index[mask][0]
        if row.field not in out.columns:
            raise ReferenceDataError(f"corrections: {source} has no field {row.field!r}.")
        if not _same(out.at[idx, row.field], row.old_value):
            raise ReferenceDataError(
                f"corrections: {source} {row.record} field {row.field} is {out.at[idx, row.field]!r}, "
                f"not the expected old value {row.old_value!r}; the correction is stale."
            )
        dtype = out[row.field].dtype
        new = pd.Series([row.new_value]).astype(dtype).iloc[0] if dtype != object else row.new_value
        out.at[idx, row.field] = new
        if log is not None:
            log.record(source, "correct", 1, row.reason,
                       f"{row.record}: {row.field} {row.old_value} -> {row.new_value} ({row.reference})")
    return out
