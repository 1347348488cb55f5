"""The pinned country crosswalk: 54 African states with ISO3, COW and Gleditsch-Ward codes.

``data/reference/countries.csv`` lists the states (with the year each became independent:
Namibia 1990, Eritrea 1993, South Sudan 2011); ``data/reference/country_name_variants.csv``
maps every spelling found in the sources to an ISO3 code, or to nothing for entries that are
not African states (regions, aggregates, non-state recipients). Names of non-African states
are recognised with pycountry's exact lookup (never fuzzy matching). A name that resolves to
nothing is an error that lists all unmatched names: rows are never dropped silently.

Sudan and South Sudan: ``SDN`` covers the whole of Sudan before 9 July 2011 and the rump
state afterwards; ``SSD`` exists from 2011. Sources that report "Sudan" before 2011 are
assigned to ``SDN``; the panel has no ``SSD`` rows before 2011.
"""
from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from functools import lru_cache

import pandas as pd

from sahel_causal.errors import UnknownCountryError
from sahel_causal.paths import REFERENCE_DIR

COUNTRIES_CSV = REFERENCE_DIR / "countries.csv"
VARIANTS_CSV = REFERENCE_DIR / "country_name_variants.csv"

SAHEL_G5 = ("BFA", "TCD", "MLI", "MRT", "NER")


def _norm(name: str) -> str:
    s = unicodedata.normalize("NFKD", str(name)).encode("ascii", "ignore").decode()
    s = s.replace("`", "'").replace("\u2019", "'").lower().strip()
    return " ".join(s.replace("*", " ").split())


@lru_cache(maxsize=1)
def crosswalk() -> pd.DataFrame:
    """The 54 African states: iso3, country, cow_code, gw_code, region, state_start, state_end."""
    df = pd.read_csv(COUNTRIES_CSV, dtype={"iso3": str, "country": str, "region": str, "note": str},
                     keep_default_na=False, na_values={"state_end": [""]})
    if df["iso3"].duplicated().any() or df["cow_code"].duplicated().any():
        raise UnknownCountryError(f"{COUNTRIES_CSV} has duplicated codes; fix the crosswalk.")
    return df


@lru_cache(maxsize=1)
def _lookup_table() -> dict[str, str]:
    table: dict[str, str] = {}
    cw = crosswalk()
    for iso3, name in zip(cw["iso3"], cw["country"]):
        table[_norm(name)] = iso3
        table[_norm(iso3)] = iso3
    var = pd.read_csv(VARIANTS_CSV, dtype=str, keep_default_na=False)
    for variant, iso3 in zip(var["variant"], var["iso3"]):
        key = _norm(variant)
        if key in table and table[key] != iso3:
            raise UnknownCountryError(
                f"{VARIANTS_CSV}: variant {variant!r} maps to both {table[key]!r} and {iso3!r}."
            )
        table[key] = iso3  # "" = known, not an African state
    return table


def african_iso3() -> frozenset[str]:
    """ISO3 codes of the 54 African states."""
    return frozenset(crosswalk()["iso3"])


def _pycountry_iso3(name: str) -> str | None:
    try:
        import pycountry
    except ImportError:  # pragma: no cover - pycountry is a core dependency
        return None
    try:
        return pycountry.countries.lookup(name).alpha_3
    except LookupError:
        return None


def resolve_names(names: Iterable[str], source: str) -> dict[str, str | None]:
    """Map each source spelling to an African ISO3 code, or ``None`` when it is not an African state.

    Raises :class:`UnknownCountryError` listing every name that neither the crosswalk, the
    variants table nor pycountry's exact lookup can place.
    """
    table = _lookup_table()
    africa = african_iso3()
    out: dict[str, str | None] = {}
    unknown: list[str] = []
    for name in pd.unique(pd.Series(list(names), dtype=object).dropna()):
        key = _norm(name)
        if key in table:
            out[name] = table[key] or None
            continue
        iso = _pycountry_iso3(str(name).strip())
        if iso is None:
            unknown.append(str(name))
        elif iso in africa:
            # pycountry knows an African spelling the variants table lacks: accept, it is exact.
            out[name] = iso
        else:
            out[name] = None
    if unknown:
        raise UnknownCountryError(
            f"{source}: {len(unknown)} country name(s) not in the crosswalk: {sorted(unknown)}. "
            f"Add each to {VARIANTS_CSV.name} with its ISO3 code (or an empty iso3 if it is not "
            "an African state), then rebuild."
        )
    return out


def iso3_from_names(names: pd.Series, source: str) -> pd.Series:
    """Vectorised :func:`resolve_names`: ISO3 for African states, ``<NA>`` otherwise."""
    mapping = resolve_names(names, source)
    return names.map(mapping).astype("string")


def iso3_from_code(codes: pd.Series, system: str, source: str) -> pd.Series:
    """ISO3 from COW (``system='cow'``) or Gleditsch-Ward (``'gw'``) codes; non-African -> <NA>."""
    col = {"cow": "cow_code", "gw": "gw_code"}[system]
    mapping = dict(zip(crosswalk()[col], crosswalk()["iso3"]))
    num = pd.to_numeric(codes, errors="coerce")
    bad = codes[num.isna() & codes.notna()]
    if len(bad):
        raise UnknownCountryError(f"{source}: non-numeric {system.upper()} codes {sorted(set(map(str, bad)))[:20]}.")
    return num.map(mapping).astype("string")


def country_name(iso3: pd.Series) -> pd.Series:
    """Canonical country names for ISO3 codes."""
    return iso3.map(dict(zip(crosswalk()["iso3"], crosswalk()["country"])))


def state_years(first_year: int, last_year: int) -> pd.DataFrame:
    """The spine: one row per African state and year it existed within ``[first_year, last_year]``."""
    cw = crosswalk()
    rows = []
    for r in cw.itertuples(index=False):
        start = max(first_year, int(r.state_start))
        end = last_year if pd.isna(r.state_end) else min(last_year, int(r.state_end))
        rows.extend((r.iso3, r.country, y) for y in range(start, end + 1))
    out = pd.DataFrame(rows, columns=["iso3", "country", "year"])
    return out.sort_values(["iso3", "year"], ignore_index=True)
