"""The ``sahel-causal`` command line: the only place that reads argv and prints.

    sahel-causal data fetch   download the registered raw sources (checksum-verified)
    sahel-causal data build   rebuild data/processed/ from the raw sources
    sahel-causal data check   validate raw sources, the committed panel and the published outputs
    sahel-causal reproduce    rebuild the panel (if raw data are present) and every table and figure
    sahel-causal run SPEC     estimate one specification (optionally --set ..., --panel FILE) into results/_runs/
    sahel-causal diff RUN     show, cell by cell, how a rerun differs from the published table
    sahel-causal list         tables, specifications, variables and named country sets
    sahel-causal multiverse   estimate a multiverse of specifications (serial, processes or Dask)

Every error a user can cause ends with one message and exit code 1 (2: offline); ``--debug``
shows the traceback instead.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console
from rich.markup import escape

from sahel_causal.errors import SahelCausalError

HELP = """Does U.S. security assistance to African states predict coups and political violence?

Reproduce the study, rerun any table with other choices, and compare the rerun with the paper.

\b
Start here:
  sahel-causal reproduce                  every table and figure (what `make reproduce` runs)
  sahel-causal list                       what can be reproduced and changed
  sahel-causal run table2 --set variables.train_pc_l1.lag=2
                                          rerun Table 2 with a two-year lag (into results/_runs/)
  sahel-causal diff results/_runs/<run>   how that rerun differs from the published table
  sahel-causal reproduce --check          rerun everything and report any output that differs

Errors end with one message naming the file or field and what to do (exit code 1);
add --debug before the command to see a traceback.
"""
app = typer.Typer(add_completion=False, no_args_is_help=True, help=HELP, pretty_exceptions_enable=False,
                  rich_markup_mode=None)
data_app = typer.Typer(no_args_is_help=True, help="Raw sources and the analysis panel.")
app.add_typer(data_app, name="data")
console = Console(highlight=False, soft_wrap=True)
_STATE = {"debug": False}


def _say(message: str) -> None:
    console.print(escape(message))


RawDirOpt = Annotated[Optional[Path], typer.Option(
    "--raw-dir", help="Raw-data directory (default: $SAHEL_CAUSAL_RAW_DIR, else ../shared/data/raw).")]


def _only_reproduced(report: Any) -> Any:
    """Keep the outputs `reproduce` makes (those listed in results/MANIFEST.json, MANIFEST.json itself
    excepted: it names the folder it describes); calibration.* come from `make calibration`."""
    import dataclasses
    import json

    from sahel_causal.paths import RESULTS_DIR

    listed = set(json.loads((RESULTS_DIR / "MANIFEST.json").read_text(encoding="utf-8")))
    keep = lambda items: tuple(r for r in items if f"results/{r}" in listed)  # noqa: E731
    return dataclasses.replace(report, missing=keep(report.missing), different=keep(report.different))


class _task_progress:
    """A progress bar over the published tasks (elapsed and remaining time) for long runs; the other
    messages (data build, warnings) are printed above it."""

    def __enter__(self) -> Callable[[str], None]:
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                   TimeRemainingColumn)

        from sahel_causal.tasks.published import TASKS

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeElapsedColumn(), TextColumn("remaining"), TimeRemainingColumn(), console=console,
                            transient=False)
        self.bar.__enter__()
        self.task = self.bar.add_task("tables and figures", total=len(TASKS))

        def say(message: str) -> None:
            if message.startswith("done "):
                self.bar.advance(self.task)
            elif message.startswith("making "):
                self.bar.update(self.task, description=message[len("making "):][:48])
            else:
                self.bar.console.print(escape(message))
        return say

    def __exit__(self, *exc: object) -> None:
        self.bar.update(self.task, description="tables and figures")
        self.bar.__exit__(*exc)


def _fail(exc: BaseException) -> None:
    console.print("[bold red]error:[/] " + escape(str(exc)))
    raise typer.Exit(code=1)


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn every error into one message and exit code 1 (a traceback only with --debug)."""
    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except typer.Exit:
            raise
        except SahelCausalError as exc:
            if _STATE["debug"]:
                raise
            _fail(exc)
        except KeyboardInterrupt:
            console.print("[bold red]interrupted:[/] outputs already in place are complete files; rerun to finish")
            raise typer.Exit(code=130) from None
        except (OSError, ValueError, KeyError, TypeError, RuntimeError, MemoryError) as exc:
            if _STATE["debug"]:
                raise
            console.print("[bold red]error:[/] " + escape(f"{type(exc).__name__}: {exc}")
                          + " (rerun with --debug for the traceback)")
            raise typer.Exit(code=1) from None
    return wrapper


