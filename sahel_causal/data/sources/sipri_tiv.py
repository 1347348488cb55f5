"""Arms deliveries (SIPRI TIV) from the United States, France, Russia and China to African states.

Source files ``sipri_arms_transfers_tiv/TIV_export_tables/TIV-Export-<code>-1950-2021.csv``
(registry id ``sipri_tiv``; SIPRI Arms Transfers Database, tables "TIV of arms exports from
<supplier>, 1950-2021", generated 28 July 2022) for the suppliers USA, FRA (France), RUS
(Russia) and CHI (China; SIPRI's own codes). Each file: ten lines of notes, a header line
(blank, 1950..2021, Total), one row per recipient, then a "Total" row; every line ends with a
trailing comma; Latin-1 encoding. Values are SIPRI Trend Indicator Values (TIV) in millions,
a volume index of deliveries, not a financial value.

Citation: SIPRI Arms Transfers Database. Stockholm International Peace Research Institute.
https://www.sipri.org/databases/armstransfers (data generated 28 July 2022).

Rules:

* **Blank = 0** within coverage (SIPRI convention: a blank cell means no deliveries; "0"
  means deliveries worth less than 0.5 million TIV, kept as 0). A state-year of the coverage
  window with no row in a supplier's table (the state received nothing from that supplier in
  1950-2021) is 0 as well.
* **Coverage** is 1950-2021 for the USA, France and China. **Russia appears as a supplier
  only from 1992**; Soviet deliveries (supplier "Soviet Union", file ``TIV-Export-USR``) are
  not part of the registered source, so ``tiv_from_rus`` is NaN before 1992 rather than 0.
  All columns are NaN after 2021.
* Non-state and multilateral recipients (names marked ``*`` or ``**``, e.g. "UNITA
  (Angola)*", "African Union**") and non-African recipients are excluded by the name
  resolution and logged. "Libya GNC" (the recognised Libyan government, 2014-2016) is summed
  into Libya; "Libya HoR*" (non-state) is excluded.
* Deliveries dated before a state's independence are dropped and logged.
"""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from sahel_causal.data.countries import iso3_from_names
from sahel_causal.data.coverage import fill_zeros_within, finalize_types, to_spine
from sahel_causal.data.datalog import DataLog
from sahel_causal.data.registry import resolve
from sahel_causal.data.schema_check import fails_loudly, validate_frame
from sahel_causal.errors import SchemaError

SOURCE_ID = "sipri_tiv"
#: Output column -> (SIPRI supplier code of the file, first year the supplier is covered).
SUPPLIERS = {
    "tiv_from_usa": ("USA", 1950),
    "tiv_from_fra": ("FRA", 1950),
    "tiv_from_rus": ("RUS", 1992),
    "tiv_from_chn": ("CHI", 1950),
}
COVERAGE = (1950, 2021)
#: Years of the returned country-year frame; outside coverage the values are NaN.
YEARS = (1950, 2025)
HEADER_LINE = 10  # zero-based index of the header line

COUNTRY_YEAR_SCHEMA = pa.DataFrameSchema(
    {
        "iso3": pa.Column(str, pa.Check.str_matches(r"^[A-Z]{3}$")),
        "year": pa.Column("int64", pa.Check.in_range(*YEARS)),
        **{c: pa.Column(float, pa.Check.ge(0), nullable=True) for c in SUPPLIERS},
    },
    strict=True, ordered=True, unique=["iso3", "year"],
    checks=[pa.Check(lambda d, c=c, s=s: d[c].notna() == d["year"].between(s[1], COVERAGE[1]),
                     error=f"{c} is present exactly in {s[1]}-{COVERAGE[1]}")
            for c, s in SUPPLIERS.items()],
)


