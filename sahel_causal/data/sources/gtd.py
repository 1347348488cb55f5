"""Global Terrorism Database (GTD) incidents, fatalities and injuries per African state-year.

Source file ``gtd_country_year_owid/gtd_country_year_owid_0522.csv`` (registry id ``gtd``):
Our World in Data's aggregation of GTD release ``globalterrorismdb_0522dist`` (events
1970-2020) to country-years: ``entity`` (OWID country name, plus GTD regions and "World"),
``year``, ``terrorist_incidents`` (count of incidents), ``terrorism_fatalities`` (sum of
``nkill``, unknown counted as 0), ``terrorism_injuries`` (sum of ``nwound``). Derived
(aggregate), not the event file.

Citation: START (National Consortium for the Study of Terrorism and Responses to Terrorism).
2022. Global Terrorism Database 1970-2020 [data file]. https://www.start.umd.edu/gtd ; Our
World in Data, "Terrorism" (github.com/owid/notebooks).

Coverage and zeros: the file lists only country-years with at least one incident, so a
state-year of 1970-2020 that is absent is 0 - **except 1993, which is NaN for every state**
(GTD lost its 1993 data). Years before 1970 and after 2020 are NaN. Regions and "World" are
not states and are excluded by the name resolution (counted in the log), as is Western Sahara
(not coded as a state). Namibia's rows before independence (1990) are dropped with a log
entry. GTD terrorism overlaps heavily with UCDP one-sided violence and ACLED violence against
civilians.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from sahel_causal.data.countries import iso3_from_names
from sahel_causal.data.coverage import fill_zeros_within, finalize_types, to_spine
from sahel_causal.data.datalog import DataLog
from sahel_causal.data.registry import resolve
from sahel_causal.data.schema_check import check_raw_columns, fails_loudly, validate_frame
from sahel_causal.errors import DuplicateKeyError, SchemaError

SOURCE_ID = "gtd"
FILE = "gtd_country_year_owid_0522.csv"
COVERAGE = (1970, 2020)
#: Years inside :data:`COVERAGE` that the GTD does not cover.
MISSING_YEARS = (1993,)
#: Years of the returned country-year frame; outside coverage the values are NaN.
YEARS = (1945, 2025)
#: Source column -> output column.
COLUMNS = {
    "terrorist_incidents": "gtd_incidents",
    "terrorism_fatalities": "gtd_fatalities",
    "terrorism_injuries": "gtd_injuries",
}

_COUNT = pa.Column(float, pa.Check.ge(0), nullable=True)
COUNTRY_YEAR_SCHEMA = pa.DataFrameSchema(
    {
        "iso3": pa.Column(str, pa.Check.str_matches(r"^[A-Z]{3}$")),
        "year": pa.Column("int64", pa.Check.in_range(*YEARS)),
        **{c: _COUNT for c in COLUMNS.values()},
    },
    strict=True, ordered=True, unique=["iso3", "year"],
    checks=pa.Check(lambda d: (d["gtd_incidents"].isna() == d["gtd_fatalities"].isna())
                    & (d["gtd_incidents"].isna() == d["gtd_injuries"].isna()),
                    error="the three columns are missing together"),
)


def covered(year: pd.Series) -> pd.Series:
    """True for the years the GTD covers: 1970-2020 except 1993."""
    return year.between(*COVERAGE) & ~year.isin(MISSING_YEARS)


@fails_loudly
def load_country_year(raw_dir: Path, log: DataLog | None = None) -> pd.DataFrame:
    """GTD counts per African state-year, for the state-years of :data:`YEARS`.

    Columns:

    * ``iso3``, ``year`` - the state-year (years in which the state existed);
    * ``gtd_incidents`` - terrorist incidents (count);
    * ``gtd_fatalities`` - deaths in those incidents, perpetrators included (persons; GTD
      ``nkill`` with unknown counted as 0);
    * ``gtd_injuries`` - people wounded (persons).

    0 for covered state-years without incidents (1970-2020 except 1993); NaN in 1993, before
    1970 and after 2020.
    """
    if log is None:
        log = DataLog()
    path = resolve(SOURCE_ID, FILE, Path(raw_dir))
    raw = pd.read_csv(path)
    missing = [c for c in ["entity", "year", *COLUMNS] if c not in raw.columns]
    if missing:
        raise SchemaError(f"{SOURCE_ID}: {path} lacks columns {missing}; is it the registered OWID file?")
    check_raw_columns(raw, path, SOURCE_ID, integer=["year"], numeric=list(COLUMNS), required=["entity", *COLUMNS],
                      nonnegative=list(COLUMNS))
    iso3 = iso3_from_names(raw["entity"], SOURCE_ID)
    n_out = int(iso3.isna().sum())
    if n_out:
        out_names = raw.loc[iso3.isna(), "entity"]
        log.record(SOURCE_ID, "drop", n_out,
                   "out of scope: rows of non-African states, regions, 'World' and Western Sahara",
                   f"{n_out} of {len(raw)} rows, {out_names.nunique()} entities")
    df = raw[iso3.notna()].rename(columns=COLUMNS).assign(iso3=iso3[iso3.notna()].astype(str))
    df = df[["iso3", "year", *COLUMNS.values()]]
    dup = df[df.duplicated(["iso3", "year"], keep=False)]
    if len(dup):
        raise DuplicateKeyError(f"{SOURCE_ID}: several entities map to one state-year: "
                                f"{dup.head(6).to_dict('records')}; check country_name_variants.csv.")
    if (~covered(df["year"])).any():
        raise SchemaError(f"{SOURCE_ID}: rows outside 1970-2020 or in 1993; the registered file has none.")

    out = to_spine(df, list(COLUMNS.values()), SOURCE_ID, log, YEARS,
                   reason="rows for years before the state's independence (outside the state-year panel)",
                   describe=lambda r: f"{r.iso3} {r.year}: {r.gtd_incidents} incidents, {r.gtd_fatalities} deaths",
                   limit=None)
    fill_zeros_within(out, list(COLUMNS.values()), covered(out["year"]), SOURCE_ID, log,
                      "state-years of 1970-2020 (except 1993) without a row set to 0 (the file lists only "
                      "country-years with incidents)")
    log.record(SOURCE_ID, "flag", int((out["year"] == 1993).sum()),
               "1993 left NaN for every state: GTD lost its 1993 data")
    finalize_types(out)
    return validate_frame(out, COUNTRY_YEAR_SCHEMA, SOURCE_ID)


@fails_loudly
def load(raw_dir: Path, log: DataLog | None = None) -> pd.DataFrame:
    """The panel entry point: :func:`load_country_year`."""
    return load_country_year(raw_dir, log)