def _version(value: bool) -> None:
    if not value:
        return
    from sahel_causal import __version__
    from sahel_causal.paths import PROJECT_ROOT
    from sahel_causal.review.provenance import _sha, git_state

    commit, dirty = git_state(PROJECT_ROOT)
    lock = _sha(PROJECT_ROOT / "requirements.lock")
    console.print(f"sahel-causal {__version__} (commit {(commit or 'unknown')[:7]}{'+dirty' if dirty else ''}, "
                  f"requirements.lock {(lock or 'missing')[:8]})")
    raise typer.Exit()


@app.callback()
def main_options(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False,
                 version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                       help="Print the version, git commit and lock-file hash.")]
                 = False) -> None:
    """Does U.S. security assistance predict coups and political violence in Africa?

    Reproduce every table and figure with `sahel-causal reproduce`; rerun one table with another
    choice with `sahel-causal run table2 --set variables.train_pc_l1.lag=2` and compare it with the
    published one with `sahel-causal diff results/_runs/<folder>`.
    """
    _STATE["debug"] = debug


@data_app.command("fetch")
@guarded
def data_fetch(raw_dir: RawDirOpt = None,
               source: Annotated[Optional[list[str]], typer.Option(help="Only these source ids.")] = None) -> None:
    """Download the sources that have a public location into the raw-data directory."""
    from sahel_causal.data.fetch import OfflineError, fetch
    from sahel_causal.paths import DEFAULT_RAW_DIR, find_raw_dir

    target = find_raw_dir(raw_dir, create=True) or DEFAULT_RAW_DIR
    try:
        outcomes = fetch(target, source)
    except OfflineError as exc:
        console.print(escape(str(exc)))
        raise typer.Exit(code=2) from None
    for o in outcomes:
        console.print(f"{o.status:>10}  {o.source:<16} {o.path}")
    if any(o.status.startswith("failed") for o in outcomes):
        raise typer.Exit(code=1)


@data_app.command("build")
@guarded
def data_build(raw_dir: RawDirOpt = None) -> None:
    """Rebuild data/processed/ (panel, country-month panel, codebook, provenance, data report)."""
    from sahel_causal.pipeline import build_processed

    for p in build_processed(raw_dir, progress=_say):
        _say(f"wrote {p}")


@data_app.command("check")
@guarded
def data_check(raw_dir: RawDirOpt = None) -> None:
    """Validate raw sources (when present), the committed panel and the outputs against results/MANIFEST.json."""
    from sahel_causal.pipeline import check_data, check_outputs

    report, ok = check_data(raw_dir)
    console.print(escape(report))
    problems = check_outputs()
    console.print(escape("outputs: " + ("all match results/MANIFEST.json" if not problems else
                                       f"{len(problems)} problem(s)\n  " + "\n  ".join(problems))))
    if not ok or problems:
        raise typer.Exit(code=1)


