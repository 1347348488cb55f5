"""The ``sahel-causal`` command line: the only place that reads argv and prints.

    sahel-causal data fetch   download the registered raw sources (checksum-verified)
    sahel-causal data build   rebuild data/processed/ from the raw sources
    sahel-causal data check   validate raw sources and the committed panel; print a data report
    sahel-causal reproduce    rebuild the panel (if raw data are present) and every table and figure
"""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape

from sahel_causal.errors import SahelCausalError

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
data_app = typer.Typer(no_args_is_help=True, help="Raw sources and the analysis panel.")
app.add_typer(data_app, name="data")
console = Console(highlight=False, soft_wrap=True)


def _say(message: str) -> None:
    console.print(escape(message))

RawDirOpt = Annotated[Optional[Path], typer.Option(
    "--raw-dir", help="Raw-data directory (default: $SAHEL_CAUSAL_RAW_DIR, else ../shared/data/raw).")]


def _fail(exc: Exception) -> None:
    console.print("[bold red]error:[/] " + escape(str(exc)))
    raise typer.Exit(code=1)


@data_app.command("fetch")
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
    except SahelCausalError as exc:
        _fail(exc)
        return
    for o in outcomes:
        console.print(f"{o.status:>10}  {o.source:<16} {o.path}")
    if any(o.status.startswith("failed") for o in outcomes):
        raise typer.Exit(code=1)


@data_app.command("build")
def data_build(raw_dir: RawDirOpt = None) -> None:
    """Rebuild data/processed/ (panel, country-month panel, codebook, provenance, data report)."""
    from sahel_causal.pipeline import build_processed

    try:
        written = build_processed(raw_dir, progress=_say)
    except SahelCausalError as exc:
        _fail(exc)
        return
    for p in written:
        _say(f"wrote {p}")


@data_app.command("check")
def data_check(raw_dir: RawDirOpt = None) -> None:
    """Validate raw sources (when present) and the committed panel; print a short data report."""
    from sahel_causal.pipeline import check_data

    try:
        report, ok = check_data(raw_dir)
    except SahelCausalError as exc:
        _fail(exc)
        return
    console.print(escape(report))
    if not ok:
        raise typer.Exit(code=1)


@app.command("reproduce")
def reproduce(raw_dir: RawDirOpt = None) -> None:
    """Rebuild the panel when raw data are available, then every table and figure."""
    from sahel_causal.pipeline import reproduce as run_all

    try:
        written = run_all(raw_dir, progress=_say)
    except SahelCausalError as exc:
        _fail(exc)
        return
    console.print(f"[green]done:[/] {len(written)} files written")


@app.command("run")
def run(table: Annotated[str, typer.Argument(help="table2, table3, table4, a spec id or a .toml path")],
        set_: Annotated[Optional[list[str]], typer.Option(
            "--set", help="Override one option, e.g. --set sample.years=[2005,2020] or "
                          "--set model.lpm.outcome='\"coup_success_any\"'")] = None) -> None:
    """Estimate one table from its specification; with --set, write to results/_runs/ instead."""
    from sahel_causal.pipeline import run_table

    try:
        written = run_table(table, set_ or [], progress=_say)
    except SahelCausalError as exc:
        _fail(exc)
        return
    for p in written:
        _say(f"wrote {p}")


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
