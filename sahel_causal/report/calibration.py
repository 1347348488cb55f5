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
    "PPML and logits: the nonlinear wild score bootstrap (refit studentization) and CRV1; PPML power draws a "
    "Poisson outcome with the real outcome as mean times exp(effect), logits a Bernoulli outcome at the real "
    f"base rate plus the effect. Verdict rule: a method whose size lies outside [{SIZE_BAND[0]:.0%}, "
    f"{SIZE_BAND[1]:.0%}] for a design is shown in the tables but flagged and not used for the verdict.")


def calibration_table(cal: pd.DataFrame) -> pd.DataFrame:
    """Display table: design, method, size (s.e.), coverage, power, replications, flag."""
    rows = []
    for r in cal.itertuples(index=False):
        nonlinear = str(r.design).startswith(("ppml", "clogit", "firth"))
        method = METHOD_LABELS.get(r.method, r.method)
        if nonlinear:
            method = {"crv1": "CRV1 (the model's Wald test)", "wild_rademacher": "Wild score bootstrap (Rademacher)",
                      "wild_webb": "Wild score bootstrap (Webb)"}.get(r.method, method)
        rows.append({
            "Design": r.label, "Method": method,
            "Size": f"{100 * r.size:.1f}% ({100 * r.size_se:.1f})" if not math.isnan(r.size) else "",
            "Coverage": f"{100 * r.coverage:.1f}%" if not math.isnan(r.coverage) else "",
            "Power": f"{100 * r.power:.1f}%" if not math.isnan(r.power) else "",
            "Effect of interest (per SD)": f"{r.smallest_effect_1sd:g}",
            "Replications": int(r.replications),
            "Used for verdict": "yes" if r.in_band else "no (size outside band)",
        })
    return pd.DataFrame(rows)


def to_markdown(cal: pd.DataFrame, title: str = "Table A1. Calibration of the inference methods") -> str:
    t = calibration_table(cal)
    head = "| " + " | ".join(t.columns) + " |\n|" + "---|" * len(t.columns) + "\n"
    body = "".join("| " + " | ".join(str(v) for v in row) + " |\n" for row in t.itertuples(index=False))
    return f"## {title}\n\n" + head + body + "\n" + NOTES + "\n"


def to_latex(cal: pd.DataFrame, title: str = "Calibration of the inference methods") -> str:
    t = calibration_table(cal)

    def esc(s: object) -> str:
        return str(s).replace("%", "\\%").replace("&", "\\&").replace("_", "\\_")

    from sahel_causal.report.latex import stacked_header

    # design, method and verdict columns wrap (p{}), headers are stacked: the table fits a portrait page
    align = "p{2.8cm}p{2.6cm}" + "r" * (len(t.columns) - 3) + "p{2.0cm}"
    lines = ["\\begin{table}[htbp]\\centering\\footnotesize", f"\\caption{{{esc(title)}}}",
             "\\setlength{\\tabcolsep}{4pt}",
             "\\begin{tabular}{" + align + "}", "\\hline",
             " & ".join(stacked_header(c) for c in t.columns) + " \\\\", "\\hline"]
    lines += [" & ".join(esc(v) for v in row) + " \\\\" for row in t.itertuples(index=False)]
    lines += ["\\hline", "\\end{tabular}", f"\\par\\footnotesize {esc(NOTES)}", "\\end{table}"]
    return "\n".join(lines) + "\n"
