"""Hand-coded reference timelines: U.S. programs and external security deployments by country and year.

No public data set codes which African states were Pan-Sahel Initiative (PSI) or Trans-Sahara
Counterterrorism Partnership (TSCTP) partners in which year, or which external forces were deployed
where. Two hand-coded tables in ``data/reference/`` do it, one cited source per row:

* ``us_programs.csv``: PSI, TSCTP, PREACT, SGI, AFRICOM's area of responsibility, and suspensions of
  U.S. assistance after coups (``COUP_AID_SUSPENSION``).
* ``external_deployments.csv``: French, UN, EU, U.S., Russian (Wagner/Africa Corps), AU, ECOWAS and
  other regional deployments, the G5 Sahel Joint Force and the Lake Chad Basin MNJTF.

The coding rules (presence in a year, which actors count as external, how disagreeing sources are
resolved) are written in each file's header comment; this module enforces the table schema and
derives panel columns from the tables.

Rules implemented here
----------------------
* Presence: a spell covers calendar year ``y`` when ``start_year <= y <= end_year``; an empty
  ``end_year`` is ongoing and is carried to the last requested year (partial years count).
* Alternative coding: with ``alternative=True`` every row uses ``alt_start_year``/``alt_end_year``
  where they are filled, so robustness analyses can re-estimate on the other reading of a disputed year.
* ``tsctp_partner`` is 1 while a PSI or TSCTP spell covers the year (PSI counted as the first phase of
  TSCTP); ``tsctp_entry_year`` is the first year of any PSI/TSCTP spell, empty for never-partners.
* ``external_security_actors`` counts distinct actors among France, UN, EU, US, Russia, AU, ECOWAS and
  other African regional organisations. The G5 Sahel Joint Force and the MNJTF are regional joint forces
  of the host's own neighbourhood (national battalions operating mostly on their own territory); they
  are not external for their members, get their own indicators and enter
  ``external_security_actors_broad``.

References: GAO-08-860 (2008) and GAO-14-502 (2014); CRS RL34003 (Ploch); U.S. Department of State,
Country Reports on Terrorism; UN Peace and Security Data Hub (DPPADPOSS-PKO); UN Security Council
resolutions and EU Council decisions cited row by row in the CSV files.
"""
from __future__ import annotations

import io
import re
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from sahel_causal.data import countries
from sahel_causal.errors import DuplicateKeyError, ReferenceDataError, SchemaError
from sahel_causal.paths import REFERENCE_DIR

PROGRAMS_CSV = REFERENCE_DIR / "us_programs.csv"
DEPLOYMENTS_CSV = REFERENCE_DIR / "external_deployments.csv"

FIRST_YEAR = 1950
LAST_YEAR = 2030
KEY = ["iso3", "year"]
VERIFIED = frozenset({"yes", "partial", "no"})

PROGRAM_COLUMNS = ["program", "iso3", "start_year", "start_month", "end_year", "end_month", "end_type",
                   "alt_start_year", "alt_end_year", "excludes", "source", "note", "verified"]
DEPLOYMENT_COLUMNS = ["actor", "operation", "iso3", "start_year", "start_month", "end_year", "end_month",
                      "alt_start_year", "alt_end_year", "exit_type", "source", "note", "verified"]
PROGRAMS = frozenset({"PSI", "TSCTP", "PREACT", "SGI", "AFRICOM", "COUP_AID_SUSPENSION"})
AFRICA_WIDE_PROGRAMS = frozenset({"AFRICOM"})
PROGRAM_END_TYPES = frozenset({"program_ended", "left", "suspended", "lifted"})
EXIT_TYPES = frozenset({"mandate_end", "withdrawal", "host_request", "transition", "rehatted",
                        "base_handover", "repositioned", "dissolved"})

