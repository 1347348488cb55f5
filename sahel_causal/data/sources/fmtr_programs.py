"""Classification of FMTR program names into program groups.

The Foreign Military Training Report names programs differently every year, e.g.
``"International Military Education And Training  (IMET), FY 99"``,
``"DOS Africa Region, Benin,  International Military Education and Training (IMET),FY03"``,
``"IMET-1 - FY 2007 DoS Training"`` and ``"IMET-1 - Fiscal Year 2015 Department of State
Training"``. :func:`normalise_program` strips the region/country prefix (FY2001-FY2005
reports), the fiscal-year text and extra spaces, leaving 66 distinct names for FY1999-FY2020.
The ordered rule table ``data/reference/fmtr_program_map.csv`` (columns ``order, pattern,
program_group, program_label, note``) maps each normalised name to a group; the first rule
whose regular expression matches (case-insensitive ``re.search``) wins.

Groups (:data:`PROGRAM_GROUPS`):

* ``imet`` - International Military Education and Training (all IMET funding lines);
* ``ctfp`` - Combating Terrorism Fellowship Program (incl. its earlier name, Regional Defense
  Counterterrorism Fellowship Program, and its later name CTIWFP);
* ``train_and_equip`` - DoD building-partner-capacity authorities: Sections 1206/2282, 333,
  1207 (GSCF), 1203, 1004 (counter-drug) and 506 (drawdown);
* ``peacekeeping`` - ACRI, ACOTA, EIPC, GPOI, PKO;
* ``regional_centers`` - DoD regional centers for security studies (ACSS, Marshall, NESA,
  APCSS, CHDS);
* ``fmf`` - training bought with Foreign Military Financing;
* ``other`` - JCET and other non-security-assistance combatant-command activities,
  miscellaneous DoD/DoS non-SA activities, the Aviation Leadership Program, service academies,
  PME/unit exchanges, DHS/Coast Guard, INCLE/INL, NADR, humanitarian mine action, foreign
  humanitarian assistance and the FY2017 "MAP" line.

A program name no rule matches raises :class:`~sahel_causal.errors.ReferenceDataError`: every
name must be classified explicitly (no silent "other").
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import pandas as pd

from sahel_causal.errors import ReferenceDataError
from sahel_causal.paths import REFERENCE_DIR

PROGRAM_MAP_CSV = REFERENCE_DIR / "fmtr_program_map.csv"
PROGRAM_GROUPS = ("imet", "ctfp", "train_and_equip", "peacekeeping", "regional_centers", "fmf", "other")
RULE_COLUMNS = ["order", "pattern", "program_group", "program_label", "note"]

# "DOS Africa Region, Benin,  International ..." / "Near East Region, Egypt,  Foreign ...":
# the prefix ends at the first comma followed by two or more spaces (the country name itself
# may contain a comma followed by one space, e.g. "Congo, Republic of (Brazzaville)").
_REGION_PREFIX = re.compile(r"^(?:DoD|DoS|DOD|DOS|DOHS)?\s*[A-Za-z ]*Region,.*?,\s{2,}(?P<rest>.*)$")
# FY1999 report: "Cape Verde, Republic Of" was split, leaving "Republic Of, <program>".
_SPLIT_COUNTRY = re.compile(r"^Republic Of,\s*", re.IGNORECASE)
# " - FY 2007 DoD Training", " - Fiscal Year 2015 Department of State Training"
_FY_DASH = re.compile(r"\s*-\s*(?:FY|Fiscal Year)\s*\d{4}\b.*$")
# ", FY 00", ",FY03", ", FY  00"
_FY_COMMA = re.compile(r",?\s*FY\s*\d{2,4}\s*$")
_FY_TAG = re.compile(r"(?:\bFY\s*(?P<fy>\d{2}|\d{4})\b|Fiscal Year\s*(?P<fy4>\d{4}))")


def normalise_program(raw: str) -> str:
    """Program name without region/country prefix, fiscal-year text and repeated spaces."""
    s = str(raw)
    m = _REGION_PREFIX.match(s)
    if m:
        s = m.group("rest")
    s = _SPLIT_COUNTRY.sub("", s)
    s = " ".join(s.split())
    s = _FY_DASH.sub("", s)
    s = _FY_COMMA.sub("", s)
    return s.strip()


def program_fiscal_year(raw: str) -> int | None:
    """The fiscal year written in a program name ("FY 99" -> 1999, "Fiscal Year 2015" -> 2015).

    Returns None when the name carries no year. Two-digit years are 19xx from 50, else 20xx.
    """
    m = _FY_TAG.search(str(raw))
    if m is None:
        return None
    y = int(m.group("fy") or m.group("fy4"))
    if y < 100:
        y += 1900 if y >= 50 else 2000
    return y


@lru_cache(maxsize=4)
def load_program_rules(path: Path = PROGRAM_MAP_CSV) -> pd.DataFrame:
    """Read and check the ordered rule table (sorted by ``order``)."""
    rules = pd.read_csv(path, dtype={"pattern": str, "program_group": str, "program_label": str,
                                     "note": str}, keep_default_na=False)
    if list(rules.columns) != RULE_COLUMNS:
        raise ReferenceDataError(f"{path}: columns must be {RULE_COLUMNS}, found {list(rules.columns)}.")
    if rules["order"].duplicated().any():
        raise ReferenceDataError(f"{path}: duplicated 'order' values {sorted(rules['order'][rules['order'].duplicated()])}.")
    bad = sorted(set(rules["program_group"]) - set(PROGRAM_GROUPS))
    if bad:
        raise ReferenceDataError(f"{path}: unknown program_group {bad}; allowed: {list(PROGRAM_GROUPS)}.")
    for pat in rules["pattern"]:
        try:
            re.compile(pat)
        except re.error as exc:
            raise ReferenceDataError(f"{path}: invalid regular expression {pat!r}: {exc}.") from None
    if (rules[["pattern", "program_label"]] == "").any().any():
        raise ReferenceDataError(f"{path}: every rule needs a pattern and a program_label.")
    return rules.sort_values("order", ignore_index=True)


def classify_program_names(names: pd.Series, rules: pd.DataFrame | None = None) -> pd.DataFrame:
    """Classify raw program names.

    Returns one row per input row (same index) with columns ``program_norm`` (normalised name),
    ``program_group`` and ``program_label`` (first matching rule). Raises
    :class:`ReferenceDataError` listing every normalised name no rule matches.
    """
    rules = load_program_rules() if rules is None else rules
    compiled = [(re.compile(p, re.IGNORECASE), g, lab)
                for p, g, lab in zip(rules["pattern"], rules["program_group"], rules["program_label"])]
    norm = names.astype(str).map(normalise_program)
    table: dict[str, tuple[str, str]] = {}
    unmatched: list[str] = []
    for name in pd.unique(norm):
        for rx, grp, lab in compiled:
            if rx.search(name):
                table[name] = (grp, lab)
                break
        else:
            unmatched.append(name)
    if unmatched:
        raise ReferenceDataError(
            f"fmtr: {len(unmatched)} program name(s) match no rule of {PROGRAM_MAP_CSV.name}: "
            f"{sorted(unmatched)}. Add an ordered rule (pattern, program_group, program_label, note)."
        )
    return pd.DataFrame({
        "program_norm": norm,
        "program_group": norm.map(lambda n: table[n][0]),
        "program_label": norm.map(lambda n: table[n][1]),
    }, index=names.index)
