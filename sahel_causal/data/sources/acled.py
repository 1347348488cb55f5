"""ACLED curated aggregates (release of 24 October 2025): political violence by African state.

Registry id ``acled``; five global files in ``acled_aggregates/`` with ACLED country names
(no codes):

* ``number_of_reported_fatalities_by_country-year_...xlsx`` - COUNTRY, YEAR, FATALITIES: all
  reported fatalities of all ACLED event types;
* ``number_of_reported_civilian_fatalities_by_country-year_...xlsx`` - fatalities of events
  targeting civilians;
* ``number_of_events_targeting_civilians_by_country-year_...xlsx`` - COUNTRY, YEAR, EVENTS;
* ``number_of_political_violence_events_by_country-month-year_...xlsx`` - COUNTRY, MONTH (an
  English month name, e.g. "January"), YEAR, EVENTS: battles, explosions/remote violence and
  violence against civilians;
* ``number_of_demonstration_events_by_country-year_...xlsx`` - protests and riots.

Citation: Raleigh, Clionadh, Roudabeh Kishi & Andrew Linke. 2023. "Political instability
patterns are obscured by conflict dataset scope conditions, sources, and coding choices."
Humanities and Social Sciences Communications 10, 74; ACLED, acleddata.com (accessed 24
October 2025).

Coverage and zeros. ACLED covers African states from January 1997, except five island states
it added from January 2020 (Cabo Verde, Comoros, Mauritius, São Tomé and Príncipe,
Seychelles: :data:`LATE_START`; the files have no rows for them before 2020, while the
monthly file lists explicit zero months for every covered country up to 2021) and South Sudan,
which exists from 2011. Within a country's coverage, ACLED lists only the country-years (and,
from 2022, the country-months) that have events, so an absent country-year or month is 0.
Before coverage starts the values are NaN. The release runs to 24 October 2025: 2025 is a
partial year (January to October, and October itself only to the 24th), flagged by
``acled_partial_year`` and ``acled_months_covered``. The 2025 values are year-to-date
counts, not comparable to full years without rescaling.
"""
from __future__ import annotations

import calendar
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from sahel_causal.data.countries import crosswalk, iso3_from_names, state_years
from sahel_causal.data.coverage import finalize_types
from sahel_causal.data.datalog import DataLog
from sahel_causal.data.registry import resolve
from sahel_causal.data.schema_check import fails_loudly, validate_frame
from sahel_causal.errors import DuplicateKeyError, SchemaError

SOURCE_ID = "acled"
RELEASE_DATE = date(2025, 10, 24)
FIRST_YEAR = 1997
#: Countries whose ACLED coverage starts after 1997 (ACLED added small island states in 2020).
LATE_START = {"CPV": 2020, "COM": 2020, "MUS": 2020, "STP": 2020, "SYC": 2020}
#: Years of the returned country-year frame; outside coverage the values are NaN.
YEARS = (1945, 2025)

_SUFFIX = "_by_country-year_as-of-24Oct2025_0.xlsx"
#: Output column -> (file name, value column) of the country-year files.
YEAR_FILES = {
    "acled_fatalities": ("number_of_reported_fatalities" + _SUFFIX, "FATALITIES"),
    "acled_civilian_fatalities": ("number_of_reported_civilian_fatalities" + _SUFFIX, "FATALITIES"),
    "acled_civilian_events": ("number_of_events_targeting_civilians" + _SUFFIX, "EVENTS"),
    "acled_demonstrations": ("number_of_demonstration_events" + _SUFFIX, "EVENTS"),
}
MONTH_FILE = "number_of_political_violence_events_by_country-month-year_as-of-24Oct2025_0.xlsx"
VALUE_COLUMNS = ["acled_fatalities", "acled_civilian_fatalities", "acled_civilian_events",
                 "acled_pv_events", "acled_demonstrations"]

_MONTHS = {name.lower(): i for i, name in enumerate(calendar.month_name) if name}
_MONTHS.update({name.lower(): i for i, name in enumerate(calendar.month_abbr) if name})