# actor code in the CSV -> (panel indicator, counted in external_security_actors)
ACTORS: dict[str, tuple[str, bool]] = {
    "France": ("actor_france", True),
    "UN": ("actor_un", True),
    "EU": ("actor_eu", True),
    "US": ("actor_us", True),
    "Russia": ("actor_russia", True),
    "AU": ("actor_au", True),
    "ECOWAS": ("actor_ecowas", True),
    "OtherREC": ("actor_other_rec", True),
    "G5_JF": ("actor_g5_jf", False),
    "MNJTF": ("actor_mnjtf", False),
}
# program code -> panel indicator (TSCTP and PSI are combined into tsctp_partner)
PROGRAM_INDICATORS = {"PSI": "psi_partner", "PREACT": "preact_partner", "SGI": "sgi_partner",
                      "COUP_AID_SUSPENSION": "us_aid_suspended", "AFRICOM": "africom_aor"}
TSCTP_PROGRAMS = ("PSI", "TSCTP")

PROGRAM_PANEL_COLUMNS = ["psi_partner", "tsctp_partner", "tsctp_entry_year", "tsctp_active",
                         "us_aid_suspended", "preact_partner", "sgi_partner", "africom_aor"]
DEPLOYMENT_PANEL_COLUMNS = ["external_security_actors", "external_security_actors_broad",
                            *[ind for ind, _ext in ACTORS.values()]]
TIMELINE_COLUMNS = [*PROGRAM_PANEL_COLUMNS, *DEPLOYMENT_PANEL_COLUMNS]

_MISSING = "0 = not coded as present; never missing for states in the crosswalk"


def _codebook() -> list[dict[str, str]]:
    prog = "data/reference/us_programs.csv"
    dep = "data/reference/external_deployments.csv"
    rows = [
        ("psi_partner", "1 if the state was a Pan-Sahel Initiative (PSI) partner in the year", "0/1", prog,
         "PSI spells expanded to every calendar year they touch (2002-2004; Mali, Niger, Chad, Mauritania)"),
        ("tsctp_partner", "1 if the state was a PSI or Trans-Sahara Counterterrorism Partnership partner in the year "
         "(PSI counted as TSCTP's first phase)", "0/1", prog,
         "union of PSI and TSCTP spells by calendar year; suspensions of aid do not end membership"),
        ("tsctp_entry_year", "First calendar year the state was a PSI or TSCTP partner", "year", prog,
         "minimum start_year over the state's PSI/TSCTP rows; empty for never-partners"),
        ("tsctp_active", "1 if the state was a PSI/TSCTP partner and U.S. assistance was not suspended after a coup",
         "0/1", prog, "tsctp_partner * (1 - us_aid_suspended)"),
        ("us_aid_suspended", "1 if U.S. non-humanitarian assistance to the government was suspended after a coup or "
         "unconstitutional extension of power for any part of the year", "0/1", prog,
         "COUP_AID_SUSPENSION spells (coded only where a U.S. statement says so; TSCTP partners only)"),
        ("preact_partner", "1 if the state was a Partnership for Regional East Africa Counterterrorism partner "
         "(comparison group)", "0/1", prog, "PREACT spells from the program's 2009 launch"),
        ("sgi_partner", "1 if the state was a Security Governance Initiative partner", "0/1", prog,
         "SGI spells from Aug 2014"),
        ("africom_aor", "1 once U.S. Africa Command covered the state (all African states except Egypt); a time "
         "marker, not a country treatment", "0/1", prog, "AFRICOM row (iso3 '*') from its launch year"),
        ("external_security_actors", "Number of distinct external security actors deployed in the state during the "
         "year (France, UN, EU, US, Russia, AU, ECOWAS, other African regional organisations)", "count", dep,
         "sum of the external actor indicators; the G5 Sahel Joint Force and MNJTF are not external for members"),
        ("external_security_actors_broad", "As external_security_actors, also counting the G5 Sahel Joint Force and "
         "the Lake Chad Basin MNJTF", "count", dep, "external_security_actors + actor_g5_jf + actor_mnjtf"),
    ]
    labels = {"actor_france": "French forces (operations and permanent bases)",
              "actor_un": "a UN peacekeeping operation", "actor_eu": "an EU CSDP mission or operation",
              "actor_us": "a documented U.S. troop deployment or base",
              "actor_russia": "Russian Wagner Group / Africa Corps personnel",
              "actor_au": "an African Union mission", "actor_ecowas": "an ECOWAS mission",
              "actor_other_rec": "a mission of another African regional organisation (SADC, ECCAS/CEMAC, EAC)",
              "actor_g5_jf": "the G5 Sahel Joint Force (not counted as external)",
              "actor_mnjtf": "the Lake Chad Basin Multinational Joint Task Force (not counted as external)"}
    for _actor, (ind, _ext) in ACTORS.items():
        rows.append((ind, f"1 if {labels[ind]} was deployed in the state for any part of the year", "0/1", dep,
                     "deployment spells expanded to every calendar year they touch"))
    return [{"name": n, "meaning": m, "unit": u, "source": s, "transformation": t, "missing": _MISSING}
            for n, m, u, s, t in rows]


