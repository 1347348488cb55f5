"""Polity5 ``polity2`` regime score per African state-year, 1946-2018.

Source file ``polity5/p5v2018.xls`` (registry id ``polity5``): the Polity5 annual time series
p5v2018, trimmed by a third party to ``scode`` (Polity country code), ``country``, ``year`` and
``polity2`` (two USA rows for 2019-2020 were added; irrelevant here). Read with ``xlrd``.

Citation: Marshall, Monty G. & Ted Robert Gurr. 2020. Polity5: Political Regime Characteristics
and Transitions, 1800-2018. Center for Systemic Peace.

Rules:

* Countries are matched by name through the crosswalk (Polity spellings such as "Congo
  Kinshasa", "Sudan-North" are in ``country_name_variants.csv``); non-African polities are
  out of scope.
* **State changes coded in the same year.** Polity ends an old polity and starts its successor
  in the same year: Sudan (``SUD``, 1956-2011) and Sudan-North (``SDN``, 2011-2018) both have
  2011; Ethiopia (``ETH``, to 1993) and Ethiopia (``ETI``, from 1993) both have 1993. The
  study keeps the **successor's** value (the polity in place at the end of the year): SDN 2011
  = -4 (not -2), ETH 1993 = 1 (not 0). Both choices are logged.
* Special codes -66/-77/-88 never appear in ``polity2`` for African states; if any did they
  would become NaN (logged). Missing ``polity2`` (e.g. Somalia 2011) stays NaN.
* Years: 1946-2018 are covered; earlier years are outside the frame; 2019-2025 are NaN.
  Polity5 does not code Sao Tome and Principe or Seychelles (NaN throughout).
"""
from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from sahel_causal.data.countries import iso3_from_names
from sahel_causal.data.coverage import finalize_types, to_spine
from sahel_causal.data.datalog import DataLog
from sahel_causal.data.registry import resolve
from sahel_causal.data.schema_check import fails_loudly, validate_frame
from sahel_causal.errors import DuplicateKeyError, SchemaError

SOURCE_ID = "polity5"
FILE = "p5v2018.xls"
COVERAGE = (1946, 2018)
#: Years of the returned country-year frame; outside :data:`COVERAGE` the values are NaN.
YEARS = (1946, 2025)
#: Polity code of the successor polity kept where two polities share a state-year.
SUCCESSOR_CODES = ("SDN", "ETI")
SPECIAL_CODES = (-66, -77, -88)

COUNTRY_YEAR_SCHEMA = pa.DataFrameSchema(
    {
        "iso3": pa.Column(str, pa.Check.str_matches(r"^[A-Z]{3}$")),
        "year": pa.Column("int64", pa.Check.in_range(*YEARS)),
        "polity2": pa.Column(float, pa.Check.in_range(-10, 10), nullable=True),
    },
    strict=True, ordered=True, unique=["iso3", "year"],
    checks=pa.Check(lambda d: d["polity2"].isna() | d["year"].between(*COVERAGE),
                    error="values only within 1946-2018"),
)


@fails_loudly
def load(raw_dir: Path, log: DataLog | None = None) -> pd.DataFrame:
    """Polity5 regime scores per African state-year.

    Columns:

    * ``iso3``, ``year`` - the state-year (years in which the state existed, 1946-2025);
    * ``polity2`` - the combined Polity score, -10 (full autocracy) to +10 (full democracy),
      with interregna and transitions interpolated by Polity's ``polity2`` rule.

    NaN where Polity5 has no value, for states it does not code, and after 2018.
    """
    if log is None:
        log = DataLog()
    path = resolve(SOURCE_ID, FILE, Path(raw_dir))
    with warnings.catch_warnings():  # pandas warns that the xlrd engine is deprecated; the file is .xls
        warnings.simplefilter("ignore")
        raw = pd.read_excel(path, engine="xlrd")
    missing = [c for c in ["scode", "country", "year", "polity2"] if c not in raw.columns]
    if missing:
        raise SchemaError(f"{SOURCE_ID}: {path} lacks columns {missing}; is it the registered p5v2018 copy?")
    iso3 = iso3_from_names(raw["country"], SOURCE_ID)
    log.record(SOURCE_ID, "drop", int(iso3.isna().sum()), "out of scope: rows of non-African polities")
    df = pd.DataFrame({"iso3": iso3[iso3.notna()].astype(str), "scode": raw.loc[iso3.notna(), "scode"].astype(str),
                       "year": raw.loc[iso3.notna(), "year"].astype("int64"),
                       "polity2": raw.loc[iso3.notna(), "polity2"].astype(float)})
    special = df["polity2"].isin(SPECIAL_CODES)
    if special.any():
        log.record(SOURCE_ID, "correct", int(special.sum()),
                   "polity2 special codes (-66/-77/-88) set to NaN (not scores)",
                   "; ".join(f"{r.iso3} {r.year}" for r in df[special].itertuples()))
        df.loc[special, "polity2"] = float("nan")

    dup = df[df.duplicated(["iso3", "year"], keep=False)]
    if len(dup):
        successor = dup["scode"].isin(SUCCESSOR_CODES)
        unresolved = dup.groupby(["iso3", "year"])["scode"].apply(lambda s: int(s.isin(SUCCESSOR_CODES).sum()))
        if (unresolved != 1).any():
            raise DuplicateKeyError(
                f"{SOURCE_ID}: state-years coded by two polities without a known successor: "
                f"{dup[['iso3', 'year', 'scode', 'polity2']].to_dict('records')}; extend SUCCESSOR_CODES "
                "after checking the Polity5 codebook."
            )
        dropped = dup[~successor]
        log.record(SOURCE_ID, "drop", len(dropped),
                   "state-year coded by both the ending and the successor polity: successor kept "
                   "(the polity in place at year end)",
                   "; ".join(f"{r.iso3} {r.year}: dropped {r.scode}={r.polity2:g}" for r in dropped.itertuples()))
        df = df.drop(dropped.index)

    early = df["year"] < YEARS[0]
    log.record(SOURCE_ID, "drop", int(early.sum()),
               f"African rows before {YEARS[0]} are outside the frame's years (the study's panel starts later)")
    df = df[~early]
    out = to_spine(df[["iso3", "year", "polity2"]], ["polity2"], SOURCE_ID, log, YEARS)
    finalize_types(out, ["polity2"])
    return validate_frame(out, COUNTRY_YEAR_SCHEMA, SOURCE_ID)