_KEY = {
    "iso3": pa.Column(str, pa.Check.str_matches(r"^[A-Z]{3}$")),
    "year": pa.Column("int64", pa.Check.in_range(*YEARS)),
}
COUNTRY_YEAR_SCHEMA = pa.DataFrameSchema(
    {
        **_KEY,
        **{c: pa.Column(float, pa.Check.ge(0), nullable=True) for c in VALUE_COLUMNS},
        "acled_partial_year": pa.Column(bool),
        "acled_months_covered": pa.Column("int64", pa.Check.in_range(0, 12)),
    },
    strict=True, ordered=True, unique=["iso3", "year"],
    checks=[
        pa.Check(lambda d: d["acled_pv_events"].notna() == (d["acled_months_covered"] > 0),
                 error="values are missing exactly where no month is covered"),
        pa.Check(lambda d: d["acled_partial_year"] == d["acled_months_covered"].between(1, 11),
                 error="partial year = some but not all months covered"),
        pa.Check(lambda d: ~(d["acled_civilian_fatalities"] > d["acled_fatalities"]),
                 error="civilian fatalities <= all fatalities"),
        pa.Check(lambda d: ~(d["acled_civilian_events"] > d["acled_pv_events"]),
                 error="events targeting civilians <= political-violence events"),
    ],
)
COUNTRY_MONTH_SCHEMA = pa.DataFrameSchema(
    {
        **_KEY,
        "year": pa.Column("int64", pa.Check.in_range(FIRST_YEAR, RELEASE_DATE.year)),
        "month": pa.Column("int64", pa.Check.in_range(1, 12)),
        "acled_pv_events": pa.Column("int64", pa.Check.ge(0)),
        "acled_month_complete": pa.Column(bool),
    },
    strict=True, ordered=True, unique=["iso3", "year", "month"],
)


def coverage_start() -> dict[str, int]:
    """First year ACLED covers each African state (1997, the state's first year, or :data:`LATE_START`)."""
    cw = crosswalk()
    return {iso3: max(FIRST_YEAR, int(start), LATE_START.get(iso3, FIRST_YEAR))
            for iso3, start in zip(cw["iso3"], cw["state_start"])}


def parse_month(names: pd.Series) -> pd.Series:
    """Month numbers 1-12 from ACLED month names ("January"; case and spaces ignored)."""
    key = names.astype(str).str.strip().str.lower()
    num = key.map(_MONTHS)
    bad = sorted(set(names[num.isna()].astype(str)))
    if bad:
        raise SchemaError(f"{SOURCE_ID}: unrecognised month names {bad[:10]} in {MONTH_FILE}; "
                          "extend parse_month if ACLED changed the format.")
    return num.astype("int64")


def _read(raw_dir: Path, name: str, value: str, log: DataLog, monthly: bool = False) -> pd.DataFrame:
    """One ACLED file, restricted to African states, with ``iso3`` (non-African rows logged)."""
    path = resolve(SOURCE_ID, name, Path(raw_dir))
    raw = pd.read_excel(path)
    cols = ["COUNTRY", "YEAR", *(["MONTH"] if monthly else []), value]
    missing = [c for c in cols if c not in raw.columns]
    if missing:
        raise SchemaError(f"{SOURCE_ID}: {path.name} lacks columns {missing}; is it the registered release?")
    iso3 = iso3_from_names(raw["COUNTRY"], SOURCE_ID)
    n_out = int(iso3.isna().sum())
    if n_out:
        log.record(SOURCE_ID, "drop", n_out, f"out of scope: rows of non-African countries in {name}",
                   f"{n_out} of {len(raw)} rows")
    a = raw[iso3.notna()]
    out = pd.DataFrame({"iso3": iso3[iso3.notna()].astype(str), "year": a["YEAR"].astype("int64")})
    if monthly:
        out["month"] = parse_month(a["MONTH"])
    out["value"] = pd.to_numeric(a[value], errors="raise").astype("int64")
    key = ["iso3", "year", *(["month"] if monthly else [])]
    dup = out[out.duplicated(key, keep=False)]
    if len(dup):
        raise DuplicateKeyError(f"{SOURCE_ID}: {name} has duplicated {key} after name resolution: "
                                f"{dup.head(6).to_dict('records')}; check country_name_variants.csv.")
    if (out["value"] < 0).any():
        raise SchemaError(f"{SOURCE_ID}: negative counts in {name}.")
    start = out["iso3"].map(coverage_start())
    early = out[out["year"] < start]
    if len(early):
        raise SchemaError(
            f"{SOURCE_ID}: {name} has rows before the coverage start assumed in acled.py "
            f"(e.g. {early.head(3).to_dict('records')}); update LATE_START/FIRST_YEAR."
        )
    return out.reset_index(drop=True)


