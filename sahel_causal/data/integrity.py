"""Integrity of data/processed/: provenance checksums both ways and the invariants of both panels.

``data/processed/provenance.json`` records the sha256 of every file the build wrote, the raw
inputs (with the checksums pinned in ``data/sources.toml``) and the hand-coded reference
tables. A panel is only used when provenance.json exists, is well formed and records the
panel's current checksum (:func:`verify_output`); ``data check`` also compares every recorded
output, input and reference table (:func:`provenance_problems`) and the invariants of the
country-year and country-month panels (:func:`country_year_problems`,
:func:`country_month_problems`). Every problem is one line naming the file or column and what
is wrong; none is fixed silently.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd

from sahel_causal.data import countries
from sahel_causal.errors import SchemaError

#: What to do when data/processed/ does not match its provenance.
REBUILD = ("Rebuild data/processed/ with `sahel-causal data build` (needs the raw data), or restore the "
           "committed files with `git checkout -- data/processed/`.")

#: Count columns of the country-year panel: never negative, and whole numbers.
COUNT_COLUMNS = ("coup_attempts", "coup_successes", "coup_failed", "cline_coups_realized", "cline_coups_attempted",
                 "cline_conspiracies", "acled_civilian_events", "acled_pv_events", "acled_demonstrations",
                 "gtd_incidents", "un_pko_missions", "us_exercises", "irregular_transition")
#: Non-negative magnitudes (deaths, persons, index volumes) of the country-year panel.
NONNEGATIVE_COLUMNS = COUNT_COLUMNS + (
    "us_trainees", "ucdp_state_based_best", "ucdp_nonstate_best", "ucdp_onesided_best", "ucdp_brd_best",
    "acled_fatalities", "acled_civilian_fatalities", "gtd_fatalities", "population", "gdp_pc", "milex_usd",
    "milper", "us_troops", "us_training_cost_usd", "tiv_from_usa", "tiv_from_fra", "tiv_from_rus", "tiv_from_chn")
#: 0/1 columns of the country-year panel.
BINARY_COLUMNS = ("sahel_g5", "acled_partial_year", "us_base", "us_lilypad", "irregular_transition")


def read_provenance(provenance: Path) -> dict[str, Any]:
    """The parsed provenance.json; :class:`SchemaError` when missing, unreadable or malformed."""
    if not provenance.is_file():
        raise SchemaError(f"{provenance} is missing: the processed panel cannot be checked against the build "
                          f"that made it, so it is not used. {REBUILD}")
    try:
        prov = json.loads(provenance.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SchemaError(f"{provenance} is not valid JSON ({exc}): it was edited or damaged. {REBUILD}") from None
    outputs = prov.get("outputs") if isinstance(prov, dict) else None
    if not isinstance(outputs, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                for k, v in outputs.items()):
        raise SchemaError(f"{provenance} has no 'outputs' table of file -> sha256: it was edited or damaged. "
                          f"{REBUILD}")
    return prov


def verify_output(path: Path, provenance: Path, key: str) -> None:
    """Refuse ``path`` unless ``provenance`` records exactly its sha256 under ``outputs[key]``."""
    from sahel_causal.data.registry import sha256_file

    prov = read_provenance(provenance)
    want = prov["outputs"].get(key)
    if want is None:
        raise SchemaError(f"{provenance} records no checksum for {key}: it was edited or belongs to another "
                          f"build, so {path.name} cannot be trusted. {REBUILD}")
    got = sha256_file(path)
    if want != got:
        raise SchemaError(
            f"{path} differs from the version recorded in {provenance.name} (sha256 {want}, found {got}): it "
            f"was changed after it was built. Rebuild it with `sahel-causal data build` (or restore it with git)."
        )


def provenance_problems(provenance: Path, project_root: Path) -> list[str]:
    """Every way data/processed/ disagrees with provenance.json, the source registry or the reference tables."""
    from sahel_causal.data.build import reference_files
    from sahel_causal.data.registry import registry, sha256_file

    try:
        prov = read_provenance(provenance)
    except SchemaError as exc:
        return [str(exc)]
    problems = []
    for rel, want in sorted(prov["outputs"].items()):
        p = project_root / rel
        if not p.is_file():
            problems.append(f"{rel} is recorded in {provenance.name} but missing. {REBUILD}")
        elif sha256_file(p) != want:
            problems.append(f"{rel} differs from the checksum in {provenance.name}: changed after the build. {REBUILD}")
    pinned = {(s.id, f.path): f.sha256 for s in registry().values() for f in s.files}
    for item in prov.get("inputs", []):
        key = (item.get("source"), item.get("path"))
        if pinned.get(key) != item.get("sha256"):
            problems.append(f"{provenance.name}: input {key[1]} ({key[0]}) has sha256 {item.get('sha256')}, but "
                            f"data/sources.toml pins {pinned.get(key)}: the panel was built from other raw files. "
                            f"{REBUILD}")
    from sahel_causal.paths import PROJECT_ROOT

    recorded = prov.get("reference_inputs", {})
    for f in reference_files():
        rel = f.resolve().relative_to(PROJECT_ROOT.resolve()).as_posix()
        if rel in recorded and recorded[rel] != sha256_file(f):
            problems.append(f"{rel} changed after the panel was built (checksum differs from {provenance.name}): "
                            f"the panel is stale. {REBUILD}")
        elif rel not in recorded:
            problems.append(f"{rel} is not recorded in {provenance.name}: the panel is stale. {REBUILD}")
    return problems


def _examples(df: pd.DataFrame, cols: list[str], n: int = 3) -> str:
    return str(df[cols].head(n).to_dict("records"))


def _coverage_rules() -> list[tuple[tuple[str, ...], str, Any]]:
    """(columns, description, covered(year) -> bool Series) for the zero-filled event counts."""
    from sahel_causal.data.sources import gtd, powell_thyne

    pt = powell_thyne.COVERAGE
    return [
        (("coup_attempts", "coup_successes", "coup_failed"), f"Powell & Thyne covers {pt[0]}-{pt[1]}",
         lambda y: y.between(*pt)),
        (("gtd_fatalities", "gtd_incidents"), "GTD covers 1970-2020 except 1993", gtd.covered),
    ]


def country_year_problems(panel: pd.DataFrame) -> list[str]:
    """Invariants of the country-year panel: keys, spine, counts, coups and the coverage rules."""
    problems: list[str] = []
    for col in ("iso3", "year"):
        if col not in panel.columns:
            return [f"country-year panel: key column {col!r} is missing"]
    if panel["iso3"].isna().any() or panel["year"].isna().any():
        problems.append("country-year panel: blank iso3 or year keys")
    dup = panel[panel.duplicated(["iso3", "year"], keep=False)]
    if len(dup):
        problems.append(f"country-year panel: {len(dup)} rows share an iso3-year key, e.g. {_examples(dup, ['iso3', 'year'])}")
    years = pd.to_numeric(panel["year"], errors="coerce")
    if years.notna().any():
        spine = countries.state_years(int(years.min()), int(years.max()))[["iso3", "year"]]
        keys = panel[["iso3", "year"]].dropna().assign(year=lambda d: pd.to_numeric(d["year"]).astype("int64"))
        extra = keys.merge(spine, how="left", indicator=True).query("_merge == 'left_only'")
        if len(extra):
            problems.append(f"country-year panel: {len(extra)} rows are not state-years of the crosswalk (unknown "
                            f"code or before independence), e.g. {_examples(extra, ['iso3', 'year'])}")
        lost = spine.merge(keys, how="left", indicator=True).query("_merge == 'left_only'")
        if len(lost):
            problems.append(f"country-year panel: {len(lost)} state-years of the crosswalk are missing, e.g. "
                            f"{_examples(lost, ['iso3', 'year'])}")
    for col in NONNEGATIVE_COLUMNS:
        if col in panel.columns:
            v = pd.to_numeric(panel[col], errors="coerce")
            if (panel[col].notna() & v.isna()).any():
                problems.append(f"{col}: non-numeric values")
            neg = panel[v < 0]
            if len(neg):
                problems.append(f"{col}: {len(neg)} negative values, e.g. {_examples(neg, ['iso3', 'year', col])}")
    for col in COUNT_COLUMNS:
        if col in panel.columns:
            v = pd.to_numeric(panel[col], errors="coerce")
            frac = panel[(v % 1 != 0) & v.notna()]
            if len(frac):
                problems.append(f"{col}: {len(frac)} counts that are not whole numbers, e.g. "
                                f"{_examples(frac, ['iso3', 'year', col])}")
    for col in BINARY_COLUMNS:
        if col in panel.columns:
            bad = panel[panel[col].notna() & ~panel[col].isin([0, 1])]
            if len(bad):
                problems.append(f"{col}: {len(bad)} values other than 0/1, e.g. {_examples(bad, ['iso3', 'year', col])}")
    if {"coup_attempts", "coup_successes"} <= set(panel.columns):
        bad = panel[panel["coup_successes"] > panel["coup_attempts"]]
        if len(bad):
            problems.append(f"coup_successes exceeds coup_attempts in {len(bad)} rows, e.g. "
                            f"{_examples(bad, ['iso3', 'year', 'coup_attempts', 'coup_successes'])}")
        if "coup_failed" in panel.columns:
            both = panel[["coup_attempts", "coup_successes", "coup_failed"]].notna().all(axis=1)
            off = panel[both & (panel["coup_successes"] + panel["coup_failed"] != panel["coup_attempts"])]
            if len(off):
                problems.append(f"coup_attempts != coup_successes + coup_failed in {len(off)} rows, e.g. "
                                f"{_examples(off, ['iso3', 'year', 'coup_attempts', 'coup_successes', 'coup_failed'])}")
    if "acled_months_covered" in panel.columns:
        bad = panel[panel["acled_months_covered"].notna() & ~panel["acled_months_covered"].between(0, 12)]
        if len(bad):
            problems.append(f"acled_months_covered: {len(bad)} values outside 0-12")
    if years.notna().all():
        for cols, what, covered in _coverage_rules():
            inside = covered(years)
            for col in cols:
                if col not in panel.columns:
                    continue
                gap = panel[inside & panel[col].isna()]
                if len(gap):
                    problems.append(f"{col}: {len(gap)} missing values inside the coverage window ({what}; "
                                    f"absence there is 0), e.g. {_examples(gap, ['iso3', 'year'])}")
                out = panel[~inside & panel[col].notna()]
                if len(out):
                    problems.append(f"{col}: {len(out)} values outside the coverage window ({what}; must be "
                                    f"missing, not 0), e.g. {_examples(out, ['iso3', 'year', col])}")
    return problems


def country_month_problems(month: pd.DataFrame) -> list[str]:
    """Invariants of the country-month panel: keys, months, states that existed, event counts."""
    problems: list[str] = []
    need = ["iso3", "year", "month", "acled_pv_events"]
    missing = [c for c in need if c not in month.columns]
    if missing:
        return [f"country-month panel: missing columns {missing}"]
    if month[["iso3", "year", "month"]].isna().any().any():
        problems.append("country-month panel: blank iso3, year or month keys")
    dup = month[month.duplicated(["iso3", "year", "month"], keep=False)]
    if len(dup):
        problems.append(f"country-month panel: {len(dup)} rows share an iso3-year-month key, e.g. "
                        f"{_examples(dup, ['iso3', 'year', 'month'])}")
    bad_month = month[~pd.to_numeric(month["month"], errors="coerce").isin(range(1, 13))]
    if len(bad_month):
        problems.append(f"country-month panel: {len(bad_month)} months outside 1-12, e.g. "
                        f"{_examples(bad_month, ['iso3', 'year', 'month'])}")
    start = dict(zip(countries.crosswalk()["iso3"], countries.crosswalk()["state_start"]))
    unknown = sorted(set(month["iso3"].dropna()) - set(start))
    if unknown:
        problems.append(f"country-month panel: iso3 codes not in the crosswalk: {unknown}")
    early = month[month["year"] < month["iso3"].map(start)]
    if len(early):
        problems.append(f"country-month panel: {len(early)} rows before the state's independence, e.g. "
                        f"{_examples(early, ['iso3', 'year', 'month'])}")
    ev = pd.to_numeric(month["acled_pv_events"], errors="coerce")
    if (month["acled_pv_events"].notna() & ev.isna()).any():
        problems.append("acled_pv_events (country-month): non-numeric values")
    bad = month[(ev < 0) | ((ev % 1 != 0) & ev.notna())]
    if len(bad):
        problems.append(f"acled_pv_events (country-month): {len(bad)} negative or fractional counts, e.g. "
                        f"{_examples(bad, ['iso3', 'year', 'month', 'acled_pv_events'])}")
    return problems
