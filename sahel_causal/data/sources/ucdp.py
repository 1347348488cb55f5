"""UCDP organized violence and battle-related deaths by African state-year.

Two registered sources:

``ucdp_orgviol`` - ``ucdp_organized_violence_cy/organizedviolencecy_v25_1.csv``, the official
UCDP Country-Year Dataset on Organized Violence within Country Borders v25.1 (built from GED
25.1; events assigned to the country where the violence took place), 1989-2024, one row per
Gleditsch-Ward country-year (``country_id_cy``) with zeros included. Deaths (best, low and
high estimates) of three kinds of organized violence: state-based conflict (``sb_``),
non-state conflict (``ns_``) and one-sided violence against civilians (``os_``). UCDP's
threshold applies: a dyad enters a year only with at least 25 deaths, so low-level violence
is coded 0. Citation: Davies, Shawn, Therese Pettersson, Margareta Sollenberg & Magnus Oberg.
2025. "Organized violence 1989-2024, and the challenges of identifying civilian victims."
Journal of Peace Research 62(4).

``ucdp_brd`` - ``ucdp_brd_country_year/ucdpbrds_gw_country_year_1946_2022.csv``, state-based
battle-related deaths by GW country-year 1946-2022 (UCDP GED 23.1 from 1989, PRIO Battle
Deaths 3.1 before), aggregated by event location with cshapes 2.0 borders in the *poldat* R
package (derived: .rda converted to CSV). Its rows include colonial territories before
independence (``status`` colony/mandate/protectorate/occupied); those rows are outside the
state-year panel and are dropped with a log entry. São Tomé and Príncipe and Seychelles have
no rows (not covered: NaN). Citation: Sundberg, Ralph & Erik Melander. 2013. "Introducing the
UCDP Georeferenced Event Dataset." JPR 50(4); Lacina, Bethany & Nils Petter Gleditsch. 2005.
"Monitoring Trends in Global Combat." European Journal of Population 21; poldat
(github.com/kvelleby/poldat).

Zeros: both files are full panels, so every 0 is the source's own 0 (no fill is done). The
loaders check that each state-year of the coverage window is present; a state-year the file
lacks stays NaN (not covered) and is logged. A few rows have low > best or best > high in the
source; they are kept unchanged and flagged in the log.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from sahel_causal.data.countries import iso3_from_code, state_years
from sahel_causal.data.coverage import finalize_types
from sahel_causal.data.datalog import DataLog
from sahel_causal.data.registry import resolve
from sahel_causal.data.schema_check import check_raw_columns, fails_loudly, validate_frame
from sahel_causal.errors import DuplicateKeyError, SchemaError

SOURCE_ID = "ucdp_orgviol"  # the main source of this module; see SOURCE_IDS
SOURCE_IDS = ("ucdp_orgviol", "ucdp_brd")
ORGVIOL_SOURCE_ID = "ucdp_orgviol"
BRD_SOURCE_ID = "ucdp_brd"
ORGVIOL_FILE = "organizedviolencecy_v25_1.csv"
BRD_FILE = "ucdpbrds_gw_country_year_1946_2022.csv"
ORGVIOL_COVERAGE = (1989, 2024)
BRD_COVERAGE = (1946, 2022)
#: Years of the returned country-year frames; outside each coverage window values are NaN.
YEARS = (1945, 2025)

#: Source prefix -> output stem of the organized-violence columns.
_KINDS = {"sb": "ucdp_state_based", "ns": "ucdp_nonstate", "os": "ucdp_onesided"}
ORGVIOL_COLUMNS = [f"{stem}_{est}" for stem in _KINDS.values() for est in ("best", "low", "high")]
BRD_COLUMNS = ["ucdp_brd_best", "ucdp_brd_low", "ucdp_brd_high"]

_DEATHS = pa.Column(float, pa.Check.ge(0), nullable=True)
_KEY = {
    "iso3": pa.Column(str, pa.Check.str_matches(r"^[A-Z]{3}$")),
    "year": pa.Column("int64", pa.Check.in_range(*YEARS)),
}
ORGVIOL_SCHEMA = pa.DataFrameSchema(
    {**_KEY, **{c: _DEATHS for c in ORGVIOL_COLUMNS}},
    strict=True, ordered=True, unique=["iso3", "year"],
)
BRD_SCHEMA = pa.DataFrameSchema(
    {**_KEY, **{c: _DEATHS for c in BRD_COLUMNS}},
    strict=True, ordered=True, unique=["iso3", "year"],
)
COMBINED_SCHEMA = pa.DataFrameSchema(
    {**_KEY, **{c: _DEATHS for c in ORGVIOL_COLUMNS + BRD_COLUMNS}},
    strict=True, ordered=True, unique=["iso3", "year"],
)


def _require(df: pd.DataFrame, cols: list[str], source: str, path: Path) -> None:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise SchemaError(f"{source}: {path} lacks columns {missing}; is it the registered version?")


def _flag_bounds(df: pd.DataFrame, stems: list[str], source: str, log: DataLog) -> None:
    """Log rows whose low/best/high estimates are not ordered (kept as published)."""
    for stem in stems:
        lo, best, hi = df[f"{stem}_low"], df[f"{stem}_best"], df[f"{stem}_high"]
        bad = df[(lo > best) | (best > hi)]
        if len(bad):
            log.record(source, "flag", len(bad), f"{stem}: low > best or best > high in the source "
                       "(kept as published)",
                       "; ".join(f"{r.iso3} {r.year}" for r in bad[["iso3", "year"]].itertuples()))


def _to_spine(values: pd.DataFrame, coverage: tuple[int, int], cols: list[str], source: str,
              log: DataLog) -> pd.DataFrame:
    """Place African state-year ``values`` on the state-years of :data:`YEARS`.

    Rows for years in which the state did not exist are dropped and logged; state-years of
    the coverage window that the file lacks stay NaN and are logged (kind ``flag``).
    """
    spine = state_years(*YEARS)[["iso3", "year"]]
    merged = values.merge(spine.assign(_in=True), on=["iso3", "year"], how="left")
    outside = merged[merged["_in"].isna()]
    if len(outside):
        by = outside.groupby("iso3")["year"].agg(["min", "max", "size"])
        log.record(source, "drop", len(outside),
                   "rows for years before the state's independence (territory, not a state; "
                   "outside the state-year panel)",
                   f"deaths (best) in these rows: {outside[cols[0]].sum():,.0f}; "
                   + "; ".join(f"{i} {r['min']}-{r['max']} ({r['size']})" for i, r in by.iterrows()))
    out = spine.merge(values, on=["iso3", "year"], how="left", validate="one_to_one")
    in_window = out["year"].between(*coverage)
    absent = out[in_window & out[cols[0]].isna()]
    if len(absent):
        by = absent.groupby("iso3")["year"].agg(["min", "max", "size"])
        log.record(source, "flag", len(absent),
                   "state-years of the coverage window absent from the file: left NaN (not covered)",
                   "; ".join(f"{i} {r['min']}-{r['max']} ({r['size']})" for i, r in by.iterrows()))
    if out.loc[~in_window, cols].notna().any().any():
        raise SchemaError(f"{source}: values outside the coverage window {coverage}; check the file.")
    return finalize_types(out, cols)


def _african(df: pd.DataFrame, code_col: str, source: str, log: DataLog) -> pd.DataFrame:
    """Rows of African states with an ``iso3`` column; the others are counted in the log.

    Rows the file codes as territories (``status`` other than ``independent``: colonies,
    mandates, protectorates, occupied territories such as Western Sahara) are out of scope
    whatever their code; every other code must be a state code (see
    :func:`~sahel_causal.data.countries.iso3_from_code`).
    """
    territory = df["status"].ne("independent") if "status" in df.columns else None
    iso3 = iso3_from_code(df[code_col], "gw", source, not_states=territory)
    n_out = int(iso3.isna().sum())
    if n_out:
        log.record(source, "drop", n_out, "out of scope: country-years of non-African states",
                   f"{n_out} of {len(df)} rows")
    out = df[iso3.notna()].assign(iso3=iso3[iso3.notna()].astype(str))
    dup = out[out.duplicated(["iso3", "year"], keep=False)]
    if len(dup):
        raise DuplicateKeyError(f"{source}: duplicated state-years {dup[['iso3', 'year']].head(5).to_dict('records')}.")
    return out


@fails_loudly
def load_organized_violence(raw_dir: Path, log: DataLog | None = None) -> pd.DataFrame:
    """UCDP organized-violence deaths per African state-year (v25.1), for the state-years of :data:`YEARS`.

    Columns (deaths in the year inside the state's borders; UCDP best estimate and its low and
    high bounds; NaN outside 1989-2024):

    * ``ucdp_state_based_best/_low/_high`` - state-based armed conflict (``sb_total_deaths_*``);
    * ``ucdp_nonstate_best/_low/_high`` - non-state conflict (``ns_total_deaths_*``);
    * ``ucdp_onesided_best/_low/_high`` - one-sided violence against civilians
      (``os_total_deaths_*``).

    Zeros are the source's zeros (the file is a full panel; see the module docstring).
    """
    if log is None:
        log = DataLog()
    path = resolve(ORGVIOL_SOURCE_ID, ORGVIOL_FILE, Path(raw_dir))
    raw = pd.read_csv(path)
    src_cols = {f"{p}_total_deaths_{est}_cy": f"{stem}_{est}"
                for p, stem in _KINDS.items() for est in ("best", "low", "high")}
    _require(raw, ["country_id_cy", "year_cy", *src_cols], ORGVIOL_SOURCE_ID, path)
    check_raw_columns(raw, path, ORGVIOL_SOURCE_ID, integer=["country_id_cy", "year_cy"], numeric=list(src_cols),
                      nonnegative=list(src_cols))
    df = raw.rename(columns={"year_cy": "year", **src_cols})
    df = _african(df, "country_id_cy", ORGVIOL_SOURCE_ID, log)[["iso3", "year", *ORGVIOL_COLUMNS]]
    _flag_bounds(df, list(_KINDS.values()), ORGVIOL_SOURCE_ID, log)
    out = _to_spine(df, ORGVIOL_COVERAGE, ORGVIOL_COLUMNS, ORGVIOL_SOURCE_ID, log)
    log.record(ORGVIOL_SOURCE_ID, "note", int(out["ucdp_state_based_best"].eq(0).sum()),
               "state-years with 0 state-based deaths are zeros of the source's full panel "
               "(UCDP's 25-death dyad threshold: low-level violence is 0), not fills")
    return validate_frame(out, ORGVIOL_SCHEMA, ORGVIOL_SOURCE_ID)


@fails_loudly
def load_battle_deaths(raw_dir: Path, log: DataLog | None = None) -> pd.DataFrame:
    """State-based battle-related deaths per African state-year, 1946-2022 (GED 23.1 / PRIO BD 3.1).

    Columns: ``ucdp_brd_best``, ``ucdp_brd_low``, ``ucdp_brd_high`` - battle-related deaths
    located in the state (best estimate and bounds; deaths). NaN outside 1946-2022 and for
    São Tomé and Príncipe and Seychelles, which the file does not list. Before 1989 the PRIO
    figures are conflict totals split across battle-location countries.
    """
    if log is None:
        log = DataLog()
    path = resolve(BRD_SOURCE_ID, BRD_FILE, Path(raw_dir))
    raw = pd.read_csv(path)
    _require(raw, ["gwcode", "year", "low", "best", "high", "status"], BRD_SOURCE_ID, path)
    check_raw_columns(raw, path, BRD_SOURCE_ID, integer=["gwcode", "year"], numeric=["low", "best", "high"],
                      nonnegative=["low", "best", "high"])
    df = raw.rename(columns={"low": "ucdp_brd_low", "best": "ucdp_brd_best", "high": "ucdp_brd_high"})
    df["year"] = df["year"].astype("int64")
    df = _african(df, "gwcode", BRD_SOURCE_ID, log)
    df = df[["iso3", "year", *BRD_COLUMNS]]
    _flag_bounds(df, ["ucdp_brd"], BRD_SOURCE_ID, log)
    out = _to_spine(df, BRD_COVERAGE, BRD_COLUMNS, BRD_SOURCE_ID, log)
    return validate_frame(out, BRD_SCHEMA, BRD_SOURCE_ID)


@fails_loudly
def load(raw_dir: Path, log: DataLog | None = None) -> pd.DataFrame:
    """The panel entry point: organized violence and battle deaths side by side, per state-year."""
    if log is None:
        log = DataLog()
    ov = load_organized_violence(raw_dir, log)
    brd = load_battle_deaths(raw_dir, log)
    out = ov.merge(brd, on=["iso3", "year"], how="outer", validate="one_to_one")
    return validate_frame(out.sort_values(["iso3", "year"], ignore_index=True), COMBINED_SCHEMA, "ucdp")