def _last_month(monthly: pd.DataFrame) -> tuple[int, int]:
    """(year, month) of the release's last month, checked against :data:`RELEASE_DATE`."""
    last_year = int(monthly["year"].max())
    last_month = int(monthly.loc[monthly["year"] == last_year, "month"].max())
    if (last_year, last_month) != (RELEASE_DATE.year, RELEASE_DATE.month):
        raise SchemaError(
            f"{SOURCE_ID}: the monthly file ends in {last_year}-{last_month:02d}, not in the release "
            f"month {RELEASE_DATE:%Y-%m}; update RELEASE_DATE for the registered release."
        )
    return last_year, last_month


def _check_monthly_start(monthly: pd.DataFrame) -> None:
    """The monthly file lists zero months up to 2021, so its first year per state is the coverage start."""
    first = monthly.groupby("iso3")["year"].min()
    expected = pd.Series(coverage_start())
    diff = [(i, int(first.get(i, -1)), int(expected[i])) for i in expected.index if first.get(i, -1) != expected[i]]
    if diff:
        raise SchemaError(f"{SOURCE_ID}: first year in {MONTH_FILE} differs from the assumed coverage "
                          f"start for (iso3, file, assumed) {diff}; update LATE_START.")


@fails_loudly
def load_country_month(raw_dir: Path, log: DataLog | None = None) -> pd.DataFrame:
    """Political-violence events per African state-month inside ACLED coverage.

    Columns:

    * ``iso3``, ``year``, ``month`` (1-12) - the state-month; rows run from January of the
      state's coverage start (:func:`coverage_start`) to October 2025, the release month;
      later months are absent (not rows);
    * ``acled_pv_events`` - political-violence events in the month (count); 0 for covered
      months the file does not list (it lists every month to 2021 and only months with events
      from 2022);
    * ``acled_month_complete`` - False for October 2025, which the release covers only to the
      24th; True otherwise.
    """
    if log is None:
        log = DataLog()
    monthly = _read(raw_dir, MONTH_FILE, "EVENTS", log, monthly=True)
    _check_monthly_start(monthly)
    last_year, last_month = _last_month(monthly)
    rows = []
    for iso3, start in coverage_start().items():
        for year in range(start, last_year + 1):
            for month in range(1, (last_month if year == last_year else 12) + 1):
                rows.append((iso3, year, month))
    grid = pd.DataFrame(rows, columns=["iso3", "year", "month"])
    out = grid.merge(monthly, on=["iso3", "year", "month"], how="left", validate="one_to_one")
    lost = len(monthly) - int(out["value"].notna().sum())
    if lost:
        raise SchemaError(f"{SOURCE_ID}: {lost} monthly rows fall outside the coverage grid.")
    n_fill = int(out["value"].isna().sum())
    log.record(SOURCE_ID, "fill", n_fill, "covered state-months absent from the monthly "
               "political-violence file set to 0 (ACLED lists only months with events from 2022)")
    out["acled_pv_events"] = out["value"].fillna(0).astype("int64")
    out["acled_month_complete"] = ~((out["year"] == RELEASE_DATE.year) & (out["month"] == RELEASE_DATE.month))
    log.record(SOURCE_ID, "flag", int((~out["acled_month_complete"]).sum()),
               f"{RELEASE_DATE:%B %Y} is covered only to {RELEASE_DATE:%d %B %Y} (release date): "
               "its counts are incomplete", "acled_month_complete = False")
    out = out.drop(columns="value").sort_values(["iso3", "year", "month"], ignore_index=True)
    return validate_frame(out, COUNTRY_MONTH_SCHEMA, SOURCE_ID, "country-month table")


