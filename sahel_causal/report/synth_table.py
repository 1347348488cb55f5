"""Table 6 (exits and political violence) from synthetic-control results: pure formatting.

``table6_raw`` gives one row per model and estimator with every number (the CSV); ``table6`` the
formatted :class:`~sahel_causal.report.tables.Table` with one row per model: SDID, SC and DiD side by
side with their RMSPE-rank p-values, the SDID placebo SE, pre-fit RMSPE, donor count, cumulative SDID
effects and the in-time placebo, in four sections (monthly events, yearly fatalities, robustness,
competing events).
"""
from __future__ import annotations

import math
from typing import Sequence

import pandas as pd

from sahel_causal.designs.synthetic_control import SyntheticControlResult
from sahel_causal.report.tables import Table

SECTIONS = (
    ("main", "month", "A. Exits: ACLED political-violence events, country-month"),
    ("main", "year", "B. Exits: ACLED fatalities, country-year"),
    ("robustness", None, "C. Robustness (monthly events unless stated)"),
    ("competing", None, "D. Competing events: measured from the coup or the Russian arrival (monthly events)"),
)
OUTCOME_LABELS = {"acled_pv_events": "events", "acled_fatalities": "fatalities",
                  "acled_civilian_fatalities": "civilian fatalities"}


def _f(x: float, digits: int = 2) -> str:
    return "" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def outcome_label(r: SyntheticControlResult) -> str:
    name = OUTCOME_LABELS.get(r.outcome, r.outcome)
    scale = {"log1p": "log", "level": "count", "per_100k": "per 100k"}.get(r.transform, r.transform)
    return f"{name} ({scale}, {'month' if r.frequency == 'month' else 'year'})"


def table6_raw(results: Sequence[SyntheticControlResult]) -> pd.DataFrame:
    """Every number, one row per model and estimator (the CSV version of Table 6)."""
    frames = []
    for r in results:
        t = r.tidy()
        t.insert(1, "label", r.label)
        t.insert(2, "role", r.role)
        t.insert(3, "outcome", r.outcome)
        t.insert(4, "frequency", r.frequency)
        t.insert(5, "transform", r.transform)
        t.insert(6, "treated", ";".join(r.treated))
        t.insert(7, "event", r.event)
        t.insert(8, "first_post", r.first_post)
        t.insert(9, "last_period", r.periods[-1])
        frames.append(t)
    return pd.concat(frames, ignore_index=True)


def _cell(r: SyntheticControlResult, est: str) -> tuple[str, str]:
    try:
        f = r.fit(est)
    except KeyError:
        return "", ""
    return _f(f.estimate), _f(f.p_rmspe)


def table6(results: Sequence[SyntheticControlResult], title: str, notes: Sequence[str],
           provenance: dict[str, str] | None = None) -> Table:
    """The formatted Table 6 (see the module docstring)."""
    rows = []
    for role, freq, heading in SECTIONS:
        sel = [r for r in results if r.role == role and (freq is None or r.frequency == freq)]
        if not sel:
            continue
        rows.append({"Exit / event": f"--- {heading}"})
        for r in sel:
            sd = r.fit("synthdid") if "synthdid" in [f.estimator for f in r.fits] else None
            row = {"Exit / event": r.label, "Outcome": outcome_label(r), "From": r.first_post,
                   "Donors": str(len(r.donors)), "Pre/post": f"{r.T0}/{len(r.periods) - r.T0}"}
            for est, name in (("synthdid", "SDID"), ("sc", "SC"), ("did", "DiD")):
                e, p = _cell(r, est)
                row[name] = e
                row[f"p {name}"] = p
                if est == "sc":
                    row["p conf. SC"] = _f(r.fit("sc").p_conformal) if e else ""
                    row["ASCM"] = _f(r.fit("sc").ascm) if e else ""
            row["SE SDID"] = _f(sd.se_placebo) if sd else ""
            row["RMSPE pre"] = _f(sd.rmspe_pre) if sd else ""
            row["Cum. 6/12/24"] = "/".join(_f(c, 1) for c in sd.cumulative) if sd and r.frequency == "month" else ""
            row["In-time"] = _f(sd.placebo_in_time) if sd else ""
            rows.append(row)
    body = pd.DataFrame(rows).fillna("")
    # section rows: label in the first column, the rest empty
    return Table(name="table6_withdrawals", title=title, body=body, notes=tuple(notes),
                 provenance=provenance or {}, raw=table6_raw(results))