TIMELINE_CODEBOOK: list[dict[str, str]] = _codebook()


# ----------------------------------------------------------------------------------------------
# reading and validation
# ----------------------------------------------------------------------------------------------
def _read_table(path: Path, columns: list[str]) -> pd.DataFrame:
    """Read a reference CSV, skipping '#' comment lines; add the physical line number of each row."""
    path = Path(path)
    if not path.is_file():
        raise ReferenceDataError(f"{path}: reference table not found; restore it from the repository.")
    lines = path.read_text(encoding="utf-8").splitlines()
    keep = [(i + 1, ln) for i, ln in enumerate(lines) if ln.strip() and not ln.lstrip().startswith("#")]
    if not keep:
        raise ReferenceDataError(f"{path}: no header row; the file must have a CSV header after the comments.")
    text = "\n".join(ln for _i, ln in keep)
    df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
    missing = [c for c in columns if c not in df.columns]
    extra = [c for c in df.columns if c not in columns]
    if missing or extra:
        raise ReferenceDataError(
            f"{path.name}: header must be {columns}; missing {missing}, unknown {extra}. Fix the header line "
            f"(line {keep[0][0]})."
        )
    if len(df) != len(keep) - 1:  # pragma: no cover - only if a quoted field spans lines
        raise ReferenceDataError(f"{path.name}: rows span several lines; keep each row on one line.")
    df = df[columns].apply(lambda s: s.str.strip())
    df.insert(0, "line", [i for i, _ln in keep[1:]])
    return df


def _fail(path: Path, line: int, field: str, problem: str, fix: str) -> None:
    raise ReferenceDataError(f"{Path(path).name}, line {line}, field '{field}': {problem}. {fix}")


def _int_field(path: Path, row: pd.Series, field: str, lo: int, hi: int, required: bool) -> int | None:
    raw = row[field]
    if raw == "":
        if required:
            _fail(path, row["line"], field, "is empty", "Fill it with a year/month from the cited source.")
        return None
    if not re.fullmatch(r"\d+", raw):
        _fail(path, row["line"], field, f"'{raw}' is not a whole number", "Use digits only, e.g. 2005.")
    value = int(raw)
    if not lo <= value <= hi:
        _fail(path, row["line"], field, f"{value} is outside {lo}-{hi}", "Check the date against the source.")
    return value


