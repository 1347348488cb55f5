"""Total U.S. foreign assistance (economic + military) by African state and fiscal year.

Source file ``usaid_foreign_aid_explorer/us_foreign_aid_country.csv`` (registry id
``usaid_explorer``): the Foreign Aid Explorer / ForeignAssistance.gov "prepared" country file,
downloaded about September 2023. One row per recipient (``Country Code``, ``Country Name``),
``Transaction Type Name`` (Obligations, Disbursements, Appropriated and Planned, President's
Budget Requests, Initial Allocations) and ``Fiscal Year`` (a string, including ``"1976tq"``),
with ``current_amount`` (nominal US$) and ``constant_amount`` (US$ of the publisher's base
year). The amounts are **total** U.S. assistance of all agencies; the file has no
economic/military split.

Citation: U.S. Agency for International Development. Foreign Aid Explorer /
ForeignAssistance.gov, us_foreign_aid_country.csv (accessed September 2023).

Obligations, not disbursements, are the main measure (``us_aid_total_usd_nominal``):
obligations are the Greenbook convention; they date the U.S. decision to commit aid to a
country, which is the quantity the study's hypothesis is about, while disbursements lag the
decision by months or years and follow implementation; and obligations form the longest
consistent series: for African recipients the file's obligations run from FY1946 (Sub-Saharan
Africa and North Africa alike) whereas disbursements start only in FY2001. Disbursements are
returned as well (``us_aid_disbursed_usd_nominal``) for robustness checks.

Rules applied (each logged in the :class:`DataLog`):

* **Fiscal years**: FY *t* is assigned to calendar year *t* (:func:`money.fiscal_to_calendar_year`).
  The 1976 transition quarter (``"1976tq"``, July-September 1976, when the fiscal year start
  moved from July to October) is not a fiscal year; its rows are dropped (before 1990 anyway).
* **Amounts are nominal** (``current_amount``); the panel deflates them with the CPI-U
  (:mod:`sahel_causal.data.money`). The publisher's ``constant_amount`` is not used.
* **Net amounts**: negative rows (de-obligations) are kept in the net sum. A few
  state-years are negative as published (e.g. Ghana FY2020 obligations, -63.8 million;
  Eritrea FY2010-2014): they are kept and flagged in the log, not corrected.
* **Sudan**: the file has "Sudan (former)" (code ``SDF``, FY1956-2023: the undivided Sudan
  and projects still booked to it after 2011) and "Sudan" (``SDN``, FY1991-2023). Both are
  summed into ``SDN``, which is the whole of Sudan before 2011 and the rump state afterwards.
  Amounts coded to "South Sudan" before 2011 (FY2006-2010: US$ 56.1 million obligated, aid
  to the autonomous Government of Southern Sudan) are not aid to the Sudanese state and
  ``SSD`` exists in the panel only from 2011: they are dropped and logged, as the FMTR loader
  does with pre-independence Southern Sudan training.
* **Regional programmes** (e.g. "West Africa Region", "Sub-Saharan Africa Region") are not
  allocated to any state; they are out of scope and their totals are logged.
* **Coverage and zeros**: the file lists only recipients with aid in a year. A state-year of
  FY1946-FY2022 (obligations) or FY2001-FY2022 (disbursements) in which the state existed
  and has no row had no recorded U.S. aid, and is **0**. FY2023 and FY2024 are incomplete
  (the file was downloaded in September 2023, before FY2023 closed; FY2024 has only budget
  requests): both are **NaN**, as are years outside the coverage windows.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from sahel_causal.data.countries import african_iso3, resolve_names
from sahel_causal.data.coverage import drop_before_independence, fill_zeros_within, finalize_types, to_spine
from sahel_causal.data.datalog import DataLog
from sahel_causal.data.money import fiscal_to_calendar_year
from sahel_causal.data.registry import resolve
from sahel_causal.data.schema_check import check_raw_columns, fails_loudly, validate_frame
from sahel_causal.errors import DuplicateKeyError, SchemaError, UnknownCountryError

SOURCE_ID = "usaid_explorer"
FILE = "us_foreign_aid_country.csv"
RAW_COLUMNS = ["Country Code", "Country Name", "Transaction Type Name", "Fiscal Year", "current_amount"]
#: Fiscal years each transaction type covers completely for African recipients.
COVERAGE = {"Obligations": (1946, 2022), "Disbursements": (2001, 2022)}
#: Fiscal years present in the file but incomplete (download of September 2023).
INCOMPLETE_YEARS = (2023, 2024)
#: Years of the returned country-year frame; outside coverage the values are NaN.
YEARS = (1946, 2025)
#: ForeignAssistance.gov codes of former states that map to a panel state.
FORMER_CODES = {"SDF": "SDN"}
#: Transaction type -> output column.
COLUMNS = {"Obligations": "us_aid_total_usd_nominal", "Disbursements": "us_aid_disbursed_usd_nominal"}

COUNTRY_YEAR_SCHEMA = pa.DataFrameSchema(
    {
        "iso3": pa.Column(str, pa.Check.str_matches(r"^[A-Z]{3}$")),
        "year": pa.Column("int64", pa.Check.in_range(*YEARS)),
        "us_aid_total_usd_nominal": pa.Column(float, nullable=True),
        "us_aid_disbursed_usd_nominal": pa.Column(float, nullable=True),
    },
    strict=True, ordered=True, unique=["iso3", "year"],
)


def iso3_from_fa_codes(codes: pd.Series, names: pd.Series, source: str) -> pd.Series:
    """African ISO3 from ForeignAssistance.gov country codes (``<NA>`` for others and regions).

    The codes are ISO3 for current states; former states have codes of their own
    (:data:`FORMER_CODES`: "Sudan (former)" ``SDF`` -> ``SDN``). As a guard against mislabelled
    codes, every name carried by an African code must resolve to the same state through the
    crosswalk; a mismatch raises :class:`UnknownCountryError`.
    """
    africa = african_iso3()
    c = codes.astype("string").str.strip()
    iso = c.map(lambda x: FORMER_CODES.get(x, x) if isinstance(x, str) else pd.NA)
    iso = iso.where(iso.isin(africa)).astype("string")
    pairs = pd.DataFrame({"iso": iso, "name": names}).dropna().drop_duplicates()
    by_name = resolve_names(pairs["name"].str.replace(r"\s*\(former\)$", "", regex=True), source)
    clean = pairs["name"].str.replace(r"\s*\(former\)$", "", regex=True)
    bad = pairs[clean.map(by_name) != pairs["iso"]]
    if len(bad):
        raise UnknownCountryError(
            f"{source}: country codes and names disagree: {bad.to_dict('records')}; check the file "
            "or add the name to country_name_variants.csv."
        )
    return iso



@fails_loudly
def load(raw_dir: Path, log: DataLog | None = None) -> pd.DataFrame:
    """U.S. assistance per African state-year (nominal US$).

    Columns:

    * ``iso3``, ``year`` - the state-year (calendar year *t* = fiscal year *t*; only years in
      which the state existed, 1946-2025);
    * ``us_aid_total_usd_nominal`` - total U.S. assistance **obligated** in FY *t*, all
      agencies, economic and military (current US$, net of de-obligations); 0 for covered
      state-years without a row (FY1946-2022), NaN for FY2023-2024 (incomplete) and later;
    * ``us_aid_disbursed_usd_nominal`` - total U.S. assistance **disbursed** in FY *t*
      (current US$); 0 for covered state-years without a row (FY2001-2022), NaN otherwise.
    """
    if log is None:
        log = DataLog()
    path = resolve(SOURCE_ID, FILE, Path(raw_dir))
    raw = pd.read_csv(path, dtype={"Fiscal Year": str, "Country Code": str, "Country Name": str})
    missing = [c for c in RAW_COLUMNS if c not in raw.columns]
    if missing:
        raise SchemaError(f"{SOURCE_ID}: {path} lacks columns {missing}; is it the registered country file?")
    check_raw_columns(raw, path, SOURCE_ID)
    df = raw[raw["Transaction Type Name"].isin(COLUMNS)].copy()

    tq = df["Fiscal Year"].str.lower().str.endswith("tq")
    if tq.any():
        log.record(SOURCE_ID, "drop", int(tq.sum()),
                   "1976 transition quarter (Jul-Sep 1976) is not a fiscal year; rows dropped (before the panel)",
                   f"US$ {df.loc[tq, 'current_amount'].sum():,.0f} over all recipients and types")
        df = df[~tq]
    fy = pd.to_numeric(df["Fiscal Year"], errors="coerce")
    if fy.isna().any():
        raise SchemaError(f"{SOURCE_ID}: non-numeric fiscal years {sorted(set(df.loc[fy.isna(), 'Fiscal Year']))}.")
    df["year"] = fiscal_to_calendar_year(fy.astype("int64"))

    iso3 = iso3_from_fa_codes(df["Country Code"], df["Country Name"], SOURCE_ID)
    region = df["Country Name"].str.contains(r"\bRegion\b", regex=True, na=False)
    afr_region = region & df["Country Name"].str.contains("Africa", na=False)
    for ttype in COLUMNS:
        sel = afr_region & (df["Transaction Type Name"] == ttype)
        if sel.any():
            log.record(SOURCE_ID, "drop", int(sel.sum()),
                       f"{ttype} of regional programmes covering (part of) Africa are not allocated to a state: "
                       "out of scope",
                       "; ".join(f"{n}: US$ {v:,.0f}" for n, v in
                                 df[sel].groupby("Country Name")["current_amount"].sum().items()))
    n_out = int(iso3.isna().sum())
    log.record(SOURCE_ID, "drop", n_out,
               "out of scope: obligation/disbursement rows of non-African recipients, regions (including "
               "the African regional rows above) and 'World'",
               f"{n_out} of {len(df)} obligation/disbursement rows")
    df = df[iso3.notna()].assign(iso3=iso3[iso3.notna()].astype(str))

    df = df.rename(columns={"Transaction Type Name": "ttype", "current_amount": "amount"})
    neg = df["amount"] < 0
    if neg.any():
        log.record(SOURCE_ID, "note", int(neg.sum()),
                   "negative amounts (de-obligations/refunds) kept in the net sum",
                   "; ".join(f"{r.iso3} FY{r.year} {r.ttype}: {r.amount:,.0f}" for r in df[neg].itertuples()))
    sdf = df["Country Code"].isin(list(FORMER_CODES))
    if sdf.any():
        log.record(SOURCE_ID, "aggregate", int(sdf.sum()),
                   "'Sudan (former)' (SDF) rows summed with 'Sudan' (SDN) into SDN")
    wide = (df.pivot_table(index=["iso3", "year"], columns="ttype", values="amount", aggfunc="sum")
              .rename(columns=COLUMNS).reset_index())
    for c in COLUMNS.values():
        if c not in wide.columns:
            wide[c] = np.nan
    wide = drop_before_independence(wide, SOURCE_ID, log, list(COLUMNS.values()))

    out = to_spine(wide, list(COLUMNS.values()), SOURCE_ID, log, YEARS)
    for ttype, col in COLUMNS.items():
        lo, hi = COVERAGE[ttype]
        cov = out["year"].between(lo, hi)
        incomplete = ~cov & out[col].notna() & out["year"].between(*INCOMPLETE_YEARS)
        other = ~cov & out[col].notna() & ~out["year"].between(*INCOMPLETE_YEARS)
        fill_zeros_within(out, [col], cov, SOURCE_ID, log,
                          f"{col}: state-years of FY{lo}-{hi} without a row set to 0 (the file lists only "
                          "recipients with aid: no recorded U.S. aid)")
        if incomplete.any():
            log.record(SOURCE_ID, "flag", int(incomplete.sum()),
                       f"{col}: FY{INCOMPLETE_YEARS[0]}-{INCOMPLETE_YEARS[1]} values set to NaN: incomplete "
                       "(file downloaded September 2023)")
        if other.any():
            log.record(SOURCE_ID, "flag", int(other.sum()),
                       f"{col}: values outside FY{lo}-{hi} set to NaN (outside the series' coverage)")
    for col in COLUMNS.values():
        negative = out[out[col] < 0]
        if len(negative):
            log.record(SOURCE_ID, "flag", len(negative),
                       f"{col}: state-years whose net amount is negative (de-obligations exceed new "
                       "obligations in the source); kept as published",
                       "; ".join(f"{r.iso3} {r.year}: {getattr(r, col):,.0f}" for r in negative.itertuples()))
    dup = out[out.duplicated(["iso3", "year"], keep=False)]
    if len(dup):
        raise DuplicateKeyError(f"{SOURCE_ID}: duplicated state-years {dup.head(6).to_dict('records')}.")
    finalize_types(out)
    return validate_frame(out, COUNTRY_YEAR_SCHEMA, SOURCE_ID)
