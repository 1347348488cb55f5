"""Format a table of estimates (Tables 2-4) the way an economics journal prints it.

Layout: models in columns (numbered, labelled from the specification); for each treatment the
coefficient with its CRV1 standard error in parentheses below; a block of p-values for the
column's first treatment by inference method (CRV1, CRV3 jackknife, restricted wild cluster
bootstrap with Rademacher and Webb weights, randomization inference); the effect of one
within-country standard deviation and, for logits, the effect on the probability; then the
sample and specification (outcome, estimator, N, countries, outcome mean, fixed effects,
controls). Variables carry readable labels (:mod:`sahel_causal.report.labels`); numbers are in
fixed notation (never ``1e-05``). Notes come from the specification and its inference settings.

Wide tables are split into panels of at most :data:`MAX_COLUMNS` models so that they fit a
portrait page at a readable size. The LaTeX body of each panel is rendered by great_tables
(``GT.as_latex``: escaping, booktabs rules, spanners); this module assembles the panels into
one float with caption and notes. The CSV stays the long machine-readable frame (``tidy()``).
Reports format results; they never estimate.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sahel_causal.report.notes import FEW_MARK, table_notes, title

SIZE_MARK = "\u2021"  # double dagger: the method's measured size for this design lies outside [3%, 7%]

ESTIMATOR_LABEL = {"ols": "OLS", "ppml": "PPML", "conditional_logit": "Cond. logit", "firth": "Firth logit",
                   "logit_cubic": "Logit, cubic"}
LOGITS = {"conditional_logit", "firth", "logit_cubic"}
MAX_COLUMNS = 6
STUB_WRAP = 40  # characters per line in the row labels
WRAP = 10  # characters per line in column headers and text cells
BREAK = "@@"  # line break marker inside a cell (LaTeX: makecell; Markdown: space)


def wrap(text: str, width: int = WRAP) -> str:
    """Break ``text`` at spaces into lines of at most ``width`` characters (joined by BREAK)."""
    lines: list[str] = []
    for word in str(text).split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return BREAK.join(lines)

# (tidy column, row label) for the inference rows, in the order of the table.
P_ROWS: tuple[tuple[str, str], ...] = (
    ("p_value", "Cluster-robust (CRV1)"),
    ("p_crv3", "Jackknife (CRV3)"),
    ("p_wild_rademacher", "Wild bootstrap, Rademacher"),
    ("p_wild_webb", "Wild bootstrap, Webb"),
    ("p_ri", "Randomization inference"),
)
FE_LABEL = {"iso3": "Country fixed effects", "year": "Year fixed effects"}
GROUP_COEF = "Estimates (standard errors clustered by country)"
GROUP_P = "p-values for the first treatment, by inference method"
GROUP_EFFECT = "Size of the effect of the first treatment"
GROUP_SAMPLE = "Specification and sample"


def _missing(x: object) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or x is pd.NA


def decimals_for(*values: float, minimum: int = 3, maximum: int = 12) -> int:
    """Decimals that show at least two significant digits of the smallest non-zero value
    (at least ``minimum``, at most ``maximum``)."""
    finite = [abs(v) for v in values if not _missing(v) and v != 0 and math.isfinite(v)]
    if not finite:
        return minimum
    smallest = min(finite)
    need = -math.floor(math.log10(smallest)) + 1
    return max(minimum, min(maximum, need))


def fmt_fixed(x: float, decimals: int) -> str:
    """Fixed notation with thousands separators; ``--`` for missing; never e-notation."""
    if _missing(x):
        return "--"
    if not math.isfinite(x):
        return "--"
    text = f"{x:,.{decimals}f}"
    return text[1:] if text.startswith("-") and text.strip("-0.,") == "" else text


def fmt_p(x: float) -> str:
    """p-values with three decimals; below 0.001 as ``<0.001``."""
    if _missing(x):
        return "--"
    return "<0.001" if x < 0.0005 else f"{x:.3f}"


def fmt_count(x: float) -> str:
    """Integers with thousands separators."""
    return "--" if _missing(x) else f"{int(round(x)):,}"


def fmt_mean(x: float) -> str:
    """Outcome means: three significant digits in fixed notation."""
    if _missing(x):
        return "--"
    return fmt_fixed(x, 1) if abs(x) >= 100 else fmt_fixed(x, decimals_for(x, maximum=6))


@dataclass(frozen=True)
class ModelMeta:
    """What the table needs to know about one model beyond ``tidy()``."""

    id: str
    label: str
    outcome: str
    estimator: str
    note: str = ""


@dataclass(frozen=True)
class Panel:
    """One block of columns: ``columns`` are (number, header); ``rows`` are (group, stub, cells)."""

    title: str
    columns: tuple[tuple[str, str], ...]
    rows: tuple[tuple[str, str, tuple[str, ...]], ...]


def estimator_label(name: str) -> str:
    """Short column label of an estimator: the layout's own for the published ones, else the registry's."""
    if name in ESTIMATOR_LABEL:
        return ESTIMATOR_LABEL[name]
    from sahel_causal.estimators import REGISTRY

    return REGISTRY[name].label if name in REGISTRY else name


def _few(t: pd.Series | None) -> bool:
    """Whether the row's analytic p-values rest on few (treated) clusters (``few_clusters`` column)."""
    if t is None or "few_clusters" not in t.index or _missing(t["few_clusters"]):
        return False
    return bool(t["few_clusters"])


