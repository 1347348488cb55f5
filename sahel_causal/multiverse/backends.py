"""Run the engine's chunks serially, in local processes, or on a Dask cluster.

Every backend calls the same pure function (:func:`run_chunk`: single-threaded BLAS, then
:func:`sahel_causal.multiverse.engine.fit_chunk`) on the same chunks and hands the results
back keyed by chunk number; the caller assembles them in chunk order, so the output does not
depend on the backend, the number of workers or the order in which chunks finish.

* ``serial``: a loop in this process;
* ``processes``: ``concurrent.futures.ProcessPoolExecutor`` (``spawn``), the prepared data sent
  once per worker through the pool initializer;
* ``dask``: ``dask.distributed``; a ``LocalCluster`` (``workers`` processes, one thread each)
  unless ``scheduler`` gives the address of a running scheduler (``tcp://host:8786``). The
  prepared data are scattered once to every worker (``broadcast=True``); each chunk is one task.
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Literal

from sahel_causal.errors import SpecificationError
from sahel_causal.multiverse.engine import Chunk, ChunkResult, fit_chunk
from sahel_causal.multiverse.prepare import Prepared

Backend = Literal["serial", "processes", "dask"]
BACKENDS = ("serial", "processes", "dask")

_PREP: Prepared | None = None


def run_chunk(prep: Prepared, chunk: Chunk, alpha: float) -> ChunkResult:
    """One chunk with BLAS limited to one thread (results must not depend on thread counts)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        return fit_chunk(prep, chunk, alpha)


def _init(prep: Prepared) -> None:
    global _PREP
    _PREP = prep


def _run_global(chunk: Chunk, alpha: float) -> ChunkResult:
    if _PREP is None:  # pragma: no cover - set by the pool initializer
        raise RuntimeError("worker not initialised")
    return run_chunk(_PREP, chunk, alpha)


def map_chunks(prep: Prepared, chunks: Iterable[Chunk], alpha: float, backend: Backend = "serial", *,
               scheduler: str | None = None, workers: int = 2) -> Iterator[ChunkResult]:
    """Yield a :class:`ChunkResult` for every chunk (in completion order for parallel backends)."""
    chunks = list(chunks)
    if backend not in BACKENDS:
        raise SpecificationError(f"backend must be one of {BACKENDS}, got {backend!r}")
    if scheduler is not None and backend != "dask":
        raise SpecificationError("--scheduler needs --backend dask")
    if not chunks:
        return
    if backend == "serial":
        for c in chunks:
            yield run_chunk(prep, c, alpha)
    elif backend == "processes":
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn"), initializer=_init,
                                 initargs=(prep,)) as pool:
            futures = [pool.submit(_run_global, c, alpha) for c in chunks]
            for f in as_completed(futures):
                yield f.result()
    else:
        yield from _dask(prep, chunks, alpha, scheduler, workers)


def _dask(prep: Prepared, chunks: list[Chunk], alpha: float, scheduler: str | None,
          workers: int) -> Iterator[ChunkResult]:
    try:
        from distributed import Client, LocalCluster
    except ImportError as e:  # pragma: no cover - dependency declared in pyproject
        raise SpecificationError("the dask backend needs dask[distributed]: pip install 'dask[distributed]'") from e
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        yield from dask_map(client, prep, chunks, alpha)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def dask_map(client: "distributed.Client", prep: Prepared, chunks: list[Chunk],  # noqa: F821
             alpha: float) -> Iterator[ChunkResult]:
    """Submit every chunk to an existing Dask ``client``; yield results as they complete."""
    from distributed import as_completed

    prep_f = client.scatter(prep, broadcast=True, hash=False)
    futures = [client.submit(run_chunk, prep_f, c, alpha, key=f"multiverse-chunk-{c.hash}-{c.number}", pure=False)
               for c in chunks]
    for f in as_completed(futures):
        yield f.result()
        f.release()


