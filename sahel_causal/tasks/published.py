"""The published outputs of ``sahel-causal reproduce``: one task each (read, call pure functions, write).

``TASKS`` is the single list that ``reproduce`` runs and the README's table of outputs
describes. Each task declares the program that makes it, the specification it follows, its input
files and the tasks whose results it uses (Figure 3 and the summary reuse the estimated tables).
Another helper's topic module joins with one line:
``Task.from_make("did", "sahel_causal.tasks.did:make", spec="analysis/specs/did.toml")``.
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pandas as pd

from sahel_causal.tasks.graph import Task, TaskContext, TaskOutput
from sahel_causal.writing import safe_id, save_figure, write_csv, write_table, write_text

_PANEL = "data/processed/panel_country_year.csv"
TABLE_SPECS = ("table2_coups", "table3_violence", "table4_heterogeneity")


def panel_provenance(panel_sha256: str) -> dict[str, str]:
    """The provenance footer of descriptive tables: the panel file and its sha256 (as in provenance.json)."""
    return {"panel": _PANEL, "sha256": panel_sha256[:16]}


def table1(ctx: TaskContext, deps: dict[str, Any]) -> TaskOutput:
    from sahel_causal.report.table1 import make_table1

    return TaskOutput(write_table(make_table1(ctx.panel, panel_provenance(ctx.panel_sha256)),
                                  ctx.results_dir / "tables"))


def figure1(ctx: TaskContext, deps: dict[str, Any]) -> TaskOutput:
    from sahel_causal.report.figure1 import figure1_data, make_figure1

    out = save_figure(make_figure1(ctx.panel), ctx.results_dir / "figures", "figure1_trends")
    out.append(write_csv(figure1_data(ctx.panel), ctx.results_dir / "figures" / "figure1_trends_data.csv"))
    return TaskOutput(out)


def coups_from_panel(panel: pd.DataFrame) -> pd.DataFrame:
    """Coup markers (iso3, year, successful) from the panel's Powell & Thyne country-year counts."""
    rows = []
    for r in panel.itertuples(index=False):
        if pd.notna(r.coup_successes) and r.coup_successes > 0:
            rows.append((r.iso3, r.year, True))
        if pd.notna(r.coup_failed) and r.coup_failed > 0:
            rows.append((r.iso3, r.year, False))
    return pd.DataFrame(rows, columns=["iso3", "year", "successful"])


def figure2(ctx: TaskContext, deps: dict[str, Any]) -> TaskOutput:
    from sahel_causal.data import timelines
    from sahel_causal.data.coup_events import load_coup_events
    from sahel_causal.report.timeline_figure import DEFAULT_COUNTRIES, plot_timeline

    # coups at their date (data/processed/coup_events.csv, from the raw Powell & Thyne file)
    fig = plot_timeline(timelines.load_us_programs(), timelines.load_deployments(), load_coup_events(),
                        DEFAULT_COUNTRIES, range(2000, 2026))
    return TaskOutput(save_figure(fig, ctx.results_dir / "figures", "figure2_timeline"))


def figure4(ctx: TaskContext, deps: dict[str, Any]) -> TaskOutput:
    from sahel_causal.report.coup_paths import coup_event_paths, make_coup_paths_figure, summarise

    out = save_figure(make_coup_paths_figure(ctx.panel), ctx.results_dir / "figures", "figure4_training_around_coups")
    out.append(write_csv(summarise(coup_event_paths(ctx.panel)),
                         ctx.results_dir / "figures" / "figure4_training_around_coups_data.csv"))
    return TaskOutput(out)


def _round_floats(obj: Any, digits: int = 10) -> Any:
    """Round every float to ``digits`` significant digits: last-bit differences between runs
    (multithreaded linear algebra) must not change the published bytes."""
    if isinstance(obj, float):
        return float(f"{obj:.{digits}g}")
    if isinstance(obj, dict):
        return {k: _round_floats(v, digits) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_round_floats(v, digits) for v in obj]
    return obj