def _cell(t: pd.Series | None, col: str) -> float:
    if t is None or col not in t.index:
        return math.nan
    v = t[col]
    return math.nan if _missing(v) else float(v)


def build_panels(tidy: pd.DataFrame, models: Sequence[ModelMeta], labels: Mapping[str, str],
                 max_columns: int = MAX_COLUMNS, first_number: int = 1,
                 uncalibrated: Mapping[str, set[str]] | None = None,
                 family: Mapping[tuple[str, str], float] | None = None) -> list[Panel]:
    """The cells of the journal layout, split into panels of at most ``max_columns`` models.

    ``tidy`` has one row per model and term (columns ``model, term, estimate, std_error`` and the
    inference, effect and sample columns of ``TableResult.tidy()``); ``models`` gives the column
    order; ``labels`` maps variable names to readable labels (missing names print as they are).
    """
    if len(models) == 0:
        return []
    from sahel_causal.report.labels import short_label

    labels = {**{n: short_label(n) for n in set(tidy["term"]) | {m.outcome for m in models}}, **labels}
    n_panels = math.ceil(len(models) / max_columns)
    size = math.ceil(len(models) / n_panels)
    chunks = [list(models[i:i + size]) for i in range(0, len(models), size)]
    panels = []
    number = first_number
    for k, chunk in enumerate(chunks):
        cols = []
        per_model: list[pd.DataFrame] = []
        for m in chunk:
            cols.append((f"({number})", wrap(m.label)))
            number += 1
            per_model.append(tidy[tidy["model"] == m.id])
        terms: list[str] = []
        for sub in per_model:
            for term in sub["term"]:
                if term not in terms:
                    terms.append(term)
        rows: list[tuple[str, str, tuple[str, ...]]] = []
        for term in terms:
            est, se = [], []
            for sub in per_model:
                hit = sub[sub["term"] == term]
                if len(hit) == 0:
                    est.append("")
                    se.append("")
                    continue
                t = hit.iloc[0]
                d = decimals_for(_cell(t, "estimate"), _cell(t, "std_error"))
                est.append(fmt_fixed(_cell(t, "estimate"), d))
                s = _cell(t, "std_error")
                se.append("" if _missing(s) else f"({fmt_fixed(s, d)})")
            rows.append((GROUP_COEF, labels.get(term, term), tuple(est)))
            rows.append((GROUP_COEF, "", tuple(se)))
        firsts = [sub.iloc[0] if len(sub) else None for sub in per_model]
        for col, name in P_ROWS:
            mark = FEW_MARK if col in ("p_value", "p_crv3") else ""
            cells = tuple(fmt_p(_cell(t, col)) + (mark if _few(t) and not _missing(_cell(t, col)) else "")
                          + (SIZE_MARK if col in (uncalibrated or {}).get(m.id, set())
                             and not _missing(_cell(t, col)) else "")
                          for t, m in zip(firsts, chunk))
            if any(c != "--" for c in cells):
                rows.append((GROUP_P, name, cells))
        if family:
            fam_cells = []
            for m in chunk:
                hits = [(t, p) for (mid, t), p in family.items() if mid == m.id]
                fam_cells.append(fmt_p(hits[0][1]) if hits else "--")
            if any(c != "--" for c in fam_cells):
                rows.append((GROUP_P, "Romano-Wolf, family of the table", tuple(fam_cells)))
        eff = []
        for t in firsts:
            e, sd = _cell(t, "effect_1sd"), _cell(t, "within_sd")
            eff.append(fmt_fixed(e, decimals_for(e)))
        rows.append((GROUP_EFFECT, "One within-country SD change", tuple(eff)))
        margins = tuple(fmt_fixed(_cell(t, "margin"), decimals_for(_cell(t, "margin")))
                        if m.estimator in LOGITS else "--" for t, m in zip(firsts, chunk))
        if any(c != "--" for c in margins):
            rows.append((GROUP_EFFECT, "Effect on the probability", margins))
        rows.append((GROUP_SAMPLE, "Outcome", tuple(labels.get(m.outcome, m.outcome) for m in chunk)))
        rows.append((GROUP_SAMPLE, "Estimator", tuple(estimator_label(m.estimator) for m in chunk)))
        rows.append((GROUP_SAMPLE, "Outcome mean", tuple(fmt_mean(_cell(t, "outcome_mean")) for t in firsts)))
        rows.append((GROUP_SAMPLE, "Observations", tuple(fmt_count(_cell(t, "nobs")) for t in firsts)))
        rows.append((GROUP_SAMPLE, "Countries", tuple(fmt_count(_cell(t, "n_countries")) for t in firsts)))
        fes = [set(str(t["fixed_effects"]).split("+")) if t is not None and not _missing(t.get("fixed_effects"))
               else set() for t in firsts]
        for fe, lab in FE_LABEL.items():
            rows.append((GROUP_SAMPLE, lab, tuple("Yes" if fe in s else "No" for s in fes)))
        ctrl = tuple("Yes" if t is not None and isinstance(t.get("controls"), str) and t.get("controls") else "No"
                     for t in firsts)
        rows.append((GROUP_SAMPLE, "Controls", ctrl))
        title = f"Panel {chr(ord('A') + k)}" if len(chunks) > 1 else ""
        panels.append(Panel(title=title, columns=tuple(cols), rows=tuple(rows)))
    return panels


