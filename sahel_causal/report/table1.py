"""Table 1: descriptive statistics of the full panel and of the main estimation sample.

Panel A describes every African state-year of the panel with data on the variable; Panel B the
estimation sample of the main coup model (Table 2, column 1: the country-years that enter the
regression). Each row gives the mean, the standard deviation, the median (violence, training
and aid are heavily skewed counts and amounts: most state-years are zero, a few are very large,
so the median tells more than the mean), the maximum, the number of country-years with data
and of countries. Pure functions; the estimation sample is computed from a specification
object, not read from disk.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sahel_causal.data.money import BASE_YEAR

# (column, label, divisor) - divisors put dollars and population in millions.
ROWS: list[tuple[str, str, float]] = [
    ("coup_attempts", "Coup attempts", 1),
    ("coup_successes", "Successful coups", 1),
    ("us_training_cost_usd", f"U.S. military training (US$ m, {BASE_YEAR})", 1e6),
    ("us_trainees", "U.S.-trained personnel", 1),
    ("us_aid_total_usd", f"U.S. aid obligations (US$ m, {BASE_YEAR})", 1e6),
    ("us_military_aid_usd", f"U.S. military aid (US$ m, {BASE_YEAR})", 1e6),
    ("ucdp_state_based_best", "UCDP state-based deaths", 1),
    ("ucdp_nonstate_best", "UCDP non-state deaths", 1),
    ("ucdp_onesided_best", "UCDP one-sided deaths", 1),
    ("acled_fatalities", "ACLED fatalities", 1),
    ("acled_civilian_fatalities", "ACLED civilian fatalities", 1),
    ("gtd_fatalities", "GTD terrorism fatalities", 1),
    ("population", "Population (m)", 1e6),
    ("gdp_pc", "GDP per capita (2015 US$)", 1),
    ("polyarchy", "Electoral democracy (0-1)", 1),
    ("milex_usd", "Military expenditure (US$ m, 2022)", 1e6),
]
FULL = "Panel A: full panel"
SAMPLE = "Panel B: estimation sample"
STATS = ("mean", "sd", "median", "max", "n", "n_countries")
HEAD = {"mean": "Mean", "sd": "SD", "median": "Median", "max": "Max", "n": "N", "n_countries": "Countries"}


def estimation_sample(panel: pd.DataFrame, spec, model: int = 0) -> pd.DataFrame:
    """The country-years (``iso3``, ``year``) that enter model ``model`` of ``spec`` (a parsed
    table specification): derived variables, sample restrictions, rows with missing values dropped."""
    from sahel_causal.specs.transform import derive_all, select_sample

    m = spec.models[model]
    frame = select_sample(derive_all(panel, spec), m, spec, spec.inference.cluster).data
    return frame[["iso3", "year"]].reset_index(drop=True)


def _stats(values: pd.Series, iso3: pd.Series) -> dict[str, float]:
    v = values.dropna()
    return {"mean": v.mean(), "sd": v.std(ddof=1), "median": v.median(), "max": v.max(),
            "n": float(len(v)), "n_countries": float(iso3[v.index].nunique())}


def summary_statistics(panel: pd.DataFrame, sample: pd.DataFrame | None = None) -> pd.DataFrame:
    """Long frame: sample, variable, label, mean, sd, median, max, n (country-years with data),
    n_countries; ``sample`` (iso3, year keys) adds the estimation-sample rows."""
    parts = [(FULL, panel)]
    if sample is not None:
        keys = sample[["iso3", "year"]].drop_duplicates()
        parts.append((SAMPLE, panel.merge(keys, on=["iso3", "year"], how="inner")))
    recs = []
    for name, df in parts:
        df = df.reset_index(drop=True)
        for col, label, div in ROWS:
            if col not in df.columns:
                continue
            recs.append({"sample": name, "variable": col, "label": label,
                         **_stats(df[col] / div, df["iso3"])})
    return pd.DataFrame(recs)


def _fmt(x: float) -> str:
    """Fixed notation: thousands separators, decimals by magnitude; never e-notation."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "--"
    a = abs(x)
    if a >= 1000:
        return f"{x:,.0f}"
    if a >= 10:
        return f"{x:,.1f}"
    if a >= 1 or a == 0:
        return f"{x:.2f}"
    return f"{x:.3f}"


def _fmt_row(r: pd.Series) -> list[str]:
    return [_fmt(r["mean"]), _fmt(r["sd"]), _fmt(r["median"]), _fmt(r["max"]),
            f"{int(r['n']):,}", f"{int(r['n_countries'])}"]