def family_pvalues(tr: Any, panel: pd.DataFrame | None) -> dict[tuple[str, str], float]:
    """Romano-Wolf family-wise p-values over the table's linear models (shared wild-bootstrap draws,
    :func:`sahel_causal.inference.multiple_testing.table_family_pvalues`): (model, term) -> p."""
    from sahel_causal.errors import SahelCausalError
    from sahel_causal.inference.multiple_testing import table_family_pvalues

    if panel is None or tr.spec.inference.wild_bootstrap is None or \
            sum(m.estimator == "ols" for m in tr.spec.models) < 2:
        return {}
    try:
        fam = table_family_pvalues(tr.spec, panel, fitted={m.model.id: m.result for m in tr.models
                                                           if m.model.estimator == "ols"})
    except SahelCausalError:
        return {}
    return {(str(r.model), str(r.term)): float(r.p_romano_wolf) for r in fam.itertuples(index=False)}


def write_table_result(tr: Any, directory: Path, spec_sha256: str, spec_path: str | None = None,
                       panel: pd.DataFrame | None = None) -> list[Path]:
    """Write the formatted table, its sample notes and the full results (JSON) of one specification
    (with ``panel``, also the family-wise p-values of its linear models)."""
    from sahel_causal.report.results_table import format_results, sample_notes

    sid = safe_id(tr.spec.id, "table id")
    prov = {"spec": spec_path or f"analysis/specs/{sid}.toml", "spec_sha256": spec_sha256[:16],
            "data_sha256": tr.data_sha256.split(":")[-1][:16]}
    files = write_table(format_results(tr, prov, uncalibrated=uncalibrated_methods(tr),
                                       family=family_pvalues(tr, panel)), directory / "tables")
    files.append(write_csv(sample_notes(tr), directory / "tables" / f"{sid}_samples.csv"))
    doc = {"spec": prov["spec"], "spec_sha256": spec_sha256, "data_sha256": tr.data_sha256,
           "models": [mo.result.to_dict() for mo in tr.models],
           "margins": {mo.model.id: mo.margins.to_dict() for mo in tr.models if mo.margins is not None}}
    files.append(write_text(directory / "estimates" / f"{sid}.json",
                            json.dumps(_round_floats(doc), indent=1, sort_keys=True) + "\n"))
    return files


def uncalibrated_methods(tr: Any) -> dict[str, set[str]]:
    """Per model: the tidy p-value columns of methods whose measured size for the model's design lies
    outside [3%, 7%] (results/tables/calibration.csv, made by `make calibration`); empty without it."""
    from sahel_causal.inference.calibration import TIDY_P_COLUMN, design_of
    from sahel_causal.paths import RESULTS_DIR

    path = RESULTS_DIR / "tables" / "calibration.csv"
    if not path.is_file():
        return {}
    cal = pd.read_csv(path)
    out: dict[str, set[str]] = {}
    for mo in tr.models:
        m = mo.model
        design = design_of(tr.spec.id, m.id, m.estimator, m.treatments, m.sample.countries)
        if design is None:
            continue
        sub = cal[cal["design"] == design]
        out[m.id] = {TIDY_P_COLUMN[str(meth)] for meth, ok in zip(sub["method"], sub["in_band"])
                     if not bool(ok) and str(meth) in TIDY_P_COLUMN}
    return out


def estimate_table(spec_id: str, panel: pd.DataFrame, panel_sha256: str) -> Any:
    """Estimate ``analysis/specs/<spec_id>.toml`` on the panel."""
    from sahel_causal.estimation import estimate
    from sahel_causal.paths import ANALYSIS_DIR

    return estimate(ANALYSIS_DIR / "specs" / f"{safe_id(spec_id)}.toml", panel, data_sha256=panel_sha256)


def _spec_sha(spec_id: str) -> str:
    from sahel_causal.data.registry import sha256_file
    from sahel_causal.paths import ANALYSIS_DIR

    return sha256_file(ANALYSIS_DIR / "specs" / f"{spec_id}.toml")


