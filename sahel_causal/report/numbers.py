"""``results/numbers.tex``: every number the manuscript's text uses, as generated LaTeX macros.

The manuscript never types a result. It writes ``\\R{table2_coups/lpm/train_pc_l1/p_wild_webb}``
and this module defines that key from the published CSV, formatted as the tables format it. A
key is ``<file stem>/<row key ...>/<column>`` where the row key is the table's identifying text
columns (``model``/``term`` for the tables of estimates, ``sample``/``variable`` for Table 1;
for other CSVs the fewest text columns, earliest first, that identify the rows); each numeric column gives one macro, and the columns in
:data:`PERCENT` also a ``<column>_pct`` version (times 100, one decimal: probabilities and
log points read as percentages). A CSV of pre-formatted text cells only (``multiverse_summary.csv``)
gives one text macro per cell, ``<stem>/<row key>/<column>``. Derived numbers (the leave-one-out
extremes of ``influence_loo.csv``, :func:`loo_extremes`) say how they are derived. A reader can find any number of the PDF by its key: the file
is ``results/tables/<file stem>.csv`` (or ``results/figures/``), the row and the column are in the key.

Formatting: p-values with three decimals (``<0.001`` below); counts with thousands separators;
other numbers in fixed notation with at least two significant digits (never e-notation);
negative numbers with a typographic minus. Pure functions; the pipeline writes the file.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping

import pandas as pd

from sahel_causal.report.latex import escape_latex
from sahel_causal.report.results_table import decimals_for, fmt_fixed, fmt_p

PREFIX = "sc@"
PERCENT = ("estimate", "effect_1sd", "margin", "outcome_mean", "mean", "ci_wild_webb_low", "ci_wild_webb_high",
           "low", "high", "effect")
COUNT_NAMES = ("nobs", "n", "count", "n_countries", "n_clusters", "n_events", "n_models", "n_specifications")
KEY_PREFERENCE = (("model", "term"), ("sample", "variable"), ("kind", "k"))
#: Conventions the text refers to (not estimates): the significance level used in the tables.
CONSTANTS = {"meta/alpha": "0.05"}


def _is_count(col: str) -> bool:
    return col in COUNT_NAMES or col.startswith("n_")


def _is_p(col: str) -> bool:
    return col == "p_value" or col.startswith("p_")


def format_number(col: str, x: float) -> str:
    """The text form of one value of column ``col``."""
    if x is None or (isinstance(x, float) and (math.isnan(x) or not math.isfinite(x))):
        return "--"
    if _is_p(col):
        return fmt_p(float(x))
    if _is_count(col) and float(x) == int(x):
        return f"{int(x):,}"
    x = float(x)
    if abs(x) >= 1000:
        return fmt_fixed(x, 0)
    if abs(x) >= 100:
        return fmt_fixed(x, 1)
    return fmt_fixed(x, decimals_for(x, minimum=2, maximum=10))


def _tex_value(text: str) -> str:
    if text == "--":
        return text
    text = text.replace("<", r"\textless{}")
    return "$-$" + text[1:] if text.startswith("-") else text


def _is_text(s: pd.Series) -> bool:
    """A text column, whether pandas read it as ``object`` or (pandas >= 3) as the ``str`` dtype."""
    return not pd.api.types.is_bool_dtype(s) and (s.dtype == object or pd.api.types.is_string_dtype(s))


def key_columns(df: pd.DataFrame) -> tuple[str, ...]:
    """The identifying columns of a results CSV (see the module docstring): a preferred pair if it
    identifies the rows, else the smallest set of text columns (earliest columns first) that does,
    else every text column."""
    from itertools import combinations

    for cols in KEY_PREFERENCE:
        if set(cols) <= set(df.columns) and not df.duplicated(list(cols)).any():
            return cols
    text = tuple(c for c in df.columns if _is_text(df[c]))
    for r in range(1, min(len(text), 4) + 1):
        for cols in combinations(text, r):
            if not df.duplicated(list(cols)).any():
                return cols
    return text


def _safe(part: object) -> str:
    """A key part: lower case letters, digits, ``_``, ``-`` and ``.`` only (other runs become ``_``)."""
    import re

    return re.sub(r"[^a-z0-9_.-]+", "_", str(part).lower()).strip("_")


def numbers_from_csv(stem: str, df: pd.DataFrame) -> dict[str, str]:
    """Key -> formatted value for every numeric cell of one results CSV."""
    keys = key_columns(df)
    out: dict[str, str] = {}
    numeric = [c for c in df.columns if c not in keys and pd.api.types.is_numeric_dtype(df[c])]
    text_values = [c for c in df.columns if c not in keys] if not numeric and keys else []
    for _, row in df.iterrows():
        base = "/".join([stem, *(_safe(row[k]) for k in keys)])
        for col in text_values:  # a table of pre-formatted text cells (e.g. multiverse_summary.csv)
            if pd.notna(row[col]) and str(row[col]).strip():
                out[f"{base}/{_safe(col)}"] = escape_latex(row[col])
        for col in numeric:
            v = row[col]
            out[f"{base}/{col}"] = format_number(col, v)
            if col in PERCENT and pd.notna(v):
                pct = 100 * float(v)
                out[f"{base}/{col}_pct"] = fmt_fixed(pct, 2 if abs(pct) < 10 else 1)
    return out


def loo_extremes(stem: str, df: pd.DataFrame, value: str = "effect_1sd_without",
                 group: str = "model", unit: str = "country_left_out") -> dict[str, str]:
    """Derived numbers of a leave-one-out table (``influence_loo.csv``): for each ``group``, the
    smallest and largest ``value`` over the left-out units and the unit that gives each, as
    ``<stem>/<group>/min/<value>``, ``<stem>/<group>/min/unit`` (and ``max``)."""
    if not {value, group, unit} <= set(df.columns):
        return {}
    out: dict[str, str] = {}
    for g, d in df.groupby(group, sort=True):
        d = d.dropna(subset=[value])
        if d.empty:
            continue
        for which, idx in (("min", d[value].idxmin()), ("max", d[value].idxmax())):
            v = float(d.loc[idx, value])
            out[f"{stem}/{_safe(g)}/{which}/{value}"] = format_number(value, v)
            if value in PERCENT or value.startswith("effect"):
                pct = 100 * v
                out[f"{stem}/{_safe(g)}/{which}/{value}_pct"] = fmt_fixed(pct, 2 if abs(pct) < 10 else 1)
            out[f"{stem}/{_safe(g)}/{which}/unit"] = escape_latex(d.loc[idx, unit])
    return out


def verdict(p_wild: float, p_ri: float, alpha: float = 0.05) -> str:
    """The results summary's rule in words: detectable only if the wild bootstrap p-value and, where
    computed, the randomization-inference p-value are both below ``alpha``."""
    if p_wild is None or (isinstance(p_wild, float) and math.isnan(p_wild)):
        return "--"
    ok = p_wild < alpha and (p_ri is None or (isinstance(p_ri, float) and math.isnan(p_ri)) or p_ri < alpha)
    return "a detectable association" if ok else "no detectable association"


def verdicts_from_csv(stem: str, df: pd.DataFrame, alpha: float = 0.05) -> dict[str, str]:
    """``<stem>/<model>/<term>/verdict`` for every row of a table of estimates with a wild bootstrap."""
    if not {"model", "term", "p_wild_webb"} <= set(df.columns):
        return {}
    out = {}
    for _, r in df.iterrows():
        p_ri = float(r["p_ri"]) if "p_ri" in df.columns and pd.notna(r["p_ri"]) else math.nan
        p_w = float(r["p_wild_webb"]) if pd.notna(r["p_wild_webb"]) else math.nan
        out[f"{stem}/{_safe(r['model'])}/{_safe(r['term'])}/verdict"] = verdict(p_w, p_ri, alpha)
    return out


def panel_numbers(panel: pd.DataFrame) -> dict[str, str]:
    """Facts about the panel the text cites: country-years, states, first and last year."""
    return {"panel/n_rows": f"{len(panel):,}", "panel/n_states": str(panel["iso3"].nunique()),
            "panel/first_year": str(int(panel["year"].min())), "panel/last_year": str(int(panel["year"].max()))}


def numbers_tex(tables: Mapping[str, pd.DataFrame], constants: Mapping[str, str] = CONSTANTS,
                extra: Mapping[str, str] | None = None) -> str:
    """The content of ``results/numbers.tex`` for the given CSVs (stem -> frame), sorted by key;
    ``extra`` adds ready-made key -> text pairs (e.g. :func:`panel_numbers`)."""
    values: dict[str, str] = dict(constants)
    values.update(extra or {})
    for stem, df in sorted(tables.items()):
        values.update(verdicts_from_csv(stem, df))
    for stem, df in sorted(tables.items()):
        values.update(numbers_from_csv(stem, df))
    if "influence_loo" in tables:
        values.update(loo_extremes("influence_loo", tables["influence_loo"]))
    lines = ["% Generated by sahel_causal/report/numbers.py from the results CSVs: do not edit.",
             "% Use in the text as \\R{<key>}; keys are <csv stem>/<row key>/<column>.",
             f"% {len(values)} numbers."]
    for k in sorted(values):
        lines.append(rf"\expandafter\def\csname {PREFIX}{k}\endcsname{{{_tex_value(values[k])}}}")
    return "\n".join(lines) + "\n"


def defined_keys(tex: str) -> set[str]:
    """Keys defined in a numbers.tex text (for tests and the manuscript check)."""
    out = set()
    marker = r"\csname " + PREFIX
    for line in tex.splitlines():
        if marker in line:
            out.add(line.split(marker, 1)[1].split(r"\endcsname", 1)[0])
    return out