def _validate(df: pd.DataFrame, path: Path, kind: str) -> pd.DataFrame:
    """Check every row; return a typed copy (years and months as nullable integers)."""
    states = countries.crosswalk().set_index("iso3")
    label = "program" if kind == "programs" else "actor"
    vocab = PROGRAMS if kind == "programs" else frozenset(ACTORS)
    end_col = "end_type" if kind == "programs" else "exit_type"
    end_vocab = PROGRAM_END_TYPES if kind == "programs" else EXIT_TYPES
    typed: dict[str, list] = {c: [] for c in ["start_year", "start_month", "end_year", "end_month",
                                               "alt_start_year", "alt_end_year"]}
    for _idx, row in df.iterrows():
        line = row["line"]
        if row[label] not in vocab:
            _fail(path, line, label, f"unknown value '{row[label]}'", f"Use one of {sorted(vocab)}.")
        iso3 = row["iso3"]
        if iso3 == "*":
            if kind != "programs" or row["program"] not in AFRICA_WIDE_PROGRAMS:
                _fail(path, line, "iso3", "'*' (all states) is only allowed for AFRICOM",
                      "Code one row per country.")
            bad = [c for c in row["excludes"].split(";") if c and c not in states.index]
            if bad:
                _fail(path, line, "excludes", f"codes {bad} are not in the crosswalk", "Use ISO3 codes.")
        elif iso3 not in states.index:
            _fail(path, line, "iso3", f"'{iso3}' is not in data/reference/countries.csv",
                  "Use the ISO3 code of one of the 54 African states.")
        elif kind == "programs" and row["excludes"]:
            _fail(path, line, "excludes", "only allowed with iso3 '*'", "Leave it empty.")
        sy = _int_field(path, row, "start_year", FIRST_YEAR, LAST_YEAR, True)
        sm = _int_field(path, row, "start_month", 1, 12, False)
        ey = _int_field(path, row, "end_year", FIRST_YEAR, LAST_YEAR, False)
        em = _int_field(path, row, "end_month", 1, 12, False)
        ay = _int_field(path, row, "alt_start_year", FIRST_YEAR, LAST_YEAR, False)
        ae = _int_field(path, row, "alt_end_year", FIRST_YEAR, LAST_YEAR, False)
        if ey is not None and (sy, sm or 1) > (ey, em or 12):
            _fail(path, line, "end_year", f"end {ey}-{em or ''} is before start {sy}-{sm or ''}",
                  "Swap or correct the dates.")
        if em is not None and ey is None:
            _fail(path, line, "end_month", "given without end_year", "Add end_year or clear end_month.")
        if ae is not None and ey is None:
            _fail(path, line, "alt_end_year", "given for an ongoing spell", "Add end_year or clear alt_end_year.")
        if (ay if ay is not None else sy) > (ae if ae is not None else (ey if ey is not None else LAST_YEAR)):
            _fail(path, line, "alt_start_year", "the alternative spell ends before it starts",
                  "Check the alternative years.")
        if (ay is not None or ae is not None) and not row["note"]:
            _fail(path, line, "note", "an alternative year needs a note naming the disagreeing sources",
                  "Explain which source gives which year.")
        if (ey is None) != (row[end_col] == ""):
            _fail(path, line, end_col, "must be filled exactly when end_year is filled",
                  f"Use one of {sorted(end_vocab)} for ended spells, empty for ongoing ones.")
        if row[end_col] and row[end_col] not in end_vocab:
            _fail(path, line, end_col, f"unknown value '{row[end_col]}'", f"Use one of {sorted(end_vocab)}.")
        if len(row["source"]) < 15 or not re.search(r"\d", row["source"]):
            _fail(path, line, "source", "is empty or lacks an identifier/date",
                  "Cite author/institution, title, date and a stable identifier (report no., resolution, decision).")
        if not row["note"]:
            _fail(path, line, "note", "is empty", "Add a short note (what the row codes and any caveat).")
        if row["verified"] not in VERIFIED:
            _fail(path, line, "verified", f"'{row['verified']}' is not one of {sorted(VERIFIED)}",
                  "Say whether the dates were checked against the source.")
        if iso3 != "*":
            st = states.loc[iso3]
            last = ey if ey is not None else LAST_YEAR
            st_end = LAST_YEAR if pd.isna(st["state_end"]) else int(st["state_end"])
            if last < int(st["state_start"]) or sy > st_end:
                _fail(path, line, "start_year", f"the spell {sy}-{ey or ''} never overlaps {iso3}'s existence "
                      f"({int(st['state_start'])}-)", "Check the country code and the years.")
        for col, val in zip(typed, (sy, sm, ey, em, ay, ae)):
            typed[col].append(val)
    out = df.copy()
    for col, vals in typed.items():
        out[col] = pd.array(vals, dtype="Int64")
    _check_overlaps(out, path, [label, "iso3"] if kind == "programs" else ["actor", "operation", "iso3"])
    return out