def _table(spec_id: str, ctx: TaskContext) -> TaskOutput:
    tr = estimate_table(spec_id, ctx.panel, ctx.panel_sha256)
    return TaskOutput(write_table_result(tr, ctx.results_dir, _spec_sha(spec_id), panel=ctx.panel), value=tr)


def table2(ctx: TaskContext, deps: dict[str, Any]) -> TaskOutput:
    return _table("table2_coups", ctx)


def table3(ctx: TaskContext, deps: dict[str, Any]) -> TaskOutput:
    return _table("table3_violence", ctx)


def table4(ctx: TaskContext, deps: dict[str, Any]) -> TaskOutput:
    return _table("table4_heterogeneity", ctx)


def figure3(ctx: TaskContext, deps: dict[str, Any]) -> TaskOutput:
    from sahel_causal.report.coefplot import coefplot_data, make_coefplot

    trs = {"table2_coups": deps["table2"], "table3_violence": deps["table3"]}
    data = coefplot_data({s: tr.table_frame() for s, tr in trs.items()})
    fig = make_coefplot(data, {s: tr.spec.title for s, tr in trs.items()})
    out = save_figure(fig, ctx.results_dir / "figures", "figure3_coefficients")
    out.append(write_csv(data, ctx.results_dir / "figures" / "figure3_coefficients_data.csv"))
    return TaskOutput(out)


def read_summary_tables(results_dir: Path) -> dict[str, pd.DataFrame]:
    """The result CSVs the README summary is built from: Tables 2-4 (required) and, when present, the
    optional tables (equivalence, calibration, Tables 5-6, the multiverse) and figure data."""
    from sahel_causal.paths import RESULTS_DIR
    from sahel_causal.report.summary import DESIGN_TABLES, FIGURE_DATA, OPTIONAL_TABLES, SUMMARY_TABLES

    out = {k: pd.read_csv(results_dir / "tables" / f"{k}.csv") for k in SUMMARY_TABLES}
    for k in OPTIONAL_TABLES:
        # calibration.csv is made by `make calibration` (committed), not by reproduce: read the published one
        for folder in (results_dir, RESULTS_DIR):
            if (folder / "tables" / f"{k}.csv").is_file():
                out[k] = pd.read_csv(folder / "tables" / f"{k}.csv")
                break
    # the designs' outputs are read from this run's folder only: absent -> their sentences are left out
    for sub, names in (("tables", DESIGN_TABLES), ("figures", FIGURE_DATA)):
        for k in names:
            if (results_dir / sub / f"{k}.csv").is_file():
                out[k] = pd.read_csv(results_dir / sub / f"{k}.csv")
    return out


def summary(ctx: TaskContext, deps: dict[str, Any]) -> TaskOutput:
    from sahel_causal.report.summary import make_summary

    text = make_summary(read_summary_tables(ctx.results_dir))
    return TaskOutput([write_text(ctx.results_dir / "summary.md", text)], value=text)


