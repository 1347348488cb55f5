"""Edge task: what the tables rule out (MDE, TOST) and family-wise p-values, for Tables 2-4.

Writes ``results/tables/equivalence.{csv,md}`` (from the committed table CSVs and the specs'
smallest effects of interest) and ``results/tables/family_pvalues.{csv,md}`` (Romano-Wolf over
each table's linear models, from shared wild-bootstrap draws).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from sahel_causal.inference.multiple_testing import table_family_pvalues
from sahel_causal.inference.power import equivalence_from_tidy
from sahel_causal.pipeline import _write_text, write_csv
from sahel_causal.specs import load_spec

SPECS_DIR = Path(__file__).resolve().parents[2] / "analysis" / "specs"
TABLES = ("table2_coups", "table3_violence", "table4_heterogeneity")


def _md(df: pd.DataFrame, title: str, notes: str, digits: int = 3) -> str:
    def fmt(v):
        if isinstance(v, float):
            return f"{v:.{digits}g}" if abs(v) < 1e-3 and v != 0 else f"{v:.{digits}f}"
        return str(v)
    head = "| " + " | ".join(df.columns) + " |\n|" + "---|" * len(df.columns) + "\n"
    body = "".join("| " + " | ".join(fmt(v) for v in row) + " |\n" for row in df.itertuples(index=False))
    return f"## {title}\n\n{head}{body}\n{notes}\n"


def make(panel: pd.DataFrame, results_dir: Path, progress=lambda m: None) -> list[Path]:
    tables_dir = Path(results_dir) / "tables"
    eq, fam = [], []
    for name in TABLES:
        spec = load_spec(SPECS_DIR / f"{name}.toml")
        tidy = pd.read_csv(tables_dir / f"{name}.csv")
        eq.append(equivalence_from_tidy(tidy, spec))
        progress(f"  family-wise p-values: {name}")
        f = table_family_pvalues(spec, panel)
        f.insert(0, "table", name)
        fam.append(f)
    eq_df = pd.concat(eq, ignore_index=True)
    fam_df = pd.concat(fam, ignore_index=True)
    out = [write_csv(eq_df, tables_dir / "equivalence.csv"), write_csv(fam_df, tables_dir / "family_pvalues.csv")]
    out.append(_write_text(tables_dir / "equivalence.md", _md(
        eq_df, "What the estimates rule out: minimum detectable effects and equivalence tests",
        "Per within-country SD of the treatment. mde80: the effect a two-sided 5% test detects with 80% power "
        "(CRV3 standard error, t(G-1), for the LPMs; CRV1 for PPML). TOST: two one-sided tests of |effect| < the "
        "smallest effect of interest stated in the specification; 'equivalent' = the 90% interval lies inside "
        "(-SESOI, SESOI), i.e. effects at least that large are ruled out at the 5% level.")))
    out.append(_write_text(tables_dir / "family_pvalues.md", _md(
        fam_df, "Family-wise adjusted p-values (Romano-Wolf step-down)",
        "Family: the linear models of each table (first treatment of each column). Null draws: restricted wild "
        "cluster bootstrap with one Webb weight per country and draw shared by every model of the table, so the "
        "dependence between the tests is kept. p_boot_shared: the single-test p-value from the shared draws; "
        "p_romano_wolf: adjusted for the family (Romano & Wolf 2005, 2016).")))
    return out
