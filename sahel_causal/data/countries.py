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


def _rows(index: pd.Index, limit: int = 10) -> str:
    shown = [str(i) for i in list(index[:limit])]
    return ", ".join(shown) + (f" and {len(index) - limit} more" if len(index) > limit else "")


def iso3_from_names(names: pd.Series, source: str) -> pd.Series:
    """Vectorised :func:`resolve_names`: ISO3 for African states, ``<NA>`` otherwise.

    A blank or missing name cannot be placed in a country-year: it is an error (naming the
    records, by the index of ``names``), never a row silently treated as "not an African state".
    Loaders whose files contain blank spacer rows drop them, with a log entry, before calling.
    """
    text = names.astype("string")
    blank = text.isna() | (text.str.strip() == "")
    if blank.any():
        raise UnknownCountryError(
            f"{source}: {int(blank.sum())} record(s) with a blank country name (row index "
            f"{_rows(names.index[blank.to_numpy()])}; for a CSV file read with one header line, line = index + 2). "
            "A record that cannot be placed in a country-year is not dropped silently: restore the "
            "registered file, or fill in the country name in the file and re-pin it in data/sources.toml."
        )
    mapping = resolve_names(names, source)
    return names.map(mapping).astype("string")


#: Numeric range of state codes in both the COW and the Gleditsch-Ward systems.
STATE_CODE_RANGE = (2, 999)
#: The block of codes both systems give to sub-Saharan and North African states (Egypt, 651,
#: sits in the Middle East block and is in the crosswalk).
AFRICAN_CODE_RANGE = (400, 626)
#: Codes of the African block that are not in the crosswalk because the state did not exist in
#: any year of the panel: they are out of scope, like non-African states.
HISTORICAL_AFRICAN_CODES: dict[str, dict[int, str]] = {
    "cow": {511: "Zanzibar (1963-1964)"},
    "gw": {511: "Zanzibar (1963-1964)", 563: "Transvaal (to 1910)", 564: "Orange Free State (to 1910)"},
}


def iso3_from_code(codes: pd.Series, system: str, source: str, *,
                   not_states: pd.Series | None = None) -> pd.Series:
    """ISO3 from COW (``system='cow'``) or Gleditsch-Ward (``'gw'``) codes; non-African -> <NA>.

    A record is only treated as "not an African state" when its code says so: a code of the
    African block (:data:`AFRICAN_CODE_RANGE`) that is neither in the crosswalk nor a documented
    historical state (:data:`HISTORICAL_AFRICAN_CODES`), a missing code, a non-integer or
    non-numeric code and a code outside :data:`STATE_CODE_RANGE` are errors that name the
    records (by the index of ``codes``), so that an event is never silently lost.
    ``not_states`` (boolean, aligned with ``codes``) marks records that the source itself codes
    as territories rather than states (colonies, mandates, occupied territories): their codes
    need not be state codes and they map to ``<NA>`` (out of scope) like non-African states.
    """
    col = {"cow": "cow_code", "gw": "gw_code"}[system]
    name = system.upper()
    mapping = dict(zip(crosswalk()[col], crosswalk()["iso3"]))
    num = pd.to_numeric(codes, errors="coerce")
    bad = codes[num.isna() & codes.notna()]
    if len(bad):
        raise UnknownCountryError(
            f"{source}: non-numeric {name} codes {sorted(set(map(str, bad)))[:20]} (row index "
            f"{_rows(bad.index)}). Restore the registered file, or correct the codes and re-pin it.")
    problems = []
    if not_states is not None:
        territory = not_states.reindex(codes.index).fillna(False).astype(bool)
        num = num.where(~territory | num.isin(list(mapping)))
        num_checked = num[~territory]
    else:
        num_checked = num
    if num_checked.isna().any():
        problems.append(f"missing {name} code (row index {_rows(num_checked.index[num_checked.isna().to_numpy()])})")
    valid = num_checked.dropna()
    odd = valid[(valid % 1 != 0) | ~valid.between(*STATE_CODE_RANGE)]
    if len(odd):
        problems.append(f"{name} codes that are not state codes {sorted(set(odd.tolist()))[:20]} "
                        f"(row index {_rows(odd.index)})")
    known = set(mapping) | set(HISTORICAL_AFRICAN_CODES[system])
    unplaced = valid[valid.between(*AFRICAN_CODE_RANGE) & ~valid.isin(known)]
    if len(unplaced):
        problems.append(f"{name} codes of the African block not in the crosswalk "
                        f"{sorted(set(unplaced.astype(int).tolist()))[:20]} (row index {_rows(unplaced.index)})")
    if problems:
        raise UnknownCountryError(
            f"{source}: records that cannot be placed in a country-year: " + "; ".join(problems)
            + f". Restore the registered file, or correct the codes and re-pin the file; if the code is a "
            f"real African state, add it to {COUNTRIES_CSV.name}.")
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
