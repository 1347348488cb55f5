"""Table 1: summary statistics of the panel by country group."""
from __future__ import annotations

import pandas as pd

from sahel_causal.data.money import BASE_YEAR
from sahel_causal.report.groups import ORDER, country_group
from sahel_causal.report.tables import Table

# (column, label, divisor) — divisors put dollars in millions and population in millions.
ROWS: list[tuple[str, str, float]] = [
    ("coup_attempts", "Coup attempts (per country-year)", 1),
    ("coup_successes", "Successful coups (per country-year)", 1),
    ("us_training_cost_usd", f"U.S. military training, FMTR (US$ m, {BASE_YEAR})", 1e6),
    ("us_trainees", "U.S.-trained personnel, FMTR (persons)", 1),
    ("us_aid_total_usd", f"U.S. aid obligations, all (US$ m, {BASE_YEAR})", 1e6),
    ("us_military_aid_usd", f"U.S. military aid disbursed (US$ m, {BASE_YEAR})", 1e6),
    ("ucdp_state_based_best", "UCDP state-based deaths", 1),
    ("ucdp_nonstate_best", "UCDP non-state deaths", 1),
    ("ucdp_onesided_best", "UCDP one-sided deaths", 1),
    ("acled_fatalities", "ACLED fatalities", 1),
    ("acled_civilian_fatalities", "ACLED civilian fatalities", 1),
    ("gtd_fatalities", "GTD terrorism fatalities", 1),
    ("population", "Population (m)", 1e6),
    ("gdp_pc", "GDP per capita (constant 2015 US$)", 1),
    ("polyarchy", "V-Dem electoral democracy (0-1)", 1),
    ("milex_usd", "Military expenditure (US$ m, constant 2022)", 1e6),
]


def summary_statistics(panel: pd.DataFrame) -> pd.DataFrame:
    """Long table: variable, group, mean, sd, n (country-years with a value), n_countries, years."""
    df = panel.assign(group=country_group(panel))
    recs = []
    for col, label, div in ROWS:
        if col not in df.columns:
            continue
        for g in ORDER:
            s = df.loc[(df["group"] == g) & df[col].notna(), ["iso3", "year", col]]
            v = s[col] / div
            recs.append({"variable": col, "label": label, "group": g, "mean": v.mean(), "sd": v.std(ddof=1),
                         "n": len(v), "n_countries": s["iso3"].nunique(),
                         "first_year": int(s["year"].min()) if len(s) else None,
                         "last_year": int(s["year"].max()) if len(s) else None})
    return pd.DataFrame(recs)


def _fmt(x: float) -> str:
    if pd.isna(x):
        return "--"
    a = abs(x)
    if a >= 1000:
        return f"{x:,.0f}"
    if a >= 10:
        return f"{x:.1f}"
    return f"{x:.3f}" if a < 1 else f"{x:.2f}"


def make_table1(panel: pd.DataFrame, provenance: dict[str, str]) -> Table:
    """Mean (SD) [N] of each variable for the Sahel G5, other U.S. CT partners and the rest of Africa."""
    st = summary_statistics(panel)
    groups = panel.assign(group=country_group(panel)).groupby("group")["iso3"].nunique()
    body_rows = []
    for (col, label), sub in st.groupby(["variable", "label"], sort=False):
        row = {"Variable": label}
        for g in ORDER:
            r = sub[sub["group"] == g].iloc[0]
            row[f"{g} (n={groups.get(g, 0)})"] = f"{_fmt(r['mean'])} ({_fmt(r['sd'])}) [{r['n']}]"
        body_rows.append(row)
    body = pd.DataFrame(body_rows)
    years = f"{int(panel['year'].min())}-{int(panel['year'].max())}"
    notes = (
        f"Mean (standard deviation) [country-years with data], African state-years {years}. Each variable "
        "uses the years its source covers (see data/processed/codebook.md); missing values are not zeros.",
        "Sahel G5: Burkina Faso, Chad, Mali, Mauritania, Niger. Other U.S. CT partners: states ever in the "
        "Pan-Sahel Initiative or the Trans-Saharan Counterterrorism Partnership (data/reference/us_programs.csv).",
        "Sources: Powell & Thyne (2011) coups; FMTR (State/DoD) training; ForeignAssistance.gov aid; UCDP v25.1; "
        "ACLED (2025 partial, to 24 Oct); GTD (to 2020); WDI; V-Dem v15; SIPRI.",
    )
    return Table(name="table1_summary", title="Table 1. Summary statistics by country group",
                 body=body, notes=notes, provenance=provenance, raw=st)
