"""Loaders of the aid, economy and control sources, checked against known facts.

Known facts come from MANIFEST.md (values its author checked against the publishers'
figures), from the raw files themselves where the loader transforms them, and from the
historical record (leaders of Niger and Burkina Faso, the MINUSMA mandate).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sahel_causal.data import money
from sahel_causal.data.datalog import DataLog
from sahel_causal.data.sources import (archigos, cow_nmc, fsi, polity5, reign, sipri_milex, sipri_tiv, troopdata,
                                       un_pko, us_cpi, us_military_aid, usaid_explorer, vdem_wdi, wdi_gdp)
from sahel_causal.errors import SchemaError


def cell(df: pd.DataFrame, iso3: str, year: int, col: str) -> float:
    """The single value of ``col`` for one state-year (fails if not exactly one row)."""
    hit = df.loc[(df["iso3"] == iso3) & (df["year"] == year), col]
    assert len(hit) == 1, f"{iso3} {year}: {len(hit)} rows"
    return hit.iloc[0]


def reasons(log: DataLog, source: str) -> str:
    """All reasons and details logged for ``source``, as one lower-case string."""
    return " | ".join(f"{a.kind}: {a.reason} {a.detail}" for a in log.for_source(source)).lower()


def _load(module, raw_dir: Path):
    log = DataLog()
    return module.load(raw_dir, log), log


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def cpi(raw_dir):
    log = DataLog()
    return us_cpi.load_monthly(raw_dir, log), us_cpi.load_annual(raw_dir, log), log


@pytest.fixture(scope="module")
def aid(raw_dir):
    return _load(usaid_explorer, raw_dir)


@pytest.fixture(scope="module")
def milaid(raw_dir):
    return _load(us_military_aid, raw_dir)


@pytest.fixture(scope="module")
def vdem(raw_dir):
    return _load(vdem_wdi, raw_dir)


@pytest.fixture(scope="module")
def gdp(raw_dir):
    return _load(wdi_gdp, raw_dir)


@pytest.fixture(scope="module")
def milex(raw_dir):
    return _load(sipri_milex, raw_dir)


@pytest.fixture(scope="module")
def tiv(raw_dir):
    return _load(sipri_tiv, raw_dir)


@pytest.fixture(scope="module")
def polity(raw_dir):
    return _load(polity5, raw_dir)


@pytest.fixture(scope="module")
def arch(raw_dir):
    return _load(archigos, raw_dir)


@pytest.fixture(scope="module")
def leaders(raw_dir):
    return _load(reign, raw_dir)


@pytest.fixture(scope="module")
def troops(raw_dir):
    return _load(troopdata, raw_dir)


@pytest.fixture(scope="module")
def fsi_cy(raw_dir):
    return _load(fsi, raw_dir)


@pytest.fixture(scope="module")
def nmc(raw_dir):
    return _load(cow_nmc, raw_dir)


@pytest.fixture(scope="module")
def pko(raw_dir):
    log = DataLog()
    missions = un_pko.load_missions(raw_dir, log)
    return missions, un_pko.country_year_presence(missions, range(1990, 2026)), log


COUNTRY_YEAR_FIXTURES = ["aid", "milaid", "vdem", "gdp", "milex", "tiv", "polity", "arch", "leaders", "troops",
                         "fsi_cy", "nmc"]


@pytest.mark.raw
@pytest.mark.parametrize("name", COUNTRY_YEAR_FIXTURES)
def test_unique_african_state_year_key(name, request):
    df, _ = request.getfixturevalue(name)
    assert not df.duplicated(["iso3", "year"]).any()
    assert df["iso3"].str.fullmatch(r"[A-Z]{3}").all()
    assert df["iso3"].nunique() == 54
    assert {"MLI", "NER", "BFA", "TCD", "MRT"} <= set(df["iso3"])
    # State-years only: no South Sudan before independence, no Namibia before 1990.
    assert not ((df["iso3"] == "SSD") & (df["year"] < 2011)).any()
    assert not ((df["iso3"] == "NAM") & (df["year"] < 1990)).any()


@pytest.mark.raw
def test_pko_presence_unique_key(pko):
    _, cy, _ = pko
    assert not cy.duplicated(["iso3", "year"]).any()
    assert cy["iso3"].nunique() == 54


# --------------------------------------------------------------------------- CPI
@pytest.mark.raw
def test_cpi_annual_known_values(cpi):
    _, annual, _ = cpi
    assert annual.loc[2015] == pytest.approx(237.017)
    assert annual.loc[2023] == pytest.approx(304.702)
    assert annual.loc[2012] == pytest.approx(229.594)
    assert 2026 not in annual.index  # incomplete year: no annual average


@pytest.mark.raw
def test_cpi_monthly_excludes_m13_and_flags_october_2025(cpi):
    monthly, _, log = cpi
    assert monthly["month"].between(1, 12).all()
    assert not monthly.duplicated(["year", "month"]).any()
    assert ((monthly["year"] == 2025) & (monthly["month"] == 10)).sum() == 0
    assert ((monthly["year"] == 2025) & (monthly["month"] == 11)).sum() == 1
    flags = [a for a in log.for_source("us_cpi") if a.kind == "flag"]
    assert len(flags) == 1 and flags[0].n_records == 1 and "2025-10" in flags[0].detail


@pytest.mark.raw
def test_deflate_fy_with_real_cpi(cpi):
    monthly, annual, _ = cpi
    df = pd.DataFrame({"year": [2023, 2012], "amount": [100.0, 50.0]})
    out = money.deflate_fy(df, {"amount": "amount_2023usd"}, monthly, annual)
    fy2023 = monthly[((monthly["year"] == 2022) & (monthly["month"] >= 10))
                     | ((monthly["year"] == 2023) & (monthly["month"] <= 9))]["value"].mean()
    assert out.loc[0, "amount_2023usd"] == pytest.approx(100 * 304.702 / fy2023)
    assert out.loc[1, "amount_2023usd"] > 50 * 1.2  # 2012 dollars are worth more in 2023 dollars
    assert list(df.columns) == ["year", "amount"]  # input untouched


def test_deflate_fy_synthetic_rule():
    monthly = pd.DataFrame({"year": [2019] * 3 + [2020] * 12, "month": [10, 11, 12] + list(range(1, 13)),
                            "value": [100.0] * 3 + [100.0] * 9 + [120.0] * 3})
    annual = pd.Series({2020: 105.0})
    df = pd.DataFrame({"year": [2020, 2021, 2022], "x": [10.0, 10.0, 10.0]})
    out = money.deflate_fy(df, ["x"], monthly, annual, base_year=2020)
    # FY2020 = Oct 2019 - Sep 2020: twelve months at 100 -> factor 105/100.
    assert out.loc[0, "x"] == pytest.approx(10.5)
    # FY2021 has only Oct-Dec 2020 (at 120): averaged over the months available (module rule).
    assert out.loc[1, "x"] == pytest.approx(10 * 105 / 120)
    assert np.isnan(out.loc[2, "x"])  # no CPI month at all
    with pytest.raises(SchemaError):
        money.deflate_fy(df, ["missing"], monthly, annual, base_year=2020)


# --------------------------------------------------------------------------- Foreign Aid Explorer
@pytest.mark.raw
def test_aid_mali_obligations_match_manifest_constant_values(aid, raw_dir):
    df, _ = aid
    raw = pd.read_csv(raw_dir / "usaid_foreign_aid_explorer" / "us_foreign_aid_country.csv", dtype={"Fiscal Year": str})
    ob = raw[(raw["Transaction Type Name"] == "Obligations") & (raw["Country Code"] == "MLI")].set_index("Fiscal Year")
    # MANIFEST: constant-dollar obligations Mali 2012 = 334.0m, 2013 = 234.7m; Niger 2018 = 618.9m.
    assert ob.loc["2012", "constant_amount"] / 1e6 == pytest.approx(334.0, abs=0.05)
    assert ob.loc["2013", "constant_amount"] / 1e6 == pytest.approx(234.7, abs=0.05)
    assert cell(df, "MLI", 2012, "us_aid_total_usd_nominal") == ob.loc["2012", "current_amount"] == 284_466_834
    assert cell(df, "MLI", 2013, "us_aid_total_usd_nominal") == 203_578_924
    assert cell(df, "NER", 2018, "us_aid_total_usd_nominal") == 581_193_345


@pytest.mark.raw
def test_aid_fy2023_2024_incomplete_are_nan(aid):
    df, log = aid
    for col in ["us_aid_total_usd_nominal", "us_aid_disbursed_usd_nominal"]:
        assert df.loc[df["year"].between(2023, 2025), col].isna().all()
        assert df.loc[df["year"] == 2022, col].notna().all()
    assert "fy2023-2024 values set to nan" in reasons(log, "usaid_explorer")


@pytest.mark.raw
def test_aid_zero_fill_and_disbursement_window(aid):
    df, log = aid
    # Libya under sanctions: no U.S. aid recorded in the 1990s -> 0, not NaN.
    assert cell(df, "LBY", 1995, "us_aid_total_usd_nominal") == 0
    # Disbursements start in FY2001 for African recipients.
    assert df.loc[df["year"] < 2001, "us_aid_disbursed_usd_nominal"].isna().all()
    assert df.loc[df["year"].between(2001, 2022), "us_aid_disbursed_usd_nominal"].notna().all()
    assert any(a.kind == "fill" and a.n_records > 0 for a in log.for_source("usaid_explorer"))


@pytest.mark.raw
def test_aid_sudan_former_summed_and_tq_dropped(aid):
    df, log = aid
    # SDN FY2012 = "Sudan (former)" 229,108,897 + "Sudan" 135,103,104 (raw rows).
    assert cell(df, "SDN", 2012, "us_aid_total_usd_nominal") == 229_108_897 + 135_103_104
    text = reasons(log, "usaid_explorer")
    assert "transition quarter" in text
    assert "ssd amounts dated before its independence" in text


# --------------------------------------------------------------------------- military aid
@pytest.mark.raw
@pytest.mark.parametrize("iso3,year,millions", [("MLI", 2012, 11.52), ("NER", 2015, 33.1), ("MRT", 2011, 32.2),
                                                ("TCD", 2014, 17.1), ("BFA", 2013, 6.4)])
def test_military_aid_manifest_sums(milaid, iso3, year, millions):
    df, _ = milaid
    assert cell(df, iso3, year, "us_military_aid_usd_nominal") / 1e6 == pytest.approx(millions, abs=0.06)


@pytest.mark.raw
def test_military_aid_coverage_window(milaid):
    df, log = milaid
    col = "us_military_aid_usd_nominal"
    inside = df["year"].between(2002, 2015)
    assert df.loc[inside, col].notna().all()
    assert df.loc[~inside, col].isna().all()
    assert (df.loc[inside, col] == 0).sum() > 0  # absent country-years inside the window are 0
    neg = [a for a in log.for_source("us_military_aid") if a.kind == "note" and "negative" in a.reason]
    assert len(neg) == 1 and neg[0].n_records == 7


# --------------------------------------------------------------------------- V-Dem / WDI population
@pytest.mark.raw
def test_vdem_known_values(vdem):
    df, _ = vdem
    assert cell(df, "MLI", 2012, "polyarchy") == pytest.approx(0.353)
    assert cell(df, "MLI", 2011, "polyarchy") == pytest.approx(0.604)
    assert cell(df, "NER", 2024, "polyarchy") == pytest.approx(0.240)
    assert cell(df, "NER", 2023, "polyarchy") == pytest.approx(0.387)
    assert cell(df, "MLI", 2012, "population") > 1e7
    assert np.isnan(cell(df, "MLI", 2025, "polyarchy"))


@pytest.mark.raw
def test_vdem_population_recovered_from_wdi_only_rows(vdem):
    df, log = vdem
    assert cell(df, "CMR", 1960, "population") > 4e6
    rec = [a for a in log.for_source("vdem_wdi") if a.kind == "recover"]
    assert len(rec) == 1 and "CMR 1960" in rec[0].detail


# --------------------------------------------------------------------------- WDI GDP
@pytest.mark.raw
def test_wdi_gdp_known_values(gdp):
    df, _ = gdp
    assert cell(df, "MLI", 2015, "gdp_pc") == pytest.approx(838.1, abs=0.05)
    assert cell(df, "NER", 2024, "gdp_pc") == pytest.approx(595.2, abs=0.05)
    assert cell(df, "BFA", 2024, "gdp_pc") == pytest.approx(763.8, abs=0.05)
    assert cell(df, "MLI", 2024, "gdp_pc_ppp") == pytest.approx(2916, abs=0.5)
    assert np.isnan(cell(df, "MLI", 2025, "gdp_pc"))


# --------------------------------------------------------------------------- SIPRI milex
@pytest.mark.raw
def test_sipri_milex_known_values_in_us_dollars(milex):
    df, _ = milex
    assert cell(df, "MLI", 2023, "milex_usd") == pytest.approx(727.4e6, abs=0.05e6)
    assert cell(df, "MLI", 2010, "milex_usd") == pytest.approx(145.0e6, abs=0.05e6)
    assert cell(df, "BFA", 2023, "milex_usd") == pytest.approx(793.4e6, abs=0.05e6)
    assert cell(df, "MLI", 2023, "milex_gdp_share") == pytest.approx(0.038, abs=0.0005)
    assert np.isnan(cell(df, "NER", 2015, "milex_usd"))  # "..." in the source


# --------------------------------------------------------------------------- SIPRI TIV
@pytest.mark.raw
def test_sipri_tiv_known_values(tiv):
    df, _ = tiv
    assert cell(df, "NER", 2021, "tiv_from_usa") == 26
    assert cell(df, "NGA", 2014, "tiv_from_usa") == 63
    assert cell(df, "MAR", 2011, "tiv_from_usa") == 447
    assert cell(df, "EGY", 1994, "tiv_from_usa") == 1791
    assert cell(df, "NER", 2014, "tiv_from_usa") == 0  # blank = no deliveries


@pytest.mark.raw
def test_sipri_tiv_coverage_and_exclusions(tiv):
    df, log = tiv
    cols = ["tiv_from_usa", "tiv_from_fra", "tiv_from_rus", "tiv_from_chn"]
    assert df.loc[df["year"] > 2021, cols].isna().all().all()
    assert df.loc[df["year"] < 1992, "tiv_from_rus"].isna().all()
    assert df.loc[df["year"].between(1992, 2021), "tiv_from_rus"].notna().all()
    text = reasons(log, "sipri_tiv")
    assert "unita (angola)*" in text and "african union**" in text


def test_read_tiv_table_trailing_commas(tmp_path):
    years = ",".join(str(y) for y in range(1950, 2022))
    blank = "," * 71
    lines = ['"TIV of arms exports from Nowhere, 1950-2021",' + blank] + ["x," + blank] * 9
    lines.append("," + years + ",Total,")
    lines.append("Niger," + ",".join(["5"] + [""] * 71) + ",5,")
    lines.append("Total," + ",".join(["5"] + [""] * 71) + ",5,")
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n", encoding="latin-1")
    long = sipri_tiv.read_tiv_table(path)
    assert set(long["recipient"]) == {"Niger"}
    assert long.loc[long["year"] == 1950, "tiv"].item() == 5
    assert long.loc[long["year"] == 2021, "tiv"].item() == 0


# --------------------------------------------------------------------------- Polity5
@pytest.mark.raw
def test_polity_known_values(polity):
    df, _ = polity
    assert cell(df, "MLI", 2012, "polity2") == 0
    assert cell(df, "MLI", 2011, "polity2") == 7
    assert cell(df, "NER", 2010, "polity2") == 3
    assert cell(df, "NER", 2009, "polity2") == -3
    assert cell(df, "BFA", 2015, "polity2") == 6
    assert np.isnan(cell(df, "MLI", 2019, "polity2"))


@pytest.mark.raw
def test_polity_state_changes_keep_successor(polity):
    df, log = polity
    assert cell(df, "SDN", 2011, "polity2") == -4  # Sudan-North, not the old Sudan's -2
    assert cell(df, "ETH", 1993, "polity2") == 1  # ETI, not ETH's 0
    assert "sdn 2011: dropped sud=-2" in reasons(log, "polity5")


# --------------------------------------------------------------------------- Archigos
@pytest.mark.raw
def test_archigos_transitions(arch):
    df, _ = arch
    assert cell(df, "MLI", 2012, "irregular_transition") == 1  # March 2012 coup
    assert cell(df, "MLI", 2012, "leader_transition") == 1
    assert cell(df, "MLI", 2011, "leader_transition") == 0
    assert cell(df, "NER", 2010, "irregular_transition") == 1  # February 2010 coup
    assert np.isnan(cell(df, "MLI", 2016, "leader_transition"))  # ends 2015
    assert df.loc[df["iso3"] == "STP", "leader_transition"].isna().all()


# --------------------------------------------------------------------------- REIGN
@pytest.mark.raw
def test_reign_year_end_leader(leaders):
    df, _ = leaders
    assert cell(df, "NER", 2010, "leader_name") == "Djibo"
    assert cell(df, "NER", 2010, "leader_military_career") == 1
    assert cell(df, "NER", 2015, "leader_name") == "Issoufou"
    assert cell(df, "NER", 2015, "leader_military_career") == 0
    assert cell(df, "NER", 2012, "leader_tenure_years") == pytest.approx(1.73, abs=0.01)  # since 7 Apr 2011
    assert cell(df, "BFA", 2014, "leader_name") == "Kafando"  # Zida (1-18 Nov) then Kafando
    assert cell(df, "BFA", 2015, "leader_name") == "Kabore"


@pytest.mark.raw
def test_reign_coverage_ends_2020(leaders):
    df, _ = leaders
    assert df.loc[df["year"] >= 2021, ["leader_military_career", "leader_tenure_years"]].isna().all().all()
    assert df.loc[df["year"] == 2020, "leader_tenure_years"].notna().mean() > 0.95


# --------------------------------------------------------------------------- troopdata
@pytest.mark.raw
def test_troopdata_known_values(troops):
    df, _ = troops
    assert cell(df, "NER", 2017, "us_troops") == 547
    assert cell(df, "DJI", 2017, "us_troops") == 4694
    assert cell(df, "NER", 2013, "us_troops") == 103
    assert cell(df, "NER", 2023, "us_troops") == 17
    assert cell(df, "CIV", 2013, "us_troops") == 8  # two spellings summed (8 + 0)
    assert np.isnan(cell(df, "NER", 2025, "us_troops"))


@pytest.mark.raw
def test_troopdata_base_indicators(troops):
    df, log = troops
    assert cell(df, "DJI", 1990, "us_base") == 1
    assert cell(df, "NER", 2017, "us_lilypad") == 1 and cell(df, "NER", 2017, "us_base") == 0
    assert cell(df, "BFA", 2017, "us_lilypad") == 1 and cell(df, "TCD", 2017, "us_lilypad") == 1
    assert cell(df, "COD", 2017, "us_lilypad") == 1  # Dungu, corrected from COG
    assert cell(df, "COG", 2017, "us_lilypad") == 0
    assert cell(df, "MLI", 2017, "us_lilypad") == 0
    assert any(a.kind == "correct" for a in log.for_source("troopdata"))


# --------------------------------------------------------------------------- FSI
@pytest.mark.raw
def test_fsi_mali_security_apparatus(fsi_cy):
    df, _ = fsi_cy
    assert cell(df, "MLI", 2006, "fsi_security_apparatus") == pytest.approx(4.5)
    assert cell(df, "MLI", 2012, "fsi_security_apparatus") == pytest.approx(7.1)
    assert cell(df, "MLI", 2013, "fsi_security_apparatus") == pytest.approx(8.1)
    assert cell(df, "MLI", 2023, "fsi_security_apparatus") == pytest.approx(9.6)
    assert np.isnan(cell(df, "MLI", 2024, "fsi_total"))
    assert df.loc[df["year"].between(2006, 2023), "fsi_total"].notna().mean() > 0.98


def test_fsi_find_columns_is_robust_to_order_and_spacing():
    cols = pd.Index(["Country ", "Year", "Rank", "TOTAL", "S1: Demographic Pressures", "C1:  Security Apparatus",
                     "X1: External Intervention"])
    found = fsi.find_columns(cols, 2099)
    assert found["fsi_security_apparatus"] == "C1:  Security Apparatus"
    assert found["fsi_total"] == "TOTAL" and found["country"] == "Country "
    with pytest.raises(SchemaError):
        fsi.find_columns(pd.Index(["Country", "Year", "Total", "C1: a", "C1: b", "X1: c"]), 2099)


# --------------------------------------------------------------------------- COW NMC
@pytest.mark.raw
def test_nmc_units_converted(nmc):
    df, _ = nmc
    assert cell(df, "MLI", 2012, "milper") == 7000  # 7 thousand in the source
    assert cell(df, "MLI", 2012, "cow_milex") == 213_000_000  # 213,000 thousand US$
    assert cell(df, "NER", 2021, "milper") == 5000
    assert np.isnan(cell(df, "NER", 2013, "cow_milex"))
    assert np.isnan(cell(df, "MLI", 2023, "milper"))  # ends 2022
    assert (df["milper"].dropna() % 1000 == 0).all()


# --------------------------------------------------------------------------- UN PKO
@pytest.mark.raw
def test_pko_minusma_end_corrected(pko):
    missions, cy, log = pko
    mali = missions[missions["mission_acronym"] == "MINUSMA"]
    assert len(mali) == 1 and mali["end_date"].iloc[0] == pd.Timestamp("2023-12-31")
    assert cell(cy, "MLI", 2012, "un_pko_present") == 0
    assert cell(cy, "MLI", 2013, "un_pko_present") == 1
    assert cell(cy, "MLI", 2023, "un_pko_present") == 1
    assert cell(cy, "MLI", 2024, "un_pko_present") == 0
    assert "resolution 2690" in reasons(log, "un_pko")


@pytest.mark.raw
def test_pko_counts_and_coverage(pko):
    missions, cy, _ = pko
    assert cell(cy, "AGO", 1991, "un_pko_missions") == 2  # UNAVEM I and II, umbrella entry not counted
    assert cell(cy, "SDN", 2020, "un_pko_missions") == 2  # UNAMID and UNISFA
    assert cell(cy, "SDN", 2021, "un_pko_missions") == 1  # UNAMID closed 31 Dec 2020
    assert cell(cy, "CAF", 2008, "un_pko_present") == 1  # MINURCAT
    assert cell(cy, "COD", 2024, "un_pko_present") == 1  # MONUSCO, active
    assert np.isnan(cell(cy, "COD", 2025, "un_pko_present"))
    assert set(missions["iso3"]) <= set(cy["iso3"])


def test_country_year_presence_synthetic():
    missions = pd.DataFrame({
        "mission_acronym": ["A", "B"], "mission_name": ["a", "b"], "iso3": ["MLI", "MLI"],
        "start_date": pd.to_datetime(["2000-12-31", "2001-06-01"]).astype("datetime64[ns]"),
        "end_date": pd.to_datetime(["2001-01-01", None]).astype("datetime64[ns]"),
        "active": [False, True],
    })
    before = missions.copy()
    cy = un_pko.country_year_presence(missions, [1999, 2000, 2001, 2024, 2025])
    mli = cy[cy["iso3"] == "MLI"].set_index("year")["un_pko_missions"]
    assert mli.loc[1999] == 0 and mli.loc[2000] == 1 and mli.loc[2001] == 2 and mli.loc[2024] == 1
    assert np.isnan(mli.loc[2025])
    pd.testing.assert_frame_equal(missions, before)
