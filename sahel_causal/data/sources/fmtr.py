"""U.S. Foreign Military Training Report (FMTR): training of African security forces, FY1999-FY2020.

Source (registry id ``fmtr``): U.S. Departments of State and Defense, *Foreign Military
Training and DoD Engagement Activities of Interest*, the annual report to Congress under
22 U.S.C. 2416, as scraped by Security Force Monitor (stage-1 XML, commit 203d73fa). Two
derived files are read: ``fmtrpt_africa_courses_flat.csv`` (one row per course record of the
Africa and Near-East bureau files, strings as printed, e.g. ``"$26,171"``) and
``fmtrpt_africa_country_program_fy_sums.csv`` (its naive sums, used only as a cross-check).

Citation: U.S. Department of State & Department of Defense, "Foreign Military Training and DoD
Engagement Activities of Interest," annual reports to Congress FY1999/2000-FY2020/2021. Data
extracted by Security Force Monitor (2024), github.com/security-force-monitor/fmtrpt_data.

What a record is. Each report lists, per country and program, the courses attended by
foreign military or security personnel: course title, quantity (number of trainees) and
total cost (nominal U.S. dollars; what the U.S. program paid, not the value to the
recipient). From the FY2008 report on, each country-program block ends with a "Program
Totals" row; the FY2007 report has the same totals rows without a title (see below).

Fiscal years. Report ``"YYYY_YYYY+1"`` covers training done in fiscal year YYYY. The first two
reports (1999_2000 and 2000_2001) also itemise the training *proposed* for the current fiscal
year (program names ending "FY 00" in the 1999_2000 report and "FY 01" in the 2000_2001
report). Those records are plans, not training given, and the following report lists the
actual training of that year; they are kept in :func:`load_courses` with ``proposed=True`` and
excluded from every sum. ``fiscal_year`` is the year written in the program name; the flat
file's own ``fiscal_year`` column (the report's first year) is kept as ``report_fy``.
Calendar year = fiscal year (:func:`sahel_causal.data.money.fiscal_to_calendar_year`).

Coverage. FY1999-FY2020 except FY2006, whose report exists only as HTML (no structured
data): FY2006 amounts are NaN for every country. In a covered year a state with no record
gets 0: the report must list all military training provided to foreign personnel by DoD and
DoS (22 U.S.C. 2416(a)), so absence means no reported training. Caveat: countries under
legal restrictions (e.g. Section 7008 after a coup) simply have no records, which is a true
zero of provided training. South Sudan: records of the "Government of Southern Sudan"
(FY2008-FY2010) trained the autonomous southern government's forces (SPLA) before the state
existed; they are not training of the Sudanese state (SDN, under sanctions) and SSD does not
exist before 2011, so they are kept in the course table (``iso3="SSD"``, flag
``pre_independence``) but excluded from the country-year table, with a data-log entry.

Cleaning, in order (every action is recorded in the :class:`DataLog`):

1. Block corrections (``data/reference/fmtr_block_corrections.csv``): the scraper lost three
   country headers and attached a whole country section to the previous country. Cote
   d'Ivoire FY2012 (14 rows) and FY2013 (66 rows) appear under Congo-Brazzaville and Benin
   FY2019 (216 rows) under Angola; each block is re-attributed (evidence in the table).
2. Record corrections (``data/corrections.csv``, source ``fmtr``): six values recovered from
   continuation rows or from the report's own program total (see the table's reasons).
3. Rules, applied to the raw strings:

   * ``unlabelled_total``: in the FY2007 report the 170 "Program Totals" rows carry no
     title; they are the only rows of that report whose cost is printed with a ``$`` (course
     costs are bare numbers) and each closes its country-program block. They are totals, not
     courses (the sums file counts them as courses: FY2007 is doubled there).
   * ``cost_date_merge``: in the FY2009 report the PDF columns merged the start (and end)
     date into the cost cell (``"106927 7/7/2008 9/30/2009"``). A digits-only parse turns
     that into 1.07e18 dollars, which is why Kenya FY2009 sums to about 1e18 in the sums file
     and many FY2009 country-years to trillions. The cost is the first number; the dates go
     back to the empty date fields.
   * ``cost_in_text_tail`` (FY2009 report only): the cost cell is empty and the cost was
     pushed to the end of the student-unit text (or of the location text when the unit is
     empty), possibly followed by the dates: ``"Territorial Air Defense 21304"``. The
     trailing number is the cost unless it is a U.S. ZIP code (a U.S. state code before it,
     ``"FORT RUCKER AL 36362"``).
   * ``zip_in_quantity``: ``"1 39529-7099"`` (Stennis Space Center's ZIP code leaked from the
     location): quantity is the first integer.
   * ``quantity_in_title``: quantity empty, the title ends in a number and the row has a
     cost or a date (``"COUNTERNARCOTICS 4"`` with $488): quantity is that number.
   * ``fragment``: rows with no quantity, no cost and no date are continuation lines of
     wrapped titles (``"SYSTEM"``, ``"PRGM"``, ``"(5 Wks)"``) or empty rows: dropped.
   * costs printed as a bare ``$`` (FY2011 report, 859 records) or empty are missing.
   * ``block_total_zero`` / ``block_total_residual`` (:func:`recover_from_block_totals`):
     a missing cost is set from the report's own program total where that is exact (the
     other courses already reach the total: $0; or it is the block's only missing cost:
     total minus the others). The remaining missing costs stay NaN (not zero).

The rules were validated on the reports' own totals (:func:`program_total_check`): 3,028 of
3,035 report x country x program blocks with a totals row (FY2007-FY2020) match within 1 %;
the 7 others (FY2009 Ghana GPOI, Egypt IMET-1, Southern Sudan IMET-1, Nigeria CTFP; FY2016
Tunisia and Niger Section 1206/2282; FY2019 Angola PKO) lack costs or records lost by the
scraper, $0.94 million in all. Rows identical in every field (5,667 after corrections,
mostly FY2001-FY2010, one row per trainee) are genuine: FY2007-FY2010 totals only match with
them, so none is dropped. Reports before FY2007 have no totals to check against.

Implausible amounts (:func:`detect_implausible_costs`, applied to the raw strings): a cost
cell holding more than one number (the PDF-merge signature), a single course above
:data:`MAX_COURSE_COST_USD` ($25 million; the largest genuine record is $19.7 million) or a
cost per trainee above :data:`MAX_COST_PER_TRAINEE_USD` ($10 million; the largest genuine one
is an Egyptian FMF technical-assistance field team, $8.3 million for one "trainee"). All 232
flagged strings are ``cost_date_merge`` records and are recovered. An amount that is still
implausible after the recoveries is dropped (set to NaN) with a ``drop`` entry, never kept.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pandera.pandas as pa

from sahel_causal.data.corrections import apply_corrections
from sahel_causal.data.countries import iso3_from_names, state_years
from sahel_causal.data.datalog import DataLog
from sahel_causal.data.money import fiscal_to_calendar_year
from sahel_causal.data.registry import resolve
from sahel_causal.data.schema_check import check_raw_columns, fails_loudly, validate_frame
from sahel_causal.data.sources.fmtr_programs import (
    PROGRAM_GROUPS,
    classify_program_names,
    program_fiscal_year,
)
from sahel_causal.errors import DuplicateKeyError, ReferenceDataError, SchemaError
from sahel_causal.paths import REFERENCE_DIR

SOURCE_ID = "fmtr"
#: What to do when a table of this loader fails its schema (see :func:`validate_frame`).
ADVICE = ("The raw file or the loader changed; check the file against MANIFEST.md and fix the loader "
          "or data/corrections.csv.")
BLOCK_CORRECTIONS_CSV = REFERENCE_DIR / "fmtr_block_corrections.csv"
BLOCK_CORRECTION_COLUMNS = ["report", "first_row_id", "last_row_id", "field", "old_value", "new_value",
                            "reason", "reference"]
COURSES_FILE = "fmtrpt_africa_courses_flat.csv"
SUMS_FILE = "fmtrpt_africa_country_program_fy_sums.csv"
RAW_COLUMNS = ["report", "fiscal_year", "source_file", "country", "program", "course_title",
               "is_program_total", "start_date", "end_date", "location", "quantity", "total_cost",
               "student_unit", "us_unit"]

#: Fiscal years the reports cover (FY2006 report missing: NaN, not zero).
FIRST_FY, LAST_FY = 1999, 2020
MISSING_FY = (2006,)
#: A single course record above this is implausible (largest genuine record: $19.7 million,
#: an Egyptian FMF contract-training line of FY1999).
MAX_COURSE_COST_USD = 25_000_000.0
#: Cost per trainee above this is implausible (largest genuine: $8.3 million, an FMF
#: technical assistance field team counted as one trainee).
MAX_COST_PER_TRAINEE_USD = 10_000_000.0
#: Cost per trainee above this is flagged (``flag_cost_per_trainee``) but kept: 4 records,
#: FMF technical-assistance teams, a DRC brigade-staff MTT and a Tunisian UAV module.
FLAG_COST_PER_TRAINEE_USD = 1_000_000.0
#: Upper bound for any cleaned country-year total (largest: Egypt FY1999, $25.1 million).
MAX_COUNTRY_YEAR_COST_USD = 100_000_000.0
#: South Sudan exists from 9 July 2011; earlier records are pre-independence.
SSD_FIRST_YEAR = 2011

_DATE = r"\d{1,2}/\d{1,2}/\d{2,4}"
_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?"
_RE_CLEAN_COST = re.compile(rf"^\$?\s*(?P<num>{_NUM})$")
_RE_COST_DATES = re.compile(rf"^\$?\s*(?P<num>{_NUM})\s+(?P<d1>{_DATE})(?:\s+(?P<d2>{_DATE}))?$")
_RE_TAIL = re.compile(rf"^(?P<text>.*?)(?:^|\s)(?P<num>{_NUM})(?P<dates>(?:\s+{_DATE}){{0,2}})\s*$")
_RE_ZIP_TAIL = re.compile(r"\b(?P<state>[A-Z]{2}),?\s+\d{5}(?:-\d{4})?\s*$")
_US_STATES = frozenset(
    "AL AK AZ AR CA CO CT DE DC FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM "
    "NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY PR".split())
_RE_QTY = re.compile(r"^\d+$")
_RE_QTY_ZIP = re.compile(r"^(?P<q>\d+)\s+\d{5}(?:-\d{4})?$")
_RE_TITLE_QTY = re.compile(r"^(?P<title>.*\S)\s+(?P<q>\d{1,4})$")
_RE_ANY_NUMBER_TOKEN = re.compile(r"\d[\d,./]*")
#: Report whose PDF layout pushed costs into the text columns (rule ``cost_in_text_tail``).
TAIL_RECOVERY_REPORTS = ("2009_2010",)
#: Report whose totals rows carry no title (rule ``unlabelled_total``).
UNLABELLED_TOTAL_REPORTS = ("2007_2008",)

COURSE_COLUMNS = [
    "row_id", "report", "report_fy", "fiscal_year", "year", "country", "iso3", "program",
    "program_norm", "program_group", "program_label", "course_title", "start_date", "end_date",
    "location", "trainees", "cost_usd_nominal", "quantity_raw", "total_cost_raw", "parse_rule",
    "proposed", "pre_independence", "cost_missing", "trainees_missing", "flag_cost_per_trainee",
]

COURSES_SCHEMA = pa.DataFrameSchema(
    {
        "row_id": pa.Column("int64", pa.Check.ge(0)),
        "report": pa.Column(str, pa.Check.str_matches(r"^\d{4}_\d{4}$")),
        "report_fy": pa.Column("int64", pa.Check.in_range(FIRST_FY, LAST_FY)),
        "fiscal_year": pa.Column("int64", pa.Check.in_range(FIRST_FY, LAST_FY + 1)),
        "year": pa.Column("int64", pa.Check.in_range(FIRST_FY, LAST_FY + 1)),
        "country": pa.Column(str),
        "iso3": pa.Column(str, pa.Check.str_matches(r"^[A-Z]{3}$")),
        "program": pa.Column(str),
        "program_norm": pa.Column(str),
        "program_group": pa.Column(str, pa.Check.isin(PROGRAM_GROUPS)),
        "program_label": pa.Column(str),
        "course_title": pa.Column(str),
        "start_date": pa.Column(str),
        "end_date": pa.Column(str),
        "location": pa.Column(str),
        "trainees": pa.Column("Int64", pa.Check.ge(0), nullable=True),
        "cost_usd_nominal": pa.Column(float, [pa.Check.ge(0), pa.Check.le(MAX_COURSE_COST_USD)],
                                      nullable=True),
        "quantity_raw": pa.Column(str),
        "total_cost_raw": pa.Column(str),
        "parse_rule": pa.Column(str),
        "proposed": pa.Column(bool),
        "pre_independence": pa.Column(bool),
        "cost_missing": pa.Column(bool),
        "trainees_missing": pa.Column(bool),
        "flag_cost_per_trainee": pa.Column(bool),
    },
    strict=True,
    ordered=True,
    unique=["row_id"],
    checks=[
        pa.Check(lambda d: d["cost_missing"] == d["cost_usd_nominal"].isna(),
                 error="cost_missing is True exactly where the cost is NaN"),
        pa.Check(lambda d: d["trainees_missing"] == d["trainees"].isna(),
                 error="trainees_missing is True exactly where trainees is NA"),
        pa.Check(lambda d: d["fiscal_year"] >= d["report_fy"], error="fiscal_year >= report_fy"),
        pa.Check(lambda d: d["proposed"] == (d["fiscal_year"] > d["report_fy"]),
                 error="proposed records are exactly those of a later fiscal year than the report's"),
    ],
)


def _group_cols(prefix: str) -> list[str]:
    return [f"{prefix}_{g}" for g in PROGRAM_GROUPS]


COUNTRY_YEAR_COLUMNS = (
    ["iso3", "year", "fiscal_year", "us_training_cost_usd_nominal", "us_trainees"]
    + _group_cols("us_training_cost_nominal") + _group_cols("us_trainees")
    + ["fmtr_n_records", "fmtr_n_cost_missing", "fmtr_covered"]
)

_AMOUNT = pa.Column(float, [pa.Check.ge(0), pa.Check.lt(MAX_COUNTRY_YEAR_COST_USD)], nullable=True)
_COUNT = pa.Column(float, pa.Check.ge(0), nullable=True)
COUNTRY_YEAR_SCHEMA = pa.DataFrameSchema(
    {
        "iso3": pa.Column(str, pa.Check.str_matches(r"^[A-Z]{3}$")),
        "year": pa.Column("int64", pa.Check.in_range(FIRST_FY, LAST_FY)),
        "fiscal_year": pa.Column("int64", pa.Check.in_range(FIRST_FY, LAST_FY)),
        "us_training_cost_usd_nominal": _AMOUNT,
        "us_trainees": _COUNT,
        **{c: _AMOUNT for c in _group_cols("us_training_cost_nominal")},
        **{c: _COUNT for c in _group_cols("us_trainees")},
        "fmtr_n_records": _COUNT,
        "fmtr_n_cost_missing": _COUNT,
        "fmtr_covered": pa.Column(bool),
    },
    strict=True,
    ordered=True,
    unique=["iso3", "year"],
    checks=[
        pa.Check(lambda d: d["us_training_cost_usd_nominal"].notna() == d["fmtr_covered"],
                 error="amounts are missing exactly where fmtr_covered is False"),
        pa.Check(lambda d: ~d["fiscal_year"].isin(MISSING_FY) | ~d["fmtr_covered"],
                 error="FY2006 is not covered"),
        pa.Check(lambda d: (d[_group_cols("us_training_cost_nominal")].sum(axis=1, min_count=1)
                            .sub(d["us_training_cost_usd_nominal"]).abs().fillna(0) < 1.0),
                 error="group costs add up to the total"),
    ],
)


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------

@fails_loudly
def read_flat(raw_dir: Path) -> pd.DataFrame:
    """The registered flat course file as strings (checksum-verified, uncorrected).

    Adds ``row_id``: the 0-based position of the record in the file (stable because the file
    is pinned by its sha256), used to name records in ``data/corrections.csv`` and the log.
    """
    path = resolve(SOURCE_ID, COURSES_FILE, Path(raw_dir))
    raw = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    missing = [c for c in RAW_COLUMNS if c not in raw.columns]
    if missing:
        raise SchemaError(f"{SOURCE_ID}: {path} lacks columns {missing}; is it the registered flat file?")
    check_raw_columns(raw, path, SOURCE_ID)
    raw = raw[RAW_COLUMNS].copy()
    raw.insert(0, "row_id", np.arange(len(raw), dtype="int64"))
    return raw


def load_block_corrections(path: Path = BLOCK_CORRECTIONS_CSV) -> pd.DataFrame:
    """Read and check the block-correction table (contiguous row ranges of the flat file)."""
    t = pd.read_csv(path, dtype=str, keep_default_na=False)
    if list(t.columns) != BLOCK_CORRECTION_COLUMNS:
        raise ReferenceDataError(f"{path}: columns must be {BLOCK_CORRECTION_COLUMNS}, found {list(t.columns)}.")
    if (t[["report", "first_row_id", "last_row_id", "field", "reason", "reference"]] == "").any().any():
        raise ReferenceDataError(f"{path}: every row needs report, row range, field, reason and reference.")
    t["first_row_id"] = pd.to_numeric(t["first_row_id"]).astype("int64")
    t["last_row_id"] = pd.to_numeric(t["last_row_id"]).astype("int64")
    if (t["last_row_id"] < t["first_row_id"]).any():
        raise ReferenceDataError(f"{path}: last_row_id before first_row_id.")
    return t


def apply_block_corrections(raw: pd.DataFrame, log: DataLog | None = None,
                            table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Apply corrections that cover a contiguous block of flat-file rows (input untouched).

    Used where the scraper lost a country header and attached a whole country section to the
    previous country (``data/reference/fmtr_block_corrections.csv``). Every row of the range
    must belong to ``report`` and hold ``old_value`` in ``field``; otherwise the correction is
    stale and :class:`ReferenceDataError` is raised. Each block is logged (kind ``correct``).
    """
    table = load_block_corrections() if table is None else table
    out = raw.copy()
    for r in table.itertuples(index=False):
        rows = out["row_id"].between(r.first_row_id, r.last_row_id)
        n_expected = r.last_row_id - r.first_row_id + 1
        block = out.loc[rows]
        if (len(block) != n_expected or not block["report"].eq(r.report).all()
                or not block[r.field].astype(str).eq(r.old_value).all()):
            raise ReferenceDataError(
                f"{SOURCE_ID}: block correction rows {r.first_row_id}-{r.last_row_id} ({r.report}) do not all "
                f"hold {r.field}={r.old_value!r}; the source changed: review {BLOCK_CORRECTIONS_CSV.name}."
            )
        out.loc[rows, r.field] = r.new_value
        if log is not None:
            log.record(SOURCE_ID, "correct", int(rows.sum()), r.reason,
                       f"report {r.report}, row_id {r.first_row_id}-{r.last_row_id}: {r.field} "
                       f"{r.old_value!r} -> {r.new_value!r} ({r.reference})")
    return out