# one character of escaped cell text: plain text, an escaped special (\%, \{...) or a text command
# with an empty argument as escape_latex writes them (\textbackslash{}, \textasciitilde{}...)
_CELL = r"(?:[^&{}\\\n@]|\\[$%&#_{}]|\\[A-Za-z]+\{\}|@(?!@))"


def _makecell(m: re.Match) -> str:
    parts = [p.strip() for p in m.group(0).split(BREAK)]
    return r"\makecell{" + r"\\".join(parts) + "}"


def _gt_tabular(panel: Panel) -> str:
    """The panel's ``tabular*`` rendered by great_tables: outcomes as spanners over the columns
    that share them, centred columns, two-line headers (number above label), light group rows."""
    from great_tables import GT

    names = [f"c{i}" for i in range(len(panel.columns))]
    body_rows = [(g, s, cells) for g, s, cells in panel.rows if s != "Outcome"]
    outcome = next((cells for g, s, cells in panel.rows if s == "Outcome"), None)
    frame = pd.DataFrame([[g, wrap(s, STUB_WRAP), *cells] for g, s, cells in body_rows],
                         columns=["group", "stub", *names])
    gt = GT(frame, rowname_col="stub", groupname_col="group")
    gt = gt.cols_label(**{n: f"{num}{BREAK}{lab}" for n, (num, lab) in zip(names, panel.columns)})
    if outcome is not None:
        i = 0
        while i < len(names):
            j = i
            while j + 1 < len(names) and outcome[j + 1] == outcome[i]:
                j += 1
            text = outcome[i] if j > i else wrap(outcome[i])
            gt = gt.tab_spanner(text, columns=names[i:j + 1], id=f"outcome{i}")
            i = j + 1
    gt = gt.cols_align("center", columns=names).tab_options(table_font_size="9pt")
    tex = gt.as_latex()
    start, end = tex.index(r"\begin{tabular*}"), tex.index(r"\end{tabular*}") + len(r"\end{tabular*}")
    body = tex[start:end]
    body = re.sub(r"\{@\{\\extracolsep\{\\fill\}\}l\|[a-z]+\}",
                  "{@{\\\\extracolsep{\\\\fill}}l" + "c" * len(names) + "}", body, count=1)
    body = re.sub(_CELL + "*" + BREAK + "(?:" + _CELL + "|" + BREAK + ")*", _makecell, body)
    body = "\n".join("\\makecell[l]{" + ln[len("\\makecell{"):] if ln.startswith("\\makecell{") else ln
                      for ln in body.split("\n"))
    # light group headings: one rule and an italic label instead of a boxed row
    body = re.sub(r"\\midrule\\addlinespace\[2\.5pt\]\n\\multicolumn\{(\d+)\}\{l\}\{(.*?)\} \\\\\[2\.5pt\] \n"
                  r"\\midrule\\addlinespace\[2\.5pt\]\n",
                  lambda m: "\\midrule\n\\multicolumn{" + m.group(1) + "}{l}{\\textit{" + m.group(2) + "}} \\\\\n", body)
    # typographic minus signs in numbers
    return re.sub(r"(?<=[ &(])-(?=[0-9.])", "$-$", body)


