"""Backends give byte-identical tables: serial, local processes, Dask (LocalCluster and by address)."""
from __future__ import annotations

import pytest

from sahel_causal.errors import SpecificationError
from sahel_causal.multiverse.backends import dask_map
from sahel_causal.multiverse.engine import plan
from sahel_causal.multiverse.grid import expand
from sahel_causal.multiverse.prepare import prepare
from sahel_causal.multiverse.run import estimate
from sahel_causal.multiverse.storage import write_table


def _bytes(run, path):
    return write_table(run.table, path).read_bytes()


def test_processes_backend_is_identical(tmp_path, panel, small_spec, small_run):
    run = estimate(small_spec, panel, backend="processes", workers=2)
    assert _bytes(run, tmp_path / "p.parquet") == _bytes(small_run, tmp_path / "s.parquet")
    assert run.influence.equals(small_run.influence)


def test_dask_local_cluster_is_identical(tmp_path, panel, small_spec, small_run):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster:
        run = estimate(small_spec, panel, backend="dask", scheduler=cluster.scheduler_address)
        with distributed.Client(cluster) as client:
            prep = prepare(small_spec, panel)
            chunks = plan(expand(small_spec), prep, small_spec.chunk_groups)
            got = sorted((r.number for r in dask_map(client, prep, chunks, small_spec.alpha)))
            assert got == list(range(len(chunks)))
    assert _bytes(run, tmp_path / "d.parquet") == _bytes(small_run, tmp_path / "s.parquet")
    assert run.influence.equals(small_run.influence)


def test_scheduler_needs_dask_backend(panel, small_spec):
    with pytest.raises(SpecificationError, match="--scheduler needs --backend dask"):
        estimate(small_spec, panel, backend="serial", scheduler="tcp://127.0.0.1:1")
    with pytest.raises(SpecificationError, match="backend must be one of"):
        estimate(small_spec, panel, backend="spark")
