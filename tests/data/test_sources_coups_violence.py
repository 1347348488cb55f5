"""Loaders of the coup and violence sources: Powell & Thyne, Cline Center, UCDP, ACLED, GTD.

Known facts come from MANIFEST.md (checked there against the publishers' figures) and from
the historical record of the coups (dates of Mali 2012/2020/2021, Burkina Faso 2022, Guinea
2021, Niger 2023, Chad 2021, Gabon 2023).
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sahel_causal.data.datalog import DataLog
from sahel_causal.data.registry import registry, sha256_file
from sahel_causal.data.sources import acled, cline_center, gtd, powell_thyne, ucdp
from sahel_causal.errors import ChecksumError, RawDataError, SchemaError


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def pt(raw_dir):
    log = DataLog()
    return powell_thyne.load_events(raw_dir, log), powell_thyne.load_country_year(raw_dir, log), log


@pytest.fixture(scope="module")
def cline(raw_dir):
    log = DataLog()
    return cline_center.load_events(raw_dir, log), cline_center.load_country_year(raw_dir, log), log


@pytest.fixture(scope="module")
def ucdp_cy(raw_dir):
    log = DataLog()
    return ucdp.load(raw_dir, log), log


@pytest.fixture(scope="module")
def acled_cy(raw_dir):
    log = DataLog()
    return acled.load_country_year(raw_dir, log), log


@pytest.fixture(scope="module")
def acled_cm(raw_dir):
    return acled.load_country_month(raw_dir)


@pytest.fixture(scope="module")
def gtd_cy(raw_dir):
    log = DataLog()
    return gtd.load_country_year(raw_dir, log), log


def cell(df: pd.DataFrame, iso3: str, year: int, col: str) -> float:
    """The single value of ``col`` for one state-year (fails if not exactly one row)."""
    hit = df.loc[(df["iso3"] == iso3) & (df["year"] == year), col]
    assert len(hit) == 1, f"{iso3} {year}: {len(hit)} rows"
    return hit.iloc[0]


# --------------------------------------------------------------------------- Powell & Thyne
@pytest.mark.raw
def test_pt_mali_2012_two_events(pt):
    ev, _, _ = pt
    mali = ev[(ev["iso3"] == "MLI") & (ev["year"] == 2012)].sort_values("date")
    assert list(mali["date"].dt.strftime("%Y-%m-%d")) == ["2012-03-22", "2012-05-01"]
    assert list(mali["successful"]) == [True, False]


@pytest.mark.raw
@pytest.mark.parametrize("iso3,year,dates", [
    ("MLI", 2020, ["2020-08-18"]),
    ("MLI", 2021, ["2021-05-21"]),
    ("BFA", 2022, ["2022-01-23", "2022-09-30"]),
    ("GIN", 2021, ["2021-09-05"]),
    ("TCD", 2021, ["2021-04-20"]),
    ("GAB", 2023, ["2023-08-30"]),
    ("NER", 2023, ["2023-07-26"]),
])
def test_pt_recent_successful_coups(pt, iso3, year, dates):
    ev, _, _ = pt
    hit = ev[(ev["iso3"] == iso3) & (ev["year"] == year)].sort_values("date")
    assert list(hit["date"].dt.strftime("%Y-%m-%d")) == dates
    assert hit["successful"].all()


@pytest.mark.raw
def test_pt_niger_2023_corrected_to_july_and_logged(pt):
    ev, _, log = pt
    niger = ev[(ev["iso3"] == "NER") & (ev["year"] == 2023)]
    assert list(niger["month"]) == [7]
    assert not ((ev["iso3"] == "NER") & (ev["year"] == 2023) & (ev["month"] == 6)).any()
    assert any(a.kind == "correct" and "Niger" in a.detail for a in log.for_source("powell_thyne"))


@pytest.mark.raw
def test_pt_events_african_only_and_out_of_scope_counted(pt):
    ev, _, log = pt
    drops = [a for a in log.for_source("powell_thyne") if a.kind == "drop" and "out of scope" in a.reason]
    assert drops and drops[0].n_records == 491 - len(ev)  # 491 events in the file
    assert ev["iso3"].str.fullmatch(r"[A-Z]{3}").all()


@pytest.mark.raw
def test_pt_country_year_counts_and_coverage(pt):
    _, cy, _ = pt
    assert (cell(cy, "MLI", 2012, "coup_attempts"), cell(cy, "MLI", 2012, "coup_successes"),
            cell(cy, "MLI", 2012, "coup_failed")) == (2, 1, 1)
    assert cell(cy, "BFA", 2022, "coup_successes") == 2
    assert cell(cy, "NER", 2023, "coup_successes") == 1
    assert cell(cy, "SEN", 2012, "coup_attempts") == 0        # covered, no event -> 0
    assert bool(cell(cy, "SEN", 2023, "pt_covered"))           # 2023 treated as covered
    assert np.isnan(cell(cy, "MLI", 2024, "coup_attempts"))    # after the list ends -> NaN
    assert not cell(cy, "MLI", 2024, "pt_covered")
    assert np.isnan(cell(cy, "EGY", 1949, "coup_attempts"))    # before 1950 -> NaN
    assert "SSD" not in set(cy.loc[cy["year"] < 2011, "iso3"])  # state-years only


@pytest.mark.raw
def test_pt_country_year_total_equals_event_count(pt):
    ev, cy, _ = pt
    assert cy["coup_attempts"].sum() == len(ev)
    assert cy["coup_successes"].sum() == ev["successful"].sum()


# --------------------------------------------------------------------------- Cline Center
@pytest.mark.raw
def test_cline_known_events(cline):
    ev, cy, _ = cline
    assert cell(cy, "MLI", 2012, "cline_coups_realized") == 1
    assert cell(cy, "MLI", 2012, "cline_coups_attempted") == 1
    assert cell(cy, "BFA", 2022, "cline_coups_realized") == 2
    assert cell(cy, "TCD", 2021, "cline_coups_realized") == 1
    realized = ev[ev["realized"]]
    assert {"2020-08-18", "2021-05-24"} <= set(realized.loc[realized["iso3"] == "MLI", "date"].dt.strftime("%Y-%m-%d"))


@pytest.mark.raw
def test_cline_guinea_2021_gap_flagged(cline):
    _, cy, log = cline
    assert cell(cy, "GIN", 2021, "cline_coups_realized") == 0
    flags = [a for a in log.for_source("cline_center") if a.kind == "flag"]
    assert any("Guinea" in a.reason and "2021" in a.reason for a in flags)


@pytest.mark.raw
def test_cline_coverage_and_pre_independence_event(cline):
    ev, cy, log = cline
    assert np.isnan(cell(cy, "MLI", 2023, "cline_coups_realized"))
    assert cell(cy, "MLI", 2022, "cline_covered")
    # Sudan's 1955 attempt predates independence: in the event table, logged out of the panel
    assert ((ev["iso3"] == "SDN") & (ev["year"] == 1955)).sum() == 1
    assert any(a.kind == "drop" and "SDN 1955" in a.detail for a in log.for_source("cline_center"))
    total = cy[["cline_coups_realized", "cline_coups_attempted", "cline_conspiracies"]].sum().sum()
    assert total == len(ev) - 1


# --------------------------------------------------------------------------- UCDP
@pytest.mark.raw
def test_ucdp_known_values(ucdp_cy):
    df, _ = ucdp_cy
    assert cell(df, "BFA", 2019, "ucdp_onesided_best") == 868
    assert cell(df, "BFA", 2022, "ucdp_state_based_best") == 2093
    assert cell(df, "MLI", 2020, "ucdp_nonstate_best") == 448
    assert cell(df, "BFA", 2022, "ucdp_brd_best") == 2047          # GED 23.1, location-based
    assert cell(df, "NGA", 2014, "ucdp_brd_best") == 3785


@pytest.mark.raw
def test_ucdp_orgviol_full_panel_zeros_are_source_zeros(ucdp_cy):
    df, log = ucdp_cy
    window = df[df["year"].between(1989, 2024)]
    ov_cols = [c for c in df.columns if c.startswith(("ucdp_state", "ucdp_non", "ucdp_one"))]
    assert window[ov_cols].notna().all().all()      # every state-year is in the file
    assert not any(a.kind == "fill" for a in log.for_source("ucdp_orgviol"))
    assert df.loc[~df["year"].between(1989, 2024), ov_cols].isna().all().all()
    assert cell(df, "BWA", 2010, "ucdp_state_based_best") == 0


@pytest.mark.raw
def test_ucdp_brd_coverage(ucdp_cy):
    df, log = ucdp_cy
    assert np.isnan(cell(df, "MLI", 2023, "ucdp_brd_best"))         # ends 2022
    assert np.isnan(cell(df, "STP", 2000, "ucdp_brd_best"))         # microstate not in the file
    assert cell(df, "EGY", 1946, "ucdp_brd_best") >= 0
    drops = [a for a in log.for_source("ucdp_brd") if a.kind == "drop" and "independence" in a.reason]
    assert drops and drops[0].n_records == 731                     # colonial-territory rows


# --------------------------------------------------------------------------- ACLED
@pytest.mark.raw
def test_acled_known_values(acled_cy):
    df, _ = acled_cy
    assert cell(df, "MLI", 2012, "acled_fatalities") == 528
    assert cell(df, "BFA", 2023, "acled_fatalities") == 8499
    assert cell(df, "NER", 2021, "acled_fatalities") == 1498


@pytest.mark.raw
def test_acled_partial_2025_and_coverage(acled_cy):
    df, log = acled_cy
    assert df.loc[df["year"] == 2025, "acled_partial_year"].all()
    assert (df.loc[df["year"] == 2025, "acled_months_covered"] == 10).all()
    assert not df.loc[df["year"] == 2024, "acled_partial_year"].any()
    assert (df.loc[df["year"] == 2024, "acled_months_covered"] == 12).all()
    assert np.isnan(cell(df, "MLI", 1996, "acled_fatalities"))      # before 1997 -> NaN
    assert np.isnan(cell(df, "CPV", 2019, "acled_pv_events"))       # island states from 2020
    assert cell(df, "CPV", 2020, "acled_months_covered") == 12
    assert any(a.kind == "flag" and "partial" in a.reason for a in log.for_source("acled"))


@pytest.mark.raw
def test_acled_absent_country_years_are_zero(acled_cy):
    df, log = acled_cy
    covered = df[df["acled_months_covered"] > 0]
    assert covered[acled.VALUE_COLUMNS].notna().all().all()
    fills = [a for a in log.for_source("acled") if a.kind == "fill"]
    assert fills and sum(a.n_records for a in fills) > 0


@pytest.mark.raw
def test_acled_country_month(acled_cy, acled_cm):
    cy, _ = acled_cy
    cm = acled_cm
    assert not ((cm["year"] == 2025) & (cm["month"] > 10)).any()     # after the release: absent
    oct25 = cm[(cm["year"] == 2025) & (cm["month"] == 10)]
    assert len(oct25) == 54 and not oct25["acled_month_complete"].any()
    assert cm.loc[cm["year"] < 2025, "acled_month_complete"].all()
    assert (cm.groupby(["iso3", "year"]).size().loc[("MLI", 2024)]) == 12
    summed = cm.groupby(["iso3", "year"])["acled_pv_events"].sum()
    assert summed.loc[("BFA", 2023)] == cell(cy, "BFA", 2023, "acled_pv_events")
    assert not cm.duplicated(["iso3", "year", "month"]).any()


def test_acled_parse_month_format():
    names = pd.Series([" January", "october", "Sep"])
    before = names.copy()
    assert list(acled.parse_month(names)) == [1, 10, 9]
    pd.testing.assert_series_equal(names, before)                  # input untouched
    with pytest.raises(SchemaError, match="Janvier"):
        acled.parse_month(pd.Series(["Janvier"]))


# --------------------------------------------------------------------------- GTD
@pytest.mark.raw
def test_gtd_known_values_and_coverage(gtd_cy):
    df, log = gtd_cy
    assert cell(df, "BFA", 2019, "gtd_fatalities") == 804
    assert cell(df, "NGA", 2014, "gtd_fatalities") == 7775
    assert df.loc[df["year"] == 1993, ["gtd_incidents", "gtd_fatalities"]].isna().all().all()
    assert df.loc[df["year"] == 2021, "gtd_incidents"].isna().all()
    assert df.loc[df["year"] == 1969, "gtd_incidents"].isna().all()
    assert cell(df, "BFA", 1992, "gtd_incidents") == 0            # covered, no incidents -> 0
    assert any(a.kind == "drop" and "NAM 1989" in a.detail for a in log.for_source("gtd"))


# --------------------------------------------------------------------------- all loaders
LOADERS = [powell_thyne.load, cline_center.load, ucdp.load, acled.load, gtd.load]


@pytest.mark.raw
@pytest.mark.parametrize("frame", ["pt", "cline", "ucdp_cy", "acled_cy", "gtd_cy"])
def test_country_year_unique_and_african(frame, request):
    value = request.getfixturevalue(frame)
    df = value[1] if frame in ("pt", "cline") else value[0]
    assert not df.duplicated(["iso3", "year"]).any()
    assert df["iso3"].nunique() == 54


@pytest.mark.parametrize("load", LOADERS, ids=lambda f: f.__module__.rsplit(".", 1)[-1])
def test_missing_raw_dir_raises_raw_data_error(load, tmp_path):
    with pytest.raises(RawDataError, match="Missing raw file"):
        load(tmp_path / "no-such-dir", DataLog())


@pytest.mark.raw
def test_corrupted_copy_raises_checksum_error(raw_dir, tmp_path):
    sf = registry()["powell_thyne"].file(powell_thyne.FILE)
    target = tmp_path / sf.path
    target.parent.mkdir(parents=True)
    shutil.copyfile(Path(raw_dir) / sf.path, target)
    target.write_bytes(target.read_bytes().replace(b'"Niger"\t436', b'"Nigeria"\t436', 1))
    bad = sha256_file(target)
    with pytest.raises(ChecksumError) as info:
        powell_thyne.load_events(tmp_path, DataLog())
    msg = str(info.value)
    assert sf.path in msg and sf.sha256 in msg and bad in msg and bad != sf.sha256