@fails_loudly
def read_sums(raw_dir: Path) -> pd.DataFrame:
    """The registered naive sums file (fiscal_year x report x country x program)."""
    path = resolve(SOURCE_ID, SUMS_FILE, Path(raw_dir))
    return pd.read_csv(path, dtype={"report": str, "country": str, "program": str})


# --------------------------------------------------------------------------------------------
# Field parsers (pure, vectorised over string Series)
# --------------------------------------------------------------------------------------------

def _to_float(num: pd.Series) -> pd.Series:
    return pd.to_numeric(num.str.replace(",", "", regex=False), errors="coerce")


def naive_cost(total_cost: pd.Series) -> pd.Series:
    """The cost a digits-only parse gives (what the sums file did): every non-digit removed.

    Used only to show why the sums file holds trillions; never used as a value.
    """
    s = total_cost.astype(str).str.split(".").str[0].str.replace(r"\D", "", regex=True)
    return pd.to_numeric(s.where(s != ""), errors="coerce").astype(float)


def detect_implausible_costs(records: pd.DataFrame) -> pd.DataFrame:
    """Implausibility flags for raw course records (columns ``total_cost``, ``quantity``).

    Returns, on the same index: ``naive_cost_usd`` (digits-only parse), ``multi_number``
    (the cost cell holds more than one number: two cells merged by the PDF parser),
    ``over_course_cap`` (naive cost above :data:`MAX_COURSE_COST_USD`), ``over_per_trainee_cap``
    (naive cost per trainee above :data:`MAX_COST_PER_TRAINEE_USD`) and ``implausible`` (any).
    """
    cost = records["total_cost"].astype(str).str.strip()
    naive = naive_cost(cost)
    qty = pd.to_numeric(records["quantity"].astype(str).str.extract(r"^\s*(\d+)")[0], errors="coerce")
    per = naive / qty.where(qty > 0)
    out = pd.DataFrame({
        "naive_cost_usd": naive,
        "multi_number": cost.map(lambda s: len(_RE_ANY_NUMBER_TOKEN.findall(s)) > 1),
        "over_course_cap": naive > MAX_COURSE_COST_USD,
        "over_per_trainee_cap": per > MAX_COST_PER_TRAINEE_USD,
    }, index=records.index)
    out["implausible"] = out[["multi_number", "over_course_cap", "over_per_trainee_cap"]].any(axis=1)
    return out


