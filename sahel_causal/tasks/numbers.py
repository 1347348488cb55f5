"""Task: write ``results/numbers.tex`` (the manuscript's numbers) from the results CSVs.

Runs after every table and figure task (it reads ``results/tables/*.csv`` and
``results/figures/*_data.csv``). See :mod:`sahel_causal.report.numbers` for keys and formats.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd


def make(panel: pd.DataFrame, results_dir: Path, progress=lambda m: None) -> list[Path]:
    """Write ``results_dir/numbers.tex``; return its path. ``panel`` is unused (interface of all tasks)."""
    from sahel_causal.pipeline import _write_text
    from sahel_causal.report.numbers import collect_csvs, numbers_tex, panel_numbers

    progress("writing results/numbers.tex")
    csvs = sorted((results_dir / "tables").glob("*.csv")) + sorted((results_dir / "figures").glob("*_data.csv"))
    return [_write_text(results_dir / "numbers.tex", numbers_tex(collect_csvs(csvs), extra=panel_numbers(panel)))]
