"""Estimate a whole multiverse: prepare, plan, run the chunks on a backend, assemble the tidy table.

:func:`estimate` is pure when ``chunk_dir`` is None (no file I/O); with a ``chunk_dir`` it
stores every finished chunk there and reuses stored chunks (resume after an interruption; see
:mod:`sahel_causal.multiverse.storage`). The result does not depend on the backend.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sahel_causal.multiverse import backends
from sahel_causal.multiverse.engine import RESULT_COLUMNS, ChunkResult, plan
from sahel_causal.multiverse.grid import expand
from sahel_causal.multiverse.prepare import Prepared, prepare
from sahel_causal.multiverse.storage import ChunkStore
from sahel_causal.specs.designs.multiverse import DIMENSIONS, MultiverseSpec


@dataclass(frozen=True)
class MultiverseRun:
    """The estimated multiverse: the tidy table, the treatment influence matrix and bookkeeping."""

    spec: MultiverseSpec
    prepared: Prepared
    grid: pd.DataFrame
    table: pd.DataFrame
    influence: pd.DataFrame
    n_chunks: int
    computed_chunks: tuple[int, ...]

    @property
    def countries(self) -> tuple[str, ...]:
        return self.prepared.countries

    def treatment_rows(self) -> pd.DataFrame:
        """One row per specification: the treatment coefficient (all statuses)."""
        return self.table[self.table["role"] == "treatment"].reset_index(drop=True)

    def tidy(self) -> pd.DataFrame:
        """The contract's tidy view: term, estimate, std_error, p_value, ci_low, ci_high, method (+ dimensions)."""
        return self.table

    def to_dict(self) -> dict:
        """JSON-ready table and influence (columns as lists; non-finite floats as strings; exact round trip)."""
        return {"id": self.spec.id, "table": _frame_to_dict(self.table), "influence": _frame_to_dict(self.influence)}

    @staticmethod
    def tables_from_dict(data: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Inverse of :meth:`to_dict` for the two tables (the spec and prepared data are not stored)."""
        return _frame_from_dict(data["table"]), _frame_from_dict(data["influence"])


def _enc(v: float) -> float | str:
    return v if np.isfinite(v) else ("nan" if np.isnan(v) else ("inf" if v > 0 else "-inf"))


def _frame_to_dict(df: pd.DataFrame) -> dict:
    cols = {}
    for c in df.columns:
        s = df[c]
        if pd.api.types.is_float_dtype(s):
            cols[c] = {"dtype": "float64", "values": [_enc(float(v)) for v in s.to_numpy()]}
        elif pd.api.types.is_integer_dtype(s):
            cols[c] = {"dtype": "int64", "values": [int(v) for v in s.to_numpy()]}
        else:
            cols[c] = {"dtype": "str", "values": [str(v) for v in s.to_numpy()]}
    return {"columns": list(df.columns), "data": cols}


def _frame_from_dict(d: dict) -> pd.DataFrame:
    out = {}
    for c in d["columns"]:
        col = d["data"][c]
        if col["dtype"] == "float64":
            out[c] = np.array([float(v) for v in col["values"]], dtype=float)
        elif col["dtype"] == "int64":
            out[c] = np.array(col["values"], dtype=np.int64)
        else:
            out[c] = pd.array(col["values"], dtype="str")
    return pd.DataFrame(out, columns=d["columns"])


def estimate(spec: MultiverseSpec, panel: pd.DataFrame, *, backend: backends.Backend = "serial",
             scheduler: str | None = None, workers: int = 2, chunk_dir: Path | None = None,
             progress: Callable[[str], None] | None = None) -> MultiverseRun:
    """Estimate every specification of ``spec`` on ``panel``; see the module docstring."""
    say = progress or (lambda _m: None)
    prep = prepare(spec, panel)
    grid = expand(spec)
    chunks = plan(grid, prep, spec.chunk_groups)
    say(f"{spec.id}: {len(grid)} specifications in {sum(len(c.groups) for c in chunks)} groups, {len(chunks)} chunks")
    store = ChunkStore(chunk_dir) if chunk_dir is not None else None
    done: dict[int, ChunkResult] = {}
    if store is not None:
        for c in chunks:
            r = store.load(c.number, c.hash)
            if r is not None:
                done[c.number] = r
        if done:
            say(f"{spec.id}: {len(done)} of {len(chunks)} chunks already stored in {chunk_dir}")
    todo = [c for c in chunks if c.number not in done]
    hashes = {c.number: c.hash for c in chunks}
    computed = []
    for r in backends.map_chunks(prep, todo, spec.alpha, backend, scheduler=scheduler, workers=workers):
        if store is not None:
            store.save(hashes[r.number], r)
        done[r.number] = r
        computed.append(r.number)
        say(f"{spec.id}: chunk {r.number + 1}/{len(chunks)} done")
    parts = [done[c.number] for c in chunks]
    tidy = pd.concat([p.tidy for p in parts], ignore_index=True) if parts else pd.DataFrame(columns=RESULT_COLUMNS)
    tidy = tidy.sort_values("spec_index", kind="mergesort").reset_index(drop=True)
    dims = grid[["spec_index", *DIMENSIONS]]
    table = tidy.merge(dims, on="spec_index", how="left", validate="many_to_one")
    table.insert(0, "multiverse", spec.id)
    table["method"] = f"CRV1 ({spec.cluster})"
    table["lag"] = table["lag"].astype(np.int64)
    table["nobs"] = table["nobs"].astype(np.int64)
    table["n_clusters"] = table["n_clusters"].astype(np.int64)
    order = ["multiverse", "spec_index", "spec_hash", *DIMENSIONS, "term", "role", "estimate", "std_error", "t_stat",
             "p_value", "ci_low", "ci_high", "std_estimate", "nobs", "n_clusters", "df_t", "method", "status"]
    table = table[order]
    infl = pd.concat([p.influence for p in parts], ignore_index=True)
    infl = infl.sort_values("spec_index", kind="mergesort").reset_index(drop=True)
    return MultiverseRun(spec, prep, grid, table, infl, len(chunks), tuple(sorted(computed)))
