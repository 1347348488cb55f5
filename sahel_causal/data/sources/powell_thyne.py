"""Powell & Thyne, "Global Instances of Coups": coup attempts in African states.

Source file ``powell_thyne/powell_thyne_coups_final.txt`` (version V2023.09.08; registry id
``powell_thyne``): one tab-separated row per coup attempt worldwide, 1950 to September 2023,
with the COW country code (``ccode``), the date (``year``, ``month``, ``day``) and ``coup``
(1 = failed, 2 = successful). A coup attempt is "an illegal and overt attempt by the military
or other elites within the state apparatus to unseat the sitting executive".

Citation: Powell, Jonathan M. & Clayton L. Thyne. 2011. "Global Instances of Coups from 1950
to 2010: A New Dataset." Journal of Peace Research 48(2): 249-259.

What the loader does:

* applies the documented corrections of ``data/corrections.csv`` to the raw rows (the Niger
  coup of 26 July 2023 is recorded as 26 June in this copy; it is corrected to month 7);
* maps COW codes to ISO3 and keeps the events of the 54 African states; events elsewhere are
  out of scope and only counted in the data log;
* :func:`load_country_year` counts events per African state-year.

Coverage: the event list is complete for 1950-2023, so a state-year of 1950-2023 in which the
state existed and no coup is listed is a true 0. **The year 2023 is treated as covered
although the file's version date is 8 September 2023 and its last event is Gabon, 30 August
2023**: coup attempts between September and December 2023 (for instance the attack in
Freetown on 26 November 2023 that Sierra Leone's government called a failed coup attempt) are
not in this file and appear as 0. Years before 1950 and after 2023 are not covered (NaN).
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from sahel_causal.data.corrections import apply_corrections
from sahel_causal.data.countries import iso3_from_code
from sahel_causal.data.coverage import (
    counts_to_spine, drop_events_before_independence, fill_zeros_within, finalize_types)
from sahel_causal.data.datalog import DataLog
from sahel_causal.data.registry import resolve
from sahel_causal.data.schema_check import check_raw_columns, fails_loudly, validate_frame
from sahel_causal.errors import DuplicateKeyError, ImplausibleValueError, SchemaError

SOURCE_ID = "powell_thyne"
FILE = "powell_thyne_coups_final.txt"
#: First and last calendar year the event list covers completely (see module docstring on 2023).
COVERAGE = (1950, 2023)
#: Years of the returned country-year frame; outside :data:`COVERAGE` the counts are NaN.
YEARS = (1945, 2025)
RAW_COLUMNS = ["country", "ccode", "ccode_gw", "ccode_polity", "year", "month", "day", "coup", "version"]

EVENTS_SCHEMA = pa.DataFrameSchema(
    {
        "iso3": pa.Column(str, pa.Check.str_matches(r"^[A-Z]{3}$")),
        "year": pa.Column("int64", pa.Check.in_range(*COVERAGE)),
        "month": pa.Column("int64", pa.Check.in_range(1, 12)),
        "day": pa.Column("int64", pa.Check.in_range(1, 31)),
        "date": pa.Column("datetime64[ns]"),
        "successful": pa.Column(bool),
    },
    strict=True,
    ordered=True,
    unique=["iso3", "date"],
)

_COUNT = pa.Column(float, pa.Check.ge(0), nullable=True)
COUNTRY_YEAR_SCHEMA = pa.DataFrameSchema(
    {
        "iso3": pa.Column(str, pa.Check.str_matches(r"^[A-Z]{3}$")),
        "year": pa.Column("int64", pa.Check.in_range(*YEARS)),
        "coup_attempts": _COUNT,
        "coup_successes": _COUNT,
        "coup_failed": _COUNT,
        "pt_covered": pa.Column(bool),
    },
    strict=True,
    ordered=True,
    unique=["iso3", "year"],
    checks=[
        pa.Check(lambda d: (d["coup_successes"] + d["coup_failed"] == d["coup_attempts"])
                 | d["coup_attempts"].isna(), error="attempts = successes + failed"),
        pa.Check(lambda d: d["coup_attempts"].notna() == d["pt_covered"],
                 error="counts are missing exactly where pt_covered is False"),
    ],
)


@fails_loudly
def read_raw(raw_dir: Path) -> pd.DataFrame:
    """The registered event file as published (all countries), checksum-verified, uncorrected."""
    path = resolve(SOURCE_ID, FILE, Path(raw_dir))
    raw = pd.read_csv(path, sep="\t")
    missing = [c for c in RAW_COLUMNS if c not in raw.columns]
    if missing:
        raise SchemaError(f"{SOURCE_ID}: {path} lacks columns {missing}; is it the V2023.09.08 event file?")
    check_raw_columns(raw, path, SOURCE_ID, integer=["ccode", "year", "month", "day", "coup"], sep="\t")
    return raw


@fails_loudly
def load_events(raw_dir: Path, log: DataLog | None = None) -> pd.DataFrame:
    """One row per coup attempt in an African state, 1950-2023 (corrections applied).

    Columns:

    * ``iso3`` - ISO 3166 alpha-3 code of the state (from the COW code ``ccode``);
    * ``year``, ``month``, ``day`` - date of the attempt (integers);
    * ``date`` - the same date as a timestamp;
    * ``successful`` - True when the incumbent was removed for at least seven days
      (source ``coup == 2``), False for a failed attempt (``coup == 1``).

    Events in non-African states are out of scope: they are not returned and their number is
    recorded in ``log`` (kind ``drop``). The Niger 2023 month correction is recorded (kind
    ``correct``).
    """
    if log is None:
        log = DataLog()
    raw = read_raw(raw_dir)
    fixed = apply_corrections(raw, SOURCE_ID, log)

    bad_coup = fixed[~fixed["coup"].isin([1, 2])]
    if len(bad_coup):
        raise ImplausibleValueError(
            f"{SOURCE_ID}: {len(bad_coup)} events have a coup code other than 1/2 "
            f"(e.g. {bad_coup[['country', 'year', 'coup']].head(3).to_dict('records')}); "
            "add a documented correction to data/corrections.csv."
        )
    date = pd.to_datetime(fixed[["year", "month", "day"]], errors="coerce")
    if date.isna().any():
        bad = fixed.loc[date.isna(), ["country", "year", "month", "day"]]
        raise ImplausibleValueError(
            f"{SOURCE_ID}: invalid event dates {bad.head(5).to_dict('records')}; "
            "add a documented correction to data/corrections.csv."
        )

    iso3 = iso3_from_code(fixed["ccode"], "cow", SOURCE_ID)
    african = iso3.notna()
    n_out = int((~african).sum())
    if n_out:
        log.record(SOURCE_ID, "drop", n_out, "out of scope: coup events in non-African states",
                   f"{n_out} of {len(fixed)} events ({fixed.loc[~african, 'ccode'].nunique()} states)")

    out = pd.DataFrame({
        "iso3": iso3[african].astype(str),
        "year": fixed.loc[african, "year"].astype("int64"),
        "month": fixed.loc[african, "month"].astype("int64"),
        "day": fixed.loc[african, "day"].astype("int64"),
        "date": date[african].astype("datetime64[ns]"),
        "successful": fixed.loc[african, "coup"].eq(2),
    })
    out = out.sort_values(["iso3", "date"], ignore_index=True)
    dup = out[out.duplicated(["iso3", "date"], keep=False)]
    if len(dup):
        raise DuplicateKeyError(f"{SOURCE_ID}: several events share a state and date: {dup.to_dict('records')}.")
    return validate_frame(out, EVENTS_SCHEMA, SOURCE_ID, "event table")


@fails_loudly
def load_country_year(raw_dir: Path, log: DataLog | None = None) -> pd.DataFrame:
    """Coup counts per African state-year, for the state-years of :data:`YEARS`.

    Columns:

    * ``iso3``, ``year`` - the state-year (only years in which the state existed, from
      ``data/reference/countries.csv``);
    * ``coup_attempts`` - number of coup attempts, successful and failed (count);
    * ``coup_successes`` - number of successful coups (count);
    * ``coup_failed`` - number of failed attempts (count);
    * ``pt_covered`` - True for 1950-2023, the years the event list covers.

    The counts are 0 for covered state-years without an event (the list is complete for its
    window; 2023 is treated as covered although the file ends in September 2023, see the
    module docstring) and NaN where ``pt_covered`` is False (before 1950, after 2023).
    """
    if log is None:
        log = DataLog()
    ev = load_events(raw_dir, log)

    # Events in a year before the state's independence cannot be placed in the state-year panel.
    ev = drop_events_before_independence(ev, SOURCE_ID, log, lambda r: f"{r.iso3} {r.date:%Y-%m-%d}")

    counts = (ev.assign(success=ev["successful"].astype(int))
                .groupby(["iso3", "year"], as_index=False)
                .agg(coup_attempts=("success", "size"), coup_successes=("success", "sum")))
    counts["coup_failed"] = counts["coup_attempts"] - counts["coup_successes"]

    out = counts_to_spine(counts, YEARS, SOURCE_ID, "coups")
    out["pt_covered"] = out["year"].between(*COVERAGE)
    fill_zeros_within(out, ["coup_attempts", "coup_successes", "coup_failed"], out["pt_covered"], SOURCE_ID, log,
                      "state-years of 1950-2023 without a listed coup set to 0 (the event list is complete "
                      "for its window)", "2023 treated as covered though the file ends September 2023")
    finalize_types(out)
    log.record(SOURCE_ID, "flag", int((out["year"] == COVERAGE[1]).sum()),
               "2023 counts cover events to early September 2023 only (version V2023.09.08); "
               "attempts later in 2023 are missing and appear as 0")
    return validate_frame(out, COUNTRY_YEAR_SCHEMA, SOURCE_ID, "country-year table")


@fails_loudly
def load(raw_dir: Path, log: DataLog | None = None) -> pd.DataFrame:
    """The panel entry point: :func:`load_country_year`."""
    return load_country_year(raw_dir, log)
