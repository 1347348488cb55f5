"""The list of published outputs: each a thin step (read the panel, call a pure function, write).

``steps()`` is the single registry that ``reproduce`` runs and the README's table of outputs
describes. A step declares the program that makes it and the specification it follows.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sahel_causal.data.registry import sha256_file
from sahel_causal.paths import RESULTS_DIR


@dataclass(frozen=True)
class Step:
    """One output step: ``run(panel)`` writes files and returns their paths."""

    name: str
    made_by: str
    spec: str
    run: Callable[[pd.DataFrame], list[Path]]


def _panel_provenance() -> dict[str, str]:
    from sahel_causal.pipeline import PANEL_CSV

    return {"panel": "data/processed/panel_country_year.csv", "sha256": sha256_file(PANEL_CSV)[:16]}


def _table1(panel: pd.DataFrame) -> list[Path]:
    from sahel_causal.report.table1 import make_table1

    return make_table1(panel, _panel_provenance()).write(RESULTS_DIR / "tables")


def _figure1(panel: pd.DataFrame) -> list[Path]:
    from sahel_causal.pipeline import write_csv
    from sahel_causal.report.figure1 import figure1_data, make_figure1
    from sahel_causal.report.figures import save_figure

    out = save_figure(make_figure1(panel), RESULTS_DIR / "figures", "figure1_trends")
    out.append(write_csv(figure1_data(panel), RESULTS_DIR / "figures" / "figure1_trends_data.csv"))
    return out


def coups_from_panel(panel: pd.DataFrame) -> pd.DataFrame:
    """Coup markers (iso3, year, successful) from the panel's Powell & Thyne country-year counts."""
    rows = []
    for r in panel.itertuples(index=False):
        if pd.notna(r.coup_successes) and r.coup_successes > 0:
            rows.append((r.iso3, r.year, True))
        if pd.notna(r.coup_failed) and r.coup_failed > 0:
            rows.append((r.iso3, r.year, False))
    return pd.DataFrame(rows, columns=["iso3", "year", "successful"])


def _timeline(panel: pd.DataFrame) -> list[Path]:
    from sahel_causal.data import timelines
    from sahel_causal.report.figures import save_figure
    from sahel_causal.report.timeline_figure import DEFAULT_COUNTRIES, plot_timeline

    from sahel_causal.data.coup_events import load_coup_events  # dated coups (issue 14)

    fig = plot_timeline(timelines.load_us_programs(), timelines.load_deployments(), load_coup_events(),
                        DEFAULT_COUNTRIES, range(2000, 2026))
    return save_figure(fig, RESULTS_DIR / "figures", "figure2_timeline")


TABLE_SPECS = ("table2_coups", "table3_violence", "table4_heterogeneity")
_CACHE: dict[tuple[str, str], object] = {}


def table_result(spec_id: str, panel: pd.DataFrame):
    """Estimate ``analysis/specs/<spec_id>.toml`` once per panel within a run (Tables 2-4 and the plot share it)."""
    from sahel_causal.estimation import estimate
    from sahel_causal.paths import ANALYSIS_DIR
    from sahel_causal.results import data_checksum

    key = (spec_id, data_checksum(panel))
    if key not in _CACHE:
        _CACHE[key] = estimate(ANALYSIS_DIR / "specs" / f"{spec_id}.toml", panel)
    return _CACHE[key]


def _round_floats(obj, digits: int = 10):
    """Round every float to ``digits`` significant digits: last-bit differences between runs
    (multithreaded linear algebra) must not change the published bytes."""
    if isinstance(obj, float):
        return float(f"{obj:.{digits}g}")
    if isinstance(obj, dict):
        return {k: _round_floats(v, digits) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_round_floats(v, digits) for v in obj]
    return obj


