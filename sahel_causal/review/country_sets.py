"""Named country sets: the regions of the crosswalk and the U.S. program partner groups.

Regions come from ``data/reference/countries.csv`` (column ``region``: North, West, Central, East
and Southern Africa), named ``north_africa``, ``west_africa``, ... . Program partner groups come
from ``data/reference/us_programs.csv``: every state ever coded as a member of a program
(``psi``, ``tsctp``, ``preact``, ``sgi``), plus ``sahel_g5`` (Burkina Faso, Chad, Mali,
Mauritania, Niger) and ``africa`` (all 54 states). Suspensions and the AFRICOM row are not
partner groups. Pure function of the two reference tables.
"""
from __future__ import annotations

import re

import pandas as pd

SAHEL_G5 = ("BFA", "MLI", "MRT", "NER", "TCD")
PROGRAMS = ("PSI", "TSCTP", "PREACT", "SGI")


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", str(text).lower()).strip("_")


def country_sets(countries: pd.DataFrame, programs: pd.DataFrame | None = None) -> dict[str, tuple[str, ...]]:
    """Name -> sorted ISO3 codes. ``countries`` needs ``iso3`` and ``region``; ``programs`` (optional)
    needs ``program`` and ``iso3``."""
    need = {"iso3", "region"}
    if not need <= set(countries.columns):
        raise ValueError(f"country_sets: countries needs columns {sorted(need)}, got {list(countries.columns)}")
    out: dict[str, tuple[str, ...]] = {"africa": tuple(sorted(countries["iso3"]))}
    for region, g in countries.groupby("region", sort=True):
        out[_slug(region)] = tuple(sorted(g["iso3"]))
    out["sahel_g5"] = tuple(sorted(c for c in SAHEL_G5 if c in set(countries["iso3"])))
    if programs is not None:
        valid = set(countries["iso3"])
        for prog in PROGRAMS:
            members = programs.loc[programs["program"] == prog, "iso3"]
            out[prog.lower()] = tuple(sorted({c for c in members if c in valid}))
    return dict(sorted(out.items()))


def load_country_sets() -> dict[str, tuple[str, ...]]:
    """The named sets from the committed reference tables (I/O edge)."""
    from sahel_causal.data import timelines
    from sahel_causal.paths import PROJECT_ROOT

    countries = pd.read_csv(PROJECT_ROOT / "data" / "reference" / "countries.csv", dtype=str)
    return country_sets(countries, timelines.load_us_programs())