@fails_loudly
def load_country_year(raw_dir: Path, log: DataLog | None = None) -> pd.DataFrame:
    """ACLED counts per African state-year, for the state-years of :data:`YEARS`.

    Columns (NaN before the state's coverage start: 1997 for most states, 2020 for five
    island states, see :data:`LATE_START`; 0 for covered years without events):

    * ``acled_fatalities`` - reported fatalities of all events (persons);
    * ``acled_civilian_fatalities`` - reported fatalities in events targeting civilians;
    * ``acled_civilian_events`` - events targeting civilians (count);
    * ``acled_pv_events`` - political-violence events, summed over the months of the
      country-month file (count);
    * ``acled_demonstrations`` - demonstration events: protests and riots (count);
    * ``acled_months_covered`` - months of the year ACLED covers (12; 10 for 2025, January to
      October, with October only to the 24th; 0 before coverage);
    * ``acled_partial_year`` - True when only part of the year is covered (2025).
    """
    if log is None:
        log = DataLog()
    spine = state_years(*YEARS)[["iso3", "year"]]
    start = spine["iso3"].map(coverage_start())
    monthly = load_country_month(raw_dir, log)
    last_year = int(monthly["year"].max())
    last_month = int(monthly.loc[monthly["year"] == last_year, "month"].max())
    months = np.where(spine["year"] < start, 0,
                      np.where(spine["year"] == last_year, last_month,
                               np.where(spine["year"] > last_year, 0, 12)))
    out = spine.copy()
    covered = pd.Series(months > 0, index=out.index)

    values: dict[str, pd.DataFrame] = {
        col: _read(raw_dir, name, value, log) for col, (name, value) in YEAR_FILES.items()
    }
    values["acled_pv_events"] = (monthly.groupby(["iso3", "year"], as_index=False)["acled_pv_events"]
                                 .sum().rename(columns={"acled_pv_events": "value"}))
    for col in VALUE_COLUMNS:
        v = values[col]
        merged = out[["iso3", "year"]].merge(v, on=["iso3", "year"], how="left", validate="one_to_one")
        lost = len(v) - int(merged["value"].notna().sum())
        if lost:
            raise SchemaError(f"{SOURCE_ID}: {col}: {lost} rows outside the state-year spine {YEARS}.")
        n_fill = int((covered & merged["value"].isna()).sum())
        if n_fill and col != "acled_pv_events":
            log.record(SOURCE_ID, "fill", n_fill, f"{col}: covered state-years absent from the file "
                       "set to 0 (ACLED lists only country-years with events)")
        out[col] = np.where(covered, merged["value"].fillna(0), np.nan).astype(float)
    out["acled_partial_year"] = (months > 0) & (months < 12)
    out["acled_months_covered"] = months.astype("int64")
    finalize_types(out)
    log.record(SOURCE_ID, "flag", int(out["acled_partial_year"].sum()),
               f"{last_year} is partial: ACLED release as of {RELEASE_DATE:%d %B %Y} "
               f"({last_month} months, the last incomplete)", "acled_partial_year = True")
    return validate_frame(out, COUNTRY_YEAR_SCHEMA, SOURCE_ID, "country-year table")


@fails_loudly
def load(raw_dir: Path, log: DataLog | None = None) -> pd.DataFrame:
    """The panel entry point: :func:`load_country_year`."""
    return load_country_year(raw_dir, log)