def _md_escape(s: str) -> str:
    return s.replace(BREAK, " ").replace("|", "\\|")


@dataclass(frozen=True)
class JournalTable:
    """A table of estimates in the journal layout, written as LaTeX, Markdown and the long CSV."""

    name: str
    title: str
    panels: tuple[Panel, ...]
    notes: tuple[str, ...] = ()
    provenance: dict[str, str] = field(default_factory=dict)
    raw: pd.DataFrame | None = None

    def to_latex(self) -> str:
        """One ``table`` float per panel (needs booktabs, caption, makecell); portrait, 9 pt body.
        Panels after the first are captioned "(continued)"; the notes follow the last panel."""
        from sahel_causal.report.tables import tex_escape

        out = []
        for i, p in enumerate(self.panels):
            title = tex_escape(self.title) + (" (continued)" if i else "")
            out += [r"\begin{table}[p]", r"\centering", rf"\caption*{{{title}}}"]
            if i == 0:
                out.append(rf"\label{{tab:{self.name}}}")
            # tighter rows so that the last panel and its notes fit a portrait page
            out += [r"\footnotesize", r"\setlength{\tabcolsep}{3pt}", r"\renewcommand{\arraystretch}{0.88}"]
            if p.title:
                first, last = p.columns[0][0], p.columns[-1][0]
                out.append(rf"\textit{{{p.title}: columns {first}--{last}}}\par\smallskip")
            out.append(_gt_tabular(p))
            if i == len(self.panels) - 1 and (self.notes or self.provenance):
                out.append(r"\par\smallskip\begin{minipage}{\linewidth}\scriptsize\raggedright")
                out.append(r"\textit{Notes:} " + " ".join(tex_escape(n) for n in self.notes) + r"\par")
                if self.provenance:
                    out.append(tex_escape("Provenance: " + "; ".join(f"{k} {v}" for k, v in self.provenance.items())))
                out.append(r"\end{minipage}")
            out.append(r"\end{table}")
        return "\n".join(out) + "\n"

    def to_markdown(self) -> str:
        """GitHub-flavoured Markdown: one pipe table per panel, group headings in bold."""
        lines = [f"**{self.title}**", ""]
        for p in self.panels:
            if p.title:
                lines += [f"*{p.title}*", ""]
            head = [""] + [f"{num} {lab}" for num, lab in p.columns]
            lines.append("| " + " | ".join(_md_escape(h) for h in head) + " |")
            lines.append("|---|" + "|".join([":---:"] * len(p.columns)) + "|")
            group = None
            for g, stub, cells in p.rows:
                if g != group:
                    lines.append(f"| **{_md_escape(g)}** |" + " |" * len(p.columns))
                    group = g
                lines.append("| " + " | ".join(_md_escape(c) for c in (stub, *cells)) + " |")
            lines.append("")
        lines.extend(f"*Notes:* {n}" if i == 0 else n for i, n in enumerate(self.notes))
        if self.provenance:
            lines.append("")
            lines.append("Provenance: " + "; ".join(f"{k} `{v}`" for k, v in self.provenance.items()))
        return "\n".join(lines) + "\n"

    def to_csv(self) -> str:
        """The long machine-readable frame (one row per model, term; every inference column)."""
        frame = self.raw if self.raw is not None else pd.DataFrame()
        return frame.to_csv(index=False, lineterminator="\n", float_format="%.10g")

    def write(self, directory: Path) -> list[Path]:
        """Write ``<name>.tex``, ``.csv`` and ``.md`` into ``directory`` atomically
        (:func:`sahel_causal.writing.write_table`); return the paths."""
        from sahel_causal.writing import write_table

        return write_table(self, directory)