@app.command("reproduce")
@guarded
def reproduce(raw_dir: RawDirOpt = None,
              jobs: Annotated[int, typer.Option("--jobs", "-j", min=1, help="Tasks run in parallel (local cores).")] = 1,
              check: Annotated[bool, typer.Option(
                  "--check", help="Rerun everything into a temporary folder from the committed panel and report every "
                                  "output that differs from results/ (nothing in results/ changes).")] = False,
              manifest_only: Annotated[bool, typer.Option(
                  "--manifest-only", help="With --check: only compare results/ with results/MANIFEST.json (fast, "
                                          "no rerun).")] = False
              ) -> None:
    """Rebuild the panel when raw data are available, then every table and figure (MANIFEST.json last).

    Examples:

      sahel-causal reproduce            # what `make reproduce` runs

      sahel-causal reproduce --jobs 2   # independent tables in parallel; identical files

      sahel-causal reproduce --check    # a reviewer's check: exit 0 when every output is reproduced
    """
    from sahel_causal.pipeline import check_outputs
    from sahel_causal.pipeline import reproduce as run_all

    if check:
        import tempfile

        from sahel_causal import writing
        from sahel_causal.paths import RESULTS_DIR
        from sahel_causal.review.check import compare_folders, format_check

        stale = check_outputs()
        for p in stale:
            _say(f"MANIFEST  {p}")
        if manifest_only:
            if stale:
                raise typer.Exit(code=1)
            console.print("[green]outputs match results/MANIFEST.json[/]")
            return
        with tempfile.TemporaryDirectory(prefix="sahel-causal-check-") as tmp:
            out = Path(tmp) / "results"
            writing.allow(out)
            run_all(raw_dir, progress=_say, jobs=jobs, results_dir=out, update_readme=False, rebuild=False)
            report = _only_reproduced(compare_folders(RESULTS_DIR, out))
            console.print(escape(format_check(report, RESULTS_DIR, out)))
        if stale or not report.ok:
            raise typer.Exit(code=1)
        return
    with _task_progress() as say:
        written = run_all(raw_dir, progress=say, jobs=jobs)
    console.print(f"[green]done:[/] {len(written)} files written")


@app.command("run")
@guarded
def run(table: Annotated[str, typer.Argument(
            help="table2, table3, table4, table5_partnership_did, table5_appendix_events, table6, a spec id "
                 "or a .toml path")],
        set_: Annotated[Optional[list[str]], typer.Option(
            "--set", help="Override one option, e.g. --set sample.years=[2005,2020], "
                          "--set variables.train_pc_l1.lag=2, --set model.lpm.controls=[] or (Table 6) "
                          "--set model.fra_mli_exit.pre_periods=36")] = None,
        panel: Annotated[Optional[Path], typer.Option(
            "--panel", help="Run on this panel (.csv or .parquet) instead of the committed one.")] = None) -> None:
    """Estimate one specification; outputs go to results/_runs/<id>-<hash>/ (never the published results).

    Tables 2-4 and event-study specs are estimated as regressions; the design files of Tables 5 and 6
    (partnership DiD grid, coups as events, synthetic control) run their own task on the overridden spec
    and write its tables, figures and estimates to the run folder (Table 6 uses the committed monthly panel).
    """
    from sahel_causal.pipeline import run_table

    for p in run_table(table, set_ or [], progress=_say, panel_file=panel):
        _say(f"wrote {p}")


@app.command("diff")
@guarded
def diff(run_dir: Annotated[Path, typer.Argument(help="A rerun folder (results/_runs/<table>-<hash>/)")],
         table: Annotated[Optional[str], typer.Argument(help="table2, table3_violence, ... (default: every table "
                                                               "in the run)")] = None,
         out: Annotated[Optional[Path], typer.Option("--out", help="Also write every differing cell to this CSV.")]
         = None) -> None:
    """Show, cell by cell, how a rerun differs from the published table.

    Numbers count as equal up to relative 1e-8 (the CSVs carry 10 significant digits); text must
    match exactly.

    Examples:

      sahel-causal run table2 --set sample.years=[2005,2020]

      sahel-causal diff results/_runs/table2_coups-3f9a1c2b7e

      sahel-causal diff results/_runs/table2_coups-3f9a1c2b7e table2 --out diff.csv
    """
    import pandas as pd

    from sahel_causal.errors import SpecificationError
    from sahel_causal.paths import RESULTS_DIR
    from sahel_causal.review.diff import diff_tables, format_diff

    tables = Path(run_dir) / "tables"
    if not tables.is_dir():
        raise SpecificationError(f"{run_dir}: not a run folder (no tables/ inside); pass a folder written by "
                                 "`sahel-causal run ... --set ...`, e.g. results/_runs/<table>-<hash>")
    names = sorted(p.stem for p in tables.glob("*.csv") if not p.stem.endswith("_samples"))
    if table is not None:
        names = [n for n in names if n == table or n.split("_")[0] == table]
        if not names:
            raise SpecificationError(f"{run_dir}: no table {table!r} in this run")
    frames = []
    for n in names:
        published = RESULTS_DIR / "tables" / f"{n}.csv"
        if not published.is_file():
            raise SpecificationError(f"{n}: no published table results/tables/{n}.csv to compare with")
        d = diff_tables(pd.read_csv(published), pd.read_csv(tables / f"{n}.csv"))
        console.print(escape(format_diff(d, n)))
        frames.append(d.assign(table=n))
    if out is not None and frames:
        from sahel_causal import writing

        target = Path(out).resolve()
        writing.allow(target.parent)
        writing.write_csv(pd.concat(frames, ignore_index=True), target)
        _say(f"wrote {target}")