@dataclass(frozen=True)
class Table1:
    """Table 1 in LaTeX (great_tables body), Markdown and the long CSV."""

    name: str
    title: str
    stats: pd.DataFrame
    group_titles: dict[str, str]
    notes: tuple[str, ...] = ()
    provenance: dict[str, str] = field(default_factory=dict)

    def _frame(self) -> pd.DataFrame:
        rows = []
        for _, r in self.stats.iterrows():
            rows.append([self.group_titles.get(r["sample"], r["sample"]), r["label"], *_fmt_row(r)])
        return pd.DataFrame(rows, columns=["group", "Variable", *[HEAD[s] for s in STATS]])

    def to_latex(self) -> str:
        """A portrait ``table`` float (booktabs, caption)."""
        from great_tables import GT

        from sahel_causal.report.tables import tex_escape

        frame = self._frame()
        cols = [HEAD[s] for s in STATS]
        gt = GT(frame, rowname_col="Variable", groupname_col="group").cols_align("right", columns=cols)
        tex = gt.tab_options(table_font_size="9pt").as_latex()
        body = tex[tex.index(r"\begin{tabular*}"):tex.index(r"\end{tabular*}") + len(r"\end{tabular*}")]
        body = body.replace(r"}l|" + "r" * len(cols) + "}", "}l" + "r" * len(cols) + "}", 1)
        out = [r"\begin{table}[tbp]", r"\centering", rf"\caption*{{{tex_escape(self.title)}}}",
               rf"\label{{tab:{self.name}}}", r"\footnotesize", r"\setlength{\tabcolsep}{4pt}", body,
               r"\par\smallskip\begin{minipage}{\linewidth}\scriptsize\raggedright",
               r"\textit{Notes:} " + " ".join(tex_escape(n) for n in self.notes) + r"\par"]
        if self.provenance:
            out.append(tex_escape("Provenance: " + "; ".join(f"{k} {v}" for k, v in self.provenance.items())))
        out += [r"\end{minipage}", r"\end{table}"]
        return "\n".join(out) + "\n"

    def to_markdown(self) -> str:
        """GitHub-flavoured Markdown, one pipe table with bold panel rows."""
        frame = self._frame()
        head = ["Variable", *[HEAD[s] for s in STATS]]
        lines = [f"**{self.title}**", "", "| " + " | ".join(head) + " |",
                 "|---|" + "|".join(["---:"] * (len(head) - 1)) + "|"]
        group = None
        for row in frame.itertuples(index=False):
            if row[0] != group:
                group = row[0]
                lines.append(f"| **{group}** |" + " |" * (len(head) - 1))
            lines.append("| " + " | ".join(str(v) for v in row[1:]) + " |")
        lines.append("")
        lines.extend(f"*Notes:* {n}" if i == 0 else n for i, n in enumerate(self.notes))
        if self.provenance:
            lines += ["", "Provenance: " + "; ".join(f"{k} `{v}`" for k, v in self.provenance.items())]
        return "\n".join(lines) + "\n"

    def to_csv(self) -> str:
        """The long frame of unrounded statistics."""
        return self.stats.to_csv(index=False, lineterminator="\n", float_format="%.10g")

    def write(self, directory: Path) -> list[Path]:
        """Write ``<name>.tex``, ``.csv`` and ``.md`` atomically (:func:`sahel_causal.writing.write_table`)."""
        from sahel_causal.writing import write_table

        return write_table(self, directory)


def _default_sample(panel: pd.DataFrame) -> tuple[pd.DataFrame | None, str]:
    """The estimation sample of Table 2, column 1 (reads analysis/specs/table2_coups.toml)."""
    from sahel_causal.paths import ANALYSIS_DIR
    from sahel_causal.specs.io import load_spec

    path = ANALYSIS_DIR / "specs" / "table2_coups.toml"
    if not path.is_file():
        return None, ""
    spec = load_spec(path)
    return estimation_sample(panel, spec), f"Table 2, column 1 ({spec.models[0].label})"


def make_table1(panel: pd.DataFrame, provenance: dict[str, str], sample: pd.DataFrame | None = None,
                sample_label: str = "") -> Table1:
    """Table 1 for the full panel and the estimation sample (default: Table 2's first model)."""
    if sample is None:
        sample, sample_label = _default_sample(panel)
    st = summary_statistics(panel, sample)
    years = f"{int(panel['year'].min())}-{int(panel['year'].max())}"
    titles = {FULL: f"Panel A. Full panel: {panel['iso3'].nunique()} African states, {years}"}
    if sample is not None:
        ys = f"{int(sample['year'].min())}-{int(sample['year'].max())}"
        titles[SAMPLE] = (f"Panel B. Estimation sample of {sample_label}: {len(sample):,} country-years, "
                          f"{sample['iso3'].nunique()} states, {ys}")
    notes = (
        "Statistics over country-years with data on the variable; each source covers different years (see "
        "data/processed/codebook.md) and missing values are not zeros. Counts of coups and deaths, training and "
        "aid amounts are skewed (most country-years are zero, a few very large): compare medians with means.",
        "Panel B: the country-years that enter the main linear probability model of coups (Table 2, column 1).",
        "Sources: Powell & Thyne (2011) coups; FMTR (State/DoD) training; ForeignAssistance.gov aid; UCDP v25.1; "
        "ACLED (2025 partial, to 24 Oct); GTD (to 2020); WDI; V-Dem v15; SIPRI.",
    )
    return Table1(name="table1_summary", title="Table 1. Descriptive statistics: full panel and estimation sample",
                  stats=st, group_titles=titles, notes=notes, provenance=provenance)
