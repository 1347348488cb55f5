"""Storage: resumable chunk files and one tidy Parquet table per multiverse, queryable with DuckDB.

Layout. While a multiverse runs, each finished chunk is written atomically (temporary file,
then rename) to ``<chunk_dir>/<chunk hash>.parquet`` (tidy rows) and
``<chunk hash>.influence.parquet`` (the treatment coefficient's cluster influence, for the
joint test). The chunk hash covers the engine version, the prepared data and the content hash
of every specification in the chunk, so after an interruption a rerun loads the finished
chunks and computes only the missing ones; a stale chunk (changed data or definitions) has a
different hash and is never read. The final table (one row per specification x coefficient,
every dimension a column, ``spec_hash`` the content hash) is assembled in specification order
and written with fixed Parquet settings and without pandas metadata, so identical results give
identical bytes.
"""
from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from sahel_causal.errors import SchemaError
from sahel_causal.multiverse.engine import ChunkResult


def _write_parquet(df: pd.DataFrame, path: Path) -> Path:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pandas(df, preserve_index=False).replace_schema_metadata(None)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    pq.write_table(table, tmp, compression="zstd", compression_level=3, use_dictionary=True,
                   write_statistics=True, row_group_size=1_000_000)
    os.replace(tmp, path)
    return path


def write_table(df: pd.DataFrame, path: Path) -> Path:
    """Write ``df`` as deterministic Parquet (atomic replace)."""
    return _write_parquet(df, Path(path))


def read_table(path: Path) -> pd.DataFrame:
    """Read a multiverse Parquet table; clear error when missing or unreadable."""
    path = Path(path)
    if not path.is_file():
        raise SchemaError(f"{path}: no such multiverse table; run `sahel-causal multiverse SPEC` first")
    try:
        return pd.read_parquet(path)
    except Exception as e:  # pyarrow raises several types
        raise SchemaError(f"{path}: not a readable Parquet file ({e}); delete it and rerun") from e


class ChunkStore:
    """Finished chunks of one multiverse in ``directory`` (see the module docstring)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    def _paths(self, chunk_hash: str) -> tuple[Path, Path]:
        return self.directory / f"{chunk_hash}.parquet", self.directory / f"{chunk_hash}.influence.parquet"

    def has(self, chunk_hash: str) -> bool:
        a, b = self._paths(chunk_hash)
        return a.is_file() and b.is_file()

    def load(self, number: int, chunk_hash: str) -> ChunkResult | None:
        """The stored chunk, or ``None`` when absent or unreadable (then it is recomputed)."""
        if not self.has(chunk_hash):
            return None
        a, b = self._paths(chunk_hash)
        try:
            return ChunkResult(number, pd.read_parquet(a), pd.read_parquet(b))
        except Exception:
            return None

    def save(self, chunk_hash: str, result: ChunkResult) -> None:
        a, b = self._paths(chunk_hash)
        _write_parquet(result.influence, b)  # influence first: a chunk counts as done when both exist
        _write_parquet(result.tidy, a)


def query(path: Path, sql: str) -> pd.DataFrame:
    """Run ``sql`` on a multiverse table with DuckDB; the table is available as ``multiverse``.

    Example: ``query(p, "SELECT outcome, avg(p_value < 0.05) FROM multiverse WHERE role = 'treatment'
    GROUP BY outcome ORDER BY outcome")``.
    """
    import duckdb

    path = Path(path)
    if not path.is_file():
        raise SchemaError(f"{path}: no such multiverse table")
    con = duckdb.connect()
    try:
        con.execute(f"CREATE VIEW multiverse AS SELECT * FROM read_parquet('{path.as_posix()}')")
        return con.execute(sql).df()
    finally:
        con.close()
