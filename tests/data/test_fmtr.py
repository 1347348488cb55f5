"""FMTR loader: program classifier, amount recovery rules, known facts, coverage and checks."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sahel_causal.data.datalog import DataLog
from sahel_causal.data.sources import fmtr
from sahel_causal.data.sources.fmtr_programs import (
    PROGRAM_GROUPS,
    classify_program_names,
    load_program_rules,
    normalise_program,
    program_fiscal_year,
)
from sahel_causal.errors import ReferenceDataError, UnknownCountryError


# --------------------------------------------------------------------------------------------
# Synthetic helpers (no raw data needed)
# --------------------------------------------------------------------------------------------

def _raw(rows: list[dict]) -> pd.DataFrame:
    """A flat-file-like frame of strings with the given fields (others empty)."""
    base = {c: "" for c in fmtr.RAW_COLUMNS}
    base.update({"report": "2015_2016", "fiscal_year": "2015", "source_file": "x.xml", "country": "Niger",
                 "program": "IMET-1 - Fiscal Year 2015 Department of State Training", "is_program_total": "0"})
    df = pd.DataFrame([{**base, **r} for r in rows])[fmtr.RAW_COLUMNS]
    df.insert(0, "row_id", np.arange(len(df), dtype="int64"))
    return df


# --------------------------------------------------------------------------------------------
# Program classifier
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw_name, group, label", [
    ("IMET-1 - Fiscal Year 2015 Department of State Training", "imet", "IMET"),
    ("International Military Education And Training  (IMET), FY 00", "imet", "IMET"),
    ("DOS Africa Region, Benin,  International Military Education and Training (IMET),FY03", "imet", "IMET"),
    ("IMET-D&R - Fiscal Year 2019 Department of State Training", "imet", "IMET"),
    ("CTIWFP - Fiscal Year 2019 Department of Defense Training", "ctfp", "CTFP"),
    ("DOD Africa Region, Mali,  Regional Defense Counterterrorism Fellowship Program,FY03", "ctfp", "CTFP"),
    ("Section 1206/2282 - Fiscal Year 2016 Department of Defense Training", "train_and_equip", "Section 1206/2282"),
    ("Section 333 - Fiscal Year 2019 Department of Defense Training", "train_and_equip", "Section 333"),
    ("GSCF - Fiscal Year 2016 Department of Defense Training", "train_and_equip", "Section 1207 (GSCF)"),
    ("African Crisis Response Initiative (ACRI), FY 99", "peacekeeping", "ACRI"),
    ("GPOI - FY 2009 DoS Training", "peacekeeping", "GPOI"),
    ("PKO - Fiscal Year 2019 Department of State Training", "peacekeeping", "PKO"),
    ("Africa Center for Strategic Studies, FY 00", "regional_centers", "Regional centers"),
    ("DOD Near East Region, Algeria,  Near East South Asia Center(NESA), FY02", "regional_centers", "Regional centers"),
    ("Regional Centers - FY 2007 DoD Training", "regional_centers", "Regional centers"),
    ("Foreign Military Financing (FMF) Program, FY 99", "fmf", "FMF"),
    ("FMF - Fiscal Year 2020 Department of State Training", "fmf", "FMF"),
    ("Non-SA, UC, JCET - FY 2008 DoD Training", "other", "Non-SA combatant command (incl. JCET)"),
    ("DOHS/USCG - Fiscal Year 2010 Department of Homeland Security Training", "other", "DHS / Coast Guard"),
    ("Republic Of, International Military Education And Training (IMET), FY 99", "imet", "IMET"),
])
def test_program_spot_checks(raw_name, group, label):
    out = classify_program_names(pd.Series([raw_name]))
    assert out.loc[0, "program_group"] == group
    assert out.loc[0, "program_label"] == label


def test_normalise_program_and_fiscal_year_tag():
    assert normalise_program("DOS Africa Region, Congo, Republic of (Brazzaville),  Foreign Military "
                             "Financing (FMF), FY04") == "Foreign Military Financing (FMF)"
    assert normalise_program("IMET-1 - Fiscal Year 2015 Department of State Training") == "IMET-1"
    assert program_fiscal_year("Service Academy, FY 99") == 1999
    assert program_fiscal_year("FMF - FY 2007 DoS Training") == 2007
    assert program_fiscal_year("Misc DoD/DoS Non-SA") is None


def test_unclassified_program_raises():
    with pytest.raises(ReferenceDataError, match="match no rule"):
        classify_program_names(pd.Series(["Space Cadet Exchange Initiative - FY 2015 DoD Training"]))


def test_rule_table_is_well_formed():
    rules = load_program_rules()
    assert set(rules["program_group"]) == set(PROGRAM_GROUPS)
    assert rules["order"].is_monotonic_increasing and not rules["order"].duplicated().any()


# --------------------------------------------------------------------------------------------
# Parsing and recovery rules (synthetic)
# --------------------------------------------------------------------------------------------

def test_parse_rules_recover_merged_cells():
    raw = _raw([
        {"course_title": "699 SPECIAL OPERATIONS", "quantity": "1", "total_cost": "106927 7/7/2008 9/30/2009",
         "report": "2009_2010", "fiscal_year": "2009"},
        {"course_title": "PATROL CFT OPS RIVER ENV", "quantity": "1 39529-7099", "total_cost": "$10,800"},
        {"course_title": "LANGUAGE INSTRUCTOR/BASIC", "quantity": "1", "total_cost": "", "start_date": "5/19/2008",
         "student_unit": "Territorial Air Defense 21304", "report": "2009_2010", "fiscal_year": "2009"},
        {"course_title": "AH-64 QUAL", "quantity": "1", "total_cost": "", "start_date": "3/8/2009",
         "location": "FORT RUCKER AL 36362", "report": "2009_2010", "fiscal_year": "2009"},
        {"course_title": "COUNTERNARCOTICS 4", "quantity": "", "total_cost": "$488"},
        {"course_title": "BA 201", "quantity": "", "total_cost": ""},
        {"course_title": "DIILS", "quantity": "3", "total_cost": "$"},
    ])
    out = fmtr.parse_records(raw, DataLog())
    assert out.loc[0, "cost_usd_nominal"] == 106927.0
    assert out.loc[0, "start_date"] == "7/7/2008" and out.loc[0, "end_date"] == "9/30/2009"
    assert out.loc[1, "trainees"] == 1 and out.loc[1, "cost_usd_nominal"] == 10800.0
    assert out.loc[2, "cost_usd_nominal"] == 21304.0
    assert np.isnan(out.loc[3, "cost_usd_nominal"])          # a ZIP code is not a cost
    assert out.loc[4, "trainees"] == 4 and out.loc[4, "course_title"] == "COUNTERNARCOTICS"
    assert bool(out.loc[5, "fragment"]) and pd.isna(out.loc[5, "trainees"])  # unit fragment, not 201 trainees
    assert np.isnan(out.loc[6, "cost_usd_nominal"]) and not out.loc[6, "fragment"]
    assert out["parse_rule"].tolist()[:3] == ["cost_date_merge", "zip_in_quantity", "cost_in_text_tail"]


def test_implausible_rule_flags_concatenated_amount():
    raw = _raw([{"quantity": "1", "total_cost": "106927 7/7/2008 9/30/2009"},
                {"quantity": "2", "total_cost": "$26,171"},
                {"quantity": "1", "total_cost": "$30,000,000"}])
    flags = fmtr.detect_implausible_costs(raw)
    assert flags["implausible"].tolist() == [True, False, True]
    assert flags.loc[0, "multi_number"] and flags.loc[0, "naive_cost_usd"] > 1e18
    assert flags.loc[2, "over_course_cap"] and not flags.loc[2, "multi_number"]


def test_block_total_recovery_rules():
    prog = "CTFP - Fiscal Year 2012 Department of Defense Training"
    raw = _raw([
        {"program": prog, "course_title": "A", "quantity": "2", "total_cost": "$1,000"},
        {"program": prog, "course_title": "B", "quantity": "1", "total_cost": ""},
        {"program": prog, "course_title": "Fiscal Year 2012 Program Totals", "quantity": "3",
         "total_cost": "$1,500", "is_program_total": "1"},
        {"course_title": "C", "quantity": "1", "total_cost": "$"},
        {"course_title": "D", "quantity": "1", "total_cost": "$700"},
        {"course_title": "Fiscal Year 2015 Program Totals", "quantity": "2", "total_cost": "$700",
         "is_program_total": "1"},
    ])
    log = DataLog()
    out = fmtr.recover_from_block_totals(fmtr.parse_records(raw, log), log)
    assert out.loc[1, "cost_usd_nominal"] == 500.0 and "block_total_residual" in out.loc[1, "parse_rule"]
    assert out.loc[3, "cost_usd_nominal"] == 0.0 and "block_total_zero" in out.loc[3, "parse_rule"]
    assert {a.kind for a in log.actions} == {"recover"}


def test_unknown_country_fails_loudly():
    raw = _raw([{"country": "Freedonia", "course_title": "X", "quantity": "1", "total_cost": "$5"}])
    with pytest.raises(UnknownCountryError, match="Freedonia"):
        fmtr.clean_courses(raw, DataLog())


def test_clean_courses_does_not_mutate_input_and_excludes_proposed():
    raw = _raw([
        {"program": "International Military Education and Training (IMET), FY 00", "report": "2000_2001",
         "fiscal_year": "2000", "course_title": "A", "quantity": "1", "total_cost": "$100"},
        {"program": "International Military Education and Training (IMET), FY 01", "report": "2000_2001",
         "fiscal_year": "2000", "course_title": "B", "quantity": "5", "total_cost": "$900"},
    ])
    before = raw.copy()
    courses = fmtr.clean_courses(raw, DataLog())
    pd.testing.assert_frame_equal(raw, before)
    assert courses["proposed"].tolist() == [False, True]
    assert courses["fiscal_year"].tolist() == [2000, 2001]
    cy = fmtr.courses_to_country_year(courses, DataLog())
    ner = cy[cy["iso3"] == "NER"].set_index("year")
    assert ner.loc[2000, "us_training_cost_usd_nominal"] == 100.0
    assert ner.loc[2001, "us_training_cost_usd_nominal"] == 0.0      # the proposal is not training
    assert np.isnan(ner.loc[2006, "us_trainees"])


def test_stale_block_correction_raises():
    raw = _raw([{"country": "Niger"}, {"country": "Mali"}])
    table = pd.DataFrame([{"report": "2015_2016", "first_row_id": 0, "last_row_id": 1, "field": "country",
                           "old_value": "Niger", "new_value": "Chad", "reason": "r", "reference": "ref"}])
    with pytest.raises(ReferenceDataError, match="stale|source changed"):
        fmtr.apply_block_corrections(raw, DataLog(), table)


# --------------------------------------------------------------------------------------------
# Raw data
# --------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def loaded(raw_dir):
    log = DataLog()
    courses = fmtr.load_courses(raw_dir, log)
    cy = fmtr.courses_to_country_year(courses, log)
    return courses, cy, log


@pytest.fixture(scope="module")
def cy(loaded):
    return loaded[1].set_index(["iso3", "year"])


def test_every_raw_program_string_is_classified(raw_dir):
    raw = fmtr.read_flat(raw_dir)
    out = classify_program_names(raw["program"])          # raises if any is unclassified
    assert out["program_group"].isin(PROGRAM_GROUPS).all()
    assert raw["program"].nunique() > 900 and out["program_norm"].nunique() < 80


def test_trillion_dollar_record_is_flagged_and_recovered(raw_dir, loaded):
    raw = fmtr.read_flat(raw_dir)
    flags = fmtr.detect_implausible_costs(raw)
    kenya = raw.index[raw["total_cost"].str.strip() == "106927 7/7/2008 9/30/2009"]
    assert len(kenya) == 1 and flags.loc[kenya[0], "implausible"]
    assert flags.loc[kenya[0], "naive_cost_usd"] > 1e18
    courses = loaded[0]
    rec = courses[courses["row_id"] == raw.loc[kenya[0], "row_id"]]
    assert rec["cost_usd_nominal"].item() == 106927.0 and rec["iso3"].item() == "KEN"
    assert courses["cost_usd_nominal"].max() < fmtr.MAX_COURSE_COST_USD


def test_known_facts_from_manifest(cy):
    assert cy.loc[("MLI", 2012), "us_trainees"] == 38
    assert cy.loc[("MLI", 2013), "fmtr_n_records"] == 0 and cy.loc[("MLI", 2013), "us_trainees"] == 0
    assert cy.loc[("NER", 2010), "fmtr_n_records"] == 0
    assert cy.loc[("NER", 2013), "us_trainees"] == 1509
    assert cy.loc[("NER", 2015), "us_trainees"] == 3653
    assert cy.loc[("NER", 2016), "us_trainees"] == 3451
    assert cy.loc[("BFA", 2017), "us_trainees"] == 4779
    bfa = cy.xs("BFA", level="iso3")["us_trainees"]
    assert bfa.idxmax() == 2017


def test_fy2006_is_missing_not_zero(cy):
    fy06 = cy.xs(2006, level="year")
    assert fy06["us_training_cost_usd_nominal"].isna().all() and fy06["us_trainees"].isna().all()
    assert not fy06["fmtr_covered"].any()
    assert cy.drop(index=2006, level="year")["us_training_cost_usd_nominal"].notna().all()


def test_no_implausible_country_year_remains(cy):
    assert cy["us_training_cost_usd_nominal"].max() < 50_000_000   # largest: Egypt FY1999, $25.1m
    assert (cy["us_training_cost_usd_nominal"].dropna() >= 0).all()


def test_country_year_unique_and_groups_add_up(loaded):
    _, cy, _ = loaded
    assert not cy.duplicated(["iso3", "year"]).any()
    assert cy["year"].between(1999, 2020).all()
    groups = cy[[f"us_training_cost_nominal_{g}" for g in PROGRAM_GROUPS]].sum(axis=1)
    covered = cy["fmtr_covered"]
    assert np.allclose(groups[covered], cy.loc[covered, "us_training_cost_usd_nominal"])
    trainees = cy[[f"us_trainees_{g}" for g in PROGRAM_GROUPS]].sum(axis=1)
    assert np.allclose(trainees[covered], cy.loc[covered, "us_trainees"])


def test_program_totals_match_after_cleaning(raw_dir, loaded):
    courses, _, _ = loaded
    check = fmtr.program_total_check(courses, fmtr.load_raw_totals(raw_dir), DataLog())
    assert len(check) > 3000
    assert check["within_1pct"].mean() > 0.995
    assert check["within_5pct"].sum() >= len(check) - 8
    kenya = check[(check["report"] == "2009_2010") & (check["country"] == "Kenya")]
    assert len(kenya) > 0 and kenya["within_1pct"].all()


def test_lost_country_headers_are_reattributed(loaded, cy):
    courses, _, _ = loaded
    assert cy.loc[("BEN", 2019), "fmtr_n_records"] > 150
    assert cy.loc[("CIV", 2013), "fmtr_n_records"] > 50
    pko_ago = courses[(courses["iso3"] == "AGO") & (courses["year"] == 2019) & (courses["program_group"] == "peacekeeping")]
    assert not pko_ago["location"].str.contains("Benin").any()


def test_south_sudan_before_independence_not_in_panel(loaded, cy):
    courses, cyf, _ = loaded
    pre = courses[courses["pre_independence"]]
    assert len(pre) > 100 and set(pre["year"]) == {2008, 2009, 2010}
    assert cyf[(cyf["iso3"] == "SSD")]["year"].min() == 2011
    assert cy.loc[("SSD", 2011), "fmtr_n_records"] > 0


def test_proposed_fy2000_records_not_double_counted(loaded, cy):
    courses, _, _ = loaded
    actual_2000 = courses[(courses["year"] == 2000) & ~courses["proposed"]]
    assert set(actual_2000["report"]) == {"2000_2001"}
    assert np.isclose(cy.xs(2000, level="year")["us_training_cost_usd_nominal"].sum(),
                      actual_2000.loc[~actual_2000["pre_independence"], "cost_usd_nominal"].sum())


def test_every_action_is_logged(loaded):
    _, _, log = loaded
    frame = log.to_frame()
    assert {"correct", "recover", "drop", "flag", "fill", "note"} <= set(frame["kind"])
    assert (frame["source"] == "fmtr").all()
    drops = frame[frame["kind"] == "drop"]
    assert drops["reason"].str.len().gt(20).all()
