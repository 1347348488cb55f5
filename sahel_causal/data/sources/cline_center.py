"""Cline Center Coup d'Etat Project (CDP) v2.1.2: coups, attempts and conspiracies in Africa.

Source file ``cline_center_coups/Coup_Data_v2.1.2.csv`` (registry id ``cline_center``): one
row per event worldwide, 1945-2022, with the COW code (``cowcode``), the date, ``event_type``
(``coup`` = realized coup, ``attempted`` = attempt that failed, ``conspiracy`` = plot
discovered before it was carried out) and 0/1 indicators ``realized``, ``unrealized``
(= attempted or conspiracy), ``attempt`` and ``conspiracy``. This is a robustness source;
Powell & Thyne (:mod:`sahel_causal.data.sources.powell_thyne`) is the main coup source.

Citation: Peyton, Buddy, Joseph Bajjalieh, Dan Shalmon, Michael Martin, Jonathan Bonaguro &
Scott Althaus. 2023. Cline Center Coup d'Etat Project Dataset, v2.1.2. Cline Center for
Advanced Social Research, University of Illinois Urbana-Champaign. doi:10.13012/B2IDB-9651987_V6

Coverage: 1945-2022; a state-year in that window without a listed event is 0, later years are
NaN. **Known gap: Guinea's coup of 5 September 2021 is missing from this copy** (its latest
Guinea event is 2011), so Guinea 2021 shows 0 realized coups although a coup took place; the
loader records this in the data log (kind ``flag``). There is nothing for 2023 (no Niger or
Gabon coups) because the data end in 2022.
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
from sahel_causal.errors import ImplausibleValueError, SchemaError

SOURCE_ID = "cline_center"
FILE = "Coup_Data_v2.1.2.csv"
COVERAGE = (1945, 2022)
#: Years of the returned country-year frame; outside :data:`COVERAGE` the counts are NaN.
YEARS = (1945, 2025)
EVENT_TYPES = ("coup", "attempted", "conspiracy")
RAW_COLUMNS = ["coup_id", "cowcode", "country", "year", "month", "day", "event_type",
               "unrealized", "realized", "conspiracy", "attempt"]

EVENTS_SCHEMA = pa.DataFrameSchema(
    {
        "coup_id": pa.Column(str, unique=True),
        "iso3": pa.Column(str, pa.Check.str_matches(r"^[A-Z]{3}$")),
        "year": pa.Column("int64", pa.Check.in_range(*COVERAGE)),
        "month": pa.Column("int64", pa.Check.in_range(1, 12)),
        "day": pa.Column("int64", pa.Check.in_range(1, 31)),
        "date": pa.Column("datetime64[ns]"),
        "event_type": pa.Column(str, pa.Check.isin(EVENT_TYPES)),
        "realized": pa.Column(bool),
        "attempted": pa.Column(bool),
        "conspiracy": pa.Column(bool),
    },
    strict=True,
    ordered=True,
    checks=pa.Check(lambda d: d[["realized", "attempted", "conspiracy"]].sum(axis=1) == 1,
                    error="each event is exactly one of realized/attempted/conspiracy"),
)

_COUNT = pa.Column(float, pa.Check.ge(0), nullable=True)
COUNTRY_YEAR_SCHEMA = pa.DataFrameSchema(
    {
        "iso3": pa.Column(str, pa.Check.str_matches(r"^[A-Z]{3}$")),
        "year": pa.Column("int64", pa.Check.in_range(*YEARS)),
        "cline_coups_realized": _COUNT,
        "cline_coups_attempted": _COUNT,
        "cline_conspiracies": _COUNT,
        "cline_covered": pa.Column(bool),
    },
    strict=True,
    ordered=True,
    unique=["iso3", "year"],
    checks=pa.Check(lambda d: d["cline_coups_realized"].notna() == d["cline_covered"],
                    error="counts are missing exactly where cline_covered is False"),
)


@fails_loudly
def read_raw(raw_dir: Path) -> pd.DataFrame:
    """The registered event file as published (all countries), checksum-verified."""
    path = resolve(SOURCE_ID, FILE, Path(raw_dir))
    raw = pd.read_csv(path, dtype={"coup_id": str})
    missing = [c for c in RAW_COLUMNS if c not in raw.columns]
    if missing:
        raise SchemaError(f"{SOURCE_ID}: {path} lacks columns {missing}; is it the CDP v2.1.2 event file?")
    check_raw_columns(raw, path, SOURCE_ID, integer=["cowcode", "year"])
    return raw


def _check_indicators(raw: pd.DataFrame) -> None:
    """The 0/1 indicators must agree with ``event_type``; raise otherwise."""
    expected = pd.DataFrame({
        "realized": raw["event_type"].eq("coup"),
        "attempt": raw["event_type"].eq("attempted"),
        "conspiracy": raw["event_type"].eq("conspiracy"),
        "unrealized": raw["event_type"].isin(["attempted", "conspiracy"]),
    }).astype(int)
    bad = raw[(raw[list(expected.columns)] != expected).any(axis=1) | ~raw["event_type"].isin(EVENT_TYPES)]
    if len(bad):
        raise ImplausibleValueError(
            f"{SOURCE_ID}: {len(bad)} events whose indicators disagree with event_type, e.g. "
            f"{bad[['coup_id', 'event_type', 'realized', 'attempt', 'conspiracy']].head(3).to_dict('records')}; "
            "add a documented correction to data/corrections.csv."
        )


@fails_loudly
def load_events(raw_dir: Path, log: DataLog | None = None) -> pd.DataFrame:
    """One row per CDP event in an African state, 1945-2022.

    Columns:

    * ``coup_id`` - the CDP event identifier (COW code + date);
    * ``iso3`` - ISO3 code of the state (from ``cowcode``);
    * ``year``, ``month``, ``day``, ``date`` - date of the event;
    * ``event_type`` - ``coup`` (realized), ``attempted`` (failed attempt) or ``conspiracy``;
    * ``realized``, ``attempted``, ``conspiracy`` - booleans, exactly one is True.

    Events in non-African states are out of scope and only counted in ``log`` (kind ``drop``).
    Guinea's 2021 coup is missing from the source (see the module docstring).
    """
    if log is None:
        log = DataLog()
    raw = apply_corrections(read_raw(raw_dir), SOURCE_ID, log)
    _check_indicators(raw)
    date = pd.to_datetime(raw[["year", "month", "day"]], errors="coerce")
    if date.isna().any():
        bad = raw.loc[date.isna(), ["coup_id", "year", "month", "day"]]
        raise ImplausibleValueError(
            f"{SOURCE_ID}: invalid event dates {bad.head(5).to_dict('records')}; "
            "add a documented correction to data/corrections.csv."
        )
    iso3 = iso3_from_code(raw["cowcode"], "cow", SOURCE_ID)
    african = iso3.notna()
    n_out = int((~african).sum())
    if n_out:
        log.record(SOURCE_ID, "drop", n_out, "out of scope: events in non-African states",
                   f"{n_out} of {len(raw)} events ({raw.loc[~african, 'cowcode'].nunique()} states)")
    a = raw[african]
    out = pd.DataFrame({
        "coup_id": a["coup_id"].astype(str),
        "iso3": iso3[african].astype(str),
        "year": a["year"].astype("int64"),
        "month": a["month"].astype("int64"),
        "day": a["day"].astype("int64"),
        "date": date[african].astype("datetime64[ns]"),
        "event_type": a["event_type"].astype(str),
        "realized": a["event_type"].eq("coup"),
        "attempted": a["event_type"].eq("attempted"),
        "conspiracy": a["event_type"].eq("conspiracy"),
    }).sort_values(["iso3", "date", "coup_id"], ignore_index=True)

    guinea_2021 = out[(out["iso3"] == "GIN") & (out["year"] == 2021) & out["realized"]]
    if guinea_2021.empty:
        log.record(SOURCE_ID, "flag", 1,
                   "Guinea's coup of 5 September 2021 is missing from this copy of CDP v2.1.2 "
                   "(latest Guinea event: 2011); GIN 2021 shows 0 realized coups",
                   "Powell & Thyne record the coup (2021-09-05, successful); use P&T as the main source")
    else:
        log.record(SOURCE_ID, "note", 1, "Guinea's 2021 coup is present: the known gap of this copy is "
                   "fixed; update the docstrings and MANIFEST.md")
    return validate_frame(out, EVENTS_SCHEMA, SOURCE_ID, "event table")


@fails_loudly
def load_country_year(raw_dir: Path, log: DataLog | None = None) -> pd.DataFrame:
    """CDP event counts per African state-year, for the state-years of :data:`YEARS`.

    Columns:

    * ``iso3``, ``year`` - the state-year (years in which the state existed);
    * ``cline_coups_realized`` - realized coups (count);
    * ``cline_coups_attempted`` - attempted coups that failed (count; CDP "attempted",
      conspiracies excluded);
    * ``cline_conspiracies`` - coup conspiracies (count);
    * ``cline_covered`` - True for 1945-2022.

    Counts are 0 for covered state-years without an event and NaN after 2022. Guinea 2021 is
    0 although a coup took place (missing from the source; see the data log).
    """
    if log is None:
        log = DataLog()
    ev = load_events(raw_dir, log)
    ev = drop_events_before_independence(ev, SOURCE_ID, log,
                                         lambda r: f"{r.iso3} {r.date:%Y-%m-%d} {r.event_type}")
    counts = (ev.groupby(["iso3", "year"], as_index=False)
                .agg(cline_coups_realized=("realized", "sum"),
                     cline_coups_attempted=("attempted", "sum"),
                     cline_conspiracies=("conspiracy", "sum")))
    out = counts_to_spine(counts, YEARS, SOURCE_ID, "events")
    out["cline_covered"] = out["year"].between(*COVERAGE)
    fill_zeros_within(out, ["cline_coups_realized", "cline_coups_attempted", "cline_conspiracies"],
                      out["cline_covered"], SOURCE_ID, log,
                      "state-years of 1945-2022 without a listed event set to 0 (the event list is complete "
                      "for its window)")
    finalize_types(out)
    return validate_frame(out, COUNTRY_YEAR_SCHEMA, SOURCE_ID, "country-year table")


@fails_loudly
def load(raw_dir: Path, log: DataLog | None = None) -> pd.DataFrame:
    """The panel entry point: :func:`load_country_year`."""
    return load_country_year(raw_dir, log)
