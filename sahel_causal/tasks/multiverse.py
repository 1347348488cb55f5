"""Pipeline task: estimate the committed multiverses and write their table, summary and figure.

Reads every ``analysis/multiverse/*.toml`` (sorted by name), estimates each with the serial
backend (results do not depend on the backend), and writes

* ``results/multiverse/<id>.parquet``: the tidy table (one row per specification x coefficient);
* ``results/tables/multiverse_summary.{csv,md,tex}``: shares, joint test, variance decomposition,
  leave-one-out influence and Romano-Wolf p-values;
* ``results/tables/multiverse_{variance,influence,romano_wolf,joint_test}.csv``: the details;
* ``results/figures/specification_curve.{png,pdf}`` and ``results/figures/multiverse_influence.{png,pdf}``
  (the headline specification without each country and each year).

Same inputs give the same bytes (seeds from the specification files; deterministic Parquet).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd

from sahel_causal.multiverse.analysis import MultiverseSummary, summarize
from sahel_causal.multiverse.run import estimate
from sahel_causal.multiverse.storage import write_table
from sahel_causal.paths import ANALYSIS_DIR
from sahel_causal.pipeline import _write_text, write_csv
from sahel_causal.report.figures import save_figure
from sahel_causal.report.multiverse_curve import make_influence_figure, make_specification_curve
from sahel_causal.report.multiverse_table import summary_table, to_latex, to_markdown
from sahel_causal.specs.designs.multiverse import load

SPEC_DIR = ANALYSIS_DIR / "multiverse"
TITLE = "Multiverse of specifications: U.S. security assistance, coups and political violence"
NOTES = [
    "Linear FE OLS (linear probability models for coups; log(1 + deaths) for violence), CRV1 by country, t with G-1 df. "
    "Nonlinear estimators (logits, PPML) are not in the grid (no work can be shared); see Tables 2-3.",
    "Standardized estimate: coefficient x SD(treatment) / SD(outcome) in the estimation sample.",
    "Joint test: bootstrap under the null (Simonsohn, Simmons & Nelson 2020), effect removed in every specification, "
    "wild cluster (Rademacher) weights shared across specifications; t with each specification's observed SE as scale.",
    "Romano-Wolf: step-down over the headline specification of each outcome, restricted wild cluster bootstrap "
    "(Rademacher, CRV1 recomputed per draw).",
]


def spec_files(spec_dir: Path = SPEC_DIR) -> list[Path]:
    return sorted(Path(spec_dir).glob("*.toml"))


def make(panel: pd.DataFrame, results_dir: Path, progress: Callable[[str], None] = lambda m: None, *,
         specs: Sequence[Path] | None = None) -> list[Path]:
    """Estimate and write everything listed in the module docstring; return the paths written."""
    results_dir = Path(results_dir)
    files = list(specs) if specs is not None else spec_files()
    written: list[Path] = []
    summaries: list[MultiverseSummary] = []
    details: dict[str, list[pd.DataFrame]] = {"variance": [], "influence": [], "romano_wolf": [], "joint_test": []}
    for path in files:
        mf = load(path)
        progress(f"multiverse {mf.id}: estimating")
        run = estimate(mf.spec, panel, progress=progress)
        written.append(write_table(run.table, results_dir / "multiverse" / f"{mf.id}.parquet"))
        progress(f"multiverse {mf.id}: joint test, decomposition, influence, Romano-Wolf")
        s = summarize(run)
        summaries.append(s)
        for name, df in (("variance", s.variance), ("influence", s.influence), ("romano_wolf", s.romano_wolf),
                         ("joint_test", s.joint)):
            details[name].append(df.assign(multiverse=mf.id)[["multiverse", *df.columns]])
    if not summaries:
        return written
    table = summary_table(summaries)
    tables = results_dir / "tables"
    written.append(write_csv(table, tables / "multiverse_summary.csv"))
    written.append(_write_text(tables / "multiverse_summary.md", to_markdown(table, TITLE, NOTES)))
    written.append(_write_text(tables / "multiverse_summary.tex", to_latex(table, TITLE, NOTES)))
    for name, parts in details.items():
        written.append(write_csv(pd.concat(parts, ignore_index=True), tables / f"multiverse_{name}.csv"))
    written += save_figure(make_specification_curve(summaries), results_dir / "figures", "specification_curve")
    written += save_figure(make_influence_figure(summaries), results_dir / "figures", "multiverse_influence")
    return written