def _tail_cost(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Trailing number (and dates) of a free-text field: (cost, dates string)."""
    m = text.str.extract(_RE_TAIL)
    zip_tail = text.str.extract(_RE_ZIP_TAIL)["state"].isin(_US_STATES)
    ok = m["num"].notna() & m["text"].fillna("").str.strip().ne("") & ~zip_tail
    return _to_float(m["num"].where(ok)), m["dates"].where(ok).fillna("").str.strip()


def parse_records(raw: pd.DataFrame, log: DataLog | None = None) -> pd.DataFrame:
    """Parse quantity and cost of raw records, applying the rule-based recoveries.

    Input: the flat file's string columns (after documented corrections). Returns a copy with
    ``is_total`` (report total rows, labelled or not), ``trainees`` (Int64), ``cost_usd_nominal``
    (float, NaN when the record has no amount), ``parse_rule`` (``;``-joined rules applied,
    ``""`` when the strings parsed as printed), ``fragment`` (continuation line, to drop) and
    the corrected ``course_title``, ``start_date`` and ``end_date``. Recoveries are logged
    (kind ``recover``) with counts and examples.
    """
    log = DataLog() if log is None else log
    df = raw.copy()
    for c in ["course_title", "quantity", "total_cost", "start_date", "end_date", "location",
              "student_unit", "us_unit"]:
        df[c] = df[c].astype(str).str.strip()
    rules = pd.Series([[] for _ in range(len(df))], index=df.index, dtype=object)

    def add_rule(mask: pd.Series, name: str) -> None:
        for i in df.index[mask]:
            rules.at[i] = rules.at[i] + [name]

    # --- totals -----------------------------------------------------------------------
    labelled = df["is_program_total"].astype(str).eq("1")
    unlabelled = (df["report"].isin(UNLABELLED_TOTAL_REPORTS) & df["course_title"].eq("")
                  & df["total_cost"].str.startswith("$"))
    df["is_total"] = labelled | unlabelled
    if unlabelled.any():
        log.record(SOURCE_ID, "recover", int(unlabelled.sum()),
                   "unlabelled 'Program Totals' rows of the FY2007 report (no title, '$'-printed cost, "
                   "last row of each country-program block) treated as report totals, not courses",
                   f"report {UNLABELLED_TOTAL_REPORTS}; e.g. row_id {df.loc[unlabelled, 'row_id'].head(3).tolist()}")

    # --- quantity -----------------------------------------------------------------------
    q = df["quantity"]
    trainees = pd.Series(pd.NA, index=df.index, dtype="Int64")
    clean_q = q.str.match(_RE_QTY)
    trainees[clean_q] = pd.to_numeric(q[clean_q]).astype("Int64")
    zq = q.str.extract(_RE_QTY_ZIP)["q"]
    zip_q = zq.notna()
    trainees[zip_q] = pd.to_numeric(zq[zip_q]).astype("Int64")
    add_rule(zip_q, "zip_in_quantity")
    tq = df["course_title"].str.extract(_RE_TITLE_QTY)
    has_other_fields = ~df["total_cost"].isin(["", "$"]) | df["start_date"].ne("") | df["end_date"].ne("")
    title_q = q.eq("") & tq["q"].notna() & ~df["is_total"] & has_other_fields
    trainees[title_q] = pd.to_numeric(tq.loc[title_q, "q"]).astype("Int64")
    df.loc[title_q, "course_title"] = tq.loc[title_q, "title"]
    add_rule(title_q, "quantity_in_title")

    # --- cost ---------------------------------------------------------------------------
    c = df["total_cost"]
    cost = pd.Series(np.nan, index=df.index, dtype=float)
    m_clean = c.str.extract(_RE_CLEAN_COST)["num"]
    cost[m_clean.notna()] = _to_float(m_clean[m_clean.notna()])
    md = c.str.extract(_RE_COST_DATES)
    merged = md["num"].notna()
    cost[merged] = _to_float(md.loc[merged, "num"])
    fill_start = merged & df["start_date"].eq("")
    df.loc[fill_start, "start_date"] = md.loc[fill_start, "d1"]
    fill_end = merged & df["end_date"].eq("") & md["d2"].notna()
    df.loc[fill_end, "end_date"] = md.loc[fill_end, "d2"]
    add_rule(merged, "cost_date_merge")

    empty_cost = c.isin(["", "$"]) & ~df["is_total"]
    in_tail_report = df["report"].isin(TAIL_RECOVERY_REPORTS)
    su_cost, su_dates = _tail_cost(df["student_unit"])
    loc_cost, loc_dates = _tail_cost(df["location"])
    from_su = empty_cost & in_tail_report & su_cost.notna()
    from_loc = empty_cost & in_tail_report & ~from_su & df["student_unit"].eq("") & loc_cost.notna()
    cost[from_su] = su_cost[from_su]
    cost[from_loc] = loc_cost[from_loc]
    add_rule(from_su | from_loc, "cost_in_text_tail")

    df["trainees"] = trainees
    df["cost_usd_nominal"] = cost
    df["parse_rule"] = rules.map(lambda r: ";".join(r))

    # --- fragments ------------------------------------------------------------------------
    df["fragment"] = (~df["is_total"] & df["trainees"].isna() & df["cost_usd_nominal"].isna()
                      & df["start_date"].eq("") & df["end_date"].eq("") & c.isin(["", "$"]))

    for rule, why in [
        ("cost_date_merge", "cost cell merged with the start/end date by the PDF parser "
                            "(\"106927 7/7/2008 9/30/2009\"); cost = first number, dates restored"),
        ("cost_in_text_tail", "cost cell empty, cost pushed to the end of the student-unit/location "
                              "text in the FY2009 report; cost = trailing number"),
        ("zip_in_quantity", "ZIP code leaked into the quantity cell (\"1 39529-7099\"); quantity = first integer"),
        ("quantity_in_title", "quantity cell empty, quantity printed at the end of the course title "
                              "(\"COUNTERNARCOTICS 4\"); quantity = that number"),
    ]:
        hit = df["parse_rule"].str.contains(rule, regex=False)
        if hit.any():
            dollars = float(df.loc[hit, "cost_usd_nominal"].sum())
            log.record(SOURCE_ID, "recover", int(hit.sum()), why,
                       f"recovered cost total ${dollars:,.0f}; reports {sorted(df.loc[hit, 'report'].unique())}; "
                       f"e.g. row_id {df.loc[hit, 'row_id'].head(5).tolist()}")
    return df


def recover_from_block_totals(df: pd.DataFrame, log: DataLog | None = None) -> pd.DataFrame:
    """Fill missing course costs from the report's own program total, where that is exact.

    Rule (applies to parsed records of :func:`parse_records`): in a report x country x program
    block with exactly one totals row, whose course trainee count equals the total's and whose
    courses all have a quantity,

    * ``block_total_zero``: if the known course costs already add up to the total (within $1),
      every course without a cost contributed $0 to the total: its cost is 0;
    * ``block_total_residual``: if exactly one course lacks a cost, its cost is the total minus
      the other courses (when that is positive and below :data:`MAX_COURSE_COST_USD`).

    Blocks with several missing costs and a positive residual are left NaN (the split is
    unknown); :func:`program_total_check` reports them. Returns a copy; logs each rule.
    """
    log = DataLog() if log is None else log
    out = df.copy()
    key = ["report", "country", "program"]
    tot = (out[out["is_total"]].groupby(key)
           .agg(n_tot=("row_id", "size"), t_tr=("trainees", lambda s: s.astype(float).sum()),
                t_cost=("cost_usd_nominal", "sum"), t_cost_na=("cost_usd_nominal", lambda s: s.isna().sum())))
    crs = out[~out["is_total"] & ~out["fragment"]]
    g = crs.groupby(key).agg(c_tr=("trainees", lambda s: s.astype(float).sum()),
                             c_tr_na=("trainees", lambda s: s.isna().sum()),
                             c_cost=("cost_usd_nominal", "sum"),
                             n_miss=("cost_usd_nominal", lambda s: s.isna().sum()))
    j = g.join(tot, how="inner")
    ok = (j["n_tot"] == 1) & (j["t_cost_na"] == 0) & (j["c_tr_na"] == 0) & (j["c_tr"] == j["t_tr"]) & (j["n_miss"] > 0)
    resid = j["t_cost"] - j["c_cost"]
    zero_blocks = j.index[ok & (resid.abs() < 1.0)]
    single_blocks = j.index[ok & (j["n_miss"] == 1) & (resid >= 1.0) & (resid <= MAX_COURSE_COST_USD)]
    idx = pd.MultiIndex.from_frame(out[key])
    missing = ~out["is_total"] & ~out["fragment"] & out["cost_usd_nominal"].isna()
    for blocks, rule, why in [
        (zero_blocks, "block_total_zero",
         "course cost missing (empty or bare '$') in a block whose other courses already add up to the report's "
         "program total (trainees also match): the course contributed $0, cost set to 0"),
        (single_blocks, "block_total_residual",
         "the only course without a cost in a block with a report program total (trainees match): cost = total "
         "minus the other courses"),
    ]:
        hit = missing & idx.isin(blocks)
        if not hit.any():
            continue
        if rule == "block_total_zero":
            out.loc[hit, "cost_usd_nominal"] = 0.0
        else:
            out.loc[hit, "cost_usd_nominal"] = (
                pd.Series(idx[hit].map(lambda k: resid.loc[k]), index=out.index[hit]).astype(float))
        out.loc[hit, "parse_rule"] = out.loc[hit, "parse_rule"].map(lambda r: f"{r};{rule}" if r else rule)
        log.record(SOURCE_ID, "recover", int(hit.sum()), why,
                   f"{len(blocks)} blocks; recovered ${out.loc[hit, 'cost_usd_nominal'].sum():,.0f}; by report "
                   f"{out.loc[hit, 'report'].value_counts().sort_index().to_dict()}; e.g. row_id "
                   f"{out.loc[hit, 'row_id'].head(5).tolist()}")
    return out


# --------------------------------------------------------------------------------------------
# Courses
# --------------------------------------------------------------------------------------------

def clean_courses(raw: pd.DataFrame, log: DataLog | None = None) -> pd.DataFrame:
    """Course records from raw flat-file rows (corrections already applied): see :func:`load_courses`."""
    log = DataLog() if log is None else log
    flags = detect_implausible_costs(raw)
    n_imp = int(flags["implausible"].sum())
    if n_imp:
        worst = flags["naive_cost_usd"].idxmax()
        log.record(SOURCE_ID, "flag", n_imp,
                   "implausible raw cost strings (several numbers in the cost cell, or a digits-only "
                   f"parse above ${MAX_COURSE_COST_USD:,.0f} per course or ${MAX_COST_PER_TRAINEE_USD:,.0f} "
                   "per trainee)",
                   f"largest naive value ${flags.loc[worst, 'naive_cost_usd']:,.0f} from "
                   f"{raw.loc[worst, 'total_cost']!r} (row_id {raw.loc[worst, 'row_id']}, {raw.loc[worst, 'country']}, "
                   f"report {raw.loc[worst, 'report']}); "
                   f"naive sum of flagged strings ${flags.loc[flags['implausible'], 'naive_cost_usd'].sum():,.0f}")

    dup = raw.drop(columns=["row_id"]).duplicated()
    if dup.any():
        log.record(SOURCE_ID, "note", int(dup.sum()),
                   "rows identical to an earlier row in every field are kept: the reports list one row per "
                   "trainee, and the FY2007-FY2010 program totals only match with these rows counted",
                   f"by report {raw.loc[dup, 'report'].value_counts().sort_index().to_dict()}")
    df = parse_records(raw, log)
    df = recover_from_block_totals(df, log)
    totals = df["is_total"]
    frag = df["fragment"]
    if frag.any():
        log.record(SOURCE_ID, "drop", int(frag.sum()),
                   "continuation fragments of wrapped course titles or empty rows (no quantity, no cost, "
                   "no date): not course records",
                   f"titles e.g. {df.loc[frag, 'course_title'].value_counts().head(6).to_dict()}; "
                   f"by report {df.loc[frag, 'report'].value_counts().sort_index().to_dict()}")
    df = df[~totals & ~frag].copy()

    # amounts that remain implausible after the recoveries are dropped (never kept)
    per = df["cost_usd_nominal"] / df["trainees"].astype(float).where(df["trainees"].astype(float) > 0)
    too_big = (df["cost_usd_nominal"] > MAX_COURSE_COST_USD) | (per > MAX_COST_PER_TRAINEE_USD)
    if too_big.any():
        log.record(SOURCE_ID, "drop", int(too_big.sum()),
                   "cost still implausible after the recovery rules: amount set to NaN",
                   f"${df.loc[too_big, 'cost_usd_nominal'].sum():,.0f}; row_id {df.loc[too_big, 'row_id'].tolist()[:20]}")
        df.loc[too_big, "cost_usd_nominal"] = np.nan

    df["iso3"] = iso3_from_names(df["country"], SOURCE_ID)
    non_african = df["iso3"].isna()
    if non_african.any():
        log.record(SOURCE_ID, "drop", int(non_african.sum()), "records of non-African states (out of scope)",
                   f"{sorted(df.loc[non_african, 'country'].unique())}")
        df = df[~non_african].copy()
    df["iso3"] = df["iso3"].astype(str)

    df["report_fy"] = pd.to_numeric(df["fiscal_year"]).astype("int64")
    prog_fy = df["program"].map(program_fiscal_year)
    no_tag = prog_fy.isna()
    if no_tag.any():
        log.record(SOURCE_ID, "note", int(no_tag.sum()),
                   "program name carries no fiscal year: the report's year is used")
    df["fiscal_year"] = prog_fy.fillna(df["report_fy"]).astype("int64")
    df["year"] = fiscal_to_calendar_year(df["fiscal_year"]).astype("int64")
    df["proposed"] = df["fiscal_year"] > df["report_fy"]
    if df["proposed"].any():
        p = df["proposed"]
        log.record(SOURCE_ID, "flag", int(p.sum()),
                   "training proposed for the current fiscal year (reports 1999_2000 and 2000_2001 itemise "
                   "it next to the previous year's actual training): kept with proposed=True, excluded from sums",
                   f"by report {df.loc[p, 'report'].value_counts().sort_index().to_dict()}; "
                   f"${df.loc[p, 'cost_usd_nominal'].sum():,.0f}")
    df["pre_independence"] = (df["iso3"].eq("SSD") & (df["year"] < SSD_FIRST_YEAR)).astype(bool)

    cls = classify_program_names(df["program"])
    df = pd.concat([df, cls], axis=1)
    df["quantity_raw"] = df["quantity"]
    df["total_cost_raw"] = df["total_cost"]
    df["cost_missing"] = df["cost_usd_nominal"].isna()
    df["trainees_missing"] = df["trainees"].isna()
    per = df["cost_usd_nominal"] / df["trainees"].astype(float).where(df["trainees"].astype(float) > 0)
    df["flag_cost_per_trainee"] = (per > FLAG_COST_PER_TRAINEE_USD).fillna(False).astype(bool)

    n_cm = int(df["cost_missing"].sum())
    if n_cm:
        log.record(SOURCE_ID, "flag", n_cm,
                   "course records without a cost (cell empty or a bare '$'): cost NaN, not zero; "
                   "they add nothing to the sums",
                   f"by report {df.loc[df['cost_missing'], 'report'].value_counts().sort_index().to_dict()}")
    n_tm = int(df["trainees_missing"].sum())
    if n_tm:
        log.record(SOURCE_ID, "flag", n_tm, "course records without a quantity: trainees NA",
                   f"by report {df.loc[df['trainees_missing'], 'report'].value_counts().sort_index().to_dict()}")

    out = df[COURSE_COLUMNS].reset_index(drop=True)
    for col in ["country", "program", "program_norm", "program_group", "program_label", "course_title",
                "start_date", "end_date", "location", "quantity_raw", "total_cost_raw", "parse_rule", "iso3",
                "report"]:
        out[col] = out[col].astype(str)
    return validate_frame(out, COURSES_SCHEMA, SOURCE_ID, "course table", advice=ADVICE)


@fails_loudly
def load_courses(raw_dir: Path, log: DataLog | None = None) -> pd.DataFrame:
    """One row per FMTR course record (report totals and title fragments removed).

    Columns: ``row_id`` (position in the flat file), ``report``, ``report_fy`` (first year of
    the report), ``fiscal_year`` (U.S. FY of the training, from the program name), ``year``
    (calendar year = FY), ``country`` (as printed), ``iso3``, ``program`` (as printed),
    ``program_norm``, ``program_group`` (one of
    :data:`~sahel_causal.data.sources.fmtr_programs.PROGRAM_GROUPS`), ``program_label``,
    ``course_title``, ``start_date``, ``end_date``, ``location`` (strings as printed, after
    recovery), ``trainees`` (Int64, number of trainees), ``cost_usd_nominal`` (float, nominal
    U.S. dollars of the fiscal year; NaN = no amount printed), ``quantity_raw`` and
    ``total_cost_raw`` (the original strings), ``parse_rule`` (recovery rules applied),
    flags ``proposed`` (planned training, excluded from sums), ``pre_independence``
    (Southern Sudan before 2011), ``cost_missing``, ``trainees_missing`` and
    ``flag_cost_per_trainee`` (above $1 million per trainee; kept: genuine large FMF lines).
    """
    log = DataLog() if log is None else log
    raw = corrected_raw(Path(raw_dir), log)
    return clean_courses(raw, log)


@fails_loudly
def corrected_raw(raw_dir: Path, log: DataLog | None = None) -> pd.DataFrame:
    """Flat-file rows with the block corrections and the documented record corrections applied."""
    raw = read_flat(Path(raw_dir))
    raw = apply_block_corrections(raw, log)
    return apply_corrections(raw, SOURCE_ID, log)


@fails_loudly
def load_raw_totals(raw_dir: Path, log: DataLog | None = None) -> pd.DataFrame:
    """The reports' own "Program Totals" rows (labelled, and the unlabelled FY2007 ones).

    Columns: ``row_id``, ``report``, ``report_fy``, ``country``, ``iso3``, ``program``,
    ``total_trainees`` (Int64), ``total_cost_usd_nominal`` (float).
    """
    raw = corrected_raw(Path(raw_dir), DataLog() if log is None else log)
    return totals_from_raw(raw)


def totals_from_raw(raw: pd.DataFrame) -> pd.DataFrame:
    """Parsed report totals rows of raw flat-file rows (see :func:`load_raw_totals`)."""
    df = parse_records(raw, DataLog())
    t = df[df["is_total"]].copy()
    return pd.DataFrame({
        "row_id": t["row_id"].astype("int64"),
        "report": t["report"].astype(str),
        "report_fy": pd.to_numeric(t["fiscal_year"]).astype("int64"),
        "country": t["country"].astype(str),
        "iso3": iso3_from_names(t["country"], SOURCE_ID),
        "program": t["program"].astype(str),
        "total_trainees": t["trainees"],
        "total_cost_usd_nominal": t["cost_usd_nominal"],
    }).reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# Checks against the reports' totals and the sums file
# --------------------------------------------------------------------------------------------

def program_total_check(courses: pd.DataFrame, raw_totals: pd.DataFrame,
                        log: DataLog | None = None, flag_tolerance: float = 0.05) -> pd.DataFrame:
    """Compare cleaned course sums with the reports' own program totals.

    One row per report x country x program that has a totals row: ``n_courses``,
    ``course_trainees``, ``course_cost_usd`` (sum of cleaned, non-proposed course records;
    NaN costs add nothing), ``n_cost_missing``, ``total_trainees``, ``total_cost_usd`` (the
    report's total), ``cost_ratio`` = course_cost / total_cost (1.0 when both are 0; NaN when
    only the total is 0), ``trainee_ratio`` likewise, ``abs_cost_diff_usd``, and
    ``within_1pct`` / ``within_5pct`` (cost ratio within 1 % / 5 % of 1, or absolute
    difference below $1). Blocks whose cost differs by more than ``flag_tolerance`` are
    logged (kind ``flag``), worst first.
    """
    c = courses[~courses["proposed"]]
    agg = (c.groupby(["report", "country", "program"], sort=False)
           .agg(n_courses=("row_id", "size"), course_trainees=("trainees", "sum"),
                course_cost_usd=("cost_usd_nominal", "sum"), n_cost_missing=("cost_missing", "sum"))
           .reset_index())
    t = (raw_totals.groupby(["report", "country", "program"], sort=False)
         .agg(n_total_rows=("row_id", "size"), total_trainees=("total_trainees", "sum"),
              total_cost_usd=("total_cost_usd_nominal", "sum"))
         .reset_index())
    out = t.merge(agg, on=["report", "country", "program"], how="left")
    out["n_courses"] = out["n_courses"].fillna(0).astype("int64")
    out["n_cost_missing"] = out["n_cost_missing"].fillna(0).astype("int64")
    for col in ["course_trainees", "course_cost_usd"]:
        out[col] = out[col].astype(float).fillna(0.0)
    out["total_trainees"] = out["total_trainees"].astype(float)

    def ratio(a: pd.Series, b: pd.Series) -> pd.Series:
        r = a / b.where(b != 0)
        return r.mask((a == 0) & (b == 0), 1.0)

    out["cost_ratio"] = ratio(out["course_cost_usd"], out["total_cost_usd"])
    out["trainee_ratio"] = ratio(out["course_trainees"], out["total_trainees"])
    out["abs_cost_diff_usd"] = (out["course_cost_usd"] - out["total_cost_usd"]).abs()
    close = out["abs_cost_diff_usd"] < 1.0
    out["within_1pct"] = close | ((out["cost_ratio"] - 1).abs() <= 0.01)
    out["within_5pct"] = close | ((out["cost_ratio"] - 1).abs() <= 0.05)
    out["report_fy"] = out["report"].str[:4].astype("int64")
    out = out[["report", "report_fy", "country", "program", "n_total_rows", "n_courses", "n_cost_missing",
               "course_trainees", "total_trainees", "trainee_ratio", "course_cost_usd", "total_cost_usd",
               "cost_ratio", "abs_cost_diff_usd", "within_1pct", "within_5pct"]]
    if log is not None:
        bad = out[~(close | ((out["cost_ratio"] - 1).abs() <= flag_tolerance))]
        bad = bad.sort_values("abs_cost_diff_usd", ascending=False)
        log.record(SOURCE_ID, "note", len(out),
                   "course sums checked against the reports' own Program Totals rows",
                   f"{int(out['within_1pct'].sum())} of {len(out)} blocks within 1 %, "
                   f"{int(out['within_5pct'].sum())} within 5 %")
        for r in bad.head(25).itertuples(index=False):
            log.record(SOURCE_ID, "flag", r.n_courses,
                       f"course sum differs from the report's program total by more than {flag_tolerance:.0%}",
                       f"report {r.report}, {r.country}, {r.program}: courses ${r.course_cost_usd:,.0f} "
                       f"vs total ${r.total_cost_usd:,.0f} (ratio {r.cost_ratio:.3f}); trainees "
                       f"{r.course_trainees:,.0f} vs {r.total_trainees:,.0f}; {r.n_cost_missing} costs missing")
        if len(bad) > 25:
            log.record(SOURCE_ID, "flag", len(bad) - 25, "further blocks differing from their program total",
                       f"total absolute difference ${bad['abs_cost_diff_usd'].iloc[25:].sum():,.0f}")
    return out.sort_values("abs_cost_diff_usd", ascending=False, ignore_index=True)


def sums_file_check(courses: pd.DataFrame, sums: pd.DataFrame, log: DataLog | None = None) -> pd.DataFrame:
    """Compare cleaned course sums with the provided naive sums file.

    One row per report x country x program present in either: the file's ``trainees`` and
    ``total_cost_usd`` next to ``clean_rows``, ``clean_trainees`` and ``clean_cost_usd`` (all
    cleaned records, proposed ones included as in the file), ``cost_diff_usd`` = file - clean
    and ``presence`` (``both``, ``file_only``, ``clean_only``; the last two arise where a block
    was re-attributed to another country). The differences come from the FY2007 totals rows
    counted as courses in the file (FY2007 doubled), the FY2009 digits-only parse (up to
    1e18), the three re-attributed blocks and the recovered costs.
    """
    agg = (courses.groupby(["report", "country", "program"])
           .agg(clean_rows=("row_id", "size"), clean_trainees=("trainees", lambda s: s.astype(float).sum()),
                clean_cost_usd=("cost_usd_nominal", "sum"))
           .reset_index())
    out = sums.merge(agg, on=["report", "country", "program"], how="outer", indicator="presence")
    out["presence"] = out["presence"].map({"both": "both", "left_only": "file_only", "right_only": "clean_only"})
    out["cost_diff_usd"] = out["total_cost_usd"] - out["clean_cost_usd"]
    if log is not None:
        both = out[out["presence"] == "both"]
        same = int((both["cost_diff_usd"].abs() < 1.0).sum())
        by_report = both.loc[both["cost_diff_usd"].abs() >= 1.0].groupby("report")["cost_diff_usd"].sum()
        log.record(SOURCE_ID, "note", len(out), "cleaned course sums compared with the provided naive sums file",
                   f"{same} of {len(both)} shared blocks equal; {int((out['presence'] != 'both').sum())} blocks "
                   f"only on one side (re-attributed countries); file minus clean by report: "
                   f"{ {k: float(f'{v:.4g}') for k, v in by_report.items()} }")
    return out


# --------------------------------------------------------------------------------------------
# Country-year
# --------------------------------------------------------------------------------------------

def courses_to_country_year(courses: pd.DataFrame, log: DataLog | None = None) -> pd.DataFrame:
    """Aggregate cleaned course records to one row per African state x year, FY1999-FY2020.

    Sums exclude proposed training and pre-independence South Sudan records (logged). A
    state-year of a covered fiscal year without records is 0; FY2006 (no report) is NaN with
    ``fmtr_covered=False``. Costs are nominal U.S. dollars; ``us_training_cost_nominal_<group>``
    and ``us_trainees_<group>`` split them by program group (they add up to the totals).
    ``fmtr_n_records`` counts course records, ``fmtr_n_cost_missing`` those without a cost.
    """
    log = DataLog() if log is None else log
    use = courses[~courses["proposed"]]
    pre = use["pre_independence"]
    if pre.any():
        log.record(SOURCE_ID, "drop", int(pre.sum()),
                   "Government of Southern Sudan records before South Sudan's independence (2011) are not "
                   "attributed to Sudan (SDN) nor to a state-year: excluded from the country-year table",
                   f"years {sorted(use.loc[pre, 'year'].unique().tolist())}; ${use.loc[pre, 'cost_usd_nominal'].sum():,.0f}; "
                   f"{int(use.loc[pre, 'trainees'].sum())} trainees")
    use = use[~pre].copy()
    use["trainees_f"] = use["trainees"].astype(float)

    keys = ["iso3", "year"]
    base = use.groupby(keys).agg(us_training_cost_usd_nominal=("cost_usd_nominal", "sum"),
                                 us_trainees=("trainees_f", "sum"),
                                 fmtr_n_records=("row_id", "size"),
                                 fmtr_n_cost_missing=("cost_missing", "sum"))
    cost_g = use.pivot_table(index=keys, columns="program_group", values="cost_usd_nominal",
                             aggfunc="sum", fill_value=0.0)
    tr_g = use.pivot_table(index=keys, columns="program_group", values="trainees_f",
                           aggfunc="sum", fill_value=0.0)
    cost_g = cost_g.reindex(columns=list(PROGRAM_GROUPS), fill_value=0.0)
    tr_g = tr_g.reindex(columns=list(PROGRAM_GROUPS), fill_value=0.0)
    cost_g.columns = _group_cols("us_training_cost_nominal")
    tr_g.columns = _group_cols("us_trainees")
    agg = base.join(cost_g).join(tr_g).reset_index()

    spine = state_years(FIRST_FY, LAST_FY)[["iso3", "year"]]
    outside = agg.merge(spine, on=keys, how="left", indicator=True)
    outside = outside[outside["_merge"] == "left_only"]
    if len(outside):
        log.record(SOURCE_ID, "drop", int(outside["fmtr_n_records"].sum()),
                   "course records of a state-year outside the state's existence (crosswalk)",
                   f"{outside[keys].to_dict('records')}")
    out = spine.merge(agg, on=keys, how="left")
    value_cols = [c for c in COUNTRY_YEAR_COLUMNS if c not in ("iso3", "year", "fiscal_year", "fmtr_covered")]
    out["fiscal_year"] = out["year"].astype("int64")  # calendar year = fiscal year
    out["fmtr_covered"] = ~out["fiscal_year"].isin(MISSING_FY)
    for col in value_cols:
        out[col] = out[col].astype(float).fillna(0.0).where(out["fmtr_covered"])
    zero = out["fmtr_covered"] & (out["fmtr_n_records"] == 0)
    zero_pairs = out.loc[zero].groupby("iso3")["year"].apply(lambda y: ",".join(map(str, y))).to_dict()
    log.record(SOURCE_ID, "fill", int(zero.sum()),
               "state-years of covered reports without any training record set to 0 (the report lists all "
               "DoD/DoS training of foreign personnel; restricted countries simply have no records)",
               f"{zero_pairs}")
    log.record(SOURCE_ID, "note", int((~out["fmtr_covered"]).sum()),
               "FY2006 report not available in structured form: all FY2006 amounts NaN (not zero)")
    out["year"] = out["year"].astype("int64")
    out = out[COUNTRY_YEAR_COLUMNS].sort_values(keys, ignore_index=True)
    if out.duplicated(keys).any():
        raise DuplicateKeyError(f"{SOURCE_ID}: country-year table has duplicated iso3-year keys.")
    return validate_frame(out, COUNTRY_YEAR_SCHEMA, SOURCE_ID, "country-year table", advice=ADVICE)


@fails_loudly
def load_country_year(raw_dir: Path, log: DataLog | None = None) -> pd.DataFrame:
    """FMTR training per African state x year, FY1999-FY2020 (nominal U.S. dollars).

    Columns: ``iso3``, ``year`` (calendar year = fiscal year), ``fiscal_year``,
    ``us_training_cost_usd_nominal`` (total cost of the training records, nominal US$),
    ``us_trainees`` (number of trainees), ``us_training_cost_nominal_<group>`` and
    ``us_trainees_<group>`` for each program group (imet, ctfp, train_and_equip, peacekeeping,
    regional_centers, fmf, other), ``fmtr_n_records``, ``fmtr_n_cost_missing`` and
    ``fmtr_covered`` (False only for FY2006, whose values are NaN). Deflation is left to the
    panel. See the module docstring for coverage and cleaning rules.
    """
    log = DataLog() if log is None else log
    courses = load_courses(raw_dir, log)
    return courses_to_country_year(courses, log)
