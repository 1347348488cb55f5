"""``sahel-causal multiverse SPEC [--backend serial|processes|dask] [--scheduler ADDRESS]``.

The coordinator wires :func:`multiverse_command` into the typer app (plain arguments, no typer
here). It resolves SPEC (a path, or a name in ``analysis/multiverse/``), estimates the
multiverse on the committed panel with resumable chunks in ``.cache/multiverse/<id>/``, and
writes ``results/multiverse/<id>.parquet``. An interrupted run picks up where it stopped.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from sahel_causal.errors import SpecificationError
from sahel_causal.paths import ANALYSIS_DIR, PROJECT_ROOT, RESULTS_DIR


def resolve_spec(name: str) -> Path:
    """``coups`` / ``multiverse_coups`` / a path -> the multiverse specification file."""
    p = Path(name)
    if p.suffix == ".toml":
        if not p.is_file():
            raise SpecificationError(f"{name}: no such specification file")
        return p
    specs = sorted((ANALYSIS_DIR / "multiverse").glob("*.toml"))
    hits = [s for s in specs if s.stem in (name, name.removeprefix("multiverse_"))]
    if len(hits) != 1:
        raise SpecificationError(f"unknown multiverse {name!r}; available: {[s.stem for s in specs]}")
    return hits[0]


def multiverse_command(spec: str, backend: str = "serial", scheduler: str | None = None, workers: int = 2,
                       results_dir: Path | None = None, chunk_dir: Path | None = None,
                       progress: Callable[[str], None] = print) -> list[Path]:
    """Estimate one multiverse and write its tidy Parquet table; return the paths written."""
    import time

    from sahel_causal.multiverse.run import estimate
    from sahel_causal.multiverse.storage import write_table
    from sahel_causal.pipeline import load_panel
    from sahel_causal.specs.designs.multiverse import load

    if backend not in ("serial", "processes", "dask"):
        raise SpecificationError(f"--backend must be serial, processes or dask, got {backend!r}")
    mf = load(resolve_spec(spec))
    panel = load_panel()
    cdir = Path(chunk_dir) if chunk_dir is not None else PROJECT_ROOT / ".cache" / "multiverse" / mf.id
    t0 = time.perf_counter()
    run = estimate(mf.spec, panel, backend=backend, scheduler=scheduler, workers=workers,  # type: ignore[arg-type]
                   chunk_dir=cdir, progress=progress)
    out = write_table(run.table, Path(results_dir or RESULTS_DIR) / "multiverse" / f"{mf.id}.parquet")
    secs = time.perf_counter() - t0
    ok = int((run.treatment_rows()["status"] == "ok").sum())
    progress(f"{mf.id}: {len(run.grid)} specifications ({ok} estimated) in {secs:.1f} s with backend {backend}; "
             f"{len(run.computed_chunks)} of {run.n_chunks} chunks computed, the rest reused; wrote {out}")
    return [out]
