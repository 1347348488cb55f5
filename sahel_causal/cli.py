"""The ``sahel-causal`` command line: the only place that reads argv and prints.

    sahel-causal data fetch   download the registered raw sources (checksum-verified)
    sahel-causal data build   rebuild data/processed/ from the raw sources
    sahel-causal data check   validate raw sources, the committed panel and the published outputs
    sahel-causal reproduce    rebuild the panel (if raw data are present) and every table and figure
    sahel-causal run SPEC     estimate one specification (optionally --set ..., --panel FILE) into results/_runs/

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

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__, pretty_exceptions_enable=False)
data_app = typer.Typer(no_args_is_help=True, help="Raw sources and the analysis panel.")
app.add_typer(data_app, name="data")
console = Console(highlight=False, soft_wrap=True)
_STATE = {"debug": False}


def _say(message: str) -> None:
    console.print(escape(message))


RawDirOpt = Annotated[Optional[Path], typer.Option(
    "--raw-dir", help="Raw-data directory (default: $SAHEL_CAUSAL_RAW_DIR, else ../shared/data/raw).")]


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


@app.callback()
def main_options(debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks of errors.")] = False) -> None:
    """Does U.S. security assistance predict coups and political violence in Africa?"""
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
              check: Annotated[bool, typer.Option("--check", help="Only check the outputs against MANIFEST.json.")] = False
              ) -> None:
    """Rebuild the panel when raw data are available, then every table and figure (MANIFEST.json last)."""
    from sahel_causal.pipeline import check_outputs
    from sahel_causal.pipeline import reproduce as run_all

    if check:
        problems = check_outputs()
        for p in problems:
            _say(p)
        if problems:
            raise typer.Exit(code=1)
        console.print("[green]outputs match results/MANIFEST.json[/]")
        return
    written = run_all(raw_dir, progress=_say, jobs=jobs)
    console.print(f"[green]done:[/] {len(written)} files written")


@app.command("run")
@guarded
def run(table: Annotated[str, typer.Argument(help="table2, table3, table4, a spec id or a .toml path")],
        set_: Annotated[Optional[list[str]], typer.Option(
            "--set", help="Override one option, e.g. --set sample.years=[2005,2020], "
                          "--set variables.train_pc_l1.lag=2 or --set model.lpm.controls=[]")] = None,
        panel: Annotated[Optional[Path], typer.Option(
            "--panel", help="Run on this panel (.csv or .parquet) instead of the committed one.")] = None) -> None:
    """Estimate one specification; outputs go to results/_runs/<id>-<hash>/ (never the published results)."""
    from sahel_causal.pipeline import run_table

    for p in run_table(table, set_ or [], progress=_say, panel_file=panel):
        _say(f"wrote {p}")


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
