"""Summary table of the multiverses: shares, joint test, variance decomposition, influence, Romano-Wolf.

One row per statistic, one column per multiverse; pure formatting (no estimation, no I/O).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from sahel_causal.multiverse.analysis import MultiverseSummary
from sahel_causal.report.tables import tex_escape


def _pct(x: float) -> str:
    return "" if not np.isfinite(x) else f"{100 * x:.1f}%"


def _num(x: float, digits: int = 4) -> str:
    return "" if not np.isfinite(x) else f"{x:.{digits}g}"


def _p(x: float) -> str:
    return "" if not np.isfinite(x) else ("<0.001" if x < 0.001 else f"{x:.3f}")


def summary_rows(s: MultiverseSummary) -> list[tuple[str, str]]:
    """(statistic, formatted value) pairs for one multiverse."""
    sh = s.shares
    jp = s.joint.set_index("statistic")
    v = s.variance
    infl = s.influence
    head = infl[infl["left_out"] == "none"].iloc[0]
    rows = [
        ("Specifications (after exclusions)", f"{int(sh['specifications']):,}"),
        ("Estimated (full rank, >= 2 clusters)", f"{int(sh['estimated']):,}"),
        ("Share with positive estimate", _pct(sh["share_positive"])),
        ("Share significant positive (5%, CRV1)", _pct(sh["share_significant_positive"])),
        ("Share significant negative (5%, CRV1)", _pct(sh["share_significant_negative"])),
        ("Median standardized estimate", _num(sh["median_std_estimate"], 3)),
        ("Joint test p: share significant in dominant direction", _p(jp.loc["share_significant_dominant", "p_value"])),
        ("Joint test p: |median standardized estimate|", _p(jp.loc["abs_median_std_estimate", "p_value"])),
        ("Joint test p: |mean t|", _p(jp.loc["abs_mean_t", "p_value"])),
        ("Joint test draws (seed)", f"{int(jp['draws'].iloc[0])} ({int(jp['seed'].iloc[0])})"),
    ]
    for i in range(min(3, len(v))):
        r = v.iloc[i]
        rows.append((f"Dimension moving the estimate most, #{i + 1} (eta^2; unique share)",
                     f"{r['dimension']} ({r['eta_squared']:.2f}; {r['unique_share']:.2f})"))
    rows.append(("Headline estimate (CRV1 SE)", f"{_num(head['estimate'])} ({_num(head['std_error'])})"))
    for kind, name in (("country", "Leave one country out: range"), ("year", "Leave one year out: range")):
        d = infl[(infl["left_out"] == kind) & (infl["status"] == "ok")]
        if len(d):
            lo, hi = d.loc[d["estimate"].idxmin()], d.loc[d["estimate"].idxmax()]
            rows.append((name, f"{_num(lo['estimate'])} (without {lo['unit']}) to {_num(hi['estimate'])} "
                               f"(without {hi['unit']})"))
    for r in s.romano_wolf.itertuples(index=False):
        rows.append((f"Romano-Wolf p, headline: {r.outcome}",
                     f"{_p(r.p_value_romano_wolf)} (WCR {_p(r.p_value_wcr)}; CRV1 {_p(r.p_value_crv1)})"))
    return rows


def summary_table(summaries: list[MultiverseSummary]) -> pd.DataFrame:
    """Statistics as rows, multiverses as columns (blank where a statistic does not apply)."""
    cols: dict[str, dict[str, str]] = {}
    order: list[str] = []
    for s in summaries:
        cols[s.label] = {}
        for k, val in summary_rows(s):
            cols[s.label][k] = val
            if k not in order:
                order.append(k)
    return pd.DataFrame({"statistic": order, **{lab: [c.get(k, "") for k in order] for lab, c in cols.items()}})


def to_markdown(df: pd.DataFrame, title: str, notes: list[str]) -> str:
    head = "| " + " | ".join(df.columns) + " |\n|" + "|".join(["---"] * len(df.columns)) + "|\n"
    body = "".join("| " + " | ".join(str(v) for v in r) + " |\n" for r in df.itertuples(index=False))
    return f"# {title}\n\n" + head + body + "\n" + "".join(f"- {n}\n" for n in notes)


def to_latex(df: pd.DataFrame, title: str, notes: list[str]) -> str:
    # wrapping columns: the statistic labels and the leave-one-out ranges are long sentences
    rag = r">{\raggedright\arraybackslash}"  # package array
    cols = rag + "p{5.6cm}" + (rag + "p{4.4cm}") * (len(df.columns) - 1)
    lines = [r"\begin{table}[htbp]", r"\centering", r"\small", rf"\caption{{{tex_escape(title)}}}",
             rf"\begin{{tabular}}{{{cols}}}", r"\hline",
             " & ".join(tex_escape(c) for c in df.columns) + r" \\", r"\hline"]
    lines += [" & ".join(tex_escape(v) for v in r) + r" \\" for r in df.itertuples(index=False)]
    lines += [r"\hline", r"\end{tabular}"]
    if notes:
        lines.append(r"\par\footnotesize " + " ".join(tex_escape(n) for n in notes))
    lines.append(r"\end{table}")
    return "\n".join(lines) + "\n"