def write_table_result(tr, directory: Path, spec_sha256: str) -> list[Path]:
    """Write the formatted table, its sample notes and the full results (JSON) of one specification."""
    import json

    from sahel_causal.pipeline import write_csv
    from sahel_causal.report.results_table import format_results, sample_notes

    prov = {"spec": f"analysis/specs/{tr.spec.id}.toml", "spec_sha256": spec_sha256[:16],
            "data_sha256": tr.data_sha256.split(":")[-1][:16]}
    files = format_results(tr, prov).write(directory / "tables")
    files.append(write_csv(sample_notes(tr), directory / "tables" / f"{tr.spec.id}_samples.csv"))
    doc = {"spec": prov["spec"], "spec_sha256": spec_sha256, "data_sha256": tr.data_sha256,
           "models": [mo.result.to_dict() for mo in tr.models],
           "margins": {mo.model.id: mo.margins.to_dict() for mo in tr.models if mo.margins is not None}}
    est = directory / "estimates" / f"{tr.spec.id}.json"
    est.parent.mkdir(parents=True, exist_ok=True)
    est.write_text(json.dumps(_round_floats(doc), indent=1, sort_keys=True) + "\n", encoding="utf-8", newline="\n")
    files.append(est)
    return files


def _spec_sha(spec_id: str) -> str:
    from sahel_causal.paths import ANALYSIS_DIR

    return sha256_file(ANALYSIS_DIR / "specs" / f"{spec_id}.toml")


def _results_table(spec_id: str) -> Callable[[pd.DataFrame], list[Path]]:
    def run(panel: pd.DataFrame) -> list[Path]:
        return write_table_result(table_result(spec_id, panel), RESULTS_DIR, _spec_sha(spec_id))
    return run


def _coefplot(panel: pd.DataFrame) -> list[Path]:
    from sahel_causal.pipeline import write_csv
    from sahel_causal.report.coefplot import coefplot_data, make_coefplot
    from sahel_causal.report.figures import save_figure

    trs = {s: table_result(s, panel) for s in TABLE_SPECS[:2]}
    data = coefplot_data({s: tr.tidy() for s, tr in trs.items()})
    fig = make_coefplot(data, {s: tr.spec.title for s, tr in trs.items()})
    out = save_figure(fig, RESULTS_DIR / "figures", "figure3_coefficients")
    out.append(write_csv(data, RESULTS_DIR / "figures" / "figure3_coefficients_data.csv"))
    return out


def _coup_paths(panel: pd.DataFrame) -> list[Path]:
    from sahel_causal.pipeline import write_csv
    from sahel_causal.report.coup_paths import coup_event_paths, make_coup_paths_figure, summarise
    from sahel_causal.report.figures import save_figure

    out = save_figure(make_coup_paths_figure(panel), RESULTS_DIR / "figures", "figure4_training_around_coups")
    out.append(write_csv(summarise(coup_event_paths(panel)), RESULTS_DIR / "figures" / "figure4_training_around_coups_data.csv"))
    return out


def steps() -> list[Step]:
    """Every output of ``make reproduce``, in order."""
    return [
        Step("Table 1 (summary statistics)", "sahel_causal/report/table1.py", "descriptive: all state-years", _table1),
        Step("Figure 1 (trends)", "sahel_causal/report/figure1.py", "descriptive: per-country means by year", _figure1),
        Step("Figure 2 (timeline)", "sahel_causal/report/timeline_figure.py",
             "data/reference/us_programs.csv + external_deployments.csv", _timeline),
        Step("Table 2 (coups)", "sahel_causal/estimation.py + report/results_table.py",
             "analysis/specs/table2_coups.toml", _results_table("table2_coups")),
        Step("Table 3 (violence)", "sahel_causal/estimation.py + report/results_table.py",
             "analysis/specs/table3_violence.toml", _results_table("table3_violence")),
        Step("Table 4 (heterogeneity)", "sahel_causal/estimation.py + report/results_table.py",
             "analysis/specs/table4_heterogeneity.toml", _results_table("table4_heterogeneity")),
        Step("Figure 4 (training around coups)", "sahel_causal/report/coup_paths.py",
             "descriptive: event time -5..+5 around coups 2000-2020", _coup_paths),
        Step("Figure 3 (coefficient plot)", "sahel_causal/report/coefplot.py",
             "analysis/specs/table2_coups.toml + table3_violence.toml", _coefplot),
    ]
