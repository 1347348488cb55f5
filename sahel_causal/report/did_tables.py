"""Table 5 formatting: DiD estimates side by side (pure functions: results -> frames and text).

No estimation and no file I/O. Cells show ``estimate`` with the analytic standard error in
parentheses, significance stars from the randomization-inference p-value where one exists
(the verdict method with few treated clusters), and inference rows below.
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import pandas as pd


def _fmt(x: float, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "--"
    return f"{x:.{digits}f}"


def _stars(p: float) -> str:
    if p is None or not math.isfinite(p):
        return ""
    return "***" if p < 0.01 else "**" if p < 0.05 else "*" if p < 0.1 else ""


def long_frame(results: Sequence[Any], labels: Mapping[str, str], columns: Mapping[str, str]) -> pd.DataFrame:
    """One row per (outcome, column, term, method): the CSV of Table 5 (all terms)."""
    frames = []
    for r in results:
        t = r.tidy().drop(columns=["model"])
        t["column"] = r.model_id.split("::")[1]
        t["n_treated_units"] = r.diagnostics.get("n_treated_units")
        t["n_control_units"] = r.diagnostics.get("n_control_units")
        t["n_obs"] = r.estimates.n_obs
        frames.append(t)
    out = pd.concat(frames, ignore_index=True)
    cols = ["outcome", "column", "estimator", "term", "method", "estimate", "std_error", "p_value", "ci_low", "ci_high",
            "n_treated_units", "n_control_units", "n_obs"]
    return out[cols]


def summary_grid(results: Sequence[Any], outcomes: Sequence[str], outcome_labels: Sequence[str],
                 columns: Sequence[tuple[str, str]], few_treated_threshold: int = 20) -> pd.DataFrame:
    """The printed table: rows = estimator x {estimate (SE), p analytic, p bootstrap, p RI}, plus
    N rows; columns = outcomes."""
    by = {(r.outcome, r.model_id.split("::")[1]): r for r in results}
    rows: list[dict[str, str]] = []
    for key, label in columns:
        lines = {"est": {"": label}, "pa": {"": "  p analytic"}, "pb": {"": "  p bootstrap"}, "pr": {"": "  p RI"}}
        for o, ol in zip(outcomes, outcome_labels):
            r = by.get((o, key))
            if r is None:
                for v in lines.values():
                    v[ol] = "--"
                continue
            t = r.tidy()
            att = t[(t.term == "ATT")]
            a = att[att.method.isin(["crv1", "analytic", "gmm_cluster", "cluster_bootstrap"])].iloc[0]
            boot = att[att.method.isin(["bootstrap", "cluster_bootstrap"])]
            ri = att[att.method == "ri"]
            p_ri = float(ri.p_value.iloc[0]) if len(ri) else math.nan
            lines["est"][ol] = f"{_fmt(a.estimate)}{_stars(p_ri)} ({_fmt(a.std_error)})"
            lines["pa"][ol] = _fmt(a.p_value) if a.method != "cluster_bootstrap" else "--"
            lines["pb"][ol] = _fmt(float(boot.p_value.iloc[0])) if len(boot) else "--"
            lines["pr"][ol] = _fmt(p_ri)
        rows += [lines["est"], lines["pa"], lines["pb"], lines["pr"]]
    # sample rows from the CS column (same sample for all but CS-reg + X)
    ref = {o: next((r for r in results if r.outcome == o and r.model_id.endswith("::cs")), None) for o in outcomes}
    for name, fn in [
        ("Treated countries", lambda r: str(r.diagnostics["n_treated_units"])),
        ("Control countries", lambda r: str(r.diagnostics["n_control_units"])),
        ("Country-years", lambda r: str(r.estimates.n_obs)),
        ("Few treated clusters", lambda r: "yes" if r.diagnostics["n_treated_units"] < few_treated_threshold else "no"),
        ("Pre-trend test p (CS, e = -6..-1)", lambda r: _fmt(r.diagnostics.get("pretrend_wald", {}).get("p_value", math.nan))),
    ]:
        row = {"": name}
        for o, ol in zip(outcomes, outcome_labels):
            row[ol] = fn(ref[o]) if ref[o] is not None else "--"
        rows.append(row)
    return pd.DataFrame(rows, columns=[""] + list(outcome_labels))


def to_markdown(df: pd.DataFrame, title: str, notes: Sequence[str]) -> str:
    cols = list(df.columns)
    lines = [f"**{title}**", "", "| " + " | ".join(cols) + " |", "|" + "|".join(["---"] + ["---:"] * (len(cols) - 1)) + "|"]
    for _, r in df.iterrows():
        lines.append("| " + " | ".join(str(r[c]) for c in cols) + " |")
    lines.append("")
    lines += [f"Note: {n}" for n in notes]
    return "\n".join(lines) + "\n"


def _tex_escape(s: str) -> str:
    return (str(s).replace("\\", "\\textbackslash{}").replace("&", "\\&").replace("%", "\\%").replace("_", "\\_")
            .replace("#", "\\#").replace("$", "\\$"))


def to_latex(df: pd.DataFrame, title: str, notes: Sequence[str]) -> str:
    from sahel_causal.report.latex import stacked_header

    cols = list(df.columns)
    # headers stacked over lines (makecell) so that long outcome names do not widen the number columns,
    # row labels wrap in a fixed-width first column: the tables fit a portrait page at footnotesize
    out = ["\\begin{table}[!htbp]\\centering\\footnotesize", f"\\caption{{{_tex_escape(title)}}}",
           "\\setlength{\\tabcolsep}{4pt}",
           "\\begin{tabular}{>{\\raggedright\\arraybackslash}p{3.2cm}" + "r" * (len(cols) - 1) + "}", "\\hline",
           " & ".join([_tex_escape(cols[0])] + [stacked_header(c, 10) for c in cols[1:]]) + " \\\\", "\\hline"]
    for _, r in df.iterrows():
        out.append(" & ".join(_tex_escape(r[c]) for c in cols) + " \\\\")
    out += ["\\hline", "\\end{tabular}\\par\\smallskip", "\\begin{minipage}{0.95\\linewidth}\\scriptsize"]
    out += [_tex_escape(n) + "\\par" for n in notes]
    out += ["\\end{minipage}", "\\end{table}"]
    return "\n".join(out) + "\n"


def diagnostics_frame(results: Sequence[Any], outcome_labels: Mapping[str, str]) -> pd.DataFrame:
    """TWFE diagnostics per outcome: Goodman-Bacon weights by comparison type and dCDH weights."""
    rows = []
    for r in results:
        if r.estimator != "twfe":
            continue
        d = r.diagnostics
        row: dict[str, Any] = {"outcome": outcome_labels.get(r.outcome, r.outcome), "twfe": r.estimates.estimate[0]}
        b = {x["type"]: x for x in d["bacon"]["by_type"]}
        row["bacon_units_balanced"] = d["bacon"]["n_units_balanced"]
        row["twfe_balanced"] = d["bacon"]["twfe_balanced"]
        for k in ("treated_vs_never", "earlier_vs_later", "later_vs_earlier"):
            row[f"w_{k}"] = b.get(k, {}).get("weight", 0.0)
            row[f"b_{k}"] = b.get(k, {}).get("estimate", math.nan)
        w = d["dcdh_weights"]
        row.update({"dcdh_cells": w["n_treated_cells"], "dcdh_negative": w["n_negative"],
                    "dcdh_sum_negative": w["sum_negative"], "sigma_fe": w["sigma_fe"]})
        rows.append(row)
    return pd.DataFrame(rows)


def diagnostics_display(df: pd.DataFrame) -> pd.DataFrame:
    out = pd.DataFrame({
        "Outcome": df["outcome"],
        "TWFE": df["twfe"].map(_fmt),
        "TWFE (balanced)": df["twfe_balanced"].map(_fmt),
        "Units (balanced)": df["bacon_units_balanced"].astype(str),
        "w: vs never": df["w_treated_vs_never"].map(_fmt),
        "DD: vs never": df["b_treated_vs_never"].map(_fmt),
        "w: earlier vs later": df["w_earlier_vs_later"].map(_fmt),
        "w: later vs earlier": df["w_later_vs_earlier"].map(_fmt),
        "DD: later vs earlier": df["b_later_vs_earlier"].map(_fmt),
        "dCDH neg. weights": df["dcdh_negative"].astype(str) + "/" + df["dcdh_cells"].astype(str),
        "Sum neg.": df["dcdh_sum_negative"].map(_fmt),
        "sigma_fe": df["sigma_fe"].map(_fmt),
    })
    return out


def event_grid(results: Sequence[Any], outcome_labels: Sequence[str], wing: Sequence[Any] = ()) -> pd.DataFrame:
    """Stacked event-study table: rows = relative years (estimate, SE), the mean post effect with
    Wing et al. weights if given, and sample rows; columns = outcomes."""
    terms = [t for t in results[0].estimates.terms if t != "ATT"] + ["ATT"]
    rows = []
    for term in terms:
        row = {"": "Mean k = 0..post" if term == "ATT" else f"k = {term[2:]}"}
        for r, ol in zip(results, outcome_labels):
            t = r.tidy().set_index("term")
            if term in t.index:
                x = t.loc[term]
                row[ol] = f"{_fmt(x.estimate)}{_stars(x.p_value)} ({_fmt(x.std_error)})"
            else:
                row[ol] = "--"
        rows.append(row)
    if wing:
        row = {"": "Mean k = 0..post, Wing weights"}
        for r, ol in zip(wing, outcome_labels):
            x = r.tidy().set_index("term").loc["ATT"]
            row[ol] = f"{_fmt(x.estimate)}{_stars(x.p_value)} ({_fmt(x.std_error)})"
        rows.append(row)
    for name, fn in [
        ("Coups (events used)", lambda r: str(r.diagnostics["n_events_used"])),
        ("Coup countries", lambda r: str(r.diagnostics["n_treated_units"])),
        ("Countries (all)", lambda r: str(r.estimates.n_units)),
        ("Stacked observations", lambda r: str(r.estimates.n_obs)),
        ("Pre-trend test p", lambda r: _fmt(r.diagnostics["pretrend_wald"]["p_value"])),
    ]:
        rows.append({"": name, **{ol: fn(r) for r, ol in zip(results, outcome_labels)}})
    return pd.DataFrame(rows, columns=[""] + list(outcome_labels))


def actor_grid(results: Sequence[Any], actors: Sequence[str], actor_labels: Sequence[str], outcomes: Sequence[str],
               outcome_labels: Sequence[str]) -> pd.DataFrame:
    """External actors: rows = actor x {ATT (SE), p RI, pre-trend p, treated countries}; columns = outcomes."""
    by = {(r.model_id.split("::")[1], r.outcome): r for r in results}
    rows = []
    for act, al in zip(actors, actor_labels):
        lines = [{"": al}, {"": "  p RI"}, {"": "  pre-trend p"}, {"": "  treated countries"}]
        for o, ol in zip(outcomes, outcome_labels):
            r = by.get((act, o))
            if r is None:
                for ln in lines:
                    ln[ol] = "--"
                continue
            t = r.tidy()
            a = t[(t.term == "ATT") & (t.method == "analytic")].iloc[0]
            ri = t[(t.term == "ATT") & (t.method == "ri")]
            p_ri = float(ri.p_value.iloc[0]) if len(ri) else math.nan
            lines[0][ol] = f"{_fmt(a.estimate)}{_stars(p_ri)} ({_fmt(a.std_error)})"
            lines[1][ol] = _fmt(p_ri)
            lines[2][ol] = _fmt(r.diagnostics.get("pretrend_wald", {}).get("p_value", math.nan))
            lines[3][ol] = str(r.diagnostics["n_treated_units"])
        rows += lines
    return pd.DataFrame(rows, columns=[""] + list(outcome_labels))


def dose_display(df: pd.DataFrame) -> pd.DataFrame:
    """Table 5D: one row per outcome with the WAS, its bootstrap SE, 95% CI and the sample counts."""
    return pd.DataFrame({
        "Outcome": df["label"],
        "WAS per $1m": df["estimate"].map(_fmt),
        "SE": df["std_error"].map(_fmt),
        "95% CI": [f"[{_fmt(a)}, {_fmt(b)}]" for a, b in zip(df["ci_low"], df["ci_high"])],
        "p": df["p_value"].map(_fmt),
        "Switchers": df["n_switchers"].astype(str),
        "Stayers": df["n_stayers"].astype(str),
        "Switchers w/o stayers": df["n_switchers_without_stayers"].astype(str),
        "Countries switching": df["n_switching_countries"].astype(str),
    })
