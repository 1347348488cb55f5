"""Readable labels for variables in tables and figures.

Panel columns get a short label (a table's row stub has room for about 35 characters); the long
definition stays in the codebook (``data/processed/codebook.csv``). Derived variables of a
specification are labelled from their definition (per capita, log, share, interaction, lag or
lead), so a new specification gets readable rows without extra work. Pure functions; no I/O.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

# Short labels of panel columns (the codebook's ``meaning`` is the long definition).
SHORT: dict[str, str] = {
    "us_training_cost_usd": "U.S. training",
    "us_trainees": "U.S. trainees",
    "us_aid_total_usd": "U.S. aid",
    "us_military_aid_usd": "U.S. military aid",
    "us_exercises": "U.S. exercises",
    "ct_training": "CT training",
    "us_training_cost_usd_train_and_equip": "Train-and-equip training",
    "us_training_cost_usd_ctfp": "CTFP training",
    "coup_attempts": "Coup attempts",
    "coup_successes": "Successful coups",
    "coup_failed": "Failed coups",
    "population": "population",
    "milper": "military personnel",
    "gdp_pc": "GDP per capita",
    "polyarchy": "Electoral democracy",
    "ucdp_state_based_best": "UCDP state-based deaths",
    "ucdp_nonstate_best": "UCDP non-state deaths",
    "ucdp_onesided_best": "UCDP one-sided deaths",
    "ucdp_total_best": "UCDP deaths",
    "acled_fatalities": "ACLED fatalities",
    "acled_civilian_fatalities": "ACLED civilian fatalities",
    "gtd_fatalities": "GTD fatalities",
    "sahel_g5": "Sahel G5",
    "psi_partner": "PSI member",
    "tsctp_partner": "TSCTP member",
    "tsctp_active": "TSCTP active",
    "preact_partner": "PREACT member",
    "sgi_partner": "SGI member",
    "us_aid_suspended": "U.S. aid suspended",
    "external_security_actors": "External security actors",
    "external_security_actors_alt": "External actors (alt. years)",
}

# Labels of common sums of panel columns.
SUM_LABELS: dict[frozenset[str], str] = {
    frozenset({"ucdp_state_based_best", "ucdp_nonstate_best", "ucdp_onesided_best"}): "UCDP deaths",
    frozenset({"us_training_cost_usd_train_and_equip", "us_training_cost_usd_ctfp"}): "CT training",
}

_PER = {"population": "per capita", "milper": "per military person"}


def short_label(column: str, codebook: pd.DataFrame | None = None) -> str:
    """The short label of a panel column: the built-in list, else the codebook's meaning (first
    clause, at most 40 characters), else the column name itself."""
    if column in SHORT:
        return SHORT[column]
    if codebook is not None and "name" in codebook.columns and "meaning" in codebook.columns:
        hit = codebook.loc[codebook["name"] == column, "meaning"]
        if len(hit):
            text = str(hit.iloc[0]).split(" (")[0].split(";")[0]
            return text if len(text) <= 40 else text[:39].rstrip() + "…"
    return column


def _timing(lag: int, lead: int) -> str:
    if lag:
        return f", t-{lag}"
    if lead:
        return f", t+{lead}"
    return ""


def derive_label(d: object, labels: Mapping[str, str], codebook: pd.DataFrame | None = None) -> str:
    """Label of one derived variable from its definition (``op``, ``args``, ``scale``, ``log1p``,
    ``lag``, ``lead``); ``labels`` holds the labels of variables derived earlier."""
    op = getattr(d, "op", "from")
    args = tuple(getattr(d, "args", ()))
    lab = lambda c: labels.get(c) or short_label(c, codebook)  # noqa: E731
    scale = float(getattr(d, "scale", 1.0) or 1.0)
    if op == "ratio" and len(args) == 2:
        num, den = args
        per = _PER.get(den, f"/ {lab(den)}")
        if den == "milper" and scale == 1000:
            per = "per 1,000 military"
        text = f"{lab(num)} {per}"
    elif op == "share_of" and len(args) == 2:
        text = f"{lab(args[0])} / {lab(args[1])}"
    elif op == "interact" and len(args) == 2:
        text = f"{lab(args[0])} \u00d7 {lab(args[1])}"
    elif op == "any" and args:
        text = f"Any {lab(args[0]).lower()}" if not lab(args[0]).isupper() else f"Any {lab(args[0])}"
    elif op == "sum" and args:
        text = SUM_LABELS.get(frozenset(args)) or " + ".join(lab(a) for a in args)
    elif op == "time_since" and args:
        text = f"Years since {lab(args[0]).lower()}"
    else:
        text = lab(args[0]) if args else getattr(d, "name", "?")
    if getattr(d, "log1p", False):
        unit = " (US$ m)" if scale == 1e-6 else ""
        text = f"log(1 + {text}{unit})"
    return text + _timing(int(getattr(d, "lag", 0) or 0), int(getattr(d, "lead", 0) or 0))


def spec_labels(derives: Iterable[object], codebook: pd.DataFrame | None = None) -> dict[str, str]:
    """Labels of every derived variable of a specification, in definition order. A derive with
    an explicit ``label`` attribute keeps it."""
    out: dict[str, str] = {}
    for d in derives:
        name = getattr(d, "name", None)
        if name is None:
            continue
        explicit = getattr(d, "label", "") or ""
        out[name] = explicit or SHORT.get(name) or derive_label(d, out, codebook)
    return out


def label_of(name: str, labels: Mapping[str, str], codebook: pd.DataFrame | None = None) -> str:
    """A variable's label: the specification's, else the short label of the panel column."""
    return labels.get(name) or short_label(name, codebook)