def _check_overlaps(df: pd.DataFrame, path: Path, key: list[str]) -> None:
    """No two rows of the same key may cover the same year (duplicates included)."""
    for _k, grp in df.groupby(key, sort=False):
        spans = sorted((int(r.start_year), LAST_YEAR if pd.isna(r.end_year) else int(r.end_year), int(r.line))
                       for r in grp.itertuples(index=False))
        for (s0, e0, l0), (s1, _e1, l1) in zip(spans, spans[1:]):
            if s1 <= e0:
                _fail(path, l1, "start_year", f"overlaps the row on line {l0} with the same {'/'.join(key)} "
                      f"({s0}-{e0} vs {s1}-)", "Merge the rows or correct the years.")


def load_us_programs(path: Path | str = PROGRAMS_CSV) -> pd.DataFrame:
    """The validated U.S. program table (one row per program spell and country; see the file header)."""
    return _validate(_read_table(Path(path), PROGRAM_COLUMNS), Path(path), "programs")


def load_deployments(path: Path | str = DEPLOYMENTS_CSV) -> pd.DataFrame:
    """The validated external-deployment table (one row per actor, operation and country spell)."""
    return _validate(_read_table(Path(path), DEPLOYMENT_COLUMNS), Path(path), "deployments")


# ----------------------------------------------------------------------------------------------
# country-year panels
# ----------------------------------------------------------------------------------------------
def _years(years: Iterable[int]) -> list[int]:
    ys = sorted({int(y) for y in years})
    if not ys:
        raise SchemaError("timelines: the list of years is empty.")
    return ys


def _spells(df: pd.DataFrame, alternative: bool, last_year: int) -> pd.DataFrame:
    """Start and end year per row, using the alternative years where asked and available."""
    start = df["start_year"].astype("Int64")
    end = df["end_year"].astype("Int64")
    if alternative:
        start = df["alt_start_year"].fillna(start)
        end = df["alt_end_year"].fillna(end)
    out = df.copy()
    out["_start"] = start.astype(int)
    out["_end"] = end.fillna(max(last_year, int(start.max()))).astype(int)
    return out


def _expand(df: pd.DataFrame, years: list[int], exclude_col: str | None = None) -> pd.DataFrame:
    """One row per (row index, iso3, year) that a spell covers; '*' rows cover every crosswalk state."""
    all_iso3 = list(countries.crosswalk()["iso3"])
    ys = pd.Series(years)
    recs = []
    for idx, r in df.iterrows():
        covered = ys[(ys >= r["_start"]) & (ys <= r["_end"])].tolist()
        if r["iso3"] == "*":
            excl = set(filter(None, str(r[exclude_col] if exclude_col else "").split(";")))
            targets = [c for c in all_iso3 if c not in excl]
        else:
            targets = [r["iso3"]]
        recs.extend((idx, c, y) for c in targets for y in covered)
    return pd.DataFrame(recs, columns=["row", "iso3", "year"])


def _spine(years: list[int]) -> pd.DataFrame:
    sp = countries.state_years(years[0], years[-1])[KEY]
    return sp[sp["year"].isin(years)].reset_index(drop=True)


def program_country_years(programs: pd.DataFrame, years: Iterable[int], alternative: bool = False) -> pd.DataFrame:
    """Program indicators for every state-year in ``years`` (see module docstring for the rules).

    Columns: iso3, year, psi_partner, tsctp_partner, tsctp_entry_year, tsctp_active, us_aid_suspended,
    preact_partner, sgi_partner, africom_aor. With ``alternative=True`` the disputed years in
    ``alt_start_year``/``alt_end_year`` replace the primary coding.
    """
    ys = _years(years)
    sp = _spells(programs, alternative, ys[-1])
    cover = _expand(sp, ys, exclude_col="excludes")
    cover["program"] = sp.loc[cover["row"], "program"].to_numpy()
    out = _spine(ys)
    for program, col in PROGRAM_INDICATORS.items():
        hit = cover.loc[cover["program"] == program, KEY].drop_duplicates().assign(**{col: 1})
        out = out.merge(hit, on=KEY, how="left")
    hit = cover.loc[cover["program"].isin(TSCTP_PROGRAMS), KEY].drop_duplicates().assign(tsctp_partner=1)
    out = out.merge(hit, on=KEY, how="left")
    flags = [*PROGRAM_INDICATORS.values(), "tsctp_partner"]
    out[flags] = out[flags].fillna(0).astype("int8")
    out["tsctp_active"] = (out["tsctp_partner"] * (1 - out["us_aid_suspended"])).astype("int8")
    first = (sp[sp["program"].isin(TSCTP_PROGRAMS) & (sp["iso3"] != "*")]
             .groupby("iso3")["_start"].min().rename("tsctp_entry_year"))
    out = out.merge(first, left_on="iso3", right_index=True, how="left")
    out["tsctp_entry_year"] = out["tsctp_entry_year"].astype("Int64")
    return out[[*KEY, *PROGRAM_PANEL_COLUMNS]]


