"""Storage: resume after an interruption without recomputing stored chunks; identical bytes; DuckDB."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from sahel_causal.multiverse.run import estimate
from sahel_causal.multiverse.storage import query, read_table, write_table


class _Stop(Exception):
    pass


def _interrupt_after(n):
    count = {"done": 0}

    def progress(msg):
        if "done" in msg:
            count["done"] += 1
            if count["done"] == n:
                raise _Stop(msg)
    return progress


def test_resume_computes_only_missing_chunks_and_gives_identical_bytes(tmp_path, panel, small_spec):
    ref = estimate(small_spec, panel)                          # uninterrupted, in memory
    assert ref.n_chunks >= 6
    write_table(ref.table, tmp_path / "ref.parquet")
    store = tmp_path / "chunks"
    with pytest.raises(_Stop):                                  # killed after 3 stored chunks
        estimate(small_spec, panel, chunk_dir=store, progress=_interrupt_after(3))
    stored = sorted(p.name for p in store.glob("*.parquet") if not p.name.endswith(".influence.parquet"))
    assert len(stored) == 3
    (store / "leftover.parquet.tmp123").write_bytes(b"half-written")   # a crash mid-write leaves a temp file
    again = estimate(small_spec, panel, chunk_dir=store)
    assert len(again.computed_chunks) == ref.n_chunks - 3
    write_table(again.table, tmp_path / "resumed.parquet")
    assert (tmp_path / "resumed.parquet").read_bytes() == (tmp_path / "ref.parquet").read_bytes()
    third = estimate(small_spec, panel, chunk_dir=store)       # everything stored: nothing recomputed
    assert third.computed_chunks == ()
    assert third.table.equals(ref.table) and third.influence.equals(ref.influence)


def test_corrupt_chunk_is_recomputed(tmp_path, panel, small_spec):
    store = tmp_path / "chunks"
    first = estimate(small_spec, panel, chunk_dir=store)
    victim = sorted(p for p in store.glob("*.parquet") if not p.name.endswith(".influence.parquet"))[0]
    victim.write_bytes(b"not parquet")
    again = estimate(small_spec, panel, chunk_dir=store)
    assert len(again.computed_chunks) == 1 and again.table.equals(first.table)


def test_changed_definition_reuses_nothing_stale(tmp_path, panel, small_spec):
    store = tmp_path / "chunks"
    estimate(small_spec, panel, chunk_dir=store)
    o = small_spec.outcomes[1]
    changed = replace(small_spec, outcomes=(small_spec.outcomes[0], replace(o, scale=2.0)))
    run = estimate(changed, panel, chunk_dir=store)
    fresh = estimate(changed, panel)
    assert run.table.equals(fresh.table)
    assert len(run.computed_chunks) > 0


def test_parquet_is_tidy_and_queryable_with_duckdb(tmp_path, small_run):
    path = write_table(small_run.table, tmp_path / "m.parquet")
    back = read_table(path)
    assert back.equals(small_run.table)
    assert {"spec_hash", "outcome", "treatment", "scaling", "lag", "control_set", "region", "years", "exclusion",
            "fixed_effects", "estimator", "term", "estimate", "std_error", "p_value"} <= set(back.columns)
    assert not back.duplicated(["spec_hash", "term"]).any()
    q = query(path, "SELECT outcome, count(*) AS n, avg(CASE WHEN p_value < 0.05 THEN 1 ELSE 0 END) AS sig "
                    "FROM multiverse WHERE role = 'treatment' GROUP BY outcome ORDER BY outcome")
    t = back[back["role"] == "treatment"]
    expect = t.groupby("outcome").agg(n=("p_value", "size"), sig=("p_value", lambda p: np.mean(p < 0.05)))
    assert q["outcome"].tolist() == expect.index.tolist()
    assert q["n"].tolist() == expect["n"].tolist()
    np.testing.assert_allclose(q["sig"], expect["sig"], rtol=1e-15)


def test_json_round_trip_is_exact(small_run):
    import json

    from sahel_causal.multiverse.run import MultiverseRun

    text = json.dumps(small_run.to_dict(), allow_nan=False)
    table, infl = MultiverseRun.tables_from_dict(json.loads(text))
    for got, want in ((table, small_run.table), (infl, small_run.influence)):
        assert list(got.columns) == list(want.columns)
        for c in want.columns:
            w = want[c].to_numpy()
            if w.dtype.kind in "fi":
                assert got[c].to_numpy().dtype == w.dtype
                assert np.array_equal(got[c].to_numpy(), w, equal_nan=w.dtype.kind == "f"), c
            else:
                assert [str(v) for v in got[c]] == [str(v) for v in w], c
