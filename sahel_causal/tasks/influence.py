"""Edge task: leave-one-country-out influence figure and table, and the Sahel scaling comparison."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from sahel_causal.inference.influence import leave_one_country_out, scaling_comparison
from sahel_causal.pipeline import _write_text, write_csv
from sahel_causal.report.figures import save_figure
from sahel_causal.report.influence import make_influence_figure
from sahel_causal.specs import load_spec

SPECS_DIR = Path(__file__).resolve().parents[2] / "analysis" / "specs"
HEADLINE = (("table2_coups", "lpm", None), ("table2_coups", "lpm_total", None),
            ("table4_heterogeneity", "coup_g5", "train_x_g5"), ("table3_violence", "ppml_ucdp", None))


def make(panel: pd.DataFrame, results_dir: Path, progress=lambda m: None) -> list[Path]:
    loo = []
    for table, model, term in HEADLINE:
        progress(f"  leave-one-country-out: {table} {model}")
        loo.append(leave_one_country_out(load_spec(SPECS_DIR / f"{table}.toml"), panel, model, term))
    loo_df = pd.concat(loo, ignore_index=True)
    tables = Path(results_dir) / "tables"
    out = [write_csv(loo_df, tables / "influence_loo.csv")]
    out += save_figure(make_influence_figure(loo_df), Path(results_dir) / "figures", "influence_loo")
    sc = scaling_comparison(load_spec(SPECS_DIR / "table2_coups.toml"), panel)
    out.append(write_csv(sc, tables / "scaling_sahel.csv"))
    lines = ["## Per-capita versus log-total training, Sahel/TSCTP partners (LPM, coup attempts)", "",
             "| model | effect per within-SD | CRV3 95% interval | p (CRV1) | p (CRV3) | N | clusters | rows with zero training |",
             "|---|---|---|---|---|---|---|---|"]
    for r in sc.itertuples(index=False):
        lines.append(f"| {r.label} ({r.term}) | {r.effect_1sd:+.4f} | [{r.ci_crv3_low_1sd:+.4f}, {r.ci_crv3_high_1sd:+.4f}] "
                     f"| {r.p_crv1:.3f} | {r.p_crv3:.3f} | {r.nobs} | {r.n_clusters} | {r.rows_with_zero_treatment} |")
    lines += ["", "Same controls and two-way fixed effects as Table 2; effects per within-country SD of each treatment "
              "in the partner sample. log(1 + total) compresses large programs and stretches the difference between "
              "zero and a little training, so country-years of zero training after coups (suspensions) weigh heavily."]
    out.append(_write_text(tables / "scaling_sahel.md", "\n".join(lines) + "\n"))
    return out