def read_tiv_table(path: Path) -> pd.DataFrame:
    """Long frame (``recipient``, ``year``, ``tiv``) of one SIPRI TIV export table.

    Rows are truncated to the header's length (each line has a trailing comma); blank cells
    become 0 (no deliveries); the "Total" row is left out.
    """
    text = path.read_text(encoding="latin-1")
    rows = list(csv.reader(io.StringIO(text)))
    if len(rows) <= HEADER_LINE or not rows[0] or not rows[0][0].startswith("TIV of arms exports from"):
        raise SchemaError(f"{SOURCE_ID}: {path.name} is not a SIPRI TIV export table.")
    header = rows[HEADER_LINE]
    while header and header[-1] == "":
        header = header[:-1]
    years = [int(h) for h in header[1:] if h.strip().isdigit()]
    if years != list(range(COVERAGE[0], COVERAGE[1] + 1)) or header[-1] != "Total":
        raise SchemaError(f"{SOURCE_ID}: {path.name} header is not '', {COVERAGE[0]}..{COVERAGE[1]}, Total.")
    body = [r[:len(header)] for r in rows[HEADER_LINE + 1:] if r and r[0].strip()]
    body = [r + [""] * (len(header) - len(r)) for r in body if r[0].strip() != "Total"]
    wide = pd.DataFrame([r[:1 + len(years)] for r in body], columns=["recipient", *years])
    long = wide.melt(id_vars="recipient", var_name="year", value_name="cell")
    cell = long["cell"].str.strip()
    num = pd.to_numeric(cell.replace("", "0"), errors="coerce")
    bad = cell[num.isna()]
    if len(bad):
        raise SchemaError(f"{SOURCE_ID}: {path.name} has non-numeric cells {sorted(set(bad))[:10]}.")
    return pd.DataFrame({"recipient": long["recipient"].str.strip(), "year": long["year"].astype("int64"),
                         "tiv": num.astype(float)})


@fails_loudly
def load(raw_dir: Path, log: DataLog | None = None) -> pd.DataFrame:
    """Arms deliveries per African recipient state-year, by supplier.

    Columns:

    * ``iso3``, ``year`` - the recipient state-year (years in which the state existed,
      1950-2025);
    * ``tiv_from_usa``, ``tiv_from_fra``, ``tiv_from_rus``, ``tiv_from_chn`` - SIPRI TIV
      (millions) of major conventional arms delivered in the year by the United States,
      France, Russia and China. 0 = no deliveries (or below 0.5 m TIV); NaN after 2021, and
      ``tiv_from_rus`` NaN before 1992 (Soviet deliveries are not in this source).
    """
    if log is None:
        log = DataLog()
    parts = []
    for col, (code, first) in SUPPLIERS.items():
        path = resolve(SOURCE_ID, f"TIV-Export-{code}-1950-2021.csv", Path(raw_dir))
        long = read_tiv_table(path)
        iso3 = iso3_from_names(long["recipient"], SOURCE_ID)
        dropped = long.loc[iso3.isna()]
        is_marked = dropped["recipient"].str.endswith("*")
        log.record(SOURCE_ID, "drop", int(dropped["recipient"].nunique()),
                   f"{code}: recipients that are not African states excluded (records = recipients)",
                   f"non-state/multilateral (*, **): {sorted(dropped.loc[is_marked, 'recipient'].unique())}, "
                   f"TIV {dropped.loc[is_marked, 'tiv'].sum():,.0f} m; other (non-African states): "
                   f"TIV {dropped.loc[~is_marked, 'tiv'].sum():,.0f} m")
        part = long[iso3.notna()].assign(iso3=iso3[iso3.notna()].astype(str))
        n_rows = part.groupby("iso3")["recipient"].nunique()
        merged_names = sorted(part.loc[part["iso3"].isin(n_rows[n_rows > 1].index), "recipient"].unique())
        if merged_names:
            log.record(SOURCE_ID, "aggregate", len(merged_names),
                       f"{code}: several SIPRI recipients of one state summed", ", ".join(merged_names))
        part = part.groupby(["iso3", "year"], as_index=False)["tiv"].sum().rename(columns={"tiv": col})
        early = part[(part["year"] < first) & (part[col] > 0)]
        if len(early):
            raise SchemaError(f"{SOURCE_ID}: {code} has deliveries before {first}, the year the supplier is "
                              f"taken to start: {early.head(5).to_dict('records')}.")
        parts.append(part)
    merged = parts[0]
    for part in parts[1:]:
        merged = merged.merge(part, on=["iso3", "year"], how="outer", validate="one_to_one")
    # Rows before independence matter only if they hold deliveries.
    merged = merged[merged[list(SUPPLIERS)].fillna(0).gt(0).any(axis=1)]
    out = to_spine(merged, list(SUPPLIERS), SOURCE_ID, log, YEARS)
    for col, (code, first) in SUPPLIERS.items():
        cov = out["year"].between(first, COVERAGE[1])
        fill_zeros_within(out, [col], cov, SOURCE_ID, log,
                          f"{col}: state-years of {first}-{COVERAGE[1]} without deliveries from {code} set to 0 "
                          "(blank or no row = no deliveries)")
    finalize_types(out)
    return validate_frame(out, COUNTRY_YEAR_SCHEMA, SOURCE_ID)