_P = "sahel_causal.tasks.published"
_EST = "sahel_causal/estimation.py + report/results_table.py"
TASKS: list[Task] = [
    Task("table1", f"{_P}:table1", "sahel_causal/report/table1.py", "descriptive: all state-years",
         inputs=(_PANEL,), label="Table 1 (summary statistics)"),
    Task("figure1", f"{_P}:figure1", "sahel_causal/report/figure1.py", "descriptive: per-country means by year",
         inputs=(_PANEL,), label="Figure 1 (trends)"),
    Task("figure2", f"{_P}:figure2", "sahel_causal/report/timeline_figure.py",
         "data/reference/us_programs.csv + external_deployments.csv",
         inputs=(_PANEL, "data/processed/coup_events.csv", "data/reference/us_programs.csv",
                 "data/reference/external_deployments.csv"),
         label="Figure 2 (timeline)"),
    Task("table2", f"{_P}:table2", _EST, "analysis/specs/table2_coups.toml",
         inputs=(_PANEL, "analysis/specs/table2_coups.toml", "analysis/variables.toml"), label="Table 2 (coups)"),
    Task("table3", f"{_P}:table3", _EST, "analysis/specs/table3_violence.toml",
         inputs=(_PANEL, "analysis/specs/table3_violence.toml", "analysis/variables.toml"),
         label="Table 3 (violence)"),
    Task("table4", f"{_P}:table4", _EST, "analysis/specs/table4_heterogeneity.toml",
         inputs=(_PANEL, "analysis/specs/table4_heterogeneity.toml", "analysis/variables.toml"),
         label="Table 4 (heterogeneity)"),
    Task("figure4", f"{_P}:figure4", "sahel_causal/report/coup_paths.py",
         "descriptive: event time -5..+5 around coups 2000-2020", inputs=(_PANEL,),
         label="Figure 4 (training around coups)"),
    Task("figure3", f"{_P}:figure3", "sahel_causal/report/coefplot.py",
         "analysis/specs/table2_coups.toml + table3_violence.toml", deps=("table2", "table3"),
         label="Figure 3 (coefficient plot)"),
    dataclasses.replace(Task.from_make(
        "inference_extras", "sahel_causal.tasks.inference_extras:make",
        spec="analysis/specs/table2-4 (smallest_effect_1sd) + results/tables/table2-4 CSVs",
        inputs=(_PANEL, "analysis/specs/table2_coups.toml", "analysis/specs/table3_violence.toml",
                "analysis/specs/table4_heterogeneity.toml"),
        label="equivalence tests (MDE, TOST) and family-wise p-values"), deps=("table2", "table3", "table4")),
    Task.from_make("influence", "sahel_causal.tasks.influence:make",
                   spec="analysis/specs/table2-4 (headline models)",
                   inputs=(_PANEL, "analysis/specs/table2_coups.toml", "analysis/specs/table3_violence.toml",
                           "analysis/specs/table4_heterogeneity.toml"),
                   label="leave-one-country-out influence and Sahel scaling"),
    # the designs beyond single regressions (issues 10-12): topic modules with make(panel, results_dir, progress)
    Task.from_make("table5", "sahel_causal.tasks.table5:make",
                   spec="analysis/specs/table5_partnership_did.toml + table5_appendix_events.toml",
                   inputs=(_PANEL, "analysis/specs/table5_partnership_did.toml",
                           "analysis/specs/table5_appendix_events.toml", "data/reference/us_programs.csv",
                           "data/reference/external_deployments.csv"),
                   label="Table 5 (partnership DiD, coups as events, external actors)"),
    Task.from_make("table6", "sahel_causal.tasks.table6:make", spec="analysis/specs/table6_withdrawals.toml",
                   inputs=("data/processed/panel_country_month.csv", _PANEL, "analysis/specs/table6_withdrawals.toml",
                           "data/reference/withdrawal_events.csv"),
                   label="Table 6 (withdrawals: synthetic control)"),
    Task.from_make("multiverse", "sahel_causal.tasks.multiverse:make",
                   spec="analysis/multiverse/coups.toml + violence.toml",
                   inputs=(_PANEL, "analysis/multiverse/coups.toml", "analysis/multiverse/violence.toml"),
                   label="multiverse (specification curve)"),
]
# the README summary reads the CSVs of Tables 2-6, the equivalence tests and the multiverse: it runs after them
TASKS.append(dataclasses.replace(
    Task("summary", f"{_P}:summary", "sahel_causal/report/summary.py",
         "results/tables/table2-6, equivalence, calibration and multiverse CSVs", label="results summary"),
    deps=("table2", "table3", "table4", "inference_extras", "table5", "table6", "multiverse")))

# numbers.tex reads every table and figure CSV: it runs last
TASKS.append(dataclasses.replace(
    Task.from_make("numbers", "sahel_causal.tasks.numbers:make", spec="results/tables/*.csv, results/figures/*_data.csv",
                   label="numbers for the manuscript (results/numbers.tex)"),
    deps=tuple(t.name for t in TASKS)))
