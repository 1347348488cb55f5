"""U.S. military assistance disbursed to African states, FY2002-2015 (ForeignAssistance.gov subset).

Source file ``us_military_aid_foreignassistance_subset/foreignassistance_military_disbursements_fy2002_2015.csv``
(registry id ``us_military_aid``): a third party's filter of the ForeignAssistance.gov complete
transaction file (about April 2023) to rows with objective "Military" and transaction type
"Disbursements" (ID 3), FY2002-2015. Activity-level rows without activity names: ``Country.Code``
(ForeignAssistance.gov code: ISO3, or a code of its own for former states and regions),
``Country.Name``, ``Fiscal.Year`` and ``Current.Dollar.Amount`` (nominal US$).

Citation: U.S. Agency for International Development. ForeignAssistance.gov complete dataset
(accessed 2023), as filtered in github.com/Chromaticluv/Stat461project.

What the loader does (each step logged):

* sums the activity rows by state and fiscal year; **negative rows (de-obligations, refunds)
  are kept in the net sum** and counted in the log (7 rows in the file, none African);
* maps codes to ISO3 as :func:`usaid_explorer.iso3_from_fa_codes` does ("Sudan (former)" ->
  ``SDN``); "South Sudan" disbursements of FY2007-2010 (US$ 32.5 million, support of the
  autonomous south's forces before independence) are not aid to the Sudanese state and are
  dropped and logged (:func:`coverage.drop_before_independence`);
* regional rows (e.g. "West Africa Region") are not allocated to a state and are dropped with
  their totals logged;
* FY *t* -> calendar year *t* (:mod:`sahel_causal.data.money`); amounts stay nominal.

Coverage and zeros: the extract holds every "Military" disbursement of FY2002-2015, so a
state-year of 2002-2015 without a row had no military disbursement recorded and is **0**;
years outside FY2002-2015 are **NaN** (not covered). Caveats: disbursements, not obligations;
INCLE/NADR counterterrorism money is not in the "Military" objective; ForeignAssistance.gov
data are revised over time.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from sahel_causal.data.coverage import drop_before_independence, fill_zeros_within, finalize_types, to_spine
from sahel_causal.data.datalog import DataLog
from sahel_causal.data.money import fiscal_to_calendar_year
from sahel_causal.data.registry import resolve
from sahel_causal.data.schema_check import fails_loudly, validate_frame
from sahel_causal.data.sources.usaid_explorer import iso3_from_fa_codes
from sahel_causal.errors import SchemaError

SOURCE_ID = "us_military_aid"
FILE = "foreignassistance_military_disbursements_fy2002_2015.csv"
RAW_COLUMNS = ["Country.Code", "Country.Name", "Fiscal.Year", "Foreign.Assistance.Objective.Name",
               "Transaction.Type.ID", "Current.Dollar.Amount"]
COVERAGE = (2002, 2015)
#: Years of the returned country-year frame; outside :data:`COVERAGE` the values are NaN.
YEARS = (1946, 2025)
COLUMN = "us_military_aid_usd_nominal"

COUNTRY_YEAR_SCHEMA = pa.DataFrameSchema(
    {
        "iso3": pa.Column(str, pa.Check.str_matches(r"^[A-Z]{3}$")),
        "year": pa.Column("int64", pa.Check.in_range(*YEARS)),
        COLUMN: pa.Column(float, nullable=True),
    },
    strict=True, ordered=True, unique=["iso3", "year"],
    checks=pa.Check(lambda d: d[COLUMN].notna() == d["year"].between(*COVERAGE),
                    error="values are present exactly in FY2002-2015"),
)


@fails_loudly
def load(raw_dir: Path, log: DataLog | None = None) -> pd.DataFrame:
    """U.S. military assistance disbursed per African state-year.

    Columns:

    * ``iso3``, ``year`` - the state-year (calendar year *t* = fiscal year *t*; years in which
      the state existed, 1946-2025);
    * ``us_military_aid_usd_nominal`` - net disbursements of ForeignAssistance.gov "Military"
      objective assistance in FY *t* (current US$); 0 for state-years of FY2002-2015 without a
      row; NaN outside FY2002-2015.
    """
    if log is None:
        log = DataLog()
    path = resolve(SOURCE_ID, FILE, Path(raw_dir))
    raw = pd.read_csv(path, dtype={"Country.Code": str, "Country.Name": str})
    missing = [c for c in RAW_COLUMNS if c not in raw.columns]
    if missing:
        raise SchemaError(f"{SOURCE_ID}: {path} lacks columns {missing}; is it the registered extract?")
    if set(raw["Foreign.Assistance.Objective.Name"]) != {"Military"} or set(raw["Transaction.Type.ID"]) != {3}:
        raise SchemaError(f"{SOURCE_ID}: {path} holds rows other than 'Military' disbursements; "
                          "use the registered extract.")
    fy = raw["Fiscal.Year"].astype("int64")
    if not fy.between(*COVERAGE).all():
        raise SchemaError(f"{SOURCE_ID}: fiscal years outside {COVERAGE}: {sorted(set(fy) - set(range(2002, 2016)))}.")
    if raw["Current.Dollar.Amount"].isna().any():
        raise SchemaError(f"{SOURCE_ID}: {int(raw['Current.Dollar.Amount'].isna().sum())} rows lack an amount.")

    neg = raw[raw["Current.Dollar.Amount"] < 0]
    log.record(SOURCE_ID, "note", len(neg),
               "negative activity rows (de-obligations/refunds) kept in the net country-year sums",
               "; ".join(f"{c} FY{y}: {a:,.0f}" for c, y, a in
                         zip(neg["Country.Code"], neg["Fiscal.Year"], neg["Current.Dollar.Amount"])))
    iso3 = iso3_from_fa_codes(raw["Country.Code"], raw["Country.Name"], SOURCE_ID)
    region = raw["Country.Name"].str.contains(r"\bRegion\b", regex=True, na=False)
    afr_region = region & raw["Country.Name"].str.contains("Africa", na=False)
    if afr_region.any():
        log.record(SOURCE_ID, "drop", int(afr_region.sum()),
                   "military disbursements of African regional programmes are not allocated to a state: "
                   "out of scope",
                   "; ".join(f"{n}: US$ {v:,.0f}" for n, v in
                             raw[afr_region].groupby("Country.Name")["Current.Dollar.Amount"].sum().items()))
    n_out = int(iso3.isna().sum())
    log.record(SOURCE_ID, "drop", n_out, "out of scope: activity rows of non-African recipients and regions",
               f"{n_out} of {len(raw)} rows")
    df = pd.DataFrame({
        "iso3": iso3[iso3.notna()].astype(str),
        "year": fiscal_to_calendar_year(fy[iso3.notna()]),
        "code": raw.loc[iso3.notna(), "Country.Code"],
        COLUMN: raw.loc[iso3.notna(), "Current.Dollar.Amount"].astype(float),
    })
    n_sdf = int((df["code"] == "SDF").sum())
    if n_sdf:
        log.record(SOURCE_ID, "aggregate", n_sdf, "'Sudan (former)' (SDF) rows summed into SDN")
    summed = df.groupby(["iso3", "year"], as_index=False)[COLUMN].sum()
    log.record(SOURCE_ID, "aggregate", len(df),
               "activity rows summed by state and fiscal year", f"{len(df)} rows -> {len(summed)} state-years")
    summed = drop_before_independence(summed, SOURCE_ID, log, [COLUMN])

    out = to_spine(summed, [COLUMN], SOURCE_ID, log, YEARS)
    cov = out["year"].between(*COVERAGE)
    fill_zeros_within(out, [COLUMN], cov, SOURCE_ID, log,
                      "state-years of FY2002-2015 without a row set to 0 (the extract holds every 'Military' "
                      "disbursement of those years: none recorded)")
    finalize_types(out)
    return validate_frame(out, COUNTRY_YEAR_SCHEMA, SOURCE_ID)
