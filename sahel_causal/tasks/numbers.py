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
    from sahel_causal.report.numbers import numbers_tex, panel_numbers

    progress("writing results/numbers.tex")
    csvs = sorted((results_dir / "tables").glob("*.csv")) + sorted((results_dir / "figures").glob("*_data.csv"))
    from sahel_causal.paths import RESULTS_DIR

    # the calibration table is made by `make calibration`, not by reproduce: use the published one
    published_cal = RESULTS_DIR / "tables" / "calibration.csv"
    if not (results_dir / "tables" / "calibration.csv").is_file() and published_cal.is_file():
        csvs.append(published_cal)
    return [_write_text(results_dir / "numbers.tex", numbers_tex(collect_csvs(csvs), extra=panel_numbers(panel)))]


def collect_csvs(paths) -> dict[str, pd.DataFrame]:
    """Read result CSVs (the I/O edge): stem -> frame; files whose stem ends in ``_samples`` are skipped."""
    from pathlib import Path

    out = {}
    for p in sorted(Path(x) for x in paths):
        if p.suffix == ".csv" and not p.stem.endswith("_samples"):
            out[p.stem] = pd.read_csv(p)
    return out