def _is_section(cell: object) -> bool:
    return str(cell).startswith("--- ")


def table6_markdown(table: Table) -> str:
    """Markdown with section headings as bold rows."""
    cols = list(table.body.columns)
    lines = [f"**{table.title}**", "", "| " + " | ".join(cols) + " |",
             "|" + "|".join([":---"] * 3 + ["---:"] * (len(cols) - 3)) + "|"]
    for row in table.body.itertuples(index=False):
        if _is_section(row[0]):
            lines.append("| **" + str(row[0])[4:] + "** |" + " |" * (len(cols) - 1))
        else:
            lines.append("| " + " | ".join(str(v) for v in row) + " |")
    lines.append("")
    lines.extend(f"Note {i + 1}. {n}" for i, n in enumerate(table.notes))
    if table.provenance:
        lines.extend(["", "Provenance: " + "; ".join(f"{k} `{v}`" for k, v in table.provenance.items())])
    return "\n".join(lines) + "\n"


def table6_latex(table: Table) -> str:
    """A booktabs ``longtable`` with section headings, set at ``\\scriptsize`` for a landscape
    letter/A4 page; it breaks across pages (the header repeats), so it needs the packages
    ``longtable``, ``booktabs``, ``array`` and ``makecell``."""
    from sahel_causal.report.latex import stacked_header
    from sahel_causal.report.tables import tex_escape

    cols = list(table.body.columns)
    n = len(cols)
    rag = r">{\raggedright\arraybackslash}"
    align = f"{rag}p{{3.8cm}}{rag}p{{1.7cm}}l" + "r" * (n - 3)
    header = " & ".join([tex_escape(c) for c in cols[:2]] + [stacked_header(c, 7) for c in cols[2:]]) + r" \\"
    short = tex_escape(table.title.split(".")[0] + " (continued)")
    out = [r"\begingroup", r"\scriptsize", r"\setlength{\tabcolsep}{2pt}", r"\setlength{\LTcapwidth}{\linewidth}",
           rf"\begin{{longtable}}{{{align}}}",
           rf"\caption{{{tex_escape(table.title)}}}\label{{tab:{table.name}}} \\", r"\toprule", header, r"\midrule",
           r"\endfirsthead", rf"\multicolumn{{{n}}}{{l}}{{\textit{{{short}}}}} \\", r"\toprule", header, r"\midrule",
           r"\endhead", r"\midrule", rf"\multicolumn{{{n}}}{{r}}{{\textit{{continued on the next page}}}} \\",
           r"\endfoot", r"\bottomrule", r"\endlastfoot"]
    for row in table.body.itertuples(index=False):
        if _is_section(row[0]):
            out.append(r"\midrule")
            out.append(rf"\multicolumn{{{n}}}{{l}}{{\textit{{{tex_escape(str(row[0])[4:])}}}}} \\")
        else:
            out.append(" & ".join(tex_escape(v) for v in row) + r" \\")
    out += [r"\end{longtable}", r"\par\footnotesize"]
    out.extend(tex_escape(n_) + r"\par" for n_ in table.notes)
    if table.provenance:
        out.append(tex_escape("Provenance: " + "; ".join(f"{k} {v}" for k, v in table.provenance.items())) + r"\par")
    out += [r"\endgroup"]
    return "\n".join(out) + "\n"
