"""Edge task: run the calibration Monte Carlo and write results/tables/calibration.{csv,md,tex}.

Full run: ``python -m sahel_causal.tasks.calibration`` (``make calibration``); it takes many
minutes. ``SAHEL_CAUSAL_CALIBRATION_SCALE`` (default 1) multiplies the replications.
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pandas as pd

from sahel_causal.inference.calibration import run_calibration
from sahel_causal.pipeline import _write_text, write_csv
from sahel_causal.report.calibration import to_latex, to_markdown

SPECS_DIR = Path(__file__).resolve().parents[2] / "analysis" / "specs"


def make(panel: pd.DataFrame, results_dir: Path, progress=lambda m: None, *, scale: float = 1.0) -> list[Path]:
    cal = run_calibration(panel, SPECS_DIR, scale=scale, progress=progress)
    tables = Path(results_dir) / "tables"
    out = [write_csv(cal.drop(columns=["seconds"]), tables / "calibration.csv"),
           _write_text(tables / "calibration.md", to_markdown(cal)),
           _write_text(tables / "calibration.tex", to_latex(cal))]
    runtime = cal.groupby("design")["seconds"].first()
    progress("  calibration CPU seconds per design: " + ", ".join(f"{k} {v:.0f}" for k, v in runtime.items()))
    return out


def render(results_dir: Path) -> list[Path]:
    """Re-write calibration.md/.tex from the committed calibration.csv (no Monte Carlo)."""
    tables = Path(results_dir) / "tables"
    cal = pd.read_csv(tables / "calibration.csv")
    return [_write_text(tables / "calibration.md", to_markdown(cal)),
            _write_text(tables / "calibration.tex", to_latex(cal))]


def main() -> int:  # pragma: no cover - command-line edge
    from sahel_causal.pipeline import load_panel

    scale = float(os.environ.get("SAHEL_CAUSAL_CALIBRATION_SCALE", "1"))
    root = Path(__file__).resolve().parents[2]
    t0 = time.process_time()
    for p in make(load_panel(), root / "results", progress=lambda m: print(m, flush=True), scale=scale):
        print("wrote", p)
    print(f"calibration: {time.process_time() - t0:.0f} s CPU", flush=True)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
