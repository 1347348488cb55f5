"""Cell-by-cell difference between a rerun's long results table and the published one.

Both tables are the machine-readable CSVs that every table of estimates writes (one row per
model and term, one column per quantity: ``results/tables/<table>.csv``). Rows are matched on
key columns (default ``model`` and ``term``); every shared column is compared cell by cell.
Numbers count as equal when ``|a - b| <= atol + rtol * |b|`` (defaults tolerate only the last
digits of the CSV's 10 significant digits); missing equals missing; text must match exactly.
Pure functions: frames in, frame or text out.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from sahel_causal.errors import SchemaError

DEFAULT_KEYS = ("model", "term")
DIFF_COLUMNS = ["status", "key", "column", "published", "rerun", "abs_diff", "rel_diff"]


def _is_missing(x: object) -> bool:
    return x is None or x is pd.NA or (isinstance(x, float) and math.isnan(x))


def _as_float(x: object) -> float | None:
    if isinstance(x, bool):
        return None
    if isinstance(x, (int, float)):
        return float(x)
    try:
        return float(str(x))
    except (TypeError, ValueError):
        return None


def _key(row: pd.Series, keys: Sequence[str]) -> str:
    return " / ".join(str(row[k]) for k in keys)


def diff_tables(published: pd.DataFrame, rerun: pd.DataFrame, keys: Sequence[str] = DEFAULT_KEYS,
                rtol: float = 1e-8, atol: float = 1e-12) -> pd.DataFrame:
    """Every difference between two long tables, one row per differing cell.

    ``status`` is ``changed`` (a cell differs), ``removed row`` / ``added row`` (a key present in
    one table only), or ``removed column`` / ``added column``. ``key`` joins the key values with
    " / ". An empty frame (with the columns of :data:`DIFF_COLUMNS`) means identical tables.
    """
    for name, df in (("published", published), ("rerun", rerun)):
        missing = [k for k in keys if k not in df.columns]
        if missing:
            raise SchemaError(f"diff: the {name} table has no key column(s) {missing}; key columns are "
                              f"{list(keys)} (pass keys= for another table layout).")
        dup = df.duplicated(list(keys))
        if dup.any():
            raise SchemaError(f"diff: the {name} table has duplicate keys, first {_key(df[dup].iloc[0], keys)!r}.")
    recs: list[dict[str, object]] = []
    pub_cols = [c for c in published.columns if c not in keys]
    new_cols = [c for c in rerun.columns if c not in keys]
    for c in pub_cols:
        if c not in rerun.columns:
            recs.append({"status": "removed column", "key": "", "column": c})
    for c in new_cols:
        if c not in published.columns:
            recs.append({"status": "added column", "key": "", "column": c})
    shared = [c for c in pub_cols if c in rerun.columns]
    pub = {_key(r, keys): r for _, r in published.iterrows()}
    new = {_key(r, keys): r for _, r in rerun.iterrows()}
    for k in pub:
        if k not in new:
            recs.append({"status": "removed row", "key": k, "column": ""})
    for k in new:
        if k not in pub:
            recs.append({"status": "added row", "key": k, "column": ""})
    for k, a_row in pub.items():
        if k not in new:
            continue
        b_row = new[k]
        for c in shared:
            a, b = a_row[c], b_row[c]
            if _is_missing(a) and _is_missing(b):
                continue
            fa, fb = _as_float(a), _as_float(b)
            if fa is not None and fb is not None and not (math.isnan(fa) or math.isnan(fb)):
                d = abs(fb - fa)
                if d <= atol + rtol * abs(fa):
                    continue
                rel = d / abs(fa) if fa != 0 else math.inf
                recs.append({"status": "changed", "key": k, "column": c, "published": a, "rerun": b,
                             "abs_diff": d, "rel_diff": rel})
            elif _is_missing(a) != _is_missing(b) or str(a) != str(b):
                recs.append({"status": "changed", "key": k, "column": c, "published": a, "rerun": b})
    out = pd.DataFrame(recs, columns=DIFF_COLUMNS)
    return out.reset_index(drop=True)


def _fmt(x: object) -> str:
    if _is_missing(x):
        return "(missing)"
    f = _as_float(x)
    if f is not None and not isinstance(x, str):
        return f"{f:.6g}"
    return str(x)


def format_diff(diff: pd.DataFrame, table: str = "table", max_rows: int = 40) -> str:
    """Plain-text report of :func:`diff_tables` for the terminal."""
    if diff.empty:
        return f"{table}: no differences from the published table."
    lines = [f"{table}: {len(diff)} difference(s) from the published table"]
    for status in ("removed column", "added column", "removed row", "added row"):
        sub = diff[diff["status"] == status]
        if len(sub):
            what = ", ".join(sub["column"] if "column" in status else sub["key"])
            lines.append(f"  {status}: {what}")
    changed = diff[diff["status"] == "changed"]
    if len(changed):
        lines.append(f"  changed cells ({len(changed)}):")
        for _, r in changed.head(max_rows).iterrows():
            lines.append(f"    {r['key']} | {r['column']}: {_fmt(r['published'])} -> {_fmt(r['rerun'])}")
        if len(changed) > max_rows:
            lines.append(f"    ... and {len(changed) - max_rows} more (see the CSV written with --out)")
    return "\n".join(lines)
