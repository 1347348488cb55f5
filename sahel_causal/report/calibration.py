"""The calibration appendix table (pure formatting of :func:`sahel_causal.inference.calibration.run_calibration`)."""
from __future__ import annotations

import math

import pandas as pd

from sahel_causal.inference.calibration import SIZE_BAND

METHOD_LABELS = {"crv1": "CRV1 t(G-1)", "crv3": "CRV3 t(G-1)", "wild_rademacher": "Wild bootstrap (Rademacher)",
                 "wild_webb": "Wild bootstrap (Webb)", "ri": "Randomization inference"}

NOTES = (
    "Monte Carlo on the real design: the real outcome, controls, fixed effects, clusters and imbalance; the real "
    "treatment paths reassigned at random across countries observed in the same years (so the null is true). "
    "Size: rejection rate of a 5% test of beta = 0 (Monte Carlo s.e. in parentheses). Coverage: share of 95% "
    "intervals containing the true value 0. Power: rejection rate when the effect equals the smallest effect of "
    "interest (per within-country SD of the treatment; LPM and logits: probability points, PPML: log points). "
    "PPML and logits: CRV1 (the model's Wald test), CRV3 from the tables' leave-one-country-out refits (normal "
    "reference) and, for PPML and the pooled logit, the nonlinear wild score bootstrap (refit studentization); "
    "PPML power draws a Poisson outcome with the real outcome as mean times exp(effect), logits a Bernoulli "
    "outcome at the real base rate plus the effect. Verdict rule: a method whose size lies outside "
    f"[{SIZE_BAND[0]:.0%}, {SIZE_BAND[1]:.0%}] for a design is shown in the tables but flagged and not used for "
    "the verdict (Used for verdict: no).")


def calibration_table(cal: pd.DataFrame) -> pd.DataFrame:
    """Display table: design, method, size (s.e.), coverage, power, replications, flag."""
    rows = []
    for r in cal.itertuples(index=False):
        nonlinear = str(r.design).startswith(("ppml", "clogit", "firth", "logit_cubic"))
        method = METHOD_LABELS.get(r.method, r.method)
        if nonlinear:
            method = {"crv1": "CRV1 (the model's Wald test)", "crv3": "CRV3 (refits, normal)",
                      "wild_rademacher": "Wild score bootstrap (Rademacher)",
                      "wild_webb": "Wild score bootstrap (Webb)"}.get(r.method, method)
        rows.append({
            "Design": r.label, "Method": method,
            "Size": f"{100 * r.size:.1f}% ({100 * r.size_se:.1f})" if not math.isnan(r.size) else "",
            "Coverage": f"{100 * r.coverage:.1f}%" if not math.isnan(r.coverage) else "",
            "Power": f"{100 * r.power:.1f}%" if not math.isnan(r.power) else "",
            "Effect of interest (per SD)": f"{r.smallest_effect_1sd:g}",
            "Replications": int(r.replications),
            "Used for verdict": "yes" if r.in_band else "no",
        })
    return pd.DataFrame(rows)


def to_markdown(cal: pd.DataFrame, title: str = "Table A1. Calibration of the inference methods") -> str:
    t = calibration_table(cal)
    head = "| " + " | ".join(t.columns) + " |\n|" + "---|" * len(t.columns) + "\n"
    body = "".join("| " + " | ".join(str(v) for v in row) + " |\n" for row in t.itertuples(index=False))
    return f"## {title}\n\n" + head + body + "\n" + NOTES + "\n"


def to_latex(cal: pd.DataFrame, title: str = "Table A1. Calibration of the inference methods") -> str:
    """The calibration table with one heading row per design and its methods below (fits a portrait page)."""
    from sahel_causal.report.latex import escape_latex, stacked_header

    t = calibration_table(cal)
    cols = [c for c in t.columns if c != "Design"]
    n = len(cols)
    align = "l" + "r" * (n - 1)
    lines = ["\\begin{table}[htbp]\\centering\\footnotesize", f"\\caption{{{escape_latex(title)}}}",
             "\\setlength{\\tabcolsep}{3pt}",
             "\\begin{tabular}{" + align + "}", "\\hline",
             " & ".join(stacked_header(c) for c in cols) + " \\\\", "\\hline"]
    design = None
    for row in t.itertuples(index=False):
        d = row[t.columns.get_loc("Design")]
        if d != design:
            design = d
            lines.append(f"\\multicolumn{{{n}}}{{l}}{{\\textit{{{escape_latex(d)}}}}} \\\\")
        lines.append(" & ".join(escape_latex(v) for k, v in zip(t.columns, row) if k != "Design") + " \\\\")
    lines += ["\\hline", "\\end{tabular}", f"\\par\\footnotesize {escape_latex(NOTES)}", "\\end{table}"]
    return "\n".join(lines) + "\n"
