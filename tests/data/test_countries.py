"""Country crosswalk: 54 states, codes, name resolution and its failure path."""
from __future__ import annotations

import pandas as pd
import pytest

from sahel_causal.data import countries
from sahel_causal.errors import UnknownCountryError


def test_crosswalk_has_54_states_with_unique_codes():
    cw = countries.crosswalk()
    assert len(cw) == 54
    assert cw["iso3"].is_unique and cw["cow_code"].is_unique and cw["gw_code"].is_unique
    assert set(countries.SAHEL_G5) <= set(cw["iso3"])


def test_sudan_split_and_late_states_in_spine():
    sp = countries.state_years(1990, 2024)
    assert sp.loc[sp["iso3"] == "SSD", "year"].min() == 2011
    assert sp.loc[sp["iso3"] == "SDN", "year"].min() == 1990
    assert sp.loc[sp["iso3"] == "ERI", "year"].min() == 1993
    assert not sp.duplicated(["iso3", "year"]).any()
    assert len(sp) == 52 * 35 + (2024 - 1993 + 1) + (2024 - 2011 + 1)


@pytest.mark.parametrize("name,iso3", [
    ("Burkina FASO", "BFA"), ("Cote D’Ivoire, Republic of", "CIV"), ("Congo, Republic of (Brazzaville)", "COG"),
    ("Democratic Republic of Congo", "COD"), ("Ivory Coast", "CIV"), ("Gambia, The", "GMB"), ("Niger", "NER"),
    ("Nigeria", "NGA"), ("Swaziland", "SWZ"), ("Cape Verde", "CPV"), ("Guinea - Bissau", "GNB"),
    ("Sudan, Republic of South", "SSD"),
])
def test_known_spellings(name, iso3):
    assert countries.resolve_names([name], "test")[name] == iso3


def test_non_african_and_aggregates_resolve_to_none():
    out = countries.resolve_names(["France", "Sub-Saharan Africa", "World", "Russia"], "test")
    assert out == {"France": None, "Sub-Saharan Africa": None, "World": None, "Russia": None}


def test_unknown_name_is_an_error_listing_all_unmatched():
    with pytest.raises(UnknownCountryError) as exc:
        countries.resolve_names(["Mali", "Atlantis", "Nowhereland"], "testsource")
    msg = str(exc.value)
    assert "Atlantis" in msg and "Nowhereland" in msg and "testsource" in msg and "country_name_variants.csv" in msg


def test_codes_map_and_non_african_codes_are_na():
    s = countries.iso3_from_code(pd.Series([432, 436, 2, 220]), "cow", "test")
    assert s.tolist()[:2] == ["MLI", "NER"] and s.isna().tolist()[2:] == [True, True]


def test_variants_file_points_only_to_crosswalk_codes():
    var = pd.read_csv(countries.VARIANTS_CSV, dtype=str, keep_default_na=False)
    codes = set(var["iso3"]) - {""}
    assert codes <= set(countries.crosswalk()["iso3"])