def deployment_country_years(deployments: pd.DataFrame, years: Iterable[int],
                             alternative: bool = False) -> pd.DataFrame:
    """Per-actor indicators and counts of distinct external actors for every state-year in ``years``.

    Columns: iso3, year, external_security_actors, external_security_actors_broad and one 0/1
    indicator per actor (actor_france, actor_un, actor_eu, actor_us, actor_russia, actor_au,
    actor_ecowas, actor_other_rec, actor_g5_jf, actor_mnjtf).
    """
    ys = _years(years)
    sp = _spells(deployments, alternative, ys[-1])
    cover = _expand(sp, ys)
    cover["actor"] = sp.loc[cover["row"], "actor"].to_numpy()
    out = _spine(ys)
    for actor, (col, _external) in ACTORS.items():
        hit = cover.loc[cover["actor"] == actor, KEY].drop_duplicates().assign(**{col: 1})
        out = out.merge(hit, on=KEY, how="left")
    indicators = [col for col, _ext in ACTORS.values()]
    out[indicators] = out[indicators].fillna(0).astype("int8")
    external = [col for col, ext in ACTORS.values() if ext]
    out["external_security_actors"] = out[external].sum(axis=1).astype("int8")
    out["external_security_actors_broad"] = out[indicators].sum(axis=1).astype("int8")
    return out[[*KEY, *DEPLOYMENT_PANEL_COLUMNS]]


def add_timelines(panel: pd.DataFrame, programs: pd.DataFrame | None = None,
                  deployments: pd.DataFrame | None = None, alternative: bool = False) -> pd.DataFrame:
    """Left-join the timeline columns onto ``panel`` (keyed on iso3, year); never changes the row count.

    Raises :class:`DuplicateKeyError` when ``panel`` is not unique on (iso3, year) and
    :class:`SchemaError` when it lacks the key or already holds a timeline column. The input is not
    modified. Loads the reference tables when they are not passed.
    """
    missing = [c for c in KEY if c not in panel.columns]
    if missing:
        raise SchemaError(f"add_timelines: the panel lacks the key columns {missing}.")
    clash = [c for c in TIMELINE_COLUMNS if c in panel.columns]
    if clash:
        raise SchemaError(f"add_timelines: the panel already has timeline columns {clash}; drop them first.")
    dup = panel[panel.duplicated(KEY, keep=False)]
    if len(dup):
        raise DuplicateKeyError(
            f"add_timelines: {len(dup)} panel rows share an iso3-year key, e.g. "
            f"{dup[KEY].drop_duplicates().head(5).to_dict('records')}; the join key must be unique."
        )
    programs = load_us_programs() if programs is None else programs
    deployments = load_deployments() if deployments is None else deployments
    years = range(int(panel["year"].min()), int(panel["year"].max()) + 1)
    prog = program_country_years(programs, years, alternative=alternative)
    dep = deployment_country_years(deployments, years, alternative=alternative)
    out = panel.merge(prog, on=KEY, how="left", validate="one_to_one")
    out = out.merge(dep, on=KEY, how="left", validate="one_to_one")
    if len(out) != len(panel):  # pragma: no cover - guarded by validate=
        raise SchemaError("add_timelines: the join changed the panel's row count.")
    flags = [c for c in TIMELINE_COLUMNS if c != "tsctp_entry_year"]
    known = out["iso3"].isin(countries.african_iso3())
    out.loc[known, flags] = out.loc[known, flags].fillna(0)
    for c in flags:
        out[c] = out[c].astype("Int8") if out[c].isna().any() else out[c].astype("int8")
    return out