@app.command("list")
@guarded
def list_(what: Annotated[Optional[str], typer.Argument(
        help="tables | specs | variables | country-sets (default: everything)")] = None) -> None:
    """List what can be reproduced and changed.

    Examples:

      sahel-causal list                 # everything, grouped

      sahel-causal list variables       # the panel's variables: meaning, unit, source

      sahel-causal list country-sets    # named sets for sample.countries in a specification
    """
    import pandas as pd

    from sahel_causal.errors import SpecificationError
    from sahel_causal.paths import ANALYSIS_DIR, PROCESSED_DIR

    allowed = ("tables", "specs", "variables", "country-sets")
    if what is not None and what not in allowed:
        raise SpecificationError(f"list: unknown item {what!r}; use one of {list(allowed)}")
    if what in (None, "tables"):
        from sahel_causal.tasks.published import TASKS

        console.print("[bold]Published outputs[/] (sahel-causal reproduce)")
        for t in TASKS:
            _say(f"  {t.label:<60} {t.spec}")
    if what in (None, "specs"):
        console.print("[bold]Specifications[/] (sahel-causal run NAME --set key=value)")
        for p in sorted((ANALYSIS_DIR / "specs").glob("*.toml")) + sorted((ANALYSIS_DIR / "multiverse").glob("*.toml")):
            _say(f"  {p.relative_to(ANALYSIS_DIR.parent).as_posix()}")
    if what in (None, "variables"):
        cb = pd.read_csv(PROCESSED_DIR / "codebook.csv")
        console.print(f"[bold]Panel variables[/] ({len(cb)}; data/processed/codebook.md has the full codebook)")
        label = next((c for c in ("label", "description", "meaning") if c in cb.columns), cb.columns[-1])
        for r in cb.itertuples(index=False):
            _say(f"  {getattr(r, cb.columns[0]):<40} {str(getattr(r, label))[:90]}")
    if what in (None, "country-sets"):
        from sahel_causal.review.country_sets import load_country_sets

        console.print("[bold]Country sets[/] (sample.countries)")
        for name, members in load_country_sets().items():
            _say(f"  {name:<20} {len(members):>3}  {' '.join(members)}")


@app.command("multiverse")
@guarded
def multiverse(spec: Annotated[str, typer.Argument(help="coups, violence or a path to a multiverse TOML")],
               backend: Annotated[str, typer.Option(help="serial | processes | dask")] = "serial",
               scheduler: Annotated[Optional[str], typer.Option(
                   help="Dask scheduler address, e.g. tcp://host:8786 (default: a LocalCluster)")] = None,
               workers: Annotated[int, typer.Option(min=1, help="Local workers (processes or LocalCluster).")] = 2
               ) -> None:
    """Estimate a multiverse of specifications and write results/multiverse/<id>.parquet (resumable).

    Examples:

      sahel-causal multiverse coups

      sahel-causal multiverse violence --backend dask --scheduler tcp://10.0.0.5:8786
    """
    from sahel_causal.multiverse.cli import multiverse_command

    multiverse_command(spec, backend=backend, scheduler=scheduler, workers=workers, progress=_say)


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
