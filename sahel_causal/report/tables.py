"""Write a table in the four formats the study publishes: LaTeX (booktabs), CSV, Markdown.

A :class:`Table` holds a DataFrame of already formatted cells (strings), a title, notes and a
provenance footer (specification and data checksum). Writers are deterministic: no
timestamps, fixed float formatting, ``\\n`` line endings.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from sahel_causal.report.latex import escape_latex, latex_label


def tex_escape(s: object) -> str:
    """Escape LaTeX special characters in a cell (:func:`sahel_causal.report.latex.escape_latex`)."""
    return escape_latex(s)


@dataclass(frozen=True)
class Table:
    """A formatted table: ``body`` has string cells; ``index`` is the row-label column name."""

    name: str
    title: str
    body: pd.DataFrame
    notes: tuple[str, ...] = ()
    provenance: dict[str, str] = field(default_factory=dict)
    raw: pd.DataFrame | None = None  # unformatted numbers for the CSV, if different

    def to_markdown(self) -> str:
        """GitHub-flavoured Markdown."""
        cols = list(self.body.columns)
        lines = [f"**{self.title}**", "", "| " + " | ".join(map(str, cols)) + " |",
                 "|" + "|".join(["---"] + ["---:"] * (len(cols) - 1)) + "|"]
        for row in self.body.itertuples(index=False):
            lines.append("| " + " | ".join(str(v) for v in row) + " |")
        lines.append("")
        lines.extend(f"*{n}*" if i == 0 else n for i, n in enumerate(self.notes))
        if self.provenance:
            lines.append("")
            lines.append("Provenance: " + "; ".join(f"{k} `{v}`" for k, v in self.provenance.items()))
        return "\n".join(lines) + "\n"

    def to_latex(self) -> str:
        """A booktabs ``table`` environment (needs ``\\usepackage{booktabs}``)."""
        cols = list(self.body.columns)
        align = "l" + "r" * (len(cols) - 1)
        out = [r"\begin{table}[htbp]", r"\centering", rf"\caption{{{tex_escape(self.title)}}}",
               rf"\label{{tab:{latex_label(self.name)}}}", r"\small", rf"\begin{{tabular}}{{{align}}}", r"\toprule",
               " & ".join(tex_escape(c) for c in cols) + r" \\", r"\midrule"]
        for row in self.body.itertuples(index=False):
            cells = [tex_escape(v) for v in row]
            if str(row[0]).startswith("---"):
                out.append(r"\midrule")
                continue
            out.append(" & ".join(cells) + r" \\")
        out.append(r"\bottomrule")
        out.append(r"\end{tabular}")
        if self.notes or self.provenance:
            out.append(r"\par\smallskip\parbox{\linewidth}{\footnotesize ")
            out.extend(tex_escape(n) + r"\\" for n in self.notes)
            if self.provenance:
                out.append(tex_escape("Provenance: " + "; ".join(f"{k} {v}" for k, v in self.provenance.items())))
            out.append("}")
        out.append(r"\end{table}")
        return "\n".join(out) + "\n"

    def to_csv(self) -> str:
        """CSV of the raw numbers (or the formatted cells when no raw frame is given)."""
        frame = self.raw if self.raw is not None else self.body
        return frame.to_csv(index=False, lineterminator="\n", float_format="%.10g")

    def write(self, directory: Path) -> list[Path]:
        """Write ``<name>.tex``, ``.csv`` and ``.md`` into ``directory`` (atomically, via
        :func:`sahel_causal.writing.write_table`); return the paths."""
        from sahel_causal.writing import write_table

        return write_table(self, directory)