# ----------------------------------------------------------------------------------------------
# dated withdrawal events and competing events (issue 11)
# ----------------------------------------------------------------------------------------------
EVENTS_CSV = REFERENCE_DIR / "withdrawal_events.csv"
EVENT_COLUMNS = ["event_id", "kind", "actor", "iso3", "year", "month", "day", "deployment_operation",
                 "description", "source", "note", "verified"]
EVENT_KINDS = frozenset({"exit_announced", "drawdown_start", "exit_completed", "operation_end", "coup", "arrival"})
EVENT_ACTORS = frozenset({*ACTORS, "military"})


def load_events(path: Path | str = EVENTS_CSV) -> pd.DataFrame:
    """The validated table of dated exits and competing events (``withdrawal_events.csv``).

    One row per event; ``iso3`` may list several states separated by ';'. Returns the table with
    ``year``, ``month`` and ``day`` as nullable integers and ``iso3_list`` as a tuple of codes.
    Raises :class:`ReferenceDataError` naming the file, line and field of the first bad value.
    """
    path = Path(path)
    df = _read_table(path, EVENT_COLUMNS)
    states = set(countries.crosswalk()["iso3"])
    seen: dict[str, int] = {}
    years, months, days, lists = [], [], [], []
    for _idx, row in df.iterrows():
        line = row["line"]
        if not re.fullmatch(r"[A-Z][A-Z0-9_]*", row["event_id"]):
            _fail(path, line, "event_id", f"'{row['event_id']}' is not an upper-case identifier",
                  "Use letters, digits and '_' (e.g. FRA_MLI_EXIT).")
        if row["event_id"] in seen:
            _fail(path, line, "event_id", f"'{row['event_id']}' repeats line {seen[row['event_id']]}",
                  "Give every event its own id.")
        seen[row["event_id"]] = line
        if row["kind"] not in EVENT_KINDS:
            _fail(path, line, "kind", f"unknown value '{row['kind']}'", f"Use one of {sorted(EVENT_KINDS)}.")
        if row["actor"] not in EVENT_ACTORS:
            _fail(path, line, "actor", f"unknown value '{row['actor']}'", f"Use one of {sorted(EVENT_ACTORS)}.")
        if (row["kind"] == "coup") != (row["actor"] == "military"):
            _fail(path, line, "actor", "coups (and only coups) have actor 'military'", "Fix kind or actor.")
        codes = tuple(row["iso3"].split(";"))
        bad = [c for c in codes if c not in states]
        if bad or not codes:
            _fail(path, line, "iso3", f"codes {bad} are not in data/reference/countries.csv",
                  "Use ISO3 codes separated by ';'.")
        y = _int_field(path, row, "year", FIRST_YEAR, LAST_YEAR, True)
        m = _int_field(path, row, "month", 1, 12, True)
        d = _int_field(path, row, "day", 1, 31, False)
        if d is not None:
            try:
                pd.Timestamp(year=y, month=m, day=d)
            except ValueError:
                _fail(path, line, "day", f"{y}-{m}-{d} is not a calendar date", "Check the day against the source.")
        if row["kind"] in ("exit_completed", "operation_end", "arrival") and not row["deployment_operation"]:
            _fail(path, line, "deployment_operation", f"is empty for a '{row['kind']}' event",
                  "Name the operation's row in external_deployments.csv.")
        if len(row["source"]) < 15 or not re.search(r"\d", row["source"]):
            _fail(path, line, "source", "is empty or lacks an identifier/date",
                  "Cite author/institution, title, date and a stable identifier.")
        if not row["description"]:
            _fail(path, line, "description", "is empty", "Say what happened.")
        if row["verified"] not in VERIFIED:
            _fail(path, line, "verified", f"'{row['verified']}' is not one of {sorted(VERIFIED)}",
                  "Say whether the date was checked against the source.")
        years.append(y)
        months.append(m)
        days.append(d)
        lists.append(codes)
    out = df.copy()
    out["year"] = pd.array(years, dtype="Int64")
    out["month"] = pd.array(months, dtype="Int64")
    out["day"] = pd.array(days, dtype="Int64")
    out["iso3_list"] = lists
    return out