CALIBRATION_NOTE = (f"{SIZE_MARK} The method's rejection rate under the null at the 5% level, measured by a Monte "
                    "Carlo on the real panel for this model's design (results/tables/calibration.md), lies outside "
                    "[3%, 7%]: the p-value is shown but not used for the verdict. An association is called "
                    "detectable only if every calibrated method rejects at 0.05.")

FAMILY_NOTE = ("Romano-Wolf: family-wise adjusted p-value over the table's linear models (each column's first "
               "treatment, or its interaction with it where the column has one), step-down from restricted wild "
               "cluster bootstrap draws with one Webb weight per country shared by all models (Romano & Wolf 2005, "
               "2016); results/tables/family_pvalues.md lists them.")

EFFECT_NOTE = ("One within-country SD change: coefficient times the within-country standard deviation of the "
               "treatment in the estimation sample (log-odds for logits, log points for PPML). Effect on the "
               "probability: average marginal effect (pooled and Firth logit) or the effect at the sample coup "
               "rate (conditional logit). Coefficients with CRV1 standard errors in parentheses; no significance "
               "stars: the p-value rows report each inference method for the column's first treatment.")


def models_meta(spec) -> list[ModelMeta]:
    """Column metadata from a specification's models."""
    return [ModelMeta(id=m.id, label=m.label, outcome=m.outcome, estimator=m.estimator,
                      note=getattr(m, "note", "") or "") for m in spec.models]


def format_results(tr, provenance: dict[str, str], codebook: pd.DataFrame | None = None,
                   uncalibrated: Mapping[str, set[str]] | None = None,
                   family: Mapping[tuple[str, str], float] | None = None) -> JournalTable:
    """The journal-layout table of a ``TableResult`` and its long CSV (the tidy frame)."""
    from sahel_causal.report.labels import spec_labels

    tidy = tr.table_frame()
    if family:
        # Romano-Wolf family-wise p-values (the table's linear models; Table 4: the interaction terms)
        tidy = tidy.assign(p_romano_wolf=[family.get((str(m), str(t)), math.nan)
                                          for m, t in zip(tidy["model"], tidy["term"])])
    spec = tr.spec
    labels = spec_labels(getattr(spec, "derive", ()), codebook)
    meta = models_meta(spec)
    panels = build_panels(tidy, meta, labels, uncalibrated=uncalibrated, family=family)
    numbers = {m.id: i + 1 for i, m in enumerate(meta)}
    col_notes = [f"Column ({numbers[m.id]}): {m.note}" for m in meta if m.note]
    generated = table_notes(tr)  # the spec's own notes first, then sample, controls, inference, flags
    n_own = len(getattr(spec, "notes", ())) + (1 if getattr(spec, "overrides", ()) else 0)
    calib = [CALIBRATION_NOTE] if uncalibrated and any(uncalibrated.values()) else []
    if family:
        calib.append(FAMILY_NOTE)
    notes = tuple(generated[:n_own] + col_notes + generated[n_own:] + calib + [EFFECT_NOTE])
    return JournalTable(name=spec.id, title=title(tr), panels=tuple(panels), notes=notes,
                        provenance=provenance, raw=tidy)


def sample_notes(tr) -> pd.DataFrame:
    """Per model: rows dropped by reason, events (coups) used and the country-years with events not used."""
    recs = []
    for mo in tr.models:
        drops = "; ".join(f"{r}: {n}" for r, n in mo.sample_drops)
        est_drops = "; ".join(f"{d.reason}: {d.count} {d.level}(s)" for d in mo.result.dropped)
        recs.append({"model": mo.model.id, "nobs": mo.result.nobs, "n_countries": mo.n_countries,
                     "n_events": mo.n_events if mo.n_events is not None else "",
                     "sample_drops": drops, "estimator_drops": est_drops,
                     "events_not_used": ", ".join(mo.events_lost)})
    return pd.DataFrame(recs)
